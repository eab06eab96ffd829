// The Registry class on a temporary database: module ranges, services and
// offers, named registrations, bad input (each with its code and message).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Registry } from 'port4me';
import { assertThrowsCode, cleanEnv, packageDir, setPort4meEnv } from './helpers.mjs';

let dir;
let restoreEnv;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'port4me-registry-'));
  restoreEnv = setPort4meEnv({});
});
after(() => {
  restoreEnv();
  rmSync(dir, { recursive: true, force: true });
});

let dbs = 0;
/** A registry on a fresh database file. */
function fresh() {
  return new Registry(path.join(dir, `ports-${++dbs}.sqlite`));
}

const overlaps = (a, b) => a.start <= b.end && b.start <= a.end;

test('allocate and deallocate: first fit, never overlapping, per protocol', () => {
  const reg = fresh();
  try {
    const web = reg.allocate(3, 'web');
    assert.deepEqual(web, { start: 20000, end: 20002 });
    const api = reg.allocate(2, 'api');
    assert.deepEqual(api, { start: 20003, end: 20004 });
    // Reallocating replaces web's range; 4 ports do not fit in the old gap.
    const web4 = reg.allocate(4, 'web');
    assert.deepEqual(web4, { start: 20005, end: 20008 });
    // The freed gap 20000-20002 is reused by the next small request.
    const docs = reg.allocate(2, 'docs', 'tcp');
    assert.deepEqual(docs, { start: 20000, end: 20001 });
    const extra = reg.allocate(1, 'api', { keepExisting: true });
    assert.deepEqual(extra, { start: 20002, end: 20002 });
    const all = [web4, api, docs, extra];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) assert.ok(!overlaps(all[i], all[j]), `${JSON.stringify(all[i])} overlaps ${JSON.stringify(all[j])}`);
    }
    // UDP is a separate space.
    assert.deepEqual(reg.allocate(3, 'web', 'udp'), { start: 20000, end: 20002 });
    assert.deepEqual(reg.allocate(1, 'dns', 'UDP', { keepExisting: false }), { start: 20003, end: 20003 });

    assert.deepEqual(reg.deallocate('api'), [{ start: 20002, end: 20002 }, { start: 20003, end: 20004 }]);
    assert.deepEqual(reg.deallocate('api'), []);
    assert.deepEqual(reg.deallocate('web', 'udp'), [{ start: 20000, end: 20002 }]);
    assert.deepEqual(reg.deallocate('web'), [web4]);
  } finally {
    reg.close();
  }
});

test('two handles on one database see each other', () => {
  const file = path.join(dir, 'shared.sqlite');
  const a = new Registry(file);
  const b = new Registry(file);
  try {
    assert.equal(a.path, file);
    const ra = a.allocate(10, 'one');
    const rb = b.allocate(10, 'two');
    assert.ok(!overlaps(ra, rb));
    assert.deepEqual(b.deallocate('one'), [ra]);
  } finally {
    a.close();
    b.close();
  }
});

test('services: offers are accepted, rejected, and unknown secrets are errors', () => {
  const reg = fresh();
  try {
    const svc = reg.defineService('db', 'databases', 30000, 30002);
    assert.equal(svc.name, 'db');
    assert.equal(svc.description, 'databases');
    assert.equal(svc.protocol, 'tcp');
    assert.deepEqual([svc.start, svc.end, svc.forced], [30000, 30002, false]);
    assert.ok(svc.created instanceof Date && Math.abs(svc.created - Date.now()) < 60_000);

    const a = reg.offer('db', 'a');
    assert.equal(a.service, 'db');
    assert.equal(a.instance, 'a');
    assert.equal(a.port, 30000);
    assert.match(a.secret, /^[0-9a-f]{32}$/);
    assert.ok(a.created instanceof Date && a.expires instanceof Date);
    assert.equal(a.expires - a.created, 30 * 60 * 1000);
    const b = reg.offer('db', 'b');
    assert.equal(b.port, 30001);
    assert.notEqual(b.secret, a.secret);
    assertThrowsCode(() => reg.offer('db', 'a'), 'ERR_PORT4ME_REGISTRY_INSTANCE_EXISTS', '"a"', '30000');

    const accepted = reg.accept(a.secret);
    assert.deepEqual(
      { ...accepted, created: 0 },
      { service: 'db', instance: 'a', port: 30000, state: 'allocated', created: 0, expires: null, user: os.userInfo().username },
    );
    assert.equal(reg.accept(a.secret.toUpperCase()).state, 'allocated', 'accepting twice is harmless');
    assertThrowsCode(() => reg.reject(a.secret), 'ERR_PORT4ME_REGISTRY_ALREADY_ACCEPTED', a.secret);

    const rejected = reg.reject(b.secret);
    assert.equal(rejected.state, 'offered');
    assert.equal(rejected.port, 30001);
    assert.ok(rejected.expires instanceof Date);
    assertThrowsCode(() => reg.reject(b.secret), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET', b.secret);
    assertThrowsCode(() => reg.accept(b.secret), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET', b.secret);
    assertThrowsCode(() => reg.accept('0'.repeat(32)), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET', '0'.repeat(32));
    assertThrowsCode(() => reg.accept('not-a-secret'), 'ERR_PORT4ME_REGISTRY_MALFORMED_SECRET', 'not-a-secret');

    // The rejected port is offered again; then the service is full.
    assert.equal(reg.offer('db', 'c').port, 30001);
    assert.equal(reg.offer('db', 'd').port, 30002);
    assertThrowsCode(() => reg.offer('db', 'e'), 'ERR_PORT4ME_REGISTRY_SERVICE_FULL', '30000-30002');
    assertThrowsCode(() => reg.offer('nope', 'x'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE', 'nope');

    assertThrowsCode(() => reg.defineService('db', '', 31000, 31001), 'ERR_PORT4ME_REGISTRY_SERVICE_EXISTS', 'db');
    assertThrowsCode(() => reg.defineService('db2', '', 30002, 30005), 'ERR_PORT4ME_REGISTRY_RANGE_CONFLICT', '30002-30005', 'db');
    assertThrowsCode(() => reg.defineService('web', '', 80, 90), 'ERR_PORT4ME_REGISTRY_RESTRICTED_RANGE', '80-90', 'force');
    assert.equal(reg.defineService('web', '', 80, 90, { force: true }).forced, true);
    assertThrowsCode(() => reg.defineService('up', '', 40010, 40000), 'ERR_PORT4ME_REGISTRY_INVALID_RANGE', '40010-40000');
    // UDP services live beside TCP ones.
    assert.equal(reg.defineService('dns', '', 30000, 30002, { protocol: 'udp' }).protocol, 'udp');
  } finally {
    reg.close();
  }
});

test('named registrations: register, find, release', () => {
  const reg = fresh();
  try {
    const web = reg.register('web');
    assert.equal(web.name, 'web');
    assert.equal(web.service, 'web');
    assert.equal(web.protocol, 'tcp');
    assert.equal(web.port, 45001);
    assert.equal(web.pid, process.pid);
    assert.equal(web.uid, os.userInfo().uid);
    assert.equal(typeof web.user, 'string');
    assert.equal(web.host, os.hostname());
    assert.ok(web.created instanceof Date);
    const web1 = reg.register('web');
    assert.equal(web1.name, 'web_1');
    assert.equal(web1.port, 45002);
    const api = reg.register('api');

    const names = (list) => list.map((r) => r.name).sort();
    assert.deepEqual(names(reg.list()), ['api', 'web', 'web_1']);
    assert.deepEqual(names(reg.find({ service: 'web' })), ['web', 'web_1']);
    assert.deepEqual(names(reg.find({ beginswith: 'web_' })), ['web_1']);
    assert.deepEqual(names(reg.find({ user: web.user, service: 'api' })), ['api']);
    assert.deepEqual(reg.find({ user: 'no-such-user-port4me' }), []);
    assert.deepEqual(names(reg.find()), ['api', 'web', 'web_1']);

    const released = reg.release('web_1');
    assert.equal(released.port, web1.port);
    assertThrowsCode(() => reg.release('web_1'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION', 'web_1');
    assert.deepEqual(names(reg.list()), ['api', 'web']);
    assert.equal(reg.register('web').name, 'web_1', 'the lowest free suffix again');
    assert.equal(reg.release(api.name).name, 'api');

    const gc = reg.gc();
    assert.deepEqual(Object.keys(gc).sort(), ['leases', 'offers', 'registrations', 'total']);
    assert.equal(gc.total, gc.leases + gc.offers + gc.registrations);
  } finally {
    reg.close();
  }
});

test('close(): later calls throw ERR_PORT4ME_REGISTRY_CLOSED; closing twice is fine', () => {
  const reg = fresh();
  assert.equal(reg.closed, false);
  reg.close();
  reg.close();
  assert.equal(reg.closed, true);
  assertThrowsCode(() => reg.list(), 'ERR_PORT4ME_REGISTRY_CLOSED', reg.path);
  assertThrowsCode(() => reg.allocate(1, 'x'), 'ERR_PORT4ME_REGISTRY_CLOSED');
});

test('the default database is PORT4ME_DB (also in a worker thread)', async () => {
  const file = path.join(dir, 'default.sqlite');
  const restore = setPort4meEnv({ PORT4ME_DB: file });
  try {
    const reg = new Registry();
    assert.equal(reg.path, file);
    reg.allocate(1, 'main');
    reg.close();
  } finally {
    restore();
  }
  const other = path.join(dir, 'worker.sqlite');
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    process.env.PORT4ME_DB = workerData.file;
    const { Registry } = require(workerData.pkg);
    const reg = new Registry();
    parentPort.postMessage({ path: reg.path, range: reg.allocate(2, 'worker') });
    reg.close();
  `;
  const result = await new Promise((resolve, reject) => {
    const w = new Worker(source, { eval: true, workerData: { file: other, pkg: packageDir } });
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.deepEqual(result, { path: other, range: { start: 20000, end: 20001 } });
});

test('ESM and CommonJS share the Registry class', () => {
  const require = createRequire(import.meta.url);
  assert.equal(require('port4me').Registry, Registry);
});

test('bad input: each with its code and a message naming the value', () => {
  const reg = fresh();
  try {
    // Types, checked in JS.
    assertThrowsCode(() => new Registry(42), 'ERR_INVALID_ARG_TYPE', '"path"', 'number');
    assertThrowsCode(() => reg.allocate('3', 'web'), 'ERR_INVALID_ARG_TYPE', '"n"', 'string');
    assertThrowsCode(() => reg.allocate(3, null), 'ERR_INVALID_ARG_TYPE', '"module"', 'null');
    assertThrowsCode(() => reg.allocate(3, 'web', 6), 'ERR_INVALID_ARG_TYPE', '"protocol"');
    assertThrowsCode(() => reg.allocate(3, 'web', 'tcp', { keepExisting: 'yes' }), 'ERR_INVALID_ARG_TYPE', 'options.keepExisting', 'boolean');
    assertThrowsCode(() => reg.allocate(3, 'web', { keep: true }), 'ERR_INVALID_ARG_VALUE', '"keep"', 'keepExisting');
    assertThrowsCode(() => reg.defineService('x', 5, 30000, 30001), 'ERR_INVALID_ARG_TYPE', '"description"');
    assertThrowsCode(() => reg.defineService('x', '', '30000', 30001), 'ERR_INVALID_ARG_TYPE', '"start"');
    assertThrowsCode(() => reg.defineService('x', '', 30000, 30001, { force: 1 }), 'ERR_INVALID_ARG_TYPE', 'options.force');
    assertThrowsCode(() => reg.offer('db'), 'ERR_INVALID_ARG_TYPE', '"instance"', 'undefined');
    assertThrowsCode(() => reg.accept(12345), 'ERR_INVALID_ARG_TYPE', '"secret"');
    assertThrowsCode(() => reg.register(['web']), 'ERR_INVALID_ARG_TYPE', '"service"', 'Array');
    assertThrowsCode(() => reg.find({ name: 'web' }), 'ERR_INVALID_ARG_VALUE', '"name"', 'beginswith');
    assertThrowsCode(() => reg.find('web'), 'ERR_INVALID_ARG_TYPE', '"options"');

    // Values, checked in Rust.
    assertThrowsCode(() => reg.allocate(1.5, 'web'), 'ERR_PORT4ME_INVALID_NUMBER', '1.5');
    assertThrowsCode(() => reg.allocate(-1, 'web'), 'ERR_PORT4ME_INVALID_NUMBER', '-1');
    assertThrowsCode(() => reg.allocate(NaN, 'web'), 'ERR_PORT4ME_INVALID_NUMBER', 'NaN');
    assertThrowsCode(() => reg.allocate(0, 'web'), 'ERR_PORT4ME_REGISTRY_INVALID_COUNT', '0', 'web');
    assertThrowsCode(() => reg.allocate(30000, 'web'), 'ERR_PORT4ME_REGISTRY_INVALID_COUNT', '30000', '20000-45000');
    assertThrowsCode(() => reg.allocate(1, ''), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'module', 'empty');
    assertThrowsCode(() => reg.allocate(1, 'a\nb'), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'control');
    assertThrowsCode(() => reg.allocate(1, 'x'.repeat(201)), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', '200 bytes');
    assertThrowsCode(() => reg.allocate(1, 'web', 'sctp'), 'ERR_INVALID_ARG_VALUE', 'sctp');
    assertThrowsCode(() => reg.deallocate('web', 'sctp'), 'ERR_INVALID_ARG_VALUE', 'sctp');
    assertThrowsCode(() => reg.defineService('x', '', NaN, 30001), 'ERR_PORT4ME_INVALID_PORT', 'start', 'NaN');
    assertThrowsCode(() => reg.defineService('x', '', 30000, 1.5), 'ERR_PORT4ME_INVALID_PORT', 'end', '1.5');
    assertThrowsCode(() => reg.defineService('x', '', 0, 30001), 'ERR_PORT4ME_REGISTRY_INVALID_RANGE', '0-30001', 'port 0');
    assertThrowsCode(() => reg.defineService('x', '', 70000, 70001), 'ERR_PORT4ME_REGISTRY_INVALID_RANGE', '70000-70001', '65535');
    assertThrowsCode(() => reg.defineService('x', 'a\0b', 30000, 30001), 'ERR_PORT4ME_REGISTRY_INVALID_TEXT', 'description');
    assertThrowsCode(() => reg.defineService('x', '', 30000, 30001, { protocol: 'icmp' }), 'ERR_INVALID_ARG_VALUE', 'icmp');
    assertThrowsCode(() => reg.register(' web'), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'white space');
    assertThrowsCode(() => reg.release(''), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'registration');
  } finally {
    reg.close();
  }

  // Files that are not a registry are refused, and left as they are.
  assertThrowsCode(() => new Registry(path.join(dir, 'no-such-dir', 'ports.sqlite')), 'ERR_PORT4ME_REGISTRY_IO', 'no-such-dir');
  const text = path.join(dir, 'notes.txt');
  writeFileSync(text, 'not a database, just some text that is long enough to have a header\n'.repeat(20));
  assertThrowsCode(() => new Registry(text), 'ERR_PORT4ME_REGISTRY_NOT_A_DATABASE', text);
});

test('deallocate takes any name and { force }; releaseInstance; mirror rows are not modules', () => {
  const reg = fresh();
  try {
    assertThrowsCode(() => reg.deallocate('x', { force: 'yes' }), 'ERR_INVALID_ARG_TYPE', 'options.force', 'boolean');
    assertThrowsCode(() => reg.deallocate('x', 'tcp', { forced: true }), 'ERR_INVALID_ARG_VALUE', '"forced"', 'force');
    assertThrowsCode(() => reg.releaseInstance('db', 'a', { force: 1 }), 'ERR_INVALID_ARG_TYPE', 'options.force');
    // Names allocate refuses, which other tools may have written, are fine to deallocate.
    assert.deepEqual(reg.deallocate(''), []);
    assert.deepEqual(reg.deallocate('x'.repeat(255), 'udp', { force: true }), []);
    assertThrowsCode(() => reg.allocate(1, 'port4me:x'), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'reserved');
    assert.deepEqual(reg.allocate(2, 'web'), { start: 20000, end: 20001 });
    assert.deepEqual(reg.deallocate('web', { force: false }), [{ start: 20000, end: 20001 }]);

    reg.defineService('db', '', 30000, 30009);
    const accepted = reg.accept(reg.offer('db', 'a').secret);
    assert.equal(accepted.user, os.userInfo().username);
    const offered = reg.offer('db', 'b');
    assert.equal(reg.releaseInstance('db', 'b').user, null, 'an offer records no user');
    assert.equal(reg.releaseInstance('db', 'a').port, 30000);
    assertThrowsCode(() => reg.releaseInstance('db', 'a'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_INSTANCE', '"a"');
    assertThrowsCode(() => reg.accept(offered.secret), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET');
    // The service's row in TCP_PORTS mirrors it; it is not a module.
    assertThrowsCode(() => reg.deallocate('port4me:service:db'), 'ERR_PORT4ME_REGISTRY_NOT_A_MODULE', '"db"', 'undefine');
  } finally {
    reg.close();
  }
});

test("another user's module and allocation need { force: true }, and the error names the owner", (t) => {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    t.skip('needs root to act as a second user (uid 65534)');
    return;
  }
  // A directory the second user can reach and write (sticky, as /tmp).
  const top = mkdtempSync(path.join(os.tmpdir(), 'port4me-registry-force-'));
  chmodSync(top, 0o755);
  const shared = path.join(top, 'shared');
  mkdirSync(shared);
  chmodSync(shared, 0o1777);
  const file = path.join(shared, 'ports.sqlite');
  try {
    const script = `
      const { Registry } = require(${JSON.stringify(packageDir)});
      const reg = new Registry(${JSON.stringify(file)});
      reg.allocate(2, 'theirs');
      reg.defineService('svc', '', 31000, 31009);
      const sp = reg.accept(reg.offer('svc', 'a').secret);
      process.stdout.write(JSON.stringify(sp.user));
      reg.close();
    `;
    const child = spawnSync(process.execPath, ['-e', script], { uid: 65534, gid: 65534, env: cleanEnv(), encoding: 'utf8' });
    if (child.status !== 0 && /EACCES|permission denied/i.test(child.stderr)) {
      t.skip(`uid 65534 cannot load the package here: ${child.stderr.trim().split('\n')[0]}`);
      return;
    }
    assert.equal(child.status, 0, child.stderr);
    const owner = JSON.parse(child.stdout);
    assert.equal(typeof owner, 'string');
    assert.notEqual(owner, os.userInfo().username);

    const reg = new Registry(file);
    try {
      assertThrowsCode(() => reg.deallocate('theirs'), 'ERR_PORT4ME_REGISTRY_NOT_OWNER', `"${owner}"`, '"theirs"', 'force');
      assertThrowsCode(() => reg.releaseInstance('svc', 'a'), 'ERR_PORT4ME_REGISTRY_NOT_OWNER', `"${owner}"`, '31000', 'force');
      assert.deepEqual(reg.deallocate('theirs', 'tcp', { force: true }), [{ start: 20000, end: 20001 }]);
      assert.equal(reg.releaseInstance('svc', 'a', { force: true }).user, owner);
    } finally {
      reg.close();
    }
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});
