// The shared conformance vectors (conformance/vectors.json) through the addon.
// Every case except `layer: "core"` ones runs four ways:
//   * sync on the main thread, with the case's variables in process.env
//     (the addon reads the real environment, which Node writes through);
//   * sync with the same variables passed as the `env` option;
//   * port4meAsync (find cases) on the libuv thread pool;
//   * sync inside a worker thread, whose process.env is a private copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as api from 'port4me';
import { repoRoot, setPort4meEnv } from './helpers.mjs';

const vectorsPath = path.join(repoRoot, 'conformance', 'vectors.json');
const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8'));
const cases = vectors.cases.filter((c) => c.layer !== 'core');

/** The environment of a case: the runner's base plus the case's variables. */
export function caseEnv(c) {
  return { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any', ...(c.env || {}) };
}

function callOf(c, extra = {}) {
  const options = { ...extra };
  if (c.user !== '') options.user = c.user;
  for (const key of ['tool', 'prepend', 'include', 'exclude', 'skip']) if (key in c) options[key] = c[key];
  // PORT4ME_LIST="" counts as unset (as in the CLI and the reference).
  const listMode = 'list' in c || (c.env !== undefined && (c.env.PORT4ME_LIST ?? '').trim() !== '');
  if ('list' in c) options.n = c.list;
  return { options, listMode };
}

/** Compares an outcome ({ value } or { error }) with the case's expectation; returns a problem or null. */
function check(c, outcome) {
  const e = c.expect;
  if ('error' in e) {
    if (!outcome.error) return `expected ${e.error}, got ${JSON.stringify(outcome.value)}`;
    if (outcome.error.code !== e.error) return `expected ${e.error}, got ${outcome.error.code}: ${outcome.error.message}`;
    if (e.mentions && !outcome.error.message.includes(e.mentions)) return `message ${JSON.stringify(outcome.error.message)} does not mention ${JSON.stringify(e.mentions)}`;
    return null;
  }
  if (outcome.error) return `unexpected ${outcome.error.code}: ${outcome.error.message}`;
  const want = 'ports' in e ? e.ports : e.port;
  try {
    assert.deepStrictEqual(outcome.value, want);
  } catch {
    return `expected ${JSON.stringify(want)}, got ${JSON.stringify(outcome.value)}`;
  }
  return null;
}

function run(fn) {
  try {
    return { value: fn() };
  } catch (err) {
    return { error: { code: err.code, message: err.message } };
  }
}

function report(failures, total) {
  assert.deepEqual(failures, [], `${failures.length} of ${total} cases failed:\n${failures.join('\n')}`);
}

test('the vectors file has runnable cases', () => {
  assert.equal(vectors.format, 1);
  assert.ok(cases.length > 0, 'zero runnable conformance cases');
  assert.ok(cases.some((c) => c.env) && cases.some((c) => 'error' in c.expect), 'the vectors lack env or error cases');
});

test('conformance: sync, variables in process.env', () => {
  const failures = [];
  for (const c of cases) {
    const restore = setPort4meEnv(caseEnv(c));
    try {
      const { options, listMode } = callOf(c);
      const problem = check(c, run(() => (listMode ? api.list(options) : api.port4me(options))));
      if (problem) failures.push(`${c.id}: ${problem}`);
    } finally {
      restore();
    }
  }
  report(failures, cases.length);
});

test('conformance: sync, variables as the env option', () => {
  const restore = setPort4meEnv({ PORT4ME_USER: 'not-this-one', PORT4ME_SKIP: 'bad' });
  try {
    const failures = [];
    for (const c of cases) {
      const { options, listMode } = callOf(c, { env: caseEnv(c) });
      const problem = check(c, run(() => (listMode ? api.list(options) : api.port4me(options))));
      if (problem) failures.push(`${c.id}: ${problem}`);
    }
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
      outcome = { value: await promise };
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
    const api = require('port4me');
    const results = [];
    for (const { env, options, listMode } of workerData) {
      for (const k of Object.keys(process.env)) {
        if (k.startsWith('PORT4ME_') || k.startsWith('_PORT4ME_') || ['LOGNAME', 'USER', 'LNAME', 'USERNAME'].includes(k)) delete process.env[k];
      }
      Object.assign(process.env, env);
      try {
        results.push({ value: listMode ? api.list(options) : api.port4me(options) });
      } catch (err) {
        results.push({ error: { code: err.code, message: err.message } });
      }
    }
    parentPort.postMessage(results);
  `;
  // The main thread's environment must not leak into the worker's answers.
  const restore = setPort4meEnv({ PORT4ME_USER: 'main-thread-user', PORT4ME_EXCLUDE: 'junk' });
  try {
    const workerData = cases.map((c) => ({ env: caseEnv(c), ...callOf(c) }));
    const worker = new Worker(source, { eval: true, workerData });
    const results = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    const failures = [];
    cases.forEach((c, i) => {
      const problem = check(c, results[i]);
      if (problem) failures.push(`${c.id}: ${problem}`);
    });
    report(failures, cases.length);
  } finally {
    restore();
  }
});
