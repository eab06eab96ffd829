'use strict';
// Loads what index.cjs calls into: the native addon for this platform, or,
// where none loads, the WebAssembly fallback (fallback.cjs) with the same
// functions.
//
// Order:
//   1. PORT4ME_NATIVE_ADDON=none: the fallback, silently;
//      PORT4ME_NATIVE_ADDON=/path/to/port4me.<triple>.node: that file;
//   2. the platform package `port4me-<triple>` (installed as an optional
//      dependency of `port4me`);
//   3. the same package as a sibling directory (`../port4me-<triple>/`), which
//      is where `napi build` puts the addon during development in the
//      repository (npm/port4me and npm/port4me-linux-x64-gnu side by side).
// When none of these gives an addon (not installed: an unknown platform, a
// failed or omitted optional install; or a file that fails to load: another
// libc, a damaged file, StackBlitz WebContainers, which run no native
// addons), the fallback is used and one warning per process
// (PORT4ME_NATIVE_FALLBACK) says why. Only when the fallback cannot be
// loaded either is that an error (ERR_PORT4ME_NATIVE_MISSING, or the
// addon's own load error), naming both causes.

const { existsSync, readFileSync } = require('node:fs');
const path = require('node:path');

function isMusl() {
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
  const err = new Error(lines.join('\n'), cause ? { cause } : undefined);
  err.code = 'ERR_PORT4ME_NATIVE_MISSING';
  return err;
}

function loadNative() {
  const triple = platformTriple();
  const pkg = `port4me-${triple}`;
  const file = `port4me.${triple}.node`;

  const override = process.env.PORT4ME_NATIVE_ADDON;
  if (override) {
    const p = path.resolve(override);
    if (!existsSync(p)) {
      const err = new Error(`port4me: PORT4ME_NATIVE_ADDON points to ${p}, which does not exist`);
      err.code = 'ERR_PORT4ME_NATIVE_MISSING';
      throw err;
    }
    return { addon: require(p), path: p };
  }

  const tried = [];
  // 2. The installed platform package.
  let resolved = null;
  try {
    resolved = require.resolve(`${pkg}/${file}`);
  } catch (e) {
    if (e && e.code !== 'MODULE_NOT_FOUND') throw e;
    tried.push(`package ${pkg}`);
  }
  // 3. The development layout.
  if (!resolved) {
    const sibling = path.join(__dirname, '..', pkg, file);
    if (existsSync(sibling)) resolved = sibling;
    else tried.push(sibling);
  }
  if (!resolved) throw missingAddonError(triple, pkg, tried);
  // The file exists: a failure now (wrong libc, corrupt file) is reported as is.
  return { addon: require(resolved), path: resolved };
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
    return Object.hasOwn(require('./package.json').optionalDependencies || {}, pkg);
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
  const forced = process.env.PORT4ME_NATIVE_ADDON === 'none';
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
    const cause = forced ? err : nativeError;
    const e = new Error(
      `${forced ? 'port4me: PORT4ME_NATIVE_ADDON=none selects the WebAssembly fallback' : cause.message}\n` +
        `The WebAssembly fallback could not be loaded ${forced ? '' : 'either'}: ${firstLine(err)}`,
      { cause: err },
    );
    e.code = forced ? 'ERR_PORT4ME_NATIVE_MISSING' : (nativeError.code ?? 'ERR_PORT4ME_NATIVE_MISSING');
    throw e;
  }
  if (!forced) warnOnce(fallback.warning);
  return { backend: 'wasm', native: fallback, path: null, reason };
}

module.exports = { loadBinding, loadNative, platformTriple };
