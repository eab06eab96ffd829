// The WebAssembly API in Node: anchors of the SPEC, option handling, errors.
// After every failing call a good call follows, to show that an error leaves
// the module usable (nothing panicked, nothing leaked into the next call).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root, sequence, parsePorts, unsafePorts, hash, version, thrown } from './wasm.mjs';

const ALICE10 = [30845, 19654, 32310, 63992, 15273, 31420, 62779, 55372, 24143, 41300];
const seq = (opts) => Array.from(sequence(opts));

function assertGood() {
  assert.deepEqual(seq({ user: 'alice', n: 3 }), ALICE10.slice(0, 3));
}

function assertError(opts, code, ...mentions) {
  const err = thrown(() => sequence(opts));
  assert.ok(err instanceof Error, `not an Error: ${err}`);
  assert.equal(err.code, code, err.message);
  for (const m of mentions) assert.ok(err.message.includes(m), `${JSON.stringify(err.message)} lacks ${JSON.stringify(m)}`);
  assertGood();
  return err;
}

test('SPEC anchor table', () => {
  const rows = [
    [{ user: 'alice', n: 10 }, ALICE10],
    [{ user: 'bob', n: 5 }, [54242, 4930, 42139, 14723, 55707]],
    [{ user: 'carol' }, [34307]],
    [{ user: 'alice', tool: 'rstudio' }, [22486]],
    [{ user: 'alice', tool: 'jupyter-notebook' }, [29525]],
    [{ user: 'alice', exclude: '30845,32310' }, [19654]],
    [{ user: 'alice', include: '2000-2123,4321,10000-10999' }, [10451]],
    [{ user: 'alice', include: '1-1023' }, [470]],
    [{ user: 'alice', include: '1-1023', exclude: '470,403' }, [859]],
    [{ user: 'alice', prepend: '2000-2009', include: '1-1023' }, [2000]],
    [{ user: 'alice', prepend: '4321,11001', n: 5 }, [4321, 11001, 30845, 19654, 32310]],
    [{ user: 'alice', skip: 2 }, [32310]],
    [{ user: 'alice', n: 3, skip: 2 }, [32310, 63992, 15273]],
    [{ user: 'bob', n: 2, skip: 1, exclude: '54242,14723' }, [42139, 55707]],
  ];
  for (const [opts, want] of rows) assert.deepEqual(seq(opts), want, JSON.stringify(opts));
});

test('sequence returns a Uint16Array; n defaults to 1; null means unset', () => {
  const out = sequence({ user: 'alice' });
  assert.ok(out instanceof Uint16Array);
  assert.deepEqual(Array.from(out), [30845]);
  assert.deepEqual(seq({ user: 'alice', tool: null, include: null, skip: null, n: undefined }), [30845]);
  assert.deepEqual(seq({ user: '', tool: 'rstudio' }), seq({ user: 'rstudio' }));
});

test('ports as arrays, typed arrays and mixed arrays', () => {
  assert.deepEqual(seq({ user: 'alice', prepend: [4321, 11001], n: 5 }), [4321, 11001, 30845, 19654, 32310]);
  assert.deepEqual(seq({ user: 'alice', prepend: new Uint16Array([4321, 11001, 4321]), n: 3 }), [4321, 11001, 30845]);
  assert.deepEqual(seq({ user: 'alice', prepend: [4321, '2000-2001 {chrome}'], n: 4 }), [4321, 2000, 2001, 1]);
  assert.deepEqual(seq({ user: 'alice', include: [2000, 2001, 2002], n: 1 }), seq({ user: 'alice', include: '2000-2002' }));
  assert.deepEqual(seq({ user: 'alice', exclude: [30845, 32310] }), [19654]);
  assert.deepEqual(seq({ user: 'alice', include: [] }), [30845], 'an empty include means the default');
});

test('excludeUnsafe: default, off, replaced', () => {
  // carol's first port in 1-1023 with the unsafe lists off is 465, which both
  // browsers block (conformance: divergence/explicit-exclude-keeps-unsafe-low).
  const off = seq({ user: 'carol', include: '1-1023', excludeUnsafe: '', n: 40 });
  const on = seq({ user: 'carol', include: '1-1023', n: 40 });
  const unsafe = new Set([...unsafePorts().chrome, ...unsafePorts().firefox]);
  assert.ok(off.some((p) => unsafe.has(p)));
  assert.ok(!on.some((p) => unsafe.has(p)));
  assert.deepEqual(seq({ user: 'carol', include: '1-1023', excludeUnsafe: [], n: 40 }), off);
  assert.deepEqual(seq({ user: 'carol', include: '1-1023', excludeUnsafe: '{chrome},{firefox}', n: 40 }), on);
  const onlyFirst = seq({ user: 'carol', include: '1-1023', excludeUnsafe: String(off[0]), n: 1 });
  assert.notEqual(onlyFirst[0], off[0]);
});

test('long lists wrap around the allowed set, huge skips are cheap', () => {
  const all = sequence({ user: 'alice', n: 1048576 });
  assert.equal(all.length, 1048576);
  const period = 65535 - 1023 - 17; // 1024-65535 minus the 17 unsafe ports above 1023
  assert.equal(new Set(all).size, period);
  assert.deepEqual(Array.from(all.subarray(period, period + 10)), ALICE10);
  assert.deepEqual(seq({ user: 'alice', skip: period * 1e9 + 2, n: 3 }), [32310, 63992, 15273]);
  assert.deepEqual(seq({ user: 'dave', include: '2000', n: 4 }), [2000, 2000, 2000, 2000]);
  const t = performance.now();
  seq({ user: 'alice', include: '2000', skip: Number.MAX_SAFE_INTEGER, n: 100000 });
  assert.ok(performance.now() - t < 2000, 'a sparse set with a huge skip took too long');
});

test('spec errors name the item and the option', () => {
  const err = assertError({ user: 'alice', include: '80, 90x' }, 'ERR_PORT4ME_INVALID_SPEC', 'include', '"90x"');
  assert.equal(err.option, 'include');
  assertError({ user: 'alice', prepend: '5-3' }, 'ERR_PORT4ME_INVALID_SPEC', 'prepend', '5-3');
  assertError({ user: 'alice', exclude: '65536' }, 'ERR_PORT4ME_INVALID_SPEC', 'exclude', '65536');
  assertError({ user: 'alice', excludeUnsafe: '{edge}' }, 'ERR_PORT4ME_INVALID_SPEC', 'excludeUnsafe', '{edge}');
  assertError({ user: 'alice', include: [1, '2,x'] }, 'ERR_PORT4ME_INVALID_SPEC', 'include', '"x"');
});

test('port numbers in arrays must be integers 1-65535', () => {
  assertError({ user: 'alice', include: [70000] }, 'ERR_PORT4ME_INVALID_PORT', 'include', '70000');
  assertError({ user: 'alice', prepend: [0] }, 'ERR_PORT4ME_INVALID_PORT', 'prepend', '0 is outside');
  assertError({ user: 'alice', exclude: [1.5] }, 'ERR_PORT4ME_INVALID_PORT', 'exclude', '1.5');
  assertError({ user: 'alice', exclude: [NaN] }, 'ERR_PORT4ME_INVALID_PORT', 'NaN');
  assertError({ user: 'alice', include: [2000, true] }, 'ERR_INVALID_ARG_TYPE', 'include[1]', 'boolean');
});

test('empty set and empty seed', () => {
  assertError({ user: 'alice', include: '2000', exclude: '2000' }, 'ERR_PORT4ME_EMPTY_SET');
  assertError({ user: 'alice', include: '{chrome}', n: 2 }, 'ERR_PORT4ME_EMPTY_SET');
  // Prepended ports still come out first; the error comes only after them.
  assert.deepEqual(seq({ user: 'alice', prepend: '4321', include: '2000', exclude: '2000' }), [4321]);
  assertError({ user: 'alice', prepend: '4321', include: '2000', exclude: '2000', n: 2 }, 'ERR_PORT4ME_EMPTY_SET');
  assertError({ user: 'alice', prepend: '4321', include: '2000', exclude: '2000', skip: 1 }, 'ERR_PORT4ME_EMPTY_SET');
  assertError({ user: '' }, 'ERR_PORT4ME_EMPTY_SEED', 'empty');
  assertError({ user: '', tool: '' }, 'ERR_PORT4ME_EMPTY_SEED');
});

test('argument types', () => {
  for (const bad of [undefined, null, 'alice', 5, () => {}]) {
    const err = thrown(() => sequence(bad));
    assert.equal(err.code, 'ERR_INVALID_ARG_TYPE', String(bad));
    assertGood();
  }
  assertError({}, 'ERR_INVALID_ARG_TYPE', '"user"', 'undefined');
  assertError({ user: 42 }, 'ERR_INVALID_ARG_TYPE', '"user"', 'number');
  assertError({ user: 'alice', tool: 7 }, 'ERR_INVALID_ARG_TYPE', '"tool"');
  assertError({ user: 'alice', include: { 0: 80 } }, 'ERR_INVALID_ARG_TYPE', '"include"');
  assertError({ user: 'alice', n: '3' }, 'ERR_INVALID_ARG_TYPE', '"n"', 'string');
  assertError({ user: 'alice', skip: 1n }, 'ERR_INVALID_ARG_TYPE', '"skip"', 'bigint');
  const err = assertError({ user: 'alice', exlude: '80' }, 'ERR_INVALID_ARG_VALUE', 'exlude');
  assert.equal(err.option, 'exlude');
});

test('n and skip must be integers in range', () => {
  for (const n of [0, -1, 1.5, NaN, Infinity, 1048577]) {
    assertError({ user: 'alice', n }, 'ERR_PORT4ME_INVALID_NUMBER', '"n"', String(n));
  }
  for (const skip of [-1, 0.5, NaN, 2 ** 53]) {
    assertError({ user: 'alice', skip }, 'ERR_PORT4ME_INVALID_NUMBER', '"skip"');
  }
  assert.equal(sequence({ user: 'alice', n: 1048576 }).length, 1048576);
  assert.deepEqual(seq({ user: 'alice', skip: 0 }), [30845]);
});

test('an option getter that throws is passed through', () => {
  const opts = { user: 'alice', get include() { throw new RangeError('boom'); } };
  assert.throws(() => sequence(opts), RangeError);
  assertGood();
});

test('parsePorts: ordered, deduplicated, tokens expanded', () => {
  assert.ok(parsePorts('1') instanceof Uint16Array);
  assert.deepEqual(Array.from(parsePorts('5 3-4,5 3')), [5, 3, 4]);
  assert.deepEqual(Array.from(parsePorts(' 0, ,\t80\n443 ,, 0 ')), [80, 443]);
  assert.deepEqual(Array.from(parsePorts('')), []);
  assert.deepEqual(Array.from(parsePorts('{firefox}')), unsafePorts().firefox);
  const err = thrown(() => parsePorts('80,x'));
  assert.equal(err.code, 'ERR_PORT4ME_INVALID_SPEC');
  assert.ok(err.message.includes('"x"') && err.message.includes('parsePorts'), err.message);
  assert.deepEqual(Array.from(parsePorts('80')), [80]);
  assert.equal(thrown(() => parsePorts(80)).code, 'ERR_INVALID_ARG_TYPE');
  assert.deepEqual(Array.from(parsePorts('80')), [80]);
});

test('unsafePorts are the reference lists', () => {
  const { chrome, firefox } = unsafePorts();
  assert.ok(Array.isArray(chrome) && Array.isArray(firefox));
  assert.equal(chrome.length, 80);
  assert.equal(firefox.length, 58);
  assert.deepEqual(chrome.slice(0, 5), [1, 7, 9, 11, 13]);
  assert.equal(chrome.at(-1), 10080);
  assert.equal(firefox.at(-1), 6000);
  unsafePorts().chrome.push(1234);
  assert.equal(unsafePorts().chrome.length, 80, 'each call returns fresh arrays');
});

test('hash is the unsigned Java-style hash over code points', () => {
  assert.equal(hash('A'), 65);
  assert.equal(hash('alice'), 92903040);
  assert.equal(hash(''), 0);
  assert.equal(hash('\u00e9'), 233);
  assert.equal(hash('\u{1F600}'), 0x1f600, 'an astral character is one code point, not two UTF-16 units');
  assert.ok(hash('zzzzzzzzzzzzzzzzzzzz') >= 0);
  assert.equal(thrown(() => hash(5)).code, 'ERR_INVALID_ARG_TYPE');
  assert.equal(hash('A'), 65);
});

test('version is the workspace version', () => {
  const toml = readFileSync(path.join(root, 'Cargo.toml'), 'utf8');
  const want = /\[workspace\.package\][^[]*?\nversion\s*=\s*"([^"]+)"/.exec(toml)[1];
  assert.equal(version(), want);
});

test('random input never traps: every call returns ports or throws a coded Error', () => {
  // Deterministic xorshift32, so a failure reproduces.
  let s = 0x9e3779b9;
  const rnd = (n) => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s % n;
  };
  const pick = (xs) => xs[rnd(xs.length)];
  const atoms = ['0', '1', '80', '1023', '1024', '65535', '65536', '70000', '5-3', '1-1023', '2000-2009', '{chrome}',
    '{firefox}', '{edge}', '-', '1-', '-5', 'x', '1.5', '\u00e9', '\u{1F600}', '', ' ', ',', '99999999999999999999'];
  const spec = () => Array.from({ length: rnd(5) }, () => pick(atoms)).join(pick([',', ' ', ', ', '\t']));
  const portish = () => pick([spec(), [rnd(70000)], [rnd(3), 'x'], [pick(atoms)], [], null, undefined, 7, {}, [1.5], [-1]]);
  const codes = new Set(['ERR_PORT4ME_INVALID_SPEC', 'ERR_PORT4ME_EMPTY_SET', 'ERR_PORT4ME_EMPTY_SEED', 'ERR_INVALID_ARG_TYPE',
    'ERR_PORT4ME_INVALID_NUMBER', 'ERR_PORT4ME_INVALID_PORT', 'ERR_INVALID_ARG_VALUE']);
  for (let i = 0; i < 3000; i++) {
    const opts = { user: pick(['alice', '', 'bob', '\u{1F600}', 5, undefined]) };
    for (const key of ['tool', 'prepend', 'include', 'exclude', 'excludeUnsafe']) {
      if (rnd(2)) opts[key] = key === 'tool' ? pick(['rstudio', '', null, 3]) : portish();
    }
    if (rnd(2)) opts.skip = pick([0, 1, rnd(200000), -1, 1.5, 2 ** 53, '2']);
    if (rnd(2)) opts.n = pick([1, 2, rnd(3000), 0, -3, 1e9, NaN]);
    let ok = false;
    try {
      const out = sequence(opts);
      assert.ok(out instanceof Uint16Array, 'not a Uint16Array');
      ok = true;
    } catch (err) {
      assert.ok(err instanceof Error && codes.has(err.code), `opts ${JSON.stringify(opts)} threw ${err && err.stack}`);
      assert.equal(typeof err.message, 'string');
    }
    if (!ok) assertGood();
    try {
      parsePorts(spec());
    } catch (err) {
      assert.equal(err.code, 'ERR_PORT4ME_INVALID_SPEC', String(err));
    }
  }
});

test('options are own properties only, as in the Node addon', () => {
  // An inherited tool is not an option: alice alone, not alice + rstudio.
  const child = Object.assign(Object.create({ tool: 'rstudio', n: 5 }), { user: 'alice' });
  assert.deepEqual(seq(child), ALICE10.slice(0, 1));
  assertError(Object.create({ user: 'alice' }), 'ERR_INVALID_ARG_TYPE', '"user"');
  Object.prototype.skip = 2; // eslint-disable-line no-extend-native
  try {
    assert.deepEqual(seq({ user: 'alice' }), ALICE10.slice(0, 1));
  } finally {
    delete Object.prototype.skip;
  }
});
