// `port4me run` and the Vite plugin across processes: two git worktrees of
// one repository, each running a real Vite dev server (through the plugin
// with `tool: 'vite@{worktree}'`, and through `npx port4me run -- vite
// --port {port} --strictPort`), get two ports that are the same on every
// restart; two Vite servers started at once in one checkout get two; ps()
// lists them. Native addon only (the registry).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ps, Registry } from 'port4me';
import { cleanEnv, onFallback } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const packageDir = path.join(here, '..', '..', '..', 'npm', 'port4me');
const cli = path.join(packageDir, 'cli.mjs');
const viteBin = path.join(here, '..', 'node_modules', 'vite', 'bin', 'vite.js');
const skip = (onFallback && 'needs the addon') || (process.platform === 'win32' && 'Unix signals');

let tmp;
let env;
let checkouts;

/** `git` with an identity, in `cwd`; whether it worked. */
function git(cwd, ...args) {
  const r = spawnSync('git', ['-c', 'user.name=port4me', '-c', 'user.email=port4me@example.invalid', ...args], { cwd, stdio: 'ignore' });
  return r.status === 0;
}

before(() => {
  if (skip) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'port4me-run-'));
  const main = path.join(tmp, 'app');
  const linked = path.join(tmp, 'app-feature-x');
  mkdirSync(main);
  const config =
    `import port4me from ${JSON.stringify(pathToFileURL(path.join(packageDir, 'vite.mjs')).href)};\n` +
    `export default { clearScreen: false, optimizeDeps: { noDiscovery: true, include: [] }, plugins: [port4me({ tool: 'vite@{worktree}' })] };\n`;
  writeFileSync(path.join(main, 'index.html'), '<!doctype html><title>port4me</title>\n');
  writeFileSync(path.join(main, 'vite.config.mjs'), config);
  // A real repository and a linked worktree (whose .git is a file); by
  // hand where there is no git.
  const real = git(main, 'init', '-q') && git(main, 'add', '.') && git(main, 'commit', '-q', '-m', 'app') && git(main, 'worktree', 'add', '-q', linked);
  if (!real) {
    rmSync(linked, { recursive: true, force: true });
    mkdirSync(path.join(main, '.git'), { recursive: true });
    mkdirSync(linked);
    writeFileSync(path.join(linked, '.git'), `gitdir: ${main}/.git/worktrees/app-feature-x\n`);
    writeFileSync(path.join(linked, 'index.html'), '<!doctype html><title>port4me</title>\n');
    writeFileSync(path.join(linked, 'vite.config.mjs'), config);
  }
  checkouts = { app: main, 'app-feature-x': linked };
  env = cleanEnv({ PORT4ME_USER: `run-test-${process.pid}`, PORT4ME_DB: path.join(tmp, 'ports.sqlite'), NO_COLOR: '1' });
});

after(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** ps() as this test's registry sees it. */
function listed() {
  const saved = process.env.PORT4ME_DB;
  process.env.PORT4ME_DB = env.PORT4ME_DB;
  try {
    return ps();
  } finally {
    if (saved === undefined) delete process.env.PORT4ME_DB;
    else process.env.PORT4ME_DB = saved;
  }
}

/**
 * Whether a server answers HTTP on `port` (localhost, else 127.0.0.1). The
 * client closes the connection first: a connection the server closes
 * stays in TIME_WAIT on the server's port for a minute, and port4me's
 * probe, like the reference's, counts such a port as busy, so the next
 * start would move on to the next port.
 */
function answers(port) {
  const get = (host) =>
    new Promise((resolve) => {
      const req = http.get({ host, port, path: '/', timeout: 5000, agent: false }, (res) => {
        res.resume();
        res.on('end', () => {
          res.socket.destroy();
          resolve(res.statusCode === 200);
        });
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
    });
  return get('localhost').then((ok) => ok || get('127.0.0.1'));
}

/** Starts `args` (node with a script) in `cwd`; returns the child. */
function start(cwd, args, extraEnv = {}) {
  const child = spawn(process.execPath, args, { cwd, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.output = '';
  child.stdout.on('data', (d) => (child.output += d));
  child.stderr.on('data', (d) => (child.output += d));
  child.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return child;
}

/** The port Vite listens on: from its "Local:" line (within 30 s). */
async function listening(child) {
  const start = Date.now();
  while (Date.now() - start < 30000) {
    const m = /Local:\s+http:\/\/[^:]+:(\d+)/.exec(child.output.replace(/\x1b\[[0-9;]*m/g, ''));
    if (m) return Number(m[1]);
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Vite did not start:\n${child.output}`);
}

/** Stops `children` with SIGTERM; returns how each ended. */
async function stop(children) {
  for (const c of children) c.kill('SIGTERM');
  return Promise.all(children.map((c) => c.exited));
}

/** One round: a Vite server in each checkout at once, started by `how`; their ports. */
async function round(how) {
  const children = Object.values(checkouts).map((dir) => {
    if (how === 'plugin') return start(dir, [viteBin]);
    // The tool from PORT4ME_TOOL (`run` would name it `vite` after the command).
    const tool = { PORT4ME_TOOL: 'vite@{worktree}' };
    if (how === 'run') return start(dir, [cli, 'run', '--', path.join(path.dirname(viteBin), '..', '..', '.bin', 'vite'), '--port', '{port}', '--strictPort'], tool);
    // No --port: the plugin in the config takes PORT4ME_PORT.
    return start(dir, [cli, 'run', '--', viteBin], tool);
  });
  try {
    const ports = await Promise.all(children.map(listening));
    for (const p of ports) assert.ok(await answers(p), `nothing answers on ${p}`);
    const holdings = listed();
    assert.equal(holdings.length, 2, JSON.stringify(holdings));
    // The same list from a Registry handle on that file.
    const reg = new Registry(env.PORT4ME_DB);
    try {
      assert.deepEqual(reg.running().map((h) => [h.port, h.pid, h.command]), holdings.map((h) => [h.port, h.pid, h.command]));
    } finally {
      reg.close();
    }
    for (const [i, [name, dir]] of Object.entries(checkouts).entries()) {
      const h = holdings.find((x) => x.port === ports[i]);
      assert.ok(h, `${ports[i]} is not listed: ${JSON.stringify(holdings)}`);
      assert.equal(h.worktree, name);
      assert.equal(h.seed, `${env.PORT4ME_USER},vite@${name}`);
      assert.equal(h.url, `http://localhost:${ports[i]}`);
      assert.equal(path.resolve(h.directory), path.resolve(dir));
      assert.ok(h.command.includes('vite'), h.command);
    }
    return Object.fromEntries(Object.keys(checkouts).map((name, i) => [name, ports[i]]));
  } finally {
    const ends = await stop(children);
    // Through `run`, Vite's own exit on SIGTERM comes back as the runner's.
    for (const e of ends) assert.ok(e.code !== null || e.signal === 'SIGTERM', JSON.stringify(e));
  }
}

test('two worktrees: two Vite servers, two ports, the same on every restart, by the plugin and by run', { skip }, async () => {
  const rounds = [];
  for (const how of ['plugin', 'run', 'run-env', 'plugin']) rounds.push([how, await round(how)]);
  const [first] = rounds;
  assert.notEqual(first[1].app, first[1]['app-feature-x']);
  for (const [how, ports] of rounds) assert.deepEqual(ports, first[1], `${how}: ${JSON.stringify(rounds)}`);
  assert.deepEqual(listed(), [], 'everything was released when the servers stopped');
});

test('two Vite servers started at once in one checkout get two ports', { skip }, async () => {
  const dir = checkouts.app;
  const children = [start(dir, [viteBin]), start(dir, [viteBin])];
  try {
    const ports = await Promise.all(children.map(listening));
    assert.notEqual(ports[0], ports[1]);
    for (const p of ports) assert.ok(await answers(p), `nothing answers on ${p}`);
  } finally {
    await stop(children);
  }
});
