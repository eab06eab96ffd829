'use strict';
// Node worker of the registry torture test (scripts/torture/run.sh): one
// process with several `Registry` handles on PORT4ME_DB (one of them
// reopened now and then) and `port4me({ reserve })` beside them, doing
// random writes until --until (Unix seconds) or a SIGKILL.
//
//   node node_worker.cjs --log FILE --tag TAG --until UNIX [--handles N]
//
// It logs to FILE in the format verify.py reads (the Rust and CLI workers
// write the same): `begin OP ARGS` before an operation, `ack OP ARGS
// RESULTS` once it succeeded, `err OP CODE` once it failed in a way racing
// workers explain, `unexpected OP CODE MESSAGE` otherwise (then exit 1),
// `read OP` after a read. Each line is one write(2) to an O_APPEND file, so
// a SIGKILL loses at most the line of the operation in flight, and never
// leaves an ack in the log that the registry did not give.

const fs = require('node:fs');
const path = require('node:path');
const { Registry, port4me } = require(path.join(__dirname, '../../npm/port4me'));

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const tag = args.tag;
const until = Number(args.until) * 1000;
const log = fs.openSync(args.log, 'a');
const line = (s) => fs.writeSync(log, s + '\n');

// Errors that racing workers explain: a pool or a service filled up, a
// random range overlapping someone else's.
const RACES = new Set([
  'ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED',
  'ERR_PORT4ME_REGISTRY_RANGE_CONFLICT',
  'ERR_PORT4ME_REGISTRY_SERVICE_FULL',
  'ERR_PORT4ME_NO_FREE_PORT',
]);

const below = (n) => Math.floor(Math.random() * n);
const pick = (a) => a[below(a.length)];

/** Logs an error racing workers do not explain, and ends the worker. */
function unexpected(op, e) {
  line(`unexpected ${op} ${e.code} ${String(e.message).replace(/\n/g, ' ')}`);
  process.exit(1);
}

const handles = [];
function open() {
  let r;
  try {
    r = new Registry();
  } catch (e) {
    unexpected('open', e);
  }
  line('read open');
  return r;
}
for (let i = 0; i < Number(args.handles || 3); i++) handles.push(open());

// What this process holds, to pick sensible next operations.
const modules = new Map(); // "proto name" -> [proto, name]
const services = [];
const offers = new Map(); // "service instance" -> { service, instance, secret, accepted }
const registrations = [];
const leases = []; // [proto, port]
let seq = 0;

/** Runs `fn` as operation `op ARGS`, logged before and after. */
function write(op, argv, fn) {
  const a = argv.join(' ');
  line(`begin ${op} ${a}`);
  let results;
  try {
    results = fn();
  } catch (e) {
    if (RACES.has(e.code)) return line(`err ${op} ${e.code}`);
    unexpected(op, e);
  }
  line(`ack ${op} ${a} ${results.join(' ')}`.trimEnd());
}

function step() {
  const reg = pick(handles);
  const proto = below(2) ? 'tcp' : 'udp';
  const k = below(100);
  seq++;
  if (k < 25) {
    const name = `${tag}m${below(6)}`;
    const n = 1 + below(8);
    const keep = below(5) === 0;
    write('alloc', [proto, name, n, keep ? 1 : 0], () => {
      const r = reg.modules.allocate(n, name, proto, { keepExisting: keep });
      modules.set(`${proto} ${name}`, [proto, name]);
      return [r.start, r.end];
    });
  } else if (k < 35) {
    if (!modules.size) return;
    const [p, name] = pick([...modules.values()]);
    write('dealloc', [p, name], () => {
      reg.modules.release(name, p);
      modules.delete(`${p} ${name}`);
      return [];
    });
  } else if (k < 40) {
    const name = `${tag}s${seq}`;
    const start = 40000 + below(4900);
    const end = start + below(8);
    write('define', [name, start, end], () => {
      reg.services.define(name, 'torture', start, end);
      services.push(name);
      return [];
    });
  } else if (k < 42) {
    if (!services.length) return;
    const name = pick(services);
    write('undefine', [name], () => {
      reg.services.undefine(name, { force: true });
      services.splice(services.indexOf(name), 1);
      for (const [key, o] of offers) if (o.service === name) offers.delete(key);
      return [];
    });
  } else if (k < 55) {
    if (!services.length) return;
    const service = pick(services);
    const instance = `i${below(6)}`;
    if (offers.has(`${service} ${instance}`)) return;
    write('offer', [service, instance], () => {
      const o = reg.services.offer(service, instance);
      offers.set(`${service} ${instance}`, { service, instance, secret: o.secret, accepted: false });
      return [o.port];
    });
  } else if (k < 66) {
    if (!offers.size) return;
    const o = pick([...offers.values()]);
    const key = `${o.service} ${o.instance}`;
    const what = below(3);
    if (what === 0) {
      write('accept', [o.service, o.instance], () => {
        const sp = reg.services.accept(o.secret);
        o.accepted = true;
        return [sp.port];
      });
    } else if (what === 1 && !o.accepted) {
      // An accepted offer can only be released.
      write('reject', [o.service, o.instance], () => {
        reg.services.reject(o.secret);
        offers.delete(key);
        return [];
      });
    } else {
      write('relinst', [o.service, o.instance], () => {
        reg.services.release(o.service, o.instance);
        offers.delete(key);
        return [];
      });
    }
  } else if (k < 76) {
    // Owned by this process: gone with it (gc's part of the check).
    const name = `${tag}r${seq}`;
    write('register', [name, 'self'], () => {
      const r = reg.registrations.register(name);
      registrations.push(r.name);
      return [r.port];
    });
  } else if (k < 82) {
    if (!registrations.length) return;
    const name = pick(registrations);
    write('release', [name], () => {
      reg.registrations.release(name);
      registrations.splice(registrations.indexOf(name), 1);
      return [];
    });
  } else if (k < 90) {
    // port4me({ reserve }) keeps a handle of its own beside ours.
    write('reserve', [proto, 'self'], () => {
      const port = port4me({ reserve: 600, tool: tag, protocol: proto });
      leases.push([proto, port]);
      return [port];
    });
  } else if (k < 94) {
    if (!leases.length) return;
    const l = pick(leases);
    write('unreserve', [l[0], l[1]], () => {
      if (!reg.leases.release(l[1], l[0])) {
        const e = new Error(`our lease on ${l[1]} was not there`);
        e.code = 'LEASE_GONE';
        throw e;
      }
      leases.splice(leases.indexOf(l), 1);
      return [];
    });
  } else if (k < 97) {
    // A new handle replaces one, while the others stay open.
    const i = below(handles.length);
    handles[i].close();
    handles[i] = open();
  } else {
    try {
      if (k < 99) reg.list();
      else reg.gc();
    } catch (e) {
      unexpected('read', e);
    }
    line(`read ${k < 99 ? 'list' : 'gc'}`);
  }
}

while (Date.now() < until) step();
