#!/usr/bin/env node
// Keeps the packages of this repository in step with one another.
//
// One version: the workspace version in Cargo.toml is the version of every
// crate, of `port4me` on npm, of every platform package and of every entry of
// `optionalDependencies`. One platform list: npm/platforms.json. One template:
// npm/template/ (package.json and README.md with {{placeholders}}), from
// which every npm/port4me-<platform>/ folder is generated.
//
//   node scripts/packages.mjs write            # regenerate the platform packages and optionalDependencies
//   node scripts/packages.mjs check            # fail (exit 1) when anything differs from what `write` makes
//   node scripts/packages.mjs version 0.2.0    # set the version everywhere, then `write`
//   node scripts/packages.mjs prepack          # (npm's prepack hook) refuse to pack an incomplete package
//   node scripts/packages.mjs platforms        # the platform table as TSV, for shell scripts
//
// Only Node's standard library: it runs before any `npm ci`.

import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rel = (p) => path.relative(root, p) || '.';
const read = (p) => readFileSync(p, 'utf8');
const readJson = (p) => {
  try {
    return JSON.parse(read(p));
  } catch (e) {
    throw new Error(`${rel(p)}: ${e.message}`);
  }
};
const json = (value) => `${JSON.stringify(value, null, 2)}\n`;

const LICENSES = ['LICENSE-MIT', 'LICENSE-APACHE'];

export function platforms() {
  const table = readJson(path.join(root, 'npm', 'platforms.json'));
  const seen = new Set();
  for (const p of table.platforms) {
    for (const key of ['name', 'rust', 'build', 'os', 'cpu', 'floor', 'run', 'label']) {
      if (typeof p[key] !== 'string' || p[key] === '') throw new Error(`npm/platforms.json: platform ${JSON.stringify(p.name)} has no "${key}"`);
    }
    if (seen.has(p.name)) throw new Error(`npm/platforms.json: platform ${p.name} is listed twice`);
    seen.add(p.name);
  }
  return table.platforms;
}

/** The workspace version: `version = "x.y.z"` under [workspace.package] in Cargo.toml. */
export function workspaceVersion() {
  const toml = read(path.join(root, 'Cargo.toml'));
  const section = toml.split(/^\[workspace\.package\]\s*$/m)[1];
  const m = section && section.match(/^version\s*=\s*"([^"]+)"/m);
  if (!m) throw new Error('Cargo.toml: no version under [workspace.package]');
  return m[1];
}

const SEMVER = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/;

function fill(text, vars, where) {
  return text.replace(/\{\{(\w+)\}\}/g, (_, key) => {
    if (!(key in vars)) throw new Error(`${where}: unknown placeholder {{${key}}}`);
    return vars[key];
  });
}

/** The files of one platform package, as { relative path: content }. */
function platformFiles(p, version) {
  const vars = { ...p, version, libc: p.libc ?? '', libcNote: p.libc ? ` / ${p.libc}` : '' };
  const template = readJson(path.join(root, 'npm', 'template', 'package.json'));
  const pkg = {};
  for (const [key, value] of Object.entries(template)) {
    if (key === 'os' || key === 'cpu' || key === 'libc') {
      const v = fill(value, vars, 'npm/template/package.json');
      if (v !== '') pkg[key] = [v];
    } else {
      pkg[key] = JSON.parse(fill(JSON.stringify(value), vars, 'npm/template/package.json'));
    }
  }
  const readme = fill(read(path.join(root, 'npm', 'template', 'README.md')), vars, 'npm/template/README.md');
  const ignore = '# The addon (scripts/build-release.sh) and the licence files (copied by `npm pack`).\n*.node\nLICENSE-*\n';
  return { 'package.json': json(pkg), 'README.md': readme, '.gitignore': ignore };
}

/** Every file `write` produces, as [absolute path, content]. */
function expected(version) {
  const out = [];
  for (const p of platforms()) {
    const dir = path.join(root, 'npm', `port4me-${p.name}`);
    for (const [name, content] of Object.entries(platformFiles(p, version))) out.push([path.join(dir, name), content]);
  }
  // The main package: its version and one optional dependency per platform.
  const mainPath = path.join(root, 'npm', 'port4me', 'package.json');
  const main = readJson(mainPath);
  main.version = version;
  main.optionalDependencies = Object.fromEntries(platforms().map((p) => [`port4me-${p.name}`, version]));
  main.scripts = { ...main.scripts, prepack: 'node ../../scripts/packages.mjs prepack' };
  out.push([mainPath, json(main)]);
  // binding.cjs carries the version too, so that loading the package reads no package.json.
  const bindingPath = path.join(root, 'npm', 'port4me', 'binding.cjs');
  out.push([bindingPath, read(bindingPath).replace(/^const VERSION = '[^']*';$/m, `const VERSION = '${version}';`)]);
  // The development harness installs the package under test from the folder.
  return out;
}

function stalePlatformDirs() {
  const names = new Set(platforms().map((p) => `port4me-${p.name}`));
  return readdirSync(path.join(root, 'npm')).filter((d) => d.startsWith('port4me-') && !names.has(d));
}

/** Places outside npm/ that must carry the workspace version. */
function versionProblems(version) {
  const problems = [];
  const toml = read(path.join(root, 'Cargo.toml'));
  for (const m of toml.matchAll(/^(port4me[\w-]*)\s*=\s*\{[^}]*version\s*=\s*"([^"]+)"/gm)) {
    if (m[2] !== version) problems.push(`Cargo.toml: [workspace.dependencies] ${m[1]} is ${m[2]}, the workspace is ${version}`);
  }
  const lock = read(path.join(root, 'Cargo.lock'));
  for (const m of lock.matchAll(/^name = "(port4me[\w-]*)"\nversion = "([^"]+)"/gm)) {
    if (m[2] !== version) problems.push(`Cargo.lock: ${m[1]} is ${m[2]}, the workspace is ${version} (run cargo update --workspace)`);
  }
  for (const dir of readdirSync(path.join(root, 'crates'))) {
    const manifest = path.join(root, 'crates', dir, 'Cargo.toml');
    if (!existsSync(manifest)) continue;
    const own = read(manifest).match(/^version\s*=\s*"([^"]+)"/m);
    if (own && own[1] !== version) problems.push(`${rel(manifest)}: version ${own[1]} instead of version.workspace = true`);
  }
  return problems;
}

function write() {
  const version = workspaceVersion();
  let changed = 0;
  for (const [file, content] of expected(version)) {
    mkdirSync(path.dirname(file), { recursive: true });
    if (existsSync(file) && read(file) === content) continue;
    writeFileSync(file, content);
    console.log(`packages: wrote ${rel(file)}`);
    changed++;
  }
  for (const d of stalePlatformDirs()) console.log(`packages: warning: npm/${d} is not in npm/platforms.json; remove it`);
  const problems = versionProblems(version);
  for (const p of problems) console.error(`packages: ${p}`);
  console.log(`packages: version ${version}, ${platforms().length} platforms, ${changed} file(s) updated`);
  return problems.length === 0;
}

function check() {
  const version = workspaceVersion();
  const problems = versionProblems(version);
  for (const [file, content] of expected(version)) {
    if (!existsSync(file)) problems.push(`${rel(file)} is missing`);
    else if (read(file) !== content) problems.push(`${rel(file)} differs from what npm/template, npm/platforms.json and the version make`);
  }
  for (const d of stalePlatformDirs()) problems.push(`npm/${d} is not in npm/platforms.json`);
  if (problems.length > 0) {
    console.error(`packages: Error: ${problems.length} problem(s); \`node scripts/packages.mjs write\` fixes generated files:`);
    for (const p of problems) console.error(`  ${p}`);
    return false;
  }
  console.log(`packages: ok: version ${version} everywhere, ${platforms().length} platform packages match the template`);
  return true;
}

function setVersion(version) {
  if (!SEMVER.test(version ?? '')) throw new Error(`version: ${JSON.stringify(version)} is not a semantic version like 1.2.3`);
  const tomlPath = path.join(root, 'Cargo.toml');
  let toml = read(tomlPath);
  const [head, rest] = toml.split(/^(?=\[workspace\.package\]\s*$)/m);
  toml = head + rest.replace(/^version\s*=\s*"[^"]+"/m, `version = "${version}"`);
  toml = toml.replace(/^(port4me[\w-]*\s*=\s*\{[^}]*version\s*=\s*")[^"]+(")/gm, `$1${version}$2`);
  writeFileSync(tomlPath, toml);
  console.log(`packages: Cargo.toml is now ${version}; run \`cargo update --workspace\` to update Cargo.lock`);
  return write();
}

/**
 * npm's prepack hook, run in the package folder being packed: copies the
 * licence files in and refuses to pack a package whose payload (the addon, or
 * the WebAssembly module) was not built.
 */
function prepack() {
  const dir = process.cwd();
  const pkg = readJson(path.join(dir, 'package.json'));
  for (const name of LICENSES) copyFileSync(path.join(root, name), path.join(dir, name));
  const missing = [];
  const need = (file) => {
    const p = path.join(dir, file);
    if (!existsSync(p) || statSync(p).size === 0) missing.push(file);
  };
  if (pkg.name === 'port4me') {
    // The browser module (its glue and its bytes inlined) and the Node
    // fallback's module: bindings/wasm/build.sh makes all of them.
    for (const f of ['wasm/port4me.mjs', 'wasm/port4me_bytes.mjs', 'wasm/port4me_node.cjs', 'wasm/port4me_node_bg.wasm']) need(f);
  } else {
    need(pkg.main);
  }
  if (missing.length > 0) {
    console.error(`npm pack: Error: ${pkg.name} is incomplete: ${missing.join(', ')} not built (in ${rel(dir)}).`);
    console.error('Build it first: `bash scripts/build-release.sh` (every platform) or `bash scripts/test-node.sh` / `bash bindings/wasm/build.sh`.');
    return false;
  }
  return true;
}

function main(argv) {
  const [cmd, ...args] = argv;
  switch (cmd) {
    case 'write':
      return write();
    case 'check':
      return check();
    case 'version':
      return setVersion(args[0]);
    case 'prepack':
      return prepack();
    case 'platforms':
      for (const p of platforms()) console.log([p.name, p.rust, p.build, p.run, p.macos ?? '-', p.libc ?? '-'].join('\t'));
      return true;
    default:
      console.error('usage: node scripts/packages.mjs write | check | version X.Y.Z | prepack | platforms');
      return false;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2)) ? 0 : 1;
  } catch (e) {
    console.error(`packages: Error: ${e.message}`);
    process.exitCode = 2;
  }
}
