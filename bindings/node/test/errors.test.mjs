// Bad input: every case throws (or rejects) with a stable code and a message
// naming the bad value; none takes the process down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isPortFree, list, parsePorts, port4me, port4meAsync, waitForPort, whoHolds } from 'port4me';
import { createRequire } from 'node:module';
import { assertBackendSurvivesWrongTypes, assertRejectsCode, assertThrowsCode, close, listenTcp, onFallback, setPort4meEnv } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { _internal } = require('port4me');
const native = _internal.native;

const restore = setPort4meEnv({ PORT4ME_USER: 'alice', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' });
process.on('exit', restore);

const TYPE = 'ERR_INVALID_ARG_TYPE';
const VALUE = 'ERR_INVALID_ARG_VALUE';
const PORT = 'ERR_PORT4ME_INVALID_PORT';
const NUMBER = 'ERR_PORT4ME_INVALID_NUMBER';
const SPEC = 'ERR_PORT4ME_INVALID_SPEC';

// [description, call, code, ...words the message must contain]
const cases = [
  ['options of the wrong type', () => port4me(5), TYPE, 'options', 'number'],
  ['null options', () => port4me(null), TYPE, 'null'],
  ['array options', () => port4me(['vite']), TYPE, 'Array'],
  ['tool of the wrong type', () => port4me({ tool: 5 }), TYPE, 'options.tool'],
  ['user null', () => port4me({ user: null }), TYPE, 'options.user', 'null'],
  ['unknown option', () => port4me({ exlude: '80' }), VALUE, 'exlude'],
  ['n given to port4me()', () => port4me({ n: 3 }), VALUE, 'list()'],
  ['skip NaN', () => port4me({ skip: NaN }), NUMBER, 'skip', 'NaN'],
  ['skip negative', () => port4me({ skip: -1 }), NUMBER, 'skip', '-1', 'negative'],
  ['skip fractional', () => port4me({ skip: 1.5 }), NUMBER, 'skip', '1.5'],
  ['skip Infinity', () => port4me({ skip: Infinity }), NUMBER, 'skip', 'Infinity'],
  ['skip as a string', () => port4me({ skip: '2' }), TYPE, 'options.skip', 'string'],
  ['skip as a bigint', () => port4me({ skip: 2n }), TYPE, 'options.skip', 'bigint'],
  ['maxTries 0', () => port4me({ maxTries: 0 }), NUMBER, 'maxTries', 'at least 1'],
  ['maxTries 2^40', () => port4me({ maxTries: 2 ** 40 }), NUMBER, 'maxTries', 'too large (at most 4294967295)'],
  ['port 70000 in exclude', () => port4me({ exclude: [70000] }), PORT, 'exclude', '70000'],
  ['port 0 in include', () => port4me({ include: [0] }), PORT, 'include', '0'],
  ['negative port in prepend', () => port4me({ prepend: [-1] }), PORT, 'prepend', '-1'],
  ['fractional port', () => port4me({ exclude: [80.5] }), PORT, 'exclude', '80.5'],
  ['NaN port', () => port4me({ exclude: [NaN] }), PORT, 'exclude', 'NaN'],
  ['70000 in a mixed array', () => port4me({ exclude: ['1000-1010', 70000] }), PORT, 'exclude', '70000'],
  ['null in a port array', () => port4me({ exclude: [1, null] }), TYPE, 'options.exclude[1]', 'null'],
  ['undefined in a port array', () => port4me({ prepend: [undefined] }), TYPE, 'options.prepend[0]', 'undefined'],
  ['object in a port array', () => port4me({ include: [{}] }), TYPE, 'options.include[0]'],
  ['ports as a number', () => port4me({ exclude: 80 }), TYPE, 'options.exclude'],
  ['"foo" in a spec', () => port4me({ exclude: '80,foo' }), SPEC, 'foo', 'exclude'],
  ['inverted range', () => port4me({ include: '5-3' }), SPEC, '5-3'],
  ['65536 in a spec', () => port4me({ include: '65536' }), SPEC, '65536'],
  ['unknown token', () => port4me({ exclude: '{edge}' }), SPEC, '{edge}'],
  ['empty set', () => port4me({ include: '2000', exclude: '2000' }), 'ERR_PORT4ME_EMPTY_SET', 'exclude'],
  ['list n 0', () => list({ n: 0 }), NUMBER, 'list count', '0'],
  ['list n huge', () => list({ n: 1e9 }), NUMBER, 'list count', '1000000000', 'too large (at most 1048576)'],
  ['list n 2^64', () => list({ n: 2 ** 64 }), NUMBER, 'list count', 'too large (at most 1048576)'],
  ['skip 2^60', () => port4me({ skip: 2 ** 60 }), NUMBER, 'skip', 'too large (at most 9007199254740991)'],
  // NaN and Infinity shown as such where a type is wrong (JSON says null).
  ['user NaN', () => port4me({ user: NaN }), TYPE, 'options.user', 'type number (NaN)'],
  ['tool Infinity', () => port4me({ tool: -Infinity }), TYPE, 'options.tool', 'type number (-Infinity)'],
  ['host -0', () => isPortFree(40000, { host: -0 }), TYPE, 'options.host', 'type number (-0)'],
  ['list n negative', () => list({ n: -5 }), NUMBER, '-5'],
  ['list n NaN', () => list({ n: NaN }), NUMBER, 'NaN'],
  ['list given a string', () => list('vite'), TYPE, 'options'],
  ['bad PORT4ME_SKIP (env option)', () => port4me({ env: { PORT4ME_USER: 'a', PORT4ME_SKIP: 'foo' } }), NUMBER, 'PORT4ME_SKIP', 'foo'],
  ['bad PORT4ME_LIST', () => list({ env: { PORT4ME_USER: 'a', PORT4ME_LIST: '-1' } }), NUMBER, 'PORT4ME_LIST'],
  ['bad PORT4ME_EXCLUDE', () => port4me({ env: { PORT4ME_USER: 'a', PORT4ME_EXCLUDE: '1,x' } }), SPEC, 'PORT4ME_EXCLUDE', 'x'],
  ['bad testing hook', () => port4me({ env: { PORT4ME_USER: 'a', _PORT4ME_CHECK_AVAILABLE_PORTS_: 'yes' } }), 'ERR_PORT4ME_INVALID_ENV', '_PORT4ME_CHECK_AVAILABLE_PORTS_'],
  ['env value not a string', () => port4me({ env: { PORT4ME_USER: 5 } }), TYPE, 'options.env.PORT4ME_USER'],
  ['env not an object', () => port4me({ env: 'PORT4ME_USER=a' }), TYPE, 'options.env'],
  ['bad protocol', () => port4me({ protocol: 'sctp' }), VALUE, 'sctp'],
  ['bad host', () => port4me({ host: 'not-an-ip' }), VALUE, 'not-an-ip'],
  // Cannot be bound (EINVAL): said so, with the address to give instead.
  ['IPv4-mapped host', () => isPortFree(40000, { host: '::ffff:127.0.0.1' }), VALUE, '"::ffff:127.0.0.1"', 'IPv4-mapped', 'give the IPv4 address 127.0.0.1'],
  ['isPortFree string port', () => isPortFree('80'), TYPE, 'port', 'string'],
  ['isPortFree port 0', () => isPortFree(0), PORT, '0'],
  ['isPortFree port 70000', () => isPortFree(70000), PORT, '70000'],
  ['isPortFree NaN', () => isPortFree(NaN), PORT, 'NaN'],
  ['isPortFree unknown option', () => isPortFree(80, { timeout: 1 }), VALUE, 'timeout'],
  ['isPortFree foreign host', () => isPortFree(40000, { host: '192.0.2.1' }), 'ERR_PORT4ME_PROBE', '192.0.2.1'],
  ['parsePorts number', () => parsePorts(5), TYPE, 'spec'],
  ['parsePorts bad item', () => parsePorts('1-2-3'), SPEC, '1-2-3'],
  ['parsePorts bad range', () => parsePorts('0-5'), SPEC, '0-5'],
];

for (const [name, fn, code, ...mentions] of cases) {
  test(`bad input: ${name} -> ${code}`, () => {
    assertThrowsCode(fn, code, ...mentions);
  });
}

test('async variants reject instead of throwing', async () => {
  let promise;
  assert.doesNotThrow(() => {
    promise = port4meAsync({ exclude: [1, null] });
  });
  await assertRejectsCode(promise, TYPE, 'options.exclude[1]');
  await assertRejectsCode(port4meAsync({ exclude: 'foo' }), SPEC, 'foo');
  await assertRejectsCode(port4meAsync({ skip: -1 }), NUMBER, '-1');
  await assertRejectsCode(port4meAsync({ include: '2000', exclude: '2000' }), 'ERR_PORT4ME_EMPTY_SET');
  await assertRejectsCode(waitForPort(70000), PORT, '70000');
  await assertRejectsCode(waitForPort(80, { timeoutMs: -1 }), 'ERR_OUT_OF_RANGE', 'timeoutMs');
  // Longer than a Node timer holds (it would fire after 1 ms, in a loop).
  for (const bad of [2 ** 31, 1e12, Infinity, NaN]) {
    await assertRejectsCode(waitForPort(80, { intervalMs: bad }), 'ERR_OUT_OF_RANGE', '"options.intervalMs"', '2147483647', String(bad));
  }
});

test('no free port within maxTries', async () => {
  const server = await listenTcp('127.0.0.1');
  const { port } = server.address();
  try {
    const env = { PORT4ME_USER: 'alice' };
    assertThrowsCode(() => port4me({ env, prepend: [port], maxTries: 1 }), 'ERR_PORT4ME_NO_FREE_PORT', String(port), '1 attempts');
    await assertRejectsCode(port4meAsync({ env, prepend: [port], maxTries: 1 }), 'ERR_PORT4ME_NO_FREE_PORT', String(port));
  } finally {
    await close(server);
  }
});

const addonOnly = onFallback && 'the addon itself (the fallback has its own test in fallback.test.mjs)';

test('the addon itself survives wrong types (no JS layer in front)', { skip: addonOnly }, () => {
  // Each call either throws an Error with a string code or returns; none aborts.
  assertBackendSurvivesWrongTypes(native);
  assertThrowsCode(() => native.find({ skip: 'x' }), 'NumberExpected');
  assertThrowsCode(() => native.isPortFree(-5), PORT, '-5');
  assertThrowsCode(() => native.list({ n: 2 ** 53 }), NUMBER);
});

// A hook of test builds only (cargo feature test-hooks; the published addon has none).
const noPanicHook = typeof native._panicForTest !== 'function' &&
  'this addon has no _panicForTest: build it with the cargo feature test-hooks, as scripts/test-node.sh does';

test('a Rust panic becomes an error, not an abort', { skip: addonOnly || noPanicHook }, () => {
  for (let i = 0; i < 3; i++) assertThrowsCode(() => native._panicForTest(), 'ERR_PORT4ME_INTERNAL', 'panic');
  // ... and the addon still works afterwards.
  assert.equal(list({ user: 'alice', n: 1 })[0], 30845);
});

test('inherited names are not options', () => {
  for (const key of ['toString', 'constructor', 'hasOwnProperty']) {
    assertThrowsCode(() => isPortFree(80, { [key]: 'x' }), 'ERR_INVALID_ARG_VALUE', `unknown property "${key}"`);
    // Types are checked before the call needs the addon.
    assertThrowsCode(() => whoHolds(80, { [key]: 'x' }), 'ERR_INVALID_ARG_VALUE', `unknown property "${key}"`);
  }
});
