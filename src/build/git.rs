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

/// Annotations the checkout's state gives beside OCI's: a tree with changes not committed
/// carries no `org.opencontainers.image.revision` (its bytes did not come from that commit);
/// these say which commit it started from instead.
pub const DIRTY: &str = crate::oci::artifact::DIRTY_ANNOTATION;
pub const BASE_REVISION: &str = crate::oci::artifact::BASE_REVISION_ANNOTATION;
/// The project directory within the repository (`.` at its root, `examples/hello`).
pub const PATH: &str = crate::oci::artifact::PATH_ANNOTATION;
pub const REVISION: &str = "org.opencontainers.image.revision";
pub const SOURCE: &str = "org.opencontainers.image.source";
pub const VERSION: &str = "org.opencontainers.image.version";

/// The creation time (`SOURCE_DATE_EPOCH`, else the last commit's time, else now) and the
/// git annotations: `org.opencontainers.image.revision`, `source` (the origin remote, without
/// credentials), `version` (a tag on HEAD) and the project's path in the repository; a tree
/// with changes not committed (outside `output`) is marked dirty and names no revision. Four
/// git calls at most; none run outside a repository.
pub fn created_and_annotations(
    dir: &Path,
) -> Result<(String, BTreeMap<String, String>), BuildError> {
    created_and_annotations_for(dir, None, None)
}

/// [`created_and_annotations`], where changes under `output` (the build's own outputs) do not
/// make the tree dirty, and `epoch` (a rebuild's recorded `SOURCE_DATE_EPOCH`) stands for the
/// variable when given.
pub fn created_and_annotations_for(
    dir: &Path,
    output: Option<&Path>,
    epoch: Option<&str>,
) -> Result<(String, BTreeMap<String, String>), BuildError> {
    let mut a = BTreeMap::new();
    let mut commit_time = None;
    // `%D` lists the refs on HEAD, tags as `tag: NAME`. Outside any checkout git is not run.
    let log = in_git_checkout(dir)
        .then(|| git(dir, &["log", "-1", "--format=%H%n%ct%n%D"]))
        .flatten();
    if let Some(log) = log {
        let mut lines = log.lines();
        let rev = lines.next().unwrap_or_default().to_string();
        commit_time = lines.next().and_then(|t| t.trim().parse::<i64>().ok());
        if let Some(tag) = lines
            .next()
            .and_then(|refs| refs.split(", ").find_map(|r| r.strip_prefix("tag: ")))
        {
            a.insert(VERSION.into(), tag.to_string());
        }
        if let Some(url) = git(dir, &["config", "--get", "remote.origin.url"]) {
            a.insert(SOURCE.into(), without_credentials(&url));
        }
        let prefix = git(dir, &["rev-parse", "--show-prefix"]).unwrap_or_default();
        let prefix = prefix.trim_end_matches('/');
        a.insert(
            PATH.into(),
            if prefix.is_empty() { "." } else { prefix }.to_string(),
        );
        if is_dirty(dir, output) {
            a.insert(DIRTY.into(), "true".into());
            a.insert(BASE_REVISION.into(), rev);
        } else if !rev.is_empty() {
            a.insert(REVISION.into(), rev);
        }
    }
    let epoch = epoch
        .map(str::to_string)
        .or_else(|| std::env::var("SOURCE_DATE_EPOCH").ok());
    let created = match commit_time.and_then(sbom::rfc3339) {
        Some(s) if epoch.is_none() => s,
        _ => sbom::created_at(epoch).map_err(|e| BuildError::CreationTime(e.to_string()))?,
    };
    Ok((created, a))
}

/// Whether the checkout has changes not committed, untracked files included (ignored ones
/// not), anywhere in the repository but under `output`. Where git cannot say, dirty.
fn is_dirty(dir: &Path, output: Option<&Path>) -> bool {
    let mut args = vec![
        "status".to_string(),
        "--porcelain".into(),
        "--".into(),
        ":/".into(),
    ];
    let here = dir.canonicalize().ok();
    if let (Some(here), Some(out)) = (&here, output.and_then(|o| o.canonicalize().ok())) {
        if let Ok(rel) = out.strip_prefix(here) {
            if !rel.as_os_str().is_empty() {
                args.push(format!(":(exclude,literal){}", rel.display()));
            }
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = std::process::Command::new("git")
        .args(&args)
        .current_dir(dir)
        .output();
    match out {
        Ok(out) if out.status.success() => !out.stdout.is_empty(),
        _ => true,
    }
}

/// A remote URL as provenance may record it: `https://user:token@host/x` loses its userinfo.
/// scp-like addresses (`git@host:org/repo`) and paths are kept as they are.
pub fn without_credentials(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.has_host() && (!u.username().is_empty() || u.password().is_some()) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.to_string()
        }
        _ => url.to_string(),
    }
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

    #[test]
    fn credentials_in_a_remote_url_are_never_recorded() {
        assert_eq!(
            without_credentials("https://user:token@example.test/org/repo.git"),
            "https://example.test/org/repo.git"
        );
        assert_eq!(
            without_credentials("https://ghp_secret@example.test/org/repo"),
            "https://example.test/org/repo"
        );
        for kept in [
            "https://example.test/org/repo.git",
            "git@example.test:org/repo.git",
            "/srv/git/repo.git",
            "file:///srv/git/repo.git",
        ] {
            assert_eq!(without_credentials(kept), kept);
        }
    }
}
