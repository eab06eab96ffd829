// ESM view of index.d.cts (same API, plus the default export).
export * from './index.cjs';
import { port4me } from './index.cjs';
export default port4me;
