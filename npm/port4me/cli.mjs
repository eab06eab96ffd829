#!/usr/bin/env node
// `npx port4me [TOOL] [options]` and `npx port4me COMMAND ...`.
//
// Where the native addon loads, this is the native command line itself: the
// addon's runCli() runs the same Rust program as the `port4me` binary (same
// flags, subcommands, messages and exit codes), writing to this process's
// stdout and stderr directly. So this path must not touch process.stdout or
// process.stderr first (Node would switch a pipe to non-blocking mode under
// the Rust writer).
//
// Where only the WebAssembly fallback loads, the main command is served by
// the JavaScript below: the same flags and messages, minus what needs the
// addon (--reserve, the holder named by --test --verbose, the subcommands).
// The CLI tests run through both paths.
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const api = require('./index.cjs');

const USAGE = `Usage: port4me [TOOL] [options]

Get the same, personal, free TCP port over and over.

Arguments:
  TOOL                Used in the seed, to get a different port sequence per tool

Options:
  --tool=TOOL         Same as the TOOL argument (wins over it, as in the reference CLI;
                      empty means not given)
  --user=USER         Used in the seed (default: PORT4ME_USER, LOGNAME, USER, LNAME, USERNAME)
  --prepend=PORTS     Ports to try first, e.g. 4321,11001
  --include=PORTS     Only consider these ports, e.g. 2000-2999,4321
  --exclude=PORTS     Never consider these ports
  --skip=N            Skip the first N candidates
  --list=N            Print the first N candidates (without probing) instead of a free port
  --test=PORT         Exit 0 if PORT is free, 1 if it is in use (printing nothing)
  --verbose           With --test, say on stderr what holds a busy port (needs the addon)
  --max-tries=N       Give up after N probes (default 65535)
  --host=ADDR         Probe only this local address (e.g. 127.0.0.1, ::1, localhost)
  --protocol=PROTO    Probe tcp (default) or udp
  --reserve[=SECONDS] Record the port found in the registry as a short lease, so
                      that other callers skip it for SECONDS (default 60), however
                      the command was run (P=$(port4me --reserve) included)
  --json              Print JSON instead of plain text
  --version           Print the version
  -h, --help          Print this help

PORTS is a list of ports and ranges A-B separated by commas or spaces; the
tokens {chrome} and {firefox} stand for the ports those browsers block.

Environment: PORT4ME_USER, PORT4ME_TOOL, PORT4ME_PREPEND, PORT4ME_INCLUDE,
PORT4ME_EXCLUDE and their _SITE variants, PORT4ME_EXCLUDE_UNSAFE, PORT4ME_SKIP,
PORT4ME_LIST, PORT4ME_TEST.
`;

class UsageError extends Error {}

function fail(err) {
  const message = err && err.message ? err.message : String(err);
  process.stderr.write(`Error: ${message}\n`);
  process.exitCode = 2;
}

// Counts as the native CLI reads them (port4me::parse_count): ASCII digits,
// an optional leading `+`, surrounding spaces; the reference CLI accepts
// these too. A flag given twice takes its last value (parseArgs does).
function count(text, flag, what) {
  const t = text.replace(/^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g, '');
  if (/^-\d+$/.test(t)) throw new UsageError(`invalid ${what} in ${flag}: "${text}" must not be negative`);
  if (!/^\+?\d+$/.test(t)) throw new UsageError(`invalid ${what} in ${flag}: "${text}" is not a whole number`);
  const n = Number(t.replace(/^\+/, ''));
  if (!Number.isSafeInteger(n)) throw new UsageError(`invalid ${what} in ${flag}: "${text}" is too large (at most ${Number.MAX_SAFE_INTEGER})`);
  return n;
}

// The options whose value may start with `-` (`--skip -1` is a negative
// count, refused as such, not "argument is ambiguous"), as in the native CLI.
const HYPHEN_VALUES = new Set(['--prepend', '--include', '--exclude', '--skip', '--list', '--test', '--max-tries']);

// The command line as parseArgs can read it: `--flag -value` joined for the
// options above, and `--reserve`, whose value is optional (parseArgs has no
// notion of that): a bare `--reserve` (or one followed by a non-number)
// means 60 seconds.
function normalizeArgs(argv) {
  const out = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (HYPHEN_VALUES.has(argv[i]) && i + 1 < argv.length) {
      out.push(`${argv[i]}=${argv[++i]}`);
    } else if (argv[i] === '--reserve') {
      if (i + 1 < argv.length && /^\d+(\.\d+)?$/.test(argv[i + 1])) out.push(`--reserve=${argv[++i]}`);
      else out.push('--reserve=60');
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

const SUBCOMMANDS = new Set(['registry', 'who', 'status', 'plan', 'completions']);

/** The main command through the WebAssembly fallback. */
function fallbackMain(argv) {
  // As in the native command line, a subcommand is the first argument; here
  // it needs the addon (never taken as a tool name).
  if (SUBCOMMANDS.has(argv[0])) {
    throw new UsageError(`port4me ${argv[0]} needs the native addon, which did not load here (${api._internal.fallbackReason}); `
      + `the WebAssembly fallback serves only the main command. Install the package for this platform, or use the port4me binary`);
  }
  argv = normalizeArgs(argv);
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        tool: { type: 'string' },
        user: { type: 'string' },
        prepend: { type: 'string' },
        include: { type: 'string' },
        exclude: { type: 'string' },
        skip: { type: 'string' },
        list: { type: 'string' },
        test: { type: 'string' },
        'max-tries': { type: 'string' },
        host: { type: 'string' },
        protocol: { type: 'string' },
        reserve: { type: 'string' },
        json: { type: 'boolean' },
        verbose: { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(`${err.message} (see port4me --help)`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.version) {
    process.stdout.write(`${api.version}\n`);
    return;
  }
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one TOOL argument, got ${positionals.length}: ${positionals.join(' ')}`);
  }

  // An empty --test= is an error (not "no test"), as in the native and
  // reference CLIs; an empty PORT4ME_TEST means unset.
  const testText = values.test ?? (process.env.PORT4ME_TEST || '').trim();
  if (values.test !== undefined || testText !== '') {
    const flag = values.test !== undefined ? '--test' : 'PORT4ME_TEST';
    // A negative number is no port, as 0 is (port4me::parse_port).
    const port = /^-\d+$/.test(testText.trim()) ? -1 : count(testText, flag, 'port');
    if (port < 1 || port > 65535) throw new UsageError(`invalid port in ${flag}: ${testText} is outside 1-65535`);
    const probe = {};
    if (values.host !== undefined) probe.host = values.host;
    if (values.protocol !== undefined) probe.protocol = values.protocol;
    const free = api._internal.testPort(port, probe);
    // Silent like the reference CLI. Only the addon can tell what holds a
    // port, so here --verbose adds nothing and --json says null.
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ port, free, protocol: probe.protocol ?? 'tcp', holder: null })}\n`);
    }
    process.exitCode = free ? 0 : 1;
    return;
  }

  const options = {};
  const tool = values.tool || positionals[0];
  if (tool !== undefined) options.tool = tool;
  for (const key of ['user', 'prepend', 'include', 'exclude']) {
    if (values[key] !== undefined) options[key] = values[key];
  }
  if (values.skip !== undefined) options.skip = count(values.skip, '--skip', 'skip');
  if (values['max-tries'] !== undefined) options.maxTries = count(values['max-tries'], '--max-tries', 'max tries');
  if (values.host !== undefined) options.host = values.host;
  if (values.protocol !== undefined) options.protocol = values.protocol;

  let listMode = false;
  if (values.list !== undefined) {
    options.n = count(values.list, '--list', 'list count');
    if (options.n === 0) throw new UsageError('invalid list count in --list: "0" must be at least 1');
    listMode = true;
  } else if ((process.env.PORT4ME_LIST || '').trim() !== '') {
    listMode = true; // the addon reads the count from PORT4ME_LIST
  }
  if (listMode) {
    delete options.maxTries;
    delete options.host;
    delete options.protocol;
    const ports = api.list(options);
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ seed: api._internal.seed(options), ports })}\n`);
    } else {
      process.stdout.write(`${ports.join('\n')}\n`);
    }
    return;
  }
  if (values.reserve !== undefined) {
    const secs = Number(values.reserve);
    if (!/^\d+(\.\d+)?$/.test(values.reserve) || !(secs > 0)) {
      throw new UsageError(`invalid --reserve value "${values.reserve}": expected a positive number of seconds`);
    }
    options.reserve = secs;
  }
  const port = options.reserve !== undefined ? api._internal.findReservedByTime(options) : api.port4me(options);
  if (values.json) {
    // The seed depends on the list options only.
    const { maxTries, host, protocol, reserve, ...seedOptions } = options;
    process.stdout.write(`${JSON.stringify({ port, seed: api._internal.seed(seedOptions), protocol: options.protocol ?? 'tcp', reserved: options.reserve !== undefined })}\n`);
  } else {
    process.stdout.write(`${port}\n`);
  }
}

if (api._internal.backend === 'native') {
  process.exitCode = api._internal.native.runCli(process.argv.slice(2));
} else {
  process.stdout.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    fallbackMain(process.argv.slice(2));
  } catch (err) {
    fail(err);
  }
}
