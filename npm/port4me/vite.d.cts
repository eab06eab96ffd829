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
  /**
   * Hold the port in the registry so that two Vite servers started at once
   * get two ports. `true` (the default): for the life of the Vite process,
   * as a registration `port4me ps` lists; a number: a lease of that many
   * seconds; `false`: no holding, the plain search. Under `port4me run`,
   * which holds the port already, the plugin takes `PORT4ME_PORT` instead.
   */
  reserve?: boolean | number;
  /**
   * The tool of the seed, default `"vite"`. `{worktree}` in it stands for
   * the git worktree's name (`'vite@{worktree}'`), so each checkout of a
   * project keeps its own port.
   */
  tool?: string;
}

/**
 * A Vite plugin that gives the dev server (`server.port`) and `vite preview`
 * (`preview.port`) your personal port4me port, with `strictPort: true`, unless
 * the config or the command line sets a port. The port is held in the
 * registry while Vite runs (`reserve: false` opts out), and under
 * `port4me run` it is the runner's (`PORT4ME_PORT`).
 *
 * @example
 * // vite.config.ts
 * import { defineConfig } from 'vite';
 * import port4me from 'port4me/vite';
 * export default defineConfig({ plugins: [port4me()] });
 */
export declare function port4mePlugin(options?: Port4meViteOptions): Plugin;
export default port4mePlugin;
