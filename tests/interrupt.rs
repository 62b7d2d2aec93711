//! Interrupted work leaves nothing behind (issue 13, item 11): SIGINT or SIGTERM during a
//! `pull -o` removes the temporary file beside the target, and during a `build` stops the
//! compiler's whole process group and removes what was staged in `dist/`; wasipack exits with
//! 130 (SIGINT) or 143 (SIGTERM), as a shell reports a process the signal ended. Costs about
//! 3 s.
#![cfg(target_os = "linux")]

mod common;

use common::proxy::{Action, Fault, Proxy};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn signal(child: &Child, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

/// Waits until `ready` holds (at most 20 s), failing with what the child printed if it ended
/// first.
fn wait_for(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ended ({status}) before {what}");
        }
        assert!(Instant::now() < deadline, "never {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn temporaries(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.starts_with(".wasipack-"))
                .collect()
        })
        .unwrap_or_default()
}

fn exit_code(child: Child) -> (i32, String) {
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("killed by the signal, not exited: {stderr}"));
    (code, stderr)
}

#[test]
fn an_interrupted_pull_removes_its_temporary_file_and_exits_130_or_143() {
    let t = common::require!("crane");
    let crane = t.crane_registry();
    let proxy = Proxy::start(crane.addr);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("m.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let reference = format!("{}/slow/m:1", crane.host());
    let (code, _, err) = common::run_in(d, &["push", "-q", "m.wasm", &reference]);
    assert_eq!(code, 0, "{err}");
    // The blob comes a byte every 100 ms: the pull is mid-download for seconds.
    proxy.inject(Fault {
        method: "GET",
        path_contains: "/blobs/".into(),
        action: Action::Dribble(Duration::from_millis(100)),
        times: 100,
    });
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    for (name, expected) in [("INT", 130), ("TERM", 143)] {
        let mut child = common::wasipack()
            .args(["pull", &format!("{}/slow/m:1", proxy.host()), "-o"])
            .arg(out.join("m.wasm"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&mut child, "a temporary file beside the target", || {
            !temporaries(&out).is_empty()
        });
        signal(&child, name);
        let (code, stderr) = exit_code(child);
        assert_eq!(code, expected, "SIG{name}: {stderr}");
        assert_eq!(temporaries(&out), Vec::<String>::new(), "SIG{name}");
        assert!(!out.join("m.wasm").exists(), "SIG{name}");
    }
}

#[test]
fn an_interrupted_build_stops_the_compiler_and_leaves_no_temporary_file() {
    let t = common::require!("go");
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("hello");
    common::copy_tree(&common::repo().join("examples/hello"), &project);
    // `go` on PATH is the real one, except that `go build` first records its pid and then
    // waits as a long compile does (the process it becomes is what must be stopped).
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let pid_file = dir.path().join("go-build.pid");
    let go = bin.join("go");
    std::fs::write(
        &go,
        format!(
            "#!/bin/sh\nif [ \"$1\" = build ]; then echo $$ > '{}'; exec sleep 60; fi\nexec '{}' \"$@\"\n",
            pid_file.display(),
            t.path("go").display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&go, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for (name, expected) in [("TERM", 143), ("INT", 130)] {
        let _ = std::fs::remove_file(&pid_file);
        let mut child = common::wasipack()
            .args(["build", "--force"])
            .current_dir(&project)
            .env("PATH", &path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        wait_for(&mut child, "go build started", || {
            std::fs::read_to_string(&pid_file).is_ok_and(|s| s.ends_with('\n'))
        });
        let go_pid = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .to_string();
        signal(&child, name);
        let (code, stderr) = exit_code(child);
        assert_eq!(code, expected, "SIG{name}: {stderr}");
        // The compiler is gone (not left running, orphaned, as it was before).
        let proc = Path::new("/proc").join(&go_pid);
        let deadline = Instant::now() + Duration::from_secs(5);
        while proc.exists() && !is_zombie(&proc) {
            assert!(
                Instant::now() < deadline,
                "SIG{name}: go build ({go_pid}) still runs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(temporaries(&project), Vec::<String>::new());
        assert_eq!(temporaries(&project.join("dist")), Vec::<String>::new());
    }
}

fn is_zombie(proc: &Path) -> bool {
    std::fs::read_to_string(proc.join("stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(true)
}
