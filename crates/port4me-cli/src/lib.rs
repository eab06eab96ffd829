//! The `port4me` command: print the same, personal, free TCP port every time.
//!
//! This is a library so that one program serves the native binary
//! (`src/main.rs`) and `npx port4me`: the Node addon calls [`run`], and the
//! npm package's WebAssembly fallback calls [`run_with`] with its own
//! [`Host`]. All three have the same flags, messages and exit codes. The
//! fallback is built without the cargo features `registry`, `holders` and
//! `completions`; what they add fails there with ERR_PORT4ME_NATIVE_REQUIRED.
//!
//! The flags and output match the reference port4me command line (Python,
//! R and Bash): the port goes to stdout as digits only, `--list` prints one
//! port per line, `--test` answers with the exit code, and errors print a line
//! starting with `Error:` on stderr and exit with status 2. On top of that:
//! `--json`, `--host`, `--protocol`, `--reserve`, shell completions, and the
//! subcommands for the port registry and for port holders.

mod args;
#[cfg(feature = "holders")]
mod holders_cmd;
mod host;
#[cfg(feature = "registry")]
mod registry_cmd;
#[cfg(feature = "holders")]
mod run_cmd;
#[cfg(feature = "registry")]
mod table;

pub use host::{Host, HostError, Process};

/// An exit status, as [`std::process::ExitCode`] but readable, so that the
/// Node addon can hand it to `process.exitCode`: 0 success, 1 only for
/// "in use" (`--test`, `who`, a plan that fails), 2 for every error, and
/// for `run` the command's own status (on Windows any 32-bit exit code,
/// hence an `i32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCode(pub i32);

impl ExitCode {
    /// 0.
    pub const SUCCESS: ExitCode = ExitCode(0);
}

impl From<u8> for ExitCode {
    fn from(code: u8) -> Self {
        ExitCode(i32::from(code))
    }
}

use std::ffi::OsString;
use std::io::Write;
use std::net::IpAddr;

use clap::Parser;
use port4me::{Env, Error, Port4me, Protocol};

/// port4me: get the same, personal, free TCP port over and over.
///
/// The port comes from a pseudo-random sequence seeded by your user name and
/// the tool name, so it is the same every day and different from your
/// colleagues' on a shared machine. Settings not given as flags come from the
/// PORT4ME_* environment variables.
#[derive(Parser, Debug)]
#[command(
    name = "port4me",
    disable_version_flag = true,
    // A flag given twice takes its last value, as in the reference CLI
    // (`--user=alice --user=bob` is bob), so wrappers can append overrides.
    args_override_self = true,
    max_term_width = 100,
    after_help = "Commands (see `port4me COMMAND --help`):\n  \
                  registry     Manage the persistent port registry (module ranges, offers, named services, leases)\n  \
                  who          Show which processes hold a port\n  \
                  status       Show whether ports are free, occupied, blocked, unsafe or reserved\n  \
                  plan         Give a set of services conflict-free ports, e.g. `plan web=5173 api=3000`\n  \
                  run          Run a command on its port, held while it runs: `run -- vite --port {port}`\n  \
                  ps           List what port4me holds for running processes, with their URLs\n  \
                  completions  Print a shell completion script"
)]
struct Cli {
    #[command(flatten)]
    query: QueryArgs,

    /// Print the first N candidates without checking whether they are free [env: PORT4ME_LIST].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    list: Option<String>,

    /// Exit 0 if PORT is free and 1 if it is not, printing nothing (as the
    /// reference CLI) [env: PORT4ME_TEST].
    #[arg(long, value_name = "PORT", allow_hyphen_values = true)]
    test: Option<String>,

    /// Say on stderr which seed gave the port (`alice,vite@feature-x`); with
    /// --test, what holds a busy port (`port4me who PORT` says more).
    #[arg(long)]
    verbose: bool,

    /// Record the port found in the registry as a short lease, so that other
    /// callers skip it for SECONDS (default 60), however the command was run
    /// (`P=$(port4me --reserve)` included). The next argument is SECONDS only
    /// when it is a number: `--reserve vite` reserves for the tool vite.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, require_equals = true, default_missing_value = "60")]
    reserve: Option<String>,

    /// Print JSON instead of plain text.
    #[arg(long)]
    json: bool,

    /// Print the version and exit.
    #[arg(long)]
    version: bool,
}

/// The options that make the query: the seed, the candidates and the
/// probe. The main command and `run` share them.
#[derive(clap::Args, Debug)]
struct QueryArgs {
    /// Tool name, used in the seed (same as --tool, which wins over it).
    #[arg(value_name = "TOOL")]
    tool_positional: Option<String>,

    /// Tool name, used in the seed to get a different sequence per tool; empty
    /// means not given, as in the reference CLI; `{worktree}` in it stands for
    /// the git worktree's name [env: PORT4ME_TOOL].
    #[arg(long, value_name = "TOOL")]
    tool: Option<String>,

    /// User name, used in the seed [env: PORT4ME_USER, else LOGNAME, USER, LNAME, USERNAME].
    #[arg(long, value_name = "USER")]
    user: Option<String>,

    /// Ports to try first, e.g. 4321,11001 [env: PORT4ME_PREPEND].
    #[arg(long, value_name = "PORTS", allow_hyphen_values = true)]
    prepend: Option<String>,

    /// Only consider these ports, e.g. 2000-2123,4321 [env: PORT4ME_INCLUDE].
    #[arg(long, value_name = "PORTS", allow_hyphen_values = true)]
    include: Option<String>,

    /// Never consider these ports; browser-unsafe ports are excluded too [env: PORT4ME_EXCLUDE].
    #[arg(long, value_name = "PORTS", allow_hyphen_values = true)]
    exclude: Option<String>,

    /// Skip the first N candidates [env: PORT4ME_SKIP].
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    skip: Option<String>,

    /// Give up after N probes (default 65535).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    max_tries: Option<String>,

    /// Probe only this local address (e.g. 127.0.0.1 or ::1) instead of all of them.
    #[arg(long, value_name = "ADDR")]
    host: Option<String>,

    /// Probe tcp (default) or udp.
    #[arg(long, value_name = "PROTOCOL")]
    protocol: Option<String>,
}

impl QueryArgs {
    /// The tool given on the command line: --tool wins over the positional
    /// TOOL, as in the reference CLI, where an empty --tool= counts as not
    /// given (so PORT4ME_TOOL still applies): a wrapper passing
    /// `--tool="$TOOL"` with TOOL unset behaves as without it.
    fn given_tool(&self) -> Option<&String> {
        self.tool.as_ref().filter(|t| !t.is_empty()).or(self.tool_positional.as_ref())
    }
}

/// The subcommands, parsed only when the first argument names one: building
/// their argument definitions costs about a third of the start-up time of
/// the plain `port4me TOOL` call, which should be as quick as possible.
#[cfg(any(feature = "registry", feature = "completions"))]
#[derive(Parser, Debug)]
#[command(name = "port4me", disable_version_flag = true, max_term_width = 100)]
struct SubCli {
    #[command(subcommand)]
    command: Command,
}

const SUBCOMMANDS: [&str; 7] = ["registry", "who", "status", "plan", "run", "ps", "completions"];

/// Whether this build has the subcommand `name`.
fn built_in(name: &str) -> bool {
    match name {
        "registry" => cfg!(feature = "registry"),
        "completions" => cfg!(feature = "completions"),
        _ => cfg!(feature = "holders"),
    }
}

/// The whole command line, for completion scripts.
#[cfg(feature = "completions")]
fn full_command() -> clap::Command {
    use clap::CommandFactory;
    let sub = SubCli::command();
    Cli::command().subcommands(sub.get_subcommands().cloned())
}

#[cfg(any(feature = "registry", feature = "completions"))]
#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Manage the persistent port registry (module ranges, offers, named services, leases).
    #[cfg(feature = "registry")]
    Registry(registry_cmd::RegistryArgs),
    /// Show which processes hold a port.
    #[cfg(feature = "holders")]
    Who(holders_cmd::WhoArgs),
    /// Show whether ports are free, occupied, blocked, unsafe or reserved.
    #[cfg(feature = "holders")]
    Status(holders_cmd::StatusArgs),
    /// Give a set of services conflict-free ports, e.g. `plan web=5173 api=3000`.
    #[cfg(feature = "holders")]
    Plan(holders_cmd::PlanArgs),
    /// Run a command on its port, held in the registry while it runs, e.g. `run -- vite --port {port}`.
    #[cfg(feature = "holders")]
    Run(run_cmd::RunArgs),
    /// List what port4me holds for running processes: tool, seed, port, pid, uptime, directory, command, URL.
    #[cfg(feature = "holders")]
    Ps(run_cmd::PsArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[cfg(feature = "completions")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// An error for people: `Error: <message>` on stderr, exit status 2. Each
/// line of the message goes through [`port4me::text::escape_text`] (what
/// the message quotes is escaped where it is written already; escaping
/// again changes nothing), so no name in it acts on the terminal.
#[cfg(feature = "registry")]
pub(crate) fn fail(message: impl std::fmt::Display) -> ExitCode {
    fail_to(&mut std::io::stderr(), message)
}

/// [`fail`] on `err`.
fn fail_to(err: &mut dyn Write, message: impl std::fmt::Display) -> ExitCode {
    let message = message.to_string();
    let lines: Vec<_> = message.split('\n').map(port4me::text::escape_text).collect();
    let _ = writeln!(err, "Error: {}", lines.join("\n"));
    ExitCode::from(2)
}

/// An error with `--json`: `{"error": {"code": ..., "message": ...}}` on
/// stderr (stdout stays empty), exit status 2.
#[cfg(feature = "registry")]
pub(crate) fn fail_json(code: &str, message: impl std::fmt::Display) -> ExitCode {
    fail_json_to(&mut std::io::stderr(), code, message)
}

/// [`fail_json`] on `err`.
fn fail_json_to(err: &mut dyn Write, code: &str, message: impl std::fmt::Display) -> ExitCode {
    let _ = writeln!(err, "{}", serde_json::json!({ "error": { "code": code, "message": message.to_string() } }));
    ExitCode::from(2)
}

/// The stable code of an error: port4me's, the registry's, the holders',
/// the command's own ([`Coded`]) or the host's ([`HostError`]), else `usage`.
pub(crate) fn error_code(e: &(dyn std::error::Error + 'static), usage: &'static str) -> &'static str {
    #[cfg(feature = "registry")]
    if let Some(e) = e.downcast_ref::<port4me_registry::Error>() {
        return e.code();
    }
    #[cfg(feature = "holders")]
    if let Some(e) = e.downcast_ref::<port4me_holders::Error>() {
        return e.code();
    }
    if let Some(e) = e.downcast_ref::<Error>() {
        e.code()
    } else if let Some(e) = e.downcast_ref::<Coded>() {
        e.code
    } else if let Some(e) = e.downcast_ref::<HostError>() {
        e.code
    } else {
        usage
    }
}

/// An error found by the command itself that has one of the library
/// crates' codes (a `plan --env` name that two services share is
/// `ERR_PORT4ME_PLAN_DUPLICATE_SERVICE`).
#[derive(Debug)]
pub(crate) struct Coded {
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Coded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Coded {}

/// The error for a part of the command line this build leaves out.
fn missing(host: &dyn Host, what: &str) -> Coded {
    Coded { code: "ERR_PORT4ME_NATIVE_REQUIRED", message: host.missing(what) }
}

/// An error as `--json` asks: [`fail_json`] with its [`error_code`]
/// (`usage` when it has none), else [`fail`]. Exit status 2.
#[cfg(feature = "holders")]
pub(crate) fn fail_as(json: bool, e: &(dyn std::error::Error + 'static), usage: &'static str) -> ExitCode {
    fail_as_to(&mut std::io::stderr(), json, e, usage)
}

/// [`fail_as`] on `err`.
fn fail_as_to(err: &mut dyn Write, json: bool, e: &(dyn std::error::Error + 'static), usage: &'static str) -> ExitCode {
    if json {
        fail_json_to(err, error_code(e, usage), e)
    } else {
        fail_to(err, e)
    }
}

/// Whether `--json` is among the options (before any `--`), for errors
/// found before the command line could be parsed.
fn json_requested(args: &[OsString]) -> bool {
    args.iter().skip(1).take_while(|a| *a != "--").any(|a| a == "--json")
}

fn parse_error(host: &mut dyn Host, e: clap::Error, usage: &str, args: &[OsString]) -> ExitCode {
    use clap::error::ErrorKind::*;
    if matches!(e.kind(), DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand) {
        // Printed and returned, not `e.exit()`: inside the Node addon an
        // exit would end the process under Node's feet.
        host.print_clap(&e);
        return ExitCode(if e.use_stderr() { 2 } else { 0 });
    }
    let rendered = e.render().to_string();
    let text = rendered.trim_start_matches("error: ");
    if json_requested(args) {
        return fail_json_to(host.err(), usage, text.lines().next().unwrap_or_default().trim());
    }
    let _ = write!(host.err(), "Error: {text}");
    ExitCode::from(2)
}

#[cfg(any(feature = "registry", feature = "completions"))]
fn run_subcommand(command: &Command) -> ExitCode {
    match command {
        #[cfg(feature = "registry")]
        Command::Registry(a) => registry_cmd::run(a),
        #[cfg(feature = "holders")]
        Command::Who(a) => holders_cmd::run_who(a),
        #[cfg(feature = "holders")]
        Command::Status(a) => holders_cmd::run_status(a),
        #[cfg(feature = "holders")]
        Command::Plan(a) => holders_cmd::run_plan(a),
        #[cfg(feature = "holders")]
        Command::Run(a) => run_cmd::run(a),
        #[cfg(feature = "holders")]
        Command::Ps(a) => run_cmd::ps(a),
        #[cfg(feature = "completions")]
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut full_command(), "port4me", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// Runs the command line `args` (the program name first, as
/// `std::env::args_os()` gives it) in this process and returns the exit
/// status. Settings not given as flags come from the process environment.
pub fn run(args: Vec<OsString>) -> i32 {
    run_with(args, &mut Process::default())
}

/// [`run`] with the main command's environment, output and probes from
/// `host`. Subcommands always run in the process itself.
pub fn run_with(args: Vec<OsString>, host: &mut dyn Host) -> i32 {
    let code = run_args(&args, host);
    // The binary exits and the addon returns to Node: either way, what was
    // written must be out first.
    let _ = host.out().flush();
    let _ = host.err().flush();
    code.0
}

/// `T` parsed from `args`, its help wrapped to the host's width.
fn parse<T: Parser>(host: &dyn Host, args: &[OsString]) -> Result<T, clap::Error> {
    let mut cmd = T::command();
    if let Some(w) = host.term_width() {
        // An explicit width is not capped by max_term_width: cap it here.
        cmd = cmd.term_width(w.min(100));
    }
    let mut matches = cmd.try_get_matches_from_mut(args)?;
    T::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
}

fn run_args(args: &[OsString], host: &mut dyn Host) -> ExitCode {
    let first = args.get(1).and_then(|a| a.to_str());
    if let Some(name) = first.filter(|a| SUBCOMMANDS.contains(a)) {
        if !built_in(name) {
            let e = missing(host, &format!("port4me {name}"));
            return fail_as_to(host.err(), json_requested(args), &e, "ERR_PORT4ME_USAGE");
        }
        #[cfg(any(feature = "registry", feature = "completions"))]
        return match parse::<SubCli>(host, args) {
            Ok(sub) => run_subcommand(&sub.command),
            Err(e) => parse_error(
                host,
                e,
                if name == "registry" { "ERR_PORT4ME_REGISTRY_USAGE" } else { "ERR_PORT4ME_USAGE" },
                args,
            ),
        };
    }
    let cli = match parse::<Cli>(host, &args::join_reserve(args.iter().cloned())) {
        Ok(cli) => cli,
        Err(e) => return parse_error(host, e, "ERR_PORT4ME_USAGE", args),
    };
    if cli.version {
        let _ = writeln!(host.out(), "{}", port4me::core::VERSION);
        return ExitCode::SUCCESS;
    }
    match run_main(&cli, host) {
        Ok(code) => code,
        // `port4me --list=1000 | head -1`: the reader left, which is not an error.
        Err(e) if e.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe) => {
            ExitCode::SUCCESS
        }
        Err(e) => fail_as_to(host.err(), cli.json, &*e, "ERR_PORT4ME_USAGE"),
    }
}

/// `--host`: what the bindings' `host` option takes ([`port4me::values::parse_host`]).
fn parse_host(text: &str) -> Result<IpAddr, String> {
    port4me::values::parse_host(text).map_err(|e| format!("--host: {e}"))
}

fn build(cli: &QueryArgs, env: Env) -> Result<Port4me, Box<dyn std::error::Error>> {
    let mut q = Port4me::with_env(env);
    if let Some(t) = cli.given_tool() {
        q = q.tool(t.clone());
    }
    if let Some(u) = &cli.user {
        q = q.user(u.clone());
    }
    if let Some(s) = &cli.prepend {
        q = q.prepend_from(s.as_str(), "--prepend");
    }
    if let Some(s) = &cli.include {
        q = q.include_from(s.as_str(), "--include");
    }
    if let Some(s) = &cli.exclude {
        q = q.exclude_from(s.as_str(), "--exclude");
    }
    if let Some(s) = &cli.skip {
        q = q.skip(port4me::parse_count(s, "skip", "--skip")?);
    }
    if let Some(s) = &cli.max_tries {
        let n = port4me::parse_count(s, "max tries", "--max-tries")?;
        if n == 0 {
            return Err(Error::InvalidNumber {
                what: "max tries",
                source_name: "--max-tries".into(),
                value: s.clone(),
                reason: "must be at least 1".into(),
            }
            .into());
        }
        let n = u32::try_from(n).map_err(|_| Error::InvalidNumber {
            what: "max tries",
            source_name: "--max-tries".into(),
            value: s.clone(),
            reason: format!("is too large (at most {})", u32::MAX).into(),
        })?;
        q = q.max_tries(n);
    }
    if let Some(h) = &cli.host {
        q = q.host(parse_host(h)?);
    }
    if let Some(p) = &cli.protocol {
        let p: Protocol = p.parse().map_err(|e| format!("invalid value of --protocol: {e}"))?;
        q = q.protocol(p);
    }
    Ok(q)
}

/// The `--list` count: 1 to [`port4me::MAX_LIST`].
fn list_count(s: &str) -> Result<usize, Error> {
    let n = port4me::parse_count(s, "list count", "--list")?;
    if n == 0 || n > port4me::MAX_LIST as u64 {
        let max = port4me::MAX_LIST;
        let reason = if n == 0 { "must be at least 1".into() } else { format!("must be at most {max}") };
        return Err(Error::InvalidNumber {
            what: "list count",
            source_name: "--list".into(),
            value: s.into(),
            reason: reason.into(),
        });
    }
    Ok(n as usize)
}

/// What each of the three modes does, for the message refusing two at once.
fn mode_purpose(source: &str) -> &'static str {
    match source {
        "--list" | "PORT4ME_LIST" => "prints candidates without probing them",
        "--test" | "PORT4ME_TEST" => "checks one given port",
        _ => "records the port found",
    }
}

/// `--list`, `--test` and `--reserve` each make the command do something
/// else; two of them (from flags or variables) are an error, not a silent
/// choice of one.
fn exclusive(a: Option<&str>, b: Option<&str>) -> Result<(), String> {
    match (a, b) {
        (Some(a), Some(b)) => {
            Err(format!("{a} and {b} cannot be used together: {a} {}, {b} {}", mode_purpose(a), mode_purpose(b)))
        }
        _ => Ok(()),
    }
}

/// After "all N allowed ports are in use" with few ports, one line per port
/// saying what holds it (a process, as `port4me who` finds it, or nothing
/// visible: another user's process, or a registry lease). The error keeps
/// its type, so its code is unchanged.
#[cfg(feature = "holders")]
fn name_holders(e: Box<dyn std::error::Error>) -> Box<dyn std::error::Error> {
    match e.downcast::<port4me_registry::Error>() {
        Ok(e) => match *e {
            port4me_registry::Error::Port4me(inner) => Box::new(port4me_registry::Error::Port4me(with_holders(inner))),
            other => Box::new(other),
        },
        Err(e) => match e.downcast::<Error>() {
            Ok(e) => Box::new(with_holders(*e)),
            Err(e) => e,
        },
    }
}

/// Without the holders, the error as it is.
#[cfg(not(feature = "holders"))]
fn name_holders(e: Box<dyn std::error::Error>) -> Box<dyn std::error::Error> {
    e
}

#[cfg(feature = "holders")]
fn with_holders(e: Error) -> Error {
    match e {
        Error::AllInUse { tries, protocol, count, ports, holders } if holders.is_empty() && ports.len() == count => {
            let mut holders = ports
                .iter()
                .map(|&port| {
                    port4me_holders::describe_busy(port, protocol).unwrap_or_else(|| {
                        format!("{port}: no holder visible (another user's process, or a registry lease)")
                    })
                })
                .collect::<Vec<_>>();
            // Windows' excluded ranges are not "in use": counted apart.
            let excluded =
                ports.iter().filter(|&&p| port4me_holders::excluded_port_range(p, protocol).is_some()).count();
            if excluded > 0 {
                holders.push(format!("{excluded} of these are not in use but in Windows' excluded port ranges"));
            }
            Error::AllInUse { tries, protocol, count, ports, holders }
        }
        other => other,
    }
}

/// What holds the busy `port`, for `--test --verbose` and `--json`.
fn holder_of(port: u16, protocol: Protocol) -> Option<String> {
    #[cfg(feature = "holders")]
    return port4me_holders::describe_busy(port, protocol);
    #[cfg(not(feature = "holders"))]
    {
        let _ = (port, protocol);
        None
    }
}

/// `--reserve`: the port found, leased in the registry for `ttl` seconds.
#[cfg(feature = "registry")]
fn reserve(_host: &mut dyn Host, q: &Port4me, ttl: &str) -> Result<u16, Box<dyn std::error::Error>> {
    registry_cmd::reserve(q, ttl)
}

/// Without the registry: a bad time is still named as such.
#[cfg(not(feature = "registry"))]
fn reserve(host: &mut dyn Host, _q: &Port4me, ttl: &str) -> Result<u16, Box<dyn std::error::Error>> {
    args::seconds(ttl).map_err(|e| format!("invalid --reserve value {ttl:?}: {e}"))?;
    Err(missing(host, "port4me --reserve").into())
}

fn run_main(cli: &Cli, host: &mut dyn Host) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let q = build(&cli.query, host.env())?;

    let test = match &cli.test {
        Some(t) => Some((port4me::parse_port(t, "--test")?, "--test")),
        None => q.test_from_env()?.map(|p| (p, "PORT4ME_TEST")),
    };
    let list = match &cli.list {
        Some(s) => Some((list_count(s)?, "--list")),
        None => q.list_from_env()?.map(|n| (n, "PORT4ME_LIST")),
    };
    let reserved = cli.reserve.as_ref().map(|ttl| (ttl, "--reserve"));
    exclusive(list.map(|l| l.1), test.map(|t| t.1))?;
    exclusive(list.map(|l| l.1), reserved.map(|r| r.1))?;
    exclusive(test.map(|t| t.1), reserved.map(|r| r.1))?;

    if let Some((port, _)) = test {
        let free = host.test(&q, port)?;
        let protocol = q.probe_options().protocol;
        // Silent, as the reference CLI: scripts test the exit status and
        // may check that nothing was printed. The holder is for --verbose
        // and --json (and `port4me who`).
        let holder = if free || !(cli.json || cli.verbose) { None } else { holder_of(port, protocol) };
        if cli.json {
            let v = serde_json::json!({ "port": port, "free": free, "protocol": protocol.as_str(), "holder": holder });
            writeln!(host.out(), "{v}")?;
        } else if let Some(d) = holder {
            writeln!(host.err(), "{d}")?;
        }
        return Ok(if free { ExitCode::SUCCESS } else { ExitCode::from(1) });
    }

    if let Some((n, _)) = list {
        let ports = q.list(n)?;
        let out = host.out();
        if cli.json {
            writeln!(out, "{}", serde_json::json!({ "seed": q.seed()?, "ports": ports }))?;
        } else {
            let mut buf = String::with_capacity(ports.len() * 6);
            for p in ports {
                buf.push_str(&p.to_string());
                buf.push('\n');
            }
            out.write_all(buf.as_bytes())?;
        }
        return Ok(ExitCode::SUCCESS);
    }

    let found = match reserved {
        Some((ttl, _)) => reserve(host, &q, ttl),
        None => host.find(&q),
    };
    let port = found.map_err(name_holders)?;
    if cli.verbose {
        writeln!(host.err(), "port4me: port {port} from the seed {:?}", q.seed()?)?;
    }
    if cli.json {
        let v = serde_json::json!({
            "port": port,
            "seed": q.seed()?,
            "protocol": q.probe_options().protocol.as_str(),
            "reserved": cli.reserve.is_some(),
        });
        writeln!(host.out(), "{v}")?;
    } else {
        writeln!(host.out(), "{port}")?;
    }
    Ok(ExitCode::SUCCESS)
}
