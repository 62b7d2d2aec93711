//! Keys and credentials handled as their owners expect: a private key file others can read is
//! warned about (as cosign warns), `doctor` tells an unencrypted key from one the password
//! opens, and `login` keeps docker's configuration as docker does (a symlinked config.json is
//! written through, `~/.docker` is made 0700).
#![cfg(unix)]

mod common;

use common::wasipack;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = wasipack();
    cmd.args(args).current_dir(dir).env("COSIGN_PASSWORD", "pw");
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::decode(cmd.output().expect("wasipack runs"))
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// An encrypted key pair `k` (password `pw`) and a file to sign in a fresh directory.
fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["generate-key-pair", "--output-key-prefix", "k"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    std::fs::write(dir.path().join("blob"), b"hello").unwrap();
    dir
}

/// An unencrypted PKCS#8 P-256 key, as openssl writes one.
fn unencrypted_key(path: &Path) {
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let pem = key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    std::fs::write(path, pem.as_bytes()).unwrap();
}

#[test]
fn a_key_others_can_read_gets_one_warning_line_and_still_signs() {
    let dir = setup();
    let key = dir.path().join("k.key");
    assert_eq!(mode(&key), 0o600, "generate-key-pair writes 0600");
    let (code, out, err) = run(dir.path(), &["sign-blob", "--key", "k.key", "blob"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "no warning for a 0600 key: {err}");
    let signature = out.trim().to_string();
    assert!(!signature.is_empty());

    for m in [0o644, 0o640, 0o604] {
        chmod(&key, m);
        let (code, out, err) = run(dir.path(), &["sign-blob", "--key", "k.key", "blob"], &[]);
        assert_eq!(code, 0, "{err}");
        assert!(!out.trim().is_empty(), "it still signs");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert_eq!(
            err.trim_end(),
            format!(
                "warning: k.key: the private key is readable by others (mode {m:04o}); `chmod 600 k.key`"
            )
        );
    }
    // Unencrypted keys are warned about the same way, through every signing command's path.
    unencrypted_key(&dir.path().join("plain.key"));
    chmod(&dir.path().join("plain.key"), 0o644);
    let (code, _, err) = run(
        dir.path(),
        &["sign-blob", "--key", "plain.key", "blob"],
        &[],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with("warning: plain.key: the private key is readable by others (mode 0644)"),
        "{err}"
    );
}

/// The `key FILE` line of `doctor --key FILE`, and whether it passed.
fn doctor_key_line(dir: &Path, key: &str, env: &[(&str, &str)]) -> (bool, String) {
    let (_, out, err) = run(dir, &["doctor", "--key", key, "--json"], env);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let check = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == format!("key {key}"))
        .unwrap_or_else(|| panic!("no key line: {out}"))
        .clone();
    (
        check["ok"].as_bool().unwrap(),
        check["detail"].as_str().unwrap().to_string(),
    )
}

#[test]
fn doctor_says_an_unencrypted_key_is_not_encrypted() {
    let dir = setup();
    unencrypted_key(&dir.path().join("plain.key"));
    chmod(&dir.path().join("plain.key"), 0o600);
    let (ok, detail) = doctor_key_line(dir.path(), "plain.key", &[]);
    assert!(ok, "{detail}");
    assert!(detail.contains("not encrypted"), "{detail}");
    assert!(!detail.contains("password opens"), "{detail}");

    // The encrypted key, with its password: the password opens it.
    let (ok, detail) = doctor_key_line(dir.path(), "k.key", &[]);
    assert!(ok, "{detail}");
    assert_eq!(detail, "ECDSA P-256 private key; the password opens it");
}

#[test]
fn doctor_fails_a_key_others_can_read_and_says_how_to_fix_it() {
    let dir = setup();
    chmod(&dir.path().join("k.key"), 0o644);
    let (ok, detail) = doctor_key_line(dir.path(), "k.key", &[]);
    assert!(!ok, "{detail}");
    assert!(
        detail.ends_with("readable by others (mode 0644): `chmod 600 k.key`"),
        "{detail}"
    );
    let (code, out, _) = run(dir.path(), &["doctor", "--key", "k.key"], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL key k.key"), "{out}");
}

/// A registry that answers `GET /v2/` with 200 to anyone: enough for `login` to store.
fn ping_only_registry() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{}",
            );
        }
    });
    host
}

fn login(dir: &Path, host: &str, config: &Path) -> (i32, String, String) {
    let mut cmd = wasipack();
    cmd.args(["login", host, "-u", "alice", "--password-stdin"])
        .current_dir(dir)
        .env("DOCKER_CONFIG", config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"s3cret\n").unwrap();
    common::decode(child.wait_with_output().unwrap())
}

#[test]
fn login_creates_the_docker_directory_0700_and_the_config_0600() {
    let host = ping_only_registry();
    let dir = tempfile::tempdir().unwrap();
    let config: PathBuf = dir.path().join("home/.docker");
    let (code, _, err) = login(dir.path(), &host, &config);
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&config), 0o700, "docker makes its directory 0700");
    assert_eq!(mode(&config.join("config.json")), 0o600);
    let text = std::fs::read_to_string(config.join("config.json")).unwrap();
    assert!(text.contains(&host), "{text}");
}

#[test]
fn login_and_logout_write_through_a_symlinked_config() {
    let host = ping_only_registry();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join(".docker");
    std::fs::create_dir(&config).unwrap();
    std::fs::create_dir(dir.path().join("dotfiles")).unwrap();
    let real = dir.path().join("dotfiles/docker-config.json");
    std::fs::write(&real, "{\"auths\": {}, \"kept\": true}\n").unwrap();
    chmod(&real, 0o600);
    let link = config.join("config.json");
    std::os::unix::fs::symlink("../dotfiles/docker-config.json", &link).unwrap();

    let (code, _, err) = login(dir.path(), &host, &config);
    assert_eq!(code, 0, "{err}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "login replaced the symlink"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains(&host) && text.contains("\"kept\""), "{text}");
    assert_eq!(mode(&real), 0o600);

    let (code, _, err) = run(
        dir.path(),
        &["logout", &host],
        &[("DOCKER_CONFIG", config.to_str().unwrap())],
    );
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(!text.contains(&host) && text.contains("\"kept\""), "{text}");
    let left: Vec<_> = std::fs::read_dir(&config)
        .unwrap()
        .chain(std::fs::read_dir(dir.path().join("dotfiles")).unwrap())
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".wasipack-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
