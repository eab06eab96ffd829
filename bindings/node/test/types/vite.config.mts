// A Vite config using the plugin; checked with `tsc --noEmit`. What the
// plugin's entry declares is checked exactly (Checks, at the end): `any` fails.
import { defineConfig, type Plugin } from 'vite';
import port4me, { port4mePlugin, type Port4meViteOptions } from 'port4me/vite';
import type { Port4meOptions } from 'port4me';
import type { Equal, Expect } from './expect.mjs';

const options: Port4meViteOptions = { tool: 'my-app', exclude: [5173], log: true, server: true, preview: true };
const plugin = port4mePlugin(options);
const byDefault = port4me();
const perWorktree = port4me({ tool: 'vite@{worktree}', reserve: false });

export type Checks = [
  Expect<Equal<typeof plugin, Plugin>>,
  Expect<Equal<typeof byDefault, Plugin>>,
  Expect<Equal<typeof perWorktree, Plugin>>,
  Expect<Equal<typeof port4me, typeof port4mePlugin>>,
  Expect<Equal<Parameters<typeof port4mePlugin>, [options?: Port4meViteOptions]>>,
  Expect<Equal<Omit<Port4meViteOptions, keyof Port4meOptions>, { server?: boolean; preview?: boolean; log?: boolean }>>,
];

export default defineConfig({ plugins: [byDefault, plugin] });
