//! Inputs read whole are bounded (issue 13, item 8): a device or pipe that never ends
//! (`/dev/zero`) is read up to a limit and refused beyond it, a regular file larger than the
//! limit of its kind is refused before it is read; one `error: PATH: cannot read: ...` line,
//! exit 2, nothing written. Every command that reads a whole file goes through `fsio`'s one
//! bounded reader; a test per command. Costs about 2 s (the module inputs stream 128 MiB of
//! zeros before they are refused).
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;

const PASSWORD: &str = "unbounded";

fn keys(dir: &Path) -> PathBuf {
    let out = common::wasipack()
        .args(["generate-key-pair", "--output-key-prefix"])
        .arg(dir.join("cosign"))
        .env("COSIGN_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (code, _, err) = common::decode(out);
    assert_eq!(code, 0, "generate-key-pair: {err}");
    dir.join("cosign.key")
}

/// Runs wasipack in `dir` with the key's password set; asserts the one-line refusal that
/// names `file` and says why.
fn assert_refused(dir: &Path, args: &[&str], file: &str, why: &str) {
    let out = common::wasipack()
        .args(args)
        .current_dir(dir)
        .env("COSIGN_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::decode(out);
    let context = args.join(" ");
    common::assert_clean_error(code, &stdout, &stderr, &context);
    assert!(
        stderr.contains(&format!("{file}: cannot read")) && stderr.contains(why),
        "{context}: expected `{file}: cannot read ... {why}`, got {stderr}"
    );
    // Nothing was written beside the inputs.
    let names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".wasipack-") || n == "out.wasm" || n == "sig")
        .collect();
    assert!(names.is_empty(), "{context}: left {names:?}");
}

const ENDLESS: &str = "not a regular file, and it sends more than";

#[test]
fn module_inputs_from_dev_zero_are_refused_at_128_mib_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = keys(d);
    let key = key.to_str().unwrap();
    for args in [
        &["inspect", "/dev/zero"][..],
        &["check", "/dev/zero"],
        &["strip", "/dev/zero", "-o", "out.wasm"],
        &["sbom", "/dev/zero"],
        &[
            "sign-blob",
            "/dev/zero",
            "--key",
            key,
            "--output-signature",
            "sig",
        ],
    ] {
        assert_refused(d, args, "/dev/zero", &format!("{ENDLESS} 128 MiB"));
    }
}

#[test]
fn small_inputs_from_dev_zero_are_refused_at_their_limit_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let key = keys(d);
    let key = key.to_str().unwrap();
    std::fs::write(d.join("blob"), b"some bytes").unwrap();
    std::fs::write(d.join("p.toml"), "extends = \"/dev/zero\"\n").unwrap();
    let small = format!("{ENDLESS} 16 MiB");
    let document = format!("{ENDLESS} 128 MiB");
    // An attestation predicate (before any registry is contacted: the reference is never
    // reached).
    assert_refused(
        d,
        &[
            "attest",
            "127.0.0.1:9/r:t",
            "--predicate",
            "/dev/zero",
            "--key",
            key,
        ],
        "/dev/zero",
        &document,
    );
    // A key, to sign with or to verify against; a blob signature.
    assert_refused(
        d,
        &["sign-blob", "blob", "--key", "/dev/zero"],
        "/dev/zero",
        &small,
    );
    assert_refused(
        d,
        &[
            "verify",
            "blob",
            "--key",
            "/dev/zero",
            "--signature",
            "/dev/zero",
        ],
        "/dev/zero",
        &small,
    );
    // A policy that extends a device: the policy error names both.
    let out = common::wasipack()
        .args(["check", "--policy", "p.toml", "blob"])
        .current_dir(d)
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::decode(out);
    common::assert_clean_error(code, &stdout, &stderr, "extends /dev/zero");
    assert!(
        stderr.contains("p.toml") && stderr.contains("/dev/zero") && stderr.contains(&small),
        "{stderr}"
    );
}

#[test]
fn a_wasipack_toml_that_is_a_device_is_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink("/dev/zero", d.join("wasipack.toml")).unwrap();
    let out = common::wasipack()
        .args(["build"])
        .current_dir(d)
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::decode(out);
    common::assert_clean_error(
        code,
        &stdout,
        &stderr,
        "build with wasipack.toml -> /dev/zero",
    );
    assert!(
        stderr.contains("wasipack.toml") && stderr.contains(&format!("{ENDLESS} 16 MiB")),
        "{stderr}"
    );
    assert!(!d.join("dist").exists());
}

#[test]
fn a_regular_key_file_over_the_limit_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Sparse: 17 MiB that cost no disk.
    let big = std::fs::File::create(d.join("big.key")).unwrap();
    big.set_len(17 << 20).unwrap();
    std::fs::write(d.join("blob"), b"some bytes").unwrap();
    assert_refused(
        d,
        &["sign-blob", "blob", "--key", "big.key"],
        "big.key",
        "17825792 bytes, more than the 16 MiB read from a file of its kind",
    );
}

#[test]
fn a_password_on_stdin_that_never_ends_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::wasipack()
        .args(["login", "127.0.0.1:9", "-u", "alice", "--password-stdin"])
        .current_dir(dir.path())
        .env("DOCKER_CONFIG", dir.path())
        .stdin(std::fs::File::open("/dev/zero").unwrap())
        .output()
        .unwrap();
    let (code, stdout, stderr) = common::decode(out);
    common::assert_clean_error(code, &stdout, &stderr, "login --password-stdin < /dev/zero");
    assert!(
        stderr.contains("--password-stdin: stdin sends more than"),
        "{stderr}"
    );
    assert!(!dir.path().join("config.json").exists());
}

#[test]
fn a_module_from_a_pipe_is_still_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("in.wasm");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            // The smallest module: magic and version.
            std::fs::write(fifo, b"\0asm\x01\0\0\0").unwrap();
        })
    };
    let (code, stdout, stderr) = common::run_in(dir.path(), &["inspect", "--json", "in.wasm"]);
    writer.join().unwrap();
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"size\": 8"), "{stdout}");
}

/// A mapped input truncated by another process while it is read (issue 13, item 9) once
/// killed wasipack with SIGBUS and no message: now one line, exit 2. The input is a sparse
/// 512 MiB module (one custom section; it costs no disk) so that hashing it takes long enough
/// to truncate it midway; it is truncated as soon as it is mapped.
#[cfg(target_os = "linux")]
#[test]
fn a_module_truncated_while_it_is_read_is_one_line_not_a_crash() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.wasm");
    let size: u64 = 512 << 20;
    let mut file = std::fs::File::create(&path).unwrap();
    // Header, then a custom section named "x" that fills the rest of the file.
    let payload = size - 8 - 1 - 5;
    let mut leb = Vec::new();
    let mut n = payload;
    for _ in 0..5 {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        leb.push(byte | 0x80);
    }
    *leb.last_mut().unwrap() &= 0x7f;
    file.write_all(b"\0asm\x01\0\0\0\0").unwrap();
    file.write_all(&leb).unwrap();
    file.write_all(b"\x01x").unwrap();
    file.set_len(size).unwrap();
    drop(file);
    let mut child = common::wasipack()
        .args(["inspect", "big.wasm"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let maps = format!("/proc/{}/maps", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if std::fs::read_to_string(&maps).is_ok_and(|m| m.contains("big.wasm")) {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "ended before the map");
        assert!(std::time::Instant::now() < deadline, "never mapped");
        std::thread::yield_now();
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(4096)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {:?} {stderr}", out.status));
    if code == 0 {
        // The read finished before the truncation took effect: nothing to see this time.
        eprintln!("inspect finished before the file was truncated");
        return;
    }
    assert_eq!(code, 2, "{stderr}");
    assert_eq!(
        stderr,
        "error: an input file changed while it was read (another process truncated it)\n"
    );
}
