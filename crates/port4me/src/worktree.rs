//! The `{worktree}` placeholder in a tool name: `vite@{worktree}` becomes
//! `vite@feature-x` in the git worktree `.../feature-x`, so that two
//! checkouts of one project get two sequences, each stable across restarts.
//!
//! The name comes from the files alone, with no `git` binary: the basename
//! of the nearest directory, from the current one upwards, that has a
//! `.git` entry (a folder in the main checkout, a file in a linked worktree
//! or a submodule), else the basename of the current directory. The seed
//! that results is an ordinary tool string, so any other implementation
//! reproduces the port when given that string (see `conformance/SPEC.md`).

use std::path::{Path, PathBuf};

use crate::Error;

/// The placeholder, replaced wherever it occurs in the tool name.
pub const PLACEHOLDER: &str = "{worktree}";

/// The top directory of the git worktree that contains `dir` (the nearest
/// one with a `.git` file or folder), else `dir` itself.
pub fn worktree_dir(dir: &Path) -> &Path {
    dir.ancestors().find(|d| d.join(".git").symlink_metadata().is_ok()).unwrap_or(dir)
}

/// The name `{worktree}` stands for in `dir`: the basename of
/// [`worktree_dir`]. `None` when that directory has no name (the root) or
/// its name is not UTF-8.
pub fn worktree_name(dir: &Path) -> Option<&str> {
    worktree_dir(dir).file_name().and_then(|n| n.to_str()).filter(|n| !n.is_empty())
}

/// `tool` with every `{worktree}` replaced by the name for the current
/// directory; `tool` itself when it has none. `source_name` says where the
/// tool came from, for the error.
pub fn expand(tool: String, source_name: &str) -> Result<String, Error> {
    if !tool.contains(PLACEHOLDER) {
        return Ok(tool);
    }
    let fail = |reason: String| Error::Worktree { tool: tool.clone(), source_name: source_name.to_string(), reason };
    let cwd: PathBuf =
        std::env::current_dir().map_err(|e| fail(format!("the current directory cannot be read ({e})")))?;
    let name = worktree_name(&cwd).ok_or_else(|| {
        fail(format!(
            "the directory {} has no name that can stand for it (the root, or not UTF-8)",
            worktree_dir(&cwd).display()
        ))
    })?;
    Ok(tool.replace(PLACEHOLDER, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_nearest_git_entry() {
        let tmp = std::env::temp_dir().join(format!("port4me-worktree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let main = tmp.join("app");
        let linked = tmp.join("app-feature-x");
        let plain = tmp.join("plain").join("inner");
        std::fs::create_dir_all(main.join(".git")).unwrap();
        std::fs::create_dir_all(main.join("src/deep")).unwrap();
        std::fs::create_dir_all(linked.join("web")).unwrap();
        std::fs::write(linked.join(".git"), "gitdir: ../app/.git/worktrees/app-feature-x\n").unwrap();
        std::fs::create_dir_all(&plain).unwrap();
        assert_eq!(worktree_name(&main.join("src/deep")), Some("app"));
        assert_eq!(worktree_name(&main), Some("app"));
        assert_eq!(worktree_name(&linked.join("web")), Some("app-feature-x"));
        // No .git above (unless the temporary directory itself is in a
        // checkout): the directory's own name.
        if worktree_dir(&tmp) == tmp.as_path() {
            assert_eq!(worktree_name(&plain), Some("inner"));
        }
        assert_eq!(worktree_name(Path::new("/")), None);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn tools_without_the_placeholder_are_left_alone() {
        assert_eq!(expand("vite@{work}".into(), "--tool").unwrap(), "vite@{work}");
        let here = std::env::current_dir().unwrap();
        let name = worktree_name(&here).unwrap();
        assert_eq!(expand("{worktree}:{worktree}".into(), "--tool").unwrap(), format!("{name}:{name}"));
    }
}
