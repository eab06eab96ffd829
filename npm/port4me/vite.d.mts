// Type declarations of `port4me/vite` (ESM view): the declarations of
// vite.d.cts, with the plugin as the default export.
export * from './vite.cjs';
import { port4mePlugin } from './vite.cjs';
export default port4mePlugin;
