// Size budget of the browser module: at most 40 KiB, as built by build.sh
// (wasm-bindgen, then wasm-opt -Oz). The browser entry ships those bytes as
// base64 in port4me_bytes.mjs, so the budget is checked on what that file
// decodes to, too. Prints the raw and gzip sizes. The Node.js flavour
// (port4me_node_bg.wasm, the npm package's fallback) is not sent to browsers
// and has only a loose ceiling against accidental bloat: 352 KiB, of which
// the port4me command line (clap) is about 225 KiB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { wasmDir, wasmFile } from './wasm.mjs';

const BUDGET = 40 * 1024;
const NODE_CEILING = 384 * 1024;

function sizes(bytes) {
  const gz = gzipSync(bytes, { level: 9 }).length;
  return `${bytes.length} bytes raw (${(bytes.length / 1024).toFixed(1)} KiB), ${gz} bytes gzip -9 (${(gz / 1024).toFixed(1)} KiB)`;
}

test(`port4me_bg.wasm is at most ${BUDGET} bytes`, (t) => {
  const bytes = readFileSync(wasmFile);
  const line = `wasm size: ${sizes(bytes)}; budget ${BUDGET}`;
  t.diagnostic(line);
  console.log(line);
  assert.ok(bytes.length <= BUDGET, `${bytes.length} bytes is over the ${BUDGET}-byte budget (was wasm-opt skipped?)`);
  // No name section and no producers section left in the shipped module.
  const text = bytes.toString('latin1');
  assert.ok(!text.includes('\u0004name'), 'name section present (was wasm-opt skipped?)');
});

test('port4me_bytes.mjs holds exactly port4me_bg.wasm (what browsers get is what the budget measures)', async (t) => {
  const { wasmBytes } = await import(path.join(wasmDir, 'port4me_bytes.mjs'));
  const inlined = Buffer.from(wasmBytes());
  assert.ok(inlined.equals(readFileSync(wasmFile)), 'port4me_bytes.mjs is stale or damaged: rebuild with bindings/wasm/build.sh');
  assert.ok(inlined.length <= BUDGET);
  const js = readFileSync(path.join(wasmDir, 'port4me_bytes.mjs'));
  const line = `browser payload: port4me_bytes.mjs ${sizes(js)}, glue port4me.mjs ${sizes(readFileSync(path.join(wasmDir, 'port4me.mjs')))}`;
  t.diagnostic(line);
  console.log(line);
});

test('the browser glue never fetches the .wasm (nothing for a bundler to copy)', () => {
  const glue = readFileSync(path.join(wasmDir, 'port4me.mjs'), 'utf8');
  assert.ok(!glue.includes('import.meta.url'), 'port4me.mjs refers to import.meta.url (was --omit-default-module-path dropped?)');
  assert.ok(!glue.includes('port4me_bg.wasm'), 'port4me.mjs names port4me_bg.wasm');
});

test(`the Node.js flavour stays below ${NODE_CEILING} bytes`, (t) => {
  const bytes = readFileSync(path.join(wasmDir, 'port4me_node_bg.wasm'));
  const line = `node flavour: port4me_node_bg.wasm ${sizes(bytes)}`;
  t.diagnostic(line);
  console.log(line);
  assert.ok(bytes.length <= NODE_CEILING, `${bytes.length} bytes: what made the Node.js flavour this large?`);
});
