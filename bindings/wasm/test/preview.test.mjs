// The preview page in headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core; no browser download). A tiny static server on
// 127.0.0.1 serves the repository, so the page loads
// npm/port4me/browser.js and the module exactly as they are built.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { launchChromium, serveDirectory } from './chromium.mjs';
import { root } from './wasm.mjs';

let server;
let base;
let browser;
let context;
let requested;

before(async () => {
  server = await serveDirectory(root);
  ({ base, requested } = server);
  browser = await launchChromium();
  ({ context } = browser);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

test('preview page: type a user, read the sequence, see an inline spec error', { timeout: 60000 }, async () => {
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => msg.type() === 'error' && problems.push(`console: ${msg.text()}`));
  await page.goto(`${base}/bindings/wasm/preview/index.html`);
  await page.waitForFunction(() => document.getElementById('version').textContent.includes('port4me'));

  await page.fill('#n', '5');
  await page.type('#user', 'alice');
  await page.waitForFunction(() => document.getElementById('ports-text').value !== '');
  assert.equal(await page.inputValue('#user'), 'alice');
  assert.equal((await page.textContent('#ports-text')).trim(), '30845 19654 32310 63992 15273');
  assert.deepEqual(await page.$$eval('#ports li', (lis) => lis.map((li) => li.textContent)), ['30845', '19654', '32310', '63992', '15273']);
  assert.match(await page.textContent('#seed'), /"alice".*92903040/);
  assert.match(await page.textContent('#unsafe-note'), /No browser-unsafe port was skipped in the first 5/);
  assert.equal(await page.isVisible('#error'), false);

  // A range below 1024 where carol's sequence hits ports that browsers block.
  await page.fill('#user', 'carol');
  await page.fill('#include', '1-1023');
  await page.fill('#n', '12');
  const note = await page.textContent('#unsafe-note');
  assert.match(note, /Skipped as browser-unsafe in the first 12: .*465 \(Chrome, Firefox\)/);
  mkdirSync(path.join(root, 'artifacts'), { recursive: true });
  await page.screenshot({ path: path.join(root, 'artifacts/wasm-preview-unsafe.png'), fullPage: true });

  // Invalid include spec: inline error naming the item and the option.
  await page.fill('#user', 'alice');
  await page.fill('#n', '5');
  await page.fill('#include', '2000-2009, 30x');
  await page.waitForSelector('#error', { state: 'visible' });
  const error = await page.textContent('#error');
  assert.match(error, /include/);
  assert.match(error, /"30x"/);
  assert.match(error, /ERR_PORT4ME_INVALID_SPEC/);
  assert.equal(await page.getAttribute('#include', 'aria-invalid'), 'true');
  assert.equal(await page.textContent('#ports-text'), '');

  await page.screenshot({ path: path.join(root, 'artifacts/wasm-preview-error.png'), fullPage: true });

  // Fixing it brings the sequence back; prepended ports are marked.
  await page.fill('#include', '');
  await page.fill('#prepend', '4321, 11001');
  await page.waitForFunction(() => document.getElementById('ports-text').value !== '');
  assert.equal((await page.textContent('#ports-text')).trim(), '4321 11001 30845 19654 32310');
  assert.equal(await page.$$eval('#ports li.prepended', (lis) => lis.length), 2);
  await page.fill('#prepend', '');
  await page.fill('#n', '10');
  await page.waitForFunction(() => document.getElementById('ports').children.length === 10);
  await page.screenshot({ path: path.join(root, 'artifacts/wasm-preview.png'), fullPage: true });

  assert.deepEqual(problems, []);
  // The page loads only itself, the browser entry, the glue and the module's
  // bytes (inlined: the .wasm file itself is never fetched).
  const loaded = new Set(requested);
  for (const p of loaded) {
    assert.ok(
      /^\/bindings\/wasm\/preview\/|^\/npm\/port4me\/(browser\.js|wasm\/port4me\.mjs|wasm\/port4me_bytes\.mjs)$/.test(p),
      `unexpected request ${p}`,
    );
  }
  assert.ok(loaded.has('/npm/port4me/wasm/port4me_bytes.mjs'));
  await page.close();
});

// The shared vectors inside the browser: the same module, loaded through the
// package's `browser` entry by Chromium itself, must give every no-env case's
// expected answer (the Node runner in conformance.test.mjs checks the same
// cases outside a browser).
test('conformance vectors inside Chromium', { timeout: 60000 }, async () => {
  const page = await context.newPage();
  await page.goto(`${base}/bindings/wasm/preview/index.html`);
  const result = await page.evaluate(async () => {
    const m = await import('/npm/port4me/browser.js');
    // The same loader and matcher as the Node runners (error codes and
    // `mentions` included), loaded by the browser itself.
    const h = await import('/conformance/harness/cases.mjs');
    const doc = await (await fetch('/conformance/vectors.json')).json();
    const cases = h.selectCases(doc, 'no-env');
    const ran = cases.length;
    const failures = h.checkAll(cases, (c) => h.outcomeOf(() => m.sequence({ user: c.user, n: 1, ...h.optionsOf(c).options })), { renamed: true });
    return { ran, failures, agent: navigator.userAgent };
  });
  assert.match(result.agent, /Chrome/);
  assert.ok(result.ran >= 300, `only ${result.ran} cases ran in the browser`);
  assert.deepEqual(result.failures, []);
  await page.close();
});
