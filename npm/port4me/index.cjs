'use strict';
// port4me for Node.js: the same, personal, free TCP port, every time.
//
// This file is the whole public API (index.mjs re-exports it, so ESM and
// CommonJS share one instance). It checks argument *types* here, with Node's
// ERR_INVALID_ARG_TYPE, and hands everything else to the native addon, which
// checks *values* (ranges, specifications, environment variables) and throws
// Errors whose `code` is stable: ERR_PORT4ME_INVALID_SPEC,
// ERR_PORT4ME_INVALID_PORT, ERR_PORT4ME_INVALID_NUMBER,
// ERR_PORT4ME_EMPTY_SET, ERR_PORT4ME_NO_FREE_PORT, ERR_PORT4ME_PROBE, ...,
// ERR_PORT4ME_REGISTRY_* (the Registry class) and ERR_PORT4ME_PLAN_* (plan).
// Where no addon loads, binding.cjs hands back the WebAssembly fallback
// (fallback.cjs) instead, with the same functions; what needs the addon
// there throws ERR_PORT4ME_NATIVE_REQUIRED.

// One instance per thread: index.mjs evaluates this file itself, and a
// require() that comes later takes the instance it made, or the other way
// round.
const instances = (globalThis[Symbol.for('port4me.instances')] ??= new Map());
if (instances.has(__filename)) {
  module.exports = instances.get(__filename);
  return;
}

// Start-up cost matters (a vite.config.js pays it on every run): node:net,
// node:worker_threads and env.cjs are loaded when first needed (waitForPort,
// worker threads, the `env` option), not here. node:util is part of Node's
// own start-up, so it costs nothing.

const util = require('node:util');
const { codedError, loadBinding, packageVersion } = require('./binding.cjs');

let envModule = null;
/** env.cjs: envSnapshot() (the variables port4me reads, copied from `process.env`; names upper-cased on Windows) and isRelevantVar(). */
const envHelpers = () => (envModule ??= require('./env.cjs'));

/**
 * Whether this is the main thread, without loading node:worker_threads
 * (about 1 ms when nothing else has). process.abort() is not available in
 * worker threads, where Node replaces it with a JavaScript stub that throws;
 * Node's own native function there proves the main thread. Anything else (a
 * patched process.abort) asks worker_threads. Each thread loads this module
 * anew, so this is one answer per thread.
 */
function detectMainThread() {
  const abort = process.abort;
  if (typeof abort === 'function' && Function.prototype.toString.call(abort) === 'function abort() { [native code] }') return true;
  return require('node:worker_threads').isMainThread;
}
const isMainThread = detectMainThread();

const binding = loadBinding();
const { native, path: nativePath } = binding;
const version = packageVersion();

// ---------------------------------------------------------------------------
// Errors

function describe(value) {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    if (Array.isArray(value)) return 'an instance of Array';
    const ctor = value.constructor && value.constructor.name;
    return ctor ? `an instance of ${ctor}` : 'type object';
  }
  // Numbers as JavaScript prints them (JSON would say null for NaN and Infinity).
  let shown = typeof value === 'bigint' ? `${value}n`
    : typeof value === 'number' ? (Object.is(value, -0) ? '-0' : String(value))
      : typeof value === 'symbol' ? String(value) : JSON.stringify(value);
  if (shown && shown.length > 40) shown = `${shown.slice(0, 37)}...`;
  return `type ${typeof value} (${shown})`;
}

function invalidType(name, expected, value) {
  return codedError('ERR_INVALID_ARG_TYPE', `The "${name}" ${name.includes('.') || name.includes('[') ? 'property' : 'argument'} must be ${expected}. Received ${describe(value)}`, TypeError);
}

function invalidValue(name, message) {
  return codedError('ERR_INVALID_ARG_VALUE', `The "${name}" ${name.includes('.') ? 'property' : 'argument'} ${message}`, TypeError);
}

// napi-rs reports its own conversion failures with napi status names as the
// code. The checks below should make them unreachable; if one slips through,
// it still surfaces as ERR_INVALID_ARG_TYPE.
const NAPI_STATUS_CODES = new Set([
  'InvalidArg', 'ObjectExpected', 'StringExpected', 'NameExpected', 'FunctionExpected', 'NumberExpected',
  'BooleanExpected', 'ArrayExpected', 'BigintExpected', 'DateExpected', 'GenericFailure',
]);

function fixCode(err) {
  if (err && NAPI_STATUS_CODES.has(err.code)) {
    err.message = `${err.message} (napi status ${err.code})`;
    err.code = 'ERR_INVALID_ARG_TYPE';
  }
  return err;
}

/** Runs `thunk` (a call into the addon), fixing the code of what it throws. */
function guarded(thunk) {
  try {
    return thunk();
  } catch (err) {
    throw fixCode(err);
  }
}

/** `fn(a, b)`, an addon function, through `guarded`. */
const call = (fn, a, b) => guarded(() => fn(a, b));

// ---------------------------------------------------------------------------
// Argument checks


function checkString(value, name) {
  if (typeof value !== 'string') throw invalidType(name, 'of type string', value);
  return value;
}

function checkNumber(value, name) {
  if (typeof value !== 'number') throw invalidType(name, 'of type number', value);
  return value;
}

/**
 * Checks an options object whose properties all have a primitive type:
 * `spec` maps each accepted key to its `typeof`. Returns a fresh object
 * without the `undefined` ones (or `undefined` for no options).
 */
function checkOptionsObject(options, fn, spec) {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidType('options', 'an object', options);
  }
  const out = {};
  for (const key of Object.keys(options)) {
    const value = options[key];
    // Own keys only: `toString` and friends are not options.
    const type = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (type === undefined) {
      throw invalidValue('options', `has an unknown property "${key}" (${fn}() accepts ${Object.keys(spec).join(', ')})`);
    }
    if (value === undefined) continue;
    if (typeof value !== type) throw invalidType(`options.${key}`, `of type ${type}`, value);
    out[key] = value;
  }
  return out;
}

function isPortNumber(n) {
  return Number.isInteger(n) && n >= 1 && n <= 65535;
}

function portRangeError(source, n) {
  const why = Number.isInteger(n) ? 'is outside 1-65535' : 'is not an integer in 1-65535';
  return codedError('ERR_PORT4ME_INVALID_PORT', `invalid port in ${source}: ${n} ${why}`);
}

// Ports: a specification string, or an array of port numbers and/or
// specification strings. An all-number array goes to the addon as numbers
// (it checks each one); a mixed array becomes one specification string.
function checkPorts(value, name) {
  if (typeof value === 'string') return value;
  if (!Array.isArray(value)) throw invalidType(`options.${name}`, 'a port specification string or an array of port numbers', value);
  let allNumbers = true;
  for (let i = 0; i < value.length; i++) {
    const item = value[i];
    if (typeof item === 'number') continue;
    if (typeof item === 'string') {
      allNumbers = false;
      continue;
    }
    throw invalidType(`options.${name}[${i}]`, 'a port number or a port specification string', item);
  }
  if (allNumbers) return value;
  for (const item of value) {
    if (typeof item === 'number' && !isPortNumber(item)) throw portRangeError(name, item);
  }
  return value.join(',');
}

// From this many ports on, list() takes the typed-array path.
const LONG_LIST = 64;

const OPTION_KEYS = new Set(['tool', 'user', 'prepend', 'include', 'exclude', 'skip', 'maxTries', 'host', 'protocol', 'env']);
const FIND_OPTION_KEYS = new Set([...OPTION_KEYS, 'reserve']);
const LIST_OPTION_KEYS = new Set([...OPTION_KEYS, 'n']);

function checkEnv(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidType('options.env', 'an object of environment variables', value);
  }
  const out = {};
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === undefined) continue;
    if (typeof v !== 'string') throw invalidType(`options.env.${key}`, 'of type string', v);
    if (envHelpers().isRelevantVar(key)) out[key] = v;
  }
  return out;
}

/**
 * Checks an options argument and returns a fresh object for the addon (with
 * `env` filled in on worker threads, whose `process.env` is not the process
 * environment the addon would otherwise read).
 */
function normalize(options, fn, keys) {
  if (options === undefined) return isMainThread ? undefined : { env: envHelpers().envSnapshot() };
  if (typeof options === 'string') options = { tool: options };
  else if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw invalidType('options', 'a string (the tool) or an options object', options);
  }
  const out = {};
  for (const key of Object.keys(options)) {
    const value = options[key];
    if (!keys.has(key)) {
      if (key === 'n') throw invalidValue('options.n', `is only accepted by list(). Received ${describe(value)}`);
      if (key === 'reserve') throw invalidValue('options.reserve', `is only accepted by port4me() and port4meAsync(). Received ${describe(value)}`);
      throw invalidValue('options', `has an unknown property "${key}" (${fn}() accepts ${[...keys].join(', ')})`);
    }
    if (value === undefined) continue;
    switch (key) {
      case 'tool':
      case 'user':
      case 'host':
      case 'protocol':
        out[key] = checkString(value, `options.${key}`);
        break;
      case 'prepend':
      case 'include':
      case 'exclude':
        out[key] = checkPorts(value, key);
        break;
      case 'skip':
      case 'maxTries':
      case 'n':
        out[key] = checkNumber(value, `options.${key}`);
        break;
      case 'env':
        out.env = checkEnv(value);
        break;
      case 'reserve':
        if (typeof value !== 'boolean' && typeof value !== 'number') {
          throw invalidType('options.reserve', 'a boolean or a number of seconds', value);
        }
        out.reserve = value;
        break;
    }
  }
  if (!isMainThread && out.env === undefined) out.env = envHelpers().envSnapshot();
  return out;
}

// ---------------------------------------------------------------------------
// API

/**
 * The first free port of your personal port4me sequence.
 * `port4me('vite')` or `port4me({ tool, user, prepend, include, exclude, skip, maxTries, host, protocol, env, reserve })`.
 * With `reserve` (`true`, or a number of seconds), the port also skips every
 * port the registry holds and is recorded there as a short lease, so that
 * other callers at the same instant get other ports.
 */
function port4me(options) {
  if (isMainThread && (typeof options === 'string' || options === undefined)) {
    // Fast path: no options object to build or convert.
    return call(native.findTool, options);
  }
  return call(native.find, normalize(options, 'port4me', FIND_OPTION_KEYS));
}

/** Like `port4me()`, computed on the libuv thread pool. Bad arguments reject. */
async function port4meAsync(options) {
  const opts = normalize(options, 'port4meAsync', FIND_OPTION_KEYS);
  try {
    return await native.findAsync(opts);
  } catch (err) {
    throw fixCode(err);
  }
}

/**
 * The first `n` candidates of the sequence, without probing. `n` defaults to
 * `PORT4ME_LIST`, else 1.
 */
function list(options) {
  if (typeof options === 'string') throw invalidType('options', 'an options object', options);
  const opts = normalize(options, 'list', LIST_OPTION_KEYS);
  if (opts !== undefined && typeof opts.n === 'number' && opts.n >= LONG_LIST) {
    // Long lists come back as one Uint16Array; copying it into an array here
    // is ~10x cheaper than creating the array element by element through napi.
    const typed = call(native.listTyped, opts);
    const out = new Array(typed.length);
    for (let i = 0; i < typed.length; i++) out[i] = typed[i];
    return out;
  }
  return call(native.list, opts);
}

/** Whether `port` is free right now (a real bind; TCP on every local address by default). */
function isPortFree(port, options) {
  checkNumber(port, 'port');
  return call(native.isPortFree, port, checkOptionsObject(options, 'isPortFree', { host: 'string', protocol: 'string' }));
}

/** The ports of a specification such as `"2000-2009,4321,{chrome}"`, in order, each once. */
function parsePorts(spec) {
  checkString(spec, 'spec');
  return call(native.parsePorts, spec);
}

const unsafePorts = (() => {
  const lists = native.unsafePortLists();
  return Object.freeze({ chrome: Object.freeze(lists.chrome), firefox: Object.freeze(lists.firefox) });
})();

function tryConnect(host, port, timeoutMs) {
  return new Promise((resolve) => {
    const socket = require('node:net').connect({ host, port });
    let settled = false;
    const done = (ok) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), Math.max(1, Math.min(timeoutMs, 2000)));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Whether `value` is an AbortSignal (or a look-alike with the same members, e.g. from another realm). */
function isAbortSignal(value) {
  if (typeof AbortSignal === 'function' && value instanceof AbortSignal) return true;
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof value.aborted === 'boolean' &&
    typeof value.addEventListener === 'function' &&
    typeof value.removeEventListener === 'function'
  );
}

/** The longest delay `setTimeout` takes (2^31 - 1 ms); longer ones fire after 1 ms. */
const TIMER_MAX = 2 ** 31 - 1;

/** `signal.reason`, or what reading it threw (a getter of its own may throw). */
function abortReason(signal) {
  try {
    return signal.reason;
  } catch (err) {
    return err;
  }
}

/**
 * Resolves `true` once something accepts TCP connections on `port` (at `host`,
 * or at 127.0.0.1 or ::1), `false` when `timeoutMs` (default 10000) passes first.
 */
async function waitForPort(port, options) {
  checkNumber(port, 'port');
  if (!isPortNumber(port)) throw portRangeError('port', port);
  let host;
  let timeoutMs = 10000;
  let intervalMs = 100;
  let signal;
  if (options !== undefined) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidType('options', 'an object', options);
    for (const key of Object.keys(options)) {
      const value = options[key];
      if (value === undefined) continue;
      switch (key) {
        case 'host':
          host = checkString(value, 'options.host');
          break;
        case 'timeoutMs':
          checkNumber(value, 'options.timeoutMs');
          if (!(value >= 0) || !Number.isFinite(value)) {
            throw codedError('ERR_OUT_OF_RANGE', `The value of "options.timeoutMs" is out of range. It must be a finite number >= 0. Received ${value}`, RangeError);
          }
          timeoutMs = value;
          break;
        case 'intervalMs':
          // A timer longer than TIMER_MAX fires after 1 ms instead (Node
          // clamps it, with a warning): refused rather than polled in a loop.
          checkNumber(value, 'options.intervalMs');
          if (!(value >= 0 && value <= TIMER_MAX)) {
            throw codedError('ERR_OUT_OF_RANGE', `The value of "options.intervalMs" is out of range. It must be >= 0 and <= ${TIMER_MAX} (the longest delay Node's timers hold). Received ${value}`, RangeError);
          }
          intervalMs = value;
          break;
        case 'signal':
          if (!isAbortSignal(value)) throw invalidType('options.signal', 'an instance of AbortSignal', value);
          signal = value;
          break;
        default:
          throw invalidValue('options', `has an unknown property "${key}" (waitForPort() accepts host, timeoutMs, intervalMs, signal)`);
      }
    }
  }
  const hosts = host === undefined ? ['127.0.0.1', '::1'] : [host];
  const deadline = Date.now() + timeoutMs;
  // The abort listener is added and removed here, in this function, never in
  // a timer callback: whatever the signal does, nothing throws from a timer.
  let wake = null; // rejects the pause in progress
  // (Nor from the listener: an error thrown there would be an uncaught
  // exception, so the reason is read without letting it throw.)
  const onAbort = () => {
    if (wake) wake(abortReason(signal));
  };
  if (signal) signal.addEventListener('abort', onAbort);
  try {
    for (;;) {
      if (signal && signal.aborted) throw abortReason(signal);
      for (const h of hosts) {
        if (await tryConnect(h, port, deadline - Date.now())) return true;
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, Math.min(Math.max(intervalMs, 1), left));
        wake = (reason) => {
          clearTimeout(timer);
          reject(reason);
        };
      });
      wake = null;
    }
  } finally {
    if (signal) signal.removeEventListener('abort', onAbort);
  }
}

// ---------------------------------------------------------------------------
// Registry (port4me-registry)

// The Registry class and its four groups (modules, services, registrations,
// leases) are the addon's own: it checks their arguments with Node's codes
// and returns the Rust crate's serde forms, the JSON that `port4me registry
// ... --json` prints. Where no addon loads, the fallback's Registry says so.
const { Registry } = native;
if (Registry.prototype && !Object.hasOwn(Registry.prototype, util.inspect.custom)) {
  Registry.prototype[util.inspect.custom] = function inspect(depth, options, inspectValue) {
    return `Registry ${inspectValue({ path: this.path, closed: this.closed }, options)}`;
  };
}

// ---------------------------------------------------------------------------
// Holders, status, plans (port4me-holders)

const PROTOCOL_ONLY = { protocol: 'string' };

/** Every socket on `port` (listening, connected, TIME_WAIT, bound UDP) and the processes holding it. */
function whoHolds(port, options) {
  checkNumber(port, 'port');
  const opts = checkOptionsObject(options, 'whoHolds', PROTOCOL_ONLY);
  return guarded(() => native.whoHolds(port, opts));
}

/** The status of a port (or of each port of an array): free, occupied, blocked; unsafe, reserved. */
function status(ports, options) {
  const opts = checkOptionsObject(options, 'status', { protocol: 'string', registry: 'boolean' });
  if (typeof ports === 'number') return guarded(() => native.status([ports], opts))[0];
  if (!Array.isArray(ports)) throw invalidType('ports', 'a port number or an array of port numbers', ports);
  for (let i = 0; i < ports.length; i++) checkNumber(ports[i], `ports[${i}]`);
  return guarded(() => native.status(ports, opts));
}

function planEntries(services) {
  let pairs;
  if (services instanceof Map) {
    pairs = [...services];
  } else if (Array.isArray(services)) {
    pairs = services;
    for (let i = 0; i < pairs.length; i++) {
      if (!Array.isArray(pairs[i]) || pairs[i].length !== 2) throw invalidType(`services[${i}]`, 'a [name, port] pair', pairs[i]);
    }
  } else if (services !== null && typeof services === 'object') {
    pairs = Object.entries(services);
  } else {
    throw invalidType('services', 'an object, a Map or an array of [name, port] pairs', services);
  }
  return pairs.map(([name, port]) => {
    checkString(name, 'services name');
    checkNumber(port, `services.${name}`);
    return { name, port };
  });
}

const PLAN_OPTIONS = { strategy: 'string', force: 'boolean', graceMs: 'number', user: 'string', protocol: 'string' };

/**
 * A port for every service: `{ web: 5173, api: 3000 }` keeps each free
 * preferred port and moves a taken one to the next free port of that
 * service's own port4me sequence (strategy `alternative`), throws
 * ERR_PORT4ME_PLAN_CONFLICT with `err.plan` (`fail`), or stops the current
 * user's holders (`kill`; SIGKILL only with `force`).
 */
function plan(services, options) {
  const entries = planEntries(services);
  const opts = checkOptionsObject(options, 'plan', PLAN_OPTIONS);
  return guarded(() => native.plan(entries, opts));
}

/** `"5173 is in use by node (pid 4242, alice): vite --port 5173"`, or `null` when nothing visible holds `port`. */
function describeBusy(port, options) {
  checkNumber(port, 'port');
  const opts = checkOptionsObject(options, 'describeBusy', PROTOCOL_ONLY);
  return guarded(() => native.describeBusy(port, opts)) ?? null;
}

/**
 * What runs: every port port4me holds for a running process (`port4me run`,
 * the Vite plugin, `reserve`), in port order, as `port4me ps --json` prints it.
 */
function ps() {
  return guarded(() => native.ps());
}

module.exports = {
  port4me,
  port4meAsync,
  list,
  isPortFree,
  parsePorts,
  unsafePorts,
  waitForPort,
  Registry,
  whoHolds,
  status,
  plan,
  describeBusy,
  ps,
  version,
};

// Not part of the documented API: used by the CLI, the Vite plugin, tests and
// benchmarks.
Object.defineProperty(module.exports, '_internal', {
  enumerable: false,
  value: Object.freeze({
    native,
    nativePath,
    /** 'native' (the addon) or 'wasm' (the WebAssembly fallback). */
    backend: binding.backend,
    normalize: (options, fn = 'port4me') => normalize(options, fn, FIND_OPTION_KEYS),
    /** The Vite plugin's holding: the port held as a registration of this process (or PORT4ME_PORT). */
    hold: (options, command) => call(native.holdPort, normalize(options, 'port4me', OPTION_KEYS), command),
  }),
});
instances.set(__filename, module.exports);
