// Loads the built WebAssembly module (npm/port4me/wasm/) in Node with
// initSync, the same glue a browser uses. bindings/wasm/build.sh builds it.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const wasmDir = path.join(root, 'npm/port4me/wasm');
export const wasmFile = path.join(wasmDir, 'port4me_bg.wasm');

if (!existsSync(wasmFile)) {
  throw new Error(`${wasmFile} is missing: run bindings/wasm/build.sh (or scripts/test-wasm.sh) first`);
}
const glue = await import(path.join(wasmDir, 'port4me.mjs'));
glue.initSync({ module: readFileSync(wasmFile) });

export const { sequence, parsePorts, unsafePorts, hash, version } = glue;

/** Calls fn, expects it to throw an Error with `code`, returns the error. */
export function thrown(fn) {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error, got none');
}
