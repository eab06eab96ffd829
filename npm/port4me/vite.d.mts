// Type declarations of `port4me/vite` (ESM view): the declarations of
// vite.d.ts, with the plugin as the default export.
export * from './vite.js';
import { port4mePlugin } from './vite.js';
export default port4mePlugin;
