#!/usr/bin/env node
// `npx port4me [TOOL] [options]` and `npx port4me COMMAND ...`: the port4me
// command line itself, the same Rust program as the `port4me` binary, with
// the same help, flags, messages and exit codes.
//
// The native addon runs it in this process, writing to stdout and stderr
// directly. Where only the WebAssembly fallback loads, the same command line
// runs in the module without the registry and holders: the subcommands and
// --reserve fail with ERR_PORT4ME_NATIVE_REQUIRED, naming what to install.
// Either way this file must not touch process.stdout or process.stderr
// first: Node would make a pipe behind them non-blocking under the writer.
import { createRequire } from 'node:module';

let code;
try {
  const { native } = createRequire(import.meta.url)('./index.cjs')._internal;
  code = native.runCli(process.argv.slice(2));
} catch (err) {
  // The package could not load, or the module trapped: not the command's
  // own errors, which it prints itself.
  process.stderr.write(`Error: ${err && err.message ? err.message : String(err)}\n`);
  code = 2;
}
process.exitCode = code;
