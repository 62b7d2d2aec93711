//! Everyday use: version, completions, man pages, doctor, -q and -v.

mod common;

use common::{decode, wasipack};
use std::process::Command;

fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = wasipack();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    decode(cmd.output().unwrap())
}

#[test]
fn version_names_the_git_revision() {
    let (code, out, _) = run(&["--version"], &[]);
    assert_eq!(code, 0);
    let rev = out.trim().rsplit('(').next().unwrap().trim_end_matches(')');
    assert!(
        rev == "unknown" || (rev.len() == 12 && rev.bytes().all(|b| b.is_ascii_hexdigit())),
        "{out}"
    );
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, out, err) = run(&["completions", shell], &[]);
        assert_eq!(code, 0, "{shell}: {err}");
        for sub in ["build", "push", "verify", "generate-key-pair"] {
            assert!(out.contains(sub), "{shell} completions lack {sub}");
        }
    }
    // The bash script is valid bash.
    let (_, script, _) = run(&["completions", "bash"], &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wasipack.bash");
    std::fs::write(&path, script).unwrap();
    let status = Command::new("bash").arg("-n").arg(&path).status().unwrap();
    assert!(status.success());
}

#[test]
fn man_pages_are_generated_for_every_command() {
    let (code, out, _) = run(&["man"], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains(".TH wasipack 1") && out.contains("verify"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["man", "--out-dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(code, 0, "{err}");
    for page in [
        "wasipack.1",
        "wasipack-push.1",
        "wasipack-verify.1",
        "wasipack-doctor.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
}

#[test]
fn doctor_reports_toolchains_keys_and_the_clock() {
    common::require!("go");
    let (code, out, err) = run(&["doctor", "--json"], &[]);
    assert_eq!(code, 0, "{err}{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "wasipack.doctor/v1");
    let checks: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    for c in ["go", "go wasip1", "go reactor", "tinygo", "clock"] {
        assert!(checks.contains(&c), "{checks:?}");
    }
}

/// A Go too old for reactors (a stand-in script: no Go needed), a key with the wrong password,
/// a future SOURCE_DATE_EPOCH.
#[test]
fn doctor_says_what_is_wrong_with_an_old_go_a_bad_key_and_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("go");
    std::fs::write(&fake, "#!/bin/sh\necho go1.22.3\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let prefix = dir.path().join("k");
    let (code, _, err) = run(
        &[
            "generate-key-pair",
            "--output-key-prefix",
            prefix.to_str().unwrap(),
        ],
        &[("COSIGN_PASSWORD", "right")],
    );
    assert_eq!(code, 0, "{err}");
    let key = dir.path().join("k.key");
    let (code, out, _) = run(
        &[
            "doctor",
            "--key",
            key.to_str().unwrap(),
            "--reference",
            "127.0.0.1:5000/x/y",
        ],
        &[
            ("GO", fake.to_str().unwrap()),
            ("COSIGN_PASSWORD", "wrong"),
            ("SOURCE_DATE_EPOCH", "99999999999"),
            ("DOCKER_CONFIG", dir.path().to_str().unwrap()),
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL go reactor") && out.contains("Go 1.24 or newer"),
        "{out}"
    );
    assert!(out.contains("ok   go wasip1"), "{out}");
    assert!(out.contains("wrong password"), "{out}");
    assert!(out.contains("is in the future"), "{out}");
    assert!(out.contains("requests will be anonymous"), "{out}");
}

#[test]
fn quiet_and_verbose_control_what_push_says_on_stderr() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let dir = tempfile::tempdir().unwrap();
    let module = t.go_fixture("hello");
    let reference = format!("{}/q/hello:1", registry.host());
    let config = [("DOCKER_CONFIG", dir.path().to_str().unwrap())];
    let (code, out, err) = run(
        &["push", "-q", module.to_str().unwrap(), &reference],
        &config,
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "-q: {err}");
    assert!(out.contains("@sha256:"));
    let (code, _, err) = run(
        &["push", "-v", module.to_str().unwrap(), &reference],
        &config,
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("HEAD blob") && err.contains("-> 200"), "{err}");
    let (code, _, err) = run(&["-q", "-v", "doctor"], &[]);
    assert_eq!(code, 2, "{err}");
}
