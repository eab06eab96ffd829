// The rest of the public API: environment handling, list defaults, parsePorts,
// unsafePorts, waitForPort and the ESM/CJS entry points (the loader: fallback.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import * as esm from 'port4me';
import port4meDefault from 'port4me';
import { cleanEnv, close, listenTcp, onFallback, packageDir, setPort4meEnv } from './helpers.mjs';

const require = createRequire(import.meta.url);
const cjs = require('port4me');
const { isPortFree, list, parsePorts, port4me, port4meAsync, unsafePorts, version, waitForPort } = esm;

test('ESM and CommonJS entry points are one instance', () => {
  for (const name of ['port4me', 'port4meAsync', 'list', 'isPortFree', 'parsePorts', 'unsafePorts', 'waitForPort', 'version']) {
    assert.equal(esm[name], cjs[name], name);
  }
  // index.mjs lists the names of index.cjs again: the same names, the same values.
  assert.deepEqual(Object.keys(esm).sort(), [...Object.keys(cjs), 'default'].sort());
  for (const name of Object.keys(cjs)) assert.equal(esm[name], cjs[name], name);
  assert.equal(port4meDefault, cjs.port4me);
  assert.equal(version, require('port4me/package.json').version);
});

test('index.mjs loads index.cjs without the CommonJS loader, one instance with require() in either order, and falls back to createRequire()', () => {
  // A CommonJS script (-e) that imports index.mjs and requires index.cjs in
  // the order given, reporting whether they are one instance and whether
  // index.cjs went through the CommonJS loader (require.cache; the
  // fallback's own files always do).
  const code = `
    const [order, dir] = process.argv.slice(1);
    if (process.env.NO_GET_BUILTIN) delete process.getBuiltinModule;
    const mjs = require('node:url').pathToFileURL(require('node:path').join(dir, 'index.mjs')).href;
    const inCache = () => require('node:path').join(dir, 'index.cjs') in require.cache;
    (async () => {
      let cjs, esm, cachedAfterImport;
      if (order === 'require-first') cjs = require(dir);
      esm = await import(mjs);
      cachedAfterImport = inCache();
      if (order === 'import-first') cjs = require(dir);
      console.log(JSON.stringify({ same: esm.list === cjs.list && esm.default === cjs.port4me, cachedAfterImport, port: esm.port4me({ user: 'alice', env: { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } }) }));
    })();
  `;
  const run = (order, flags = [], env = {}) => {
    const r = spawnSync(process.execPath, [...flags, '-e', code, order, packageDir], { encoding: 'utf8', env: cleanEnv(env), timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout);
  };
  const fast = typeof process.getBuiltinModule === 'function';
  assert.deepEqual(run('import-first'), { same: true, cachedAfterImport: !fast, port: 30845 });
  assert.deepEqual(run('require-first'), { same: true, cachedAfterImport: true, port: 30845 });
  // The createRequire() path: no code from strings, or no process.getBuiltinModule.
  assert.deepEqual(run('import-first', ['--disallow-code-generation-from-strings']), { same: true, cachedAfterImport: true, port: 30845 });
  assert.deepEqual(run('import-first', [], { NO_GET_BUILTIN: '1' }), { same: true, cachedAfterImport: true, port: 30845 });
});

test('loading port4me and one port4me() load neither node:net nor node:worker_threads (start-up cost)', { skip: onFallback && 'the fallback needs worker_threads' }, () => {
  // About 2 ms in a fresh process: only waitForPort, worker threads, the
  // fallback and the env option load them. Both entry points, in a fresh process.
  const code = `
    const before = new Set(process.moduleLoadList);
    // Files read, for env.cjs loaded by index.mjs without the CommonJS loader.
    const fs = require('node:fs');
    const read = [];
    const readFileSync = fs.readFileSync;
    fs.readFileSync = (file, ...rest) => (read.push(String(file)), readFileSync(file, ...rest));
    const load = process.argv[1] === 'esm' ? import(require('node:url').pathToFileURL(process.argv[2] + '/index.mjs')) : Promise.resolve(require(process.argv[2]));
    load.then((api) => {
      api.port4me('vite');
      api.list({ user: 'alice', n: 2 });
      const loaded = process.moduleLoadList.filter((m) => !before.has(m)).map((m) => m.replace('NativeModule ', ''));
      const envLoaded = [...Object.keys(require.cache), ...read].some((f) => f.endsWith('env.cjs'));
      console.log(JSON.stringify({ net: loaded.includes('net'), worker_threads: loaded.includes('worker_threads'), envLoaded }));
    });
  `;
  for (const kind of ['cjs', 'esm']) {
    const r = spawnSync(process.execPath, ['-e', code, kind, packageDir], { encoding: 'utf8', env: cleanEnv(), timeout: 30000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { net: false, worker_threads: false, envLoaded: false }, kind);
  }
});

test('process.env changes reach the addon (Node writes the real environment)', () => {
  const restore = setPort4meEnv({ PORT4ME_USER: 'alice', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' });
  try {
    assert.equal(port4me(), 30845);
    assert.equal(port4me('rstudio'), 22486);
    process.env.PORT4ME_TOOL = 'jupyter-notebook';
    assert.equal(port4me(), 29525);
    assert.equal(port4me({ tool: '' }), 30845, 'an explicit empty tool overrides PORT4ME_TOOL');
    delete process.env.PORT4ME_TOOL;
    process.env.PORT4ME_EXCLUDE = '30845,32310';
    assert.equal(port4me(), 19654);
    process.env.PORT4ME_SKIP = '2';
    assert.deepEqual(list({ n: 2 }), [15273, 31420], 'PORT4ME_EXCLUDE and PORT4ME_SKIP both apply');
    delete process.env.PORT4ME_SKIP;
    delete process.env.PORT4ME_EXCLUDE;
    process.env.PORT4ME_USER = '';
    process.env.LOGNAME = 'bob';
    assert.deepEqual(list({ n: 2 }), [54242, 4930], 'PORT4ME_USER="" falls back to LOGNAME');
  } finally {
    restore();
  }
});

test('the user falls back to the account name when no variable names one', async () => {
  const restore = setPort4meEnv({ _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' });
  try {
    const account = os.userInfo().username;
    assert.deepEqual(list({ n: 3 }), list({ user: account, n: 3 }));
    assert.deepEqual(list({ n: 3, env: {} }), list({ user: account, n: 3 }));
    // The same account off the main thread (port4meAsync resolves on the
    // libuv pool from a snapshot of the environment, which has no user
    // variable here), and with an env option whose user variables are empty.
    const mine = port4me({ user: account, tool: 'vite' });
    assert.equal(port4me('vite'), mine);
    assert.equal(await port4meAsync('vite'), mine);
    const empty = { PORT4ME_USER: '', USER: '', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' };
    assert.equal(port4me({ tool: 'vite', env: empty }), mine);
    assert.equal(await port4meAsync({ tool: 'vite', env: empty }), mine);
  } finally {
    restore();
  }
});

test('list(): n defaults to PORT4ME_LIST, else 1', () => {
  const restore = setPort4meEnv({ PORT4ME_USER: 'alice' });
  try {
    assert.deepEqual(list(), [30845]);
    process.env.PORT4ME_LIST = '3';
    assert.deepEqual(list(), [30845, 19654, 32310]);
    assert.deepEqual(list({ n: 1 }), [30845], 'n wins over PORT4ME_LIST');
    process.env.PORT4ME_LIST = '';
    assert.deepEqual(list(), [30845], 'empty PORT4ME_LIST is unset');
    // Long lists take the typed-array path; both paths agree.
    const long = list({ n: 65535 });
    assert.equal(long.length, 65535);
    assert.ok(Array.isArray(long) && long.every((p) => Number.isInteger(p) && p >= 1024 && p <= 65535));
    assert.deepEqual(long.slice(0, 63), list({ n: 63 }));
    assert.deepEqual(list({ n: 64 }), long.slice(0, 64));
    assert.equal(list({ n: 1 << 20 }).length, 1 << 20);
  } finally {
    restore();
  }
});

test('SPEC anchors through options', () => {
  const env = { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' };
  const a = (o) => port4me({ user: 'alice', env, ...o });
  assert.deepEqual(list({ user: 'alice', n: 10 }), [30845, 19654, 32310, 63992, 15273, 31420, 62779, 55372, 24143, 41300]);
  assert.deepEqual(list({ user: 'bob', n: 5 }), [54242, 4930, 42139, 14723, 55707]);
  assert.equal(port4me({ user: 'carol', env }), 34307);
  assert.equal(a({ exclude: [30845, 32310] }), 19654);
  assert.equal(a({ include: '2000-2123,4321,10000-10999' }), 10451);
  assert.equal(a({ include: ['2000-2123', 4321, '10000-10999'] }), 10451);
  assert.equal(a({ include: '1-1023' }), 470);
  assert.equal(a({ include: '1-1023', exclude: [470, 403] }), 859);
  assert.equal(a({ prepend: '2000-2009', include: '1-1023' }), 2000);
  assert.deepEqual(list({ user: 'alice', prepend: [4321, 11001], n: 5 }), [4321, 11001, 30845, 19654, 32310]);
  assert.equal(a({ skip: 2 }), 32310);
  assert.deepEqual(list({ user: 'alice', n: 3, skip: 2 }), [32310, 63992, 15273]);
  assert.deepEqual(list({ user: 'bob', n: 2, skip: 1, exclude: '54242,14723' }), [42139, 55707]);
});

test('port4meAsync gives the same answers', async () => {
  const env = { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' };
  assert.equal(await port4meAsync({ user: 'alice', tool: 'rstudio', env }), 22486);
  const answers = await Promise.all(Array.from({ length: 32 }, () => port4meAsync({ user: 'alice', env })));
  assert.ok(answers.every((p) => p === 30845));
});

test('parsePorts and unsafePorts', () => {
  assert.deepEqual(parsePorts('5 3-4,5'), [5, 3, 4]);
  assert.deepEqual(parsePorts(' 0, ,80\n443 '), [80, 443]);
  assert.deepEqual(parsePorts('{firefox}'), unsafePorts.firefox);
  assert.ok(unsafePorts.chrome.includes(10080) && unsafePorts.chrome.includes(6000));
  assert.equal(unsafePorts.firefox.length, 58);
  assert.ok(Object.isFrozen(unsafePorts) && Object.isFrozen(unsafePorts.chrome));
});

test('isPortFree on a free and a busy port', async () => {
  const server = await listenTcp('127.0.0.1');
  const { port } = server.address();
  assert.equal(isPortFree(port), false);
  await close(server);
  assert.equal(isPortFree(port), true);
});

test('waitForPort: true once something listens, false on timeout', async () => {
  const server = await listenTcp('127.0.0.1');
  const { port } = server.address();
  await close(server);
  const started = Date.now();
  assert.equal(await waitForPort(port, { timeoutMs: 300, intervalMs: 20 }), false);
  assert.ok(Date.now() - started >= 250, 'waited for the timeout');
  // Start listening a little later; the wait sees it.
  let late;
  setTimeout(async () => {
    late = await listenTcp('127.0.0.1', port);
  }, 150);
  assert.equal(await waitForPort(port, { timeoutMs: 5000, intervalMs: 20 }), true);
  await close(late);
  // An explicit host, and an abort.
  const v4 = await listenTcp('127.0.0.1');
  assert.equal(await waitForPort(v4.address().port, { host: '127.0.0.1' }), true);
  await close(v4);
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stop')), 50);
  await assert.rejects(waitForPort(port, { timeoutMs: 5000, signal: controller.signal }), /stop/);
  void net;
});

test('waitForPort: a signal whose reason getter throws rejects the wait; nothing throws from a timer', () => {
  // The getter used to throw inside the abort listener, called from the
  // timer that aborts: an uncaught exception. Run where one would show.
  const code = `
    const { waitForPort } = require(process.argv[1]);
    const out = [];
    const settle = (name, p) => p.then((v) => out.push(name + ': resolved ' + v), (e) => out.push(name + ': rejected ' + e.message));
    const hostile = () => {
      const c = new AbortController();
      Object.defineProperty(c.signal, 'reason', { get() { throw new Error('reason getter'); } });
      return c;
    };
    const later = hostile();
    settle('later', waitForPort(9, { timeoutMs: 5000, intervalMs: 1000, signal: later.signal }));
    setTimeout(() => later.abort(), 100);
    const before = hostile();
    before.abort();
    settle('before', waitForPort(9, { timeoutMs: 5000, signal: before.signal }));
    setTimeout(() => console.log(JSON.stringify(out.sort())), 600);
  `;
  const r = spawnSync(process.execPath, ['-e', code, packageDir], { encoding: 'utf8', env: cleanEnv(), timeout: 30000 });
  assert.equal(r.status, 0, `the process died: ${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout), ['before: rejected reason getter', 'later: rejected reason getter']);
});

test('waitForPort: a signal that is not an AbortSignal is refused up front; nothing throws from a timer', () => {
  // A plain object with `aborted` used to pass the check; the wait then
  // rejected, and a timer later called signal.removeEventListener, whose
  // TypeError killed the process. Run where an uncaught error would show.
  const code = `
    const { waitForPort } = require(process.argv[1]);
    const out = [];
    const settle = (name, p) => p.then((v) => out.push(name + ': resolved ' + v), (e) => out.push(name + ': rejected ' + (e.code || e.message)));
    settle('fake', waitForPort(9, { timeoutMs: 300, signal: { aborted: false } }));
    settle('null', waitForPort(9, { timeoutMs: 300, signal: null }));
    // A look-alike whose removeEventListener throws: the wait rejects; no timer throws.
    const odd = { aborted: false, addEventListener() {}, removeEventListener() { throw new Error('boom'); } };
    settle('odd', waitForPort(9, { timeoutMs: 150, intervalMs: 20, signal: odd }));
    settle('real', waitForPort(9, { timeoutMs: 150, intervalMs: 20, signal: new AbortController().signal }));
    setTimeout(() => console.log(JSON.stringify(out.sort())), 900);
  `;
  const r = spawnSync(process.execPath, ['-e', code, packageDir], { encoding: 'utf8', env: cleanEnv(), timeout: 30000 });
  assert.equal(r.status, 0, `the process died: ${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout), [
    'fake: rejected ERR_INVALID_ARG_TYPE',
    'null: rejected ERR_INVALID_ARG_TYPE',
    'odd: rejected boom',
    'real: resolved false',
  ]);
});
