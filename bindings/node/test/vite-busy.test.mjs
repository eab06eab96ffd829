// The Vite plugin names what holds a taken port (describeBusy), and
// reserves ports with `reserve`; real Vite dev and preview servers. Through
// the WebAssembly fallback (the PORT4ME_NATIVE_ADDON=none pass) the plugin
// works the same but cannot name holders, and `reserve` needs the addon.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { preview } from 'vite';
import port4mePlugin from 'port4me/vite';
import { list } from 'port4me';
import { close, listenTcp, onFallback, setPort4meEnv } from './helpers.mjs';
import { capturingLogger, devServer as viteDevServer } from './vite-helpers.mjs';

const linux = process.platform === 'linux';
/** What the log says about a port held by this process (nothing through the fallback). */
const holderText = (port) => `${port} is in use by node (pid ${process.pid}`;
let root;
let restoreEnv;

before(() => {
  // Real probes, a user of its own (not the one of vite.test.mjs), an empty registry.
  root = mkdtempSync(path.join(os.tmpdir(), 'port4me-vite-busy-'));
  restoreEnv = setPort4meEnv({ PORT4ME_USER: `vite-busy-${process.pid}`, PORT4ME_DB: path.join(root, 'ports.sqlite') });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>port4me</title>\n');
  mkdirSync(path.join(root, 'dist'));
  writeFileSync(path.join(root, 'dist', 'index.html'), '<!doctype html><title>built</title>\n');
});

after(() => {
  restoreEnv();
  rmSync(root, { recursive: true, force: true });
});

/** A dev server for this file's project root. */
const devServer = (pluginOptions, extra) => viteDevServer(root, pluginOptions, extra);

/** A plain TCP listener on `port` (dual-stack when possible), like a stray server. */
const squat = (port) => listenTcp('::', port).catch(() => listenTcp('0.0.0.0', port));

test('a taken predicted port: the note says what holds it', { skip: !linux && 'Linux only' }, async () => {
  const [predicted] = list({ tool: 'vite', n: 1 });
  const squatter = await squat(predicted);
  try {
    const server = await devServer();
    try {
      assert.notEqual(server.config.server.port, predicted);
      const note = server.log.find((l) => l.includes(`server.port = ${server.config.server.port}`));
      assert.ok(note, server.log.join('\n'));
      assert.ok(note.includes(`${predicted} was in use`), note);
      if (onFallback) assert.ok(!note.includes('is in use by'), note);
      else assert.ok(note.includes(`${predicted} is in use by node (pid ${process.pid}, ${os.userInfo().username})`), note);
    } finally {
      await server.close();
    }
  } finally {
    await close(squatter);
  }
});

test('strictPort failure of the dev server: the holder is logged', { skip: !linux && 'Linux only' }, async () => {
  const server = await devServer();
  const port = server.config.server.port;
  const squatter = await squat(port);
  try {
    await assert.rejects(server.listen(), /already in use/);
    const line = server.log.find((l) => l.startsWith('error: port4me: '));
    if (onFallback) {
      assert.equal(line, undefined, 'no holder to name without the addon');
    } else {
      assert.ok(line, server.log.join('\n'));
      assert.ok(line.includes(holderText(port)), line);
    }
  } finally {
    await close(squatter);
    await server.close();
  }
});

test('strictPort failure of vite preview: the holder is logged', { skip: !linux && 'Linux only' }, async () => {
  let predicted;
  const customLogger = capturingLogger();
  // Taken after the plugin chose it (the config hook runs first): squat from
  // configResolved, before preview() listens.
  let squatter;
  const squatPlugin = {
    name: 'squat',
    async configResolved(config) {
      predicted = config.preview.port;
      squatter = await squat(predicted);
    },
  };
  try {
    await assert.rejects(
      preview({ root, configFile: false, logLevel: 'info', customLogger, plugins: [port4mePlugin(), squatPlugin] }),
      /already in use/,
    );
    const line = customLogger.lines.find((l) => l.startsWith('error: port4me: '));
    if (onFallback) {
      assert.equal(line, undefined, 'no holder to name without the addon');
    } else {
      assert.ok(line, customLogger.lines.join('\n'));
      assert.ok(line.includes(holderText(predicted)), line);
    }
  } finally {
    if (squatter) await close(squatter);
  }
});

test('reserve through the fallback: the config fails with ERR_PORT4ME_NATIVE_REQUIRED', { skip: !onFallback && 'fallback pass only' }, async () => {
  await assert.rejects(devServer({ tool: 'vite-reserve', reserve: true }), { code: 'ERR_PORT4ME_NATIVE_REQUIRED' });
  // Without reserve asked for, the same plugin works, unheld, and says so.
  const server = await devServer({ tool: 'vite-reserve' });
  try {
    assert.equal(server.config.server.port, list({ tool: 'vite-reserve', n: 1 })[0]);
    assert.ok(server.log.some((l) => l.includes('not held: the registry needs the native addon')), server.log.join('\n'));
  } finally {
    await server.close();
  }
});

test('reserve: two servers configured at once get different ports', { skip: onFallback && 'needs the addon' }, async () => {
  const candidates = list({ tool: 'vite-reserve', n: 4 });
  const a = await devServer({ tool: 'vite-reserve', reserve: true });
  const b = await devServer({ tool: 'vite-reserve', reserve: 60 });
  try {
    // Neither listens yet; the registry alone keeps them apart.
    assert.notEqual(a.config.server.port, b.config.server.port);
    assert.ok(candidates.includes(a.config.server.port) && candidates.includes(b.config.server.port));
  } finally {
    await a.close();
    await b.close();
  }
  assert.throws(() => port4mePlugin({ reserve: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
});
