//! Read-only handles: they never write, not even the `-wal` and `-shm`
//! files next to the database, and they still see what a live writer has
//! committed. (Files of other users, read-only mounts and full disks are
//! tested end to end in the CLI's `shared_hosts` tests, which can switch
//! users and make mounts.)

use crate::common::*;
use port4me_registry::{Config, Protocol, Registry};

fn read_only() -> Config {
    Config { read_only: true, ..Config::default() }
}

fn side_files(path: &std::path::Path) -> Vec<String> {
    ["-wal", "-shm"]
        .iter()
        .map(|s| format!("{}{s}", path.display()))
        .filter(|p| std::path::Path::new(p).exists())
        .collect()
}

#[test]
fn a_read_only_handle_leaves_no_side_files_behind() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    reg.modules().allocate(2, "web", Protocol::Tcp).unwrap();
    drop(reg);
    assert_eq!(side_files(&path), Vec::<String>::new(), "the last writer to close removes them");

    let ro = Registry::open_with(&path, read_only()).unwrap();
    assert!(ro.is_read_only());
    assert_eq!(ro.read_only_reason(), None, "asked for, not forced");
    assert_eq!(ro.holder_of(20001, Protocol::Tcp).unwrap().unwrap().name, "web");
    assert_eq!(ro.modules().list(None).unwrap().len(), 1);
    drop(ro);
    assert_eq!(side_files(&path), Vec::<String>::new(), "a reader must not create the writer's files");
}

#[test]
fn a_read_only_handle_sees_what_a_live_writer_commits() {
    let (_d, path) = temp_db();
    let writer = Registry::open(&path).unwrap();
    writer.modules().allocate(2, "web", Protocol::Tcp).unwrap();
    // The writer keeps the database open: its log holds the commit.
    let ro = Registry::open_with(&path, read_only()).unwrap();
    assert_eq!(ro.holder_of(20000, Protocol::Tcp).unwrap().unwrap().name, "web");
    assert!(ro.holder_of(20002, Protocol::Tcp).unwrap().is_none());
    writer.modules().allocate(1, "api", Protocol::Tcp).unwrap();
    assert_eq!(ro.holder_of(20002, Protocol::Tcp).unwrap().unwrap().name, "api", "a later commit is seen too");
    drop(ro);
    // And the writer is not disturbed by the reader.
    writer.modules().allocate(1, "db", Protocol::Tcp).unwrap();
    assert_eq!(writer.modules().list(None).unwrap().len(), 3);
    drop(writer);
    assert_eq!(integrity(&path), "ok");
}

#[test]
fn a_writable_handle_says_it_can_write() {
    let (_d, path) = temp_db();
    let reg = Registry::open(&path).unwrap();
    assert!(!reg.is_read_only());
    assert_eq!(reg.read_only_reason(), None);
}

#[test]
fn odd_characters_in_the_path_survive_the_read_only_uri() {
    let dir = tempfile::tempdir().unwrap();
    // ('?' cannot be in a Windows file name.)
    let sub = dir.path().join(if cfg!(windows) { "a b#d%20e&f=g;ü" } else { "a b?c#d%20e&f=g;ü" });
    std::fs::create_dir(&sub).unwrap();
    let path = sub.join("ports.sqlite");
    Registry::open(&path).unwrap().modules().allocate(1, "web", Protocol::Tcp).unwrap();
    let ro = Registry::open_with(&path, read_only()).unwrap();
    assert_eq!(ro.path(), path);
    assert_eq!(ro.holder_of(20000, Protocol::Tcp).unwrap().unwrap().name, "web");
    // With a writer's log and shared memory present too.
    let writer = Registry::open(&path).unwrap();
    writer.modules().allocate(1, "api", Protocol::Tcp).unwrap();
    let ro = Registry::open_with(&path, read_only()).unwrap();
    assert_eq!(ro.holder_of(20001, Protocol::Tcp).unwrap().unwrap().name, "api");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no file made from a misread URI");
}
