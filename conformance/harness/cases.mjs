// The conformance vectors for this project's JavaScript runners: one case
// loader and one matcher, shared by the Node addon runner (four modes), the
// WebAssembly runner in Node and the one inside Chromium, so that all of
// them enforce the same rules (the error code and the `mentions` text of
// every error case included). No imports: a browser loads this file as is.
// The Rust runners have the same in harness.rs; the schema is in
// conformance/README.md.

/** The cases a runner takes: `'no-env'` (core, wasm: no environment) or `'env'` (std, CLI, Node). */
export function selectCases(doc, kind) {
  if (!doc || !Array.isArray(doc.cases)) throw new Error('vectors: no cases array');
  if (kind === 'no-env') return doc.cases.filter((c) => c.env === undefined);
  if (kind === 'env') return doc.cases.filter((c) => c.layer !== 'core');
  throw new Error(`vectors: unknown runner kind ${JSON.stringify(kind)}`);
}

/** The runner's whole environment for a case: the testing hook plus the case's variables. */
export function caseEnv(c) {
  return { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any', ...(c.env || {}) };
}

/**
 * A case as port4me options (the Node and wasm APIs share the names; the
 * reference's `list` is `n`), and whether it is a list (a `list` argument or
 * a non-empty PORT4ME_LIST) or a find. `user: ""` means "not given".
 */
export function optionsOf(c) {
  const options = {};
  if (c.user !== '') options.user = c.user;
  for (const key of ['tool', 'prepend', 'include', 'exclude', 'skip']) if (c[key] !== undefined) options[key] = c[key];
  if (c.list !== undefined) options.n = c.list;
  const listMode = c.list !== undefined || (c.env !== undefined && (c.env.PORT4ME_LIST ?? '').trim() !== '');
  return { options, listMode };
}

/** What a message mentions where the API renames the reference's argument (`The "n" option ...`). */
const OPTION_NAME = { list: '"n"' };

/**
 * The one matcher. `outcome` is `{ ports: [...] }` or `{ error: { code, message } }`;
 * `renamed` says the runner's messages use the option names of optionsOf
 * (the wasm API: a mention of `list` means `"n"`). Returns null when the outcome is what the
 * case expects, else what differs.
 */
export function check(c, outcome, { renamed = false } = {}) {
  const e = c.expect;
  if (e.error !== undefined) {
    if (!outcome.error) return `expected ${e.error}, got ports ${JSON.stringify(outcome.ports)}`;
    if (outcome.error.code !== e.error) return `expected ${e.error}, got ${outcome.error.code}: ${outcome.error.message}`;
    const mention = renamed ? (OPTION_NAME[e.mentions] ?? e.mentions) : e.mentions;
    if (mention !== undefined && !String(outcome.error.message).includes(mention)) {
      return `the message ${JSON.stringify(outcome.error.message)} does not mention ${JSON.stringify(mention)}`;
    }
    return null;
  }
  if (outcome.error) return `unexpected ${outcome.error.code}: ${outcome.error.message}`;
  const want = e.ports !== undefined ? e.ports : [e.port];
  if (e.ports === undefined && e.port === undefined) return `unknown expectation ${JSON.stringify(e)}`;
  const got = Array.from(outcome.ports ?? []);
  const same = got.length === want.length && got.every((p, i) => p === want[i]);
  return same ? null : `expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`;
}

/** Runs `fn` and returns its outcome: `{ ports }` (a single port becomes a list of one) or `{ error }`. */
export function outcomeOf(fn) {
  try {
    const v = fn();
    return { ports: typeof v === 'number' ? [v] : Array.from(v) };
  } catch (err) {
    return { error: { code: err && err.code, message: err && err.message } };
  }
}

/** Checks every case with `run(c) -> outcome`; returns the failures as `id: problem` lines. */
export function checkAll(cases, run, opts) {
  const failures = [];
  for (const c of cases) {
    const problem = check(c, run(c), opts);
    if (problem) failures.push(`${c.id}: ${problem}`);
  }
  return failures;
}
