// Shared by the Vite plugin tests: a logger that records what Vite (and the
// plugin, through Vite's logger) prints, and a dev server with the plugin.
import { createServer } from 'vite';
import port4mePlugin from 'port4me/vite';

/** A Vite logger that keeps every line in `lines`. */
export function capturingLogger() {
  const lines = [];
  return {
    lines,
    hasWarned: false,
    info: (msg) => lines.push(msg),
    warn: (msg) => lines.push(`warn: ${msg}`),
    warnOnce: (msg) => lines.push(`warn: ${msg}`),
    error: (msg) => lines.push(`error: ${msg}`),
    clearScreen: () => {},
    hasErrorLogged: () => false,
  };
}

/**
 * A Vite dev server for the project in `root` with `port4me(pluginOptions)`
 * as its only plugin; `server.log` holds what it logged.
 */
export function devServer(root, pluginOptions, extra = {}) {
  const customLogger = capturingLogger();
  return createServer({
    root,
    configFile: false,
    logLevel: 'info',
    customLogger,
    clearScreen: false,
    optimizeDeps: { noDiscovery: true, include: [] },
    plugins: [port4mePlugin(pluginOptions)],
    ...extra,
  }).then((server) => Object.assign(server, { log: customLogger.lines }));
}
