// Type declarations of the `port4me` package (Node.js build).
//
// Every function throws (or, for the async ones, rejects with) an `Error`
// whose `code` is one of {@link Port4meErrorCode}; the message names the bad
// value and where it came from (an option or an environment variable).
// Where no native addon loads, the package runs on a WebAssembly fallback
// with the same API; there {@link Registry}, {@link whoHolds}, {@link status},
// {@link plan}, {@link describeBusy} and `reserve` throw
// `ERR_PORT4ME_NATIVE_REQUIRED`.

// The results of the registry, whoHolds, status and plan (the serde form the
// addon returns, which `port4me ... --json` prints too) and the options of
// every call but waitForPort are generated from their Rust definitions:
// generated.d.cts, checked against them by
// `cargo test -p port4me-node generated_types`.
import type {
  AllocateOptions,
  DefineServiceOptions,
  ForceOptions,
  GcReport,
  Holder,
  HoldersOptions,
  Lease,
  ModuleRange,
  Offer,
  Plan,
  PlanOptions,
  Port4meAndListOptions,
  PortRange,
  PortStatus,
  ProbeOptions,
  Registration,
  RegistrationFilter,
  RegistryListing,
  Running,
  Service,
  ServicePort,
  ServiceWithPorts,
  ShowServiceOptions,
  StatusOptions,
  Strategy,
} from './generated.cjs';
export * from './generated.cjs';

/**
 * Options of {@link port4me} and {@link port4meAsync}: where the seed and the
 * candidate sequence come from (see {@link Port4meAndListOptions}).
 */
export type Port4meOptions = Omit<Port4meAndListOptions, 'n'>;

/** Options of {@link list}: those of {@link port4me} but `reserve`, and `n`. */
export type ListOptions = Omit<Port4meAndListOptions, 'reserve'>;

/** Options of {@link waitForPort}. */
export interface WaitForPortOptions {
  /** Connect to this host. Default: `127.0.0.1` and `::1`. */
  host?: string;
  /** Give up (resolve `false`) after this many milliseconds. Default 10000. */
  timeoutMs?: number;
  /**
   * Pause between attempts, in milliseconds. Default 100. At most
   * 2147483647 (2^31 - 1, the longest delay Node's timers hold; more is
   * `ERR_OUT_OF_RANGE`).
   */
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
  /** `{worktree}` in the tool, where the current directory gives no name (the root, not UTF-8, unreadable). */
  | 'ERR_PORT4ME_WORKTREE'
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
  /** Neither the native addon for this platform nor the WebAssembly fallback could be loaded. */
  | 'ERR_PORT4ME_NATIVE_MISSING'
  /**
   * The call needs the native addon ({@link Registry}, {@link whoHolds},
   * {@link status}, {@link plan}, {@link describeBusy}, `reserve`), and this
   * process runs on the WebAssembly fallback; the message names the platform
   * and what to install.
   */
  | 'ERR_PORT4ME_NATIVE_REQUIRED'
  /** An argument has the wrong type (Node's code). */
  | 'ERR_INVALID_ARG_TYPE'
  /** An argument has an unusable value, e.g. an unknown option or protocol (Node's code). */
  | 'ERR_INVALID_ARG_VALUE'
  /** A number option is out of range (Node's code; `waitForPort`). */
  | 'ERR_OUT_OF_RANGE'
  | RegistryErrorCode
  | HoldersErrorCode;

/** The codes of the errors of {@link Registry} (and of `reserve`). */
export type RegistryErrorCode =
  /** The database file or its directory could not be created or opened. */
  | 'ERR_PORT4ME_REGISTRY_IO'
  /** No path given and none can be derived (no `PORT4ME_DB`, `XDG_STATE_HOME` or `HOME`). */
  | 'ERR_PORT4ME_REGISTRY_NO_PATH'
  /** The file is not an SQLite database, or is damaged (it is left untouched). */
  | 'ERR_PORT4ME_REGISTRY_NOT_A_DATABASE'
  /** The file is another program's SQLite database (it is left untouched). */
  | 'ERR_PORT4ME_REGISTRY_FOREIGN_DATABASE'
  /** The database was written by a newer port4me. */
  | 'ERR_PORT4ME_REGISTRY_SCHEMA_TOO_NEW'
  /** The database was written by a pre-release build (it is left untouched). */
  | 'ERR_PORT4ME_REGISTRY_PRE_RELEASE'
  /** The database cannot be written. */
  | 'ERR_PORT4ME_REGISTRY_READ_ONLY'
  /** Another process held the lock longer than the busy timeout (30 s). */
  | 'ERR_PORT4ME_REGISTRY_BUSY'
  /** Any other SQLite failure. */
  | 'ERR_PORT4ME_REGISTRY_SQLITE'
  /** A protocol other than tcp or udp (the addon reports `ERR_INVALID_ARG_VALUE` first). */
  | 'ERR_PORT4ME_REGISTRY_UNKNOWN_PROTOCOL'
  /** A module, service, instance or registration name that is empty, too long (200 bytes) or has control characters. */
  | 'ERR_PORT4ME_REGISTRY_INVALID_NAME'
  /** A description or label that is too long or contains NUL. */
  | 'ERR_PORT4ME_REGISTRY_INVALID_TEXT'
  /** A number of ports that is 0 or larger than the pool. */
  | 'ERR_PORT4ME_REGISTRY_INVALID_COUNT'
  /** A service range that is inverted or outside 1-65535. */
  | 'ERR_PORT4ME_REGISTRY_INVALID_RANGE'
  /** A service range below 1024 or from 49152 on, without `force`. */
  | 'ERR_PORT4ME_REGISTRY_RESTRICTED_RANGE'
  /** A lease time of 0 or more than a year. */
  | 'ERR_PORT4ME_REGISTRY_INVALID_DURATION'
  /** No gap of that many ports is left in the pool. */
  | 'ERR_PORT4ME_REGISTRY_POOL_EXHAUSTED'
  /** A range overlaps something the registry already holds (the message names it). */
  | 'ERR_PORT4ME_REGISTRY_RANGE_CONFLICT'
  /** `services.define` with a name already defined. */
  | 'ERR_PORT4ME_REGISTRY_SERVICE_EXISTS'
  /** `services.undefine` of a service whose instances still hold ports (`force` releases them). */
  | 'ERR_PORT4ME_REGISTRY_SERVICE_IN_USE'
  /** A service that is not defined. */
  | 'ERR_PORT4ME_REGISTRY_UNKNOWN_SERVICE'
  /** `offer` for an instance that already holds a port of the service. */
  | 'ERR_PORT4ME_REGISTRY_INSTANCE_EXISTS'
  /** Every port of the service is offered or allocated. */
  | 'ERR_PORT4ME_REGISTRY_SERVICE_FULL'
  /** An instance that holds nothing in the service. */
  | 'ERR_PORT4ME_REGISTRY_UNKNOWN_INSTANCE'
  /** A secret that is not 32 hexadecimal digits. */
  | 'ERR_PORT4ME_REGISTRY_MALFORMED_SECRET'
  /** A secret no offer has (never offered, or already rejected). */
  | 'ERR_PORT4ME_REGISTRY_UNKNOWN_SECRET'
  /** The offer expired before it was accepted. */
  | 'ERR_PORT4ME_REGISTRY_EXPIRED_SECRET'
  /** `reject` of an offer that was already accepted. */
  | 'ERR_PORT4ME_REGISTRY_ALREADY_ACCEPTED'
  /** `release` of a name this user has not registered. */
  | 'ERR_PORT4ME_REGISTRY_UNKNOWN_REGISTRATION'
  /**
   * `release` of another user's registration or lease; `release` of
   * another user's module or service allocation without `{ force: true }`
   * (the message names the owner).
   */
  | 'ERR_PORT4ME_REGISTRY_NOT_OWNER'
  /** `modules.release` of a `port4me:...` row, which mirrors a service, registration or lease (the message says how to release that). */
  | 'ERR_PORT4ME_REGISTRY_NOT_A_MODULE'
  /** The default (private) registry's directory is writable by every user (the message says how to fix it). */
  | 'ERR_PORT4ME_REGISTRY_INSECURE_DIRECTORY'
  /** Every suffix `name_1` ... `name_9999` is taken. */
  | 'ERR_PORT4ME_REGISTRY_TOO_MANY_REGISTRATIONS'
  /** The owner process does not exist. */
  | 'ERR_PORT4ME_REGISTRY_NO_SUCH_PROCESS'
  /** The OS random source failed. */
  | 'ERR_PORT4ME_REGISTRY_RANDOM'
  /** A method of a {@link Registry} called after `close()`. */
  | 'ERR_PORT4ME_REGISTRY_CLOSED';

/** The codes of the errors of {@link whoHolds}, {@link status} and {@link plan}. */
export type HoldersErrorCode =
  /** `plan` with no services. */
  | 'ERR_PORT4ME_PLAN_EMPTY'
  /** The same service twice in a plan. */
  | 'ERR_PORT4ME_PLAN_DUPLICATE_SERVICE'
  /** A service name that is empty, longer than 100 characters, or has whitespace, `=` or `,`. */
  | 'ERR_PORT4ME_PLAN_INVALID_SERVICE'
  /** A plan entry that is not NAME=PORT. */
  | 'ERR_PORT4ME_PLAN_INVALID_ENTRY'
  /** A strategy other than alternative, fail or kill. */
  | 'ERR_PORT4ME_PLAN_INVALID_STRATEGY'
  /** Options that do not go together (`force` without `kill`). */
  | 'ERR_PORT4ME_PLAN_INVALID_OPTIONS'
  /** The `fail` strategy met a conflict: see {@link PlanConflictError}. */
  | 'ERR_PORT4ME_PLAN_CONFLICT'
  /** No alternative port could be found for a service. */
  | 'ERR_PORT4ME_PLAN_NO_ALTERNATIVE'
  /** The kernel's socket tables could not be read. */
  | 'ERR_PORT4ME_HOLDERS_SOCKET_TABLE'
  /** Finding holders is not supported on this operating system (Linux only). */
  | 'ERR_PORT4ME_HOLDERS_UNSUPPORTED';

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

// ---------------------------------------------------------------------------
// The port registry

/** A transport protocol, as results name it. */
export type Protocol = 'tcp' | 'udp';

/** Module ranges ({@link Registry.modules}): `n` consecutive ports per module and protocol. */
export interface RegistryModules {
  /**
   * `n` consecutive ports for `module`: the first large enough gap in the
   * module pool (20000-45000). Replaces the module's earlier ranges of this
   * protocol unless `keepExisting`.
   */
  allocate(n: number, module: string, protocol?: Protocol | (string & {}), options?: AllocateOptions): PortRange;
  allocate(n: number, module: string, options: AllocateOptions): PortRange;
  /**
   * Releases every range of `module` for `protocol` (TCP by default); returns
   * them (empty if none). Any name is accepted, also ones other tools wrote
   * into `TCP_PORTS`/`UDP_PORTS`. Ranges another OS user allocated throw
   * `ERR_PORT4ME_REGISTRY_NOT_OWNER` (naming the owner) unless `force`.
   */
  release(module: string, protocol?: Protocol | (string & {}), options?: ForceOptions): PortRange[];
  release(module: string, options: ForceOptions): PortRange[];
  /** Every module range (of `protocol`, else of both), in protocol and port order. */
  list(protocol?: Protocol | (string & {})): ModuleRange[];
}

/** Services ({@link Registry.services}): fixed ranges whose ports are offered to instances. */
export interface RegistryServices {
  /**
   * Defines the service `name` owning the ports `start`-`end`, which may not
   * overlap anything the registry holds, nor (without `force`) touch ports
   * below 1024 or from 49152 on.
   */
  define(name: string, description: string, start: number, end: number, options?: DefineServiceOptions): Service;
  /**
   * Deletes the service `name` and frees its range; returns it with the
   * ports its instances held. While instances hold ports of it this throws
   * `ERR_PORT4ME_REGISTRY_SERVICE_IN_USE` unless `force`, which releases them.
   */
  undefine(name: string, options?: ForceOptions): ServiceWithPorts;
  /** Offers the lowest free port of `service` to `instance`; accept or reject it with the secret. */
  offer(service: string, instance: string): Offer;
  /** Accepts an offer: its port is the instance's until released. Accepting twice is harmless. */
  accept(secret: string): ServicePort;
  /** Rejects an offer: its port returns to the service. */
  reject(secret: string): ServicePort;
  /**
   * Releases what `instance` holds in `service` (an offer or an allocation).
   * An allocation another OS user accepted throws
   * `ERR_PORT4ME_REGISTRY_NOT_OWNER` (naming the owner) unless `force`.
   */
  release(service: string, instance: string, options?: ForceOptions): ServicePort;
  /** Every defined service, with the ports its instances hold. */
  list(): ServiceWithPorts[];
  /** The ports of `service` its instances hold, in port order (only `instance`'s, or the one on `port`, when given). */
  show(service: string, options?: ShowServiceOptions): ServicePort[];
}

/** Named registrations ({@link Registry.registrations}): per-user names with a port. */
export interface RegistryRegistrations {
  /** Registers `service` for the current user and process: a port from the registration pool. */
  register(service: string): Registration;
  /** Releases the current user's registration `name`; returns it. */
  release(name: string): Registration;
  /** The live registrations matching every filter given. */
  find(filter?: RegistrationFilter): Registration[];
  /** Every live registration, by user and name. */
  list(): Registration[];
}

/** Leases ({@link Registry.leases}) of `port4me({ reserve })`. */
export interface RegistryLeases {
  /** Every live lease, in protocol and port order. */
  list(): Lease[];
  /**
   * Ends the current user's lease on `port` (`protocol`, TCP by default)
   * early; `false` when there was none. Another user's lease throws
   * `ERR_PORT4ME_REGISTRY_NOT_OWNER`.
   */
  release(port: number, protocol?: Protocol | (string & {})): boolean;
}

/**
 * A port registry: an SQLite database, safe to share between processes,
 * that never hands out the same port twice. Its four jobs each have a group
 * of methods, and each group gives back with `release`:
 * {@link Registry.modules} (ranges per module), {@link Registry.services}
 * (fixed ranges whose ports are offered to instances: `offer`, `accept`,
 * `reject`), {@link Registry.registrations} (named per-user registrations)
 * and {@link Registry.leases} (of `port4me({ reserve })`). Every method is
 * synchronous, one transaction (about a millisecond), and throws an `Error`
 * whose `code` is a {@link RegistryErrorCode} (or Node's
 * `ERR_INVALID_ARG_TYPE` / `ERR_INVALID_ARG_VALUE`).
 *
 * @example
 * import { Registry } from 'port4me';
 * const registry = new Registry();            // PORT4ME_DB, else ~/.local/state/port4me/ports.sqlite
 * const { start, end } = registry.modules.allocate(3, 'web');
 * const offer = registry.services.offer('db', 'replica-1');
 * registry.services.accept(offer.secret);
 * registry.list();                            // { modules, services, registrations, leases, mirrors }
 * registry.close();
 */
export declare class Registry {
  /**
   * Opens the registry at `path` (creating the file if needed, not its
   * directory), or the default one: `PORT4ME_DB`, else
   * `$XDG_STATE_HOME/port4me/ports.sqlite`, else
   * `~/.local/state/port4me/ports.sqlite` (directories created, mode 0700).
   */
  constructor(path?: string);
  /** The database file. */
  readonly path: string;
  /** Whether {@link Registry.close} was called. */
  readonly closed: boolean;
  /** Module ranges: `allocate`, `release`, `list`. */
  readonly modules: RegistryModules;
  /** Services: `define`, `undefine`, `offer`, `accept`, `reject`, `release`, `list`, `show`. */
  readonly services: RegistryServices;
  /** Named registrations: `register`, `release`, `find`, `list`. */
  readonly registrations: RegistryRegistrations;
  /** Leases of `port4me({ reserve })`: `list`, `release`. */
  readonly leases: RegistryLeases;
  /** Everything the registry holds (read in one transaction), as `port4me registry list --json`. */
  list(): RegistryListing;
  /** Reclaims what has lapsed now (every other call does so too) and says how much. */
  gc(): GcReport;
  /**
   * What runs: every port held for a running process (`port4me run`, the
   * Vite plugin, `reserve` with its owner alive), in port order, as
   * `port4me ps --json`; {@link ps} reads the default registry.
   */
  running(): Running[];
  /** Closes the database connection. Idempotent; later calls throw `ERR_PORT4ME_REGISTRY_CLOSED`. */
  close(): void;
}

// ---------------------------------------------------------------------------
// Who holds a port, port status, plans

/** What to do when a preferred port is taken (the name of {@link Strategy} in earlier versions). */
export type PlanStrategy = Strategy;

/** Services and their preferred ports: `{ web: 5173 }`, a `Map`, or `[name, port]` pairs (kept in order). */
export type PlanServices =
  | Readonly<Record<string, number>>
  | ReadonlyMap<string, number>
  | ReadonlyArray<readonly [string, number]>;

/** The error {@link plan} throws for the `fail` strategy, with the plan that failed. */
export interface PlanConflictError extends Port4meError {
  code: 'ERR_PORT4ME_PLAN_CONFLICT';
  plan: Plan;
}

/**
 * Every socket on `port`, server sockets first: listening, connected, in
 * `TIME_WAIT`, bound UDP, with the processes holding them where the kernel
 * lets us see them. Empty when nothing holds the port. Linux only
 * (elsewhere `ERR_PORT4ME_HOLDERS_UNSUPPORTED`).
 *
 * @example
 * for (const h of whoHolds(5173)) console.log(h.state, h.localAddress, h.description);
 */
export declare function whoHolds(port: number, options?: HoldersOptions): Holder[];

/**
 * The status of a port: free, occupied (with its holders) or blocked, plus
 * whether browsers refuse it and whether the registry holds it. With an
 * array, the status of each port, in order (one scan for all), at most 1024
 * ports (more is `ERR_INVALID_ARG_VALUE`, as `port4me status` refuses them).
 */
export declare function status(port: number, options?: StatusOptions): PortStatus;
export declare function status(ports: readonly number[], options?: StatusOptions): PortStatus[];

/**
 * A port for every service: each keeps its preferred port when free;
 * a taken one (by default) moves to the next free port of that service's own
 * port4me sequence (tool = service name), never to a port another service of
 * the plan prefers or gets.
 *
 * @throws {PlanConflictError} with the `fail` strategy, when a preferred port is taken.
 * @example
 * const { services } = plan({ web: 5173, api: 3000 });
 * for (const s of services) console.log(s.name, s.port, s.conflict?.message ?? '');
 */
export declare function plan(services: PlanServices, options?: PlanOptions): Plan;

/**
 * What holds `port`, as one sentence for error messages:
 * `"5173 is in use by node (pid 4242, alice): vite --port 5173"`; `null`
 * when nothing visible holds it (or holders cannot be found here). Safe to
 * print: what other processes and users chose (process names, user names,
 * command lines) is escaped, a terminal escape shown as `\x1b`.
 */
export declare function describeBusy(port: number, options?: HoldersOptions): string | null;

/**
 * What runs: every port port4me holds for a running process (`port4me run`,
 * the Vite plugin, `port4me({ reserve })` with its owner alive), in port
 * order: the tool, seed, port, owner pid, uptime, directory and worktree,
 * command line and URL, as `port4me ps --json` prints them.
 */
export declare function ps(): Running[];

/** The version of this package. */
export declare const version: string;
