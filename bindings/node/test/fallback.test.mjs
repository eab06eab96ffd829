// The WebAssembly fallback (npm/port4me/fallback.cjs), used where no native
// addon loads: how the loader picks it and warns, that it answers and fails
// exactly as the addon does, what needs the addon, and its probing with
// Node's sockets. Child processes choose their backend with
// PORT4ME_NATIVE_ADDON; the in-process tests at the end run in the
// PORT4ME_NATIVE_ADDON=none pass of scripts/test-node.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { isPortFree, list, port4me, port4meAsync, Registry, whoHolds, status, plan, describeBusy } from 'port4me';
import { assertBackendSurvivesWrongTypes, assertRejectsCode, assertThrowsCode, bindUdp, cleanEnv, close, hasIpv6, listenTcp, onFallback, packageDir, repoRoot, setPort4meEnv } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { platformTriple } = require(path.join(packageDir, 'binding.cjs'));
const triple = platformTriple();
const addonFile = path.join(repoRoot, 'npm', `port4me-${triple}`, `port4me.${triple}.node`);
const hasAddon = existsSync(addonFile);

/**
 * Runs `code` (CommonJS) in a fresh Node, in an environment without port4me
 * variables (PORT4ME_NATIVE_ADDON included) plus `env`.
 */
function node(code, env = {}, options = {}) {
  const childEnv = cleanEnv();
  delete childEnv.PORT4ME_NATIVE_ADDON; // the test says which backend
  Object.assign(childEnv, env);
  return spawnSync(process.execPath, ['-e', code, ...(options.args ?? [])], {
    cwd: options.cwd ?? packageDir,
    encoding: 'utf8',
    env: childEnv,
    timeout: 60000,
  });
}

// A child that loads port4me (CommonJS and ESM, and in a worker thread),
// uses it, and reports the backend and every warning it saw.
const WARNINGS_PROBE = `
  const warnings = [];
  process.on('warning', (w) => warnings.push({ code: w.code, message: w.message }));
  const { Worker } = require('node:worker_threads');
  const api = require(process.argv[1]);
  const ports = api.list({ user: 'alice', n: 3 });
  const found = api.port4me({ user: 'alice', env: { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } });
  import(require('node:url').pathToFileURL(require('node:path').join(process.argv[1], 'index.mjs')).href).then(async (esm) => {
    const w = new Worker("require('node:worker_threads').parentPort.postMessage(require(" + JSON.stringify(process.argv[1]) + ").list({ user: 'bob', n: 1 })[0])", { eval: true });
    const fromWorker = await new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); });
    await w.terminate();
    const asyncPort = await api.port4meAsync({ user: 'alice', env: { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } });
    setImmediate(() => console.log(JSON.stringify({ backend: api._internal.backend, same: esm.list === api.list, ports, found, asyncPort, fromWorker, warnings })));
  });
`;

function loadReport(env, cwd = packageDir, pkg = packageDir) {
  const r = node(WARNINGS_PROBE, env, { cwd, args: [pkg] });
  assert.equal(r.status, 0, r.stderr);
  return { ...JSON.parse(r.stdout), stderr: r.stderr };
}

/** The files `npm pack` would publish (without running the package's scripts), listed once. */
let packed;
function packedFiles() {
  if (!packed) {
    const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageDir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    packed = JSON.parse(r.stdout)[0].files.map((f) => f.path);
  }
  return packed;
}

/**
 * A temporary project with the package installed as npm would install it
 * (only its `files`) in node_modules/port4me, and no platform package; then
 * `edit(pkg, dir)`. Returns { dir, pkg } and removes it all after `fn`.
 */
function withInstall(edit, fn) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'port4me-loader-'));
  try {
    const pkg = path.join(dir, 'node_modules', 'port4me');
    for (const f of packedFiles()) cpSync(path.join(packageDir, f), path.join(pkg, f), { recursive: true });
    edit?.(pkg, dir);
    return fn({ dir, pkg });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Installs a platform package for this platform next to `pkg`, holding a copy of `copy` or a file with `contents`. */
function installPlatformPackage(pkg, { copy, contents, version = '0.1.0' }) {
  const dir = path.join(pkg, '..', `port4me-${triple}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `port4me-${triple}`, version, main: `port4me.${triple}.node` }));
  const file = path.join(dir, `port4me.${triple}.node`);
  if (copy) cpSync(copy, file);
  else writeFileSync(file, contents);
  return file;
}

/** Sets the version of the installed package `pkg`: in its package.json and in binding.cjs, as scripts/packages.mjs does. */
function setVersion(pkg, version) {
  const file = path.join(pkg, 'package.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), version }, null, 2));
  const binding = path.join(pkg, 'binding.cjs');
  writeFileSync(binding, readFileSync(binding, 'utf8').replace(/^const VERSION = '[^']*';$/m, `const VERSION = '${version}';`));
}

// A child that loads port4me and reports what it threw.
const LOAD_ERROR = `
  try {
    require(process.argv[1]);
    console.log(JSON.stringify({ loaded: true }));
  } catch (err) {
    console.log(JSON.stringify({ code: err.code, message: err.message }));
  }
`;

function loadError(env, pkg = packageDir) {
  const r = node(LOAD_ERROR, env, { args: [pkg] });
  assert.equal(r.status, 0, r.stderr);
  return { ...JSON.parse(r.stdout), stderr: r.stderr };
}

test('loader: PORT4ME_NATIVE_ADDON naming a file that is missing or not an addon is an error, not the fallback', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'port4me-broken-'));
  try {
    const missing = path.join(dir, `port4me.${triple}.node`);
    let r = loadError({ PORT4ME_NATIVE_ADDON: missing });
    assert.equal(r.code, 'ERR_PORT4ME_NATIVE_MISSING', r.message);
    assert.ok(r.message.includes(`PORT4ME_NATIVE_ADDON=${missing}`) && r.message.includes('does not exist'), r.message);

    const broken = missing;
    writeFileSync(broken, 'this is not a shared library\n');
    r = loadError({ PORT4ME_NATIVE_ADDON: broken });
    assert.equal(r.code, 'ERR_DLOPEN_FAILED', `the loader's own code: ${r.message}`);
    assert.ok(r.message.includes(`PORT4ME_NATIVE_ADDON=${broken}`), r.message);
    assert.match(r.message, /could not be loaded/);
    // A relative path is named as given and as resolved.
    r = loadError({ PORT4ME_NATIVE_ADDON: path.relative(packageDir, broken) });
    assert.equal(r.code, 'ERR_DLOPEN_FAILED', r.message);
    assert.ok(r.message.includes(path.relative(packageDir, broken)) && r.message.includes(broken), r.message);
    assert.doesNotMatch(r.stderr, /PORT4ME_NATIVE_FALLBACK/, 'no fallback, so no warning');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loader: a platform package whose addon does not load falls back, with exactly one warning', () => {
  let file;
  const r = withInstall(
    (pkg) => {
      file = installPlatformPackage(pkg, { contents: 'this is not a shared library\n' });
    },
    ({ dir, pkg }) => loadReport({}, dir, pkg),
  );
  assert.equal(r.backend, 'wasm');
  assert.deepEqual([r.ports, r.found, r.asyncPort, r.fromWorker], [[30845, 19654, 32310], 30845, 30845, 54242]);
  assert.equal(r.same, true, 'ESM and CommonJS share one instance');
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  const [w] = r.warnings;
  assert.equal(w.code, 'PORT4ME_NATIVE_FALLBACK');
  assert.match(w.message, /WebAssembly fallback/);
  assert.ok(w.message.includes(triple), w.message);
  assert.ok(w.message.includes(file), `the warning names the file that failed: ${w.message}`);
  // Two lines: what happened, and the one command that fixes it.
  assert.equal(w.message.split('\n').length, 2, w.message);
  assert.equal(w.message.split('\n')[1], `Fix: npm install port4me-${triple}`);
  assert.equal(r.stderr.match(/PORT4ME_NATIVE_FALLBACK/g)?.length, 1, r.stderr);
});

test('loader: an addon of another version is an error naming both versions (explicit), or falls back saying so (platform package)', { skip: !hasAddon && `no addon at ${addonFile}` }, () => {
  // The real addon (0.1.0 or whatever was built) in a package that says 9.8.7.
  const built = require(addonFile).nativeVersion();
  withInstall(
    (pkg) => setVersion(pkg, '9.8.7'),
    ({ pkg }) => {
      const r = loadError({ PORT4ME_NATIVE_ADDON: addonFile }, pkg);
      assert.equal(r.code, 'ERR_PORT4ME_NATIVE_MISSING', r.message);
      for (const m of [`PORT4ME_NATIVE_ADDON=${addonFile}`, `version ${built}`, 'version 9.8.7']) assert.ok(r.message.includes(m), `${m} in: ${r.message}`);
    },
  );
  withInstall(
    (pkg) => {
      setVersion(pkg, '9.8.7');
      installPlatformPackage(pkg, { copy: addonFile, version: '9.8.7' });
    },
    ({ dir, pkg }) => {
      const r = loadReport({}, dir, pkg);
      assert.equal(r.backend, 'wasm');
      assert.deepEqual(r.ports, [30845, 19654, 32310]);
      assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
      assert.ok(r.warnings[0].message.includes(`version ${built}`) && r.warnings[0].message.includes('version 9.8.7'), r.warnings[0].message);
    },
  );
  // The same addon at the package's own version loads.
  withInstall(
    (pkg) => {
      setVersion(pkg, built);
      installPlatformPackage(pkg, { copy: addonFile, version: built });
    },
    ({ dir, pkg }) => {
      const r = loadReport({}, dir, pkg);
      assert.equal(r.backend, 'native');
      assert.deepEqual(r.warnings, []);
    },
  );
});

test('loader: when the fallback cannot load either, the error says so in one sentence each', () => {
  withInstall(
    (pkg) => rmSync(path.join(pkg, 'wasm', 'port4me_node.cjs')),
    ({ pkg }) => {
      let r = loadError({ PORT4ME_NATIVE_ADDON: 'none' }, pkg);
      assert.equal(r.code, 'ERR_PORT4ME_NATIVE_MISSING', r.message);
      assert.doesNotMatch(r.message, / {2}| :/, 'no doubled or stray spaces');
      const lines = r.message.split('\n');
      assert.equal(lines[0], 'port4me: PORT4ME_NATIVE_ADDON=none selects the WebAssembly fallback.');
      assert.match(lines[1], /^The WebAssembly fallback could not be loaded: \S/);
      assert.ok(lines[1].includes('port4me_node.cjs'), lines[1]);
      // No platform package either: both causes.
      r = loadError({}, pkg);
      assert.equal(r.code, 'ERR_PORT4ME_NATIVE_MISSING', r.message);
      assert.match(r.message, /not installed/);
      assert.match(r.message, /\nThe WebAssembly fallback could not be loaded either: \S/);
      assert.doesNotMatch(r.message, / {2}| :/, 'no doubled or stray spaces');
    },
  );
});

test('loader: a missing platform package falls back; the warning names the package to install', () => {
  const r = withInstall(null, ({ dir, pkg }) => loadReport({}, dir, pkg));
  assert.equal(r.backend, 'wasm');
  assert.deepEqual(r.ports, [30845, 19654, 32310]);
  assert.equal(r.warnings.length, 1, JSON.stringify(r.warnings));
  assert.ok(r.warnings[0].message.includes(`npm install port4me-${triple}`), r.warnings[0].message);
  assert.match(r.warnings[0].message, /not installed/);
});

test('loader: PORT4ME_NATIVE_ADDON=none selects the fallback silently', () => {
  const r = loadReport({ PORT4ME_NATIVE_ADDON: 'none' });
  assert.equal(r.backend, 'wasm');
  assert.deepEqual(r.warnings, []);
  assert.equal(r.stderr, '');
});

test('loader: PORT4ME_NATIVE_ADDON=/path/to/file.node loads that addon', { skip: !hasAddon && `no addon at ${addonFile}` }, () => {
  const r = loadReport({ PORT4ME_NATIVE_ADDON: addonFile });
  assert.equal(r.backend, 'native');
  assert.deepEqual(r.warnings, []);
  assert.deepEqual(r.ports, [30845, 19654, 32310]);
});

test('an unknown platform (simulated linux-riscv64): the fallback works and says no prebuilt addon exists', () => {
  // process.arch patched before port4me loads: the loader looks for
  // port4me-<platform>-riscv64..., which does not exist.
  const r = node(
    `Object.defineProperty(process, 'arch', { value: 'riscv64' });
     const warnings = [];
     process.on('warning', (w) => warnings.push(w.message));
     const api = require(process.argv[1]);
     let err;
     try { api.whoHolds(80); } catch (e) { err = e; }
     setImmediate(() => console.log(JSON.stringify({ backend: api._internal.backend, ports: api.list({ user: 'alice', n: 2 }), code: err.code, message: err.message, warnings })));`,
    {},
    { args: [packageDir] },
  );
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const fake = triple.replace(/^(\w+)-\w+/, '$1-riscv64');
  assert.equal(out.backend, 'wasm');
  assert.deepEqual(out.ports, [30845, 19654]);
  assert.equal(out.code, 'ERR_PORT4ME_NATIVE_REQUIRED');
  assert.ok(out.message.includes('whoHolds()') && out.message.includes(fake), out.message);
  assert.match(out.message, /No prebuilt addon exists/);
  assert.equal(out.warnings.length, 1);
  assert.ok(out.warnings[0].includes(fake), out.warnings[0]);
});

test('the sync API does not keep the process alive (the probe worker is unref\'d)', () => {
  const started = Date.now();
  const r = node(`const api = require(process.argv[1]); console.log(api.port4me({ user: 'alice' }) > 0, api.isPortFree(1));`, { PORT4ME_NATIVE_ADDON: 'none' }, { args: [packageDir] });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout.trim(), /^true (true|false)$/);
  assert.ok(Date.now() - started < 20000, 'the process ended by itself');
});

// ---------------------------------------------------------------------------
// Failures of the probe worker and of the WebAssembly instance

// A child on the fallback whose probe workers fail on purpose (`mode`, see
// probe-worker.cjs), timing each synchronous call; then the same calls
// with working workers again.
const WORKER_FAILURE = `
  const api = require(process.argv[1]);
  const { native } = api._internal;
  const [mode, answerMs] = [process.argv[2], Number(process.argv[3])];
  const timed = (fn) => {
    const started = Date.now();
    try {
      return { value: fn(), ms: Date.now() - started };
    } catch (err) {
      return { code: err.code, message: err.message, ms: Date.now() - started };
    }
  };
  native._probeWorkerForTest({ fail: mode, answerMs });
  const failed = [
    timed(() => api.port4me({ user: 'alice' })),
    timed(() => api.isPortFree(40000, { host: '127.0.0.1' })),
  ];
  native._probeWorkerForTest(null);
  const recovered = [timed(() => api.port4me({ user: 'alice', include: '40000-40100' }) > 0), timed(() => typeof api.isPortFree(40000))];
  console.log(JSON.stringify({ failed, recovered }));
`;

test('a probe worker that fails makes the synchronous calls fail at once, with its reason', () => {
  const expected = {
    load: /could not start the probe worker thread .*could not load: Error: deliberate failure while loading \(test hook\)/,
    throw: /the probe worker thread failed while probing .*uncaught exception: Error: deliberate uncaught exception \(test hook\)/,
    exit: /the probe worker thread failed while probing .*the thread exited \(exit code 3\)/,
  };
  for (const [mode, pattern] of Object.entries(expected)) {
    // The answer timeout stays at its 30 s: the failure must not wait for it.
    const r = node(WORKER_FAILURE, { PORT4ME_NATIVE_ADDON: 'none' }, { args: [packageDir, mode, '30000'] });
    assert.equal(r.status, 0, r.stderr);
    const { failed, recovered } = JSON.parse(r.stdout);
    for (const f of failed) {
      assert.equal(f.code, 'ERR_PORT4ME_PROBE', `${mode}: ${JSON.stringify(f)}`);
      assert.match(f.message, pattern, mode);
      assert.ok(f.ms < 10000, `${mode}: failed after ${f.ms} ms (the worker's report, not a timeout)`);
    }
    if (mode !== 'load') {
      assert.match(failed[0].message, /while probing tcp ports 30845, 19654, .* on every local address: /, mode);
      assert.match(failed[1].message, /while probing tcp port 40000 on 127\.0\.0\.1: /, mode);
    }
    assert.deepEqual(recovered.map((x) => x.value), [true, 'boolean'], `${mode}: a new worker after the failure: ${JSON.stringify(recovered)}`);
  }
});

test('a probe worker that stops answering: the timeout names what was being probed', () => {
  const r = node(WORKER_FAILURE, { PORT4ME_NATIVE_ADDON: 'none' }, { args: [packageDir, 'hang', '300'] });
  assert.equal(r.status, 0, r.stderr);
  const { failed, recovered } = JSON.parse(r.stdout);
  assert.equal(failed[0].code, 'ERR_PORT4ME_PROBE');
  assert.match(failed[0].message, /^the probe worker thread did not answer within 0\.3 s while probing tcp ports 30845, 19654, .* on every local address$/);
  assert.equal(failed[1].message, 'the probe worker thread did not answer within 0.3 s while probing tcp port 40000 on 127.0.0.1');
  assert.deepEqual(recovered.map((x) => x.value), [true, 'boolean']);
});

// A child on the fallback where a search's next() traps inside the
// WebAssembly instance: the real next(), asked for 2^32 - 1 candidates at
// once (maxTries allows that many), panics with "capacity overflow" while
// the search is borrowed. The batch size is forced on every instance the
// fallback loads (a trap replaces the instance).
const TRAP_IN_SEARCH = `
  const path = require('node:path');
  const moduleFile = path.join(process.argv[1], 'wasm', 'port4me_node.cjs');
  const patch = () => {
    const { NodeSearch } = require(moduleFile);
    const next = NodeSearch.prototype.next;
    if (!next.patched) {
      NodeSearch.prototype.next = function () { return next.call(this, 2 ** 32 - 1); };
      NodeSearch.prototype.next.patched = true;
    }
  };
  patch();
  const api = require(process.argv[1]);
  const out = [];
  const report = (err) => out.push({ code: err.code, message: err.message });
  try { api.port4me({ user: 'alice', maxTries: 2 ** 32 - 1 }); out.push('no error'); } catch (err) { report(err); }
  patch();
  api.port4meAsync({ user: 'alice', maxTries: 2 ** 32 - 1 }).then(() => out.push('no error'), report).then(() => {
    out.push(api.list({ user: 'alice', n: 2 }));
    console.log(JSON.stringify(out));
  });
`;

test('a trap inside a search surfaces as ERR_PORT4ME_INTERNAL (freeing the search cannot mask it)', () => {
  const r = node(TRAP_IN_SEARCH, { PORT4ME_NATIVE_ADDON: 'none' }, { args: [packageDir] });
  assert.equal(r.status, 0, r.stderr);
  const [sync, async, after] = JSON.parse(r.stdout);
  for (const [how, e] of [['port4me()', sync], ['port4meAsync()', async]]) {
    assert.equal(e.code, 'ERR_PORT4ME_INTERNAL', `${how}: ${JSON.stringify(e)}`);
    assert.match(e.message, /WebAssembly module \(a Rust panic or trap/, how);
  }
  assert.deepEqual(after, [30845, 19654], 'a fresh instance afterwards');
});

// ---------------------------------------------------------------------------
// The addon's answers and errors, word for word

// Expressions over `api` (the package) and `busy` (a port a listener holds).
// The command line's seed and --test are compared in cli.test.mjs, whole
// outputs of the fallback against the native binary's.
const CORPUS = [
  "api.list({ user: 'alice', n: 5 })",
  "api.list({ n: 3, env: { PORT4ME_USER: 'alice', PORT4ME_EXCLUDE_SITE: '30845', PORT4ME_PREPEND_SITE: '4321' } })",
  "api.list({ env: { USER: 'bob', PORT4ME_LIST: '2', PORT4ME_SKIP: '1' } })",
  "api.list({ user: 'carol', include: '1-1023', n: 12, env: { PORT4ME_EXCLUDE_UNSAFE: '' } })",
  "api.list({ user: 'carol', include: '1-1023', n: 12, env: { PORT4ME_EXCLUDE_UNSAFE_CHROME: '1-500' } })",
  "api.list({ user: 'alice', n: 70 })",
  "api.port4me({ user: 'alice', tool: 'rstudio', env: { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } })",
  "api.port4me({ prepend: [busy], env: { PORT4ME_USER: 'alice', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } })",
  "api.isPortFree(busy)",
  "api.isPortFree(busy, { host: '127.0.0.1' })",
  "api.parsePorts('5 3-4,5 {chrome}')",
  "api.unsafePorts",
  // errors
  "api.port4me({ skip: NaN })",
  "api.port4me({ skip: -1 })",
  "api.port4me({ skip: 1.5 })",
  "api.port4me({ skip: Infinity })",
  "api.port4me({ skip: 2 ** 53 })",
  "api.port4me({ maxTries: 0 })",
  "api.port4me({ maxTries: 2 ** 40 })",
  "api.port4me({ exclude: [70000] })",
  "api.port4me({ include: [0] })",
  "api.port4me({ prepend: [-1] })",
  "api.port4me({ exclude: [80.5] })",
  "api.port4me({ exclude: [NaN] })",
  "api.port4me({ exclude: ['1000-1010', 70000] })",
  "api.port4me({ exclude: '80,foo' })",
  "api.port4me({ include: '5-3' })",
  "api.port4me({ include: '65536' })",
  "api.port4me({ exclude: '{edge}' })",
  "api.port4me({ user: 'a', include: '2000', exclude: '2000' })",
  "api.port4me({ user: 'a', prepend: [4321], include: '2000', exclude: '2000', env: { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' }, skip: 1 })",
  "api.port4me({ env: { PORT4ME_USER: '', PORT4ME_TOOL: '' } , user: '' })",
  "api.list({ n: 0 })",
  "api.list({ n: 1e9 })",
  "api.list({ n: 2 ** 64 })",
  "api.list({ n: -5 })",
  "api.list({ n: NaN })",
  "api.port4me({ env: { PORT4ME_USER: 'a', PORT4ME_SKIP: 'foo' } })",
  "api.port4me({ env: { PORT4ME_USER: 'a', PORT4ME_SKIP: '-1' } })",
  "api.list({ env: { PORT4ME_USER: 'a', PORT4ME_LIST: '-1' } })",
  "api.list({ env: { PORT4ME_USER: 'a', PORT4ME_LIST: '99999999' } })",
  "api.port4me({ env: { PORT4ME_USER: 'a', PORT4ME_EXCLUDE: '1,x' } })",
  "api.port4me({ env: { PORT4ME_USER: 'a', PORT4ME_INCLUDE_SITE: '9-1' } })",
  "api.port4me({ env: { PORT4ME_USER: 'a', PORT4ME_PREPEND_SITE: '70000' } })",
  "api.port4me({ env: { PORT4ME_USER: 'a', PORT4ME_EXCLUDE_UNSAFE: '{edge}' } })",
  "api.port4me({ env: { PORT4ME_USER: 'a', PORT4ME_EXCLUDE_UNSAFE_CHROME: '{firefox}' } })",
  "api.port4me({ env: { PORT4ME_USER: 'a', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'yes' } })",
  "api.port4me({ protocol: 'sctp' })",
  "api.port4me({ host: 'not-an-ip' })",
  "api.port4me({ reserve: -1 })",
  "api.port4me({ reserve: NaN })",
  "api.port4me({ env: { PORT4ME_USER: 'alice' }, prepend: [busy], maxTries: 1 })",
  "api.port4me({ env: { PORT4ME_USER: 'alice' }, prepend: [busy, busy + 0], include: String(busy), maxTries: 3 })",
  "api.port4meAsync({ env: { PORT4ME_USER: 'alice' }, prepend: [busy], maxTries: 1 })",
  "api.port4meAsync({ exclude: 'foo' })",
  "api.port4meAsync({ skip: -1 })",
  "api.isPortFree(0)",
  "api.isPortFree(70000)",
  "api.isPortFree(NaN)",
  "api.isPortFree(40000, { host: '192.0.2.1' })",
  "api.isPortFree(40000, { protocol: 'sctp' })",
  "api.port4me({ env: { PORT4ME_USER: 'alice' }, host: '192.0.2.1', maxTries: 2 })",
  "api.parsePorts('1-2-3')",
  "api.parsePorts('0-5')",
];

const CORPUS_RUNNER = `
  const net = require('node:net');
  const api = require(process.argv[1]);
  const corpus = JSON.parse(process.argv[2]);
  const server = net.createServer().listen(0, '127.0.0.1', async () => {
    const busy = server.address().port;
    const out = [];
    for (const expr of corpus) {
      try {
        const value = await new Function('api', 'busy', 'return (' + expr + ')')(api, busy);
        out.push({ value: typeof value === 'number' && value === busy ? 'busy' : value });
      } catch (err) {
        out.push({ code: err.code, message: String(err.message).split(String(busy)).join('<busy>') });
      }
    }
    server.close();
    console.log(JSON.stringify(out));
  });
`;

function runCorpus(env) {
  const r = node(CORPUS_RUNNER, env, { args: [packageDir, JSON.stringify(CORPUS)] });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('the fallback answers and fails exactly as the addon does', { skip: !hasAddon && `no addon at ${addonFile}` }, () => {
  const native = runCorpus({ PORT4ME_NATIVE_ADDON: addonFile, PORT4ME_USER: 'corpus-user' });
  const wasm = runCorpus({ PORT4ME_NATIVE_ADDON: 'none', PORT4ME_USER: 'corpus-user' });
  assert.equal(native.length, CORPUS.length);
  const differences = [];
  let errors = 0;
  CORPUS.forEach((expr, i) => {
    let [a, b] = [native[i], wasm[i]];
    if (a.code) errors++;
    if (a.code === 'ERR_PORT4ME_PROBE' && b.code === 'ERR_PORT4ME_PROBE') {
      // The OS's words for the failure come from different APIs (Rust's
      // io::Error, libuv); the sentence before them must match.
      const head = (e) => ({ code: e.code, message: e.message.replace(/(on [^:]+|192\.0\.2\.1): .*$/, '$1') });
      [a, b] = [head(a), head(b)];
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push(`${expr}\n  addon: ${JSON.stringify(a)}\n  wasm:  ${JSON.stringify(b)}`);
  });
  assert.ok(errors >= 40, `only ${errors} error cases: the corpus lost its errors`);
  assert.deepEqual(differences, [], `${differences.length} differences:\n${differences.join('\n')}`);
});

// ---------------------------------------------------------------------------
// In the PORT4ME_NATIVE_ADDON=none pass: the fallback itself

const fallbackOnly = !onFallback && 'runs in the PORT4ME_NATIVE_ADDON=none pass (scripts/test-node.sh)';

test('what needs the addon throws ERR_PORT4ME_NATIVE_REQUIRED naming the platform', { skip: fallbackOnly }, async () => {
  const calls = [
    ['new Registry()', () => new Registry()],
    ['whoHolds()', () => whoHolds(80)],
    ['status()', () => status(80)],
    ['status()', () => status([80, 443])],
    ['plan()', () => plan({ web: 5173 })],
    ['describeBusy()', () => describeBusy(80)],
    ['reserve', () => port4me({ tool: 'x', reserve: true })],
    ['reserve', () => port4me({ tool: 'x', reserve: 30 })],
  ];
  for (const [what, fn] of calls) {
    const err = assertThrowsCode(fn, 'ERR_PORT4ME_NATIVE_REQUIRED', what, triple, 'PORT4ME_NATIVE_ADDON');
    assert.ok(!err.message.includes('\n'), err.message);
  }
  await assertRejectsCode(port4meAsync({ tool: 'x', reserve: true }), 'ERR_PORT4ME_NATIVE_REQUIRED', 'reserve', triple);
  // reserve: false asks for no lease: nothing needs the addon.
  assert.equal(port4me({ user: 'alice', reserve: false, env: { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } }), 30845);
  // Argument types are still checked first.
  assertThrowsCode(() => whoHolds('80'), 'ERR_INVALID_ARG_TYPE');
});

test('the fallback itself survives wrong types and panics (no JS layer in front)', { skip: fallbackOnly }, () => {
  const { native } = require('port4me')._internal;
  assertBackendSurvivesWrongTypes(native, { notInternal: true });
  assertThrowsCode(() => native.find({ skip: 'x' }), 'ERR_INVALID_ARG_TYPE', 'options.skip');
  assertThrowsCode(() => native.isPortFree(-5), 'ERR_PORT4ME_INVALID_PORT', '-5');
  // A panic traps the WebAssembly instance: an error, and the next call gets a fresh one.
  for (let i = 0; i < 3; i++) {
    assertThrowsCode(() => native._panicForTest(), 'ERR_PORT4ME_INTERNAL', 'WebAssembly');
    assert.deepEqual(list({ user: 'alice', n: 2 }), [30845, 19654]);
  }
});

test('sync port4me() skips a port a real listener holds on 127.0.0.1, ::1, 0.0.0.0 and ::', { skip: fallbackOnly }, async (t) => {
  const restore = setPort4meEnv({ PORT4ME_USER: 'fallback-probe' });
  try {
    for (const host of ['127.0.0.1', '::1', '0.0.0.0', '::']) {
      if (host.includes(':') && !(await hasIpv6())) {
        t.diagnostic(`no IPv6: ${host} skipped`);
        continue;
      }
      const server = await listenTcp(host);
      const { port } = server.address();
      try {
        const next = list({ tool: 'fallback', n: 20 }).find((p) => p !== port && isPortFree(p));
        assert.equal(isPortFree(port), false, `listener on ${host}`);
        assert.equal(port4me({ tool: 'fallback', prepend: [port, next] }), next, `listener on ${host}`);
        assert.equal(await port4meAsync({ tool: 'fallback', prepend: [port, next] }), next, `listener on ${host} (async)`);
        // The testing hook: no probe at all.
        assert.equal(port4me({ prepend: [port], env: { PORT4ME_USER: 'x', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } }), port);
      } finally {
        await close(server);
      }
      assert.equal(isPortFree(port), true, `free again after closing the listener on ${host}`);
    }
  } finally {
    restore();
  }
});

test('sync probing hands the worker batches of candidates', { skip: fallbackOnly }, async () => {
  const { native } = require('port4me')._internal;
  const servers = [];
  try {
    for (let i = 0; i < 20; i++) servers.push(await listenTcp('127.0.0.1'));
    const busy = servers.map((s) => s.address().port);
    const free = list({ user: 'batch', n: 30 }).find((p) => !busy.includes(p) && isPortFree(p));
    const before = native.stats.roundTrips;
    assert.equal(port4me({ user: 'batch', prepend: [...busy, free] }), free);
    const trips = native.stats.roundTrips - before;
    assert.ok(trips >= 1 && trips <= 2, `21 candidates took ${trips} round trips to the probe worker`);
    assertThrowsCode(() => port4me({ user: 'batch', prepend: busy, include: String(busy[0]), maxTries: 20 }), 'ERR_PORT4ME_NO_FREE_PORT', '20 attempts', String(busy[0]));
  } finally {
    await Promise.all(servers.map(close));
  }
});

test('probe.cjs: the dual-stack probe and the four-address probe (macOS, Windows) both see every listener', async (t) => {
  const probe = require(path.join(packageDir, 'probe.cjs'));
  const tcp = { host: null, protocol: 'tcp' };
  const udp = { host: null, protocol: 'udp' };
  for (const host of ['127.0.0.1', '::1', '0.0.0.0', '::']) {
    if (host.includes(':') && !(await hasIpv6())) {
      t.diagnostic(`no IPv6: ${host} skipped`);
      continue;
    }
    const server = await listenTcp(host);
    const socket = await bindUdp(host);
    const [tcpPort, udpPort] = [server.address().port, socket.address().port];
    try {
      for (const eachAddress of [false, true]) {
        const how = `${eachAddress ? 'four-address' : 'dual-stack'} probe, listener on ${host}`;
        assert.equal(await probe.isFree(tcpPort, tcp, eachAddress), false, `TCP, ${how}`);
        assert.equal(await probe.isFree(udpPort, udp, eachAddress), false, `UDP, ${how}`);
      }
    } finally {
      await close(server);
      await close(socket);
    }
    for (const eachAddress of [false, true]) {
      assert.equal(await probe.isFree(tcpPort, tcp, eachAddress), true, `TCP ${tcpPort} free again (${host})`);
      assert.equal(await probe.isFree(udpPort, udp, eachAddress), true, `UDP ${udpPort} free again (${host})`);
    }
  }
  // A host that is not an address of this machine: an error, not "busy".
  const r = await probe.firstFree([40000], { host: '192.0.2.1', protocol: 'tcp' });
  assert.deepEqual([r.index, r.error.host], [0, '192.0.2.1']);
});

test('UDP probes and the host option', { skip: fallbackOnly }, async () => {
  const socket = await bindUdp('127.0.0.1');
  const { port } = socket.address();
  try {
    assert.equal(isPortFree(port, { protocol: 'udp' }), false);
    assert.equal(isPortFree(port, { protocol: 'udp', host: '127.0.0.1' }), false);
    const next = list({ user: 'udp', n: 20 }).find((p) => p !== port && isPortFree(p, { protocol: 'udp' }));
    assert.equal(port4me({ user: 'udp', protocol: 'udp', prepend: [port, next] }), next);
  } finally {
    await close(socket);
  }
  assert.equal(isPortFree(port, { protocol: 'udp' }), true);
  const server = await listenTcp('127.0.0.1');
  try {
    assert.equal(isPortFree(server.address().port, { host: '127.0.0.1' }), false);
    assertThrowsCode(() => isPortFree(40000, { host: '192.0.2.1' }), 'ERR_PORT4ME_PROBE', '192.0.2.1', 'could not probe tcp port 40000');
  } finally {
    await close(server);
  }
});
