// Typed usage of the browser entry (the "browser" export condition, what
// bundlers resolve for pages); checked with `tsc -p tsconfig.browser.json`,
// which resolves `port4me` with that condition (never run). What the entry
// returns is checked exactly (Checks, at the end): `any` fails.
import * as browser from 'port4me';
import { hash, list, parsePorts, sequence, unsafePorts, version, type PortSpec, type SequenceOptions, type UnsafePorts } from 'port4me';
import type { Equal, Expect } from './expect.mjs';

const options: SequenceOptions = { user: 'alice', tool: 'vite', prepend: [4321], exclude: '{chrome}', excludeUnsafe: '', skip: 1, n: 5 };
const seq = sequence(options);
const ports = list({ user: 'alice', n: 5 });
const spec: PortSpec = [80, '90-99'];
const parsed = parsePorts('80,443');
const chrome = unsafePorts.chrome;
const lists: UnsafePorts = { chrome: [...unsafePorts.chrome], firefox: [...unsafePorts.firefox] };
const h = hash('alice');
const v = version;

// @ts-expect-error `user` is required in the browser: a page has no environment
list({ n: 3 });
// @ts-expect-error no environment to pass in the browser
sequence({ user: 'alice', env: {} });
// @ts-expect-error a page cannot probe: no port4me() here
browser.port4me('vite');
// @ts-expect-error nor isPortFree()
browser.isPortFree(80);
// @ts-expect-error unsafePorts is frozen
unsafePorts.chrome.push(1);

export type Checks = [
  Expect<Equal<typeof seq, Uint16Array>>,
  Expect<Equal<typeof ports, number[]>>,
  Expect<Equal<typeof parsed, number[]>>,
  Expect<Equal<typeof chrome, readonly number[]>>,
  Expect<Equal<typeof unsafePorts.firefox, readonly number[]>>,
  Expect<Equal<typeof h, number>>,
  Expect<Equal<typeof v, string>>,
];

export { seq, ports, spec, parsed, chrome, lists, h, v };
