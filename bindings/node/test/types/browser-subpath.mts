// Typed usage of `port4me/browser`: the browser entry under a name that
// resolves the same under every moduleResolution, with no customConditions
// (the default of a bundler project). Node-only calls are type errors here.
// Checked with `tsc --noEmit` (never run).
import { hash, list, sequence, version } from 'port4me/browser';
import * as browser from 'port4me/browser';
import type { Equal, Expect } from './expect.mjs';

const seq = sequence({ user: 'alice', n: 5 });
const ports = list({ user: 'alice', n: 5 });
const h = hash('alice');

// @ts-expect-error a page cannot probe: no port4me() in the browser entry
browser.port4me('vite');
// @ts-expect-error nor the registry
browser.Registry;
// @ts-expect-error `user` is required in the browser: a page has no environment
list({ n: 3 });

export type Checks = [
  Expect<Equal<typeof seq, Uint16Array>>,
  Expect<Equal<typeof ports, number[]>>,
  Expect<Equal<typeof h, number>>,
  Expect<Equal<typeof version, string>>,
];
