// conformance/vectors.json through the WebAssembly module: every case without
// `env` (this build has no environment), `layer: "core"` ones included. The
// loader and the matcher are the shared ones (conformance/harness/cases.mjs),
// which the Node addon's runner and the Chromium runner use too. A case maps
// onto sequence() by optionsOf: the reference's `list` is `n`; a find (no
// list) is n = 1: with every probe answering "free", the port found is the
// first candidate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sequence } from './wasm.mjs';
import { check, optionsOf, outcomeOf, selectCases } from '../../../conformance/harness/cases.mjs';
import { loadVectors } from '../../../conformance/harness/load.mjs';

const KEYS = new Set(['id', 'note', 'layer', 'expect', 'divergence', 'reference', 'alternatives', 'user', 'tool',
  'prepend', 'include', 'exclude', 'skip', 'list']);
const runnable = selectCases(loadVectors(), 'no-env');

test('vectors.json has runnable cases', () => {
  assert.ok(runnable.length > 0, 'no case without env: nothing would be checked');
  assert.ok(runnable.some((c) => c.layer === 'core'), 'no layer:"core" case');
  assert.ok(runnable.some((c) => c.expect.error), 'no error case');
});

for (const c of runnable) {
  test(c.id, () => {
    for (const key of Object.keys(c)) assert.ok(KEYS.has(key), `case ${c.id}: unknown key "${key}" (schema changed?)`);
    const { options } = optionsOf(c);
    const problem = check(c, outcomeOf(() => sequence({ user: c.user, n: 1, ...options })), { renamed: true });
    assert.equal(problem, null);
  });
}
