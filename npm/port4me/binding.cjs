'use strict';
// Loads the native addon for this platform.
//
// Order:
//   1. PORT4ME_NATIVE_ADDON=/path/to/port4me.<triple>.node (explicit override);
//   2. the platform package `port4me-<triple>` (installed as an optional
//      dependency of `port4me`);
//   3. the same package as a sibling directory (`../port4me-<triple>/`), which
//      is where `napi build` puts the addon during development in the
//      repository (npm/port4me and npm/port4me-linux-x64-gnu side by side).
// A missing addon is an error naming the platform package to install; an
// addon that exists but fails to load reports the loader's own error.

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

module.exports = { loadNative, platformTriple };
