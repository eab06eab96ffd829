'use strict';
// The probe worker of the WebAssembly fallback (fallback.cjs): Node has no
// synchronous bind, so the synchronous port4me() and isPortFree() hand a
// batch of candidates to this thread and block on a SharedArrayBuffer until
// it has probed them (asynchronously, on its own event loop).
//
// Protocol: the main thread posts { seq, ports, target } on the worker's
// parentPort; the worker answers on `reply` (a MessagePort the main thread
// reads synchronously with receiveMessageOnPort) with { seq, index, error? }
// (see probe.cjs firstFree), then stores `seq` in `signal[0]` and notifies.

const { parentPort, workerData } = require('node:worker_threads');
const { firstFree } = require('./probe.cjs');

const { signal, reply } = workerData;

parentPort.on('message', async ({ seq, ports, target }) => {
  let answer;
  try {
    answer = await firstFree(ports, target);
  } catch (err) {
    answer = { index: 0, error: { host: target.host ?? '::', message: `probe worker: ${err && err.message}` } };
  }
  reply.postMessage({ seq, ...answer });
  Atomics.store(signal, 0, seq);
  Atomics.notify(signal, 0);
});
