//! `port4me run [TOOL] [options] [--env NAME]... -- CMD [ARGS...]`: start a
//! server on its port4me port, with no window in which another caller can
//! be handed the same port.
//!
//! The port is found as `--reserve` finds it (the first free port of the
//! sequence that nothing in the registry holds) and held as a registration
//! owned by this process, from before the command starts until this
//! process exits, which it does when the command does. The registry's
//! liveness rules reclaim it however this process ends, SIGKILL included;
//! on Linux the command is also sent SIGTERM when this process dies, so the
//! two live exactly as long as each other.
//!
//! The command gets the port as `PORT`, `PORT4ME_PORT` (which port4me code
//! in it, such as the Vite plugin, uses instead of searching again), each
//! `--env NAME`, and `{port}` in its arguments. It inherits the standard
//! streams. SIGINT, SIGTERM and SIGHUP sent to this process are passed on;
//! the ones a terminal sends (Ctrl-C) reach the command directly, since it
//! is in the same foreground process group, so they are not passed on a
//! second time. On Windows, Ctrl-C and Ctrl-Break reach every process of
//! the console; this one ignores them and waits for the command. The exit
//! status is the command's, or 128 + the signal that ended it.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::process::Command;

use clap::Args;
use port4me::{Env, Port4me};
use port4me_registry::{Config, HoldOptions, Owner, Registry};

use crate::{Coded, ExitCode, QueryArgs};

/// Run a command on its port4me port: the port is held in the registry for
/// as long as the command runs, so commands started at the same moment get
/// different ports.
///
/// The command gets the port as PORT, PORT4ME_PORT, every --env NAME, and
/// `{port}` in its arguments, e.g. `port4me run -- vite --port {port}
/// --strictPort`. TOOL defaults to --tool, then PORT4ME_TOOL, then the
/// command's name (`vite`; no path, `.exe` or `.cmd`). The exit status is
/// the command's (128 + N when signal N ended it); port4me's own errors
/// exit with 2.
#[derive(Args, Debug)]
#[command(after_help = "Examples:\n  \
                        port4me run -- vite --port {port} --strictPort\n  \
                        port4me run --tool 'next@{worktree}' -- next dev\n  \
                        port4me run jupyter --env JUPYTER_PORT -- jupyter lab --port {port}")]
pub struct RunArgs {
    #[command(flatten)]
    query: QueryArgs,

    /// Also set the environment variable NAME to the port (may be repeated).
    #[arg(long = "env", value_name = "NAME")]
    env: Vec<String>,

    /// Say on stderr which port and seed the command gets.
    #[arg(long)]
    verbose: bool,

    /// Print port4me's own errors and the --verbose line as JSON.
    #[arg(long)]
    json: bool,

    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Runs `port4me run`.
pub fn run(args: &RunArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => crate::fail_as(args.json, &*e, "ERR_PORT4ME_USAGE"),
    }
}

/// The tool a command stands for: its file name without the directory and
/// without an `.exe`, `.cmd`, `.bat` or `.com` ending (any case).
pub(crate) fn tool_of(program: &OsStr) -> Option<String> {
    let name = std::path::Path::new(program).file_name()?.to_str()?;
    // Both separators, whatever the platform: `C:\bin\vite.cmd` on Unix too.
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let stem = match name.rsplit_once('.') {
        Some((stem, ext)) if ["exe", "cmd", "bat", "com"].iter().any(|e| ext.eq_ignore_ascii_case(e)) => stem,
        _ => name,
    };
    Some(stem.to_string()).filter(|s| !s.is_empty())
}

/// A `--env` name that can be set: not empty, no `=` and no NUL.
fn check_env_name(name: &str) -> Res<()> {
    let why = if name.is_empty() {
        "it is empty"
    } else if name.contains('=') {
        "it contains '='"
    } else if name.contains('\0') {
        "it contains a NUL character"
    } else {
        return Ok(());
    };
    Err(format!("invalid --env name {name:?}: {why}").into())
}

/// `arg` with every `{port}` replaced by `port`.
fn with_port(arg: &OsStr, port: u16) -> OsString {
    match arg.to_str() {
        Some(s) if s.contains("{port}") => s.replace("{port}", &port.to_string()).into(),
        _ => arg.to_os_string(),
    }
}

/// The command line as one string for `port4me ps`, each argument quoted
/// when it has to be.
pub(crate) fn shown_command(command: &[OsString]) -> String {
    command
        .iter()
        .map(|a| {
            let s = a.to_string_lossy();
            // Backslashes are path separators on Windows, nothing to quote.
            let plain =
                |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,{}".contains(c) || (cfg!(windows) && c == '\\');
            if !s.is_empty() && s.chars().all(plain) {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn run_inner(args: &RunArgs) -> Res<ExitCode> {
    let program = &args.command[0];
    for name in &args.env {
        check_env_name(name)?;
    }
    let env = Env::process();
    let given = args.query.given_tool().is_some();
    let mut q: Port4me = crate::build(&args.query, env.clone())?;
    if !given && env.var("PORT4ME_TOOL")?.is_none() {
        let tool = tool_of(program).ok_or_else(|| {
            format!("cannot take a tool name from the command {:?}: give one with --tool", program.to_string_lossy())
        })?;
        q = q.tool(tool);
    }
    let seed = q.seed()?;
    // Not flushed to disk at each commit: the registration lives only as
    // long as this process, which a power failure ends too (and the rows of
    // an earlier boot are reclaimed), so a flush would protect nothing. It
    // is most of what `run` would add to starting the command (about 10 ms
    // per commit on a virtual disk).
    let reg = Registry::open_default_with(Config { durable: false, ..Config::default() })?;
    // `{port}` in it: the registry fills in the port it finds.
    let command = Some(shown_command(&args.command));
    let held = reg.registrations().hold(&q, HoldOptions { owner: Owner::Current, command })?;
    let port = held.port;
    if args.verbose {
        let mut err = std::io::stderr();
        if args.json {
            let v = serde_json::json!({ "port": port, "seed": seed, "tool": held.service, "registration": held.name });
            writeln!(err, "{v}")?;
        } else {
            writeln!(err, "port4me: port {port} from the seed {seed:?}, held as the registration {:?}", held.name)?;
        }
    }

    let mut cmd = Command::new(resolve_program(program));
    cmd.args(args.command[1..].iter().map(|a| with_port(a, port)));
    let value = port.to_string();
    cmd.env("PORT", &value).env("PORT4ME_PORT", &value);
    for name in &args.env {
        cmd.env(name, &value);
    }
    let status = child::run(cmd).map_err(|e| Coded {
        code: "ERR_PORT4ME_RUN",
        message: format!("cannot run {:?}: {e}", program.to_string_lossy()),
    })?;
    // The handle is left open to the end of the process, not closed
    // (Registry::leave_open says why). While the command runs, the open
    // connection also spares every other port4me process that work.
    reg.leave_open();
    if let child::Status::Exited(code) = status {
        if code != 0 {
            explain_taken_port(port, q.probe_options().protocol, &q, program);
        }
    }
    Ok(ExitCode(status.code()))
}

/// After the command failed: if its port is now held by another program,
/// say which. That program does not use port4me (the registry held the
/// port for the command), so a new run will skip the port; port4me does not
/// retry by itself, since the command may have done things before it failed.
fn explain_taken_port(port: u16, protocol: port4me::Protocol, q: &Port4me, program: &OsStr) {
    if q.test(port).unwrap_or(true) {
        return;
    }
    let holder = port4me_holders::describe_busy(port, protocol)
        .unwrap_or_else(|| format!("{port}: no holder visible (another user's process)"));
    eprintln!(
        "port4me: {} failed, and its port {port} is taken by a program that does not use port4me: {}\n\
         port4me: run the command again to get the next free port",
        program.to_string_lossy(),
        port4me::text::escape_text(&holder)
    );
}

/// The program to start: on Windows, a name without an extension found on
/// PATH with the endings of PATHEXT (`vite` is `vite.cmd` after `npm
/// install`), which `Command` does not look for itself (it adds `.exe`
/// only); elsewhere the name as given.
fn resolve_program(program: &OsStr) -> OsString {
    #[cfg(windows)]
    {
        let path = std::path::Path::new(program);
        if path.extension().is_none() && path.components().count() == 1 {
            let exts = std::env::var("PATHEXT").unwrap_or_else(|_| ".COM;.EXE;.BAT;.CMD".into());
            if let Some(paths) = std::env::var_os("PATH") {
                for dir in std::env::split_paths(&paths) {
                    for ext in exts.split(';').filter(|e| !e.is_empty()) {
                        let mut name = program.to_os_string();
                        name.push(ext);
                        let candidate = dir.join(name);
                        if candidate.is_file() {
                            return candidate.into_os_string();
                        }
                    }
                }
            }
        }
    }
    program.to_os_string()
}

/// Starting the command, passing signals on and waiting for it.
mod child {
    use std::process::Command;

    /// How the command ended.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Status {
        /// It exited with this code.
        Exited(i32),
        /// Signal N ended it (Unix).
        #[cfg_attr(not(unix), allow(dead_code))]
        Signaled(i32),
    }

    impl Status {
        /// The exit status to pass on: the code, or 128 + the signal.
        pub fn code(self) -> i32 {
            match self {
                Status::Exited(c) => c,
                Status::Signaled(s) => 128 + s,
            }
        }
    }

    #[cfg(unix)]
    pub fn run(mut cmd: Command) -> std::io::Result<Status> {
        use std::os::unix::process::{CommandExt, ExitStatusExt};
        use std::sync::atomic::Ordering;

        // SAFETY: getpid is async-signal-safe.
        let parent = unsafe { libc::getpid() };
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                // The standard streams are inherited as they are, and Node
                // (running this inside the addon) marks them close-on-exec.
                for fd in 0..=2 {
                    let flags = libc::fcntl(fd, libc::F_GETFD);
                    if flags >= 0 && flags & libc::FD_CLOEXEC != 0 {
                        libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
                    }
                }
                // Node ignores SIGXFSZ, which exec would pass on; std resets SIGPIPE.
                libc::signal(libc::SIGXFSZ, libc::SIG_DFL);
                // The command ends (SIGTERM) when this process dies, even by
                // SIGKILL, so it never outlives the registration.
                #[cfg(any(target_os = "linux", target_os = "android"))]
                {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    // Died already, between the fork and the prctl.
                    if libc::getppid() != parent {
                        libc::raise(libc::SIGTERM);
                    }
                }
                let _ = parent;
                Ok(())
            });
        }
        let saved = signals::install();
        let result = cmd.spawn().and_then(|mut child| {
            signals::CHILD.store(child.id() as i32, Ordering::SeqCst);
            // Wait without reaping, so that the pid cannot be reused while
            // a handler may still send it a signal; then reap.
            let waited = signals::wait_exited(child.id());
            signals::CHILD.store(0, Ordering::SeqCst);
            let status = child.wait();
            waited.and(status)
        });
        signals::restore(saved);
        let status = result?;
        Ok(match (status.code(), status.signal()) {
            (Some(c), _) => Status::Exited(c),
            (None, Some(s)) => Status::Signaled(s),
            (None, None) => Status::Exited(1),
        })
    }

    #[cfg(unix)]
    mod signals {
        use std::sync::atomic::{AtomicI32, Ordering};

        /// The command's pid while it runs, else 0.
        pub static CHILD: AtomicI32 = AtomicI32::new(0);

        /// The signals passed on.
        const FORWARDED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

        /// Whether `info` says a process sent the signal (`kill`,
        /// `sigqueue`), rather than the kernel for the terminal: those
        /// reach the whole foreground process group, the command included.
        fn sent_by_a_process(info: &libc::siginfo_t) -> bool {
            let code = info.si_code;
            #[cfg(any(target_os = "linux", target_os = "android"))]
            return code == libc::SI_USER || code == libc::SI_QUEUE || code == libc::SI_TKILL;
            // <sys/signal.h> of macOS and FreeBSD (the libc crate has no
            // names for them there).
            #[cfg(any(target_vendor = "apple", target_os = "freebsd"))]
            return code == 0x10001 || code == 0x10002;
            // Elsewhere it cannot be told: pass everything on.
            #[cfg(not(any(
                target_os = "linux",
                target_os = "android",
                target_vendor = "apple",
                target_os = "freebsd"
            )))]
            return {
                let _ = code;
                true
            };
        }

        extern "C" fn forward(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
            // SAFETY: the kernel passes a valid siginfo to an SA_SIGINFO handler.
            let by_process = info.is_null() || sent_by_a_process(unsafe { &*info });
            let pid = CHILD.load(Ordering::SeqCst);
            if by_process && pid > 0 {
                // SAFETY: kill is async-signal-safe.
                unsafe { libc::kill(pid, sig) };
            }
        }

        /// Installs the forwarding handlers; returns the actions they
        /// replace (Node's own, inside the addon), for [`restore`].
        pub fn install() -> Vec<(libc::c_int, libc::sigaction)> {
            let mut saved = Vec::new();
            for sig in FORWARDED {
                // SAFETY: a zeroed sigaction is valid; the handler only calls
                // async-signal-safe functions.
                unsafe {
                    let mut action: libc::sigaction = std::mem::zeroed();
                    action.sa_sigaction = forward as *const () as usize;
                    action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
                    libc::sigemptyset(&mut action.sa_mask);
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(sig, &action, &mut old) == 0 {
                        saved.push((sig, old));
                    }
                }
            }
            saved
        }

        /// Puts back what [`install`] replaced.
        pub fn restore(saved: Vec<(libc::c_int, libc::sigaction)>) {
            for (sig, old) in saved {
                // SAFETY: `old` came from sigaction itself.
                unsafe { libc::sigaction(sig, &old, std::ptr::null_mut()) };
            }
        }

        /// Waits until `pid` has exited, leaving it to be reaped.
        pub fn wait_exited(pid: u32) -> std::io::Result<()> {
            loop {
                // SAFETY: a zeroed siginfo is a valid out-parameter.
                let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
                // SAFETY: waits on our own child; WNOWAIT leaves it a zombie.
                let rc =
                    unsafe { libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOWAIT) };
                if rc == 0 {
                    return Ok(());
                }
                let e = std::io::Error::last_os_error();
                if e.kind() != std::io::ErrorKind::Interrupted {
                    return Err(e);
                }
            }
        }
    }

    #[cfg(windows)]
    pub fn run(mut cmd: Command) -> std::io::Result<Status> {
        use windows_sys::Win32::Foundation::TRUE;
        use windows_sys::Win32::System::Console::{SetConsoleCtrlHandler, CTRL_BREAK_EVENT, CTRL_C_EVENT};

        // Ctrl-C and Ctrl-Break go to every process of the console: the
        // command handles them, this process waits for it to exit. (Not
        // SetConsoleCtrlHandler(NULL, TRUE), which the command would inherit.)
        unsafe extern "system" fn ignore(event: u32) -> windows_sys::core::BOOL {
            (event == CTRL_C_EVENT || event == CTRL_BREAK_EVENT) as windows_sys::core::BOOL
        }
        // SAFETY: `ignore` is a valid handler for the life of the process.
        let added = unsafe { SetConsoleCtrlHandler(Some(ignore), TRUE) } != 0;
        let result = cmd.spawn().and_then(|mut c| c.wait());
        if added {
            // SAFETY: removes the handler added above.
            unsafe { SetConsoleCtrlHandler(Some(ignore), 0) };
        }
        // Exit codes are 32-bit (0xC000013A after Ctrl-C): passed on as they are.
        Ok(Status::Exited(result?.code().unwrap_or(1)))
    }

    #[cfg(not(any(unix, windows)))]
    pub fn run(mut cmd: Command) -> std::io::Result<Status> {
        Ok(Status::Exited(cmd.status()?.code().unwrap_or(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_from_commands() {
        for (cmd, tool) in [
            ("vite", "vite"),
            ("./node_modules/.bin/vite", "vite"),
            ("C:\\Program Files\\nodejs\\node.exe", "node"),
            ("next.CMD", "next"),
            ("run.bat", "run"),
            ("python3.12", "python3.12"),
            ("jupyter-lab", "jupyter-lab"),
        ] {
            assert_eq!(tool_of(OsStr::new(cmd)).as_deref(), Some(tool), "{cmd}");
        }
        assert_eq!(tool_of(OsStr::new(".exe")), None);
        assert_eq!(tool_of(OsStr::new("/")), None);
    }

    #[test]
    fn ports_in_arguments_and_env_names() {
        assert_eq!(with_port(OsStr::new("--port={port}"), 5), OsString::from("--port=5"));
        assert_eq!(with_port(OsStr::new("{port}{port}"), 7), OsString::from("77"));
        assert_eq!(with_port(OsStr::new("{PORT}"), 7), OsString::from("{PORT}"));
        assert!(check_env_name("VITE_PORT").is_ok());
        for bad in ["", "A=B", "A\0"] {
            assert!(check_env_name(bad).unwrap_err().to_string().starts_with("invalid --env name"), "{bad:?}");
        }
        assert_eq!(
            [0, 59, 61, 3600 + 5 * 60, 86400 * 3 + 4 * 3600].map(uptime),
            ["0s", "59s", "1m01s", "1h05m", "3d04h"]
        );
        let shown = shown_command(&["vite".into(), "--port".into(), "{port}".into(), "a b".into(), "it's".into()]);
        assert_eq!(shown, r"vite --port {port} 'a b' 'it'\''s'");
    }
}

/// List what port4me holds for running processes: `port4me run`, the Vite
/// plugin and `port4me({ reserve: true })`, one line each with the tool,
/// seed, port, process, uptime, directory and worktree, and the command.
#[derive(Args, Debug)]
pub struct PsArgs {
    /// Print JSON (an array in the registry's serde form) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs `port4me ps`.
pub fn ps(args: &PsArgs) -> ExitCode {
    let listed = Registry::open_default().and_then(|reg| reg.running());
    match listed {
        Ok(running) => {
            let out = if args.json {
                serde_json::to_string(&running).map(|s| s + "\n").unwrap_or_default()
            } else {
                ps_table(&running)
            };
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => crate::fail_as(args.json, &e, "ERR_PORT4ME_USAGE"),
    }
}

/// `5s`, `3m12s`, `2h05m`, `3d04h`.
fn uptime(secs: u32) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}

fn ps_table(running: &[port4me_registry::Running]) -> String {
    if running.is_empty() {
        return "(nothing port4me holds for a running process)\n".into();
    }
    let dash = |s: &str| if s.is_empty() { "-".to_string() } else { s.to_string() };
    let rows = running
        .iter()
        .map(|r| {
            vec![
                r.port.to_string(),
                dash(if r.tool.is_empty() { &r.name } else { &r.tool }),
                dash(&r.seed),
                r.owner.pid.to_string(),
                uptime(r.uptime_seconds),
                dash(&r.worktree),
                dash(&r.directory),
                dash(&r.url),
                dash(&r.command),
            ]
        })
        .collect();
    crate::table::table(&["PORT", "TOOL", "SEED", "PID", "UPTIME", "WORKTREE", "DIRECTORY", "URL", "COMMAND"], rows)
}
