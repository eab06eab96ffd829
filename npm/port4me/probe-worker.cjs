'use strict';
// The probe worker of the WebAssembly fallback (fallback.cjs): Node has no
// synchronous bind, so the synchronous port4me() and isPortFree() hand a
// batch of candidates to this thread and block on a SharedArrayBuffer until
// it has probed them (asynchronously, on its own event loop).
//
// Protocol (workerData: signal, an Int32Array of 2; text, a Uint8Array; reply,
// a MessagePort; the state values `ready` and `failed`):
// * Started: signal[0] = ready, notified (the main thread waits for this).
// * The main thread posts { seq, ports, target } (seq > 0) on parentPort; the
//   worker answers on `reply` (which the main thread reads synchronously with
//   receiveMessageOnPort) with { seq, index, error? } (see probe.cjs
//   firstFree), then stores `seq` in signal[0] and notifies.
// * When this thread cannot answer any more (an error while loading, an
//   uncaught exception, an exit), it writes what happened into `text` as
//   UTF-8 (its byte length in signal[1]) and stores `failed` in signal[0],
//   once, and notifies: the main thread, blocked in Atomics.wait, cannot
//   receive the worker's 'error' or 'exit' events, so this is how it learns
//   the cause at once instead of at its timeout.
//
// `test` (set only by the test suite, through the fallback's hidden
// _probeWorkerForTest) makes the thread fail on purpose: 'load' while
// starting, 'throw' (an uncaught exception) or 'exit' on a request, or
// 'hang' (never answer).

const { parentPort, workerData } = require('node:worker_threads');

const { signal, text, reply, ready, failed, test } = workerData;
let over = false;

/** `err` in one line: its name, code and message, and where it was thrown. */
function describe(err) {
  if (!(err instanceof Error)) return `a thrown value that is not an Error: ${String(err)}`;
  const code = err.code ? ` [${err.code}]` : '';
  const frame = typeof err.stack === 'string' ? err.stack.split('\n').find((l) => /^\s+at /.test(l)) : undefined;
  return `${err.name}${code}: ${err.message}${frame ? ` (${frame.trim()})` : ''}`;
}

/** Tells the main thread that this thread is done for, and why (the first report wins). */
function fail(message) {
  if (over) return;
  over = true;
  const { written } = new TextEncoder().encodeInto(message, text);
  Atomics.store(signal, 1, written);
  Atomics.store(signal, 0, failed);
  Atomics.notify(signal, 0);
}

process.on('uncaughtException', (err) => {
  fail(`uncaught exception: ${describe(err)}`);
  process.exit(1);
});
process.on('exit', (code) => fail(`the thread exited (exit code ${code})`));

async function answer(firstFree, seq, ports, target) {
  let result;
  try {
    result = await firstFree(ports, target);
  } catch (err) {
    result = { index: 0, error: { host: target.host ?? '::', message: `probe worker: ${err && err.message}` } };
  }
  if (over) return;
  reply.postMessage({ seq, ...result });
  Atomics.store(signal, 0, seq);
  Atomics.notify(signal, 0);
}

function start() {
  if (test === 'load') throw new Error('deliberate failure while loading (test hook)');
  const { firstFree } = require('./probe.cjs');
  parentPort.on('message', ({ seq, ports, target }) => {
    if (test === 'throw') {
      setImmediate(() => {
        throw new Error('deliberate uncaught exception (test hook)');
      });
      return;
    }
    if (test === 'exit') process.exit(3);
    if (test === 'hang') return;
    answer(firstFree, seq, ports, target).catch((err) => {
      fail(`could not answer: ${describe(err)}`);
      process.exit(1);
    });
  });
  Atomics.store(signal, 0, ready);
  Atomics.notify(signal, 0);
}

try {
  start();
} catch (err) {
  fail(`could not load: ${describe(err)}`);
  process.exit(1);
}
