// Shared bits of the test suite.
import assert from 'node:assert/strict';
import net from 'node:net';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const packageDir = path.join(repoRoot, 'npm', 'port4me');

// The package's own list of the variables port4me reads (env.cjs, as the
// std crate's port4me::env::is_relevant_var): one list for tests and code.
const { isRelevantVar } = createRequire(import.meta.url)(path.join(packageDir, 'env.cjs'));

/**
 * Whether `name` is a variable port4me reads for ports. PORT4ME_NATIVE_ADDON
 * (which backend loads) is not: the tests keep it, so that child processes
 * run on the backend the suite runs on (scripts/test-node.sh runs parts of it
 * a second time with PORT4ME_NATIVE_ADDON=none, through the WebAssembly
 * fallback).
 */
export function isPort4meVar(name) {
  if (name === 'PORT4ME_NATIVE_ADDON') return false;
  return isRelevantVar(name);
}

/** 'native' (the addon) or 'wasm' (the WebAssembly fallback): what `port4me` runs on in this process. */
export const backend = createRequire(import.meta.url)('port4me')._internal.backend;

/** Whether this process runs on the WebAssembly fallback. */
export const onFallback = backend === 'wasm';

/**
 * The command lines JSON results are compared with: `npx port4me` (the Rust
 * command line run by the addon) and the binary cargo builds (PORT4ME_CLI,
 * else target/debug/port4me) when it exists, as `[name, command, leading
 * arguments]`. Without the binary, `t.diagnostic` says so.
 */
export function cliCommands(t) {
  const binary =
    process.env.PORT4ME_CLI ??
    path.join(process.env.CARGO_TARGET_DIR ?? path.join(repoRoot, 'target'), 'debug', process.platform === 'win32' ? 'port4me.exe' : 'port4me');
  const clis = [['npx port4me', process.execPath, [path.join(packageDir, 'cli.mjs')]]];
  if (existsSync(binary)) clis.push([binary, binary, []]);
  else t.diagnostic(`no ${binary} (cargo build -p port4me-cli, or set PORT4ME_CLI): compared with npx port4me only`);
  return clis;
}

/** A copy of `process.env` without any variable port4me reads, plus `extra`. */
export function cleanEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!isPort4meVar(k)) env[k] = v;
  return { ...env, ...extra };
}

/** Replaces every port4me variable of `process.env` with `vars`; returns a restore function. */
export function setPort4meEnv(vars) {
  const saved = {};
  for (const k of Object.keys(process.env)) {
    if (isPort4meVar(k)) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
  }
  for (const [k, v] of Object.entries(vars)) process.env[k] = v;
  return () => {
    for (const k of Object.keys(process.env)) if (isPort4meVar(k)) delete process.env[k];
    Object.assign(process.env, saved);
  };
}

/** Asserts that `fn` throws an error with `code` whose message contains every one of `mentions`. */
export function assertThrowsCode(fn, code, ...mentions) {
  let thrown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown, `expected ${code}, but nothing was thrown`);
  assert.ok(thrown instanceof Error, `expected an Error, got ${thrown}`);
  assert.equal(thrown.code, code, `wrong code for: ${thrown.message}`);
  for (const m of mentions) assert.ok(thrown.message.includes(String(m)), `message ${JSON.stringify(thrown.message)} should mention ${JSON.stringify(String(m))}`);
  return thrown;
}

/** Async version of {@link assertThrowsCode}: the promise must reject. */
export async function assertRejectsCode(promise, code, ...mentions) {
  let thrown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  assert.ok(thrown, `expected a rejection with ${code}`);
  assert.equal(thrown.code, code, `wrong code for: ${thrown.message}`);
  for (const m of mentions) assert.ok(thrown.message.includes(String(m)), `message ${JSON.stringify(thrown.message)} should mention ${JSON.stringify(String(m))}`);
  return thrown;
}

/** A TCP server listening on `host` (port chosen by the kernel). */
export function listenTcp(host, port = 0) {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host === '::' ? false : undefined }, () => resolve(server));
  });
}

/** A UDP socket bound on `host`. */
export function bindUdp(host, port = 0) {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => resolve(socket));
  });
}

export function close(handle) {
  return new Promise((resolve) => handle.close(() => resolve()));
}

let ipv6;
/** Whether this machine has an IPv6 loopback. */
export async function hasIpv6() {
  if (ipv6 === undefined) {
    try {
      await close(await listenTcp('::1'));
      ipv6 = true;
    } catch {
      ipv6 = false;
    }
  }
  return ipv6;
}

/**
 * Calls straight into a backend (`_internal.native`, the addon or the
 * fallback) with values the JS layer would have refused. Each must return or
 * throw an Error with a string code, never abort; with `notInternal` the
 * code must not be ERR_PORT4ME_INTERNAL either (a bug, not bad input).
 */
export function assertBackendSurvivesWrongTypes(native, { notInternal = false } = {}) {
  for (const fn of [
    () => native.find({ skip: 'x' }),
    () => native.find({ exclude: [1, null] }),
    () => native.find({ exclude: { length: 2 } }),
    () => native.find(42),
    () => native.findTool(42),
    () => native.list({ n: 'many' }),
    () => native.list([1]),
    () => native.isPortFree('x'),
    () => native.isPortFree(),
    () => native.isPortFree(80, { host: 5 }),
    () => native.parsePorts(null),
    () => native.find({ env: { A: 1 } }),
    () => native.runCli('x'),
    () => native.runCli([1]),
  ]) {
    try {
      fn();
    } catch (err) {
      assert.ok(err instanceof Error, `not an Error from ${fn}`);
      assert.equal(typeof err.code, 'string', `no code from ${fn}: ${err.message}`);
      if (notInternal) assert.notEqual(err.code, 'ERR_PORT4ME_INTERNAL', `${fn}: ${err.message}`);
    }
  }
}
