// Typed usage of the browser entry (the "browser" export condition, what
// bundlers resolve for pages); checked with `tsc -p tsconfig.browser.json`,
// which resolves `port4me` with that condition (never run).
import * as browser from 'port4me';
import { hash, list, parsePorts, sequence, unsafePorts, version, type PortSpec, type SequenceOptions, type UnsafePorts } from 'port4me';

const options: SequenceOptions = { user: 'alice', tool: 'vite', prepend: [4321], exclude: '{chrome}', excludeUnsafe: '', skip: 1, n: 5 };
const seq: Uint16Array = sequence(options);
const ports: number[] = list({ user: 'alice', n: 5 });
const spec: PortSpec = [80, '90-99'];
const parsed: number[] = parsePorts('80,443');
const chrome: readonly number[] = unsafePorts.chrome;
const lists: UnsafePorts = { chrome: [...unsafePorts.chrome], firefox: [...unsafePorts.firefox] };
const h: number = hash('alice');
const v: string = version;

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

export { seq, ports, spec, parsed, chrome, lists, h, v };
