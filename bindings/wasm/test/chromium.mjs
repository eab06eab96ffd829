// Shared by the browser tests: a static file server on 127.0.0.1 and headless
// Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no browser
// download).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

/**
 * Serves the files under `dir` (GET only; `/` is index.html); `requested`
 * collects every path asked for. Resolves `{ base, requested, close }`.
 */
export async function serveDirectory(dir) {
  const requested = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requested.push(url.pathname);
    let file = path.join(dir, decodeURIComponent(url.pathname));
    if (url.pathname.endsWith('/')) file = path.join(file, 'index.html');
    if (req.method !== 'GET' || !file.startsWith(dir + path.sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    res.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${server.address().port}`,
    requested,
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        // Chromium keeps its keep-alive connections open while the browser runs.
        server.closeAllConnections();
      }),
  };
}

/** Headless Chromium with a fresh, empty profile; `close()` also removes the profile. */
export async function launchChromium() {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium (scripts/test-wasm.sh does)`);
  const userDataDir = mkdtempSync(path.join(tmpdir(), 'port4me-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1000, height: 760 },
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
