'use strict';
// Vite plugin: give the dev server (and `vite preview`) your personal
// port4me port instead of 5173/4173.
//
//   import port4me from 'port4me/vite';
//   export default { plugins: [port4me()] };
//
// When the config does not set `server.port` (dev) or `preview.port`
// (preview), the plugin sets it to the first free port of the port4me
// sequence for the tool (default 'vite'; `{worktree}` in it stands for the
// git worktree's name) with `strictPort: true`, so Vite fails loudly if the
// port is taken between the choice and the listen instead of drifting to
// port + 1. The port is held in the registry for the life of the Vite
// process (a registration `port4me ps` lists), so two Vite servers started
// at once get two ports; `reserve: false` opts out, a number of seconds
// holds it as a lease instead. Under `port4me run`, which holds the port
// already, the plugin takes PORT4ME_PORT. A port set in the config or on
// the command line (`vite --port 3000`) is left alone. The choice and the
// reason are logged through Vite's logger, naming what holds a predicted
// port that was taken ("30845 is in use by node (pid 4242, alice): vite
// --port 30845"). When the server then cannot listen because its port is
// taken, the plugin logs what holds it before Vite's own error.

const api = require('./index.cjs');
const { codedError } = require('./binding.cjs');

const PLUGIN_KEYS = new Set(['server', 'preview', 'log']);

// The ports this process holds, by query: Vite restarts its server in the
// same process when the config changes (configuring the new server before
// it closes the old one), and the restarted server keeps the port, which
// is still this process's registration. So one process has one port per
// query: a second server of the same tool in the same process gets the
// same port (give it another tool, or `reserve: false`).
const heldPorts = new Map();

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
  const { reserve = true, ...sequence } = query;
  api._internal.normalize({ reserve });
  const reserveAsked = query.reserve !== undefined;
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

  // The port, and how it is held, for the log.
  function take() {
    if (process.env.PORT4ME_PORT) {
      return { port: api.port4me(sequence), how: 'given by port4me run through PORT4ME_PORT; it holds the port', given: true };
    }
    if (reserve === false) return { port: api.port4me(sequence), how: 'not held (reserve: false)' };
    if (typeof reserve === 'number') {
      return { port: api.port4me({ ...sequence, reserve }), how: `held as a lease for ${reserve} s` };
    }
    const key = JSON.stringify(sequence);
    if (heldPorts.has(key)) return { port: heldPorts.get(key), how: 'held while Vite runs' };
    try {
      const port = api._internal.hold(sequence);
      heldPorts.set(key, port);
      return { port, how: 'held while Vite runs' };
    } catch (err) {
      // The WebAssembly fallback has no registry: unless `reserve` was asked
      // for, say so and go on unheld.
      if (reserveAsked || !err || err.code !== 'ERR_PORT4ME_NATIVE_REQUIRED') throw err;
      return { port: api.port4me(sequence), how: 'not held: the registry needs the native addon' };
    }
  }

  function choose(section, userSection) {
    const { port, how, given } = take();
    const strict = userSection && typeof userSection.strictPort === 'boolean' ? userSection.strictPort : true;
    if (given) {
      notes.push(`port4me: ${section}.port = ${port} (${how})`);
      return { port, strictPort: strict };
    }
    // Why this port: the candidates before it were in use (or held).
    let skipped = [];
    try {
      const first = api.list({ ...sequence, n: 16 });
      const i = first.indexOf(port);
      skipped = i >= 0 ? first.slice(0, i) : first;
    } catch {
      // Listing cannot fail where finding succeeded; never let the log break the server.
    }
    let why = `the first free port of this user's port4me sequence for tool "${query.tool}"`;
    if (skipped.length > 0) {
      why += skipped.length < 16 ? `; ${skipped.join(', ')} ${skipped.length === 1 ? 'was' : 'were'} in use` : '; more than 16 earlier candidates were in use';
    }
    let note = `port4me: ${section}.port = ${port} (${why}; ${how})${strict ? '' : '; strictPort is false in the config, so Vite may still move to another port'}`;
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
