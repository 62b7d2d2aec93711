//! How errors reach the user: one `error:` line on stderr and exit 2 (docs/exit-codes.md);
//! with `-v`, the causes behind that line. Needs no external tool. The mapping of every kind
//! of error to its exit code and its row in docs/exit-codes.md is a unit test in
//! src/error.rs.

use std::path::Path;
use std::process::Command;

/// Runs wasipack with `args` in `dir`; returns (exit code, stdout, stderr).
fn run_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wasipack"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("wasipack runs");
    (
        out.status.code().expect("no signal"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

#[test]
fn an_error_is_one_line_and_verbose_adds_its_causes() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_in(dir.path(), &["check", "nosuch.wasm"]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: nosuch.wasm: cannot read: No such file or directory\n"
    );

    let (code, stdout, stderr) = run_in(dir.path(), &["-v", "check", "nosuch.wasm"]);
    assert_eq!(code, 2);
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        "error: nosuch.wasm: cannot read: No such file or directory\n  caused by: No such file or directory (os error 2)\n"
    );
}

#[test]
fn verbose_repeats_no_cause_the_line_already_says() {
    let dir = tempfile::tempdir().unwrap();
    // A policy error's cause is the policy file's own error, already in the line.
    std::fs::write(dir.path().join("m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let (code, _, stderr) = run_in(dir.path(), &["-v", "check", "m.wasm", "--policy", "nosuch"]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("error: policy nosuch: no shipped policy of that name"),
        "{stderr}"
    );
    // A reference that does not parse has no cause at all.
    let (code, _, stderr) = run_in(
        dir.path(),
        &["-v", "pull", "ghcr.io/Owner/app:v1", "-o", "x.wasm"],
    );
    assert_eq!(code, 2);
    assert_eq!(
        stderr,
        "error: reference `ghcr.io/Owner/app:v1`: repository component `Owner` must be lowercase letters and digits, separated by `.`, `_` or `-`\n"
    );
}

#[test]
fn usage_input_and_reference_errors_keep_their_one_line_and_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.json"), b"{not json").unwrap();
    // A key pair, so that each command gets past its key to the value it refuses.
    let out = Command::new(env!("CARGO_BIN_EXE_wasipack"))
        .args(["generate-key-pair", "--output-key-prefix", "k"])
        .current_dir(dir.path())
        .env("COSIGN_PASSWORD", "pw")
        .output()
        .expect("wasipack runs");
    assert!(out.status.success(), "{out:?}");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    std::fs::write(
        dir.path().join("out/oci-layout"),
        br#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    for (args, line) in [
        (
            &["attest", "--key", "k.key", "--predicate", "p.json", "--type", "nope", "oci-layout:out:v1"][..],
            "error: --type `nope`: use spdxjson, cyclonedx, slsaprovenance1, or a predicate type URI",
        ),
        (
            &["verify", "--key", "k.pub", "--require-attestation", "nope", "oci-layout:out:v1"][..],
            "error: --require-attestation `nope`: use spdxjson, cyclonedx, slsaprovenance1, or a predicate type URI",
        ),
        (
            &["attest", "--key", "k.key", "--predicate", "p.json", "oci-layout:out@sha256:12"][..],
            "error: digest `sha256:12`: expected sha256: and 64 lowercase hex digits",
        ),
        (
            &["attest", "--key", "k.key", "--predicate", "p.json", "--type", "spdxjson", "oci-layout:out:v1"][..],
            "error: p.json: not JSON: key must be a string at line 1 column 2",
        ),
    ] {
        let (code, stdout, stderr) = run_in(dir.path(), args);
        assert_eq!((code, stdout.as_str()), (2, ""), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end(), line, "{args:?}");
    }
}

#[test]
fn a_chunk_size_under_64_kib_is_refused_before_anything_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    // Port 1 on loopback: a request would fail with a connection error, not this one.
    for size in ["0", "1", "65535"] {
        let (code, stdout, stderr) = run_in(
            dir.path(),
            &["push", "m.wasm", "127.0.0.1:1/x/y:v1", "--chunk-size", size],
        );
        assert_eq!(code, 2, "{size}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(
            stderr,
            format!("error: --chunk-size {size}: chunks must be at least 65536 bytes (64 KiB)\n")
        );
    }
}
