// Types of browser.js (the "browser" export condition of port4me).
import type { SequenceOptions } from './wasm/port4me.mjs';
export type { PortSpec, SequenceOptions, UnsafePorts } from './wasm/port4me.mjs';
export { sequence, hash } from './wasm/port4me.mjs';

/** The port4me version the WebAssembly module was built from. */
export declare const version: string;
/** Like `sequence()`, as a plain array (the shape of the Node.js `list()`). */
export declare function list(options: SequenceOptions): number[];
/** The ports of a specification such as "2000-2009,4321,{chrome}", in order, each once. */
export declare function parsePorts(spec: string): number[];
/** The ports browsers refuse to connect to (what `{chrome}` and `{firefox}` expand to). */
export declare const unsafePorts: {
  readonly chrome: readonly number[];
  readonly firefox: readonly number[];
};
