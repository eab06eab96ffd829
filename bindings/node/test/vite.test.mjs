// The Vite plugin against real Vite servers (vite from npm, createServer and
// preview APIs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { preview } from 'vite';
import port4mePlugin from 'port4me/vite';
import { list, port4me } from 'port4me';
import { close, listenTcp, setPort4meEnv } from './helpers.mjs';
import { devServer as viteDevServer } from './vite-helpers.mjs';

let root;
let restoreEnv;

before(() => {
  // Real probes, a fixed user, nothing else from the outer environment.
  root = mkdtempSync(path.join(os.tmpdir(), 'port4me-vite-'));
  restoreEnv = setPort4meEnv({ PORT4ME_USER: `vite-test-${process.pid}`, PORT4ME_DB: path.join(root, 'ports.sqlite') });
  writeFileSync(path.join(root, 'index.html'), '<!doctype html><title>port4me</title><p>hello</p>\n');
  mkdirSync(path.join(root, 'dist'));
  writeFileSync(path.join(root, 'dist', 'index.html'), '<!doctype html><title>built</title>\n');
});

after(() => {
  rmSync(root, { recursive: true, force: true });
  restoreEnv();
});

/** A dev server for this file's project root. */
const devServer = (pluginOptions, extra) => viteDevServer(root, pluginOptions, extra);

const addressPort = (server) => server.httpServer.address().port;

test('dev server listens on exactly port4me("vite"); a taken port fails loudly', async () => {
  const predicted = port4me('vite');
  const a = await devServer();
  assert.equal(a.config.server.port, predicted);
  assert.equal(a.config.server.strictPort, true);
  await a.listen();
  try {
    assert.equal(addressPort(a), predicted);
    assert.ok(a.log.some((l) => l.includes(`server.port = ${predicted}`) && l.includes('tool "vite"')), a.log.join('\n'));

    // A second server while the first runs (not holding its port: in one
    // process the plugin holds one port per tool): port4me skips the busy
    // port and picks the next free candidate of the same sequence (not
    // port + 1).
    const next = port4me('vite');
    assert.notEqual(next, predicted);
    assert.ok(list({ tool: 'vite', n: 16 }).includes(next));
    const b = await devServer({ reserve: false });
    assert.equal(b.config.server.port, next);
    assert.ok(b.log.some((l) => l.includes(`${predicted} was in use`)), b.log.join('\n'));

    // The port is taken between the choice and the listen: Vite must fail,
    // not drift to another port.
    const squatter = await listenTcp('::', next).catch(() => listenTcp('0.0.0.0', next));
    try {
      await assert.rejects(b.listen(), (err) => {
        assert.match(String(err.message), new RegExp(`${next}.*in use|in use.*${next}`, 'i'));
        return true;
      });
      assert.ok(!b.httpServer.listening, 'the second server is not listening anywhere');
    } finally {
      await close(squatter);
      await b.close();
    }
  } finally {
    await a.close();
  }
});

test('a port set in the config (or on the command line) is left alone', async () => {
  const server = await devServer(undefined, { server: { port: 4999 } });
  try {
    assert.equal(server.config.server.port, 4999);
    assert.notEqual(server.config.server.strictPort, true);
    assert.ok(server.log.some((l) => l.includes('server.port = 4999') && l.includes('left it alone')), server.log.join('\n'));
  } finally {
    await server.close();
  }
});

test('tool is configurable; server: false turns the plugin off for dev', async () => {
  const custom = await devServer({ tool: 'my-app' });
  try {
    assert.equal(custom.config.server.port, port4me('my-app'));
  } finally {
    await custom.close();
  }
  const off = await devServer({ server: false });
  try {
    assert.notEqual(off.config.server.strictPort, true);
    assert.equal(off.log.length, 0);
  } finally {
    await off.close();
  }
});

test('vite preview listens on port4me("vite") too', async () => {
  const predicted = port4me('vite');
  const server = await preview({
    root,
    configFile: false,
    logLevel: 'silent',
    plugins: [port4mePlugin()],
  });
  try {
    assert.equal(server.config.preview.port, predicted);
    assert.equal(server.config.preview.strictPort, true);
    assert.equal(server.httpServer.address().port, predicted);
  } finally {
    await server.close();
  }
});

test('bad plugin options throw when the config is loaded', () => {
  assert.throws(() => port4mePlugin({ exclude: [70000] }), { code: 'ERR_PORT4ME_INVALID_PORT' });
  assert.throws(() => port4mePlugin({ log: 'yes' }), { code: 'ERR_INVALID_ARG_TYPE' });
  assert.throws(() => port4mePlugin({ exlude: '1' }), { code: 'ERR_INVALID_ARG_VALUE' });
});
