// The shared conformance vectors (conformance/vectors.json) through the addon.
// Every case except `layer: "core"` ones runs four ways:
//   * sync on the main thread, with the case's variables in process.env
//     (the addon reads the real environment, which Node writes through);
//   * sync with the same variables passed as the `env` option;
//   * port4meAsync (find cases) on the libuv thread pool;
//   * sync inside a worker thread, whose process.env is a private copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import * as api from 'port4me';
import path from 'node:path';
import { packageDir, setPort4meEnv } from './helpers.mjs';
import { caseEnv, check, checkAll, optionsOf, outcomeOf, selectCases } from '../../../conformance/harness/cases.mjs';
import { loadVectors } from '../../../conformance/harness/load.mjs';

const vectors = loadVectors();
const cases = selectCases(vectors, 'env');

function callOf(c, extra = {}) {
  const { options, listMode } = optionsOf(c);
  return { options: { ...extra, ...options }, listMode };
}

const call = ({ options, listMode }) => () => (listMode ? api.list(options) : api.port4me(options));

function report(failures, total) {
  assert.deepEqual(failures, [], `${failures.length} of ${total} cases failed:\n${failures.join('\n')}`);
}

test('the vectors file has runnable cases', () => {
  assert.ok(cases.length > 0, 'zero runnable conformance cases');
  assert.ok(cases.some((c) => c.env) && cases.some((c) => 'error' in c.expect), 'the vectors lack env or error cases');
});

test('conformance: sync, variables in process.env', () => {
  const failures = checkAll(cases, (c) => {
    const restore = setPort4meEnv(caseEnv(c));
    try {
      return outcomeOf(call(callOf(c)));
    } finally {
      restore();
    }
  });
  report(failures, cases.length);
});

test('conformance: sync, variables as the env option', () => {
  const restore = setPort4meEnv({ PORT4ME_USER: 'not-this-one', PORT4ME_SKIP: 'bad' });
  try {
    const failures = checkAll(cases, (c) => outcomeOf(call(callOf(c, { env: caseEnv(c) }))));
    report(failures, cases.length);
  } finally {
    restore();
  }
});

test('conformance: port4meAsync (find cases)', async () => {
  const finds = cases.filter((c) => !callOf(c).listMode);
  assert.ok(finds.length > 0);
  const failures = [];
  for (const c of finds) {
    const restore = setPort4meEnv(caseEnv(c));
    let outcome;
    try {
      // The environment is read when the call is made, before the await.
      const promise = api.port4meAsync(callOf(c).options);
      restore();
      outcome = { ports: [await promise] };
    } catch (err) {
      outcome = { error: { code: err.code, message: err.message } };
    } finally {
      restore();
    }
    const problem = check(c, outcome);
    if (problem) failures.push(`${c.id}: ${problem}`);
  }
  report(failures, finds.length);
});

test('conformance: sync inside a worker thread (worker-local process.env)', async () => {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const { isRelevantVar } = require(workerData.envModule);
    const api = require('port4me');
    const results = [];
    for (const { env, options, listMode } of workerData.cases) {
      for (const k of Object.keys(process.env)) {
        if (isRelevantVar(k)) delete process.env[k];
      }
      Object.assign(process.env, env);
      try {
        const v = listMode ? api.list(options) : api.port4me(options);
        results.push({ ports: typeof v === 'number' ? [v] : Array.from(v) });
      } catch (err) {
        results.push({ error: { code: err.code, message: err.message } });
      }
    }
    parentPort.postMessage(results);
  `;
  // The main thread's environment must not leak into the worker's answers.
  const restore = setPort4meEnv({ PORT4ME_USER: 'main-thread-user', PORT4ME_EXCLUDE: 'junk' });
  try {
    const workerData = { envModule: path.join(packageDir, 'env.cjs'), cases: cases.map((c) => ({ env: caseEnv(c), ...callOf(c) })) };
    const worker = new Worker(source, { eval: true, workerData });
    const results = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    let i = 0;
    report(checkAll(cases, () => results[i++]), cases.length);
  } finally {
    restore();
  }
});
