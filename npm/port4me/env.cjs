'use strict';
// The environment variables port4me reads, copied out of a process
// environment: one helper for index.cjs (worker threads, whose process.env
// the addon cannot see) and fallback.cjs (which hands the WebAssembly module
// its variables).
//
// On Windows variable names ignore case (`Port4me_User` is PORT4ME_USER, as
// the addon's own lookups through the Windows API see it), so names are
// folded to upper case there; elsewhere they are taken as they are. Only the
// ASCII letters are folded: every name port4me reads is ASCII, and no other
// character may turn into one of them (JavaScript's toUpperCase maps
// U+017F, long s, to "S").

/** The general user variables, in the order the user falls back on them after PORT4ME_USER (as port4me::env::USER_VARS). */
const USER_VARS = Object.freeze(['LOGNAME', 'USER', 'LNAME', 'USERNAME']);

/** Whether port4me reads the variable `name` (exact case): PORT4ME_*, _PORT4ME_*, LOGNAME, USER, LNAME, USERNAME. */
function isRelevantVar(name) {
  return name.startsWith('PORT4ME_') || name.startsWith('_PORT4ME_') || USER_VARS.includes(name);
}

/** `name` as the platform compares it: ASCII upper case on win32, as it is elsewhere. */
function foldName(name, platform = process.platform) {
  return platform === 'win32' ? name.replace(/[a-z]+/g, (s) => s.toUpperCase()) : name;
}

/**
 * The variables port4me reads, from `env` (default `process.env`), under
 * their names as `platform` (default `process.platform`) compares them. On
 * win32, where two names can differ only in case (a hand-made object; a real
 * environment has one of them), the one already in upper case wins.
 */
function envSnapshot(env = process.env, platform = process.platform) {
  const out = {};
  for (const key of Object.keys(env)) {
    const name = foldName(key, platform);
    if (!isRelevantVar(name)) continue;
    if (name !== key && Object.hasOwn(out, name)) continue;
    out[name] = env[key];
  }
  return out;
}

module.exports = { envSnapshot, foldName, isRelevantVar, USER_VARS };
