// Eight worker threads calling port4me() at the same moment: no crash, and
// every answer right.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { list, port4me } from 'port4me';
import { setPort4meEnv } from './helpers.mjs';

const THREADS = 8;
const CALLS = 200;

const source = `
  const { parentPort, workerData } = require('node:worker_threads');
  const { port4me, list } = require('port4me');
  const { index, start, calls } = workerData;
  // Each worker has its own process.env: give it its own user.
  process.env.PORT4ME_USER = 'thread-user-' + index;
  // Wait until every worker is ready, then go at once.
  Atomics.add(start, 0, 1);
  Atomics.wait(start, 1, 0);
  const answers = { assumed: [], probed: [], listed: [], shared: [] };
  for (let i = 0; i < calls; i++) {
    answers.assumed.push(port4me({ tool: 'threads', env: { ...process.env, _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } }));
    answers.probed.push(port4me('threads'));
    answers.shared.push(port4me({ user: 'shared', tool: 'threads' }));
    if (i % 20 === 0) answers.listed.push(list({ tool: 'threads', n: 5 }));
  }
  parentPort.postMessage(answers);
`;

test(`${THREADS} worker threads calling port4me() at once`, async () => {
  const restore = setPort4meEnv({ PORT4ME_USER: 'main-user' });
  try {
    const start = new Int32Array(new SharedArrayBuffer(8));
    const workers = Array.from({ length: THREADS }, (_, index) => new Worker(source, { eval: true, workerData: { index, start, calls: CALLS } }));
    const results = workers.map((w) => new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => code !== 0 && reject(new Error(`worker exited with ${code}`)));
    }));
    while (Atomics.load(start, 0) < THREADS) await new Promise((r) => setTimeout(r, 5));
    // The main thread joins in too.
    Atomics.store(start, 1, 1);
    Atomics.notify(start, 1);
    const mine = Array.from({ length: CALLS }, () => port4me('threads'));
    const answers = await Promise.all(results);
    await Promise.all(workers.map((w) => w.terminate()));

    // Probes of one port at the same instant see each other's short-lived
    // bind, so a thread may get the next candidate: any of the first few is right.
    const shared = list({ user: 'shared', tool: 'threads', n: 5 });
    const mainExpected = list({ user: 'main-user', tool: 'threads', n: 5 });
    assert.ok(mine.every((p) => mainExpected.includes(p)), `main thread answers ${[...new Set(mine)]}`);
    answers.forEach((a, index) => {
      const expected = list({ user: `thread-user-${index}`, tool: 'threads', n: 5 });
      assert.ok(a.assumed.every((p) => p === expected[0]), `worker ${index}: assumed-free answers`);
      // With real probes the answer is the first free candidate: normally the first.
      assert.ok(a.probed.every((p) => expected.includes(p)), `worker ${index}: probed answers ${[...new Set(a.probed)]}`);
      assert.ok(a.listed.every((l) => JSON.stringify(l) === JSON.stringify(expected)), `worker ${index}: lists`);
      assert.ok(a.shared.every((p) => shared.includes(p)), `worker ${index}: shared user ${[...new Set(a.shared)]}`);
    });
    // Workers did not see the main thread's user, nor each other's.
    assert.equal(new Set(answers.map((a) => a.assumed[0])).size, THREADS);
  } finally {
    restore();
  }
});
