// port4me in the browser: the candidate sequence from a WebAssembly build of
// the Rust core. A page cannot probe ports, so this entry only answers "which
// ports, in which order"; pick the first one your server can bind.
//
//   import { sequence } from 'port4me';      // resolved here by the "browser" condition
//   sequence({ user: 'alice', n: 5 });       // Uint16Array [30845, 19654, 32310, 63992, 15273]
//   list({ user: 'alice', n: 3 });           // [30845, 19654, 32310]
//
// The module (about 40 KiB) is instantiated synchronously when this file is
// first imported, from its bytes in wasm/port4me_bytes.mjs: no fetch, no
// top-level await, no asset for a bundler to copy. So the API is synchronous
// and the file loads the same in browsers, every bundler (Vite 5 and later,
// whatever the build target) and Node.js (SSR, tests).
// Errors are thrown as `Error`s with `code` (and `option`) set, e.g.
// ERR_PORT4ME_INVALID_SPEC for `include: '80,x'`.
import { initSync, sequence as wasmSequence, parsePorts as wasmParsePorts, unsafePorts as wasmUnsafePorts, hash as wasmHash, version as wasmVersion } from './wasm/port4me.mjs';
import { wasmBytes } from './wasm/port4me_bytes.mjs';

initSync({ module: wasmBytes() });

/** The port4me version the WebAssembly module was built from. */
export const version = wasmVersion();

/**
 * The first `n` (default 1) candidate ports for `{ user, tool, prepend,
 * include, exclude, excludeUnsafe, skip, n }`, as a Uint16Array. `user` is
 * required: a page has no environment to take it from.
 */
export const sequence = wasmSequence;

/** Like `sequence()`, as a plain array (the shape of the Node.js `list()`). */
export function list(options) {
  return Array.from(wasmSequence(options));
}

/** The ports of a specification such as "2000-2009,4321,{chrome}", in order, each once. */
export function parsePorts(spec) {
  return Array.from(wasmParsePorts(spec));
}

/** The ports browsers refuse to connect to (what `{chrome}` and `{firefox}` expand to). */
export const unsafePorts = (() => {
  const { chrome, firefox } = wasmUnsafePorts();
  return Object.freeze({ chrome: Object.freeze(chrome), firefox: Object.freeze(firefox) });
})();

/** The unsigned 32-bit Java-style hash of a string, by code point (the seed hash). */
export const hash = wasmHash;
