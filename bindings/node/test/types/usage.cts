// Typed usage of the CommonJS entry point; checked with `tsc --noEmit`.
// What the API returns is checked exactly (Checks, at the end): `any` fails.
import p4m = require('port4me');
import vite = require('port4me/vite');
// Vite's types are ESM: a CommonJS file reads them as such (Vite 5 and 6
// give `require` an untyped `any`).
import type { Plugin } from 'vite' with { 'resolution-mode': 'import' };
import type { Equal, Expect } from './expect.mjs' with { 'resolution-mode': 'import' };

const port = p4m.port4me({ tool: 'api' });
const ports = p4m.list({ n: 3 });
const plugin = vite.default({ tool: 'docs', preview: false });
const same = vite.port4mePlugin();
const reservingPlugin = vite.default({ reserve: 30 });
const registry = new p4m.Registry();
const range = registry.modules.allocate(1, 'cjs');
registry.close();
const holders = p4m.whoHolds(port);
const busy = p4m.describeBusy(port);
const planned = p4m.plan({ api: port });

type Checks = [
  Expect<Equal<typeof port, number>>,
  Expect<Equal<typeof ports, number[]>>,
  Expect<Equal<typeof plugin, Plugin>>,
  Expect<Equal<typeof same, Plugin>>,
  Expect<Equal<typeof vite.default, typeof vite.port4mePlugin>>,
  Expect<Equal<Parameters<typeof vite.port4mePlugin>, [options?: vite.Port4meViteOptions]>>,
  Expect<Equal<typeof reservingPlugin, Plugin>>,
  Expect<Equal<typeof range, p4m.PortRange>>,
  Expect<Equal<typeof holders, p4m.Holder[]>>,
  Expect<Equal<typeof busy, string | null>>,
  Expect<Equal<typeof planned, p4m.Plan>>,
];

export = { port, ports, plugin, same, reservingPlugin, range, holders, busy, planned };
