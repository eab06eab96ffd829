// ESM entry point. The implementation is index.cjs, one instance per thread
// for ESM and CommonJS users alike: index.cjs records itself in a map on
// globalThis, keyed by its path, and whichever entry comes second takes that
// instance.
//
// This entry evaluates index.cjs itself instead of loading it through
// createRequire(). The first require() in an ES module process warms up
// Node's CommonJS loader, and that was half of what `import 'port4me'` cost
// over an empty package (bench/startup.mjs). Only index.cjs, binding.cjs and
// env.cjs are evaluated here, and the addon is opened with process.dlopen().
// Every other require() goes to a real one, made when first needed: the
// fallback's files, which reload the WebAssembly module through
// require.cache, and packages found by the resolver.
//
// Node older than 20.16 (no process.getBuiltinModule), a process that
// forbids code from strings, and a copy of this file without index.cjs
// beside it (a bundle) take the createRequire() path.
//
// The names are listed once more, on purpose: test/api.test.mjs checks that
// this list and index.cjs's exports agree.

const getBuiltin = process.getBuiltinModule;
const api = (typeof getBuiltin === 'function' && evaluateOwn()) || (await viaRequire());

async function viaRequire() {
  const { createRequire } = await import('node:module');
  return createRequire(import.meta.url)('./index.cjs');
}

/** index.cjs evaluated here (or the instance already loaded), or null where it cannot be. */
function evaluateOwn() {
  const { readFileSync } = getBuiltin('node:fs');
  const path = getBuiltin('node:path');
  const dir = import.meta.dirname;
  const main = path.join(dir, 'index.cjs');
  const loaded = globalThis[Symbol.for('port4me.instances')]?.get(main);
  if (loaded) return loaded;
  const own = new Map();
  let real = null;
  const realRequire = () => (real ??= getBuiltin('node:module').createRequire(import.meta.url));

  // The module function of a file. The wrapper and the first line share a
  // line, so that stack traces show the file's own line numbers.
  const compile = (filename) =>
    (0, eval)(`(function (exports, require, module, __filename, __dirname) {${readFileSync(filename, 'utf8')}\n})\n//# sourceURL=${filename}`);

  function evaluate(filename, fn = compile(filename)) {
    const module = { exports: {}, filename, id: filename, loaded: false };
    own.set(filename, module);
    try {
      fn.call(module.exports, module.exports, ownRequire, module, filename, dir);
    } catch (err) {
      own.delete(filename);
      throw err;
    }
    module.loaded = true;
    return module.exports;
  }

  function ownRequire(request) {
    if (request.startsWith('node:')) return getBuiltin(request);
    if (request === './binding.cjs' || request === './env.cjs') {
      const filename = path.join(dir, request);
      return own.get(filename)?.exports ?? evaluate(filename);
    }
    if (path.isAbsolute(request) && request.endsWith('.node')) {
      const module = { exports: {} };
      process.dlopen(module, path.toNamespacedPath(request));
      return module.exports;
    }
    return realRequire()(request);
  }
  ownRequire.resolve = (request, options) => realRequire().resolve(request, options);

  let fn;
  try {
    fn = compile(main);
  } catch (err) {
    if (err instanceof EvalError || err.code === 'ENOENT') return null;
    throw err;
  }
  return evaluate(main, fn);
}

export const {
  port4me,
  port4meAsync,
  list,
  isPortFree,
  parsePorts,
  unsafePorts,
  waitForPort,
  Registry,
  whoHolds,
  status,
  plan,
  describeBusy,
  ps,
  version,
} = api;
export default port4me;
