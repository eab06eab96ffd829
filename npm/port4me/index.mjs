// ESM entry point. The implementation is index.cjs; loading it through
// require() keeps one instance (and one addon) for ESM and CommonJS users.
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
