// The Registry class on a temporary database: module ranges, services and
// offers, named registrations, bad input (each with its code and message).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Registry, port4me } from 'port4me';
import { assertThrowsCode, cleanEnv, cliCommands, onFallback, packageDir, setPort4meEnv } from './helpers.mjs';

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

/** Whether `t` is a time as results give it: RFC 3339 in UTC with milliseconds, as `Date.prototype.toISOString()` writes. */
const isTime = (t) => typeof t === 'string' && new Date(t).toISOString() === t;
/** Milliseconds from the time `a` to the time `b`. */
const between = (a, b) => Date.parse(b) - Date.parse(a);

test('allocate and deallocate: first fit, never overlapping, per protocol', () => {
  const reg = fresh();
  try {
    const web = reg.modules.allocate(3, 'web');
    assert.deepEqual(web, { start: 20000, end: 20002 });
    const api = reg.modules.allocate(2, 'api');
    assert.deepEqual(api, { start: 20003, end: 20004 });
    // Reallocating replaces web's range; 4 ports do not fit in the old gap.
    const web4 = reg.modules.allocate(4, 'web');
    assert.deepEqual(web4, { start: 20005, end: 20008 });
    // The freed gap 20000-20002 is reused by the next small request.
    const docs = reg.modules.allocate(2, 'docs', 'tcp');
    assert.deepEqual(docs, { start: 20000, end: 20001 });
    const extra = reg.modules.allocate(1, 'api', { keepExisting: true });
    assert.deepEqual(extra, { start: 20002, end: 20002 });
    const all = [web4, api, docs, extra];
    for (let i = 0; i < all.length; i++) {
      for (let j = i + 1; j < all.length; j++) assert.ok(!overlaps(all[i], all[j]), `${JSON.stringify(all[i])} overlaps ${JSON.stringify(all[j])}`);
    }
    // UDP is a separate space.
    assert.deepEqual(reg.modules.allocate(3, 'web', 'udp'), { start: 20000, end: 20002 });
    assert.deepEqual(reg.modules.allocate(1, 'dns', 'UDP', { keepExisting: false }), { start: 20003, end: 20003 });

    assert.deepEqual(reg.modules.release('api'), [{ start: 20002, end: 20002 }, { start: 20003, end: 20004 }]);
    assert.deepEqual(reg.modules.release('api'), []);
    assert.deepEqual(reg.modules.release('web', 'udp'), [{ start: 20000, end: 20002 }]);
    assert.deepEqual(reg.modules.release('web'), [web4]);
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
    const ra = a.modules.allocate(10, 'one');
    const rb = b.modules.allocate(10, 'two');
    assert.ok(!overlaps(ra, rb));
    assert.deepEqual(b.modules.release('one'), [ra]);
  } finally {
    a.close();
    b.close();
  }
});

test('services: offers are accepted, rejected, and unknown secrets are errors', () => {
  const reg = fresh();
  try {
    const svc = reg.services.define('db', 'databases', 30000, 30002);
    assert.equal(svc.name, 'db');
    assert.equal(svc.description, 'databases');
    assert.equal(svc.protocol, 'tcp');
    assert.deepEqual([svc.start, svc.end, svc.forced], [30000, 30002, false]);
    assert.ok(isTime(svc.created) && Math.abs(Date.parse(svc.created) - Date.now()) < 60_000, svc.created);

    const a = reg.services.offer('db', 'a');
    assert.equal(a.service, 'db');
    assert.equal(a.instance, 'a');
    assert.equal(a.port, 30000);
    assert.match(a.secret, /^[0-9a-f]{32}$/);
    assert.ok(isTime(a.created) && isTime(a.expires), `${a.created} ${a.expires}`);
    assert.equal(between(a.created, a.expires), 30 * 60 * 1000);
    const b = reg.services.offer('db', 'b');
    assert.equal(b.port, 30001);
    assert.notEqual(b.secret, a.secret);
    assertThrowsCode(() => reg.services.offer('db', 'a'), 'ERR_PORT4ME_REGISTRY_INSTANCE_EXISTS', '"a"', '30000');

    const accepted = reg.services.accept(a.secret);
    assert.deepEqual(
      { ...accepted, created: 0 },
      { service: 'db', instance: 'a', port: 30000, state: 'allocated', created: 0, expires: null, user: os.userInfo().username, uid: os.userInfo().uid },
    );
    assert.equal(reg.services.accept(a.secret.toUpperCase()).state, 'allocated', 'accepting twice is harmless');
    assertThrowsCode(() => reg.services.reject(a.secret), 'ERR_PORT4ME_REGISTRY_ALREADY_ACCEPTED', a.secret);

    const rejected = reg.services.reject(b.secret);
    assert.equal(rejected.state, 'offered');
    assert.equal(rejected.port, 30001);
    assert.ok(isTime(rejected.expires), rejected.expires);
    assertThrowsCode(() => reg.services.reject(b.secret), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET', b.secret);
    assertThrowsCode(() => reg.services.accept(b.secret), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET', b.secret);
    assertThrowsCode(() => reg.services.accept('0'.repeat(32)), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET', '0'.repeat(32));
    assertThrowsCode(() => reg.services.accept('not-a-secret'), 'ERR_PORT4ME_REGISTRY_MALFORMED_SECRET', 'not-a-secret');

    // The rejected port is offered again; then the service is full.
    assert.equal(reg.services.offer('db', 'c').port, 30001);
    assert.equal(reg.services.offer('db', 'd').port, 30002);
    assertThrowsCode(() => reg.services.offer('db', 'e'), 'ERR_PORT4ME_REGISTRY_SERVICE_FULL', '30000-30002');
    assertThrowsCode(() => reg.services.offer('nope', 'x'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE', 'nope');

    assertThrowsCode(() => reg.services.define('db', '', 31000, 31001), 'ERR_PORT4ME_REGISTRY_SERVICE_EXISTS', 'db');
    assertThrowsCode(() => reg.services.define('db2', '', 30002, 30005), 'ERR_PORT4ME_REGISTRY_RANGE_CONFLICT', '30002-30005', 'db');
    assertThrowsCode(() => reg.services.define('web', '', 80, 90), 'ERR_PORT4ME_REGISTRY_RESTRICTED_RANGE', '80-90', 'force');
    assert.equal(reg.services.define('web', '', 80, 90, { force: true }).forced, true);
    assertThrowsCode(() => reg.services.define('up', '', 40010, 40000), 'ERR_PORT4ME_REGISTRY_INVALID_RANGE', '40010-40000');
    // UDP services live beside TCP ones.
    assert.equal(reg.services.define('dns', '', 30000, 30002, { protocol: 'udp' }).protocol, 'udp');
  } finally {
    reg.close();
  }
});

test('named registrations: register, find, release', () => {
  const reg = fresh();
  try {
    const web = reg.registrations.register('web');
    assert.equal(web.name, 'web');
    assert.equal(web.service, 'web');
    assert.equal(web.protocol, 'tcp');
    assert.equal(web.port, 45001);
    assert.equal(web.pid, process.pid);
    assert.equal(web.uid, os.userInfo().uid);
    assert.equal(typeof web.user, 'string');
    assert.equal(web.host, os.hostname());
    assert.ok(isTime(web.created), web.created);
    const web1 = reg.registrations.register('web');
    assert.equal(web1.name, 'web_1');
    assert.equal(web1.port, 45002);
    const api = reg.registrations.register('api');

    const names = (list) => list.map((r) => r.name).sort();
    assert.deepEqual(names(reg.registrations.list()), ['api', 'web', 'web_1']);
    assert.deepEqual(names(reg.registrations.find({ service: 'web' })), ['web', 'web_1']);
    assert.deepEqual(names(reg.registrations.find({ beginswith: 'web_' })), ['web_1']);
    assert.deepEqual(names(reg.registrations.find({ user: web.user, service: 'api' })), ['api']);
    assert.deepEqual(reg.registrations.find({ user: 'no-such-user-port4me' }), []);
    assert.deepEqual(names(reg.registrations.find()), ['api', 'web', 'web_1']);

    const released = reg.registrations.release('web_1');
    assert.equal(released.port, web1.port);
    assertThrowsCode(() => reg.registrations.release('web_1'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION', 'web_1');
    assert.deepEqual(names(reg.registrations.list()), ['api', 'web']);
    assert.equal(reg.registrations.register('web').name, 'web_1', 'the lowest free suffix again');
    assert.equal(reg.registrations.release(api.name).name, 'api');

    const gc = reg.gc();
    // The counts only, as `port4me registry gc --json` prints them (no sum).
    assert.deepEqual(Object.keys(gc).sort(), ['leases', 'offers', 'registrations']);
    assert.ok(Object.values(gc).every(Number.isInteger), JSON.stringify(gc));
  } finally {
    reg.close();
  }
});

test('grouped by job: modules, services, registrations and leases each list and release; list() holds everything', () => {
  const file = path.join(dir, `ports-${++dbs}.sqlite`);
  const reg = new Registry(file);
  try {
    assert.deepEqual(reg.list(), { modules: [], services: [], registrations: [], leases: [], mirrors: [] });
    const me = os.userInfo();
    const web = reg.modules.allocate(3, 'web');
    const dns = reg.modules.allocate(1, 'dns', 'udp');
    assert.deepEqual(reg.modules.list(), [
      { module: 'web', protocol: 'tcp', start: web.start, end: web.end, user: me.username, uid: me.uid },
      { module: 'dns', protocol: 'udp', start: dns.start, end: dns.end, user: me.username, uid: me.uid },
    ]);
    assert.deepEqual(reg.modules.list('udp').map((m) => m.module), ['dns']);

    reg.services.define('db', 'databases', 30000, 30009);
    reg.services.accept(reg.services.offer('db', 'a').secret);
    reg.services.offer('db', 'b');
    const services = reg.services.list();
    assert.deepEqual(services.map((s) => [s.name, s.description, s.start, s.end]), [['db', 'databases', 30000, 30009]]);
    assert.deepEqual(services[0].ports.map((p) => [p.instance, p.port, p.state]), [['a', 30000, 'allocated'], ['b', 30001, 'offered']]);
    assert.deepEqual(reg.services.show('db'), services[0].ports);
    assert.deepEqual(reg.services.show('db', { instance: 'b' }).map((p) => p.port), [30001]);
    assert.deepEqual(reg.services.show('db', { port: 30000 }).map((p) => p.instance), ['a']);
    assert.deepEqual(reg.services.show('db', { port: 30005 }), []);

    const api = reg.registrations.register('api');
    const port = port4me({ tool: 'leased', reserve: 30, env: { PORT4ME_DB: file } });
    const leases = reg.leases.list();
    assert.equal(leases.length, 1);
    assert.equal(leases[0].port, port);
    assert.equal(leases[0].protocol, 'tcp');
    assert.equal(leases[0].pid, process.pid);
    assert.equal(leases[0].uid, me.uid);
    assert.match(leases[0].label, /leased/);
    assert.equal(between(leases[0].created, leases[0].expires), 30_000);

    const all = reg.list();
    assert.deepEqual(Object.keys(all), ['modules', 'services', 'registrations', 'leases', 'mirrors']);
    assert.deepEqual(all.modules, reg.modules.list());
    assert.deepEqual(all.services, reg.services.list());
    assert.deepEqual(all.registrations, reg.registrations.list());
    assert.deepEqual(all.registrations.map((r) => r.name), [api.name]);
    assert.deepEqual(all.leases, leases);
    assert.deepEqual(all.mirrors.map((m) => m.mirrors).sort(), ['lease', 'registration', 'service']);
    assert.ok(all.mirrors.some((m) => m.module === 'port4me:service:db' && m.start === 30000 && m.end === 30009));

    // One verb gives anything back.
    assert.equal(reg.leases.release(port), true);
    assert.equal(reg.leases.release(port, 'tcp'), false, 'nothing left to release');
    assert.deepEqual(reg.leases.list(), []);
    assertThrowsCode(() => reg.services.undefine('db'), 'ERR_PORT4ME_REGISTRY_SERVICE_IN_USE', 'db');
    const undefined_ = reg.services.undefine('db', { force: true });
    assert.equal(undefined_.name, 'db');
    assert.deepEqual(undefined_.ports.map((p) => p.instance), ['a', 'b']);
    assert.deepEqual(reg.services.list(), []);
    assertThrowsCode(() => reg.services.undefine('db'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE', 'db');
    assertThrowsCode(() => reg.services.show('db'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE', 'db');
    assert.deepEqual(reg.modules.release('dns', 'udp'), [dns]);
    assert.equal(reg.registrations.release(api.name).name, api.name);
    assert.deepEqual(reg.list(), { modules: reg.modules.list(), services: [], registrations: [], leases: [], mirrors: [] });

    // Bad input.
    assertThrowsCode(() => reg.leases.release('1'), 'ERR_INVALID_ARG_TYPE', '"port"');
    assertThrowsCode(() => reg.leases.release(70000), 'ERR_PORT4ME_INVALID_PORT', '70000');
    assertThrowsCode(() => reg.leases.release(1, 'sctp'), 'ERR_INVALID_ARG_VALUE', 'sctp');
    assertThrowsCode(() => reg.modules.list('sctp'), 'ERR_INVALID_ARG_VALUE', 'sctp');
    assertThrowsCode(() => reg.services.show('db', { port: '1' }), 'ERR_INVALID_ARG_TYPE', 'options.port');
    assertThrowsCode(() => reg.services.show('db', { name: 'a' }), 'ERR_INVALID_ARG_VALUE', '"name"', 'instance');
    assertThrowsCode(() => reg.services.undefine('db', { force: 'yes' }), 'ERR_INVALID_ARG_TYPE', 'options.force');
    // The flat methods of before 1.0 are gone.
    for (const name of ['allocate', 'deallocate', 'defineService', 'offer', 'accept', 'reject', 'releaseInstance', 'register', 'release', 'find']) {
      assert.equal(reg[name], undefined, name);
    }
  } finally {
    reg.close();
  }
  assertThrowsCode(() => reg.modules.list(), 'ERR_PORT4ME_REGISTRY_CLOSED', file);
  assertThrowsCode(() => reg.leases.release(1), 'ERR_PORT4ME_REGISTRY_CLOSED', file);
});

test('list() and each group are what `port4me registry ... --json` prints for the same file', (t) => {
  const file = path.join(dir, `ports-${++dbs}.sqlite`);
  const reg = new Registry(file);
  try {
    reg.modules.allocate(3, 'web');
    reg.modules.allocate(2, 'dns', 'udp');
    reg.services.define('db', 'databases', 30000, 30009);
    reg.services.accept(reg.services.offer('db', 'a').secret);
    reg.services.offer('db', 'b');
    reg.registrations.register('api');
    port4me({ tool: 'cli-compare', reserve: 30, env: { PORT4ME_DB: file } });
    const ours = reg.list();
    assert.ok(ours.modules.length === 2 && ours.services[0].ports.length === 2 && ours.registrations.length === 1 && ours.leases.length === 1);
    for (const [name, command, pre] of cliCommands(t)) {
      const json = (...args) => {
        const r = spawnSync(command, [...pre, 'registry', '--db', file, '--json', ...args], { encoding: 'utf8', env: cleanEnv() });
        assert.equal(r.status, 0, `${name} registry ${args.join(' ')}: ${r.stderr}`);
        return JSON.parse(r.stdout);
      };
      // Key order aside (deepStrictEqual compares objects' keys as sets), the same values.
      assert.deepEqual(ours, json('list'), name);
      assert.deepEqual(reg.modules.list(), json('list', 'modules'), name);
      assert.deepEqual(reg.services.list(), json('list', 'services'), name);
      assert.deepEqual(reg.registrations.list(), json('list', 'registrations'), name);
      assert.deepEqual(reg.leases.list(), json('list', 'leases'), name);
      assert.deepEqual(reg.services.show('db'), json('show', 'db'), name);
      assert.deepEqual(reg.registrations.find({ service: 'api' }), json('find', '--service', 'api'), name);
      assert.deepEqual(reg.gc(), json('gc'), name);
    }
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
  assertThrowsCode(() => reg.modules.allocate(1, 'x'), 'ERR_PORT4ME_REGISTRY_CLOSED');
});

test('the default database is PORT4ME_DB (also in a worker thread)', async () => {
  const file = path.join(dir, 'default.sqlite');
  const restore = setPort4meEnv({ PORT4ME_DB: file });
  try {
    const reg = new Registry();
    assert.equal(reg.path, file);
    reg.modules.allocate(1, 'main');
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
    parentPort.postMessage({ path: reg.path, range: reg.modules.allocate(2, 'worker') });
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
    assertThrowsCode(() => reg.modules.allocate('3', 'web'), 'ERR_INVALID_ARG_TYPE', '"n"', 'string');
    assertThrowsCode(() => reg.modules.allocate(3, null), 'ERR_INVALID_ARG_TYPE', '"module"', 'null');
    assertThrowsCode(() => reg.modules.allocate(3, 'web', 6), 'ERR_INVALID_ARG_TYPE', '"protocol"');
    assertThrowsCode(() => reg.modules.allocate(3, 'web', 'tcp', { keepExisting: 'yes' }), 'ERR_INVALID_ARG_TYPE', 'options.keepExisting', 'boolean');
    assertThrowsCode(() => reg.modules.allocate(3, 'web', { keep: true }), 'ERR_INVALID_ARG_VALUE', '"keep"', 'keepExisting');
    assertThrowsCode(() => reg.services.define('x', 5, 30000, 30001), 'ERR_INVALID_ARG_TYPE', '"description"');
    assertThrowsCode(() => reg.services.define('x', '', '30000', 30001), 'ERR_INVALID_ARG_TYPE', '"start"');
    assertThrowsCode(() => reg.services.define('x', '', 30000, 30001, { force: 1 }), 'ERR_INVALID_ARG_TYPE', 'options.force');
    assertThrowsCode(() => reg.services.offer('db'), 'ERR_INVALID_ARG_TYPE', '"instance"', 'undefined');
    assertThrowsCode(() => reg.services.accept(12345), 'ERR_INVALID_ARG_TYPE', '"secret"');
    assertThrowsCode(() => reg.registrations.register(['web']), 'ERR_INVALID_ARG_TYPE', '"service"', 'Array');
    assertThrowsCode(() => reg.registrations.find({ name: 'web' }), 'ERR_INVALID_ARG_VALUE', '"name"', 'beginswith');
    assertThrowsCode(() => reg.registrations.find('web'), 'ERR_INVALID_ARG_TYPE', '"options"');

    // Values, checked in Rust.
    assertThrowsCode(() => reg.modules.allocate(1.5, 'web'), 'ERR_PORT4ME_INVALID_NUMBER', '1.5');
    assertThrowsCode(() => reg.modules.allocate(-1, 'web'), 'ERR_PORT4ME_INVALID_NUMBER', '-1');
    assertThrowsCode(() => reg.modules.allocate(NaN, 'web'), 'ERR_PORT4ME_INVALID_NUMBER', 'NaN');
    assertThrowsCode(() => reg.modules.allocate(0, 'web'), 'ERR_PORT4ME_REGISTRY_INVALID_COUNT', '0', 'web');
    assertThrowsCode(() => reg.modules.allocate(30000, 'web'), 'ERR_PORT4ME_REGISTRY_INVALID_COUNT', '30000', '20000-45000');
    assertThrowsCode(() => reg.modules.allocate(1, ''), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'module', 'empty');
    assertThrowsCode(() => reg.modules.allocate(1, 'a\nb'), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'control');
    assertThrowsCode(() => reg.modules.allocate(1, 'x'.repeat(201)), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', '200 bytes');
    assertThrowsCode(() => reg.modules.allocate(1, 'web', 'sctp'), 'ERR_INVALID_ARG_VALUE', 'sctp');
    assertThrowsCode(() => reg.modules.release('web', 'sctp'), 'ERR_INVALID_ARG_VALUE', 'sctp');
    assertThrowsCode(() => reg.services.define('x', '', NaN, 30001), 'ERR_PORT4ME_INVALID_PORT', 'start', 'NaN');
    assertThrowsCode(() => reg.services.define('x', '', 30000, 1.5), 'ERR_PORT4ME_INVALID_PORT', 'end', '1.5');
    assertThrowsCode(() => reg.services.define('x', '', 0, 30001), 'ERR_PORT4ME_REGISTRY_INVALID_RANGE', '0-30001', 'port 0');
    assertThrowsCode(() => reg.services.define('x', '', 70000, 70001), 'ERR_PORT4ME_REGISTRY_INVALID_RANGE', '70000-70001', '65535');
    assertThrowsCode(() => reg.services.define('x', 'a\0b', 30000, 30001), 'ERR_PORT4ME_REGISTRY_INVALID_TEXT', 'description');
    assertThrowsCode(() => reg.services.define('x', '', 30000, 30001, { protocol: 'icmp' }), 'ERR_INVALID_ARG_VALUE', 'icmp');
    assertThrowsCode(() => reg.registrations.register(' web'), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'white space');
    assertThrowsCode(() => reg.registrations.release(''), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'registration');
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
    assertThrowsCode(() => reg.modules.release('x', { force: 'yes' }), 'ERR_INVALID_ARG_TYPE', 'options.force', 'boolean');
    assertThrowsCode(() => reg.modules.release('x', 'tcp', { forced: true }), 'ERR_INVALID_ARG_VALUE', '"forced"', 'force');
    assertThrowsCode(() => reg.services.release('db', 'a', { force: 1 }), 'ERR_INVALID_ARG_TYPE', 'options.force');
    // Names allocate refuses, which other tools may have written, are fine to deallocate.
    assert.deepEqual(reg.modules.release(''), []);
    assert.deepEqual(reg.modules.release('x'.repeat(255), 'udp', { force: true }), []);
    assertThrowsCode(() => reg.modules.allocate(1, 'port4me:x'), 'ERR_PORT4ME_REGISTRY_INVALID_NAME', 'reserved');
    assert.deepEqual(reg.modules.allocate(2, 'web'), { start: 20000, end: 20001 });
    assert.deepEqual(reg.modules.release('web', { force: false }), [{ start: 20000, end: 20001 }]);

    reg.services.define('db', '', 30000, 30009);
    const accepted = reg.services.accept(reg.services.offer('db', 'a').secret);
    assert.equal(accepted.user, os.userInfo().username);
    const offered = reg.services.offer('db', 'b');
    assert.equal(reg.services.release('db', 'b').user, null, 'an offer records no user');
    assert.equal(reg.services.release('db', 'a').port, 30000);
    assertThrowsCode(() => reg.services.release('db', 'a'), 'ERR_PORT4ME_REGISTRY_UNKNOWN_INSTANCE', '"a"');
    assertThrowsCode(() => reg.services.accept(offered.secret), 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET');
    // The service's row in TCP_PORTS mirrors it; it is not a module.
    assertThrowsCode(() => reg.modules.release('port4me:service:db'), 'ERR_PORT4ME_REGISTRY_NOT_A_MODULE', '"db"', 'undefine');
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
      reg.modules.allocate(2, 'theirs');
      reg.services.define('svc', '', 31000, 31009);
      const sp = reg.services.accept(reg.services.offer('svc', 'a').secret);
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
      assertThrowsCode(() => reg.modules.release('theirs'), 'ERR_PORT4ME_REGISTRY_NOT_OWNER', `"${owner}"`, '"theirs"', 'force');
      assertThrowsCode(() => reg.services.release('svc', 'a'), 'ERR_PORT4ME_REGISTRY_NOT_OWNER', `"${owner}"`, '31000', 'force');
      assert.deepEqual(reg.modules.release('theirs', 'tcp', { force: true }), [{ start: 20000, end: 20001 }]);
      assert.equal(reg.services.release('svc', 'a', { force: true }).user, owner);
    } finally {
      reg.close();
    }
  } finally {
    rmSync(top, { recursive: true, force: true });
  }
});

// Two handles in one process, as documented usage makes them: a Registry and
// port4me({ reserve }). Opening the second must not drop the first one's
// SQLite locks, or another process that exits later takes itself for the
// last user, removes the log, and the first handle's acknowledged writes
// are lost (issue 17). Runs on the addon only: the fallback has no registry.
test('a second handle in this process and another process lose none of the first handle’s writes', { skip: onFallback && 'the WebAssembly fallback has no registry' }, () => {
  const db = path.join(dir, `two-handles-${++dbs}.sqlite`);
  const restore = setPort4meEnv({ PORT4ME_DB: db });
  try {
    const r = new Registry();
    r.modules.allocate(1, 'before');
    port4me({ reserve: 60, tool: 'x' });
    const other = spawnSync(process.execPath, [path.join(packageDir, 'cli.mjs'), 'registry', 'list', 'modules'], {
      env: cleanEnv({ PORT4ME_DB: db }),
      encoding: 'utf8',
    });
    assert.equal(other.status, 0, other.stderr);
    for (let i = 0; i < 40; i++) r.modules.allocate(1, `after${i}`);
    assert.equal(r.modules.list().length, 41);
    r.close();
    // Counted by another process, from the file alone.
    const listed = spawnSync(process.execPath, [path.join(packageDir, 'cli.mjs'), 'registry', '--json', 'list', 'modules'], {
      env: cleanEnv({ PORT4ME_DB: db }),
      encoding: 'utf8',
    });
    assert.equal(listed.status, 0, listed.stderr);
    const names = JSON.parse(listed.stdout).map((m) => m.module ?? m.name);
    assert.equal(names.filter((n) => n.startsWith('after')).length, 40, listed.stdout);
  } finally {
    restore();
  }
});

/** Whether this process can mount a /proc of its own in a new mount namespace (root, Linux, util-linux unshare). */
function canHideBootId() {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const r = spawnSync('unshare', ['--mount', 'sh', '-c', 'mount -t proc -o subset=pid proc /proc && test ! -e /proc/sys'], { encoding: 'utf8' });
  return r.status === 0;
}

// systemd's ProcSubset=pid hides /proc/sys, so the boot id cannot be read.
// Another process's gc or list there must not reclaim a live process's
// registration and lease (issue 17): unknown counts as alive.
test('an unreadable boot id reclaims no live registration or lease', { skip: (onFallback && 'the WebAssembly fallback has no registry') || (!canHideBootId() && 'needs root and unshare --mount to hide /proc/sys') }, async () => {
  const db = path.join(dir, `boot-id-${++dbs}.sqlite`);
  const env = cleanEnv({ PORT4ME_DB: db });
  const owner = spawn(
    process.execPath,
    ['-e', `const P = require(${JSON.stringify(packageDir)}); const r = new P.Registry(); r.registrations.register('web'); P.port4me({ reserve: 600, tool: 'x' }); console.log('READY'); setTimeout(() => {}, 600000);`],
    { env, cwd: packageDir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise((resolve, reject) => {
      owner.stdout.on('data', (d) => String(d).includes('READY') && resolve());
      owner.on('exit', (code) => reject(new Error(`the owner exited with ${code}`)));
    });
    const script = `const P = require(${JSON.stringify(packageDir)}); const r = new P.Registry(); console.log(JSON.stringify({ gc: r.gc(), list: r.list() }));`;
    const hidden = spawnSync('unshare', ['--mount', 'sh', '-c', `mount -t proc -o subset=pid proc /proc && exec "$0" -e "$1"`, process.execPath, script], {
      env,
      cwd: packageDir,
      encoding: 'utf8',
    });
    assert.equal(hidden.status, 0, hidden.stderr);
    const { gc, list } = JSON.parse(hidden.stdout);
    assert.deepEqual([gc.registrations, gc.leases], [0, 0], hidden.stdout);
    assert.deepEqual(list.registrations.map((r) => [r.name, r.ownerState]), [['web', 'unknown']]);
    assert.equal(list.leases.length, 1, hidden.stdout);
    // Seen with the boot id, the owner is alive and keeps both.
    const seen = new Registry(db);
    try {
      assert.deepEqual(seen.gc(), { registrations: 0, leases: 0, offers: 0 });
      assert.deepEqual(seen.registrations.list().map((r) => [r.name, r.ownerState]), [['web', 'alive']]);
    } finally {
      seen.close();
    }
  } finally {
    owner.kill('SIGKILL');
  }
});
