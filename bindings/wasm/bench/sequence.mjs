// The first 65,535 ports for user "alice", three ways, in one run:
//   wasm    sequence({ user: 'alice', n: 65535 }) in Node (npm/port4me/wasm)
//   native  the Rust core's Query::list(65535), the list the wasm build
//           runs, via the native_bench example of port4me-wasm
//           (cargo run --release)
//   python  the reference, port4me(user='alice', list=65535), timed
//           in-process with timeit (conformance/.venv; skipped if absent:
//           `bash conformance/setup-reference.sh` creates it)
// Every figure is the median (and the minimum) of single calls after a
// warm-up. Prints medians and ratios. Targets: wasm >= 0.5x native, >= 100x
// Python.
//
//   node bindings/wasm/bench/sequence.mjs [N]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const N = Number(process.argv[2] ?? 65535);
const SAMPLES = 301; // wasm and native: single calls
const PY_SAMPLES = 31; // python: single calls (~10 ms each)

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
}

// --- wasm -------------------------------------------------------------------
const wasmDir = path.join(root, 'npm/port4me/wasm');
if (!existsSync(path.join(wasmDir, 'port4me_bg.wasm'))) {
  console.error('bench: npm/port4me/wasm is not built: run bindings/wasm/build.sh first');
  process.exit(1);
}
const wasm = await import(path.join(wasmDir, 'port4me.mjs'));
wasm.initSync({ module: readFileSync(path.join(wasmDir, 'port4me_bg.wasm')) });
const wasmPorts = Array.from(wasm.sequence({ user: 'alice', n: N }));

// One call per sample, as timeit(number=1) does for Python, so that every
// median is the median of single calls.
function timeWasm() {
  // Warm up for half a second: V8 compiles with Liftoff first and swaps in
  // TurboFan code from a background thread some time later.
  for (const t0 = performance.now(); performance.now() - t0 < 500; ) wasm.sequence({ user: 'alice', n: N });
  const samples = [];
  for (let r = 0; r < SAMPLES; r++) {
    const t = process.hrtime.bigint();
    wasm.sequence({ user: 'alice', n: N });
    samples.push(Number(process.hrtime.bigint() - t));
  }
  return stats(samples);
}
const wasmT = timeWasm();
const wasmNs = wasmT.median;

// --- native -----------------------------------------------------------------
let native;
try {
  const out = execFileSync(
    'cargo',
    ['run', '--quiet', '--release', '-p', 'port4me-wasm', '--example', 'native_bench', '--', String(N), String(SAMPLES)],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  native = JSON.parse(out.trim().split('\n').pop());
} catch (err) {
  console.error(`bench: native run failed: ${err.message}`);
}

// --- python -----------------------------------------------------------------
const python = path.join(root, 'conformance/.venv/bin/python');
let py;
if (existsSync(python)) {
  const script = `
import json, sys, timeit
import port4me
n = int(sys.argv[1])
ports = port4me.port4me(user='alice', list=n)
runs = timeit.repeat(lambda: port4me.port4me(user='alice', list=n), number=1, repeat=${PY_SAMPLES})
runs.sort()
print(json.dumps({"median_ns": runs[len(runs) // 2] * 1e9, "min_ns": runs[0] * 1e9, "ports": ports}))
`;
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^_?PORT4ME_/.test(k)));
  try {
    py = JSON.parse(execFileSync(python, ['-c', script, String(N)], { encoding: 'utf8', env, maxBuffer: 64 << 20 }));
  } catch (err) {
    console.error(`bench: python run failed: ${err.message}`);
  }
} else {
  console.log('bench: conformance/.venv is absent, skipping the Python reference (bash conformance/setup-reference.sh)');
}

// --- report -----------------------------------------------------------------
const us = (ns) => `${(ns / 1000).toFixed(1).padStart(9)} us`;
const row = (name, med, min) => console.log(`  ${name.padEnd(34)}${us(med)}  (min ${us(min).trim()})`);
console.log(`first ${N} ports for user "alice": median time of one call (and the fastest); ${SAMPLES} calls each for wasm and native, ${PY_SAMPLES} for python`);
row(`wasm (Node ${process.version})`, wasmT.median, wasmT.min);
if (native) {
  row('native core Query::list', native.core_list_ns, native.core_list_min_ns);
}
if (py) {
  row('python reference port4me 0.7.0', py.median_ns, py.min_ns);
  const same = py.ports.length === wasmPorts.length && py.ports.every((p, i) => p === wasmPorts[i]);
  console.log(`  same ${N} ports from python and wasm: ${same ? 'yes' : 'NO'}`);
  if (!same) process.exitCode = 1;
}
console.log('speed of wasm relative to each (> 1: wasm is faster), from medians (from minima):');
const verdict = (ok) => (ok ? 'target met' : 'TARGET MISSED');
const ratio = (a, b, digits) => `${(a / b).toFixed(digits)}x`;
if (native) {
  const r = native.core_list_ns / wasmNs;
  console.log(`  vs native core Query::list        ${ratio(native.core_list_ns, wasmNs, 2)} (${ratio(native.core_list_min_ns, wasmT.min, 2)})   target >= 0.5x: ${verdict(r >= 0.5)}`);
}
if (py) {
  const r = py.median_ns / wasmNs;
  console.log(`  vs python reference               ${ratio(py.median_ns, wasmNs, 0)} (${ratio(py.min_ns, wasmT.min, 0)})   target >= 100x: ${verdict(r >= 100)}`);
}
console.log(`load average while measuring: ${(await import('node:os')).loadavg().map((x) => x.toFixed(2)).join(' ')} on ${(await import('node:os')).availableParallelism?.() ?? '?'} CPUs`);
