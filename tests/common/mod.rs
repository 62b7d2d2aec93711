//! Shared test harness: the built binary, the repository, and (through `require`, see
//! tiers.rs) the external tools and Go fixtures a test needs.
#![allow(dead_code)]

pub mod proxy;
pub mod servers;
pub mod sigstore;
pub mod test_ca;
pub mod tiers;

pub use tiers::Tools;

/// `common::require!("go", "crane")` at the top of a test: the `Tools` handle through which the
/// test reaches what it named, or, when something is missing, one `skipped: ...` line on stderr
/// and a return from the test (a panic under `WASIPACK_REQUIRE_ALL_TIERS=1`). See tiers.rs.
#[allow(unused_macros)] // as below
macro_rules! require {
    ($($need:literal),+ $(,)?) => {
        match $crate::common::tiers::require(&[$($need),+]) {
            Some(tools) => tools,
            None => return,
        }
    };
}
#[allow(unused_imports)] // a test binary that needs no tool does not use it
pub(crate) use require;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn wasipack() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wasipack"));
    cmd.env_remove("GITHUB_ACTIONS").env("NO_COLOR", "1");
    cmd
}

/// Runs wasipack with `args` in `dir`; returns (exit code, stdout, stderr).
pub fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = wasipack()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("wasipack runs");
    decode(out)
}

pub fn run(args: &[&str]) -> (i32, String, String) {
    run_in(&repo(), args)
}

pub fn decode(out: Output) -> (i32, String, String) {
    let code = out.status.code().expect("no signal");
    (
        code,
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// The reference by digest of the one artifact a `push --json` report (`out`) lists, and its
/// `signed` entries, after checking that they are a signature and two attestations, each a
/// bundle referrer with no tag.
pub fn pushed_with_three_bundle_referrers(out: &str) -> (String, Vec<serde_json::Value>) {
    let report: serde_json::Value =
        serde_json::from_str(out).unwrap_or_else(|e| panic!("push --json: {e}: {out}"));
    let signed = report["pushed"][0]["signed"].as_array().unwrap();
    assert_eq!(signed.len(), 3, "a signature and two attestations: {out}");
    assert!(
        signed
            .iter()
            .all(|s| s["referrer"].is_string() && s["tag"].is_null()),
        "bundle referrers only: {out}"
    );
    let reference = report["pushed"][0]["reference"].as_str().unwrap();
    (reference.to_string(), signed.clone())
}

/// Asserts the shape every error must have: exit 2, one `error: ` line on stderr, no panic.
pub fn assert_clean_error(code: i32, stdout: &str, stderr: &str, context: &str) {
    assert_eq!(code, 2, "{context}: exit code (stderr: {stderr})");
    assert!(
        !stderr.contains("panicked"),
        "{context}: panicked: {stderr}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{context}: one line expected, got: {stderr:?}"
    );
    assert!(stderr.starts_with("error: "), "{context}: {stderr:?}");
    assert!(
        stdout.is_empty(),
        "{context}: nothing on stdout, got {stdout:?}"
    );
}

/// Copies a directory tree (a Go module fixture) into `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "dist" {
                copy_tree(&entry.path(), &dest);
            }
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}
