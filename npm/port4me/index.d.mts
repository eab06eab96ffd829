// ESM view of index.d.ts (same API, plus the default export).
export * from './index.js';
import { port4me } from './index.js';
export default port4me;
