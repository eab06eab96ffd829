//! `port4me run` and `port4me ps` with real servers, signals and kills;
//! `{worktree}` in the tool from two checkouts.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EXE: &str = env!("CARGO_BIN_EXE_port4me");

/// A directory of its own for one test: its registry and its checkouts.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("port4me-run-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("ports.sqlite")
    }

    /// `port4me ARGS` with this registry.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(EXE);
        c.args(args).env("PORT4ME_DB", self.db()).env("PORT4ME_USER", "alice");
        c.env_remove("_PORT4ME_CHECK_AVAILABLE_PORTS_").env_remove("PORT4ME_TOOL");
        c
    }

    /// `port4me ps --json`.
    fn ps(&self) -> Vec<serde_json::Value> {
        let out = self.cmd(&["ps", "--json"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap()
    }

    /// `ps` once it lists `n` holdings (within 20 s).
    fn ps_until(&self, n: usize) -> Vec<serde_json::Value> {
        let start = Instant::now();
        loop {
            let listed = self.ps();
            if listed.len() == n || start.elapsed() > Duration::from_secs(20) {
                return listed;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Whether an HTTP server answers on 127.0.0.1:`port` (retried for 20 s,
/// for servers still starting).
fn answers_http(port: u16) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = s.write_all(b"GET / HTTP/1.0\r\n\r\n");
            let mut head = [0u8; 12];
            if s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn has_python() -> bool {
    Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success())
}

fn port_of(v: &serde_json::Value) -> u16 {
    v["port"].as_u64().unwrap() as u16
}

fn kill(child: &Child, signal: &str) {
    let ok = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(ok.success());
}

/// Waits for `child` for up to 20 s; `None` if it is still running.
fn wait_for(child: &mut Child) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The issue's race test: 16 servers of one tool started at once through
/// `run` get 16 ports, and all answer; the same 16 started the
/// probe-then-spawn way (`P=$(port4me same); python3 -m http.server $P`)
/// mostly collide, which this test measures and prints.
#[cfg(unix)]
#[test]
fn sixteen_servers_started_at_once_get_sixteen_ports() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let s = Scratch::new("race");
    let mut runners: Vec<Child> = (0..16)
        .map(|_| {
            s.cmd(&["run", "--tool", "same", "--", "python3", "-m", "http.server", "{port}", "--bind", "127.0.0.1"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let listed = s.ps_until(16);
    let mut ports: Vec<u16> = listed.iter().map(port_of).collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 16, "ps: {listed:?}");
    let silent: Vec<u16> = ports.iter().copied().filter(|&p| !answers_http(p)).collect();
    for r in &runners {
        kill(r, "-TERM");
    }
    for r in &mut runners {
        // SIGTERM reached python through the runner: 128 + 15.
        assert_eq!(wait_for(r).and_then(|st| st.code()), Some(143));
    }
    assert!(silent.is_empty(), "servers that did not answer: {silent:?} of {ports:?}");
    assert!(s.ps().is_empty());

    // The same 16, probe then spawn.
    let script = r#"P=$("$EXE" same) && exec python3 -m http.server "$P" --bind 127.0.0.1"#;
    let mut naive: Vec<Child> = (0..16)
        .map(|_| {
            Command::new("sh")
                .args(["-c", script])
                .env("EXE", EXE)
                .env("PORT4ME_USER", "alice")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // A server that could not bind exits at once; give the others time to
    // start, then count.
    std::thread::sleep(Duration::from_secs(3));
    let failed = naive.iter_mut().map(|c| c.try_wait().unwrap().is_some()).filter(|&gone| gone).count();
    for c in &naive {
        let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).stderr(Stdio::null()).status();
    }
    for c in &mut naive {
        let _ = wait_for(c);
    }
    eprintln!("race: port4me run gave 16 servers 16 ports, all answering; probe-then-spawn: {failed} of 16 collided");
}

/// SIGINT and SIGTERM sent to the runner reach the command, whose exit
/// status comes back; a command killed by a signal gives 128 + it.
#[cfg(unix)]
#[test]
fn signals_reach_the_command_and_the_status_comes_back() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let s = Scratch::new("signals");
    let exit = s.cmd(&["run", "--tool", "x", "--", "sh", "-c", "exit 5"]).status().unwrap();
    assert_eq!(exit.code(), Some(5));
    let ok = s.cmd(&["run", "--", "true"]).status().unwrap();
    assert_eq!(ok.code(), Some(0));
    // Exits 40 + the signal it caught.
    let catcher = "import signal, sys, time\n\
                   for n in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):\n    \
                   signal.signal(n, lambda sig, frame: sys.exit(40 + sig))\n\
                   print('ready', flush=True)\n\
                   time.sleep(60)\n";
    for (signal, expected) in [("-INT", 42), ("-TERM", 55), ("-HUP", 41)] {
        let mut runner =
            s.cmd(&["run", "--tool", "x", "--", "python3", "-c", catcher]).stdout(Stdio::piped()).spawn().unwrap();
        let mut ready = [0u8; 5];
        runner.stdout.as_mut().unwrap().read_exact(&mut ready).unwrap();
        kill(&runner, signal);
        assert_eq!(wait_for(&mut runner).and_then(|st| st.code()), Some(expected), "{signal}");
    }
    // No handler: the signal ends the command, 128 + 15.
    let mut runner = s.cmd(&["run", "--", "sleep", "60"]).spawn().unwrap();
    s.ps_until(1);
    kill(&runner, "-TERM");
    assert_eq!(wait_for(&mut runner).and_then(|st| st.code()), Some(143));
    // port4me's own failures: 2.
    let missing = s.cmd(&["run", "--", "no-such-command-port4me"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).starts_with("Error: cannot run \"no-such-command-port4me\""));
    let bad = s.cmd(&["run", "--env", "A=B", "--", "true"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// The command gets the port as PORT, PORT4ME_PORT, --env names and
/// `{port}`; the tool defaults to the command's name.
#[cfg(unix)]
#[test]
fn the_command_gets_its_port_four_ways() {
    let s = Scratch::new("env");
    let out = s
        .cmd(&[
            "run",
            "--env",
            "VITE_PORT",
            "--verbose",
            "--json",
            "--",
            "sh",
            "-c",
            "echo $PORT $PORT4ME_PORT $VITE_PORT $0",
            "{port}",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    let port = said["port"].as_u64().unwrap().to_string();
    assert_eq!(said["seed"], "alice,sh");
    assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("{port} {port} {port} {port}\n"));
    // The same port as the plain command for that seed (nothing else holds it).
    let plain = s.cmd(&["--tool", "sh"]).output().unwrap();
    assert_eq!(String::from_utf8(plain.stdout).unwrap().trim(), port);
}

/// A SIGKILL of the runner: the registry reclaims the port (the owner is
/// gone), and on Linux the command ends with it.
#[cfg(unix)]
#[test]
fn the_port_is_reclaimed_after_a_sigkill_of_the_runner() {
    let s = Scratch::new("kill");
    let mut runner = s.cmd(&["run", "--tool", "k", "--", "sleep", "60"]).spawn().unwrap();
    let listed = s.ps_until(1);
    assert_eq!(listed.len(), 1);
    let port = port_of(&listed[0]);
    assert_eq!(listed[0]["pid"].as_u64(), Some(u64::from(runner.id())));
    kill(&runner, "-KILL");
    runner.wait().unwrap();
    assert!(s.ps().is_empty(), "still listed after the runner was killed");
    let again = s.cmd(&["run", "--tool", "k", "--verbose", "--json", "--", "true"]).output().unwrap();
    let said: serde_json::Value = serde_json::from_slice(&again.stderr).unwrap();
    assert_eq!(said["port"].as_u64(), Some(u64::from(port)), "the port should be free for the same tool again");
    #[cfg(target_os = "linux")]
    {
        // The sleep got SIGTERM when its parent died.
        let out = Command::new("pgrep").args(["-f", "^sleep 60$", "-P", "1"]).output();
        if let Ok(out) = out {
            assert!(out.stdout.is_empty(), "orphaned sleep: {}", String::from_utf8_lossy(&out.stdout));
        }
    }
}

/// A command that fails because another program took its port: the runner
/// says which program, and does not retry.
#[cfg(unix)]
#[test]
fn a_port_taken_by_another_program_is_named() {
    if !has_python() {
        eprintln!("skipped: no python3");
        return;
    }
    let s = Scratch::new("taken");
    let pidfile = s.0.join("squatter.pid");
    // The command starts a listener on its port that outlives it (a program
    // that knows nothing of port4me), then fails as a server would.
    let squat = format!(
        "import socket, os, time\ns = socket.socket()\ns.bind(('127.0.0.1', int(os.environ['PORT'])))\ns.listen()\n\
         open({:?}, 'w').write(str(os.getpid()))\ntime.sleep(30)\n",
        pidfile.to_str().unwrap()
    );
    // Its streams go elsewhere, so that the runner's output ends with it.
    let script =
        "python3 -c \"$SQUAT\" </dev/null >/dev/null 2>&1 & while [ ! -s \"$PIDFILE\" ]; do sleep 0.05; done; exit 1";
    let out = s
        .cmd(&["run", "--tool", "t", "--", "sh", "-c", script])
        .env("SQUAT", &squat)
        .env("PIDFILE", &pidfile)
        .output()
        .unwrap();
    let squatter = std::fs::read_to_string(&pidfile).unwrap();
    let _ = Command::new("kill").arg(&squatter).status();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("taken by a program that does not use port4me"), "{err}");
    assert!(err.contains("python3") && err.contains(&squatter), "{err}");
}

/// `{worktree}`: two checkouts of one repository (a main one and a linked
/// worktree, whose `.git` is a file) get two seeds, the same on every run,
/// from any directory inside them.
#[test]
fn worktree_placeholder_names_the_checkout() {
    let s = Scratch::new("worktree");
    let main = s.0.join("app");
    let linked = s.0.join("app-feature-x");
    std::fs::create_dir_all(main.join(".git")).unwrap();
    std::fs::create_dir_all(main.join("src")).unwrap();
    std::fs::create_dir_all(&linked).unwrap();
    std::fs::write(linked.join(".git"), "gitdir: ../app/.git/worktrees/app-feature-x\n").unwrap();
    let seed = |dir: &Path, via_env: bool| {
        let mut c = s.cmd(&["--json"]);
        if via_env {
            c.env("PORT4ME_TOOL", "vite@{worktree}");
        } else {
            c.args(["--tool", "vite@{worktree}"]);
        }
        let out = c.current_dir(dir).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (v["seed"].as_str().unwrap().to_string(), v["port"].as_u64().unwrap())
    };
    let a = seed(&main.join("src"), false);
    let b = seed(&linked, true);
    assert_eq!(a.0, "alice,vite@app");
    assert_eq!(b.0, "alice,vite@app-feature-x");
    assert_ne!(a.1, b.1);
    assert_eq!(seed(&main, true), a);
    assert_eq!(seed(&linked, false), b);
    // --verbose names the seed.
    let out = s.cmd(&["--tool", "vite@{worktree}", "--verbose"]).current_dir(&linked).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"alice,vite@app-feature-x\""));
}
