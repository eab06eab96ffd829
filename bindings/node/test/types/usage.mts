// Typed usage of the ESM entry point; checked with `tsc --noEmit` (never run).
// What the API returns is checked exactly (Checks, at the end): `any` fails.
import port4meDefault, {
  isPortFree,
  list,
  parsePorts,
  port4me,
  port4meAsync,
  ps,
  unsafePorts,
  version,
  waitForPort,
  type ListOptions,
  type Port4meError,
  type Port4meErrorCode,
  type Port4meOptions,
  type PortSpec,
  type ProbeOptions,
  type Running,
} from 'port4me';
import type { Equal, Expect, Flat } from './expect.mjs';

const a = port4me();
const b = port4me('vite');
const c = port4meDefault({ tool: 'jupyter', user: 'alice', exclude: [8888, '9000-9010'], skip: 1 });
const spec: PortSpec = '2000-2009,{chrome}';
const options: Port4meOptions = {
  prepend: [4321, 11001],
  include: spec,
  exclude: '{firefox}',
  maxTries: 10,
  host: '127.0.0.1',
  protocol: 'udp',
  env: { PORT4ME_USER: 'alice', HOME: undefined },
};
const d = port4meAsync(options);
const listOptions: ListOptions = { ...options, n: 5 };
const ports = list(listOptions);
const free = isPortFree(8080, { host: '::1', protocol: 'tcp' });
const parsed = parsePorts('80,443');
const chrome = unsafePorts.chrome;
const up = waitForPort(b, { timeoutMs: 1000, intervalMs: 50, signal: AbortSignal.timeout(500) });
const v = version;

try {
  port4me({ skip: -1 });
} catch (err) {
  const e = err as Port4meError;
  if (e.code === 'ERR_PORT4ME_INVALID_NUMBER' || e.code === 'ERR_PORT4ME_NO_FREE_PORT') console.error(e.message);
  // Where only the WebAssembly fallback loads, what needs the addon says so.
  if (e.code === 'ERR_PORT4ME_NATIVE_REQUIRED') console.error('install the platform package');
}

const running = ps();
const first = running[0]!;

export type Checks = [
  Expect<Equal<typeof running, Running[]>>,
  Expect<Equal<typeof first.worktree, string>>,
  Expect<Equal<typeof first.kind, 'registration' | 'lease'>>,
  Expect<Equal<typeof a, number>>,
  Expect<Equal<typeof b, number>>,
  Expect<Equal<typeof c, number>>,
  Expect<Equal<typeof port4meDefault, typeof port4me>>,
  Expect<Equal<Parameters<typeof port4me>, [options?: string | Port4meOptions]>>,
  Expect<Equal<typeof d, Promise<number>>>,
  Expect<Equal<Parameters<typeof list>, [options?: ListOptions]>>,
  Expect<Equal<typeof ports, number[]>>,
  Expect<Equal<typeof free, boolean>>,
  Expect<Equal<typeof parsed, number[]>>,
  Expect<Equal<typeof chrome, readonly number[]>>,
  Expect<Equal<typeof unsafePorts.firefox, readonly number[]>>,
  Expect<Equal<typeof up, Promise<boolean>>>,
  Expect<Equal<typeof v, string>>,
  Expect<Equal<Port4meError['code'], Port4meErrorCode>>,
  // The options, generated from the addon's Rust structs (generated.d.cts),
  // are exactly what the hand-written declarations said.
  Expect<Equal<PortSpec, string | ReadonlyArray<number | string>>>,
  Expect<Equal<Flat<Port4meOptions>, Flat<CommonOptions & { reserve?: boolean | number }>>>,
  Expect<Equal<Flat<ListOptions>, Flat<CommonOptions & { n?: number }>>>,
  Expect<Equal<ProbeOptions, { host?: string; protocol?: 'tcp' | 'udp' | (string & {}) }>>,
];

/** The options `port4me` and `list` share, as written by hand before they were generated. */
type CommonOptions = {
  tool?: string;
  user?: string;
  prepend?: PortSpec;
  include?: PortSpec;
  exclude?: PortSpec;
  skip?: number;
  maxTries?: number;
  host?: string;
  protocol?: 'tcp' | 'udp' | (string & {});
  env?: Readonly<Record<string, string | undefined>>;
};

export { running, a, c, d, ports, free, parsed, chrome, up, v };
