// Probing against real listeners opened by the test: IPv4 and IPv6, TCP and
// UDP. A port with a listener is reported busy, and port4me() skips it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { port4me, port4meAsync, isPortFree, list } from 'port4me';
import { assertThrowsCode, bindUdp, close, hasIpv6, listenTcp, setPort4meEnv } from './helpers.mjs';

// Real probes only: no testing hook from the outer environment.
const restore = setPort4meEnv({ PORT4ME_USER: 'probe-test' });
process.on('exit', restore);

/** A port (from the sequence of `tool`) that is free for both TCP and UDP right now. */
function freeCandidate(tool) {
  return list({ tool, n: 50 }).find((p) => isPortFree(p) && isPortFree(p, { protocol: 'udp' }));
}

const tcpHosts = ['127.0.0.1', '0.0.0.0', '::1', '::'];
for (const host of tcpHosts) {
  test(`TCP listener on ${host}: busy, and skipped by port4me()`, async (t) => {
    if (host.includes(':') && !(await hasIpv6())) return t.skip('no IPv6 on this machine');
    const server = await listenTcp(host);
    const { port } = server.address();
    try {
      assert.equal(isPortFree(port), false, 'busy on all addresses');
      if (host !== '0.0.0.0' && host !== '::') assert.equal(isPortFree(port, { host }), false, `busy on ${host}`);
      // The sequence's own first free port, then the busy port prepended: it is skipped.
      const next = freeCandidate('probe-tcp');
      assert.ok(next, 'some candidate is free');
      assert.equal(port4me({ tool: 'probe-tcp', prepend: [port, next] }), next);
      assert.equal(await port4meAsync({ tool: 'probe-tcp', prepend: [port, next] }), next);
      assert.equal(port4me({ tool: 'probe-tcp', prepend: String(port) }), port4me({ tool: 'probe-tcp' }));
    } finally {
      await close(server);
    }
    assert.equal(isPortFree(port), true, 'free again once closed');
    assert.equal(port4me({ tool: 'probe-tcp', prepend: [port] }), port);
  });
}

for (const host of ['127.0.0.1', '::1']) {
  test(`UDP socket on ${host}: busy for protocol udp, and skipped`, async (t) => {
    if (host.includes(':') && !(await hasIpv6())) return t.skip('no IPv6 on this machine');
    const socket = await bindUdp(host);
    const { port } = socket.address();
    try {
      assert.equal(isPortFree(port, { protocol: 'udp' }), false);
      assert.equal(isPortFree(port, { protocol: 'UDP', host }), false);
      const next = freeCandidate('probe-udp');
      assert.equal(port4me({ tool: 'probe-udp', protocol: 'udp', prepend: [port, next] }), next);
    } finally {
      await close(socket);
    }
    assert.equal(isPortFree(port, { protocol: 'udp' }), true);
  });
}

test('a whole busy stretch of the sequence is skipped in order', async () => {
  const candidates = list({ tool: 'probe-run', n: 3 }).filter((p) => isPortFree(p));
  if (candidates.length < 3) return; // something else holds them; nothing to show
  const servers = [];
  try {
    for (const p of candidates.slice(0, 2)) servers.push(await listenTcp('127.0.0.1', p));
    assert.equal(port4me('probe-run'), candidates[2]);
    assertThrowsCode(() => port4me({ tool: 'probe-run', maxTries: 2 }), 'ERR_PORT4ME_NO_FREE_PORT', String(candidates[0]), '2 attempts');
  } finally {
    await Promise.all(servers.map(close));
  }
});

test('the host option narrows the probe', async () => {
  const server = await listenTcp('127.0.0.1');
  const { port } = server.address();
  try {
    assert.equal(isPortFree(port, { host: '127.0.0.1' }), false);
    // `localhost` is 127.0.0.1, as for the CLI's --host (one parser for both).
    assert.equal(isPortFree(port, { host: 'localhost' }), false);
    assert.equal(port4me({ tool: 'probe-host', host: '127.0.0.1', prepend: [port, 1] }) !== port, true);
  } finally {
    await close(server);
  }
  // Not an address of this machine: an error, not "busy".
  assertThrowsCode(() => isPortFree(40000, { host: '192.0.2.1' }), 'ERR_PORT4ME_PROBE', '192.0.2.1');
  // Other names are refused, not resolved.
  assertThrowsCode(() => isPortFree(40000, { host: 'example.org' }), 'ERR_INVALID_ARG_VALUE', 'example.org');
});
