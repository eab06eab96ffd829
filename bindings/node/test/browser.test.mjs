// The browser entry (browser.js, the "browser" export condition) in Node.js:
// it loads without a fetch or top-level await (SSR, tests, or `node
// --conditions=browser`), and its exports are exactly what browser.d.ts
// declares (names read with the TypeScript compiler API).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { cleanEnv, here, packageDir } from './helpers.mjs';

const ALICE = [30845, 19654, 32310, 63992, 15273];

test('browser.js loads in Node and answers synchronously', async () => {
  const m = await import(pathToFileURL(path.join(packageDir, 'browser.js')).href);
  assert.deepEqual(m.list({ user: 'alice', n: 5 }), ALICE);
  assert.deepEqual(Array.from(m.sequence({ user: 'alice', n: 5 })), ALICE);
  assert.ok(m.sequence({ user: 'alice' }) instanceof Uint16Array);
  assert.deepEqual(m.parsePorts('5 3-4,5'), [5, 3, 4]);
  assert.equal(m.hash('alice'), 92903040);
  assert.ok(Object.isFrozen(m.unsafePorts.chrome));
  assert.equal(m.version, JSON.parse((await import('node:fs')).readFileSync(path.join(packageDir, 'package.json'), 'utf8')).version);
  assert.throws(() => m.list({ n: 3 }), { code: 'ERR_INVALID_ARG_TYPE' });
});

test('`node --conditions=browser` resolves port4me to the browser entry', () => {
  const r = spawnSync(
    process.execPath,
    ['--conditions=browser', '--input-type=module', '-e', "const m = await import('port4me'); console.log(typeof m.port4me, m.list({ user: 'alice', n: 5 }).join(' '))"],
    { cwd: here, encoding: 'utf8', env: cleanEnv() },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `undefined ${ALICE.join(' ')}`);
});

test('browser.d.ts declares exactly what browser.js exports', async () => {
  const file = path.join(packageDir, 'browser.d.ts');
  const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  const declared = checker.getExportsOfModule(checker.getSymbolAtLocation(source));
  // Values only: type-only exports (SequenceOptions, ...) have no runtime counterpart.
  const values = declared
    .filter((s) => {
      const target = s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s;
      return (target.flags & ts.SymbolFlags.Value) !== 0;
    })
    .map((s) => s.name)
    .sort();
  const m = await import(pathToFileURL(path.join(packageDir, 'browser.js')).href);
  assert.deepEqual(Object.keys(m).sort(), values);
  assert.deepEqual(values, ['hash', 'list', 'parsePorts', 'sequence', 'unsafePorts', 'version']);
  for (const name of ['hash', 'list', 'parsePorts', 'sequence']) assert.equal(typeof m[name], 'function', name);
});
