'use strict';
// Probing with Node's own sockets, for the WebAssembly fallback (fallback.cjs)
// and its probe worker (probe-worker.cjs). The same answers as the native
// probe (crates/port4me/src/probe.rs):
//
// * A port is busy when a server listens on 127.0.0.1, ::1, 0.0.0.0 or ::
//   (or any interface address). On Linux (net.ipv6.bindv6only = 0) one
//   dual-stack bind of `::` (ipv6Only false) conflicts with all of those;
//   without IPv6 the IPv4 wildcard is bound instead. Elsewhere, and where
//   that setting is 1 or cannot be read, each of the four addresses is bound
//   in turn: on macOS (libuv sets SO_REUSEADDR on TCP sockets) and on
//   Windows a wildcard bind succeeds next to a listener on a specific
//   address and the other way round, but a bind of the very address a
//   listener holds always fails.
// * EADDRINUSE, EACCES and EPERM mean busy ("not free for you"). An address
//   family the machine lacks is skipped; a port is free when at least one
//   family could bind it.
// * `host` narrows the probe to that address (IPv6 ones with ipv6Only); a
//   failure other than "busy" there is an error (ERR_PORT4ME_PROBE).
// * UDP through dgram, without reuseAddr.
// * `exclusive: true`: in a cluster worker, bind for real instead of asking
//   the primary process for a shared handle.
//
// One difference remains: libuv's SO_REUSEADDR makes a TCP port whose only
// trace is a connection in TIME_WAIT count as free here (any Node server
// could bind it), where the native probe (no SO_REUSEADDR) says busy.

const net = require('node:net');
const { readFileSync } = require('node:fs');

const BUSY = new Set(['EADDRINUSE', 'EACCES', 'EPERM']);
// The family is missing (no IPv6, or IPv6 without a loopback address).
const NO_FAMILY = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

/**
 * Whether a bind of `::` covers IPv4 too: Linux with net.ipv6.bindv6only = 0.
 * When that cannot be read (IPv6 disabled at boot, /proc hidden, an emulated
 * Linux, as StackBlitz WebContainers are expected to be: never tried), the
 * four-address probe is used, which is right everywhere, only slower.
 */
function dualStackWildcard() {
  if (process.platform !== 'linux') return false;
  try {
    return readFileSync('/proc/sys/net/ipv6/bindv6only', 'utf8').trim() === '0';
  } catch {
    return false;
  }
}

const DUAL_STACK = dualStackWildcard();
const EACH_ADDRESS = ['127.0.0.1', '::1', '0.0.0.0', '::'];

/** An error for a probe that failed for a reason other than "busy". */
function probeFailure(err, host) {
  const failure = new Error(err && err.message ? err.message : String(err));
  failure.host = host;
  failure.sysCode = err && err.code;
  return failure;
}

/**
 * Binds `port` on `host` once and releases it: 'free', 'busy', or 'nofamily'
 * (when `defaultAddress`, i.e. not a host the caller named); throws for any
 * other failure.
 */
function bindOnce(host, port, protocol, ipv6Only, defaultAddress) {
  return new Promise((resolve, reject) => {
    const fail = (err) => {
      if (err && BUSY.has(err.code)) resolve('busy');
      else if (defaultAddress && err && NO_FAMILY.has(err.code)) resolve('nofamily');
      else reject(probeFailure(err, host));
    };
    if (protocol === 'udp') {
      let socket;
      try {
        // dgram only for UDP: the worker's start-up is part of a first synchronous call.
        socket = require('node:dgram').createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only, reuseAddr: false });
      } catch (err) {
        fail(err);
        return;
      }
      socket.once('error', (err) => {
        try {
          socket.close();
        } catch {
          // Never bound: nothing to release.
        }
        fail(err);
      });
      socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve('free')));
      socket.unref();
      return;
    }
    const server = net.createServer();
    server.once('error', fail);
    server.listen({ host, port, ipv6Only, exclusive: true, backlog: 1 }, () => server.close(() => resolve('free')));
    server.unref();
  });
}

/**
 * Whether `port` is free for `target` ({ host: string | null, protocol:
 * 'tcp' | 'udp' }). Rejects (with `host` set to the address probed) when a
 * probe fails for a reason other than "busy". `eachAddress` picks the
 * four-address probe where one dual-stack bind would do (the tests run
 * the macOS and Windows way on Linux too).
 */
async function isFree(port, target, eachAddress = !DUAL_STACK) {
  const { host, protocol } = target;
  if (host) {
    const r = await bindOnce(host, port, protocol, host.includes(':'), false);
    if (r === 'busy') return false;
    if (r === 'free') return true;
    throw probeFailure({ message: 'address family not supported' }, host);
  }
  if (!eachAddress) {
    const r = await bindOnce('::', port, protocol, false, true);
    if (r !== 'nofamily') return r === 'free';
    return (await bindOnce('0.0.0.0', port, protocol, false, true)) !== 'busy';
  }
  let anyFamily = false;
  for (const address of EACH_ADDRESS) {
    const r = await bindOnce(address, port, protocol, address.includes(':'), true);
    if (r === 'busy') return false;
    if (r === 'free') anyFamily = true;
  }
  return anyFamily;
}

/**
 * Probes `ports` in order until one is free: `{ index }` of the free one,
 * `{ index: -1 }` when all are busy, or `{ index, error: { host, message } }`
 * for the probe that failed (the search stops there, as natively).
 */
async function firstFree(ports, target) {
  for (let i = 0; i < ports.length; i++) {
    try {
      if (await isFree(ports[i], target)) return { index: i };
    } catch (err) {
      return { index: i, error: { host: err.host ?? target.host ?? '::', message: err.message } };
    }
  }
  return { index: -1 };
}

module.exports = { isFree, firstFree, DUAL_STACK };
