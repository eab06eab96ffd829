'use strict';
// The release smoke test of one platform's Node addon, run by that platform's
// own Node (natively, under qemu or under Wine) against a project that
// installed the npm tarballs from dist/:
//
//   node scripts/release/smoke.cjs PROJECT_DIR PLATFORM VECTORS_JSON
//
// It loads `port4me` through the package's real loader, checks that the
// native addon (not the WebAssembly fallback) answered, runs every shared
// conformance vector, probes real listeners, names the holder of a socket,
// and uses the SQLite registry.
// Last line: `smoke: N passed, N failed`; exit status 1 on any failure.
// CommonJS and no dependencies, so any Node from 18 on runs it as it is.

const assert = require('node:assert/strict');
const dgram = require('node:dgram');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');

const [project, platform, vectorsPath] = process.argv.slice(2);
if (!project || !platform || !vectorsPath) {
  console.error('usage: node smoke.cjs PROJECT_DIR PLATFORM VECTORS_JSON');
  process.exit(2);
}

const warnings = [];
process.on('warning', (w) => warnings.push(`${w.code || w.name}: ${w.message}`));

const requireFromProject = createRequire(path.join(path.resolve(project), 'package.json'));
const results = { passed: 0, failed: 0 };

async function check(name, fn) {
  try {
    await fn();
    results.passed++;
    console.log(`ok - ${name}`);
  } catch (err) {
    results.failed++;
    console.log(`not ok - ${name}\n  ${String((err && err.stack) || err).split('\n').join('\n  ')}`);
  }
}

const USER_VARS = ['LOGNAME', 'USER', 'LNAME', 'USERNAME'];

/** Replaces every port4me-relevant variable with `vars`; returns a function that restores them. */
function setEnv(vars) {
  const saved = {};
  for (const key of Object.keys(process.env)) {
    if (key.startsWith('PORT4ME_') || key.startsWith('_PORT4ME_') || USER_VARS.includes(key.toUpperCase())) {
      saved[key] = process.env[key];
      delete process.env[key];
    }
  }
  Object.assign(process.env, vars);
  return () => {
    for (const key of Object.keys(vars)) delete process.env[key];
    Object.assign(process.env, saved);
  };
}

function listen(host) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => resolve(server));
  });
}

async function main() {
  let api;
  await check(`require('port4me') loads the ${platform} addon`, () => {
    api = requireFromProject('port4me');
    const pkgJson = requireFromProject.resolve(`port4me-${platform}/package.json`);
    assert.ok(fs.existsSync(path.join(path.dirname(pkgJson), `port4me.${platform}.node`)), 'the platform package has no addon');
    // Only the native addon can open a registry; the fallback throws ERR_PORT4ME_NATIVE_REQUIRED.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'port4me-smoke-'));
    const registry = new api.Registry(path.join(dir, 'load.sqlite'));
    registry.close();
    assert.deepEqual(warnings, [], 'loading port4me printed warnings');
  });
  if (!api) return;

  await check('the shipped addon has no test hooks (_panicForTest, _bareBindV4: cargo feature test-hooks)', () => {
    const { native, backend } = api._internal;
    assert.equal(backend, 'native');
    const hooks = ['_panicForTest', '_bareBindV4'].filter((name) => name in native);
    assert.deepEqual(hooks, [], `the addon exports ${hooks.join(', ')}: it was built with the cargo feature test-hooks`);
  });

  await check('the anchor: list({ user: "alice", n: 5 })', () => {
    assert.deepEqual(api.list({ user: 'alice', n: 5 }), [30845, 19654, 32310, 63992, 15273]);
  });

  await check('the shared conformance vectors', () => {
    const vectors = JSON.parse(fs.readFileSync(vectorsPath, 'utf8'));
    const cases = vectors.cases.filter((c) => c.layer !== 'core');
    assert.ok(cases.length > 100, `only ${cases.length} cases`);
    const failures = [];
    for (const c of cases) {
      const restore = setEnv({ _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any', ...(c.env || {}) });
      try {
        const options = {};
        if (c.user !== '') options.user = c.user;
        for (const key of ['tool', 'prepend', 'include', 'exclude', 'skip']) if (key in c) options[key] = c[key];
        const listMode = 'list' in c || (c.env !== undefined && (c.env.PORT4ME_LIST ?? '').trim() !== '');
        if ('list' in c) options.n = c.list;
        let outcome;
        try {
          outcome = { value: listMode ? api.list(options) : api.port4me(options) };
        } catch (err) {
          outcome = { error: err };
        }
        const e = c.expect;
        if ('error' in e) {
          if (!outcome.error) failures.push(`${c.id}: expected ${e.error}, got ${JSON.stringify(outcome.value)}`);
          else if (outcome.error.code !== e.error) failures.push(`${c.id}: expected ${e.error}, got ${outcome.error.code}: ${outcome.error.message}`);
          else if (e.mentions && !outcome.error.message.includes(e.mentions)) failures.push(`${c.id}: message does not mention ${e.mentions}`);
        } else if (outcome.error) {
          failures.push(`${c.id}: unexpected ${outcome.error.code}: ${outcome.error.message}`);
        } else if (JSON.stringify(outcome.value) !== JSON.stringify('ports' in e ? e.ports : e.port)) {
          failures.push(`${c.id}: got ${JSON.stringify(outcome.value)}`);
        }
      } finally {
        restore();
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${cases.length} vectors failed`);
    console.log(`  ${cases.length} vectors`);
  });

  for (const host of ['127.0.0.1', '0.0.0.0']) {
    await check(`a TCP listener on ${host} makes its port busy, and port4me() moves on`, async () => {
      const server = await listen(host);
      const port = server.address().port;
      try {
        assert.equal(api.isPortFree(port), false);
        const found = api.port4me({ user: 'smoke', prepend: [port], include: '40000-40999' });
        assert.notEqual(found, port);
        assert.ok(found >= 40000 && found <= 40999, `port4me() gave ${found}`);
      } finally {
        await new Promise((r) => server.close(r));
      }
      assert.equal(api.isPortFree(port), true, 'the port stays busy after the listener closed');
    });
  }

  await check('a UDP socket makes its port busy for udp', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', resolve);
    });
    try {
      assert.equal(api.isPortFree(socket.address().port, { protocol: 'udp' }), false);
    } finally {
      socket.close();
    }
  });

  await check('whoHolds and describeBusy name the UDP socket this process holds', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', resolve);
    });
    const port = socket.address().port;
    try {
      const holders = api.whoHolds(port, { protocol: 'udp' });
      const h = holders.find((x) => x.localAddress === `127.0.0.1:${port}`);
      assert.ok(h && h.state === 'UDP_BOUND', `whoHolds: ${JSON.stringify(holders)}`);
      // Wine may leave the owner unreported; every real system names it.
      if (h.access !== 'unreported') {
        const p = h.processes.find((x) => x.pid === process.pid);
        assert.ok(p && p.startTime > 0 && p.name, `this process (pid ${process.pid}) is not among ${JSON.stringify(h)}`);
      }
      const said = api.describeBusy(port, { protocol: 'udp' });
      const want = h.access === 'unreported' ? 'not reported by the system' : `pid ${process.pid}`;
      assert.ok(said && said.startsWith(`${port}/udp is in use by`) && said.includes(want), `describeBusy: ${said}`);
    } finally {
      socket.close();
    }
  });

  await check('the SQLite registry: module ranges and reserved ports', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'port4me-smoke-'));
    const db = path.join(dir, 'ports.sqlite');
    const registry = new api.Registry(db);
    try {
      const a = registry.modules.allocate(3, 'smoke-a');
      const b = registry.modules.allocate(2, 'smoke-b');
      assert.equal(a.end - a.start, 2);
      assert.ok(b.start > a.end, `ranges overlap: ${JSON.stringify([a, b])}`);
      assert.deepEqual(registry.modules.release('smoke-a'), [a]);
    } finally {
      registry.close();
    }
    const restore = setEnv({ PORT4ME_DB: db, PORT4ME_USER: 'smoke' });
    try {
      const first = api.port4me({ tool: 'reserve', reserve: true });
      const second = api.port4me({ tool: 'reserve', reserve: true });
      assert.notEqual(first, second, 'two reservations got the same port');
    } finally {
      restore();
    }
  });

  await check('port4meAsync and waitForPort', async () => {
    const server = await listen('127.0.0.1');
    const port = server.address().port;
    try {
      assert.equal(await api.waitForPort(port, { host: '127.0.0.1', timeoutMs: 5000 }), true);
      const found = await api.port4meAsync({ user: 'smoke', prepend: [port], include: '41000-41999' });
      assert.ok(found !== port && found >= 41000 && found <= 41999, `port4meAsync() gave ${found}`);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  await check('no warnings were printed', () => assert.deepEqual(warnings, []));
}

main().then(
  () => {
    console.log(`smoke (${platform}, node ${process.version} ${process.platform}-${process.arch}): ${results.passed} passed, ${results.failed} failed`);
    process.exitCode = results.failed === 0 && results.passed > 0 ? 0 : 1;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
