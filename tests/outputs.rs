//! Where outputs go (`strip -o`, `pull -o`, `check --sarif`, `sign-blob --bundle` and
//! `--output-signature`, `sbom -o`): a regular file is replaced atomically, a device or a FIFO
//! is written in place (never unlinked and replaced), a symlink is written through (the link
//! stays), and `-` is stdout where the command allows it.

mod common;

use common::{decode, wasipack};
use std::path::{Path, PathBuf};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let env = Env {
            dir: tempfile::tempdir().unwrap(),
        };
        let wasm =
            wat::parse_str(r#"(module (func (export "_start")) (@custom "name" "x"))"#).unwrap();
        std::fs::write(env.path("m.wasm"), wasm).unwrap();
        env
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs wasipack in the directory; (exit code, stdout bytes, stderr).
    fn run(&self, args: &[&str]) -> (i32, Vec<u8>, String) {
        let out = wasipack()
            .args(args)
            .current_dir(self.dir.path())
            .env("COSIGN_PASSWORD", "pw")
            .output()
            .expect("wasipack runs");
        let code = out.status.code().expect("no signal");
        (code, out.stdout, String::from_utf8(out.stderr).unwrap())
    }

    fn ok(&self, args: &[&str]) -> Vec<u8> {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out
    }

    /// A layout holding m.wasm as `v1`, and a key pair `k`.
    fn with_layout_and_key(self) -> Env {
        self.ok(&["push", "m.wasm", "oci-layout:lay:v1"]);
        self.ok(&["generate-key-pair", "--output-key-prefix", "k"]);
        self
    }

    /// What each writer produces into a plain new file: (args with OUT, the bytes).
    fn reference_outputs(&self) -> Vec<(Vec<String>, Vec<u8>)> {
        let mut all = Vec::new();
        for (i, args) in writers().into_iter().enumerate() {
            let out = format!("ref-{i}");
            let args: Vec<String> = args.iter().map(|a| a.replace("OUT", &out)).collect();
            let argv: Vec<&str> = args.iter().map(String::as_str).collect();
            let (code, _, err) = self.run(&argv);
            assert!(code == 0 || code == 1, "{args:?}: {err}");
            all.push((args, std::fs::read(self.path(&out)).unwrap()));
        }
        all
    }

    /// No temporary file was left in the directory.
    fn no_temporaries(&self) {
        let left: Vec<_> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(".wasipack-"))
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
    }
}

/// Every writer that needs no external tool, with `OUT` for its output path. Deterministic
/// outputs only (the signature of an ECDSA key is not), so that bytes can be compared.
fn writers() -> Vec<Vec<&'static str>> {
    vec![
        vec!["strip", "m.wasm", "-o", "OUT"],
        vec!["pull", "oci-layout:lay:v1", "-o", "OUT"],
        vec!["check", "m.wasm", "--sarif", "OUT"],
    ]
}

/// The writers whose bytes vary from run to run (a fresh ECDSA signature each time).
fn signing_writers() -> Vec<Vec<&'static str>> {
    vec![
        vec!["sign-blob", "--key", "k.key", "m.wasm", "--bundle", "OUT"],
        vec![
            "sign-blob",
            "--key",
            "k.key",
            "m.wasm",
            "--output-signature",
            "OUT",
        ],
    ]
}

fn with_out(args: &[&'static str], out: &str) -> Vec<String> {
    args.iter().map(|a| a.replace("OUT", out)).collect()
}

fn run_with(env: &Env, args: &[String]) -> (i32, Vec<u8>, String) {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    env.run(&argv)
}

#[cfg(unix)]
fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().ino()
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
}

/// A regular file is replaced as before: new bytes under a new inode (a rename, so a reader
/// of the old file never sees half a file), mode 0644, nothing left behind.
#[cfg(unix)]
#[test]
fn a_regular_file_is_replaced_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new().with_layout_and_key();
    let reference = env.reference_outputs();
    for (args, want) in &reference {
        let out = env.path("out");
        std::fs::write(&out, b"old contents").unwrap();
        let before = inode(&out);
        let args: Vec<String> = args.iter().map(|a| replace_ref(a, "out")).collect();
        let (code, _, err) = run_with(&env, &args);
        assert!(code == 0 || code == 1, "{args:?}: {err}");
        assert_eq!(&std::fs::read(&out).unwrap(), want, "{args:?}");
        assert_ne!(inode(&out), before, "{args:?}: not replaced by a rename");
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{args:?}");
    }
    for args in signing_writers() {
        let out = env.path("sig");
        std::fs::write(&out, b"old").unwrap();
        let before = inode(&out);
        env.ok(&with_out(&args, "sig")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>());
        assert_ne!(std::fs::read(&out).unwrap(), b"old", "{args:?}");
        assert_ne!(inode(&out), before, "{args:?}");
    }
    env.no_temporaries();
}

/// `ref-N` in a reference run's arguments, renamed.
fn replace_ref(arg: &str, to: &str) -> String {
    if arg.starts_with("ref-") {
        to.to_string()
    } else {
        arg.to_string()
    }
}

/// `/dev/null` stays the system's character device (as root, the old temp-and-rename replaced
/// it with a regular file; as anyone else it failed, the temporary file cannot be made in
/// /dev), and every writer succeeds.
#[cfg(unix)]
#[test]
fn dev_null_stays_a_character_device() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new().with_layout_and_key();
    let mut all = writers();
    all.extend(signing_writers());
    for args in all {
        let args = with_out(&args, "/dev/null");
        let (code, _, err) = run_with(&env, &args);
        assert!(code == 0 || code == 1, "{args:?}: {err}");
        assert!(!err.contains("error:"), "{args:?}: {err}");
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert!(
            meta.file_type().is_char_device(),
            "{args:?} replaced /dev/null"
        );
        assert_eq!(meta.len(), 0);
    }
}

/// A FIFO is opened and written in place: a reader on the other end gets exactly the bytes a
/// plain file gets, and the FIFO is still a FIFO afterwards.
#[cfg(unix)]
#[test]
fn a_fifo_is_written_in_place_not_replaced() {
    use std::os::unix::fs::FileTypeExt;
    let env = Env::new().with_layout_and_key();
    let fifo = env.path("pipe");
    mkfifo(&fifo);
    let mut cases: Vec<(Vec<String>, Option<Vec<u8>>)> = env
        .reference_outputs()
        .into_iter()
        .map(|(args, want)| {
            let args = args.iter().map(|a| replace_ref(a, "pipe")).collect();
            (args, Some(want))
        })
        .collect();
    cases.extend(
        signing_writers()
            .iter()
            .map(|args| (with_out(args, "pipe"), None)),
    );
    for (args, want) in cases {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let (code, _, err) = run_with(&env, &args);
        assert!(code == 0 || code == 1, "{args:?}: {err}");
        // Checked before the reader is joined: a FIFO replaced by a file never gets a writer.
        let meta = std::fs::symlink_metadata(&fifo).unwrap();
        assert!(meta.file_type().is_fifo(), "{args:?} replaced the FIFO");
        let got = reader.join().unwrap();
        match want {
            Some(want) => assert_eq!(got, want, "{args:?}"),
            None => assert!(!got.is_empty(), "{args:?}: nothing came through the FIFO"),
        }
    }
    env.no_temporaries();
}

/// A symlink is written through: the link survives and its target holds the new bytes; a
/// dangling link gets its target created.
#[cfg(unix)]
#[test]
fn a_symlink_is_written_through_and_kept() {
    let env = Env::new().with_layout_and_key();
    let reference = env.reference_outputs();
    std::fs::create_dir(env.path("real")).unwrap();
    for (i, (args, want)) in reference.iter().enumerate() {
        let target = env.path(&format!("real/out-{i}"));
        let link = env.path(&format!("link-{i}"));
        if i % 2 == 0 {
            std::fs::write(&target, b"old contents").unwrap();
        }
        std::os::unix::fs::symlink(format!("real/out-{i}"), &link).unwrap();
        let args: Vec<String> = args
            .iter()
            .map(|a| replace_ref(a, &format!("link-{i}")))
            .collect();
        let (code, _, err) = run_with(&env, &args);
        assert!(code == 0 || code == 1, "{args:?}: {err}");
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(
            meta.file_type().is_symlink(),
            "{args:?}: the link was replaced"
        );
        assert_eq!(
            std::fs::read_link(&link).unwrap(),
            Path::new(&format!("real/out-{i}"))
        );
        assert_eq!(&std::fs::read(&target).unwrap(), want, "{args:?}");
    }
    env.no_temporaries();
    assert!(std::fs::read_dir(env.path("real")).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".wasipack-")));
}

/// `-o -` is stdout for `strip` and `pull` (the summary moves to stderr) and for `sbom`
/// (checked where Go is, below); the bytes are the module's, and no file named `-` appears.
#[test]
fn dash_is_stdout_for_strip_and_pull() {
    let env = Env::new().with_layout_and_key();
    let stripped = {
        env.ok(&["strip", "m.wasm", "-o", "s.wasm"]);
        std::fs::read(env.path("s.wasm")).unwrap()
    };
    let (code, out, err) = env.run(&["strip", "m.wasm", "-o", "-"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, stripped);
    assert!(
        err.contains("custom:name"),
        "the summary goes to stderr: {err}"
    );

    let (code, out, err) = env.run(&["pull", "oci-layout:lay:v1", "-o", "-", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, std::fs::read(env.path("m.wasm")).unwrap());
    let report: serde_json::Value = serde_json::from_str(&err).expect("the JSON report");
    assert_eq!(report["schema"], "wasipack.pull/v1");
    assert!(!env.path("-").exists());
}

/// `-o /dev/stdout` (a symlink to the process's stdout, here a pipe) writes to stdout and
/// leaves the link alone.
#[cfg(target_os = "linux")]
#[test]
fn dev_stdout_is_written_through() {
    let env = Env::new().with_layout_and_key();
    let (code, out, err) = env.run(&["pull", "oci-layout:lay:v1", "-o", "/dev/stdout"]);
    assert_eq!(code, 0, "{err}");
    let module = std::fs::read(env.path("m.wasm")).unwrap();
    assert!(
        out.starts_with(&module),
        "the module first, then the report"
    );
    let meta = std::fs::symlink_metadata("/dev/stdout").unwrap();
    assert!(meta.file_type().is_symlink(), "/dev/stdout was replaced");
}

/// A directory is refused with one line and exit 2, and left as it was.
#[test]
fn a_directory_is_refused_and_left_alone() {
    let env = Env::new().with_layout_and_key();
    std::fs::create_dir(env.path("d")).unwrap();
    std::fs::write(env.path("d/keep"), b"x").unwrap();
    for args in writers() {
        let args = with_out(&args, "d");
        let (code, _, err) = run_with(&env, &args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.starts_with("error: d: cannot write"), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert_eq!(std::fs::read(env.path("d/keep")).unwrap(), b"x");
    }
    env.no_temporaries();
}

/// `sbom -o` through the same helper: `/dev/null` stays a device, `-` is stdout.
#[cfg(unix)]
#[test]
fn sbom_output_to_dev_null_and_dash() {
    use std::os::unix::fs::FileTypeExt;
    let t = common::require!("go");
    let module = t.go_fixture("hello");
    let module = module.to_str().unwrap();
    let (code, out, err) = decode(
        wasipack()
            .args(["sbom", module, "-o", "/dev/null"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.is_empty());
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device());
    let (code, out, err) = decode(
        wasipack()
            .args(["sbom", module, "-o", "-"])
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("the SBOM on stdout");
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
}
