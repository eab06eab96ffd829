// A Vite config using the plugin; checked with `tsc --noEmit`.
import { defineConfig, type Plugin } from 'vite';
import port4me, { port4mePlugin, type Port4meViteOptions } from 'port4me/vite';

const options: Port4meViteOptions = { tool: 'my-app', exclude: [5173], log: true, server: true, preview: true };
const plugin: Plugin = port4mePlugin(options);

export default defineConfig({ plugins: [port4me(), plugin] });
