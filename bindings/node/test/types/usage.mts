// Typed usage of the ESM entry point; checked with `tsc --noEmit` (never run).
import port4meDefault, {
  isPortFree,
  list,
  parsePorts,
  port4me,
  port4meAsync,
  unsafePorts,
  version,
  waitForPort,
  type ListOptions,
  type Port4meError,
  type Port4meOptions,
  type PortSpec,
} from 'port4me';

const a: number = port4me();
const b: number = port4me('vite');
const c: number = port4meDefault({ tool: 'jupyter', user: 'alice', exclude: [8888, '9000-9010'], skip: 1 });
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
const d: Promise<number> = port4meAsync(options);
const listOptions: ListOptions = { ...options, n: 5 };
const ports: number[] = list(listOptions);
const free: boolean = isPortFree(8080, { host: '::1', protocol: 'tcp' });
const parsed: number[] = parsePorts('80,443');
const chrome: readonly number[] = unsafePorts.chrome;
const up: Promise<boolean> = waitForPort(b, { timeoutMs: 1000, intervalMs: 50, signal: AbortSignal.timeout(500) });
const v: string = version;

try {
  port4me({ skip: -1 });
} catch (err) {
  const e = err as Port4meError;
  if (e.code === 'ERR_PORT4ME_INVALID_NUMBER' || e.code === 'ERR_PORT4ME_NO_FREE_PORT') console.error(e.message);
  // Where only the WebAssembly fallback loads, what needs the addon says so.
  if (e.code === 'ERR_PORT4ME_NATIVE_REQUIRED') console.error('install the platform package');
}

export { a, c, d, ports, free, parsed, chrome, up, v };
