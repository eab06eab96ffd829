// ESM entry point of the Vite plugin (see vite.cjs).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { port4mePlugin } = require('./vite.cjs');

export { port4mePlugin };
export default port4mePlugin;
