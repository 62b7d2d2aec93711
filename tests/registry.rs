//! `push`, `pull`, `login` and `logout` against real registries on 127.0.0.1 (crane's, Debian's
//! docker-registry with basic auth, go-containerregistry's with the referrers API), read back
//! by the real clients (crane, oras, skopeo), and through a fault-injecting proxy.

mod common;

use common::proxy::{Action, Fault, Proxy};
use common::{assert_clean_error, copy_tree, decode, repo, wasipack, Tools};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const USER: &str = "tester";
const PASSWORD: &str = "s3cret-pass";

/// A `wasipack build` output of the bundled example, made once per test binary (needs `go`).
fn dist(t: &Tools) -> &'static Path {
    t.path("go");
    static DIST: OnceLock<PathBuf> = OnceLock::new();
    DIST.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep().join("hello");
        copy_tree(&repo().join("examples/hello"), &dir);
        let out = wasipack()
            .args(["build", "--json"])
            .current_dir(&dir)
            .env("WASIPACK_CACHE", dir.join(".cache"))
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .output()
            .unwrap();
        let (code, _, err) = decode(out);
        assert_eq!(code, 0, "{err}");
        dir.join("dist")
    })
}

/// Runs wasipack with its own docker config directory (never the user's).
fn wp(config: &Path, args: &[&str]) -> (i32, String, String) {
    wp_stdin(config, args, "")
}

fn wp_stdin(config: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    use std::io::Write;
    let mut child = wasipack()
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env_remove("GITHUB_TOKEN")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    decode(child.wait_with_output().unwrap())
}

/// Pulls `reference` into `out` and checks it holds exactly the bytes of `expected`.
fn assert_pulls_back(config: &Path, reference: &str, out: &Path, expected: &Path) {
    let (code, _, err) = wp(config, &["pull", reference, "-o", out.to_str().unwrap()]);
    assert_eq!(code, 0, "pull {reference}: {err}");
    assert_eq!(
        std::fs::read(out).unwrap(),
        std::fs::read(expected).unwrap()
    );
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn crane(t: &Tools, args: &[&str]) -> (i32, String, String) {
    t.run("crane", args, &repo())
}

fn oras(t: &Tools, args: &[&str], dir: &Path) -> (i32, String, String) {
    t.run("oras", args, dir)
}

/// Pushes the example's build output and checks what the peers see.
fn round_trip(t: &Tools, host: &str, config: &Path, peer_auth: &[&str]) {
    let tmp = tempfile::tempdir().unwrap();
    let reference = format!("{host}/team/hello:v1");
    let (code, out, err) = wp(
        config,
        &[
            "push",
            dist(t).to_str().unwrap(),
            &reference,
            "--tag",
            "stable",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let report = json(&out);
    let pushed = &report["pushed"][0];
    let digest = pushed["digest"].as_str().unwrap().to_string();
    assert_eq!(pushed["reference"], format!("{host}/team/hello@{digest}"));
    assert_eq!(pushed["tags"], serde_json::json!(["v1", "stable"]));
    assert_eq!(pushed["referrers"].as_array().unwrap().len(), 2, "{out}");

    // wasipack pull gives the identical bytes, by tag and by digest.
    let pulled = tmp.path().join("pulled.wasm");
    let (code, out, err) = wp(
        config,
        &["pull", &reference, "-o", pulled.to_str().unwrap(), "--json"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["manifest_digest"], digest.as_str());
    let original = std::fs::read(dist(t).join("hello.wasm")).unwrap();
    assert_eq!(std::fs::read(&pulled).unwrap(), original);
    let by_digest = format!("{host}/team/hello@{digest}");
    let (code, _, err) = wp(
        config,
        &["pull", &by_digest, "-o", pulled.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");

    // crane and oras see our media types; oras pulls the same module; skopeo reads it.
    if peer_auth.is_empty() {
        let (code, manifest, err) = crane(t, &["manifest", &reference, "--insecure"]);
        assert_eq!(code, 0, "crane manifest: {err}");
        let m = json(&manifest);
        assert_eq!(
            m["config"]["mediaType"],
            "application/vnd.wasm.config.v0+json"
        );
        assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    }
    let mut args = vec!["manifest", "fetch", "--plain-http", reference.as_str()];
    let auth: Vec<&str> = peer_auth
        .iter()
        .filter(|a| !a.starts_with("--creds"))
        .copied()
        .collect();
    args.extend(&auth);
    let (code, manifest, err) = oras(t, &args, tmp.path());
    assert_eq!(code, 0, "oras manifest fetch: {err}");
    let m = json(&manifest);
    assert_eq!(
        m["config"]["mediaType"],
        "application/vnd.wasm.config.v0+json"
    );
    assert_eq!(m["layers"][0]["mediaType"], "application/wasm");
    let out_dir = tmp.path().join("oras-out");
    let mut args = vec![
        "pull",
        "--plain-http",
        reference.as_str(),
        "-o",
        out_dir.to_str().unwrap(),
    ];
    args.extend(&auth);
    let (code, _, err) = oras(t, &args, tmp.path());
    assert_eq!(code, 0, "oras pull: {err}");
    assert_eq!(std::fs::read(out_dir.join("hello.wasm")).unwrap(), original);
    let mut args = vec![
        "discover",
        "--plain-http",
        "--format",
        "json",
        reference.as_str(),
    ];
    args.extend(&auth);
    let (code, found, err) = oras(t, &args, tmp.path());
    assert_eq!(code, 0, "oras discover: {err}");
    let found = found.to_string();
    assert!(found.contains("application/spdx+json"), "{found}");
    assert!(found.contains("application/vnd.cyclonedx+json"), "{found}");

    let mut args = vec![
        "inspect".to_string(),
        "--raw".into(),
        "--tls-verify=false".into(),
        format!("docker://{reference}"),
    ];
    if let Some(creds) = peer_auth.iter().find(|a| a.starts_with("--creds")) {
        args.push(creds.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, raw, err) = t.run("skopeo", &args, tmp.path());
    assert_eq!(code, 0, "skopeo inspect: {err}");
    assert_eq!(json(&raw)["layers"][0]["digest"], m["layers"][0]["digest"]);
}

#[test]
fn a_build_round_trips_through_crane_registry_and_every_client_reads_it() {
    let t = common::require!("go", "crane", "oras", "skopeo");
    let registry = t.crane_registry();
    let config = tempfile::tempdir().unwrap();
    round_trip(&t, &registry.host(), config.path(), &[]);
}

#[test]
fn a_build_round_trips_through_docker_registry_with_basic_auth_after_login() {
    let t = common::require!("go", "docker-registry", "htpasswd", "oras", "skopeo");
    let registry = t.docker_registry(USER, PASSWORD);
    let config = tempfile::tempdir().unwrap();
    let host = registry.host();

    // Without credentials: a one-line error that says how to log in.
    let (code, out, err) = wp(
        config.path(),
        &[
            "push",
            dist(&t).to_str().unwrap(),
            &format!("{host}/team/hello:v1"),
        ],
    );
    assert_clean_error(code, &out, &err, "anonymous push");
    assert!(err.contains(&format!("wasipack login {host}")), "{err}");

    // A wrong password: one line, exit 2, and the password is never echoed.
    let (code, out, err) = wp_stdin(
        config.path(),
        &["login", &host, "-u", USER, "--password-stdin"],
        "wrong-password\n",
    );
    assert_clean_error(code, &out, &err, "wrong password");
    assert!(err.contains("authentication failed as `tester`"), "{err}");
    assert!(!err.contains("wrong-password"), "{err}");
    let (code, out, err) = wp_stdin(
        config.path(),
        &[
            "push",
            dist(&t).to_str().unwrap(),
            &format!("{host}/team/hello:v1"),
            "-u",
            USER,
            "--password-stdin",
            "-v",
        ],
        "wrong-password\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        !err.contains("wrong-password") && !err.contains("Basic "),
        "{err}"
    );

    // Login stores the credential as docker does, in a 0600 file.
    let (code, out, err) = wp_stdin(
        config.path(),
        &["login", &host, "-u", USER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Logged in"), "{out}");
    let stored = config.path().join("config.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let saved = json(&std::fs::read_to_string(&stored).unwrap());
    assert!(saved["auths"][&host]["auth"].is_string(), "{saved}");

    let creds = format!("--creds={USER}:{PASSWORD}");
    let oras_auth = ["-u", USER, "-p", PASSWORD];
    let mut peer: Vec<&str> = oras_auth.to_vec();
    peer.push(&creds);
    round_trip(&t, &host, config.path(), &peer);

    // Logout removes it; the next pull is anonymous again and refused.
    let (code, _, err) = wp(config.path(), &["logout", &host]);
    assert_eq!(code, 0, "{err}");
    let saved = json(&std::fs::read_to_string(&stored).unwrap());
    assert!(saved["auths"].get(&host).is_none(), "{saved}");
    let tmp = tempfile::tempdir().unwrap();
    let (code, out, err) = wp(
        config.path(),
        &[
            "pull",
            &format!("{host}/team/hello:v1"),
            "-o",
            tmp.path().join("x.wasm").to_str().unwrap(),
        ],
    );
    assert_clean_error(code, &out, &err, "pull after logout");
}

#[test]
fn a_credential_helper_named_in_the_docker_config_is_used() {
    let t = common::require!("go", "docker-registry", "htpasswd");
    let registry = t.docker_registry(USER, PASSWORD);
    let host = registry.host();
    let config = tempfile::tempdir().unwrap();
    let bin = tempfile::tempdir().unwrap();
    let helper = bin.path().join("docker-credential-wasipacktest");
    let calls = bin.path().join("calls");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\necho \"$1 $server\" >> {calls}\ncase \"$1\" in get) printf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\";; store|erase) ;; *) exit 1;; esac\n",
            calls = calls.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"credHelpers":{{"{host}":"wasipacktest"}}}}"#),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    let out = wasipack()
        .args([
            "push",
            t.go_fixture("hello").to_str().unwrap(),
            &format!("{host}/helper/hello:1"),
        ])
        .env("DOCKER_CONFIG", config.path())
        .env("PATH", &path)
        .output()
        .unwrap();
    let (code, out, err) = decode(out);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("{host}/helper/hello@sha256:")),
        "{out}"
    );
    let log = std::fs::read_to_string(&calls).unwrap();
    assert!(log.contains(&format!("get {host}")), "{log}");

    // With `credsStore`, login stores through the helper (nothing in config.json) and logout
    // erases there.
    std::fs::write(
        config.path().join("config.json"),
        r#"{"credsStore":"wasipacktest","auths":{}}"#,
    )
    .unwrap();
    let run = |args: &[&str], stdin: &str| {
        use std::io::Write;
        let mut child = wasipack()
            .args(args)
            .env("DOCKER_CONFIG", config.path())
            .env("PATH", &path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        decode(child.wait_with_output().unwrap())
    };
    let (code, out, err) = run(
        &["login", &host, "-u", USER, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("docker-credential-wasipacktest"), "{out}");
    let log = std::fs::read_to_string(&calls).unwrap();
    let stored = log
        .lines()
        .find(|l| l.starts_with("store "))
        .unwrap_or_default();
    assert!(
        stored.contains(&format!(r#""ServerURL":"{host}""#))
            && stored.contains(&format!(r#""Username":"{USER}""#)),
        "{log}"
    );
    let saved = std::fs::read_to_string(config.path().join("config.json")).unwrap();
    assert!(!saved.contains(PASSWORD), "{saved}");
    let (code, _, err) = run(&["logout", &host], "");
    assert_eq!(code, 0, "{err}");
    let log = std::fs::read_to_string(&calls).unwrap();
    assert!(log.contains(&format!("erase {host}")), "{log}");
}

#[test]
fn a_second_push_uploads_no_blob_and_chunks_fall_back_to_a_whole_upload() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let proxy = Proxy::start(registry.addr);
    let config = tempfile::tempdir().unwrap();
    let module = t.go_fixture("hello");
    let reference = format!("{}/idem/hello:1", proxy.host());
    let args = [
        "push",
        module.to_str().unwrap(),
        &reference,
        "--chunk-size",
        "1048576",
    ];
    let (code, _, err) = wp(config.path(), &args);
    assert_eq!(code, 0, "{err}");
    let patches = proxy.log().iter().filter(|l| l.method == "PATCH").count();
    let size = std::fs::metadata(&module).unwrap().len() as usize;
    assert_eq!(patches, size.div_ceil(1 << 20), "{:?}", proxy.log());

    proxy.clear();
    let (code, out, err) = wp(config.path(), &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(proxy.upload_requests(), 0, "{:?}", proxy.log());
    assert!(out.contains("@sha256:"));
    assert!(err.contains("0 blob(s) uploaded"), "{err}");

    // A registry that refuses PATCH gets the blob in one PUT.
    proxy.clear();
    proxy.inject(Fault {
        method: "PATCH",
        path_contains: "/blobs/uploads/".into(),
        action: Action::Status(405, None),
        times: 100,
    });
    let other = format!("{}/idem/other:1", proxy.host());
    let (code, _, err) = wp(
        config.path(),
        &[
            "push",
            module.to_str().unwrap(),
            &other,
            "--chunk-size",
            "1048576",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let pulled = tmp.path().join("p.wasm");
    assert_pulls_back(
        config.path(),
        &format!("{}/idem/other:1", registry.host()),
        &pulled,
        &module,
    );
}

#[test]
fn small_blobs_go_up_with_the_post_where_the_registry_takes_them_and_by_put_where_it_does_not() {
    let t = common::require!("go", "crane", "docker-registry", "htpasswd");
    let module = t.go_fixture("hello");
    let config = tempfile::tempdir().unwrap();
    let upload_puts = |proxy: &Proxy| {
        proxy
            .log()
            .iter()
            .filter(|l| l.method == "PUT" && l.path.contains("/blobs/uploads/"))
            .count()
    };
    let single_posts = |proxy: &Proxy| -> Vec<u16> {
        proxy
            .log()
            .iter()
            .filter(|l| l.method == "POST" && l.path.contains("digest=sha256%3A"))
            .map(|l| l.status)
            .collect()
    };

    // crane's registry stores the config from the POST itself: only the module needs a PUT.
    let crane = t.crane_registry();
    let proxy = Proxy::start(crane.addr);
    let (code, _, err) = wp(
        config.path(),
        &[
            "push",
            module.to_str().unwrap(),
            &format!("{}/single/hello:1", proxy.host()),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(single_posts(&proxy), vec![201], "{:?}", proxy.log());
    assert_eq!(upload_puts(&proxy), 1, "{:?}", proxy.log());
    let tmp = tempfile::tempdir().unwrap();
    assert_pulls_back(
        config.path(),
        &format!("{}/single/hello:1", crane.host()),
        &tmp.path().join("p.wasm"),
        &module,
    );

    // A registry that refuses the single-request upload outright gets a bare POST, then a PUT.
    let proxy = Proxy::start(crane.addr);
    proxy.inject(Fault {
        method: "POST",
        path_contains: "digest=".into(),
        action: Action::Status(400, None),
        times: 100,
    });
    let (code, _, err) = wp(
        config.path(),
        &[
            "push",
            t.go_fixture("files").to_str().unwrap(),
            &format!("{}/single/refused:1", proxy.host()),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(single_posts(&proxy), vec![400], "{:?}", proxy.log());
    assert_eq!(upload_puts(&proxy), 2, "{:?}", proxy.log());

    // distribution 2.8 opens a session instead (202): the config follows with a PUT, and the
    // manifest, which it checks against the stored blobs, is accepted.
    let docker = t.docker_registry(USER, PASSWORD);
    let proxy = Proxy::start(docker.addr);
    let (code, _, err) = wp_stdin(
        config.path(),
        &[
            "push",
            module.to_str().unwrap(),
            &format!("{}/single/hello:1", proxy.host()),
            "-u",
            USER,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(single_posts(&proxy), vec![202], "{:?}", proxy.log());
    assert_eq!(upload_puts(&proxy), 2, "{:?}", proxy.log());
}

#[test]
fn blobs_are_mounted_from_another_repository_of_the_same_registry() {
    let t = common::require!("go", "docker-registry", "htpasswd");
    // distribution mounts; crane's in-memory registry shares blobs across repositories, so
    // there HEAD already finds them.
    let registry = t.docker_registry(USER, PASSWORD);
    let config = tempfile::tempdir().unwrap();
    let host = registry.host();
    let module = t.go_fixture("hello");
    let login = ["-u", USER, "--password-stdin"];
    let pass = format!("{PASSWORD}\n");
    let a = format!("{host}/a/app:1");
    let mut args = vec!["push", module.to_str().unwrap(), &a];
    args.extend(login);
    let (code, _, err) = wp_stdin(config.path(), &args, &pass);
    assert_eq!(code, 0, "{err}");
    let b = format!("{host}/b/app:1");
    let mut args = vec![
        "push",
        module.to_str().unwrap(),
        &b,
        "--mount-from",
        "a/app",
        "--json",
    ];
    args.extend(login);
    let (code, out, err) = wp_stdin(config.path(), &args, &pass);
    assert_eq!(code, 0, "{err}");
    let outcomes: Vec<String> = json(&out)["pushed"][0]["blobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["outcome"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(outcomes, ["mounted", "mounted"], "{out}");
}

#[test]
fn faults_are_retried_and_a_failed_push_never_leaves_a_tag() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let proxy = Proxy::start(registry.addr);
    let config = tempfile::tempdir().unwrap();
    let module = t.go_fixture("hello");
    let via_proxy = |repo: &str| format!("{}/{repo}:1", proxy.host());

    // A connection dropped mid-blob, a 500 on the manifest, a 429 with Retry-After: all retried.
    proxy.inject(Fault {
        method: "PUT",
        path_contains: "/blobs/uploads/".into(),
        action: Action::DropRequestMidBody,
        times: 1,
    });
    proxy.inject(Fault {
        method: "PUT",
        path_contains: "/manifests/".into(),
        action: Action::Status(500, None),
        times: 1,
    });
    proxy.inject(Fault {
        method: "HEAD",
        path_contains: "/blobs/".into(),
        action: Action::Status(429, Some(1)),
        times: 1,
    });
    let started = std::time::Instant::now();
    let (code, _, err) = wp(
        config.path(),
        &["push", module.to_str().unwrap(), &via_proxy("faults/ok")],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let statuses: Vec<u16> = proxy.log().iter().map(|l| l.status).collect();
    assert!(
        statuses.contains(&0) && statuses.contains(&500) && statuses.contains(&429),
        "{statuses:?}"
    );
    let tmp = tempfile::tempdir().unwrap();
    let pulled = tmp.path().join("ok.wasm");
    assert_pulls_back(
        config.path(),
        &format!("{}/faults/ok:1", registry.host()),
        &pulled,
        &module,
    );

    // Uploads that keep failing: a clear error, and the tag was never written.
    proxy.clear();
    proxy.inject(Fault {
        method: "*",
        path_contains: "/blobs/uploads/".into(),
        action: Action::Status(503, None),
        times: 1000,
    });
    // (Another module: crane's registry shares blobs across repositories.)
    let other = t.go_fixture("files");
    let (code, out, err) = wp(
        config.path(),
        &["push", other.to_str().unwrap(), &via_proxy("faults/broken")],
    );
    assert_clean_error(code, &out, &err, "push through a failing registry");
    assert!(err.contains("503"), "{err}");
    assert!(
        !proxy
            .log()
            .iter()
            .any(|l| l.method == "PUT" && l.path.contains("/manifests/")),
        "{:?}",
        proxy.log()
    );
    let (code, _, _) = crane(
        &t,
        &[
            "manifest",
            &format!("{}/faults/broken:1", registry.host()),
            "--insecure",
        ],
    );
    assert_ne!(code, 0, "the tag must not exist");
}

#[test]
fn pull_never_writes_bytes_that_fail_their_digest() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let proxy = Proxy::start(registry.addr);
    let config = tempfile::tempdir().unwrap();
    let module = t.go_fixture("hello");
    let (code, _, err) = wp(
        config.path(),
        &[
            "push",
            module.to_str().unwrap(),
            &format!("{}/p/hello:1", registry.host()),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let out_path = tmp.path().join("out.wasm");
    let reference = format!("{}/p/hello:1", proxy.host());

    // A body cut off once is fetched again.
    proxy.inject(Fault {
        method: "GET",
        path_contains: "/blobs/sha256:".into(),
        action: Action::DropResponseMidBody,
        times: 1,
    });
    assert_pulls_back(config.path(), &reference, &out_path, &module);
    std::fs::remove_file(&out_path).unwrap();

    // A registry that keeps sending wrong bytes: nothing is written, not even a temp file.
    proxy.inject(Fault {
        method: "GET",
        path_contains: "/blobs/sha256:".into(),
        action: Action::CorruptResponseBody,
        times: 1000,
    });
    let (code, out, err) = wp(
        config.path(),
        &["pull", &reference, "-o", out_path.to_str().unwrap()],
    );
    assert_clean_error(code, &out, &err, "corrupt blob");
    assert!(err.contains("digest"), "{err}");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing written"
    );

    // A manifest whose bytes do not match the digest asked for is refused too.
    proxy.clear();
    proxy.inject(Fault {
        method: "GET",
        path_contains: "/manifests/".into(),
        action: Action::CorruptResponseBody,
        times: 1000,
    });
    let (code, out, err) = wp(
        config.path(),
        &["pull", &reference, "-o", out_path.to_str().unwrap()],
    );
    assert_clean_error(code, &out, &err, "corrupt manifest");
    assert_eq!(
        std::fs::read_dir(tmp.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

#[test]
fn artifacts_pushed_by_oras_are_pulled_with_cncf_and_older_media_types() {
    let t = common::require!("go", "crane", "oras");
    let registry = t.crane_registry();
    let host = registry.host();
    let config = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(t.go_fixture("hello"), tmp.path().join("module.wasm")).unwrap();
    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"architecture":"wasm","os":"wasip1"}"#,
    )
    .unwrap();
    for (repo, config_type, layer_type) in [
        (
            "cncf",
            "application/vnd.wasm.config.v0+json",
            "application/wasm",
        ),
        (
            "wasm-to-oci",
            "application/vnd.wasm.config.v1+json",
            "application/vnd.wasm.content.layer.v1+wasm",
        ),
        (
            "solo",
            "application/vnd.module.wasm.config.v1+json",
            "application/vnd.module.wasm.content.layer.v1+wasm",
        ),
    ] {
        let reference = format!("{host}/{repo}/m:1");
        let (code, _, err) = oras(
            &t,
            &[
                "push",
                "--plain-http",
                &reference,
                "--config",
                &format!("config.json:{config_type}"),
                &format!("module.wasm:{layer_type}"),
            ],
            tmp.path(),
        );
        assert_eq!(code, 0, "oras push: {err}");
        let out = tmp.path().join(format!("{repo}.wasm"));
        let (code, stdout, err) = wp(
            config.path(),
            &["pull", &reference, "-o", out.to_str().unwrap(), "--json"],
        );
        assert_eq!(code, 0, "{repo}: {err}");
        assert_eq!(json(&stdout)["layer_media_type"], layer_type);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            std::fs::read(tmp.path().join("module.wasm")).unwrap()
        );
    }

    // Two wasm layers: refused, nothing written.
    std::fs::copy(t.go_fixture("hello"), tmp.path().join("second.wasm")).unwrap();
    let reference = format!("{host}/two/m:1");
    let (code, _, err) = oras(
        &t,
        &[
            "push",
            "--plain-http",
            &reference,
            "--config",
            "config.json:application/vnd.wasm.config.v0+json",
            "module.wasm:application/wasm",
            "second.wasm:application/wasm",
        ],
        tmp.path(),
    );
    assert_eq!(code, 0, "oras push: {err}");
    let out = tmp.path().join("two.wasm");
    let (code, stdout, err) = wp(
        config.path(),
        &["pull", &reference, "-o", out.to_str().unwrap()],
    );
    assert_clean_error(code, &stdout, &err, "two wasm layers");
    assert!(err.contains("2 wasm layers"), "{err}");
    assert!(!out.exists());
}

#[test]
fn referrers_use_the_api_where_the_registry_has_it_and_the_fallback_tag_elsewhere() {
    let t = common::require!("go", "crane", "oras");
    let with_api = t.referrers_registry();
    let without = t.crane_registry();
    let config = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (registry, expected) in [(&with_api, "referrers-api"), (&without, "fallback-tag")] {
        let reference = format!("{}/ref/hello:1", registry.host());
        let (code, out, err) = wp(
            config.path(),
            &["push", dist(&t).to_str().unwrap(), &reference, "--json"],
        );
        assert_eq!(code, 0, "{err}");
        let report = json(&out);
        let pushed = &report["pushed"][0];
        for r in pushed["referrers"].as_array().unwrap() {
            assert_eq!(r["indexed"], expected, "{out}");
        }
        let digest = pushed["digest"].as_str().unwrap();
        let tag = digest.replace(':', "-");
        let (code, _, _) = crane(
            &t,
            &[
                "manifest",
                &format!("{}/ref/hello:{tag}", registry.host()),
                "--insecure",
            ],
        );
        assert_eq!(
            code == 0,
            expected == "fallback-tag",
            "fallback tag exists only without the API"
        );
        let (code, found, err) = oras(
            &t,
            &["discover", "--plain-http", "--format", "json", &reference],
            tmp.path(),
        );
        assert_eq!(code, 0, "oras discover: {err}");
        assert!(found.contains("application/spdx+json"), "{found}");
        // The fallback entry copies artifactType and the annotations.
        if expected == "fallback-tag" {
            let (_, index, _) = crane(
                &t,
                &[
                    "manifest",
                    &format!("{}/ref/hello:{tag}", registry.host()),
                    "--insecure",
                ],
            );
            let index = json(&index);
            let entry = &index["manifests"][0];
            assert!(entry["artifactType"].is_string(), "{index}");
            assert!(
                entry["annotations"]["org.opencontainers.image.created"].is_string(),
                "{index}"
            );
        }
    }
}

#[test]
fn a_layout_whose_module_blob_was_altered_is_refused_and_nothing_is_tagged() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let config = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("oci");
    copy_tree(&dist(&t).join("oci"), &layout);
    let wasm = std::fs::read(dist(&t).join("hello.wasm")).unwrap();
    let hex = wasipack::digest::sha256_hex(&wasm);
    let blob = layout.join("blobs/sha256").join(&hex);
    let mut altered = std::fs::read(&blob).unwrap();
    let middle = altered.len() / 2;
    altered[middle] ^= 0xff;
    std::fs::write(&blob, &altered).unwrap();
    let source = format!("oci-layout:{}:hello", layout.display());
    // To a registry the blobs are checked while they upload; to a layout, before. Either
    // way: a one-line error naming the blob, and no tag.
    let copy = tmp.path().join("copy");
    for target in [
        format!("{}/altered/hello:1", registry.host()),
        format!("oci-layout:{}:v1", copy.display()),
    ] {
        let (code, out, err) = wp(config.path(), &["push", &source, &target]);
        assert_clean_error(code, &out, &err, &format!("altered blob to {target}"));
        assert!(
            err.contains(&hex) && err.contains("whose digest is"),
            "{err}"
        );
    }
    let (code, _, _) = crane(
        &t,
        &[
            "manifest",
            &format!("{}/altered/hello:1", registry.host()),
            "--insecure",
        ],
    );
    assert_ne!(code, 0, "the tag must not exist");
    assert!(
        !copy.join("index.json").exists() || {
            let index = std::fs::read_to_string(copy.join("index.json")).unwrap();
            !index.contains("\"v1\"")
        }
    );

    // A blob of the wrong size is refused as it loads.
    altered.push(0);
    std::fs::write(&blob, &altered).unwrap();
    let (code, out, err) = wp(
        config.path(),
        &[
            "push",
            &source,
            &format!("{}/altered/hello:2", registry.host()),
        ],
    );
    assert_clean_error(code, &out, &err, "blob of the wrong size");
    assert!(err.contains(&hex) && err.contains("bytes"), "{err}");
}

#[test]
fn layouts_are_push_targets_and_pull_sources_without_a_server() {
    let t = common::require!("go", "oras");
    let config = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("copy");
    let target = format!("oci-layout:{}:v2", layout.display());
    let (code, out, err) = wp(
        config.path(),
        &[
            "push",
            &format!("oci-layout:{}:hello", dist(&t).join("oci").display()),
            &target,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with(&format!("oci-layout:{}@sha256:", layout.display())),
        "{out}"
    );
    let pulled = tmp.path().join("p.wasm");
    assert_pulls_back(
        config.path(),
        &target,
        &pulled,
        &dist(&t).join("hello.wasm"),
    );
    // oras reads the copy, referrers included.
    let (code, found, err) = oras(
        &t,
        &[
            "discover",
            "--oci-layout",
            "--format",
            "json",
            &format!("{}:v2", layout.display()),
        ],
        tmp.path(),
    );
    assert_eq!(code, 0, "oras discover: {err}");
    assert!(found.contains("application/spdx+json"), "{found}");

    // Bad references and sources are one-line errors.
    let bad = tmp.path().join("bad.wasm");
    std::fs::write(&bad, b"\0asm\x01\0\0\0\x01\x7f\x00").unwrap();
    let text = tmp.path().join("text.wasm");
    std::fs::write(&text, b"hello").unwrap();
    for (args, needle) in [
        (
            vec!["push", bad.to_str().unwrap(), "oci-layout:x"],
            "bad.wasm: invalid module",
        ),
        (
            vec!["push", text.to_str().unwrap(), "oci-layout:x"],
            "does not start with",
        ),
        (
            vec!["push", "nosuch.wasm", "oci-layout:x"],
            "nosuch.wasm: cannot read",
        ),
        (
            vec!["push", dist(&t).to_str().unwrap(), "127.0.0.1:1/Bad/x"],
            "`Bad`",
        ),
        (
            vec!["pull", "oci-layout:/nonexistent/x", "-o", "x.wasm"],
            "not an OCI image layout",
        ),
        (
            vec![
                "pull",
                &format!("oci-layout:{}:nosuch", layout.display()),
                "-o",
                "x.wasm",
            ],
            "not found",
        ),
        (
            vec![
                "push",
                dist(&t).to_str().unwrap(),
                &format!("oci-layout:{}@sha256:{}", layout.display(), "0".repeat(64)),
            ],
            "not a digest",
        ),
    ] {
        let (code, out, err) = wp(config.path(), &args);
        assert_clean_error(code, &out, &err, &args.join(" "));
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn an_unreachable_registry_is_a_one_line_error() {
    let t = common::require!("go");
    let config = tempfile::tempdir().unwrap();
    let port = common::servers::free_port();
    let (code, out, err) = wp(
        config.path(),
        &[
            "push",
            t.go_fixture("hello").to_str().unwrap(),
            &format!("127.0.0.1:{port}/x/y:1"),
        ],
    );
    assert_clean_error(code, &out, &err, "connection refused");
    assert!(err.contains(&format!("127.0.0.1:{port}/x/y")), "{err}");
}

#[test]
fn the_bearer_token_flow_asks_for_push_scope_and_never_prints_the_password() {
    let t = common::require!("go", "crane");
    let registry = t.crane_registry();
    let proxy = Proxy::start(registry.addr);
    proxy.require_bearer(USER, PASSWORD);
    let config = tempfile::tempdir().unwrap();
    let reference = format!("{}/tok/hello:1", proxy.host());
    let module = t.go_fixture("hello");
    // Anonymous: the token endpoint refuses, and the error says how to log in.
    let (code, out, err) = wp(
        config.path(),
        &["push", module.to_str().unwrap(), &reference],
    );
    assert_clean_error(code, &out, &err, "anonymous push behind a token gateway");
    // With credentials: a token with pull and push scope, then the push and a pull.
    let (code, _, err) = wp_stdin(
        config.path(),
        &[
            "push",
            module.to_str().unwrap(),
            &reference,
            "-u",
            USER,
            "--password-stdin",
            "-v",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains(PASSWORD) && !err.contains("tok-"), "{err}");
    assert!(
        proxy
            .token_scopes()
            .iter()
            .any(|s| s == "repository:tok/hello:pull,push"),
        "{:?}",
        proxy.token_scopes()
    );
    let tmp = tempfile::tempdir().unwrap();
    let pulled = tmp.path().join("p.wasm");
    let (code, _, err) = wp_stdin(
        config.path(),
        &[
            "pull",
            &reference,
            "-o",
            pulled.to_str().unwrap(),
            "-u",
            USER,
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(&pulled).unwrap(),
        std::fs::read(&module).unwrap()
    );
    // A wrong password: the token endpoint says no; one line, exit 2.
    let (code, out, err) = wp_stdin(
        config.path(),
        &[
            "pull",
            &reference,
            "-o",
            pulled.to_str().unwrap(),
            "-u",
            USER,
            "--password-stdin",
        ],
        "nope\n",
    );
    assert_clean_error(code, &out, &err, "wrong password at the token endpoint");
    assert!(err.contains("authentication failed as `tester`"), "{err}");
}
