// ESM entry point. The implementation is index.cjs; loading it through
// require() keeps one instance (and one addon) for ESM and CommonJS users.
//
// The names are listed here once more, on purpose: `export * from
// './index.cjs'` would find them itself (Node's cjs-module-lexer), but
// importing index.cjs through the ESM loader made `import 'port4me'` about
// 30 ms slower on Node 20 (fresh process, as bench/startup.mjs measures),
// where this list costs nothing.
// test/api.test.mjs checks that this list and index.cjs's exports agree.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('./index.cjs');

export const {
  port4me,
  port4meAsync,
  list,
  isPortFree,
  parsePorts,
  unsafePorts,
  waitForPort,
  Registry,
  whoHolds,
  status,
  plan,
  describeBusy,
  version,
} = api;
export default port4me;
