// conformance/vectors.json through the WebAssembly module: every case without
// `env` (this build has no environment), `layer: "core"` ones included.
// Schema: conformance/README.md. A case maps onto sequence() as
//   user, tool, prepend, include, exclude, skip -> the options of that name
//   list -> n; a find (no list) -> n = 1: with every probe answering "free",
//   the port found is the first candidate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { root, sequence } from './wasm.mjs';

const vectorsFile = path.join(root, 'conformance/vectors.json');
const doc = JSON.parse(readFileSync(vectorsFile, 'utf8'));
assert.equal(doc.format, 1, `unknown vectors format ${doc.format}`);

const INPUTS = new Set(['user', 'tool', 'prepend', 'include', 'exclude', 'skip', 'list']);
const META = new Set(['id', 'note', 'layer', 'expect', 'divergence', 'reference']);
// Argument names differ between the reference and this API.
const OPTION_NAME = { list: 'n' };

const runnable = doc.cases.filter((c) => c.env === undefined);

function optionsOf(c) {
  for (const key of Object.keys(c)) {
    if (!INPUTS.has(key) && !META.has(key)) throw new Error(`case ${c.id}: unknown key "${key}" (schema changed?)`);
  }
  const opts = { user: c.user };
  for (const key of ['tool', 'prepend', 'include', 'exclude', 'skip']) {
    if (c[key] !== undefined) opts[key] = c[key];
  }
  opts.n = c.list === undefined ? 1 : c.list;
  return opts;
}

test('vectors.json has runnable cases', () => {
  assert.ok(runnable.length > 0, 'no case without env: nothing would be checked');
  assert.ok(runnable.some((c) => c.layer === 'core'), 'no layer:"core" case');
  assert.ok(runnable.some((c) => c.expect.error), 'no error case');
});

for (const c of runnable) {
  test(c.id, () => {
    const opts = optionsOf(c);
    const { expect } = c;
    if (expect.error !== undefined) {
      let err;
      try {
        const got = sequence(opts);
        assert.fail(`expected ${expect.error}, got ports ${Array.from(got).join(' ')}`);
      } catch (e) {
        err = e;
      }
      if (err.code === 'ERR_ASSERTION') throw err;
      assert.equal(err.code, expect.error, err.message);
      if (expect.mentions !== undefined) {
        const mention = OPTION_NAME[expect.mentions] ?? expect.mentions;
        assert.ok(err.message.includes(mention), `message ${JSON.stringify(err.message)} does not mention ${JSON.stringify(mention)}`);
      }
      return;
    }
    const got = Array.from(sequence(opts));
    if (expect.ports !== undefined) {
      assert.deepEqual(got, expect.ports);
    } else if (expect.port !== undefined) {
      assert.deepEqual(got, [expect.port]);
    } else {
      assert.fail(`case ${c.id}: unknown expectation ${JSON.stringify(expect)}`);
    }
  });
}
