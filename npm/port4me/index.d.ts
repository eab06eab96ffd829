// Type declarations of the `port4me` package (Node.js build).
//
// Every function throws (or, for the async ones, rejects with) an `Error`
// whose `code` is one of {@link Port4meErrorCode}; the message names the bad
// value and where it came from (an option or an environment variable).

/**
 * Ports: a specification string such as `"2000-2009, 4321 {chrome}"` (ports
 * and inclusive ranges separated by commas or whitespace; `{chrome}` and
 * `{firefox}` stand for the ports those browsers block), or an array of port
 * numbers (1-65535) and/or specification strings.
 */
export type PortSpec = string | ReadonlyArray<number | string>;

/**
 * Where the seed and the candidate sequence come from. Anything left out is
 * read from the environment exactly as the `port4me` command line does
 * (`PORT4ME_*` variables; see the package README). An explicit `prepend`,
 * `include` or `exclude` replaces only the user-level variable
 * (`PORT4ME_PREPEND`, ...): the `_SITE` variables and the browser-unsafe
 * list (`PORT4ME_EXCLUDE_UNSAFE`) still apply.
 */
export interface Port4meOptions {
  /** The tool part of the seed, e.g. `"vite"`. Default `PORT4ME_TOOL`; `""` means no tool. */
  tool?: string;
  /** The user part of the seed. Default (also for `""`): `PORT4ME_USER`, `LOGNAME`, `USER`, `LNAME`, `USERNAME`, then the account name. */
  user?: string;
  /** Ports tried first, in order, before the sequence (not filtered by include/exclude). Replaces `PORT4ME_PREPEND`. */
  prepend?: PortSpec;
  /** Only these ports are candidates (default 1024-65535). Replaces `PORT4ME_INCLUDE`. */
  include?: PortSpec;
  /** These ports are never candidates. Replaces `PORT4ME_EXCLUDE`. */
  exclude?: PortSpec;
  /** Drop this many leading candidates (prepended ones count). Default `PORT4ME_SKIP`, else 0. */
  skip?: number;
  /** Give up with `ERR_PORT4ME_NO_FREE_PORT` after this many probes (default 65535). */
  maxTries?: number;
  /** Probe only this IP address (e.g. `"127.0.0.1"`), instead of every local address. */
  host?: string;
  /** Probe `"tcp"` (default) or `"udp"`. */
  protocol?: 'tcp' | 'udp' | (string & {});
  /**
   * Resolve with exactly these variables instead of the process environment
   * (only `PORT4ME_*`, `_PORT4ME_*`, `LOGNAME`, `USER`, `LNAME` and `USERNAME`
   * are read). In worker threads the default is the worker's `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Options of {@link list}. */
export interface ListOptions extends Port4meOptions {
  /** How many candidates (1-1048576). Default `PORT4ME_LIST`, else 1. */
  n?: number;
}

/** Options of {@link isPortFree}. */
export interface ProbeOptions {
  /** Probe only this IP address. Default: every local address of both families. */
  host?: string;
  /** `"tcp"` (default) or `"udp"`. */
  protocol?: 'tcp' | 'udp' | (string & {});
}

/** Options of {@link waitForPort}. */
export interface WaitForPortOptions {
  /** Connect to this host. Default: `127.0.0.1` and `::1`. */
  host?: string;
  /** Give up (resolve `false`) after this many milliseconds. Default 10000. */
  timeoutMs?: number;
  /** Pause between attempts, in milliseconds. Default 100. */
  intervalMs?: number;
  /** Abort the wait; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** The stable `code` of the errors this package throws. */
export type Port4meErrorCode =
  /** A port specification item is not a port, a range A-B or a known token. */
  | 'ERR_PORT4ME_INVALID_SPEC'
  /** A port number is not an integer in 1-65535. */
  | 'ERR_PORT4ME_INVALID_PORT'
  /** A count (skip, maxTries, n, `PORT4ME_SKIP`, `PORT4ME_LIST`) is not a valid whole number. */
  | 'ERR_PORT4ME_INVALID_NUMBER'
  /** An environment variable has a value that is not allowed. */
  | 'ERR_PORT4ME_INVALID_ENV'
  /** Every port the include set allows is excluded. */
  | 'ERR_PORT4ME_EMPTY_SET'
  /** User and tool are both empty. */
  | 'ERR_PORT4ME_EMPTY_SEED'
  /** Every probe within `maxTries` found the port in use. */
  | 'ERR_PORT4ME_NO_FREE_PORT'
  /** A probe failed for another reason (e.g. `host` is not an address of this machine). */
  | 'ERR_PORT4ME_PROBE'
  /** A bug in the addon (a caught Rust panic). */
  | 'ERR_PORT4ME_INTERNAL'
  /** The native addon for this platform is not installed. */
  | 'ERR_PORT4ME_NATIVE_MISSING'
  /** An argument has the wrong type (Node's code). */
  | 'ERR_INVALID_ARG_TYPE'
  /** An argument has an unusable value, e.g. an unknown option or protocol (Node's code). */
  | 'ERR_INVALID_ARG_VALUE'
  /** A number option is out of range (Node's code; `waitForPort`). */
  | 'ERR_OUT_OF_RANGE';

/** The shape of the errors thrown by this package. */
export interface Port4meError extends Error {
  code: Port4meErrorCode;
}

/**
 * The first free TCP port of your personal port4me sequence: the same port
 * every time, as long as it is free.
 *
 * @param options A tool name (`port4me('vite')`) or an options object.
 * @returns A port number in 1-65535.
 * @throws {Port4meError} `ERR_PORT4ME_NO_FREE_PORT` when nothing is free, or a validation code.
 *
 * @example
 * import { port4me } from 'port4me';
 * const port = port4me('jupyter');
 */
export declare function port4me(options?: string | Port4meOptions): number;

/**
 * {@link port4me}, computed on the libuv thread pool. Bad arguments reject
 * the promise; they never throw synchronously.
 */
export declare function port4meAsync(options?: string | Port4meOptions): Promise<number>;

/**
 * The first `n` candidates of the sequence, without probing (repeats are
 * possible once the sequence wraps, as in the reference implementation).
 *
 * @example
 * list({ user: 'alice', n: 3 }); // [30845, 19654, 32310]
 */
export declare function list(options?: ListOptions): number[];

/**
 * Whether `port` is free right now: binds it (TCP on every local address of
 * both families unless `host`/`protocol` say otherwise) and releases it.
 * Ports below 1024 are "not free" for users who may not bind them.
 */
export declare function isPortFree(port: number, options?: ProbeOptions): boolean;

/**
 * The ports of a specification, in order, each once.
 *
 * @example
 * parsePorts('5 3-4,5'); // [5, 3, 4]
 */
export declare function parsePorts(spec: string): number[];

/** The ports browsers refuse to connect to, which port4me excludes by default. */
export declare const unsafePorts: {
  readonly chrome: readonly number[];
  readonly firefox: readonly number[];
};

/**
 * Resolves `true` as soon as something accepts TCP connections on `port`,
 * `false` if `timeoutMs` passes first.
 *
 * @example
 * const port = port4me('api');
 * spawn('my-server', ['--port', String(port)]);
 * if (!(await waitForPort(port, { timeoutMs: 5000 }))) throw new Error('server did not start');
 */
export declare function waitForPort(port: number, options?: WaitForPortOptions): Promise<boolean>;

/** The version of this package. */
export declare const version: string;
