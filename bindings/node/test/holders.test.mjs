// whoHolds, status, describeBusy and plan against real sockets of this
// process (and of a child process, for the kill strategy).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Registry, describeBusy, isPortFree, list, plan, status, whoHolds } from 'port4me';
import { assertThrowsCode, bindUdp, cliCommands, close, listenTcp, setPort4meEnv } from './helpers.mjs';

const linux = process.platform === 'linux';
const me = os.userInfo().username;

let dir;
let restoreEnv;
let server; // a TCP listener of this process on 127.0.0.1
let taken;
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'port4me-holders-'));
  // An empty registry, so that status() never reads the user's own.
  restoreEnv = setPort4meEnv({ PORT4ME_DB: path.join(dir, 'ports.sqlite'), PORT4ME_USER: `holders-${process.pid}` });
  server = await listenTcp('127.0.0.1');
  taken = server.address().port;
});
after(async () => {
  await close(server);
  restoreEnv();
  rmSync(dir, { recursive: true, force: true });
});

/** A port that is free right now (bound by the kernel's choice, then closed). */
async function freePort() {
  const s = await listenTcp('127.0.0.1');
  const port = s.address().port;
  await close(s);
  return port;
}

test('whoHolds: a net.createServer listener of this very process', { skip: !linux && 'Linux only' }, () => {
  const holders = whoHolds(taken);
  const h = holders.find((x) => x.state === 'LISTEN');
  assert.ok(h, JSON.stringify(holders));
  assert.equal(h, holders[0], 'server sockets first');
  assert.equal(h.protocol, 'tcp');
  assert.equal(h.localAddress, `127.0.0.1:${taken}`);
  assert.equal(h.remoteAddress, null);
  assert.equal(h.access, 'visible');
  assert.equal(h.uid, os.userInfo().uid);
  assert.equal(h.user, me);
  assert.ok(h.inode > 0);
  const p = h.processes.find((x) => x.pid === process.pid);
  assert.ok(p, JSON.stringify(h.processes));
  assert.equal(p.name, 'node');
  assert.equal(p.user, me);
  assert.ok(Array.isArray(p.cmdline) && p.cmdline.length > 0);
  assert.ok(h.description.startsWith(`node (pid ${process.pid}, ${me})`), h.description);
  assert.deepEqual(whoHolds(taken, { protocol: 'tcp' }).map((x) => x.inode), holders.map((x) => x.inode));
});

test('whoHolds: UDP, and nothing on a free port', { skip: !linux && 'Linux only' }, async () => {
  const socket = await bindUdp('127.0.0.1');
  const port = socket.address().port;
  try {
    const [h] = whoHolds(port, { protocol: 'udp' });
    assert.equal(h.state, 'UDP_BOUND');
    assert.equal(h.protocol, 'udp');
    assert.equal(h.processes[0].pid, process.pid);
    assert.equal(describeBusy(port, { protocol: 'udp' }), `${port}/udp is in use by ${h.description}`);
  } finally {
    await close(socket);
  }
  const free = await freePort();
  assert.deepEqual(whoHolds(free), []);
  assert.equal(describeBusy(free), null);
});

test('describeBusy: one sentence naming the holder', { skip: !linux && 'Linux only' }, () => {
  const sentence = describeBusy(taken);
  assert.ok(sentence.startsWith(`${taken} is in use by node (pid ${process.pid}, ${me}): `), sentence);
  assert.equal(describeBusy(taken, { protocol: 'tcp' }), sentence);
});

// A process name that sets the terminal's title and clears its screen
// (12 bytes: comm holds 15), and how the sentences show it.
const HOSTILE = '\x1b]0;PWN\x07\x1b[2J';
const SHOWN = '\\x1b]0;PWN\\x07\\x1b[2J';
const CONTROLS = /[\x00-\x1f\x7f-\x9f]/;

test('names other processes chose: escaped in every sentence (describeBusy, descriptions, conflicts), raw in the fields', { skip: !linux && 'Linux only' }, async () => {
  const child = spawn(process.execPath, ['-e', `
    require('node:fs').writeFileSync('/proc/self/comm', ${JSON.stringify(HOSTILE)});
    const s = require('node:net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = Number(await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim()))));
    const sentence = describeBusy(port);
    assert.ok(sentence.startsWith(`${port} is in use by ${SHOWN} (pid ${child.pid}, `), JSON.stringify(sentence));
    assert.doesNotMatch(sentence, CONTROLS);
    const [holder] = whoHolds(port);
    assert.equal(holder.processes[0].name, HOSTILE);
    assert.ok(holder.description.startsWith(`${SHOWN} (pid ${child.pid}`), JSON.stringify(holder.description));
    const s = status(port, { registry: false });
    assert.equal(s.holders[0].processes[0].name, HOSTILE);
    assert.ok(s.description.includes(SHOWN) && !CONTROLS.test(s.description), JSON.stringify(s.description));
    const [web] = plan({ web: port }).services;
    assert.equal(web.conflict.holders[0].processes[0].name, HOSTILE);
    assert.ok(web.conflict.message.includes(SHOWN) && !CONTROLS.test(web.conflict.message), JSON.stringify(web.conflict));
  } finally {
    child.kill('SIGKILL');
  }
});

test('the kill strategy refusing to stop this process names it escaped', { skip: !linux && 'Linux only' }, () => {
  const original = readFileSync('/proc/self/comm', 'utf8').replace(/\n$/, '');
  writeFileSync('/proc/self/comm', HOSTILE);
  try {
    const [web] = plan({ web: taken }, { strategy: 'kill', graceMs: 0 }).services;
    const { kill } = web.conflict;
    assert.equal(kill.targets[0].name, HOSTILE);
    assert.deepEqual(kill.signals, []);
    assert.ok(kill.refused.includes(`pid ${process.pid} (${SHOWN}) is this very process`), JSON.stringify(kill.refused));
    assert.doesNotMatch(kill.refused, CONTROLS);
  } finally {
    writeFileSync('/proc/self/comm', original);
  }
});

test('status: at most 1024 ports at once, as `port4me status`', () => {
  // A million used to block the event loop for half a minute, and take a gigabyte.
  const many = Array.from({ length: 1_000_000 }, (_, i) => 1 + (i % 65535));
  const started = Date.now();
  assertThrowsCode(() => status(many), 'ERR_INVALID_ARG_VALUE', '1000000 given', 'at most 1024');
  assert.ok(Date.now() - started < 10000, `${Date.now() - started} ms`);
  assertThrowsCode(() => status(many.slice(0, 1025), { registry: false }), 'ERR_INVALID_ARG_VALUE', '1025 given');
});

test('status: occupied with holders, free, unsafe, reserved; one port or several', { skip: !linux && 'Linux only' }, async () => {
  const s = status(taken);
  assert.equal(s.port, taken);
  assert.equal(s.protocol, 'tcp');
  assert.equal(s.availability, 'occupied');
  assert.equal(s.label, 'occupied');
  assert.deepEqual(s.labels, ['occupied']);
  assert.equal(s.blockedReason, null);
  assert.deepEqual(s.unsafeFor, []);
  assert.equal(s.reserved, null);
  assert.ok(s.holders.some((h) => h.processes.some((p) => p.pid === process.pid && p.name === 'node')));
  assert.ok(s.description.startsWith(`in use by node (pid ${process.pid}`), s.description);

  const free = await freePort();
  const both = status([taken, free], { protocol: 'tcp' });
  assert.equal(both.length, 2);
  assert.deepEqual(both.map((x) => [x.port, x.label]), [[taken, 'occupied'], [free, 'free']]);
  assert.deepEqual(both[1].holders, []);
  assert.deepEqual(status([]), []);

  // 6000 (X11) is refused by Chrome and Firefox.
  const x11 = status(6000);
  assert.deepEqual(x11.unsafeFor, ['chrome', 'firefox']);
  assert.ok(x11.labels.includes('unsafe'));

  // A registration in the registry (PORT4ME_DB) shows as reserved.
  const reg = new Registry();
  try {
    const r = reg.registrations.register('status-test');
    if (isPortFree(r.port)) {
      const rs = status(r.port);
      assert.equal(rs.label, 'reserved');
      assert.deepEqual(rs.labels, ['free', 'reserved']);
      assert.equal(rs.reserved.kind, 'registration');
      assert.equal(rs.reserved.name, 'status-test');
      assert.equal(rs.reserved.pid, process.pid);
      assert.equal(rs.reserved.owner, me);
      assert.equal(status(r.port, { registry: false }).reserved, null);
    }
    reg.registrations.release(r.name);
  } finally {
    reg.close();
  }
});

test('plan keeps free ports and moves a taken one to its own sequence', { skip: !linux && 'Linux only' }, async () => {
  const free = await freePort();
  const user = `plan-${process.pid}`;
  const p = plan({ web: taken, api: free }, { user });
  assert.equal(p.strategy, 'alternative');
  assert.deepEqual(p.services.map((s) => s.name), ['web', 'api']);
  const [web, api] = p.services;
  assert.equal(api.outcome, 'kept');
  assert.equal(api.port, free);
  assert.equal(api.conflict, null);
  assert.equal(web.outcome, 'moved');
  assert.equal(web.preferred, taken);
  assert.notEqual(web.port, taken);
  assert.ok(list({ tool: 'web', user, n: 20 }).includes(web.port), `${web.port} is from web's own sequence`);
  assert.equal(web.conflict.cause, 'in_use');
  assert.ok(web.conflict.message.startsWith(`${taken} is in use by node (pid ${process.pid}`), web.conflict.message);
  assert.equal(web.conflict.holders[0].processes[0].pid, process.pid);
  assert.equal(typeof web.conflict.holders[0].description, 'string');
  assert.equal(web.conflict.kill, null);

  // Order is kept for a Map and for [name, port] pairs; a port wanted twice goes to the first.
  const fromMap = plan(new Map([['b', free], ['a', free]]), { user });
  assert.deepEqual(fromMap.services.map((s) => [s.name, s.outcome]), [['b', 'kept'], ['a', 'moved']]);
  assert.equal(fromMap.services[1].conflict.cause, 'service');
  assert.equal(fromMap.services[1].conflict.service, 'b');
  assert.deepEqual(plan([['z', free]], { user }).services.map((s) => s.port), [free]);
});

test('whoHolds, status and plan are what `port4me who/status/plan --json` prints', { skip: !linux && 'Linux only' }, (t) => {
  const user = `cli-compare-${process.pid}`;
  const ours = {
    who: whoHolds(taken),
    status: status([taken, 6000], { registry: false }),
    plan: plan({ web: taken, x11: 6000 }, { user }),
  };
  // The fields for people are there (the CLI's tables show them too).
  assert.ok(ours.who.every((h) => typeof h.description === 'string' && h.description !== ''));
  for (const [name, command, pre] of cliCommands(t)) {
    const json = (...args) => {
      const r = spawnSync(command, [...pre, ...args, '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, `${name} ${args.join(' ')}: ${r.stderr}`);
      return JSON.parse(r.stdout);
    };
    // Key order aside (deepStrictEqual compares objects' keys as sets), the same values.
    assert.deepEqual(ours.who, json('who', String(taken)), name);
    assert.deepEqual(ours.status, json('status', String(taken), '6000', '--no-registry'), name);
    assert.deepEqual(ours.plan, json('plan', `web=${taken}`, 'x11=6000', `--user=${user}`), name);
  }
});

test('plan with strategy "fail" throws ERR_PORT4ME_PLAN_CONFLICT with the plan attached', { skip: !linux && 'Linux only' }, async () => {
  const free = await freePort();
  const err = assertThrowsCode(() => plan({ web: taken, api: free }, { strategy: 'fail' }), 'ERR_PORT4ME_PLAN_CONFLICT', 'web', String(taken));
  assert.equal(err.plan.strategy, 'fail');
  const [web, api] = err.plan.services;
  assert.equal(web.outcome, 'unresolved');
  assert.equal(web.port, null);
  assert.equal(web.conflict.cause, 'in_use');
  assert.equal(api.outcome, 'kept');
  // Nothing taken: no error.
  assert.equal(plan({ api: free }, { strategy: 'fail' }).services[0].outcome, 'kept');
});

test('plan with strategy "kill" stops a process of this user holding the port', { skip: !linux && 'Linux only' }, async () => {
  const child = spawn(process.execPath, ['-e', `
    const s = require('node:net').createServer().listen(0, '127.0.0.1', () => console.log(s.address().port));
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
  try {
    const port = Number(await new Promise((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim()))));
    const p = plan({ svc: port }, { strategy: 'kill', graceMs: 5000 });
    const [svc] = p.services;
    assert.equal(svc.outcome, 'freed', JSON.stringify(svc.conflict));
    assert.equal(svc.port, port);
    assert.equal(svc.conflict.kill.freed, true);
    assert.deepEqual(svc.conflict.kill.signals, [{ pid: child.pid, signal: 'SIGTERM' }]);
    assert.equal(svc.conflict.kill.targets[0].pid, child.pid);
    assert.equal(await exited, 'SIGTERM');
  } finally {
    child.kill('SIGKILL');
  }
});

test('bad input: each with its code and a message naming the value', () => {
  for (const [fn, call] of [
    ['whoHolds', (port) => whoHolds(port)],
    ['status', (port) => status(port)],
    ['status[]', (port) => status([80, port])],
    ['describeBusy', (port) => describeBusy(port)],
    ['plan', (port) => plan({ web: port })],
  ]) {
    for (const bad of [0, 70000, -1, 1.5, NaN, Infinity]) {
      assertThrowsCode(() => call(bad), 'ERR_PORT4ME_INVALID_PORT', String(bad));
    }
    for (const bad of ['foo', '80', null, undefined, 80n, {}]) {
      if (fn === 'status' && typeof bad === 'object' && bad !== null) continue; // an object is neither a port nor an array
      assertThrowsCode(() => call(bad), 'ERR_INVALID_ARG_TYPE');
    }
  }
  assertThrowsCode(() => status({}), 'ERR_INVALID_ARG_TYPE', '"ports"');
  assertThrowsCode(() => plan({ web: 70000 }), 'ERR_PORT4ME_INVALID_PORT', '70000', 'web');

  // Options.
  assertThrowsCode(() => whoHolds(80, { protocol: 'sctp' }), 'ERR_INVALID_ARG_VALUE', 'sctp');
  assertThrowsCode(() => status(80, { protocol: 'sctp' }), 'ERR_INVALID_ARG_VALUE', 'sctp');
  assertThrowsCode(() => describeBusy(80, { protocol: 5 }), 'ERR_INVALID_ARG_TYPE', 'options.protocol');
  assertThrowsCode(() => whoHolds(80, { host: '::1' }), 'ERR_INVALID_ARG_VALUE', '"host"');
  assertThrowsCode(() => status(80, { registry: 'no' }), 'ERR_INVALID_ARG_TYPE', 'options.registry', 'boolean');
  assertThrowsCode(() => whoHolds(80, 'tcp'), 'ERR_INVALID_ARG_TYPE', '"options"');

  // Plans.
  assertThrowsCode(() => plan({}), 'ERR_PORT4ME_PLAN_EMPTY');
  assertThrowsCode(() => plan([['a', 3000], ['a', 3001]]), 'ERR_PORT4ME_PLAN_DUPLICATE_SERVICE', '"a"');
  assertThrowsCode(() => plan({ 'my web': 3000 }), 'ERR_PORT4ME_PLAN_INVALID_SERVICE', 'my web', 'whitespace');
  assertThrowsCode(() => plan({ '': 3000 }), 'ERR_PORT4ME_PLAN_INVALID_SERVICE', 'name');
  assertThrowsCode(() => plan({ web: 3000 }, { strategy: 'nuke' }), 'ERR_PORT4ME_PLAN_INVALID_STRATEGY', 'nuke');
  assertThrowsCode(() => plan({ web: 3000 }, { force: true }), 'ERR_PORT4ME_PLAN_INVALID_OPTIONS', 'kill');
  assertThrowsCode(() => plan({ web: 3000 }, { strategy: 'kill', graceMs: -1 }), 'ERR_PORT4ME_INVALID_NUMBER', 'graceMs', '-1');
  assertThrowsCode(() => plan({ web: 3000 }, { graceMs: '5' }), 'ERR_INVALID_ARG_TYPE', 'options.graceMs');
  assertThrowsCode(() => plan({ web: 3000 }, { grace: 5 }), 'ERR_INVALID_ARG_VALUE', '"grace"', 'graceMs');
  assertThrowsCode(() => plan('web=3000'), 'ERR_INVALID_ARG_TYPE', '"services"');
  assertThrowsCode(() => plan(null), 'ERR_INVALID_ARG_TYPE', '"services"');
  assertThrowsCode(() => plan([['web']]), 'ERR_INVALID_ARG_TYPE', 'services[0]');
  assertThrowsCode(() => plan([[5, 3000]]), 'ERR_INVALID_ARG_TYPE', 'name');
});

test('ESM and CommonJS export the same functions', () => {
  const cjs = createRequire(import.meta.url)('port4me');
  assert.equal(cjs.whoHolds, whoHolds);
  assert.equal(cjs.status, status);
  assert.equal(cjs.plan, plan);
  assert.equal(cjs.describeBusy, describeBusy);
});
