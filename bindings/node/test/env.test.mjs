// npm/port4me/env.cjs: the one copy of "the variables port4me reads" that
// index.cjs (worker threads) and fallback.cjs (the WebAssembly module's
// input) both take from the process environment. The platform is the
// helper's parameter, never a patched process.platform.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageDir } from './helpers.mjs';

const require = createRequire(import.meta.url);
const { envSnapshot, foldName, isRelevantVar } = require(path.join(packageDir, 'env.cjs'));

const SAMPLE = {
  Port4me_User: 'mixed',
  port4me_tool: 'lower',
  _port4me_check_available_ports_: 'any',
  user: 'bob',
  LOGNAME: 'carol',
  Path: '/bin',
  PORT4ME: 'no underscore',
  'u\u017Fer': 'long s, not USER',
  PORT4ME_NATIVE_ADDON: 'none',
};

test('win32: names are matched without regard to ASCII case, and handed on in upper case', () => {
  assert.deepEqual(envSnapshot(SAMPLE, 'win32'), {
    PORT4ME_USER: 'mixed',
    PORT4ME_TOOL: 'lower',
    _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any',
    USER: 'bob',
    LOGNAME: 'carol',
    PORT4ME_NATIVE_ADDON: 'none',
  });
  // Two spellings of one name (only a hand-made object has both): the upper-case one wins, in either order.
  assert.deepEqual(envSnapshot({ User: 'a', USER: 'b' }, 'win32'), { USER: 'b' });
  assert.deepEqual(envSnapshot({ USER: 'b', User: 'a' }, 'win32'), { USER: 'b' });
  assert.equal(foldName('Port4me_Skip', 'win32'), 'PORT4ME_SKIP');
  assert.equal(foldName('u\u017Fer', 'win32'), 'U\u017FER', 'only ASCII letters fold');
});

test('elsewhere: names are taken exactly as they are', () => {
  for (const platform of ['linux', 'darwin', 'freebsd']) {
    assert.deepEqual(envSnapshot(SAMPLE, platform), { LOGNAME: 'carol', PORT4ME_NATIVE_ADDON: 'none' }, platform);
    assert.equal(foldName('Port4me_Skip', platform), 'Port4me_Skip');
  }
  assert.ok(isRelevantVar('USERNAME') && isRelevantVar('LNAME') && isRelevantVar('PORT4ME_X') && isRelevantVar('_PORT4ME_X'));
  assert.ok(!isRelevantVar('username') && !isRelevantVar('HOME') && !isRelevantVar('PORT4ME'));
});

test('the default is this process: process.env on process.platform', () => {
  const snap = envSnapshot();
  for (const [k, v] of Object.entries(process.env)) {
    const name = foldName(k, process.platform);
    if (isRelevantVar(name)) assert.equal(snap[name], v, k);
  }
  for (const k of Object.keys(snap)) assert.ok(isRelevantVar(k), k);
});

test('index.cjs and fallback.cjs take their snapshot from env.cjs, not a copy of their own', () => {
  for (const file of ['index.cjs', 'fallback.cjs']) {
    const source = readFileSync(path.join(packageDir, file), 'utf8');
    assert.match(source, /require\('\.\/env\.cjs'\)/, file);
    assert.doesNotMatch(source, /function (envSnapshot|isRelevantVar)\b/, `${file} defines its own`);
  }
});
