'use strict';
// Loads what index.cjs calls into: the native addon for this platform, or,
// where none loads, the WebAssembly fallback (fallback.cjs) with the same
// functions.
//
// Order:
//   1. PORT4ME_NATIVE_ADDON=none: the fallback, silently;
//      PORT4ME_NATIVE_ADDON=/path/to/port4me.<triple>.node: that file, and
//      only that file: when it is missing (ERR_PORT4ME_NATIVE_MISSING), fails
//      to load (the loader's error, e.g. ERR_DLOPEN_FAILED) or is of another
//      version, that is an error naming the variable and the path, never the
//      fallback;
//   2. the platform package `port4me-<triple>` (installed as an optional
//      dependency of `port4me`), looked for first as a sibling directory
//      (`../port4me-<triple>/`): where npm, pnpm and yarn install it, and
//      where `napi build` puts the addon in the repository (npm/port4me and
//      npm/port4me-linux-x64-gnu side by side);
//   3. then wherever Node's resolver finds the package.
// When 2 and 3 give no addon (not installed: an unknown platform, a failed
// or omitted optional install; or a file that fails to load: another libc,
// a damaged file, an addon of another version; StackBlitz WebContainers,
// which run no native addons, are expected here: never tried), the fallback
// is used and one warning per process (PORT4ME_NATIVE_FALLBACK) says why.
// Only when the fallback cannot be loaded either is that an error
// (ERR_PORT4ME_NATIVE_MISSING, or the addon's own load error), naming both
// causes.
//
// An addon's nativeVersion() must be this package's version: a stale build
// would otherwise fail later with "... is not a function" or answer
// differently.

const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

/**
 * A `Type` (default Error) with `code` set: the one helper for the
 * package's own errors. `options` goes to the constructor (`{ cause }`).
 */
function codedError(code, message, Type = Error, options = undefined) {
  const err = new Type(message, options);
  err.code = code;
  return err;
}

let musl = null;

/** Whether Node runs on musl libc (looked up once). */
function isMusl() {
  return (musl ??= detectMusl());
}

function detectMusl() {
  if (process.platform !== 'linux') return false;
  try {
    return readFileSync('/usr/bin/ldd', 'utf8').includes('musl');
  } catch {
    // No ldd to read: ask Node which C library it runs on.
    try {
      const header = process.report && process.report.getReport().header;
      return Boolean(header) && !header.glibcVersionRuntime;
    } catch {
      return false;
    }
  }
}

/** The napi-rs platform name, e.g. `linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`. */
function platformTriple() {
  const { platform, arch } = process;
  switch (platform) {
    case 'linux':
      return `linux-${arch}-${isMusl() ? 'musl' : arch === 'arm' ? 'gnueabihf' : 'gnu'}`;
    case 'win32':
      return `win32-${arch}-msvc`;
    case 'darwin':
    case 'freebsd':
    case 'android':
      return `${platform}-${arch}`;
    default:
      return `${platform}-${arch}`;
  }
}

function missingAddonError(triple, pkg, tried, cause) {
  const lines = [
    `port4me: the native addon for this platform (${triple}) is not installed.`,
    `It comes in the platform package "${pkg}", which npm installs as an optional dependency of "port4me".`,
    `Install it with \`npm install ${pkg}\`, and check that optional dependencies are not omitted`,
    '(npm --omit=optional / --no-optional, or a lockfile made on another platform).',
    `Looked in: ${tried.join(', ')}.`,
  ];
  return codedError('ERR_PORT4ME_NATIVE_MISSING', lines.join('\n'), Error, cause ? { cause } : undefined);
}

let manifest = null;

/** This package's package.json, read once, when the fallback needs it. */
function packageJson() {
  return (manifest ??= JSON.parse(readFileSync(path.join(__dirname, 'package.json'), 'utf8')));
}

// This package's version, as in package.json: scripts/packages.mjs writes
// and checks it, so that loading the package reads no package.json.
const VERSION = '0.1.0';

/** This package's version. */
function packageVersion() {
  return VERSION;
}

/** Checks that `addon` (loaded from `file`) was built for this package's version. */
function checkVersion(addon, file) {
  const version = packageVersion();
  const built = typeof addon.nativeVersion === 'function' ? addon.nativeVersion() : null;
  if (built === version) return;
  const what = built === null ? 'reports no version (nativeVersion() is missing)' : `is version ${built}`;
  throw codedError(
    'ERR_PORT4ME_NATIVE_MISSING',
    `port4me: the native addon ${file} ${what}, but this port4me package is version ${version}.\n` +
      'Install the platform package of the same version (npm installs it when optional dependencies are not omitted), or rebuild the addon.',
  );
}

/** The addon PORT4ME_NATIVE_ADDON names (`override`, not "none"): it, or an error naming the variable and the path. */
function loadOverride(override) {
  const p = path.resolve(override);
  if (!existsSync(p)) {
    throw codedError('ERR_PORT4ME_NATIVE_MISSING', `port4me: PORT4ME_NATIVE_ADDON=${override} names ${p}, which does not exist`);
  }
  let addon;
  try {
    addon = require(p);
  } catch (cause) {
    const code = cause && cause.code ? cause.code : 'ERR_PORT4ME_NATIVE_MISSING';
    throw codedError(code, `port4me: PORT4ME_NATIVE_ADDON=${override} names ${p}, which could not be loaded: ${firstLine(cause)}`, Error, { cause });
  }
  try {
    checkVersion(addon, p);
  } catch (err) {
    err.message = err.message.replace(/^port4me: /, `port4me: PORT4ME_NATIVE_ADDON=${override}: `);
    throw err;
  }
  return { addon, path: p };
}

/**
 * The addon of the platform package (2 and 3 above): it, or an error saying
 * why not (loadBinding then falls back).
 */
function loadNative() {
  const triple = platformTriple();
  const pkg = `port4me-${triple}`;
  const file = `port4me.${triple}.node`;

  const tried = [];
  // The sibling directory first: npm, pnpm and yarn's node_modules layouts
  // put the platform package beside this one (this directory is a real
  // path: Node resolves links), and so does the repository. One stat,
  // where a package lookup costs a walk up the node_modules directories
  // (about 0.25 ms at start-up, or a thrown MODULE_NOT_FOUND).
  let resolved = null;
  const sibling = path.join(__dirname, '..', pkg, file);
  if (existsSync(sibling)) resolved = sibling;
  else tried.push(sibling);
  // 3. The installed platform package, wherever the resolver finds it
  // (Yarn Plug'n'Play, a hoisted copy elsewhere).
  if (!resolved) {
    try {
      resolved = require.resolve(`${pkg}/${file}`);
    } catch (e) {
      if (e && e.code !== 'MODULE_NOT_FOUND') throw e;
      tried.push(`package ${pkg}`);
    }
  }
  if (!resolved) throw missingAddonError(triple, pkg, tried);
  // The file exists: a failure now (wrong libc, corrupt file) is reported as
  // is, with the file's path (Node's message names it too, but not always first).
  let addon;
  try {
    addon = require(resolved);
  } catch (cause) {
    const message = firstLine(cause);
    throw codedError(cause && cause.code, message.includes(resolved) ? message : `${resolved}: ${message}`, Error, { cause });
  }
  checkVersion(addon, resolved);
  return { addon, path: resolved };
}

/** The first line of an error's message (loader errors can be long). */
function firstLine(err) {
  const message = err && err.message ? err.message : String(err);
  return message.split('\n')[0];
}

const WARNED = 'port4me:native-fallback-warned';

/**
 * process.emitWarning, once per process: worker threads started after the
 * warning inherit the mark through the worker environment data.
 */
function warnOnce(message) {
  const wt = require('node:worker_threads');
  if (wt.getEnvironmentData(WARNED)) return;
  wt.setEnvironmentData(WARNED, true);
  process.emitWarning(message, { code: 'PORT4ME_NATIVE_FALLBACK' });
}

/** Whether `port4me` lists a platform package for `pkg` (it may exist for this platform). */
function packageListed(pkg) {
  try {
    return Object.hasOwn(packageJson().optionalDependencies || {}, pkg);
  } catch {
    return false;
  }
}

/**
 * What index.cjs calls into: `{ backend: 'native', native, path }` with the
 * addon, or `{ backend: 'wasm', native, path: null, reason }` with the
 * WebAssembly fallback, whose functions have the addon's names.
 */
function loadBinding() {
  const triple = platformTriple();
  const pkg = `port4me-${triple}`;
  const override = process.env.PORT4ME_NATIVE_ADDON;
  const forced = override === 'none';
  // An explicit file: it loads, or the error goes to the caller.
  if (override && !forced) {
    const { addon, path: file } = loadOverride(override);
    return { backend: 'native', native: addon, path: file };
  }
  let nativeError = null;
  if (!forced) {
    try {
      const { addon, path: file } = loadNative();
      return { backend: 'native', native: addon, path: file };
    } catch (err) {
      nativeError = err;
    }
  }
  const reason = forced ? 'PORT4ME_NATIVE_ADDON=none' : firstLine(nativeError).replace(/^port4me: /, '').replace(/\.$/, '');
  let fallback;
  try {
    fallback = require('./fallback.cjs').createFallback({ triple, pkg, reason, forced, listed: packageListed(pkg) });
  } catch (err) {
    const head = forced ? 'port4me: PORT4ME_NATIVE_ADDON=none selects the WebAssembly fallback.' : nativeError.message;
    const code = forced ? 'ERR_PORT4ME_NATIVE_MISSING' : (nativeError.code ?? 'ERR_PORT4ME_NATIVE_MISSING');
    throw codedError(code, `${head}\nThe WebAssembly fallback could not be loaded${forced ? '' : ' either'}: ${firstLine(err)}`, Error, { cause: err });
  }
  if (!forced) warnOnce(fallback.warning);
  return { backend: 'wasm', native: fallback, path: null, reason };
}

module.exports = { codedError, loadBinding, loadNative, packageVersion, platformTriple };
