// status() and plan() with a port4me registry that cannot be read: whether a
// port is reserved there is unknown, and they say so (registryError, the
// label `unknown`, plan warnings) instead of calling the port free.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { plan, status } from 'port4me';
import { close, listenTcp, setPort4meEnv } from './helpers.mjs';

let dir;
before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'port4me-unreadable-'));
  writeFileSync(path.join(dir, 'garbage.sqlite'), 'this is not a database, not even close. '.repeat(200));
  mkdirSync(path.join(dir, 'dir.sqlite'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** A port that is free right now (bound by the kernel's choice, then closed). */
async function freePort() {
  const s = await listenTcp('127.0.0.1');
  const port = s.address().port;
  await close(s);
  return port;
}

for (const [file, why] of [
  ['garbage.sqlite', /not a usable SQLite database/],
  ['dir.sqlite', /directory/],
]) {
  test(`a registry that is ${file}: status and plan say unknown, not free`, async () => {
    const restore = setPort4meEnv({ PORT4ME_DB: path.join(dir, file), PORT4ME_USER: `unreadable-${process.pid}` });
    try {
      const port = await freePort();
      const s = status(port);
      assert.equal(s.availability, 'free', 'the socket side is unchanged');
      assert.equal(s.label, 'unknown');
      assert.deepEqual(s.labels, ['unknown']);
      assert.equal(s.reserved, null);
      assert.match(s.registryError, why);
      assert.match(s.description, /^unknown \(registry unreadable: /);

      const p = plan({ web: port });
      assert.equal(p.services[0].port, port);
      assert.match(p.registryError, why);
      assert.ok(
        p.services[0].warnings.some((w) => w.includes('unknown (registry unreadable: ')),
        JSON.stringify(p.services[0].warnings),
      );
    } finally {
      restore();
    }
  });
}

test('no registry at all is not an error: free, registryError null', async () => {
  const restore = setPort4meEnv({ PORT4ME_DB: path.join(dir, 'missing.sqlite') });
  try {
    const s = status(await freePort());
    assert.equal(s.label, 'free');
    assert.equal(s.registryError, null);
    assert.equal(plan({ web: await freePort() }).registryError, null);
  } finally {
    restore();
  }
});
