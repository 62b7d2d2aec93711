//! Every registry request has an overall deadline (issue 13, item 10): a registry that sends
//! one byte per second keeps no command alive past it. The slow registry is the test proxy in
//! front of a real `crane registry serve`, dribbling the answers it forwards; the deadline is
//! set to 1 s with `--timeout` or `WASIPACK_TIMEOUT`. A request past its deadline is one
//! line, exit 2, and is not retried (the proxy sees it once). Costs about 5 s.

mod common;

use common::proxy::{Action, Fault, Proxy};
use std::path::Path;
use std::time::{Duration, Instant};

/// The smallest module: magic and version.
const MODULE: &[u8] = b"\0asm\x01\0\0\0";

fn dribble(proxy: &Proxy, method: &'static str, path: &str) {
    proxy.clear();
    proxy.inject(Fault {
        method,
        path_contains: path.into(),
        action: Action::Dribble(Duration::from_secs(1)),
        times: 100,
    });
}

/// Runs wasipack in `dir` with `env`; asserts that it ended within a few seconds with one
/// `timed out` line naming `what`.
fn assert_times_out(dir: &Path, args: &[&str], env: &[(&str, &str)], what: &str) {
    let started = Instant::now();
    let out = common::wasipack()
        .args(args)
        .envs(env.iter().copied())
        .env("DOCKER_CONFIG", dir)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let took = started.elapsed();
    let (code, stdout, stderr) = common::decode(out);
    let context = args.join(" ");
    common::assert_clean_error(code, &stdout, &stderr, &context);
    assert!(
        stderr.contains(what) && stderr.contains("timed out"),
        "{context}: expected `{what}: timed out`, got {stderr}"
    );
    // 1 s of deadline per request, no retries: well under the minutes a dribbled answer takes.
    assert!(took < Duration::from_secs(15), "{context}: took {took:?}");
}

#[test]
fn a_registry_that_dribbles_is_cut_off_at_the_deadline_for_pull_push_and_verify() {
    let t = common::require!("crane");
    let crane = t.crane_registry();
    let proxy = Proxy::start(crane.addr);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("m.wasm"), MODULE).unwrap();
    let reference = format!("{}/slow/m:1", proxy.host());
    let (code, _, err) = common::run_in(d, &["push", "-q", "m.wasm", &reference]);
    assert_eq!(code, 0, "{err}");

    // pull: the blob dribbles; nothing is left where the module was to go.
    dribble(&proxy, "GET", "/blobs/");
    assert_times_out(
        d,
        &["pull", "--timeout", "1", &reference, "-o", "out.wasm"],
        &[],
        "GET blob sha256:",
    );
    let gets = proxy
        .log()
        .iter()
        .filter(|l| l.method == "GET" && l.path.contains("/blobs/"))
        .count();
    assert_eq!(
        gets,
        1,
        "a request past its deadline is not retried: {:?}",
        proxy.log()
    );
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "m.wasm")
        .collect();
    assert!(left.is_empty(), "pull left {left:?}");

    // verify: the manifest dribbles (the deadline from the environment).
    dribble(&proxy, "GET", "/manifests/");
    std::fs::write(d.join("k.pub"), PUBLIC_KEY).unwrap();
    assert_times_out(
        d,
        &["verify", &reference, "--key", "k.pub"],
        &[("WASIPACK_TIMEOUT", "1")],
        "GET manifest 1",
    );

    // push: the registry takes the manifest and answers a byte a second.
    dribble(&proxy, "PUT", "/manifests/");
    assert_times_out(
        d,
        &["push", "m.wasm", &format!("{}/slow/m:2", proxy.host())],
        &[("WASIPACK_TIMEOUT", "1")],
        "PUT manifest",
    );
}

#[test]
fn a_timeout_that_is_not_a_number_of_seconds_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.wasm"), MODULE).unwrap();
    for (args, env) in [
        (
            &["pull", "--timeout", "0", "127.0.0.1:9/r:1", "-o", "o"][..],
            None,
        ),
        (&["pull", "127.0.0.1:9/r:1", "-o", "o"], Some("soon")),
        (&["push", "m.wasm", "127.0.0.1:9/r:1"], Some("0")),
    ] {
        let mut cmd = common::wasipack();
        cmd.args(args).current_dir(dir.path());
        if let Some(v) = env {
            cmd.env("WASIPACK_TIMEOUT", v);
        }
        let (code, stdout, stderr) = common::decode(cmd.output().unwrap());
        assert_eq!(code, 2, "{args:?} {env:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("--timeout") || stderr.contains("WASIPACK_TIMEOUT"),
            "{args:?} {env:?}: {stderr}"
        );
    }
}

/// A P-256 public key (any will do: verify never gets as far as a signature).
const PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElBfGI+mURILzWXIM22QvfS8BelFC
RJM4lqqP45A9nqusm5sMGv+O5V97B6LVvbsbYx4VOFi662f0xmgEYWIjgQ==
-----END PUBLIC KEY-----
";
