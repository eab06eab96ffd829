// Type declarations of the `port4me` package (Node.js build).
//
// Every function throws (or, for the async ones, rejects with) an `Error`
// whose `code` is one of {@link Port4meErrorCode}; the message names the bad
// value and where it came from (an option or an environment variable).
// Where no native addon loads, the package runs on a WebAssembly fallback
// with the same API; there {@link Registry}, {@link whoHolds}, {@link status},
// {@link plan}, {@link describeBusy} and `reserve` throw
// `ERR_PORT4ME_NATIVE_REQUIRED`.

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
  /** Probe only this IP address (e.g. `"127.0.0.1"`, `"[::1]"`, or `"localhost"` for 127.0.0.1), instead of every local address. */
  host?: string;
  /** Probe `"tcp"` (default) or `"udp"`. */
  protocol?: 'tcp' | 'udp' | (string & {});
  /**
   * Resolve with exactly these variables instead of the process environment
   * (only `PORT4ME_*`, `_PORT4ME_*`, `LOGNAME`, `USER`, `LNAME` and `USERNAME`
   * are read). In worker threads the default is the worker's `process.env`.
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * {@link port4me} and {@link port4meAsync} only: also skip every port the
   * port registry holds (see {@link Registry}), and record the port found
   * there as a short lease, so that other callers asking at the same
   * instant (other processes, other Vite servers) get other ports. `true`
   * leases it for 60 seconds, a number for that many seconds; the lease also
   * ends when this process exits. The registry is `PORT4ME_DB` (from `env`
   * when given), else the default one in the user's state directory. Needs
   * the native addon (`ERR_PORT4ME_NATIVE_REQUIRED` on the WebAssembly
   * fallback).
   */
  reserve?: boolean | number;
}

/** Options of {@link list}. */
export interface ListOptions extends Omit<Port4meOptions, 'reserve'> {
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

/** An inclusive range of ports. */
export interface PortRange {
  /** First port. */
  start: number;
  /** Last port (inclusive). */
  end: number;
}

/** Options of {@link RegistryModules.allocate}. */
export interface AllocateOptions {
  /** Keep the module's other ranges of this protocol and add one more (default: replace them). */
  keepExisting?: boolean;
}

/** Options of the `release` of {@link RegistryModules} and {@link RegistryServices}, and of {@link RegistryServices.undefine}. */
export interface ForceOptions {
  /** Also release what another OS user allocated or accepted (for `undefine`: the ports instances hold). Default `false`. */
  force?: boolean;
}

/** Options of {@link RegistryServices.define}. */
export interface DefineServiceOptions {
  /** Allow ports below 1024 or from 49152 on. Default `false`. */
  force?: boolean;
  /** `"tcp"` (default) or `"udp"`. */
  protocol?: Protocol | (string & {});
}

/** Options of {@link RegistryServices.show}: one instance, or the instance on one port. */
export interface ShowServiceOptions {
  /** Only this instance. */
  instance?: string;
  /** Only the instance on this port. */
  port?: number;
}

/** A time in results: RFC 3339 in UTC with milliseconds (`"2024-05-01T12:00:00.000Z"`, as `Date.prototype.toISOString()` writes; `new Date(t)` reads it). */
export type Timestamp = string;

/** Whether the owner process of a registration runs, as far as this process can tell. */
export type Liveness = 'alive' | 'unverified' | 'elsewhere' | 'gone';

/** A module's range as stored in `TCP_PORTS`/`UDP_PORTS`. */
export interface ModuleRange {
  module: string;
  protocol: Protocol;
  /** First port. */
  start: number;
  /** Last port (inclusive). */
  end: number;
  /** The OS user who allocated it through port4me; `null` for a row another tool inserted. */
  user: string | null;
  uid: number | null;
}

/** A row of `TCP_PORTS`/`UDP_PORTS` that mirrors a service, registration or lease, for tools that read only those tables. */
export interface MirrorRow {
  /** `port4me:service:NAME`, `port4me:registration:ID` or `port4me:lease:ID`. */
  module: string;
  protocol: Protocol;
  start: number;
  end: number;
  /** What it mirrors. */
  mirrors: 'service' | 'registration' | 'lease';
}

/** A defined service: a fixed range whose ports are offered to instances. */
export interface Service {
  name: string;
  description: string;
  protocol: Protocol;
  /** First port of its range. */
  start: number;
  /** Last port of its range. */
  end: number;
  /** Whether it was defined with `force`. */
  forced: boolean;
  /** RFC 3339 in UTC with milliseconds, e.g. `"2024-05-01T12:00:00.000Z"`. */
  created: Timestamp;
}

/** A service with the ports its instances hold ({@link RegistryServices.list}, {@link RegistryServices.undefine}). */
export interface ServiceWithPorts extends Service {
  ports: ServicePort[];
}

/** A port offered to a service instance until it is accepted, rejected, or expires (30 minutes). */
export interface Offer {
  service: string;
  instance: string;
  /** The lowest free port of the service's range. */
  port: number;
  /** 128 random bits as 32 hexadecimal digits: pass it to `accept` or `reject`. */
  secret: string;
  /** RFC 3339 in UTC with milliseconds, e.g. `"2024-05-01T12:00:00.000Z"`. */
  created: Timestamp;
  /** When the offer lapses unless accepted. */
  expires: Timestamp;
}

/** A service port held by an instance. */
export interface ServicePort {
  service: string;
  instance: string;
  port: number;
  /** `"offered"` (waiting for `accept`) or `"allocated"` (accepted). */
  state: 'offered' | 'allocated';
  /** When it was offered. */
  /** RFC 3339 in UTC with milliseconds, e.g. `"2024-05-01T12:00:00.000Z"`. */
  created: Timestamp;
  /** When the offer lapses; `null` once accepted. */
  expires: Timestamp | null;
  /** The OS user who accepted it; `null` for an offer (or one accepted before users were recorded). */
  user: string | null;
  /** Their uid. */
  uid: number | null;
}

/** A named registration of a user's service, held while its owner process runs. */
export interface Registration {
  /** Unique for the user: `web`, then `web_1`, `web_2`, ... */
  name: string;
  /** The service name asked for (`web`). */
  service: string;
  protocol: Protocol;
  /** A port of the registration pool (45001-49151). */
  port: number;
  /** The owning OS user. */
  user: string;
  uid: number;
  /** The owner process: the registration is reclaimed once it exits. */
  pid: number;
  /** Its start time (0 where unknown), so that a reused pid is not taken for it. */
  pidStart: number;
  /** Host name of the machine the owner runs on. */
  host: string;
  /** RFC 3339 in UTC with milliseconds, e.g. `"2024-05-01T12:00:00.000Z"`. */
  created: Timestamp;
  /** Whether its owner process runs, as far as this process can tell (`unverified`: its start time cannot be read, as under `hidepid`). */
  ownerState: Liveness;
}

/** A lease of `port4me({ reserve })`: a port held for a short time, or until its owner process exits. */
export interface Lease {
  port: number;
  protocol: Protocol;
  /** The port4me seed it was found for (e.g. `alice,vite`). */
  label: string;
  /** The OS user who reserved it. */
  user: string;
  uid: number;
  /** The owner process, if any. */
  pid: number | null;
  /** RFC 3339 in UTC with milliseconds, e.g. `"2024-05-01T12:00:00.000Z"`. */
  created: Timestamp;
  /** When it ends at the latest. */
  expires: Timestamp;
}

/** Everything a registry holds ({@link Registry.list}), as `port4me registry list --json`. */
export interface RegistryListing {
  modules: ModuleRange[];
  services: ServiceWithPorts[];
  registrations: Registration[];
  leases: Lease[];
  /** The mirror rows of the services, registrations and leases above. */
  mirrors: MirrorRow[];
}

/** Filters of {@link RegistryRegistrations.find}; all given ones must match. */
export interface RegistrationFilter {
  /** The service name asked for at registration (exact). */
  service?: string;
  /** A prefix of the registration name. */
  beginswith?: string;
  /** The owning user (exact). */
  user?: string;
}

/** What {@link Registry.gc} reclaimed. */
export interface GcReport {
  /** Registrations whose owner process is gone. */
  registrations: number;
  /** Leases that expired or whose owner process is gone. */
  leases: number;
  /** Offers that expired unaccepted. */
  offers: number;
  /** The sum. */
  total: number;
}

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
  /** Everything the registry holds, as `port4me registry list --json`. */
  list(): RegistryListing;
  /** Reclaims what has lapsed now (every other call does so too) and says how much. */
  gc(): GcReport;
  /** Closes the database connection. Idempotent; later calls throw `ERR_PORT4ME_REGISTRY_CLOSED`. */
  close(): void;
}

// ---------------------------------------------------------------------------
// Who holds a port, port status, plans

/** The state of a socket, as `ss` names it (UDP: `UDP_BOUND`, `UDP_CONNECTED`). */
export type SocketState =
  | 'LISTEN'
  | 'UDP_BOUND'
  | 'UDP_CONNECTED'
  | 'ESTABLISHED'
  | 'SYN_SENT'
  | 'SYN_RECV'
  | 'NEW_SYN_RECV'
  | 'FIN_WAIT1'
  | 'FIN_WAIT2'
  | 'CLOSE_WAIT'
  | 'CLOSING'
  | 'LAST_ACK'
  | 'TIME_WAIT'
  | 'CLOSE';

/** A process that has a socket open. */
export interface ProcessInfo {
  pid: number;
  /** The process name (at most 15 bytes on Linux), e.g. `"node"`. */
  name: string;
  /** The command line (empty when the kernel hides it). */
  cmdline: string[];
  /** Its effective user id. */
  uid: number | null;
  /** The user name for `uid`. */
  user: string | null;
}

/** One socket on a port, and what holds it. */
export interface Holder {
  protocol: Protocol;
  state: SocketState;
  /** E.g. `"127.0.0.1:5173"` or `"[::]:5173"`. */
  localAddress: string;
  /** The peer, for connected sockets. */
  remoteAddress: string | null;
  /** The socket's inode (0 when no process holds it, as in `TIME_WAIT`). */
  inode: number;
  /** The user that owns the socket (`null` when no process holds it). */
  uid: number | null;
  user: string | null;
  /**
   * `visible`: the processes are listed; `hidden`: another user's process
   * you may not inspect (its owner is still given); `no_process`: the kernel
   * keeps the socket (`TIME_WAIT`); `not_found`: in another container, or
   * just closed.
   */
  access: 'visible' | 'hidden' | 'no_process' | 'not_found';
  /** The processes that have the socket open, by pid. */
  processes: ProcessInfo[];
  /** E.g. `"node (pid 4242, alice): vite --port 5173"`. */
  description: string;
}

/** Options of {@link whoHolds} and {@link describeBusy}. */
export interface HoldersOptions {
  /** `"tcp"` (default) or `"udp"`. */
  protocol?: Protocol | (string & {});
}

/** Options of {@link status}. */
export interface StatusOptions extends HoldersOptions {
  /** Look the ports up in the port registry (read-only). Default `true`. */
  registry?: boolean;
}

/** What the port registry holds a port for. */
export interface Reservation {
  kind: 'module' | 'service' | 'offer' | 'allocation' | 'registration' | 'lease';
  /** The module, service or registration name, or a lease's label. */
  name: string;
  /** The service instance, for offers and allocations. */
  instance: string | null;
  /** The owning user (registrations and leases). */
  owner: string | null;
  uid: number | null;
  /** The owner process. */
  pid: number | null;
  /** First port the entry holds. */
  start: number;
  /** Last port the entry holds. */
  end: number;
  /** When it lapses (offers, leases), RFC 3339. */
  expires: string | null;
  /** One sentence. */
  description: string;
}

/** Everything known about one port. */
export interface PortStatus {
  port: number;
  protocol: Protocol;
  /** Whether a server could bind it now. */
  availability: 'free' | 'occupied' | 'blocked';
  /** The sockets on the port; `null` where this system cannot tell. */
  holders: Holder[] | null;
  /** Why it is blocked (e.g. privileged), when it is. */
  blockedReason: string | null;
  /** The browsers that refuse the port. */
  unsafeFor: Array<'chrome' | 'firefox'>;
  /** The registry entry holding it, if any (see `registryError`). */
  reserved: Reservation | null;
  /**
   * Why the port4me registry could not be read, when it could not: whether
   * the port is reserved is then unknown (`reserved` is `null` without
   * meaning "not reserved") and a free port is labelled `unknown`.
   */
  registryError: string | null;
  /** One word, by precedence: occupied, blocked, reserved, unknown, unsafe, free. */
  label: 'free' | 'occupied' | 'blocked' | 'reserved' | 'unknown' | 'unsafe';
  /** Every word that applies: the availability (`unknown` for a free port of an unreadable registry), then `reserved` and `unsafe`. */
  labels: Array<'free' | 'occupied' | 'blocked' | 'reserved' | 'unknown' | 'unsafe'>;
  /** One line, e.g. `"in use by node (pid 4242, alice): vite"`. */
  description: string;
}

/** What to do when a preferred port is taken. */
export type PlanStrategy = 'alternative' | 'fail' | 'kill';

/** Options of {@link plan}. */
export interface PlanOptions {
  /**
   * `alternative` (default): the next free port of the service's own port4me
   * sequence; `fail`: throw {@link PlanConflictError}; `kill`: SIGTERM the
   * current user's processes holding it (never anyone else's), falling back
   * to an alternative when that does not free it.
   */
  strategy?: PlanStrategy | (string & {});
  /** With `kill`: SIGKILL what still holds the port after `graceMs`. */
  force?: boolean;
  /** With `kill`: how long to wait after SIGTERM, in milliseconds. Default 5000. */
  graceMs?: number;
  /** The user part of every service's seed (default as in {@link port4me}). */
  user?: string;
  /** `"tcp"` (default) or `"udp"`. */
  protocol?: Protocol | (string & {});
}

/** Services and their preferred ports: `{ web: 5173 }`, a `Map`, or `[name, port]` pairs (kept in order). */
export type PlanServices =
  | Readonly<Record<string, number>>
  | ReadonlyMap<string, number>
  | ReadonlyArray<readonly [string, number]>;

/** What the `kill` strategy did about one conflict. */
export interface KillReport {
  /** The processes that held the port. */
  targets: ProcessInfo[];
  /** The signals sent, in order. */
  signals: Array<{ pid: number; signal: 'SIGTERM' | 'SIGKILL' }>;
  /** Whether the port was free afterwards. */
  freed: boolean;
  /** Why nothing (or not everything) was done. */
  refused: string | null;
}

/** Why a service could not simply keep its preferred port. */
export interface PlanConflict {
  /** `in_use`: something holds it; `blocked`: this user may not bind it; `service`: an earlier service of the plan has it. */
  cause: 'in_use' | 'blocked' | 'service';
  /** What held the port when the plan was made. */
  holders: Holder[];
  /** The earlier service, for `cause: "service"`. */
  service: string | null;
  /** One sentence: `"5173 is in use by node (pid 4242, alice): vite"`. */
  message: string;
  /** What the `kill` strategy did. */
  kill: KillReport | null;
}

/** The port of one service. */
export interface ServicePlan {
  name: string;
  /** The port it asked for. */
  preferred: number;
  /** The port it gets (`null` only in the plan of a {@link PlanConflictError}). */
  port: number | null;
  /** `kept` its preferred port, `moved` to another, `freed` it (kill), or `unresolved` (fail). */
  outcome: 'kept' | 'moved' | 'freed' | 'unresolved';
  conflict: PlanConflict | null;
  /** E.g. a kept port that browsers refuse. */
  warnings: string[];
}

/** A plan: one entry per service, in the order given. */
export interface Plan {
  strategy: PlanStrategy;
  services: ServicePlan[];
  /** Why the port4me registry could not be read (the ports it holds are then unknown; every service warns), or `null`. */
  registryError: string | null;
}

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
 * array, the status of each port, in order (one scan for all).
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
 * when nothing visible holds it (or holders cannot be found here).
 */
export declare function describeBusy(port: number, options?: HoldersOptions): string | null;

/** The version of this package. */
export declare const version: string;
