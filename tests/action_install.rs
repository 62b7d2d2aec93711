//! How the Action gets wasipack (scripts/action-install.sh, the `find` and `install` steps of
//! action.yml), run exactly as those steps run it: the `run:` line taken from action.yml, with a
//! runner's environment (RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_OUTPUT,
//! GITHUB_PATH, ...), against a release layout (an archive of this build's wasipack for this
//! machine, decoys for the other platforms) served by a real HTTP server on 127.0.0.1, with the
//! checksums committed in a copy of the action's tree; the whole action run from such a copy;
//! the hand install of the README (SHA256SUMS signed keyless by `wasipack sign-blob` against a
//! local Sigstore instance, checked by cosign and wasipack, then `sha256sum -c`). Also: the
//! workflows pass actionlint, the install script passes shellcheck, and every third-party action
//! is pinned by commit SHA.

mod common;

use common::{copy_tree, repo};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The five release targets, as scripts/action-install.sh maps RUNNER_OS/RUNNER_ARCH to them.
const TARGETS: &[(&str, &str, &str)] = &[
    ("Linux", "X64", "x86_64-unknown-linux-musl.tar.gz"),
    ("Linux", "ARM64", "aarch64-unknown-linux-musl.tar.gz"),
    ("macOS", "X64", "x86_64-apple-darwin.tar.gz"),
    ("macOS", "ARM64", "aarch64-apple-darwin.tar.gz"),
    ("Windows", "X64", "x86_64-pc-windows-msvc.zip"),
];

/// This machine as a runner sees it.
fn this_runner() -> (&'static str, &'static str) {
    let os = match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "macOS",
        other => panic!("tests run on Linux or macOS, not {other}"),
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "X64",
        "aarch64" => "ARM64",
        other => panic!("no release archive for {other}"),
    };
    (os, arch)
}

fn archive_name(os: &str, arch: &str) -> String {
    let (_, _, rest) = TARGETS
        .iter()
        .find(|(o, a, _)| *o == os && *a == arch)
        .unwrap();
    format!("wasipack-v{VERSION}-{rest}")
}

/// A static file server on 127.0.0.1 (HTTP/1.0, GET only), logging each requested path.
struct FileServer {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FileServer {
    fn start(root: &Path) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (log, stop) = (Arc::default(), Arc::new(AtomicBool::new(false)));
        let (root, log2, stop2) = (root.to_path_buf(), Arc::clone(&log), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = stream {
                    serve(stream, &root, &log2);
                }
            }
        });
        FileServer {
            port,
            log,
            stop,
            thread: Some(thread),
        }
    }
    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, root: &Path, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header.trim().is_empty() => break,
            Ok(_) => {}
        }
    }
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    log.lock().unwrap().push(path.clone());
    let file = root.join(path.trim_start_matches('/'));
    let ok = !path.contains("..") && file.is_file();
    let body = if ok {
        std::fs::read(&file).unwrap()
    } else {
        b"not found\n".to_vec()
    };
    let status = if ok { "200 OK" } else { "404 Not Found" };
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&body);
}

/// A runner with the action checked out and a release published: `action/` (the action's tree:
/// action.yml, scripts/, the source the release was built from, release/checksums/), `www/`
/// (the download server's root), `cache/` (RUNNER_TOOL_CACHE), `temp/` (RUNNER_TEMP), `home/`.
struct Runner {
    dir: tempfile::TempDir,
    server: FileServer,
    /// The SHA-256 of this machine's archive, as committed.
    digest: String,
}

impl Runner {
    fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let action = dir.path().join("action");
        for file in ["action.yml", "Cargo.toml", "Cargo.lock", "build.rs"] {
            copy_file(&repo().join(file), &action.join(file));
        }
        for sub in ["src", "policies", "scripts"] {
            copy_tree(&repo().join(sub), &action.join(sub));
        }
        for sub in ["cache", "temp", "home"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let www = dir.path().join("www").join(format!("v{VERSION}"));
        std::fs::create_dir_all(&www).unwrap();
        // This machine's archive holds this build's wasipack; every other platform's holds a
        // file that is no wasipack, so that a wrong choice cannot pass.
        let (os, arch) = this_runner();
        let mut sums = String::new();
        let mut digest = String::new();
        for (o, a, _) in TARGETS {
            let name = archive_name(o, a);
            let top = name
                .trim_end_matches(".tar.gz")
                .trim_end_matches(".zip")
                .to_string();
            let stage = dir.path().join("stage").join(&top);
            std::fs::create_dir_all(&stage).unwrap();
            if (*o, *a) == (os, arch) {
                copy_file(
                    Path::new(env!("CARGO_BIN_EXE_wasipack")),
                    &stage.join("wasipack"),
                );
            } else {
                let exe = if *o == "Windows" { ".exe" } else { "" };
                std::fs::write(stage.join(format!("wasipack{exe}")), format!("{name}\n")).unwrap();
            }
            pack(&dir.path().join("stage"), &top, &www.join(&name));
            let hex = wasipack::digest::sha256_hex(&std::fs::read(www.join(&name)).unwrap());
            if (*o, *a) == (os, arch) {
                digest = hex.clone();
            }
            sums.push_str(&format!("{hex}  {name}\n"));
        }
        std::fs::write(www.join("SHA256SUMS"), &sums).unwrap();
        // As the release workflow's last job commits it.
        let committed = Command::new("bash")
            .arg(action.join("scripts/action-install.sh"))
            .args(["checksums-file", &format!("v{VERSION}")])
            .arg(www.join("SHA256SUMS"))
            .output()
            .unwrap();
        assert!(committed.status.success(), "{committed:?}");
        let committed = String::from_utf8(committed.stdout).unwrap();
        let source = committed.lines().nth(1).unwrap();
        assert!(
            source.starts_with("# source ") && source.len() == "# source ".len() + 64,
            "{committed}"
        );
        assert!(committed.ends_with(&sums), "{committed}");
        std::fs::create_dir_all(action.join("release/checksums")).unwrap();
        std::fs::write(
            action.join(format!("release/checksums/v{VERSION}.sha256")),
            committed,
        )
        .unwrap();
        let server = FileServer::start(&dir.path().join("www"));
        Runner {
            dir,
            server,
            digest,
        }
    }

    fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Runs the `run:` line of action.yml's step for `mode` (`find` or `build`) as the runner
    /// runs it, with fresh GITHUB_OUTPUT and GITHUB_PATH files, `os`/`arch` as RUNNER_OS and
    /// RUNNER_ARCH, and `env` on top.
    fn step(&self, mode: &str, os: &str, arch: &str, env: &[(&str, &str)]) -> Step {
        let run = format!("bash \"$GITHUB_ACTION_PATH/scripts/action-install.sh\" {mode}");
        let action = std::fs::read_to_string(repo().join("action.yml")).unwrap();
        assert!(
            action.contains(&format!("      run: {run}\n")),
            "action.yml has no step that runs `{run}`"
        );
        let files = tempfile::tempdir_in(self.path("temp")).unwrap();
        let (output, github_path) = (files.path().join("output"), files.path().join("path"));
        std::fs::write(&output, "").unwrap();
        std::fs::write(&github_path, "").unwrap();
        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &run])
            .current_dir(self.path("temp"))
            .env_clear()
            .env("PATH", path_without_wasipack())
            .env("HOME", self.path("home"))
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_ACTION_PATH", self.path("action"))
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_ENV", files.path().join("env"))
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TOOL_CACHE", self.path("cache"))
            .env("RUNNER_TEMP", self.path("temp"))
            // The action's inputs, through env: as action.yml passes them.
            .env("WANT_VERSION", "")
            .env("DOWNLOAD_URL", self.server.url());
        for (name, value) in env {
            cmd.env(name, value);
        }
        let started = Instant::now();
        let out = cmd.output().unwrap();
        let seconds = started.elapsed().as_secs_f64();
        Step {
            code: out.status.code().expect("no signal"),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
            outputs: parse_outputs(&std::fs::read_to_string(&output).unwrap()),
            path: std::fs::read_to_string(&github_path)
                .unwrap()
                .lines()
                .map(String::from)
                .collect(),
            seconds,
        }
    }

    fn find(&self) -> Step {
        let (os, arch) = this_runner();
        self.step("find", os, arch, &[])
    }
}

#[derive(Debug)]
struct Step {
    code: i32,
    stdout: String,
    stderr: String,
    outputs: BTreeMap<String, String>,
    /// The lines the step appended to GITHUB_PATH.
    path: Vec<String>,
    seconds: f64,
}

impl Step {
    fn output(&self, name: &str) -> &str {
        self.outputs
            .get(name)
            .unwrap_or_else(|| panic!("no output {name}: {self:#?}"))
    }
    fn annotations(&self, kind: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with(&format!("::{kind} ")))
            .collect()
    }
}

/// `NAME<<DELIMITER` blocks, as a runner reads GITHUB_OUTPUT.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let (name, delimiter) = line
            .split_once("<<")
            .unwrap_or_else(|| panic!("not a NAME<<DELIMITER line: {line:?}"));
        let mut value = Vec::new();
        for l in lines.by_ref() {
            if l == delimiter {
                break;
            }
            value.push(l);
        }
        outputs.insert(name.to_string(), value.join("\n"));
    }
    outputs
}

/// PATH less any directory that holds a `wasipack`, so that only the install can provide one.
fn path_without_wasipack() -> String {
    path_without(&["wasipack"])
}

/// PATH less the directories that hold any of `programs`.
fn path_without(programs: &[&str]) -> String {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .filter(|d| programs.iter().all(|p| !d.join(p).exists()))
        .collect();
    std::env::join_paths(dirs).unwrap().into_string().unwrap()
}

fn copy_file(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
}

/// `stage/top` packed into `archive` (.tar.gz with the system's tar and gzip, or .zip with
/// python3's zipfile).
fn pack(stage: &Path, top: &str, archive: &Path) {
    let status = if archive.extension().is_some_and(|e| e == "zip") {
        Command::new("python3")
            .args(["-m", "zipfile", "-c"])
            .arg(archive)
            .arg(top)
            .current_dir(stage)
            .status()
    } else {
        // gzip -1: the debug binary is large, and packing is the test's set-up, not the install.
        Command::new("bash")
            .args(["-c", "tar -cf - \"$1\" | gzip -1 >\"$2\"", "pack"])
            .arg(top)
            .arg(archive)
            .current_dir(stage)
            .status()
    }
    .unwrap();
    assert!(status.success(), "packing {}", archive.display());
}

/// Runs `bin --version` the way a later step finds it: through the PATH lines the step added.
fn version_through_path(step: &Step) -> String {
    let mut path = step.path.join(":");
    path.push(':');
    path.push_str(&path_without_wasipack());
    let out = Command::new("wasipack")
        .arg("--version")
        .env("PATH", path)
        .output()
        .expect("wasipack is on the PATH the step set");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_install_step_downloads_this_runners_archive_checks_it_and_puts_wasipack_on_path() {
    let runner = Runner::new();
    let (os, arch) = this_runner();
    let step = runner.find();
    assert_eq!(step.code, 0, "{step:#?}");
    eprintln!(
        "find (download from 127.0.0.1, check, unpack): {:.2} s",
        step.seconds
    );

    // The right archive, and nothing else, was downloaded.
    let archive = archive_name(os, arch);
    assert_eq!(
        runner.server.requests(),
        vec![format!("/v{VERSION}/{archive}")]
    );
    assert!(
        step.stdout
            .contains(&format!("{archive} matches sha256:{}", runner.digest)),
        "{step:#?}"
    );
    // Unpacked into the tool cache, on PATH for the later steps, and the `bin` output.
    let dir = runner
        .path("cache")
        .join("wasipack")
        .join(VERSION)
        .join(arch.to_lowercase());
    assert_eq!(step.path, vec![dir.display().to_string()]);
    assert_eq!(
        step.output("bin"),
        dir.join("wasipack").display().to_string()
    );
    assert_eq!(step.output("need-install"), "false");
    let version = version_through_path(&step);
    assert!(
        version.starts_with(&format!("wasipack {VERSION}")),
        "{version}"
    );
    assert!(step.annotations("error").is_empty(), "{step:#?}");

    // The `install` step takes what `find` found and builds nothing.
    let install = runner.step(
        "build",
        os,
        arch,
        &[("BIN", step.output("bin")), ("ROOT", "")],
    );
    assert_eq!(install.code, 0, "{install:#?}");
    assert_eq!(install.output("bin"), step.output("bin"));
    assert!(
        install.path.is_empty(),
        "find already added it: {install:#?}"
    );
}

#[test]
fn with_the_archive_in_the_tool_cache_the_install_takes_under_5_seconds_and_downloads_nothing() {
    let runner = Runner::new();
    let first = runner.find();
    assert_eq!(first.code, 0, "{first:#?}");
    let downloads = runner.server.requests().len();
    let second = runner.find();
    assert_eq!(second.code, 0, "{second:#?}");
    eprintln!(
        "find: {:.2} s downloading from 127.0.0.1, {:.2} s from the tool cache",
        first.seconds, second.seconds
    );
    assert_eq!(runner.server.requests().len(), downloads, "{second:#?}");
    assert!(second.stdout.contains("from the tool cache"), "{second:#?}");
    assert_eq!(second.path, first.path);
    assert!(
        second.seconds < 5.0,
        "the cached install took {:.2} s",
        second.seconds
    );
    assert!(version_through_path(&second).starts_with(&format!("wasipack {VERSION}")));

    // A tool cache left by another release's archive (another digest) is not taken.
    let (_, arch) = this_runner();
    let marker = runner
        .path("cache")
        .join("wasipack")
        .join(VERSION)
        .join(format!("{}.complete", arch.to_lowercase()));
    std::fs::write(&marker, format!("{}\n", "0".repeat(64))).unwrap();
    let third = runner.find();
    assert_eq!(third.code, 0, "{third:#?}");
    assert_eq!(runner.server.requests().len(), downloads + 1, "{third:#?}");
}

#[test]
fn one_changed_byte_stops_the_install_with_one_line_naming_the_archive_and_both_digests() {
    let runner = Runner::new();
    let (os, arch) = this_runner();
    let archive = archive_name(os, arch);
    let served = runner
        .path("www")
        .join(format!("v{VERSION}"))
        .join(&archive);
    let mut bytes = std::fs::read(&served).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&served, &bytes).unwrap();
    let got = wasipack::digest::sha256_hex(&bytes);

    let step = runner.find();
    assert_eq!(step.code, 1, "{step:#?}");
    let errors = step.annotations("error");
    assert_eq!(errors.len(), 1, "{step:#?}");
    assert_eq!(step.stderr, "", "the error is the one line on stdout");
    let line = errors[0];
    for part in [
        archive.as_str(),
        got.as_str(),
        runner.digest.as_str(),
        &format!("release/checksums/v{VERSION}.sha256"),
    ] {
        assert!(line.contains(part), "{part} not in {line}");
    }
    // Nothing on PATH, no `bin`, nothing in the tool cache, nothing left in RUNNER_TEMP.
    assert!(step.path.is_empty(), "{step:#?}");
    assert!(!step.outputs.contains_key("bin"), "{step:#?}");
    assert!(!runner.path("cache").join("wasipack").exists());
    let left: Vec<_> = std::fs::read_dir(runner.path("temp"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("wasipack-download"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn without_a_matching_release_the_install_plans_a_cargo_install_and_says_why() {
    let runner = Runner::new();
    let (os, arch) = this_runner();
    let sums = runner
        .path("action")
        .join(format!("release/checksums/v{VERSION}.sha256"));
    let committed = std::fs::read_to_string(&sums).unwrap();

    // An unsupported platform; a branch whose source is not the release's; a version without
    // committed checksums.
    let unsupported = runner.step("find", "Linux", "ARM", &[]);
    let lib = runner.path("action").join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{source}\n// a commit after the release\n")).unwrap();
    let branch = runner.find();
    std::fs::write(&lib, &source).unwrap();
    std::fs::remove_file(&sums).unwrap();
    let unreleased = runner.find();
    std::fs::write(&sums, &committed).unwrap();

    for (step, reason) in [
        (&unsupported, "has no archive for Linux/ARM".to_string()),
        (
            &branch,
            format!("source is not release v{VERSION}'s (a branch or commit ref)"),
        ),
        (
            &unreleased,
            format!("no checksums for a release v{VERSION}"),
        ),
    ] {
        assert_eq!(step.code, 0, "{step:#?}");
        let notices = step.annotations("notice");
        assert_eq!(notices.len(), 1, "{step:#?}");
        assert!(notices[0].contains(&reason), "{reason}: {}", notices[0]);
        assert!(
            notices[0].contains("with cargo install instead"),
            "{}",
            notices[0]
        );
        assert_eq!(step.output("need-install"), "true");
        assert_eq!(step.output("bin"), "");
        let key = step.output("cache-key");
        assert!(key.starts_with(&format!("wasipack-{VERSION}-")), "{key}");
        assert_eq!(
            step.output("install-root"),
            runner
                .path("home/.cache/wasipack-action")
                .join(key)
                .display()
                .to_string()
        );
        assert!(step.path.is_empty(), "{step:#?}");
    }
    assert!(runner.server.requests().is_empty(), "nothing is downloaded");
    // The source is in the cache key: the branch builds its own.
    assert_ne!(branch.output("cache-key"), unreleased.output("cache-key"));

    // The `install` step builds with cargo: without cargo on PATH it says so.
    let root = unreleased.output("install-root");
    let no_cargo = runner.step(
        "build",
        os,
        arch,
        &[
            ("BIN", ""),
            ("ROOT", root),
            ("PATH", &path_without(&["wasipack", "cargo"])),
        ],
    );
    assert_eq!(no_cargo.code, 1, "{no_cargo:#?}");
    assert_eq!(no_cargo.annotations("error").len(), 1, "{no_cargo:#?}");
    assert!(
        no_cargo.stdout.contains("cargo is not on PATH"),
        "{no_cargo:#?}"
    );
    assert!(no_cargo.path.is_empty());
    // Once actions/cache has restored an earlier build into install-root, it takes that one.
    copy_file(
        Path::new(env!("CARGO_BIN_EXE_wasipack")),
        &Path::new(root).join("bin/wasipack"),
    );
    let restored = runner.step("build", os, arch, &[("BIN", ""), ("ROOT", root)]);
    assert_eq!(restored.code, 0, "{restored:#?}");
    assert!(
        restored.stdout.contains("restored from the cache"),
        "{restored:#?}"
    );
    assert_eq!(restored.path, vec![format!("{root}/bin")]);
    assert!(version_through_path(&restored).starts_with(&format!("wasipack {VERSION}")));
}

#[test]
fn wasipack_version_installs_a_committed_release_whatever_the_action_source() {
    let runner = Runner::new();
    let (os, arch) = this_runner();
    let lib = runner.path("action").join("src/lib.rs");
    let source = std::fs::read_to_string(&lib).unwrap();
    std::fs::write(&lib, format!("{source}\n// a commit after the release\n")).unwrap();
    let step = runner.step(
        "find",
        os,
        arch,
        &[("WANT_VERSION", &format!("v{VERSION}"))],
    );
    assert_eq!(step.code, 0, "{step:#?}");
    assert_eq!(step.output("need-install"), "false");
    assert_eq!(step.path.len(), 1, "{step:#?}");
    // A version whose checksums the action does not have, and that it cannot build, fails.
    let step = runner.step("find", os, arch, &[("WANT_VERSION", "9.9.9")]);
    assert_eq!(step.code, 1, "{step:#?}");
    let errors = step.annotations("error");
    assert_eq!(errors.len(), 1, "{step:#?}");
    assert!(
        errors[0].contains("no checksums for a release v9.9.9"),
        "{}",
        errors[0]
    );
    assert!(step.path.is_empty());
}

#[test]
fn every_third_party_action_is_pinned_by_a_full_commit_sha_with_its_version() {
    let mut files = vec![
        repo().join("action.yml"),
        repo().join("examples/hello/.github/workflows/wasipack.yml"),
    ];
    for entry in std::fs::read_dir(repo().join(".github/workflows")).unwrap() {
        files.push(entry.unwrap().path());
    }
    let mut seen = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines() {
            let Some(rest) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            // The action itself (`./`) and this project's own action in its example.
            if rest.starts_with("./") || rest.starts_with("wasipack/wasipack@") {
                continue;
            }
            seen += 1;
            let (action, pin) = rest.split_once('@').unwrap_or((rest, ""));
            let (sha, comment) = pin.split_once(" # ").unwrap_or((pin, ""));
            assert!(
                sha.len() == 40
                    && sha
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                "{}: {action} is not pinned by a full commit SHA: {line}",
                file.display()
            );
            assert!(
                comment.starts_with('v') || comment.starts_with("stable"),
                "{}: {action}@{sha} has no version comment: {line}",
                file.display()
            );
        }
    }
    assert!(seen >= 10, "only {seen} uses: lines found");
}

#[test]
fn every_workflow_passes_actionlint_and_the_install_script_passes_shellcheck() {
    let t = common::require!("actionlint", "shellcheck");
    let mut workflows: Vec<PathBuf> = std::fs::read_dir(repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    workflows.sort();
    let names: Vec<String> = workflows
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"release.yml".to_string()), "{names:?}");
    assert!(names.contains(&"ci.yml".to_string()), "{names:?}");
    workflows.push(repo().join("examples/hello/.github/workflows/wasipack.yml"));
    let lint = |files: &[PathBuf]| {
        let out = t
            .command("actionlint")
            .arg("-shellcheck")
            .arg(t.path("shellcheck"))
            .arg("-no-color")
            .args(files)
            .current_dir(repo())
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = lint(&workflows);
    assert_eq!(code, 0, "actionlint:\n{out}");

    // actionlint does read them: a job that needs a job that does not exist, and a run: script
    // that shellcheck faults, each fail.
    let release = std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (from, to, expect) in [
        ("needs: build\n", "needs: compile\n", "compile"),
        (
            "sha256sum wasipack-* | tee SHA256SUMS",
            "cd $UNQUOTED_DIR && sha256sum wasipack-* | tee SHA256SUMS",
            "SC2086",
        ),
    ] {
        let broken = release.replacen(from, to, 1);
        assert_ne!(broken, release, "release.yml has no {from:?} any more");
        let wf = dir.path().join(".github/workflows");
        std::fs::create_dir_all(&wf).unwrap();
        std::fs::write(wf.join("release.yml"), broken).unwrap();
        let (code, out) = lint(&[wf.join("release.yml")]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains(expect), "{expect}: {out}");
    }

    let (code, out, err) = t.run("shellcheck", &["scripts/action-install.sh"], &repo());
    assert_eq!(code, 0, "shellcheck:\n{out}{err}");
}

/// Runs the whole action from the runner's copy (action.yml, its scripts and source) with
/// tests/tools/run_action.py, on a workspace holding the example in `hello`, downloading from
/// the runner's server; returns the runner's JSON result.
fn run_whole_action(t: &common::Tools, runner: &Runner) -> serde_json::Value {
    let ws = runner.path("ws");
    if !ws.exists() {
        copy_tree(&repo().join("examples/hello"), &ws.join("hello"));
    }
    let out = Command::new(t.venv_python())
        .arg(repo().join("tests/tools/run_action.py"))
        .arg(runner.path("action/action.yml"))
        .arg("--workspace")
        .arg(&ws)
        .arg("--runner-temp")
        .arg(runner.path("temp"))
        .args(["--input", "working-directory=hello"])
        .arg("--input")
        .arg(format!("wasipack-download-url={}", runner.server.url()))
        .env("PATH", path_without_wasipack())
        .env("HOME", runner.path("home"))
        .env("RUNNER_TOOL_CACHE", runner.path("cache"))
        .env("WASIPACK_CACHE", runner.path("home/wasipack-cache"))
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .env("NO_COLOR", "1")
        .env_remove("WASIPACK_BIN")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_PATH")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_ENV")
        .output()
        .expect("python runs tests/tools/run_action.py");
    let stdout = String::from_utf8(out.stdout).unwrap();
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout}{}", String::from_utf8_lossy(&out.stderr)))
}

fn step_of<'a>(result: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    result["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

#[test]
fn the_whole_action_installs_the_release_and_builds_the_example_with_it() {
    let t = common::require!("go", "venv");
    let runner = Runner::new();
    let result = run_whole_action(&t, &runner);
    let dump = serde_json::to_string_pretty(&result).unwrap();
    assert_eq!(result["exit_code"], 0, "{dump}");
    let (os, arch) = this_runner();
    let dir = runner
        .path("cache")
        .join("wasipack")
        .join(VERSION)
        .join(arch.to_lowercase());
    let bin = dir.join("wasipack").display().to_string();
    assert_eq!(
        runner.server.requests(),
        vec![format!("/v{VERSION}/{}", archive_name(os, arch))]
    );
    assert_eq!(step_of(&result, "find")["outputs"]["bin"], bin, "{dump}");
    assert_eq!(step_of(&result, "install")["outputs"]["bin"], bin, "{dump}");
    assert_eq!(
        result["path_additions"],
        serde_json::json!([dir.display().to_string()]),
        "{dump}"
    );
    // Nothing was built: the cache step's condition is false.
    let skipped = result["skipped_uses"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{dump}");
    assert_eq!(skipped[0]["condition_true"], false, "{dump}");
    // The build step ran the installed wasipack.
    assert_eq!(step_of(&result, "build")["outcome"], "success", "{dump}");
    assert_eq!(result["outputs"]["verdict"], "pass", "{dump}");
    eprintln!(
        "the action's find step: {} s (download from 127.0.0.1, check, unpack)",
        step_of(&result, "find")["seconds"]
    );
}

#[test]
fn a_tampered_archive_fails_the_whole_action_at_find_and_nothing_runs_after() {
    let t = common::require!("go", "venv");
    let runner = Runner::new();
    let (os, arch) = this_runner();
    let served = runner
        .path("www")
        .join(format!("v{VERSION}"))
        .join(archive_name(os, arch));
    let mut bytes = std::fs::read(&served).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    std::fs::write(&served, &bytes).unwrap();
    let result = run_whole_action(&t, &runner);
    let dump = serde_json::to_string_pretty(&result).unwrap();
    assert_eq!(result["exit_code"], 1, "{dump}");
    assert_eq!(step_of(&result, "find")["outcome"], "failure", "{dump}");
    for id in ["install", "build"] {
        assert_eq!(step_of(&result, id)["outcome"], "skipped", "{dump}");
    }
    assert_eq!(result["path_additions"], serde_json::json!([]), "{dump}");
    let errors: Vec<_> = result["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["command"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "{dump}");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(message.contains(&runner.digest), "{message}");
    assert!(
        message.contains(&wasipack::digest::sha256_hex(&bytes)),
        "{message}"
    );
}

#[test]
fn the_committed_checksums_file_is_refused_for_a_bad_tag_or_a_sums_file_of_other_lines() {
    let dir = tempfile::tempdir().unwrap();
    let sums = dir.path().join("SHA256SUMS");
    let line = format!(
        "{}  wasipack-v{VERSION}-x86_64-apple-darwin.tar.gz\n",
        "0f".repeat(32)
    );
    let run = |tag: &str, text: &str| {
        std::fs::write(&sums, text).unwrap();
        let out = Command::new("bash")
            .arg(repo().join("scripts/action-install.sh"))
            .args(["checksums-file", tag])
            .arg(&sums)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let (code, good) = run(&format!("v{VERSION}"), &line);
    assert_eq!(code, 0, "{good}");
    assert!(good.ends_with(&line), "{good}");
    for (tag, text, expect) in [
        ("main", line.clone(), "is not a version tag"),
        (
            &format!("v{VERSION}") as &str,
            format!("{line}<!DOCTYPE html>\n"),
            "has a line that is not",
        ),
        (&format!("v{VERSION}"), String::new(), "missing or empty"),
    ] {
        let (code, out) = run(tag, &text);
        assert_eq!(code, 1, "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.starts_with("::error ") && out.contains(expect), "{out}");
    }
}

/// curl's download of `url` into `dir/name`, as a person installing by hand would.
fn download(url: &str, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    let status = Command::new("curl")
        .args(["-fsSL", "-o"])
        .arg(&to)
        .arg(url)
        .status()
        .unwrap();
    assert!(status.success(), "curl {url}");
    to
}

#[test]
fn by_hand_the_signed_sha256sums_is_verified_keyless_then_the_archive_against_it() {
    let t = common::require!("sigstore", "cosign3");
    let stack = t.sigstore_stack();
    let runner = Runner::new();
    let release = runner.path("www").join(format!("v{VERSION}"));
    // The release workflow's signing step: `wasipack sign-blob --keyless --bundle B SHA256SUMS`
    // with the job's identity token (here the local instance's Actions endpoint, and its
    // signing config instead of the public-good instance's).
    let mut sign = common::wasipack();
    for var in ["SIGSTORE_ID_TOKEN", "GITHUB_ACTIONS"] {
        sign.env_remove(var);
    }
    let out = sign
        .args([
            "sign-blob",
            "--keyless",
            "--bundle",
            "SHA256SUMS.sigstore.json",
        ])
        .arg("--signing-config")
        .arg(stack.signing_config())
        .arg("SHA256SUMS")
        .envs(stack.actions_env())
        .current_dir(&release)
        .output()
        .unwrap();
    assert!(out.status.success(), "sign-blob --keyless: {out:?}");

    // By hand: download the three files, check the bundle against the release identity, then
    // the archive against SHA256SUMS (the README's Install section, with the local trust root).
    let (os, arch) = this_runner();
    let archive = archive_name(os, arch);
    let hand = tempfile::tempdir().unwrap();
    let base = format!("{}/v{VERSION}", runner.server.url());
    for name in ["SHA256SUMS", "SHA256SUMS.sigstore.json", archive.as_str()] {
        download(&format!("{base}/{name}"), hand.path(), name);
    }
    let (identity, issuer) = (stack.identity(), stack.issuer());
    let check = |identity: &str| {
        let cosign = t
            .command("cosign3")
            .args([
                "verify-blob",
                "SHA256SUMS",
                "--bundle",
                "SHA256SUMS.sigstore.json",
            ])
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", &issuer])
            .arg("--trusted-root")
            .arg(stack.trusted_root())
            .arg("--insecure-ignore-sct")
            .current_dir(hand.path())
            .output()
            .unwrap();
        let ours = common::wasipack()
            .args([
                "verify",
                "SHA256SUMS",
                "--bundle",
                "SHA256SUMS.sigstore.json",
            ])
            .args(["--certificate-identity", identity])
            .args(["--certificate-oidc-issuer", &issuer])
            .arg("--trusted-root")
            .arg(stack.trusted_root())
            .arg("--insecure-ignore-sct")
            .current_dir(hand.path())
            .output()
            .unwrap();
        (cosign.status.success(), ours.status.success())
    };
    let sums = |dir: &Path| {
        let out = Command::new("sha256sum")
            .args(["-c", "--ignore-missing", "SHA256SUMS"])
            .current_dir(dir)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert_eq!(check(&identity), (true, true), "cosign, wasipack");
    let (ok, out) = sums(hand.path());
    assert!(ok && out.contains(&format!("{archive}: OK")), "{out}");

    // Another workflow's identity (a fork's, say) is refused by both.
    let fork = identity.replacen("https://github.com/", "https://github.com/fork-", 1);
    assert_ne!(fork, identity);
    assert_eq!(check(&fork), (false, false), "a fork's identity");
    // One byte of the archive changed: sha256sum names it.
    let path = hand.path().join(&archive);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let (ok, out) = sums(hand.path());
    assert!(!ok && out.contains(&format!("{archive}: FAILED")), "{out}");
    // SHA256SUMS changed (another digest for the archive): the bundle no longer matches it.
    let text = std::fs::read_to_string(hand.path().join("SHA256SUMS")).unwrap();
    let forged = text.replacen(&runner.digest, &wasipack::digest::sha256_hex(&bytes), 1);
    assert_ne!(forged, text);
    std::fs::write(hand.path().join("SHA256SUMS"), forged).unwrap();
    assert_eq!(check(&identity), (false, false), "a forged SHA256SUMS");
}
