'use strict';
// The WebAssembly fallback: what index.cjs calls into where no native addon
// loads (binding.cjs decides). It offers the addon's functions under the
// addon's names, so index.cjs is the same API over either.
//
// * Options, the environment and every error come from the Node flavour of
//   the WebAssembly module (wasm/port4me_node.cjs, built from bindings/wasm
//   with the cargo feature "node"), which resolves through the same Rust std
//   crate as the addon: PORT4ME_* variables, the _SITE and unsafe lists,
//   error codes and messages are the addon's. JavaScript passes it the
//   variables (a snapshot of process.env unless the caller gave `env`) and
//   the account name to fall back on.
// * Probing is Node's own sockets (probe.cjs). The synchronous port4me() and
//   isPortFree() hand batches of candidates to a worker thread
//   (probe-worker.cjs) and wait for its answer with Atomics.wait on a
//   SharedArrayBuffer; port4meAsync() probes on the main event loop.
// * `npx port4me` is the port4me command line itself, built into the same
//   module without the registry and holders (runCli): the same help, flags,
//   messages and exit codes as the binary. It probes through the same
//   worker and writes to file descriptors 1 and 2 directly.
// * Registry, whoHolds, status, plan, describeBusy and `reserve` need the
//   addon: they throw ERR_PORT4ME_NATIVE_REQUIRED, naming the platform and
//   what to install. So do the CLI's subcommands and --reserve.

const os = require('node:os');
const path = require('node:path');
const { existsSync, writeSync } = require('node:fs');
const { MessageChannel, Worker, receiveMessageOnPort } = require('node:worker_threads');
const probe = require('./probe.cjs');
// envSnapshot(): the variables port4me reads, from `process.env` (names
// upper-cased on Windows, whose variables ignore case).
const { envSnapshot, USER_VARS } = require('./env.cjs');
const { codedError } = require('./binding.cjs');

const MODULE = path.join(__dirname, 'wasm', 'port4me_node.cjs');
const WORKER = path.join(__dirname, 'probe-worker.cjs');

// Batches of candidates for one round trip to the probe worker: the first is
// small (the first candidate is usually free), later ones grow.
const FIRST_BATCH = 16;
const MAX_BATCH = 1024;
// How long the synchronous calls wait for the probe worker before giving up
// (a batch is normally done in milliseconds).
const WORKER_TIMEOUT_MS = 30000;

// ---------------------------------------------------------------------------
// The WebAssembly module

let wasm = require(MODULE);
// Counts the instances replaced after a trap: objects of an earlier instance
// (a NodeSearch) went with it.
let generation = 0;

/**
 * Runs `fn(wasm)`. A trap (a Rust panic aborts the WebAssembly instance)
 * becomes ERR_PORT4ME_INTERNAL, and the next call gets a fresh instance.
 */
function call(fn) {
  try {
    return fn(wasm);
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) {
      generation++;
      delete require.cache[require.resolve(MODULE)];
      wasm = require(MODULE);
      throw codedError('ERR_PORT4ME_INTERNAL', `internal error in the port4me WebAssembly module (a Rust panic or trap: ${err.message})`);
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------
// The environment

/** The options with `env` filled in: the caller's, else the process environment's. */
function withEnv(options) {
  if (options !== undefined && options !== null && (typeof options !== 'object' || Array.isArray(options))) {
    throw codedError('ERR_INVALID_ARG_TYPE', `The "options" argument must be an object. Received type ${typeof options}`, TypeError);
  }
  const o = options === undefined || options === null ? {} : { ...options };
  if (o.env === undefined) o.env = envSnapshot();
  return o;
}

/** `value` when it is a string or absent (what the module's string parameters take). */
function optionalString(value, name) {
  if (value === undefined || value === null || typeof value === 'string') return value ?? undefined;
  throw codedError('ERR_INVALID_ARG_TYPE', `The "${name}" property must be of type string. Received type ${typeof value}`, TypeError);
}

let accountCache = null;
const isNode = !process.versions.bun && !process.versions.deno;

/** The effective user's name from the password database (`id -un`), or undefined. */
function idName() {
  try {
    const out = require('node:child_process').execFileSync('id', ['-un'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 });
    return out.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The account name of the effective user, looked up once per uid (as the addon does). */
function accountName() {
  const uid = typeof process.geteuid === 'function' ? process.geteuid() : -1;
  if (accountCache === null || accountCache.uid !== uid) {
    let name;
    try {
      name = os.userInfo().username || undefined;
    } catch {
      name = undefined; // no password-database entry for this uid
    }
    // Bun's userInfo() answers "unknown" where no USER is set, instead of
    // asking the password database as Node and the addon do; so does any
    // runtime but Node here get the name from `id -un`, which asks it.
    if (!isNode && uid >= 0) name = idName() ?? (name === 'unknown' ? undefined : name);
    accountCache = { uid, name };
  }
  return accountCache.name;
}

/** The account name, when nothing else names a user (so it is only looked up then). */
function accountFor(o) {
  if (typeof o.user === 'string' && o.user !== '') return undefined;
  if (o.env.PORT4ME_USER) return undefined;
  for (const name of USER_VARS) if (o.env[name]) return undefined;
  return accountName();
}

// ---------------------------------------------------------------------------
// Synchronous probing through a worker thread

// States of the probe worker in signal[0] (probe-worker.cjs); an answer
// stores its request's seq (> 0) there.
const STARTING = 0;
const READY = -1;
const FAILED = -2;
// Room for the worker's account of why it failed (UTF-8).
const FAILURE_TEXT_BYTES = 4096;
// How long the synchronous calls wait for the worker to start (normally
// tens of milliseconds) and to answer a batch (normally milliseconds). A
// worker that fails reports it at once; these only end the wait for one
// that can no longer say anything (killed, out of memory).
const START_TIMEOUT_MS = 10000;
const timeouts = { startMs: START_TIMEOUT_MS, answerMs: WORKER_TIMEOUT_MS };
// _probeWorkerForTest: how new probe workers fail on purpose (null: not).
let workerTest = null;

let prober = null;
// Round trips to the probe worker (for the tests: batches, not one per port).
const stats = { roundTrips: 0 };

const seconds = (ms) => `${ms / 1000} s`;

/** Waits until `done(signal[0])`, at most `ms`: that state, or null on timeout. */
function waitForState(p, done, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    const seen = Atomics.load(p.signal, 0);
    if (done(seen)) return seen;
    const left = deadline - Date.now();
    if (left <= 0) return null;
    Atomics.wait(p.signal, 0, seen, left);
  }
}

/** What the worker wrote about its failure. */
function failureText(p) {
  const n = Atomics.load(p.signal, 1);
  // A copy: TextDecoder does not read views of a SharedArrayBuffer.
  return new TextDecoder().decode(p.text.slice(0, n)) || 'it gave no reason';
}

/** Stops using `p`: the next synchronous call starts a new worker. */
function dropProber(p) {
  if (prober === p) prober = null;
  p.reply.close();
  p.worker.terminate().catch(() => {}); // it may have ended already
}

/**
 * The probe worker and its channel, started but not waited for: it boots
 * (tens of milliseconds, most of a first synchronous call) while this
 * thread goes on with the search, and messages posted meanwhile wait for
 * it. Unref'd, so it never keeps the process alive.
 */
function startProber() {
  if (!existsSync(WORKER)) throw new Error(`${WORKER} is missing`);
  const signal = new Int32Array(new SharedArrayBuffer(8));
  const text = new Uint8Array(new SharedArrayBuffer(FAILURE_TEXT_BYTES));
  const { port1, port2 } = new MessageChannel();
  const workerData = { signal, text, reply: port2, ready: READY, failed: FAILED, test: workerTest };
  const worker = new Worker(WORKER, { workerData, transferList: [port2], execArgv: [] });
  worker.unref();
  const p = { worker, signal, text, reply: port1, seq: 0, started: false };
  const forget = () => {
    if (prober === p) prober = null;
  };
  worker.on('error', forget);
  worker.on('exit', forget);
  return p;
}

const cannotStart = (reason) =>
  codedError('ERR_PORT4ME_PROBE', `could not start the probe worker thread that synchronous probes need here (use port4meAsync()): ${reason}`);

/** Starts the probe worker now, when a probe will follow; firstFreeSync reports a failure. */
function warmProber() {
  if (prober !== null) return;
  try {
    prober = startProber();
  } catch {
    // firstFreeSync tries again, and throws with the reason.
  }
}

/** "tcp ports 1, 2, 3 on every local address", for messages. */
function probing(ports, target) {
  const shown = ports.length > 8 ? `${Array.from(ports.slice(0, 8)).join(', ')}, ... (${ports.length} ports)` : Array.from(ports).join(', ');
  const where = target.host ? `on ${target.host}` : 'on every local address';
  return `${target.protocol} port${ports.length === 1 ? '' : 's'} ${shown} ${where}`;
}

/** `probe.firstFree(ports, target)`, synchronously: the worker probes while this thread waits. */
function firstFreeSync(ports, target) {
  if (prober === null) {
    try {
      prober = startProber();
    } catch (err) {
      throw cannotStart(err.message);
    }
  }
  const p = prober;
  stats.roundTrips++;
  p.seq = (p.seq % 0x7fffffff) + 1;
  const seq = p.seq;
  p.worker.postMessage({ seq, ports, target });
  if (!p.started) {
    // It reports READY (or FAILED) before it reads the message.
    const state = waitForState(p, (s) => s !== STARTING, timeouts.startMs);
    if (state === null || state === FAILED) {
      dropProber(p);
      throw cannotStart(state === FAILED ? failureText(p) : `it did not start within ${seconds(timeouts.startMs)}`);
    }
    p.started = true;
  }
  const state = waitForState(p, (s) => s === seq || s === FAILED, timeouts.answerMs);
  if (state === null) {
    dropProber(p);
    throw codedError('ERR_PORT4ME_PROBE', `the probe worker thread did not answer within ${seconds(timeouts.answerMs)} while probing ${probing(ports, target)}`);
  }
  if (state === FAILED) {
    dropProber(p);
    throw codedError('ERR_PORT4ME_PROBE', `the probe worker thread failed while probing ${probing(ports, target)}: ${failureText(p)}`);
  }
  const received = receiveMessageOnPort(p.reply);
  if (!received || received.message.seq !== seq) {
    throw codedError('ERR_PORT4ME_INTERNAL', 'the probe worker thread answered out of turn');
  }
  return received.message;
}

/**
 * Test hook (hidden, like _panicForTest): probe workers started from now on
 * fail on purpose (`fail`: 'load', 'throw', 'exit' or 'hang'; see
 * probe-worker.cjs), with other timeouts (`startMs`, `answerMs`); null
 * restores the defaults. The current worker is dropped either way.
 */
function probeWorkerForTest(options) {
  if (prober !== null) dropProber(prober);
  workerTest = options?.fail ?? null;
  timeouts.startMs = options?.startMs ?? START_TIMEOUT_MS;
  timeouts.answerMs = options?.answerMs ?? WORKER_TIMEOUT_MS;
}

// ---------------------------------------------------------------------------
// The command line's terminal

const WAIT = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `bytes` to `fd`, as the native binary writes to its own
 * standard streams. The streams are not touched, because a pipe behind
 * process.stdout would turn non-blocking; a non-blocking one inherited from
 * the parent is waited for. Returns the error's code (EPIPE) or message.
 */
function writeAll(fd, bytes) {
  for (let done = 0; done < bytes.length; ) {
    try {
      done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (err) {
      if (err.code !== 'EAGAIN') return err.code || err.message;
      Atomics.wait(WAIT, 0, 0, 1);
    }
  }
  return undefined;
}

/** The width clap finds natively: a terminal's on stdout or stderr, else COLUMNS. */
function terminalColumns() {
  const tty = require('node:tty');
  // A terminal's stream stays blocking in Node, so reading its size is safe.
  if (tty.isatty(1) && process.stdout.columns) return process.stdout.columns;
  if (tty.isatty(2) && process.stderr.columns) return process.stderr.columns;
  const columns = process.env.COLUMNS;
  return columns && /^\+?\d+$/.test(columns) ? Number(columns) : undefined;
}

/** Whether help on stdout is in colour, as clap decides natively (anstream). */
function helpInColor() {
  const env = process.env;
  if (env.NO_COLOR) return false;
  if (env.CLICOLOR_FORCE) return true;
  if (env.CLICOLOR === '0') return false;
  const term = process.platform === 'win32' ? env.TERM !== 'dumb' : Boolean(env.TERM) && env.TERM !== 'dumb';
  return require('node:tty').isatty(1) && (term || env.CLICOLOR !== undefined || env.CI !== undefined);
}

// ---------------------------------------------------------------------------
// The addon's functions

/**
 * The fallback for this process. `triple`: the platform (`linux-riscv64-gnu`);
 * `pkg`: its platform package; `reason`: why no addon is loaded; `forced`:
 * PORT4ME_NATIVE_ADDON=none; `listed`: whether `port4me` lists a platform
 * package for this platform.
 */
function createFallback({ triple, pkg, reason, forced, listed }) {
  const fix = forced
    ? `Unset PORT4ME_NATIVE_ADDON to load the native addon for this platform (${triple}).`
    : listed
      ? `Install the platform package: \`npm install ${pkg}\` (and check that optional dependencies are not omitted: npm --omit=optional, or a lockfile made on another platform), or set PORT4ME_NATIVE_ADDON to the path of a port4me.${triple}.node.`
      : `No prebuilt addon exists for ${triple}: build one from source (bindings/node of the port4me repository, \`napi build\`) and set PORT4ME_NATIVE_ADDON to the path of the .node file.`;
  const why = forced ? 'PORT4ME_NATIVE_ADDON=none selects it' : `the native addon for ${triple} did not load: ${reason}`;

  // Two short lines, printed on every run of a script or `npx port4me`:
  // what happened, and the one command that fixes it.
  const warning =
    `port4me: using the slower WebAssembly fallback, because ${why.split('\n')[0]}.\n` +
    (listed ? `Fix: npm install ${pkg}` : `Fix: build the addon for ${triple} from source and set PORT4ME_NATIVE_ADDON to its .node file`);

  const needsAddon = (what) => `${what} needs the native addon, and this process uses the WebAssembly fallback (platform ${triple}; ${why}). ${fix}`;

  function nativeRequired(what) {
    return codedError('ERR_PORT4ME_NATIVE_REQUIRED', `port4me: ${needsAddon(what)}`);
  }

  /**
   * Frees `search` (made in instance `born`). After a trap its instance was
   * replaced and its memory went with it: nothing to free there (and after a
   * trap inside one of its methods, free() throws wasm-bindgen's "attempted
   * to take ownership of Rust value while it was borrowed"). `quiet`: an
   * error is already on its way out, which a failure here must not replace.
   */
  function release(search, born, quiet) {
    if (born !== generation) return;
    try {
      search.free();
    } catch (err) {
      if (!quiet) throw codedError('ERR_PORT4ME_INTERNAL', `internal error in the port4me WebAssembly module (freeing a search: ${err.message})`);
    }
  }

  /** `body(search)` with a new search for `options`, freed afterwards; `body` may return a promise. */
  async function withSearchAsync(options, body) {
    const search = newSearch(options); // reads the environment now, before any await
    const born = generation;
    let result;
    try {
      result = await body(search);
    } catch (err) {
      release(search, born, true);
      throw err;
    }
    release(search, born, false);
    return result;
  }

  /** The same, synchronously. */
  function withSearch(options, body) {
    const search = newSearch(options);
    const born = generation;
    let result;
    try {
      result = body(search);
    } catch (err) {
      release(search, born, true);
      throw err;
    }
    release(search, born, false);
    return result;
  }

  function newSearch(options) {
    const o = withEnv(options);
    return call((m) => new m.NodeSearch(o, accountFor(o)));
  }

  function probeError(port, error, target) {
    return call((m) => m.nodeProbeError(port, error.host, target.protocol, error.message));
  }

  function find(options) {
    return withSearch(options, (search) => {
      if (call(() => search.reserve)) throw nativeRequired('port4me() with the reserve option');
      if (call(() => search.assumeFree)) return call(() => search.next(1))[0];
      warmProber();
      const target = call(() => search.target);
      for (let k = FIRST_BATCH; ; k = Math.min(k * 4, MAX_BATCH)) {
        const batch = call(() => search.next(k));
        if (batch.length === 0) throw call(() => search.noFreePort());
        const r = firstFreeSync(batch, target);
        if (r.error) throw probeError(batch[r.index], r.error, target);
        if (r.index >= 0) return batch[r.index];
      }
    });
  }

  function findAsync(options) {
    return withSearchAsync(options, async (search) => {
      if (call(() => search.reserve)) throw nativeRequired('port4meAsync() with the reserve option');
      if (call(() => search.assumeFree)) return call(() => search.next(1))[0];
      const target = call(() => search.target);
      for (let k = FIRST_BATCH; ; k = Math.min(k * 4, MAX_BATCH)) {
        const batch = call(() => search.next(k));
        if (batch.length === 0) throw call(() => search.noFreePort());
        const r = await probe.firstFree(batch, target);
        if (r.error) throw probeError(batch[r.index], r.error, target);
        if (r.index >= 0) return batch[r.index];
      }
    });
  }

  function listTyped(options) {
    const o = withEnv(options);
    return call((m) => m.nodeList(o, accountFor(o)));
  }

  function isPortFree(port, options) {
    const o = options || {};
    const host = optionalString(o.host, 'options.host');
    const protocol = optionalString(o.protocol, 'options.protocol');
    const target = call((m) => m.nodeProbeTarget(port, host, protocol));
    const r = firstFreeSync([port], target);
    if (r.error) throw probeError(port, r.error, target);
    return r.index === 0;
  }

  /** `npx port4me ARGS`: the command line in the module; returns its exit status. */
  function runCli(args) {
    if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) {
      throw codedError('ERR_INVALID_ARG_TYPE', 'The "args" argument must be an array of strings', TypeError);
    }
    const env = envSnapshot();
    const host = {
      env,
      account: accountFor({ env }),
      columns: terminalColumns(),
      color: helpInColor(),
      write: writeAll,
      probe: (ports, address, protocol) => firstFreeSync(Array.from(ports), { host: address ?? null, protocol }),
      missing: needsAddon,
    };
    return call((m) => m.runCli(args, host));
  }

  function parsePorts(spec) {
    if (typeof spec !== 'string') throw codedError('ERR_INVALID_ARG_TYPE', 'The "spec" argument must be of type string', TypeError);
    return Array.from(call((m) => m.nodeParsePorts(spec)));
  }

  class Registry {
    constructor() {
      throw nativeRequired('new Registry()');
    }
  }

  const requires = (what) => () => {
    throw nativeRequired(what);
  };

  return {
    warning,
    stats,
    findTool: (tool) => find(tool === undefined ? undefined : { tool }),
    find,
    findAsync,
    list: (options) => Array.from(listTyped(options)),
    listTyped,
    isPortFree,
    parsePorts,
    unsafePortLists: () => call((m) => m.unsafePorts()),
    runCli,
    nativeVersion: () => call((m) => m.version()),
    _panicForTest: () => call((m) => m._panicForTest()),
    _probeWorkerForTest: probeWorkerForTest,
    Registry,
    whoHolds: requires('whoHolds()'),
    status: requires('status()'),
    plan: requires('plan()'),
    describeBusy: requires('describeBusy()'),
    ps: requires('ps()'),
    holdPort: requires('the Vite plugin\'s reserve'),
  };
}

module.exports = { createFallback };
