//! Shared test harness: the built binary, the repository, pinned tools and Go fixtures.
#![allow(dead_code)]

pub mod proxy;
pub mod servers;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

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

/// A pinned tool from `.tools/bin` (installed by scripts/install-tools.sh). Tests that need
/// one fail, not skip, when it is missing: CI installs it.
pub fn tool(name: &str) -> PathBuf {
    let path = repo().join(".tools/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: run `bash scripts/install-tools.sh` (scripts/test.sh does)",
        path.display()
    );
    path
}

/// Builds the Go fixtures once per test binary (the script skips what is up to date, and
/// `flock` keeps concurrent test binaries from building at the same time).
pub fn go_fixture(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out_dir = repo().join("testdata/go/out");
        std::fs::create_dir_all(&out_dir).unwrap();
        let status = Command::new("flock")
            .arg(out_dir.join(".lock"))
            .arg("bash")
            .arg(repo().join("testdata/gen-go-fixtures.sh"))
            .status()
            .expect("flock and bash run");
        assert!(status.success(), "testdata/gen-go-fixtures.sh failed");
    });
    let path = repo().join("testdata/go/out").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} was not built", path.display());
    path
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

/// The Python of `.tools/venv`, which has the official SBOM validators.
pub fn venv_python() -> PathBuf {
    let python = repo().join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `bash scripts/install-tools.sh`",
        python.display()
    );
    python
}

/// Runs a tool and returns (exit code, stdout, stderr).
pub fn run_tool(program: &Path, args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    decode(out)
}
