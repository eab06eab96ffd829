'use strict';
// Vite plugin: give the dev server (and `vite preview`) your personal
// port4me port instead of 5173/4173.
//
//   import port4me from 'port4me/vite';
//   export default { plugins: [port4me()] };
//
// When the config does not set `server.port` (dev) or `preview.port`
// (preview), the plugin sets it to `port4me('vite')` (tool configurable) with
// `strictPort: true`, so Vite fails loudly if the port is taken between the
// choice and the listen instead of drifting to port + 1. A port set in the
// config or on the command line (`vite --port 3000`) is left alone. The
// choice and the reason are logged through Vite's logger, naming what holds
// a predicted port that was taken ("30845 is in use by node (pid 4242,
// alice): vite --port 30845"). When the server then cannot listen because
// its port is taken, the plugin logs what holds it before Vite's own error.

const api = require('./index.cjs');
const { codedError } = require('./binding.cjs');

const PLUGIN_KEYS = new Set(['server', 'preview', 'log']);

function checkBoolean(options, key) {
  const value = options[key];
  if (value !== undefined && typeof value !== 'boolean') {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "options.${key}" property must be of type boolean. Received type ${typeof value}`, TypeError);
  }
  return value;
}

/**
 * @param {import('./vite').Port4meViteOptions} [options]
 * @returns {import('vite').Plugin}
 */
function port4mePlugin(options) {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw codedError('ERR_INVALID_ARG_TYPE', 'The "options" argument must be an options object', TypeError);
  }
  const useServer = checkBoolean(options, 'server') ?? true;
  const usePreview = checkBoolean(options, 'preview') ?? true;
  const log = checkBoolean(options, 'log') ?? true;
  const query = { tool: 'vite' };
  for (const key of Object.keys(options)) {
    if (!PLUGIN_KEYS.has(key) && options[key] !== undefined) query[key] = options[key];
  }
  // The sequence itself (`reserve` only matters when finding).
  const { reserve, ...sequence } = query;
  if (reserve !== undefined) api._internal.normalize({ reserve });
  // Check the port4me options now, when the config is loaded (listing one
  // candidate resolves everything without probing).
  api.list({ ...sequence, n: 1 });
  const protocol = typeof query.protocol === 'string' ? query.protocol : undefined;

  const notes = [];

  // What holds `port`, as one sentence, or null; never throws (a log line
  // must not break the server; on the WebAssembly fallback, where
  // describeBusy needs the addon, there is simply no holder to name).
  function busy(port) {
    try {
      return api.describeBusy(port, protocol === undefined ? undefined : { protocol });
    } catch {
      return null;
    }
  }

  function choose(section, userSection) {
    const port = api.port4me(query);
    // Why this port: the candidates before it were in use.
    let skipped = [];
    try {
      const first = api.list({ ...sequence, n: 16 });
      const i = first.indexOf(port);
      skipped = i >= 0 ? first.slice(0, i) : first;
    } catch {
      // Listing cannot fail where finding succeeded; never let the log break the server.
    }
    const strict = userSection && typeof userSection.strictPort === 'boolean' ? userSection.strictPort : true;
    let why = `the first free port of this user's port4me sequence for tool "${query.tool}"`;
    if (skipped.length > 0) {
      why += skipped.length < 16 ? `; ${skipped.join(', ')} ${skipped.length === 1 ? 'was' : 'were'} in use` : '; more than 16 earlier candidates were in use';
    }
    let note = `port4me: ${section}.port = ${port} (${why})${strict ? '' : '; strictPort is false in the config, so Vite may still move to another port'}`;
    // The predicted port (the first candidate) was taken: say by what.
    const holder = skipped.length > 0 ? busy(skipped[0]) : null;
    if (holder) note += `. ${holder}`;
    notes.push(note);
    return { port, strictPort: strict };
  }

  // Until the server listens: when its port is taken, say what holds it
  // (with strictPort Vite then fails with "Port N is already in use").
  function explainListenErrors(httpServer, logger, serverOptions) {
    if (!httpServer || typeof httpServer.on !== 'function') return;
    const onError = (err) => {
      if (!err || err.code !== 'EADDRINUSE' || typeof err.port !== 'number') return;
      done();
      const holder = busy(err.port);
      if (!holder) return;
      if (serverOptions && serverOptions.strictPort === true) logger.error(`port4me: ${holder}`, { timestamp: true });
      else if (log) logger.info(`port4me: ${holder}; Vite tries another port`, { timestamp: true });
    };
    const done = () => {
      httpServer.off('error', onError);
      httpServer.off('listening', done);
    };
    httpServer.on('error', onError);
    httpServer.once('listening', done);
  }

  return {
    name: 'port4me',
    config(config, env) {
      if (env.command !== 'serve') return undefined;
      const section = env.isPreview ? 'preview' : 'server';
      if ((section === 'server' && !useServer) || (section === 'preview' && !usePreview)) return undefined;
      const userSection = config[section];
      if (section === 'server' && userSection && userSection.middlewareMode) return undefined;
      if (userSection && userSection.port !== undefined && userSection.port !== null) {
        notes.push(`port4me: ${section}.port = ${userSection.port} is set in the config or on the command line; port4me left it alone`);
        return undefined;
      }
      return { [section]: choose(section, userSection) };
    },
    configResolved(config) {
      if (!log) return;
      for (const note of notes.splice(0)) config.logger.info(note, { timestamp: true });
    },
    configureServer(server) {
      if (useServer) explainListenErrors(server.httpServer, server.config.logger, server.config.server);
    },
    configurePreviewServer(server) {
      if (usePreview) explainListenErrors(server.httpServer, server.config.logger, server.config.preview);
    },
  };
}

// CommonJS: `require('port4me/vite').default` (or `.port4mePlugin`).
Object.defineProperty(exports, '__esModule', { value: true });
exports.default = port4mePlugin;
exports.port4mePlugin = port4mePlugin;
