// Generated from the Rust definitions by bindings/node/src/types.rs (ts-rs): do not edit.
// Regenerate after changing a type: PORT4ME_UPDATE_TYPES=1 cargo test -p port4me-node generated_types

// port4me, port4meAsync, list, isPortFree: options

/**
 * Ports: a specification string such as `"2000-2009, 4321 {chrome}"` (ports
 * and inclusive ranges separated by commas or whitespace; `{chrome}` and
 * `{firefox}` stand for the ports those browsers block), or an array of port
 * numbers (1-65535) and/or specification strings.
 */
export type PortSpec = string | ReadonlyArray<number | string>;

/**
 * Every option of `port4me`, `port4meAsync` and `list` (`reserve` is
 * theirs only, `n` is `list`'s only): where the seed and the candidate
 * sequence come from. Anything left out is read from the environment
 * exactly as the `port4me` command line does (`PORT4ME_*` variables; see
 * the package README). An explicit `prepend`, `include` or `exclude`
 * replaces only the user-level variable (`PORT4ME_PREPEND`, ...): the
 * `_SITE` variables and the browser-unsafe list (`PORT4ME_EXCLUDE_UNSAFE`)
 * still apply.
 */
export type Port4meAndListOptions = { 
/**
 * The tool part of the seed, e.g. `"vite"`. Default `PORT4ME_TOOL`; `""` means no tool.
 */
tool?: string, 
/**
 * The user part of the seed. Default (also for `""`): `PORT4ME_USER`, `LOGNAME`, `USER`, `LNAME`,
 * `USERNAME`, then the account name.
 */
user?: string, 
/**
 * Ports tried first, in order, before the sequence (not filtered by include/exclude). Replaces
 * `PORT4ME_PREPEND`.
 */
prepend?: PortSpec, 
/**
 * Only these ports are candidates (default 1024-65535). Replaces `PORT4ME_INCLUDE`.
 */
include?: PortSpec, 
/**
 * These ports are never candidates. Replaces `PORT4ME_EXCLUDE` (the site and browser-unsafe lists
 * still apply).
 */
exclude?: PortSpec, 
/**
 * Drop this many leading candidates (prepended ones count). Default `PORT4ME_SKIP`, else 0.
 */
skip?: number, 
/**
 * Give up with `ERR_PORT4ME_NO_FREE_PORT` after this many probes (default 65535).
 */
maxTries?: number, 
/**
 * Probe only this IP address (e.g. `"127.0.0.1"`, `"[::1]"`, or `"localhost"` for 127.0.0.1),
 * instead of every local address.
 */
host?: string, 
/**
 * Probe `"tcp"` (default) or `"udp"`.
 */
protocol?: "tcp" | "udp" | (string & {}), 
/**
 * `list` only: how many candidates (1-1048576). Default `PORT4ME_LIST`, else 1.
 */
n?: number, 
/**
 * Resolve with exactly these variables instead of the process environment
 * (only `PORT4ME_*`, `_PORT4ME_*`, `LOGNAME`, `USER`, `LNAME` and `USERNAME`
 * are read). In worker threads the default is the worker's `process.env`.
 */
env?: Readonly<Record<string, string | undefined>>, 
/**
 * `port4me` and `port4meAsync` only: also skip every port the
 * port registry holds (see `Registry`), and record the port found
 * there as a short lease, so that other callers asking at the same
 * instant (other processes, other Vite servers) get other ports. `true`
 * leases it for 60 seconds, a number for that many seconds; the lease also
 * ends when this process exits. The registry is `PORT4ME_DB` (from `env`
 * when given), else the default one in the user's state directory. Needs
 * the native addon (`ERR_PORT4ME_NATIVE_REQUIRED` on the WebAssembly
 * fallback).
 */
reserve?: boolean | number, };

/**
 * Options of `isPortFree`.
 */
export type ProbeOptions = { 
/**
 * Probe only this IP address. Default: every local address of both families.
 */
host?: string, 
/**
 * `"tcp"` (default) or `"udp"`.
 */
protocol?: "tcp" | "udp" | (string & {}), };

// The registry (port4me-registry): results

/**
 * A point in time: milliseconds since 1970-01-01T00:00:00Z.
 *
 * With the `serde` feature it serializes as its [`Display`](std::fmt::Display)
 * form, RFC 3339 in UTC with milliseconds (`"2024-05-01T12:00:00.000Z"`,
 * what JavaScript's `Date.prototype.toISOString` gives), and with `ts` its
 * TypeScript type is `string`: the one time format of every result.
 */
export type Timestamp = string;

/**
 * An inclusive range of ports.
 */
export type PortRange = { 
/**
 * First port.
 */
start: number, 
/**
 * Last port (inclusive).
 */
end: number, };

/**
 * A module's range as stored.
 */
export type ModuleRange = { 
/**
 * The module.
 */
module: string, 
/**
 * The protocol.
 */
protocol: "tcp" | "udp", 
/**
 * The OS user who allocated it through port4me; `None` for a row that
 * another tool inserted (or one allocated before owners were recorded).
 */
user: string | null, 
/**
 * Their uid.
 */
uid: number | null, 
/**
 * First port.
 */
start: number, 
/**
 * Last port (inclusive).
 */
end: number, };

/**
 * A row of `TCP_PORTS` / `UDP_PORTS` that mirrors a holding that is not a
 * module range (a service, a registration or a lease), so that tools that
 * read only those tables see its ports. It comes and goes with its holder.
 */
export type MirrorRow = { 
/**
 * The row's `module` column: `port4me:service:NAME`,
 * `port4me:registration:ID` or `port4me:lease:ID` (`module` in JSON).
 */
module: string, 
/**
 * The protocol (the table).
 */
protocol: "tcp" | "udp", 
/**
 * What it mirrors: [`HoldingKind::Service`],
 * [`HoldingKind::Registration`] or [`HoldingKind::Lease`] (`mirrors`
 * in JSON).
 */
mirrors: HoldingKind, 
/**
 * First port.
 */
start: number, 
/**
 * Last port (inclusive).
 */
end: number, };

/**
 * What kind of holder has a port.
 */
export type HoldingKind = "module" | "service" | "offer" | "allocation" | "registration" | "lease";

/**
 * A defined service.
 */
export type Service = { 
/**
 * Its name.
 */
name: string, 
/**
 * Its description.
 */
description: string, 
/**
 * Its protocol.
 */
protocol: "tcp" | "udp", 
/**
 * First port of its range.
 */
start: number, 
/**
 * Last port of its range.
 */
end: number, 
/**
 * Whether it was defined with `force`.
 */
forced: boolean, 
/**
 * When it was defined.
 */
created: Timestamp, };

/**
 * A service with the ports its instances hold
 * ([`Services::list`], [`Services::undefine`]); in
 * JSON the service's fields and `ports`.
 */
export type ServiceWithPorts = { 
/**
 * The ports its instances hold, in port order.
 */
ports: Array<ServicePort>, 
/**
 * Its name.
 */
name: string, 
/**
 * Its description.
 */
description: string, 
/**
 * Its protocol.
 */
protocol: "tcp" | "udp", 
/**
 * First port of its range.
 */
start: number, 
/**
 * Last port of its range.
 */
end: number, 
/**
 * Whether it was defined with `force`.
 */
forced: boolean, 
/**
 * When it was defined.
 */
created: Timestamp, };

/**
 * Whether an instance's port is only offered or already accepted.
 */
export type PortState = "offered" | "allocated";

/**
 * A port of a service held by an instance (the secret is not included).
 */
export type ServicePort = { 
/**
 * Who accepted it (an allocation made by this version or later):
 * its OS user name. `None` for offers.
 */
user: string | null, 
/**
 * Their uid.
 */
uid: number | null, 
/**
 * The service.
 */
service: string, 
/**
 * The instance.
 */
instance: string, 
/**
 * The port.
 */
port: number, 
/**
 * Offered or allocated.
 */
state: PortState, 
/**
 * When it was offered.
 */
created: Timestamp, 
/**
 * When the offer expires (`None` once accepted).
 */
expires: Timestamp | null, };

/**
 * The answer to [`Services::offer`].
 */
export type Offer = { 
/**
 * The service.
 */
service: string, 
/**
 * The instance.
 */
instance: string, 
/**
 * The port reserved for it.
 */
port: number, 
/**
 * 128 random bits as 32 lowercase hex digits: pass to `accept` or `reject`.
 */
secret: string, 
/**
 * When the offer was made.
 */
created: Timestamp, 
/**
 * When it expires unless accepted.
 */
expires: Timestamp, };

/**
 * Whether the owner of an entry is still running, as far as this process
 * can tell.
 */
export type Liveness = "alive" | "unverified" | "elsewhere" | "unknown" | "gone";

/**
 * A named registration.
 */
export type Registration = { 
/**
 * Its unique name for this user (`web`, `web_1`, ...).
 */
name: string, 
/**
 * The service name asked for (`web`).
 */
service: string, 
/**
 * The protocol.
 */
protocol: "tcp" | "udp", 
/**
 * The port.
 */
port: number, 
/**
 * The owning OS user.
 */
user: string, 
/**
 * The owning uid.
 */
uid: number, 
/**
 * Host name of the machine the owner runs on.
 */
host: string, 
/**
 * When it was registered.
 */
created: Timestamp, 
/**
 * Whether its owner process is running, as far as the caller can tell
 * ([`Liveness::Unverified`] when its start time cannot be read, e.g.
 * another user's process under `hidepid`). `ownerState` in JSON.
 */
ownerState: Liveness, 
/**
 * The directory the registering process ran in.
 */
directory: string, 
/**
 * The command line it was made for (`port4me run`'s command, the Vite
 * process's arguments); for `register`, the registering process's.
 */
command: string, 
/**
 * The basename of the git worktree of `directory` (see
 * [`port4me::worktree`]).
 */
worktree: string, 
/**
 * The port4me tool of [`Registrations::hold`] (`""` for `register`).
 */
tool: string, 
/**
 * The port4me seed of [`Registrations::hold`] (`""` for `register`).
 */
seed: string, 
/**
 * The process id.
 */
pid: number, 
/**
 * Start time, 0 where unknown: clock ticks since boot on Linux,
 * microseconds since the Unix epoch on macOS, 100-ns intervals since
 * 1601 (a `FILETIME`) on Windows.
 */
pidStart: number, };

/**
 * A reservation.
 */
export type Lease = { 
/**
 * The port.
 */
port: number, 
/**
 * The protocol.
 */
protocol: "tcp" | "udp", 
/**
 * The label (the port4me seed unless given).
 */
label: string, 
/**
 * The OS user who reserved it.
 */
user: string, 
/**
 * Their uid.
 */
uid: number, 
/**
 * The owner process, if any (its `pid` or `null` in JSON).
 */
pid: number | null, 
/**
 * When it was made.
 */
created: Timestamp, 
/**
 * When it ends at the latest.
 */
expires: Timestamp, 
/**
 * The directory the reserving process ran in.
 */
directory: string, 
/**
 * The reserving process's command line.
 */
command: string, 
/**
 * The basename of the git worktree of `directory`.
 */
worktree: string, 
/**
 * The port4me tool of the search (`""` for none).
 */
tool: string, };

/**
 * Everything the registry holds ([`Registry::listing`]), as `port4me
 * registry list --json` prints it (`registry.list()` in Node).
 */
export type RegistryListing = { 
/**
 * Every module range, in protocol and port order.
 */
modules: Array<ModuleRange>, 
/**
 * Every defined service, by name, with its instances' ports.
 */
services: Array<ServiceWithPorts>, 
/**
 * Every live registration, by user and name.
 */
registrations: Array<Registration>, 
/**
 * Every live lease, in protocol and port order.
 */
leases: Array<Lease>, 
/**
 * The rows of `TCP_PORTS`/`UDP_PORTS` that mirror the services,
 * registrations and leases above, in protocol and port order.
 */
mirrors: Array<MirrorRow>, };

/**
 * What a reclaim pass removed.
 */
export type GcReport = { 
/**
 * Registrations whose owner process is gone.
 */
registrations: number, 
/**
 * Leases that expired or whose owner process is gone.
 */
leases: number, 
/**
 * Offers that expired unaccepted.
 */
offers: number, };

/**
 * Which kind of holding a [`Running`] entry is.
 */
export type RunningKind = "registration" | "lease";

/**
 * A port held for a running process ([`Registry::running`]): what
 * `port4me ps` prints, one line each.
 */
export type Running = { 
/**
 * A registration or a lease.
 */
kind: RunningKind, 
/**
 * The registration's name, or the lease's label.
 */
name: string, 
/**
 * The port4me tool (`""` when the holding was not made by a search).
 */
tool: string, 
/**
 * The port4me seed (`""` when the holding was not made by a search).
 */
seed: string, 
/**
 * The port.
 */
port: number, 
/**
 * The protocol.
 */
protocol: "tcp" | "udp", 
/**
 * The owning OS user.
 */
user: string, 
/**
 * Host name of the machine the owner runs on.
 */
host: string, 
/**
 * When the port was taken.
 */
created: Timestamp, 
/**
 * Seconds since then.
 */
uptimeSeconds: number, 
/**
 * The directory the process ran in.
 */
directory: string, 
/**
 * The basename of that directory's git worktree.
 */
worktree: string, 
/**
 * The command line.
 */
command: string, 
/**
 * `http://localhost:PORT` (TCP), else `""`.
 */
url: string, 
/**
 * The process id.
 */
pid: number, 
/**
 * Start time, 0 where unknown: clock ticks since boot on Linux,
 * microseconds since the Unix epoch on macOS, 100-ns intervals since
 * 1601 (a `FILETIME`) on Windows.
 */
pidStart: number, };

// The registry: options

/**
 * Options of `registry.modules.allocate`.
 */
export type AllocateOptions = { 
/**
 * Keep the module's other ranges of this protocol and add one more
 * (default: replace them).
 */
keepExisting?: boolean, };

/**
 * Options of the `release` of `registry.modules` and `registry.services`,
 * and of `registry.services.undefine`.
 */
export type ForceOptions = { 
/**
 * Also release what another OS user allocated or accepted (for
 * `undefine`: the ports the service's instances hold). Default `false`.
 */
force?: boolean, };

/**
 * Options of `registry.services.define`.
 */
export type DefineServiceOptions = { 
/**
 * Allow ports below 1024 or from 49152 on. Default `false`.
 */
force?: boolean, 
/**
 * `"tcp"` (default) or `"udp"`.
 */
protocol?: "tcp" | "udp" | (string & {}), };

/**
 * Options of `registry.services.show`: one instance, or the instance on
 * one port.
 */
export type ShowServiceOptions = { 
/**
 * Only this instance.
 */
instance?: string, 
/**
 * Only the instance on this port.
 */
port?: number, };

/**
 * Filters of `registry.registrations.find`; all given ones must match.
 */
export type RegistrationFilter = { 
/**
 * The service name asked for at registration (exact).
 */
service?: string, 
/**
 * A prefix of the registration name.
 */
beginswith?: string, 
/**
 * The owning user (exact).
 */
user?: string, };

// Who holds a port, port status, plans (port4me-holders): results

/**
 * The state of one socket, as the kernel reports it.
 */
export type SocketState = "LISTEN" | "UDP_BOUND" | "UDP_CONNECTED" | "ESTABLISHED" | "SYN_SENT" | "SYN_RECV" | "NEW_SYN_RECV" | "FIN_WAIT1" | "FIN_WAIT2" | "CLOSE_WAIT" | "CLOSING" | "LAST_ACK" | "TIME_WAIT" | "CLOSE";

/**
 * How much we could learn about the process behind a socket.
 */
export type ProcessAccess = "visible" | "hidden" | "no_process" | "not_found" | "unreported";

/**
 * A process that has a socket open.
 */
export type ProcessInfo = { 
/**
 * Process id.
 */
pid: number, 
/**
 * The process name (`comm`, at most 15 bytes on Linux), e.g. `node`.
 */
name: string, 
/**
 * The command line, one element per argument (empty when the kernel
 * hides it, e.g. for a zombie).
 */
cmdline: Array<string>, 
/**
 * The effective user id of the process.
 */
uid: number | null, 
/**
 * The user name for `uid` (or the number when it has no name).
 */
user: string | null, 
/**
 * The full path of the executable, where this user may read it.
 */
executable: string | null, 
/**
 * When the process started, in the unit of the system (clock ticks
 * since boot on Linux, microseconds since 1970 on macOS, a `FILETIME`
 * on Windows: see `port4me-process`); `None` where unknown. With the
 * pid it names one process, which the kill strategy checks.
 */
startTime: number | null, };

/**
 * One socket on the port, and what holds it.
 */
export type Holder = { 
/**
 * TCP or UDP.
 */
protocol: "tcp" | "udp", 
/**
 * Socket state (`LISTEN`, `ESTABLISHED`, `TIME_WAIT`, `UDP_BOUND`, ...).
 */
state: SocketState, 
/**
 * The local address, e.g. `127.0.0.1:5173` or `[::]:5173`.
 */
localAddress: string, 
/**
 * The peer, for connected sockets.
 */
remoteAddress: string | null, 
/**
 * The socket's inode (0 for sockets no process holds, such as
 * `TIME_WAIT`).
 */
inode: number, 
/**
 * The user id that owns the socket (`None` when no process holds it).
 */
uid: number | null, 
/**
 * The user name for `uid`.
 */
user: string | null, 
/**
 * Whether the processes could be seen.
 */
access: ProcessAccess, 
/**
 * The processes that have the socket open, by pid (more than one after
 * a `fork`).
 */
processes: Array<ProcessInfo>, 
/**
 * One line for people, e.g. `"node (pid 4242, alice): vite --port
 * 5173"`: [`Holder::describe`] when the socket was found.
 */
description: string, };

/**
 * Whether a port can be had right now.
 */
export type Availability = "free" | "occupied" | "blocked";

/**
 * A web browser that refuses to connect to some ports.
 */
export type Browser = "chrome" | "firefox";

/**
 * What the port4me registry holds a port for.
 */
export type Reservation = { 
/**
 * The kind of entry: `module`, `service`, `offer`, `allocation`,
 * `registration` or `lease`.
 */
kind: string, 
/**
 * The module, service or registration name, or a lease's label.
 */
name: string, 
/**
 * The service instance, for offers and allocations.
 */
instance: string | null, 
/**
 * The user who owns the entry (registrations and leases).
 */
owner: string | null, 
/**
 * The owning uid.
 */
uid: number | null, 
/**
 * The owner process, when the entry has one.
 */
pid: number | null, 
/**
 * The first and last port the entry holds (a range for modules and
 * services).
 */
start: number, 
/**
 * See `start`.
 */
end: number, 
/**
 * When the entry lapses (offers, leases), as the registry prints it.
 */
expires: string | null, 
/**
 * One sentence, as the registry describes the entry.
 */
description: string, };

/**
 * One word of a port's status (see [`PortStatus::label`]).
 */
export type StatusLabel = "free" | "occupied" | "blocked" | "reserved" | "unknown" | "unsafe";

/**
 * Everything known about one port.
 */
export type PortStatus = { 
/**
 * The port.
 */
port: number, 
/**
 * The protocol that was checked.
 */
protocol: "tcp" | "udp", 
/**
 * `free`, `occupied` or `blocked`.
 */
availability: Availability, 
/**
 * The sockets on the port; `None` (`null` in JSON) when this system
 * cannot tell ("unknown").
 */
holders: Array<Holder> | null, 
/**
 * Why the port is blocked, when it is.
 */
blockedReason: string | null, 
/**
 * The browsers that refuse this port (empty when it is safe).
 */
unsafeFor: Array<Browser>, 
/**
 * The registry entry for this port, when it is reserved.
 */
reserved: Reservation | null, 
/**
 * Why the port4me registry could not be read, when it could not:
 * whether the port is reserved is then unknown (`reserved` is `None`
 * without meaning "not reserved"), and the status says "unknown"
 * rather than "free".
 */
registryError: string | null, 
/**
 * Windows only, for a port that listens beyond the loopback: whether
 * an inbound Windows Firewall rule lets it in: `allowed`, `not
 * allowed` (with the command that adds a rule) or `unknown (why)`.
 * `None` elsewhere.
 */
firewall: string | null, 
/**
 * One word, by precedence: occupied, blocked, reserved, unknown,
 * unsafe, free ([`PortStatus::label`] when the status was taken).
 */
label: StatusLabel, 
/**
 * Every word that applies: the availability (`unknown` for a free
 * port whose registry cannot be read), then `reserved` and `unsafe`
 * ([`PortStatus::labels`] when the status was taken).
 */
labels: Array<StatusLabel>, 
/**
 * One line for people, e.g. `"in use by node (pid 4242, alice):
 * vite"` ([`PortStatus::describe`] when the status was taken).
 */
description: string, };

/**
 * What to do when a preferred port is taken.
 */
export type Strategy = "alternative" | "fail" | "kill";

/**
 * How a service came by its port.
 */
export type Outcome = "kept" | "moved" | "freed" | "unresolved";

/**
 * Why a preferred port could not simply be kept.
 */
export type ConflictCause = "in_use" | "blocked" | "service";

/**
 * A signal that was sent.
 */
export type Signal = "SIGTERM" | "SIGKILL" | "TerminateProcess";

/**
 * One signal sent to one process.
 */
export type SignalSent = { 
/**
 * The process.
 */
pid: number, 
/**
 * The signal.
 */
signal: Signal, };

/**
 * What the `kill` strategy did about one conflict.
 */
export type KillReport = { 
/**
 * The processes that held the port.
 */
targets: Array<ProcessInfo>, 
/**
 * The signals sent, in order.
 */
signals: Array<SignalSent>, 
/**
 * Whether the port was free afterwards.
 */
freed: boolean, 
/**
 * Why nothing was (or not everything could be) done, when so.
 */
refused: string | null, };

/**
 * A preferred port that could not simply be kept.
 */
export type PlanConflict = { 
/**
 * Why.
 */
cause: ConflictCause, 
/**
 * What held the preferred port when the plan was made (empty when
 * nothing visible did, or when this system cannot tell).
 */
holders: Array<Holder>, 
/**
 * The earlier service that has the port, for [`ConflictCause::Service`].
 */
service: string | null, 
/**
 * One sentence: "5173 is in use by node (pid 4242, alice): vite".
 */
message: string, 
/**
 * What the `kill` strategy did, when it was used.
 */
kill: KillReport | null, };

/**
 * The port of one service.
 */
export type ServicePlan = { 
/**
 * The service name.
 */
name: string, 
/**
 * The port it asked for.
 */
preferred: number, 
/**
 * The port it gets (`None` only with `fail` and a conflict).
 */
port: number | null, 
/**
 * How it came by it.
 */
outcome: Outcome, 
/**
 * Why it did not simply keep its preferred port.
 */
conflict: PlanConflict | null, 
/**
 * Things worth knowing that do not stop the plan (for example a kept
 * preferred port that browsers refuse).
 */
warnings: Array<string>, };

/**
 * A plan: one entry per service, in the order given.
 */
export type Plan = { 
/**
 * The strategy used.
 */
strategy: Strategy, 
/**
 * Per service, in the order given.
 */
services: Array<ServicePlan>, 
/**
 * Why the port4me registry could not be read, when it could not: the
 * ports were then chosen without knowing what it holds, and every
 * service says so in its warnings.
 */
registryError: string | null, };

// Who holds a port, port status, plans: options

/**
 * Options of `whoHolds` and `describeBusy`.
 */
export type HoldersOptions = { 
/**
 * `"tcp"` (default) or `"udp"`.
 */
protocol?: "tcp" | "udp" | (string & {}), };

/**
 * Options of `status`.
 */
export type StatusOptions = { 
/**
 * `"tcp"` (default) or `"udp"`.
 */
protocol?: "tcp" | "udp" | (string & {}), 
/**
 * Look the ports up in the port4me registry (read-only). Default `true`.
 */
registry?: boolean, };

/**
 * Options of `plan`.
 */
export type PlanOptions = { 
/**
 * `alternative` (default): the next free port of the service's own
 * port4me sequence; `fail`: throw `PlanConflictError`; `kill`: SIGTERM
 * the current user's processes holding it (never anyone else's; on
 * Windows `TerminateProcess`, never for services or system processes),
 * falling back to an alternative when that does not free it.
 */
strategy?: Strategy | (string & {}), 
/**
 * With `kill`: SIGKILL what still holds the port after `graceMs`.
 */
force?: boolean, 
/**
 * With `kill`: how long to wait after SIGTERM, in milliseconds. Default 5000.
 */
graceMs?: number, 
/**
 * The user part of every service's seed (default as in `port4me`).
 */
user?: string, 
/**
 * `"tcp"` (default) or `"udp"`.
 */
protocol?: "tcp" | "udp" | (string & {}), };
