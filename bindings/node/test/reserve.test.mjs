// port4me({ reserve }): the port found is leased in the registry, so that
// callers at the same instant (8 processes here) get different ports, and
// the lease ends with its owner process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import { Registry, list, port4me, port4meAsync, status } from 'port4me';
import { assertRejectsCode, assertThrowsCode, cleanEnv, packageDir, setPort4meEnv } from './helpers.mjs';

const PROCESSES = 8;

let dir;
let restoreEnv;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'port4me-reserve-'));
  restoreEnv = setPort4meEnv({});
});
after(() => {
  restoreEnv();
  rmSync(dir, { recursive: true, force: true });
});

// A child that loads port4me, says "ready", waits for "go", reserves a port,
// prints it, and stays alive (holding its lease) until its stdin closes.
const child = `
  const { port4me } = require(${JSON.stringify(packageDir)});
  const rl = require('node:readline').createInterface({ input: process.stdin });
  process.stdout.write('ready\\n');
  rl.once('line', () => {
    let out;
    try {
      out = { port: port4me({ tool: 'vite', reserve: true }) };
    } catch (err) {
      out = { code: err.code, message: err.message };
    }
    process.stdout.write(JSON.stringify(out) + '\\n');
    rl.once('close', () => process.exit(0));
  });
`;

function startChild(env) {
  const proc = spawn(process.execPath, ['-e', child], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: proc.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (l) => (waiters.length ? waiters.shift()(l) : queue.push(l)));
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  return { proc, next, exited };
}

test(`${PROCESSES} processes reserving at the same instant get ${PROCESSES} distinct ports`, async () => {
  const db = path.join(dir, 'race.sqlite');
  const user = `reserve-race-${process.pid}`;
  // Assume every port free: without the registry all of them would get the
  // first candidate, so the registry alone keeps them apart.
  const vars = { PORT4ME_DB: db, PORT4ME_USER: user, _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' };
  const children = Array.from({ length: PROCESSES }, () => startChild(cleanEnv(vars)));
  try {
    assert.deepEqual(await Promise.all(children.map((c) => c.next())), Array(PROCESSES).fill('ready'));
    for (const c of children) c.proc.stdin.write('go\n');
    const answers = (await Promise.all(children.map((c) => c.next()))).map((l) => JSON.parse(l));
    for (const a of answers) assert.equal(typeof a.port, 'number', `a child failed: ${JSON.stringify(a)}`);
    const ports = answers.map((a) => a.port);
    assert.equal(new Set(ports).size, PROCESSES, `ports ${ports}`);
    // Exactly the first candidates of the sequence, one each.
    const expected = list({ tool: 'vite', n: PROCESSES, env: { PORT4ME_USER: user } });
    assert.deepEqual([...ports].sort(), [...expected].sort());

    // While they run, the registry shows the leases.
    const restore = setPort4meEnv({ PORT4ME_DB: db });
    try {
      const s = status(expected[0]);
      assert.equal(s.reserved?.kind, 'lease');
      assert.ok(s.labels.includes('reserved'), s.labels.join());
    } finally {
      restore();
    }
  } finally {
    for (const c of children) c.proc.stdin.end();
    await Promise.all(children.map((c) => c.exited));
  }

  // The leases ended with their processes: the first candidate is free again.
  const env = { PORT4ME_DB: db, PORT4ME_USER: user, _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' };
  const first = list({ tool: 'vite', n: 1, env })[0];
  assert.equal(port4me({ tool: 'vite', reserve: true, env }), first);
});

test('in one process: each reservation skips the earlier ones; without reserve nothing changes', async () => {
  const env = { PORT4ME_DB: path.join(dir, 'one.sqlite'), PORT4ME_USER: `reserve-one-${process.pid}`, _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' };
  const candidates = list({ tool: 'app', n: 4, env });
  assert.equal(port4me({ tool: 'app', env }), candidates[0]);
  assert.equal(port4me({ tool: 'app', env, reserve: true }), candidates[0]);
  assert.equal(port4me({ tool: 'app', env, reserve: 30 }), candidates[1]);
  assert.equal(await port4meAsync({ tool: 'app', env, reserve: 0.2 }), candidates[2]);
  assert.equal(port4me({ tool: 'app', env, reserve: false }), candidates[0], 'reserve: false does not look at the registry');
  assert.equal(port4me({ tool: 'app', env }), candidates[0], 'a plain call does not look at the registry');
  // Leases expire: the 0.2 s one is gone soon after.
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(port4me({ tool: 'app', env, reserve: true }), candidates[2]);
  // The registry counts a lease as holding its port.
  const reg = new Registry(env.PORT4ME_DB);
  try {
    assertThrowsCode(() => reg.services.define('clash', '', Math.min(...candidates.slice(0, 3)), Math.max(...candidates.slice(0, 3)), { force: true }), 'ERR_PORT4ME_REGISTRY_RANGE_CONFLICT', 'lease');
  } finally {
    reg.close();
  }
});

test('the registry comes from PORT4ME_DB of the process environment too', () => {
  const db = path.join(dir, 'process.sqlite');
  const restore = setPort4meEnv({ PORT4ME_DB: db, PORT4ME_USER: `reserve-env-${process.pid}`, _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' });
  try {
    const candidates = list({ tool: 'svc', n: 2 });
    assert.equal(port4me({ tool: 'svc', reserve: true }), candidates[0]);
    assert.equal(port4me({ tool: 'svc', reserve: true }), candidates[1]);
    const reg = new Registry();
    try {
      assert.equal(reg.path, db);
    } finally {
      reg.close();
    }
  } finally {
    restore();
  }
});

test("in a worker thread, the worker's own PORT4ME_DB is used", async () => {
  const db = path.join(dir, 'worker.sqlite');
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    Object.assign(process.env, { PORT4ME_DB: workerData.db, PORT4ME_USER: 'worker-user', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' });
    const { port4me, port4meAsync } = require(workerData.pkg);
    const sync = [port4me({ tool: 'w', reserve: true }), port4me({ tool: 'w', reserve: true })];
    port4meAsync({ tool: 'w', reserve: true }).then((p) => parentPort.postMessage([...sync, p]));
  `;
  const ports = await new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: { db, pkg: packageDir } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.deepEqual(ports, list({ tool: 'w', n: 3, env: { PORT4ME_USER: 'worker-user' } }));
  // The leases are in that database (owned by this process, which the worker is part of).
  const restore = setPort4meEnv({ PORT4ME_DB: db });
  try {
    assert.equal(status(ports[0]).reserved?.kind, 'lease');
  } finally {
    restore();
  }
});

test('bad reserve values', async () => {
  const env = { PORT4ME_DB: path.join(dir, 'bad.sqlite'), PORT4ME_USER: 'alice' };
  assertThrowsCode(() => port4me({ tool: 'x', env, reserve: 'yes' }), 'ERR_INVALID_ARG_TYPE', 'options.reserve', 'boolean or a number');
  assertThrowsCode(() => port4me({ tool: 'x', env, reserve: null }), 'ERR_INVALID_ARG_TYPE', 'options.reserve');
  assertThrowsCode(() => port4me({ tool: 'x', env, reserve: -1 }), 'ERR_PORT4ME_INVALID_NUMBER', 'reserve', '-1', 'negative');
  assertThrowsCode(() => port4me({ tool: 'x', env, reserve: NaN }), 'ERR_PORT4ME_INVALID_NUMBER', 'reserve', 'NaN');
  assertThrowsCode(() => port4me({ tool: 'x', env, reserve: 0 }), 'ERR_PORT4ME_REGISTRY_INVALID_DURATION', 'longer than zero');
  assertThrowsCode(() => port4me({ tool: 'x', env, reserve: 400 * 24 * 3600 }), 'ERR_PORT4ME_REGISTRY_INVALID_DURATION', 'a year');
  assertThrowsCode(() => list({ tool: 'x', reserve: true }), 'ERR_INVALID_ARG_VALUE', 'options.reserve', 'port4me()');
  await assertRejectsCode(port4meAsync({ tool: 'x', env, reserve: -5 }), 'ERR_PORT4ME_INVALID_NUMBER', '-5');
  // A registry that cannot be opened is an error, not a silent unreserved port.
  writeFileSync(path.join(dir, 'notadir'), 'a file, not a directory');
  assertThrowsCode(
    () => port4me({ tool: 'x', reserve: true, env: { PORT4ME_DB: path.join(dir, 'notadir', 'db.sqlite'), PORT4ME_USER: 'alice' } }),
    'ERR_PORT4ME_REGISTRY_IO',
    'notadir',
  );
  // A missing directory in PORT4ME_DB is an error, as for an explicit path;
  // only the default state directory is created.
  const nested = path.join(dir, 'missing', 'deeper', 'db.sqlite');
  assertThrowsCode(
    () => port4me({ tool: 'x', reserve: true, env: { PORT4ME_DB: nested, PORT4ME_USER: 'alice', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' } }),
    'ERR_PORT4ME_REGISTRY_IO',
    path.join(dir, 'missing', 'deeper'),
    'does not exist',
  );
  assert.ok(!existsSync(path.join(dir, 'missing')), 'nothing was created');
  // port4me's own errors keep their codes.
  assertThrowsCode(() => port4me({ tool: 'x', env, reserve: true, include: '1-2', exclude: '1-2' }), 'ERR_PORT4ME_EMPTY_SET');
});

// Each process that reserves keeps its registry open to its exit, and the
// next one rebuilds the write-ahead log's index from the whole log. When
// Node's environment ends, the addon empties the log once it has grown
// long (Registry::leave_open), so over many processes it stays short.
// SQLite itself (Python's sqlite3) reports its length in frames.
test('the registry log stays short over many processes that reserve and exit', () => {
  const db = path.join(dir, 'many.sqlite');
  const env = cleanEnv({ PORT4ME_DB: db, PORT4ME_USER: 'log-walker' });
  const code = `require(${JSON.stringify(packageDir)}).port4me({ tool: 'x', reserve: 1 })`;
  const runs = 40;
  for (let i = 0; i < runs; i++) {
    const r = spawnSync(process.execPath, ['-e', code], { env, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const py = spawnSync(
    'python3',
    ['-c', 'import sqlite3, sys; print(*sqlite3.connect(sys.argv[1]).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())', db],
    { encoding: 'utf8' },
  );
  assert.equal(py.status, 0, py.stderr);
  const [busy, log] = py.stdout.trim().split(' ').map(Number);
  assert.equal(busy, 0);
  // Each reservation writes about ten pages: 40 of them in one log would
  // be about 400 frames.
  assert.ok(log < 256 + 64, `the log holds ${log} frames after ${runs} processes`);
});
