// `npx port4me`: the bin of the npm package, through the addon (or, in the
// PORT4ME_NATIVE_ADDON=none pass, the WebAssembly fallback: the same Rust
// command line without the registry and holders, so no holder names, no
// --reserve and no subcommands). The last test compares the fallback's
// output with the native binary's and the addon's, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { cleanEnv, cliCommands, close, here, listenTcp, onFallback, packageDir, repoRoot } from './helpers.mjs';
import { platformTriple } from '../../../npm/port4me/binding.cjs';

const cli = path.join(packageDir, 'cli.mjs');
const anyFree = { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'any' };

function run(args, extraEnv = anyFree) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: cleanEnv(extraEnv) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const anchors = [
  [['--user=alice', '--list=5'], '30845\n19654\n32310\n63992\n15273\n'],
  [['--user', 'alice', '--list', '10'], '30845\n19654\n32310\n63992\n15273\n31420\n62779\n55372\n24143\n41300\n'],
  [['--user=bob', '--list=5'], '54242\n4930\n42139\n14723\n55707\n'],
  [['--user=carol'], '34307\n'],
  [['--user=alice', 'rstudio'], '22486\n'],
  [['--user=alice', '--tool=jupyter-notebook'], '29525\n'],
  [['--user=alice', '--tool=jupyter-notebook', 'rstudio'], '29525\n'],
  [['--user=alice', '--exclude=30845,32310'], '19654\n'],
  [['--user=alice', '--include=2000-2123,4321,10000-10999'], '10451\n'],
  [['--user=alice', '--include=1-1023', '--exclude=470,403'], '859\n'],
  [['--user=alice', '--prepend=4321,11001', '--list=5'], '4321\n11001\n30845\n19654\n32310\n'],
  [['--user=alice', '--skip=2'], '32310\n'],
  [['--user=alice', '--list=3', '--skip=2'], '32310\n63992\n15273\n'],
  [['--user=bob', '--list=2', '--skip=1', '--exclude=54242,14723'], '42139\n55707\n'],
];

for (const [args, expected] of anchors) {
  test(`port4me ${args.join(' ')}`, () => {
    const r = run(args);
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    assert.equal(r.stdout, expected);
  });
}

test('environment: PORT4ME_USER, PORT4ME_TOOL, PORT4ME_LIST', () => {
  assert.equal(run([], { ...anyFree, PORT4ME_USER: 'alice', PORT4ME_TOOL: 'rstudio' }).stdout, '22486\n');
  assert.equal(run([], { ...anyFree, USER: 'alice', PORT4ME_LIST: '3' }).stdout, '30845\n19654\n32310\n');
  assert.equal(run(['--list=1'], { ...anyFree, USER: 'alice', PORT4ME_LIST: '3' }).stdout, '30845\n');
});

test('--test: exit 0 when free, 1 when in use', async () => {
  const server = await listenTcp('127.0.0.1');
  const { port } = server.address();
  try {
    const busy = run([`--test=${port}`], {});
    // Silent, like the reference and native CLIs.
    assert.deepEqual([busy.status, busy.stdout, busy.stderr], [1, '', '']);
    const busyEnv = run([], { PORT4ME_TEST: String(port) });
    assert.equal(busyEnv.status, 1);
    // The testing hook answers "free" for everything.
    assert.equal(run([`--test=${port}`]).status, 0);
  } finally {
    await close(server);
  }
  assert.equal(run([`--test=${port}`], {}).status, 0);
});

test('--version and --help', () => {
  const v = run(['--version']);
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  const h = run(['--help']);
  assert.equal(h.status, 0);
  for (const flag of ['--tool', '--user', '--prepend', '--include', '--exclude', '--skip', '--list', '--test', '--version', '--help']) {
    assert.ok(h.stdout.includes(flag), flag);
  }
  // A --reserve lease lasts its time: the CLI's parent is often a $(...) subshell that exits at once.
  const reserve = h.stdout.slice(h.stdout.indexOf('--reserve'), h.stdout.indexOf('--json'));
  assert.match(reserve.replace(/\s+/g, ' '), /for SECONDS \(default 60\),? however the command was run/, reserve);
  assert.doesNotMatch(reserve, /parent|shell/, reserve);
});

test('drop-in for the reference CLI: empty --tool=, repeated flags, +N counts', () => {
  // An empty --tool= is "not given": PORT4ME_TOOL applies (alice + rstudio = 22486).
  assert.equal(run(['--user=alice', '--tool='], { ...anyFree, PORT4ME_TOOL: 'rstudio' }).stdout, '22486\n');
  assert.equal(run(['--user=alice', '--user=bob', '--list=2']).stdout, '54242\n4930\n');
  assert.equal(run(['--user=alice', '--skip=+2']).stdout, '32310\n');
  assert.equal(run(['--user=alice', '--list= 3']).stdout, '30845\n19654\n32310\n');
  const empty = run(['--user=alice', '--test=']);
  assert.deepEqual([empty.status, empty.stdout], [2, '']);
  assert.match(empty.stderr, /^Error: .*--test/);
  // A value starting with '-' reaches the number check, as in the native CLI.
  const negative = run(['--user=alice', '--skip', '-1']);
  assert.equal(negative.status, 2);
  assert.match(negative.stderr, /^Error: invalid skip in --skip: "-1" must not be negative/);
});

const errors = [
  // [args, exit status, words in the message]
  [['--user=alice', '--exclude=80,foo'], 2, ['foo']],
  [['--user=alice', '--include=5-3'], 2, ['5-3']],
  [['--user=alice', '--include=2000', '--exclude=2000'], 2, ['exclude']],
  [['--user=alice', '--list=0'], 2, ['--list']],
  [['--user=alice', '--list=foo'], 2, ['--list', 'foo']],
  [['--user=alice', '--skip=-1'], 2, ['--skip', '-1']],
  [['--user=alice', '--list=99999999'], 2, ['list count']],
  [['--test=70000'], 2, ['70000']],
  [['--test=abc'], 2, ['abc']],
  [['--bogus'], 2, ['--bogus']],
  [['a', 'b'], 2, ["b"]],
  [['--user=alice'], 2, ['_PORT4ME_CHECK_AVAILABLE_PORTS_'], { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'yes' }],
  [['--user=alice'], 2, ['PORT4ME_SKIP'], { ...anyFree, PORT4ME_SKIP: 'x' }],
];

for (const [args, status, words, env] of errors) {
  test(`error: port4me ${args.join(' ')}${env ? ` with ${JSON.stringify(env)}` : ''}`, () => {
    const r = run(args, env);
    assert.equal(r.status, status, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^Error: /);
    // The first line says it all (a usage error from the native command
    // line adds the usage after it).
    const first = r.stderr.split('\n')[0];
    for (const w of words) assert.ok(first.includes(w), `${JSON.stringify(first)} should mention ${w}`);
  });
}

test('the bin is installed as node_modules/.bin/port4me', () => {
  const bin = path.join(here, '..', 'node_modules', '.bin', 'port4me');
  assert.ok(existsSync(bin), bin);
  const r = spawnSync(bin, ['--user=alice', '--list=2'], { encoding: 'utf8', env: cleanEnv(anyFree) });
  assert.equal(r.stdout, '30845\n19654\n');
});

test('the native CLI extensions: --json, --host, --protocol, --max-tries', () => {
  const found = run(['--user=alice', '--tool=rstudio', '--json']);
  assert.equal(found.status, 0, found.stderr);
  assert.deepEqual(JSON.parse(found.stdout), { port: 22486, seed: 'alice,rstudio', protocol: 'tcp', reserved: false });
  const listed = run(['--user=alice', '--list=2', '--json']);
  assert.deepEqual(JSON.parse(listed.stdout), { seed: 'alice', ports: [30845, 19654] });
  const udp = run(['--user=alice', '--protocol=udp', '--host=127.0.0.1', '--max-tries=10'], {});
  assert.equal(udp.status, 0, udp.stderr);
  assert.match(udp.stdout, /^\d+\n$/);
  const bad = run(['--user=alice', '--protocol=sctp'], {});
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^Error: .*sctp/);
});

test('--test --verbose names the holder; --json reports it', async () => {
  const server = await listenTcp('127.0.0.1');
  const { port } = server.address();
  try {
    const plain = run([`--test=${port}`, '--verbose'], {});
    assert.equal(plain.status, 1);
    const json = run([`--test=${port}`, '--json'], {});
    const v = JSON.parse(json.stdout);
    assert.equal(v.free, false);
    if (onFallback) {
      assert.equal(plain.stderr, '');
      assert.equal(v.holder, null);
    } else {
      assert.match(plain.stderr, new RegExp(`${port} is in use by node \\(pid ${process.pid}`));
      assert.match(v.holder, new RegExp(`pid ${process.pid}`));
    }
  } finally {
    await close(server);
  }
});

test('--reserve through the fallback: exit 2, naming what to install', { skip: !onFallback && 'fallback pass only' }, () => {
  const r = run(['--user=alice', '--tool=vite', '--reserve']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^Error: port4me --reserve needs the native addon, and this process uses the WebAssembly fallback.*PORT4ME_NATIVE_ADDON/);
  const json = run(['--user=alice', '--reserve', '--json']);
  assert.equal(json.status, 2);
  assert.equal(JSON.parse(json.stderr).error.code, 'ERR_PORT4ME_NATIVE_REQUIRED');
  const bad = run(['--user=alice', '--reserve=soon']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--reserve/);
});

test('--reserve leases the port for its time, so the next caller gets another', { skip: onFallback && 'needs the addon' }, () => {
  const db = path.join(mkdtempSync(path.join(tmpdir(), 'port4me-cli-')), 'ports.sqlite');
  const env = { ...anyFree, PORT4ME_DB: db };
  const first = run(['--user=alice', '--tool=vite', '--reserve', '--json'], env);
  assert.equal(first.status, 0, first.stderr);
  const a = JSON.parse(first.stdout);
  assert.equal(a.reserved, true);
  // The first lease lasts 60 s, although the command that took it has exited.
  const second = run(['--user=alice', '--tool=vite', '--reserve=30'], env);
  assert.equal(second.status, 0, second.stderr);
  assert.notEqual(Number(second.stdout), a.port);
  const expected = run(['--user=alice', '--tool=vite', '--list=2']).stdout.trim().split('\n').map(Number);
  assert.deepEqual([a.port, Number(second.stdout)], expected);
  const bad = run(['--user=alice', '--reserve=soon'], env);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--reserve/);
});

test('with the addon, npx port4me is the native command line: subcommands, large output through a pipe', { skip: onFallback && 'addon pass only' }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'p4m-npx-'));
  const db = path.join(dir, 'ports.sqlite');
  const allocated = run(['registry', '--json', 'allocate', '2', 'web'], { PORT4ME_DB: db });
  assert.equal(allocated.status, 0, allocated.stderr);
  assert.equal(JSON.parse(allocated.stdout).module, 'web');
  const listed = run(['registry', '--json', 'list'], { PORT4ME_DB: db });
  assert.equal(listed.status, 0, listed.stderr);
  assert.ok(JSON.stringify(JSON.parse(listed.stdout)).includes('"web"'), listed.stdout);
  const completions = run(['completions', 'bash']);
  assert.match(completions.stdout, /port4me/);
  // 65535 lines (about 390 KB) through a pipe: the Rust writer must not
  // meet a non-blocking pipe.
  const big = run(['--user=alice', '--list=65535']);
  assert.equal(big.status, 0, big.stderr);
  const lines = big.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 65535);
  assert.deepEqual(lines.slice(0, 3), ['30845', '19654', '32310']);
  // Usage errors are the native ones, with the registry's own code.
  const bad = run(['registry', '--json', 'allocate', '-1', 'web'], { PORT4ME_DB: db });
  assert.equal(bad.status, 2);
  assert.equal(JSON.parse(bad.stderr).error.code, 'ERR_PORT4ME_REGISTRY_USAGE');
});

test('through the fallback, a subcommand is an error naming what is missing, never a tool name', { skip: !onFallback && 'fallback pass only' }, () => {
  for (const sub of ['status', 'registry', 'who', 'plan', 'run', 'ps', 'completions']) {
    const r = run([sub, '80']);
    assert.equal(r.status, 2, `${sub}: ${r.stdout}`);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^Error: port4me ${sub} needs the native addon`));
    assert.ok(r.stderr.includes(platformTriple()), r.stderr);
    // With --json, the error is JSON with its code, as every error of the command line.
    const json = run([sub, '--json', '80']);
    assert.equal(json.status, 2);
    const { error } = JSON.parse(json.stderr);
    assert.equal(error.code, 'ERR_PORT4ME_NATIVE_REQUIRED');
    assert.match(error.message, new RegExp(`^port4me ${sub} needs the native addon`));
  }
});

test('through the fallback, npx port4me prints what the native binary and the addon print', async (t) => {
  const triple = platformTriple();
  const addon = path.join(repoRoot, 'npm', `port4me-${triple}`, `port4me.${triple}.node`);
  // [name, command, leading arguments, PORT4ME_NATIVE_ADDON]
  const natives = cliCommands(t)
    .filter(([name]) => name !== 'npx port4me')
    .map(([name, command, pre]) => [name, command, pre, undefined]);
  if (existsSync(addon)) natives.push(['npx port4me on the addon', process.execPath, [cli], addon]);
  assert.ok(natives.length > 0, 'neither the binary nor the addon is built: nothing to compare with');
  const server = await listenTcp('127.0.0.1');
  const busy = String(server.address().port);
  // [args, extra environment]
  const cases = [
    [['--help'], {}],
    [['--help'], { COLUMNS: '60' }],
    [['-h'], {}],
    [['--bogus'], {}],
    [['--json', '--bogus'], {}],
    [['--user=alice', '--list=5'], {}],
    [['--version'], {}],
    [['a', 'b'], {}],
    [['--user=alice', '--list=0'], {}],
    [['--user=alice', '--skip', '-1'], {}],
    [['--user=alice', '--list=2', '--test=80'], {}],
    [['--user=alice', '--tool=vite', '--list=1', '--json'], {}],
    [['--list=1', '--json'], { LOGNAME: 'dave', PORT4ME_TOOL: 'x' }],
    [['--user=alice', '--exclude=80,foo', '--json'], {}],
    [['--user=alice', '--tool=rstudio'], anyFree],
    [['--user=alice'], { PORT4ME_SKIP: 'x' }],
    [[`--test=${busy}`], anyFree],
    [[`--test=${busy}`], {}],
    [[`--test=${busy}`], { _PORT4ME_CHECK_AVAILABLE_PORTS_: 'no' }],
    [['--test=70000', '--json'], {}],
    [['--user=alice', '--host=not-an-ip'], {}],
    [['--user=alice', '--protocol=sctp', '--json'], {}],
    [['--user=alice', '--reserve=soon'], {}],
  ];
  const runWith = (command, pre, args, env, backend) => {
    const childEnv = cleanEnv(env);
    if (backend === undefined) delete childEnv.PORT4ME_NATIVE_ADDON;
    else childEnv.PORT4ME_NATIVE_ADDON = backend;
    const r = spawnSync(command, [...pre, ...args], { encoding: 'utf8', env: childEnv });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  try {
    for (const [args, env] of cases) {
      const wasm = runWith(process.execPath, [cli], args, env, 'none');
      for (const [name, command, pre, backend] of natives) {
        const native = runWith(command, pre, args, env, backend);
        assert.deepEqual(wasm, native, `port4me ${args.join(' ')} ${JSON.stringify(env)}: the fallback and ${name} differ`);
      }
    }
  } finally {
    await close(server);
  }
});
