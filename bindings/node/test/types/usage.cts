// Typed usage of the CommonJS entry point; checked with `tsc --noEmit`.
import p4m = require('port4me');
import vite = require('port4me/vite');

const port: number = p4m.port4me({ tool: 'api' });
const ports: number[] = p4m.list({ n: 3 });
const plugin = vite.default({ tool: 'docs', preview: false });
const same = vite.port4mePlugin();

export = { port, ports, plugin, same };
