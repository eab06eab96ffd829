// `vite build` of a tiny page that imports `port4me` (resolved through the
// package's `browser` export condition), with the oldest Vite the package
// supports (5, from test/vite5/ and its own lockfile) and the newest (8, from
// this folder's package.json), each with its default build target. The built
// page is served and opened in headless Chromium, which must show alice's
// first five ports.
//
// The package is installed into the page's node_modules the way npm would
// install it: only the files `npm pack` would publish, so a file missing
// from `files` in package.json fails here too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium, serveDirectory } from './chromium.mjs';
import { root } from './wasm.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.join(root, 'npm/port4me');
const ALICE = '30845 19654 32310 63992 15273';

const VITES = [
  { name: 'Vite 5', major: 5, dir: path.join(here, 'vite5') },
  { name: 'Vite 8', major: 8, dir: path.join(here, '..') },
];

let browser;
let work;

before(async () => {
  browser = await launchChromium();
  work = mkdtempSync(path.join(tmpdir(), 'port4me-vite-build-'));
});

after(async () => {
  await browser?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The files `npm pack` would put in the package (without running its scripts). */
function packedFiles() {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageDir, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm pack --dry-run failed: ${r.stderr}`);
  const [report] = JSON.parse(r.stdout);
  return report.files.map((f) => f.path);
}

/** A project with index.html and main.js importing port4me, and port4me "installed" in node_modules. */
function makeProject(dir, files) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'index.html'),
    '<!doctype html>\n<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>port4me</title></head>\n' +
      '<body><p id="ports">not yet</p><p id="version"></p><script type="module" src="/main.js"></script></body></html>\n',
  );
  writeFileSync(
    path.join(dir, 'main.js'),
    "import { list, version } from 'port4me';\n" +
      "document.getElementById('ports').textContent = list({ user: 'alice', n: 5 }).join(' ');\n" +
      "document.getElementById('version').textContent = version;\n",
  );
  writeFileSync(path.join(dir, 'package.json'), '{ "name": "port4me-page", "private": true, "type": "module" }\n');
  const installed = path.join(dir, 'node_modules', 'port4me');
  for (const f of files) {
    mkdirSync(path.dirname(path.join(installed, f)), { recursive: true });
    cpSync(path.join(packageDir, f), path.join(installed, f));
  }
}

const files = [];

for (const vite of VITES) {
  test(`${vite.name}: vite build of a page importing port4me, opened in Chromium`, { timeout: 180000 }, async () => {
    const bin = path.join(vite.dir, 'node_modules', 'vite', 'bin', 'vite.js');
    assert.ok(existsSync(bin), `${bin} is missing: npm ci in ${path.relative(root, vite.dir)} (scripts/test-wasm.sh does)`);
    const installedVersion = JSON.parse(readFileSync(path.join(vite.dir, 'node_modules', 'vite', 'package.json'), 'utf8')).version;
    assert.equal(Number(installedVersion.split('.')[0]), vite.major, `expected Vite ${vite.major}, found ${installedVersion}`);

    if (files.length === 0) files.push(...packedFiles());
    assert.ok(files.includes('browser.js') && files.includes('wasm/port4me_bytes.mjs'), `packed files: ${files.join(', ')}`);
    const project = path.join(work, `vite${vite.major}`);
    makeProject(project, files);

    const r = spawnSync(process.execPath, [bin, 'build', '--logLevel', 'warn', '--emptyOutDir'], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1' },
      timeout: 150000,
    });
    assert.equal(r.status, 0, `vite ${installedVersion} build failed:\n${r.stdout}\n${r.stderr}`);
    const dist = path.join(project, 'dist');
    const assets = readdirSync(path.join(dist, 'assets'));
    // The module is inlined into the bundle: no .wasm file to copy or fetch.
    assert.deepEqual(assets.filter((f) => f.endsWith('.wasm')), [], `assets: ${assets.join(', ')}`);

    const server = await serveDirectory(dist);
    const page = await browser.context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
    try {
      await page.goto(`${server.base}/`);
      await page.waitForFunction(() => document.getElementById('ports').textContent !== 'not yet', null, { timeout: 30000 });
      assert.equal(await page.textContent('#ports'), ALICE);
      assert.match(await page.textContent('#version'), /^\d+\.\d+\.\d+/);
      assert.deepEqual(problems, []);
      assert.ok(!server.requested.some((p) => p.endsWith('.wasm')), `requests: ${server.requested.join(', ')}`);
    } finally {
      await page.close();
      await server.close();
    }
  });
}
