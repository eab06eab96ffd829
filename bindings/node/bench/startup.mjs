// Benchmark: what a vite.config.js pays for port4me, in a fresh process.
//
//   node bench/startup.mjs [--runs=60] [--before=DIR] [--addon=FILE]
//
// Each contender is a tiny script (ESM .mjs or CommonJS .cjs) run by a fresh
// `node`: the whole import plus one call, then exit. Wall-clock time of the
// process, in interleaved rounds (one run of every contender per round, in a
// shuffled order), median over --runs runs. Reported as the overhead over a
// bare node running an empty script of the same module kind (node's own
// start-up is the same for everyone and is subtracted), and at the end over
// the empty package, port4me beside get-port-please.
//
// Beside the wall clock, each process reports its CPU time (user + system,
// all threads) when it exits: every script ends with the same line, which
// prints process.cpuUsage() on stderr. On a loaded machine the wall clock
// mostly measures waiting; the CPU time stays close to the work done.
//
//   node (bare)                         an empty script
//   port4me                             port4me('vite') (import from 'port4me' / require('port4me'))
//   get-port-please                     getPort({ port: P }), awaited
//   get-port                            getPort({ port: P }), awaited (ESM only)
//   addon alone                         require() of the addon file itself and its
//                                       findTool('vite'): what no JavaScript costs
//                                       (a floor for the port4me rows)
//   empty package                       import/require of a package by name whose
//                                       entry files are empty: what Node itself
//                                       charges any package (resolving its name
//                                       through node_modules and "exports" costs
//                                       about 1 ms at the first import)
//   dlopen package                      the same, both entries loading the addon
//                                       with process.dlopen() and no module
//                                       loader: the least any package built on
//                                       a native addon costs
//   addon package                       the same package, its entry loading the
//                                       addon (createRequire in its ESM entry, as
//                                       Node 20 has no other way to load one),
//                                       and findTool('vite'): the floor for any
//                                       package built on a native addon
//
// P is port4me('vite') (free), so every library probes the same free port.
// --before=DIR adds port4me from DIR (a copy of npm/port4me, e.g. from an
// earlier commit, with its addon as DIR/../port4me-<platform>/) beside the
// current one, measured in the same rounds. --addon=FILE adds the current
// port4me with another addon, e.g. one built without the command line
// (`cargo build --release -p port4me-node --no-default-features`): what the
// CLI inside the addon costs the import.
//
// The scripts live in a temporary directory whose node_modules is a link to
// bindings/node/node_modules: packages resolve as in a project that installed
// them. Not a test: figures depend on the machine and its load.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const nodeModules = path.resolve(here, '..', 'node_modules');

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p25: q(0.25), p75: q(0.75), n: s.length };
}

// The last line of every script: its CPU time, on stderr when it exits
// (process._rawDebug writes synchronously, without making process.stderr).
const CPU_MARK = 'port4me-bench-cpu-us';
const CPU_LINE = `process.on('exit', () => { const u = process.cpuUsage(); process._rawDebug('${CPU_MARK} ' + (u.user + u.system)); });\n`;

/**
 * Runs the fresh-process benchmark; returns `{ rows, byName }`, each row
 * `{ name, kind, median, p25, p75, overhead, cpu }` in ms (overhead: median
 * minus the bare node median of the same kind; `cpu`: the same figures of
 * the CPU time).
 */
export function runStartup({ runs = 60, before = null, addon: otherAddon = null, port, log = console.log } = {}) {
  const require = createRequire(import.meta.url);
  const P = port ?? require('port4me').port4me('vite');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'port4me-startup-'));
  try {
    symlinkSync(nodeModules, path.join(dir, 'node_modules'), 'dir');
    const contenders = [];
    const add = (name, kind, source, base = dir) => {
      const file = path.join(base, `${contenders.length}.${kind === 'esm' ? 'mjs' : 'cjs'}`);
      writeFileSync(file, source + CPU_LINE);
      contenders.push({ name, kind, file, times: [], cpu: [] });
    };
    add('node (bare)', 'esm', '');
    add('node (bare)', 'cjs', '');
    add('port4me', 'esm', "import { port4me } from 'port4me';\nport4me('vite');\n");
    add('port4me', 'cjs', "require('port4me').port4me('vite');\n");
    if (before) {
      // A project of its own whose node_modules/port4me is the earlier copy.
      const project = path.join(dir, 'before');
      mkdirSync(path.join(project, 'node_modules'), { recursive: true });
      symlinkSync(path.resolve(before), path.join(project, 'node_modules', 'port4me'), 'dir');
      add('port4me (before)', 'esm', "import { port4me } from 'port4me';\nport4me('vite');\n", project);
      add('port4me (before)', 'cjs', "require('port4me').port4me('vite');\n", project);
    }
    if (otherAddon) {
      // A copy of the package whose platform package holds the other addon.
      const project = path.join(dir, 'other-addon');
      const modules = path.join(project, 'node_modules');
      const pkg = path.dirname(require.resolve('port4me/package.json'));
      const triple = require(path.join(pkg, 'binding.cjs')).platformTriple();
      mkdirSync(path.join(modules, `port4me-${triple}`), { recursive: true });
      cpSync(pkg, path.join(modules, 'port4me'), { recursive: true });
      cpSync(path.resolve(otherAddon), path.join(modules, `port4me-${triple}`, `port4me.${triple}.node`));
      add('port4me, other addon', 'esm', "import { port4me } from 'port4me';\nport4me('vite');\n", project);
      add('port4me, other addon', 'cjs', "require('port4me').port4me('vite');\n", project);
    }
    add('get-port-please', 'esm', `import { getPort } from 'get-port-please';\nawait getPort({ port: ${P} });\n`);
    add('get-port-please', 'cjs', `require('get-port-please').getPort({ port: ${P} });\n`);
    add('get-port', 'esm', `import getPort from 'get-port';\nawait getPort({ port: ${P} });\n`);
    const addon = JSON.stringify(require('port4me')._internal.nativePath);
    // Packages of our own, in a project of their own: `empty-package` and
    // `addon-package` (see above), with an "exports" map like port4me's.
    const floors = path.join(dir, 'floors');
    const makePackage = (name, mjs, cjs) => {
      const pkg = path.join(floors, 'node_modules', name);
      mkdirSync(pkg, { recursive: true });
      const exportsMap = { '.': { import: './index.mjs', require: './index.cjs' } };
      writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name, version: '1.0.0', main: './index.cjs', exports: exportsMap }));
      writeFileSync(path.join(pkg, 'index.mjs'), mjs);
      writeFileSync(path.join(pkg, 'index.cjs'), cjs);
    };
    makePackage('empty-package', 'export {};\n', '');
    add('empty package', 'esm', "import 'empty-package';\n", floors);
    add('empty package', 'cjs', "require('empty-package');\n", floors);
    if (addon !== 'null') {
      add('addon alone', 'esm', `import { createRequire } from 'node:module';\ncreateRequire(import.meta.url)(${addon}).findTool('vite');\n`);
      add('addon alone', 'cjs', `require(${addon}).findTool('vite');\n`);
      makePackage(
        'addon-package',
        `import { createRequire } from 'node:module';\nexport const { findTool } = createRequire(import.meta.url)(${addon});\n`,
        `module.exports = require(${addon});\n`,
      );
      add('addon package', 'esm', "import { findTool } from 'addon-package';\nfindTool('vite');\n", floors);
      add('addon package', 'cjs', "require('addon-package').findTool('vite');\n", floors);
      // The same with process.dlopen() in both entries, as port4me's ESM
      // entry does: no CommonJS loader at all, the least any package
      // built on a native addon can cost.
      const dlopen = `const m = { exports: {} };\nprocess.dlopen(m, ${addon});\n`;
      makePackage('dlopen-package', `${dlopen}export const { findTool } = m.exports;\n`, `${dlopen}module.exports = m.exports;\n`);
      add('dlopen package', 'esm', "import { findTool } from 'dlopen-package';\nfindTool('vite');\n", floors);
      add('dlopen package', 'cjs', "require('dlopen-package').findTool('vite');\n", floors);
    }

    const env = { ...process.env };
    delete env._PORT4ME_CHECK_AVAILABLE_PORTS_;
    delete env.NODE_OPTIONS;
    // Read at every start-up (tens of ms for a system bundle), the same for
    // every contender: it only adds noise.
    delete env.NODE_EXTRA_CA_CERTS;
    const runOne = (c) => {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [c.file], { cwd: path.dirname(c.file), env, encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const mark = r.stderr.match(new RegExp(`^${CPU_MARK} (\\d+)\n`, 'm'));
      const stderr = r.stderr.replace(mark?.[0] ?? '', '');
      if (r.status !== 0 || stderr || !mark) throw new Error(`${c.name} (${c.kind}) failed: status ${r.status}\n${r.stderr}`);
      return [ms, Number(mark[1]) / 1000];
    };
    // Warm the file cache, and check every script runs.
    for (const c of contenders) runOne(c);
    for (let round = 0; round < runs; round++) {
      const order = [...contenders];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      for (const c of order) {
        const [ms, cpu] = runOne(c);
        c.times.push(ms);
        c.cpu.push(cpu);
      }
    }
    const bare = {};
    for (const c of contenders) if (c.name === 'node (bare)') bare[c.kind] = { wall: stats(c.times).median, cpu: stats(c.cpu).median };
    const rows = contenders.map((c) => {
      const s = stats(c.times);
      const cpu = stats(c.cpu);
      return { name: c.name, kind: c.kind, ...s, overhead: s.median - bare[c.kind].wall, cpu: { ...cpu, overhead: cpu.median - bare[c.kind].cpu } };
    });
    const over = (r, x) => (r.name === 'node (bare)' ? '' : `${x >= 0 ? '+' : ''}${x.toFixed(1)} ms`);
    log(`fresh process: import + one call, ${runs} interleaved runs each (node ${process.version}, P = ${P})`);
    log(`${''.padEnd(29)} ${'wall clock'.padEnd(35)} CPU time`);
    log(`${'contender'.padEnd(24)} ${'kind'.padEnd(4)} ${'median ms'.padStart(9)} ${'p25-p75 ms'.padStart(13)} ${'over bare'.padStart(10)}  ${'median ms'.padStart(9)} ${'over bare'.padStart(10)}`);
    for (const r of rows) {
      log(
        `${r.name.padEnd(24)} ${r.kind.padEnd(4)} ${r.median.toFixed(1).padStart(9)} ${`${r.p25.toFixed(1)}-${r.p75.toFixed(1)}`.padStart(13)} ${over(r, r.overhead).padStart(10)}` +
          `  ${r.cpu.median.toFixed(1).padStart(9)} ${over(r, r.cpu.overhead).padStart(10)}`,
      );
    }
    const byName = (name, kind) => rows.find((r) => r.name === name && r.kind === kind);
    return { rows, byName };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name) => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? a.slice(name.length + 3) : undefined;
  };
  const { byName } = runStartup({ runs: Number(arg('runs') ?? 60), before: arg('before') ?? null, addon: arg('addon') ?? null });
  reportStartup(byName);
}

/**
 * Prints the start-up target's verdict: port4me over a bare node, and what
 * of that is port4me's own (over the dlopen package, the floor for any
 * package built on a native addon).
 */
export function reportStartup(byName, log = console.log) {
  log("\ntarget: import + port4me('vite') at most 1.5 ms over a bare node of the same module kind");
  for (const kind of ['esm', 'cjs']) {
    const r = byName('port4me', kind);
    const floor = byName('dlopen package', kind) ?? byName('addon package', kind) ?? byName('empty package', kind);
    const own = floor ? `; ${(r.median - floor.median).toFixed(2)} ms over the ${floor.name} (+${floor.overhead.toFixed(2)} ms itself)` : '';
    log(`  ${kind}: +${r.overhead.toFixed(2)} ms -> ${r.overhead <= 1.5 ? 'met' : 'NOT met'}${own}`);
  }
  const empty = { esm: byName('empty package', 'esm'), cjs: byName('empty package', 'cjs') };
  const names = ['port4me', 'port4me (before)', 'port4me, other addon', 'dlopen package', 'addon package', 'get-port-please'].filter((n) =>
    byName(n, 'esm'),
  );
  const cell = (r, e, key) => {
    const a = key === 'cpu' ? r.cpu.median : r.median;
    const b = key === 'cpu' ? e.cpu.median : e.median;
    return `${a - b >= 0 ? '+' : ''}${(a - b).toFixed(2)} ms`.padStart(10);
  };
  log('\nover the empty package (medians; the ESM target: port4me at most 2 ms)');
  log(`${''.padEnd(22)} ${'ESM wall'.padStart(10)} ${'ESM CPU'.padStart(10)} ${'CJS wall'.padStart(10)} ${'CJS CPU'.padStart(10)}`);
  for (const name of names) {
    const [esm, cjs] = [byName(name, 'esm'), byName(name, 'cjs')];
    log(`${name.padEnd(22)} ${cell(esm, empty.esm, 'wall')} ${cell(esm, empty.esm, 'cpu')} ${cell(cjs, empty.cjs, 'wall')} ${cell(cjs, empty.cjs, 'cpu')}`);
  }
}
