// Benchmark: what the WebAssembly fallback costs a fresh process.
//
//   node bench/fallback.mjs [--runs=30]
//
// Each run is a fresh `node` with PORT4ME_NATIVE_ADDON=none that times,
// inside itself: require('port4me') (which loads the WebAssembly module),
// the first port4me('vite') (which starts the probe worker thread), a
// second one, and a list() before any probe (no worker). Medians and
// p25-p75 over --runs runs; the addon's first call beside it, in the same
// rounds, for the ratio. The README's figures for the fallback are these.
//
// Not a test: figures depend on the machine and its load.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.resolve(here, '..', '..', '..', 'npm', 'port4me');
const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};
const runs = arg('runs', 30);

const script = `
const t0 = performance.now();
const p = require(${JSON.stringify(path.join(packageDir, 'index.cjs'))});
const t1 = performance.now();
p.list({ tool: 'vite', n: 5 });
const t2 = performance.now();
p.port4me('vite');
const t3 = performance.now();
p.port4me('vite');
const t4 = performance.now();
console.log(JSON.stringify({ backend: p._internal.backend, load: t1 - t0, list: t2 - t1, first: t3 - t2, second: t4 - t3 }));
`;

const env = { ...process.env };
delete env.NODE_OPTIONS;
const runOne = (backend) => {
  const r = spawnSync(process.execPath, ['-e', script], {
    env: backend === 'wasm' ? { ...env, PORT4ME_NATIVE_ADDON: 'none' } : env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`${backend} run failed (status ${r.status}):\n${r.stderr}`);
  const out = JSON.parse(r.stdout);
  if (out.backend !== backend) throw new Error(`asked for ${backend}, ran on ${out.backend}`);
  return out;
};

const results = { wasm: [], native: [] };
for (let i = 0; i < runs; i++) for (const b of i % 2 ? ['wasm', 'native'] : ['native', 'wasm']) results[b].push(runOne(b));

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p25: q(0.25), p75: q(0.75) };
};
const cell = (rows, key) => {
  const s = stats(rows.map((r) => r[key]));
  const f = (x) => (x < 1 ? x.toFixed(2) : x.toFixed(1));
  return `${f(s.median)} (${f(s.p25)}-${f(s.p75)})`.padStart(20);
};
console.log(`fresh process, ${runs} interleaved runs each (node ${process.version}); ms, median (p25-p75)`);
console.log(`${'backend'.padEnd(8)} ${'require'.padStart(20)} ${'list() first'.padStart(20)} ${'port4me() first'.padStart(20)} ${'port4me() second'.padStart(20)}`);
for (const b of ['native', 'wasm']) {
  const rows = results[b];
  console.log(`${b.padEnd(8)} ${cell(rows, 'load')} ${cell(rows, 'list')} ${cell(rows, 'first')} ${cell(rows, 'second')}`);
}
const first = stats(results.wasm.map((r) => r.first)).median;
console.log(`\ntarget: the fallback's first synchronous port4me() at most 30 ms (Node 20): ${first.toFixed(1)} ms -> ${first <= 30 ? 'met' : 'NOT met'}`);
console.log(`ratio, first port4me(): fallback / addon = ${(first / stats(results.native.map((r) => r.first)).median).toFixed(1)}`);
