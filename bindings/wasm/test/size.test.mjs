// Size budget of the optimised module: at most 40 KiB, as built by build.sh
// (wasm-bindgen, then wasm-opt -Oz). Prints the raw and gzip sizes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { wasmFile } from './wasm.mjs';

const BUDGET = 40 * 1024;

test(`port4me_bg.wasm is at most ${BUDGET} bytes`, (t) => {
  const bytes = readFileSync(wasmFile);
  const gz = gzipSync(bytes, { level: 9 }).length;
  const line = `wasm size: ${bytes.length} bytes raw (${(bytes.length / 1024).toFixed(1)} KiB), ${gz} bytes gzip -9 (${(gz / 1024).toFixed(1)} KiB); budget ${BUDGET}`;
  t.diagnostic(line);
  console.log(line);
  assert.ok(bytes.length <= BUDGET, `${bytes.length} bytes is over the ${BUDGET}-byte budget (was wasm-opt skipped?)`);
  // No name section and no producers section left in the shipped module.
  const text = bytes.toString('latin1');
  assert.ok(!text.includes('\u0004name'), 'name section present (was wasm-opt skipped?)');
});
