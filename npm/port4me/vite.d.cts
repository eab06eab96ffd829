// Type declarations of `port4me/vite` (CommonJS view: `require('port4me/vite').default`).
// Vite's types are ESM (Vite 5 and 6 give CommonJS users an untyped `any`),
// so they are read as ESM from this CommonJS declaration file too.
import type { Plugin } from 'vite' with { 'resolution-mode': 'import' };
import type { Port4meOptions } from './index.cjs';

/** Options of the Vite plugin: port4me options (tool defaults to `"vite"`) plus these. */
export interface Port4meViteOptions extends Port4meOptions {
  /** Choose `server.port` for the dev server when the config leaves it unset. Default `true`. */
  server?: boolean;
  /** Choose `preview.port` for `vite preview` when the config leaves it unset. Default `true`. */
  preview?: boolean;
  /** Log the chosen port and why through Vite's logger. Default `true`. */
  log?: boolean;
}

/**
 * A Vite plugin that gives the dev server (`server.port`) and `vite preview`
 * (`preview.port`) your personal port4me port, with `strictPort: true`, unless
 * the config or the command line sets a port.
 *
 * @example
 * // vite.config.ts
 * import { defineConfig } from 'vite';
 * import port4me from 'port4me/vite';
 * export default defineConfig({ plugins: [port4me()] });
 */
export declare function port4mePlugin(options?: Port4meViteOptions): Plugin;
export default port4mePlugin;
