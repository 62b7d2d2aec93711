//! Git metadata for the artifacts: the creation time and the OCI annotations a checkout gives
//! (revision, source, version). Git's failures are not errors: outside a checkout, or where
//! git is missing, the artifacts simply carry no git annotations.

use super::BuildError;
use crate::sbom;
use std::collections::BTreeMap;
use std::path::Path;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Whether git could find a repository for `dir`: `GIT_DIR` is set, or `dir` or one of its
/// parents holds a `.git` (a directory, or a file for worktrees and submodules), which is
/// where git looks.
fn in_git_checkout(dir: &Path) -> bool {
    if std::env::var_os("GIT_DIR").is_some() {
        return true;
    }
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// The creation time (`SOURCE_DATE_EPOCH`, else the last commit's time, else now) and the
/// git annotations: `org.opencontainers.image.revision`, `source` (the origin remote) and
/// `version` (a tag on HEAD). Two git calls at most; none succeed outside a repository.
pub fn created_and_annotations(
    dir: &Path,
) -> Result<(String, BTreeMap<String, String>), BuildError> {
    let mut a = BTreeMap::new();
    let mut commit_time = None;
    // `%D` lists the refs on HEAD, tags as `tag: NAME`. Outside any checkout git is not run.
    let log = in_git_checkout(dir)
        .then(|| git(dir, &["log", "-1", "--format=%H%n%ct%n%D"]))
        .flatten();
    if let Some(log) = log {
        let mut lines = log.lines();
        if let Some(rev) = lines.next() {
            a.insert("org.opencontainers.image.revision".into(), rev.to_string());
        }
        commit_time = lines.next().and_then(|t| t.trim().parse::<i64>().ok());
        if let Some(tag) = lines
            .next()
            .and_then(|refs| refs.split(", ").find_map(|r| r.strip_prefix("tag: ")))
        {
            a.insert("org.opencontainers.image.version".into(), tag.to_string());
        }
        if let Some(url) = git(dir, &["config", "--get", "remote.origin.url"]) {
            a.insert("org.opencontainers.image.source".into(), url);
        }
    }
    let created = match commit_time.and_then(sbom::rfc3339) {
        Some(s) if std::env::var_os("SOURCE_DATE_EPOCH").is_none() => s,
        _ => sbom::created_now_or_epoch().map_err(|e| BuildError::CreationTime(e.to_string()))?,
    };
    Ok((created, a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_runs_only_where_a_checkout_could_be() {
        let root = tempfile::tempdir().unwrap();
        let sub = root.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        if std::env::var_os("GIT_DIR").is_none() && !in_git_checkout(root.path()) {
            assert!(!in_git_checkout(&sub));
        }
        std::fs::create_dir(root.path().join(".git")).unwrap();
        assert!(in_git_checkout(&sub), "a parent's .git");
        assert!(in_git_checkout(root.path()));
    }
}
