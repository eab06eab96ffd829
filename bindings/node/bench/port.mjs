// Benchmark: how long does it take to get "my" free port?
//
//   node bench/port.mjs [--calls=500] [--list-repeats=20] [--startup-runs=60] [--before=DIR]
//
// Every contender is asked for the same preferred port P = port4me('vite')
// (which is free), over and over, in interleaved rounds; each call is timed
// alone. Reported: median and p90 per call, and ratios.
//
//   port4me (sync)     port4me('vite') through the addon: resolve the
//                      environment, walk the sequence, probe P (one
//                      dual-stack bind)
//   port4me ({ tool }) port4me({ tool: 'vite' }): the options-object path
//   port4me (async)    port4meAsync('vite'): the same on the libuv pool
//   get-port           getPort({ port: P }) (locked-port memo cleared before
//                      each call, outside the timing, so P is really probed)
//   get-port-please    getPort({ port: P })
//   portfinder         getPortPromise({ port: P })
//   detect-port        detect(P)
//   fallback (sync)    the WebAssembly fallback that the package uses where no
//                      addon loads (npm/port4me/fallback.cjs), findTool('vite'):
//                      the wasm module resolves, a worker thread probes while
//                      the caller waits in Atomics.wait
//   fallback (async)   its port4meAsync path: wasm resolves, node:net probes
//   floor: bare bind   the addon's hidden _bareBindV4(P): socket() + bind()
//                      on 0.0.0.0 + close(), nothing else (the syscall floor,
//                      including the JS->Rust call); only in addons built with
//                      the cargo feature test-hooks (scripts/test-node.sh
//                      builds one), skipped otherwise
//   floor: net listen  net.createServer().listen(P) + close() (a JS floor)
//
// Then list({ n: 65535 }) through the addon against the reference Python
// package (conformance/.venv, made by `bash conformance/setup-reference.sh`),
// each timed inside its own process (no interpreter start-up).
//
// Last, what a vite.config.js pays in a fresh process: import + one call,
// beside get-port-please and get-port, over a bare node (bench/startup.mjs;
// --startup-runs=0 skips it, --before=DIR adds an earlier copy of the package).
//
// Not a test: figures depend on the machine and its load.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import getPort, { clearLockedPorts } from 'get-port';
import { getPort as getPortPlease } from 'get-port-please';
import portfinder from 'portfinder';
import { detect } from 'detect-port';
import { isPortFree, list, port4me, port4meAsync } from 'port4me';
import { reportStartup, runStartup } from './startup.mjs';

const require = createRequire(import.meta.url);
const { native, nativePath } = require('port4me')._internal;
const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');

const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const CALLS = arg('calls', 500);
const ROUNDS = 10;
const PER_ROUND = Math.ceil(CALLS / ROUNDS);
const WARMUP = 30;

// No testing hook: every probe is real.
delete process.env._PORT4ME_CHECK_AVAILABLE_PORTS_;
const P = port4me('vite');
if (!isPortFree(P)) throw new Error(`port ${P} is not free`);

const now = () => process.hrtime.bigint();
const check = (name, got) => {
  if (got !== P && got !== true) throw new Error(`${name} returned ${got}, expected ${P}`);
};

function netListen() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(P, () => s.close(() => resolve(P)));
  });
}

const toolOptions = { tool: 'vite' };
// The fallback backend, built the way binding.cjs builds it when forced.
const fallback = require(path.join(repoRoot, 'npm', 'port4me', 'fallback.cjs')).createFallback({
  triple: 'bench',
  pkg: 'port4me-bench',
  reason: 'benchmark',
  forced: true,
  listed: false,
});
const contenders = [
  { name: 'port4me (sync)', sync: () => port4me('vite') },
  { name: 'port4me ({ tool })', sync: () => port4me(toolOptions) },
  { name: 'port4me (async)', run: () => port4meAsync('vite') },
  { name: 'fallback (sync)', sync: () => fallback.findTool('vite') },
  { name: 'fallback (async)', run: () => fallback.findAsync({ tool: 'vite' }) },
  { name: 'get-port', before: clearLockedPorts, run: () => getPort({ port: P }) },
  { name: 'get-port-please', run: () => getPortPlease({ port: P }) },
  { name: 'portfinder', run: () => portfinder.getPortPromise({ port: P }) },
  { name: 'detect-port', run: () => detect(P) },
  { name: 'floor: bare bind', floor: true, sync: () => native._bareBindV4(P) },
  { name: 'floor: net listen', floor: true, run: netListen },
].filter((c) => c.name !== 'floor: bare bind' || typeof native._bareBindV4 === 'function');
const noBareBind = typeof native._bareBindV4 !== 'function';

async function timeOne(c) {
  if (c.before) c.before();
  if (c.sync) {
    const t0 = now();
    const r = c.sync();
    const t = now() - t0;
    check(c.name, r);
    return Number(t) / 1000;
  }
  const t0 = now();
  const r = await c.run();
  const t = now() - t0;
  check(c.name, r);
  return Number(t) / 1000;
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p90: q(0.9), n: s.length };
}

console.log(`port4me benchmark: node ${process.version}, ${process.platform}-${process.arch}, addon ${path.relative(repoRoot, nativePath)}`);
const userVar = ['PORT4ME_USER', 'LOGNAME', 'USER', 'LNAME', 'USERNAME'].find((k) => process.env[k]);
console.log(`user from ${userVar ?? 'the account name (no user variable set; cached per uid)'}`);
console.log(`preferred port P = ${P}; ${ROUNDS} interleaved rounds x ${PER_ROUND} calls per contender (+${WARMUP} warm-up)`);
if (noBareBind) console.log('floor: bare bind skipped: this addon has no _bareBindV4 (build it with the cargo feature test-hooks, as scripts/test-node.sh does)');
console.log('');

for (const c of contenders) {
  c.times = [];
  for (let i = 0; i < WARMUP; i++) await timeOne(c);
}
for (let r = 0; r < ROUNDS; r++) {
  for (const c of contenders) {
    for (let i = 0; i < PER_ROUND; i++) c.times.push(await timeOne(c));
  }
}

const results = contenders.map((c) => ({ ...c, ...stats(c.times) }));
const mine = results[0];
const fmt = (x) => x.toFixed(1).padStart(9);
console.log(`${'contender'.padEnd(20)} ${'median µs'.padStart(9)} ${'p90 µs'.padStart(9)}   vs port4me (sync), median`);
for (const r of results) {
  const ratio = r.median / mine.median;
  const what = r === mine ? '' : ratio >= 1 ? `${ratio.toFixed(1)}x slower` : `${(1 / ratio).toFixed(2)}x faster`;
  console.log(`${r.name.padEnd(20)} ${fmt(r.median)} ${fmt(r.p90)}   ${what}`);
}

const others = results.filter((r) => !r.floor && !r.name.startsWith('port4me'));
const fastest = others.reduce((a, b) => (a.median < b.median ? a : b));
const getPortR = results.find((r) => r.name === 'get-port');
const floor = results.find((r) => r.name === 'floor: bare bind');
const verdict = (ok) => (ok ? 'met' : 'NOT met');
console.log('\ntargets (medians):');
const r1 = fastest.median / mine.median;
console.log(`  >= 3x faster than the fastest other library (${fastest.name}): ${r1.toFixed(1)}x -> ${verdict(r1 >= 3)}`);
const r2 = getPortR.median / mine.median;
console.log(`  >= 20x faster than get-port: ${r2.toFixed(1)}x -> ${verdict(r2 >= 20)}`);
if (floor) {
  const r3 = mine.median / floor.median;
  console.log(`  within 1.15x of the floor (bare bind, ${floor.median.toFixed(1)} µs): ${r3.toFixed(2)}x -> ${verdict(r3 <= 1.15)}`);
  // A lookup that probes P can never beat the bare syscalls, so the best
  // ratio any implementation could reach against each library is library/floor.
  console.log(`  ceiling (a port4me costing exactly the floor): ${(fastest.median / floor.median).toFixed(1)}x vs ${fastest.name}, ${(getPortR.median / floor.median).toFixed(1)}x vs get-port`);
} else {
  console.log('  within 1.15x of the floor: not measured (no _bareBindV4 in this addon)');
}

// ---------------------------------------------------------------------------
// list({ n: 65535 }) vs the reference Python package.
const REPEATS = arg('list-repeats', 20);
// --list-repeats=0 skips this part.
if (REPEATS > 0) {
  const listEnv = { ...process.env };
  for (const k of Object.keys(listEnv)) if (k.startsWith('PORT4ME_') || k.startsWith('_PORT4ME_')) delete listEnv[k];
  const addonTimes = [];
  let first;
  for (let i = 0; i < REPEATS + 3; i++) {
    const t0 = now();
    const ports = list({ user: 'alice', n: 65535, env: {} });
    const t = Number(now() - t0) / 1e6;
    if (i >= 3) addonTimes.push(t);
    first = ports;
  }
  const addonList = stats(addonTimes);
  console.log(`\nlist({ user: 'alice', n: 65535 }):`);
  console.log(`  addon           median ${addonList.median.toFixed(2)} ms, p90 ${addonList.p90.toFixed(2)} ms (${REPEATS} runs)`);

  const python = path.join(repoRoot, 'conformance', '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    console.log('  reference       skipped: conformance/.venv is missing (run `bash conformance/setup-reference.sh`)');
  } else {
    const script = `
import json, statistics, time
from port4me import port4me
times = []
for i in range(${Math.max(3, Math.min(REPEATS, 7))}):
    t0 = time.perf_counter()
    ports = port4me(user="alice", list=65535)
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({"median": statistics.median(times), "p90": times[min(len(times) - 1, int(0.9 * len(times)))], "n": len(times), "head": ports[:5], "len": len(ports), "sum": sum(ports)}))
`;
    const r = spawnSync(python, ['-c', script], { encoding: 'utf8', env: listEnv });
    if (r.status !== 0) {
      console.log(`  reference       failed: ${r.stderr.trim().split('\n').pop()}`);
    } else {
      const ref = JSON.parse(r.stdout);
      const same = ref.len === first.length && ref.sum === first.reduce((a, b) => a + b, 0) && JSON.stringify(ref.head) === JSON.stringify(first.slice(0, 5));
      console.log(`  reference 0.7.0 median ${ref.median.toFixed(2)} ms, p90 ${ref.p90.toFixed(2)} ms (${ref.n} runs, Python)`);
      console.log(`  addon is ${(ref.median / addonList.median).toFixed(0)}x faster; same ports: ${same ? 'yes' : 'NO'}`);
    }
  }
}

// ---------------------------------------------------------------------------
// A fresh process: import + port4me('vite'), beside get-port-please and get-port.
const STARTUP_RUNS = arg('startup-runs', 60);
if (STARTUP_RUNS > 0) {
  const before = process.argv.find((x) => x.startsWith('--before='))?.slice('--before='.length) ?? null;
  console.log('');
  const { byName } = runStartup({ runs: STARTUP_RUNS, before, port: P });
  reportStartup(byName);
}
