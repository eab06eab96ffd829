//! The holders' integration tests, in one binary (each test binary links
//! the registry's SQLite through the `registry` feature; these used to be
//! three). Child processes are this binary itself, run as
//! `--exact helper_main` (see `common`), so that test lives here, at the
//! root, where that name finds it.

#[cfg(target_os = "linux")]
mod common;

#[cfg(target_os = "linux")]
mod holders;
#[cfg(target_os = "linux")]
mod plan;
#[cfg(feature = "registry")]
mod reserved;

/// Does nothing, unless this process is a helper child (see `common`).
#[cfg(target_os = "linux")]
#[test]
fn helper_main() {
    common::helper_main();
}
