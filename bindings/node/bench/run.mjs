// Benchmark: what `port4me run` adds to starting a command.
//
//   node bench/run.mjs [--runs=60] [--bin=PATH] [--before=PATH] [--child=true]
//
// Whole processes, wall clock, in interleaved rounds (one run of each
// contender per round, in a shuffled order), median over --runs rounds:
//
//   direct                 the child alone (`true`, or --child=PROGRAM)
//   port4me run            `port4me run --tool bench -- CHILD`: parse, search,
//                          hold the port in the registry (one SQLite write,
//                          flushed), start the child, wait, pass its status on
//   npx port4me run        the same through the npm package's cli.mjs (a fresh
//                          node loading the addon): what `npx port4me run`
//                          adds, npx's own start-up left out
//
// The registry is a fresh file in a temporary directory (PORT4ME_DB), on
// the file system of os.tmpdir(). Each held port is reclaimed when its
// runner exits, so every run finds the same port. The target is at most
// 5 ms added by `port4me run` (the native binary); the last line says
// whether this run met it.
//
// --before=PATH adds `PATH run ...` (another build of the CLI, e.g. of an
// earlier commit) to the same rounds, on a registry of its own, for a
// before/after ratio measured side by side.
//
// --bin defaults to target/release/port4me (CARGO_TARGET_DIR honoured),
// else target/debug/port4me (much slower: build with cargo build --release
// -p port4me-cli first).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.join(here, '..', '..', '..');
const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)=(.*)$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}: expected --runs=N, --bin=PATH, --before=PATH or --child=PROGRAM`);
    return [m[1], m[2]];
  }),
);
const runs = Number(args.runs ?? 60);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs=${args.runs}: expected a whole number >= 1`);
const exe = process.platform === 'win32' ? 'port4me.exe' : 'port4me';
const target = process.env.CARGO_TARGET_DIR ?? path.join(repo, 'target');
const bin = args.bin ?? [path.join(target, 'release', exe), path.join(target, 'debug', exe)].find(existsSync);
if (!bin || !existsSync(bin)) throw new Error('no port4me binary: cargo build --release -p port4me-cli, or pass --bin=PATH');
const child = args.child ?? 'true';
const cli = path.join(repo, 'npm', 'port4me', 'cli.mjs');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'port4me-bench-run-'));
const env = { ...process.env, PORT4ME_DB: path.join(tmp, 'ports.sqlite'), PORT4ME_USER: 'bench' };
delete env.PORT4ME_TOOL;
delete env.PORT4ME_PORT;

const contenders = [
  ['direct', child, []],
  ['port4me run', bin, ['run', '--tool', 'bench', '--', child]],
  ['npx port4me run', process.execPath, [cli, 'run', '--tool', 'bench', '--', child]],
];
if (args.before !== undefined) {
  if (!existsSync(args.before)) throw new Error(`--before=${args.before}: no such file`);
  // A registry of its own: the two builds may not share a file format.
  const db = path.join(tmp, 'before.sqlite');
  contenders.push(['before: run', args.before, ['run', '--tool', 'bench', '--', child], { ...env, PORT4ME_DB: db }]);
}

function once([name, command, argv, envOf = env]) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(command, argv, { env: envOf, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

try {
  // Warm-up: page cache, the registry file created.
  for (const c of contenders) once(c);
  const times = new Map(contenders.map(([name]) => [name, []]));
  for (let i = 0; i < runs; i++) {
    const order = [...contenders].sort(() => Math.random() - 0.5);
    for (const c of order) times.get(c[0]).push(once(c));
  }
  const direct = median(times.get('direct'));
  console.log(`port4me run overhead: ${runs} interleaved rounds, whole processes, wall clock; child: ${child}; ${bin}`);
  console.log(`${'contender'.padEnd(18)}${'median ms'.padStart(11)}${'added ms'.padStart(11)}`);
  for (const [name] of contenders) {
    const m = median(times.get(name));
    console.log(`${name.padEnd(18)}${m.toFixed(2).padStart(11)}${(name === 'direct' ? '' : (m - direct).toFixed(2)).padStart(11)}`);
  }
  const added = median(times.get('port4me run')) - direct;
  if (times.has('before: run')) {
    const before = median(times.get('before: run')) - direct;
    console.log(`added by port4me run: ${added.toFixed(2)} ms, by the --before build ${before.toFixed(2)} ms (${(added / before).toFixed(2)}x)`);
  }
  console.log(`port4me run adds ${added.toFixed(2)} ms to starting ${child} (target: at most 5 ms): ${added <= 5 ? 'met' : 'NOT met'}`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
