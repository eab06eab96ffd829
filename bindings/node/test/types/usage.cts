// Typed usage of the CommonJS entry point; checked with `tsc --noEmit`.
import p4m = require('port4me');
import vite = require('port4me/vite');

const port: number = p4m.port4me({ tool: 'api' });
const ports: number[] = p4m.list({ n: 3 });
const plugin = vite.default({ tool: 'docs', preview: false });
const same = vite.port4mePlugin();
const reservingPlugin = vite.default({ reserve: 30 });
const registry = new p4m.Registry();
const range: p4m.PortRange = registry.allocate(1, 'cjs');
registry.close();
const holders: p4m.Holder[] = p4m.whoHolds(port);
const busy: string | null = p4m.describeBusy(port);
const planned: p4m.Plan = p4m.plan({ api: port });

export = { port, ports, plugin, same, reservingPlugin, range, holders, busy, planned };
