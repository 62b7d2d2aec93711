//! Where credentials may go, and where they must never show up.
//!
//! - A token realm over plain HTTP gets the registry's credentials only where the registry
//!   itself was allowed plain HTTP: a loopback registry naming a realm on loopback, or any
//!   registry with `--insecure`. Elsewhere the challenge is refused, naming the realm, and the
//!   realm hears nothing.
//! - A redirect to another host or port, or an upload `Location` on another origin, carries no
//!   `Authorization`.
//! - A reference or registry host with `USER:PASSWORD@` or `USER@` in it is refused (exit 2,
//!   one line) without echoing the password.
//!
//! The registries here are small HTTP servers on 127.0.0.1 written in the test, recording every
//! request and whether it carried an `Authorization` header; nothing external is needed.

mod common;

use common::{decode, wasipack};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

const PASSWORD: &str = "S3cr3t";
/// `alice:S3cr3t` in base64, as a Basic header carries it.
const BASIC: &str = "Basic YWxpY2U6UzNjcjN0";

/// One request a stub server received: the path and its `Authorization` header, if any.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
}

/// An HTTP server on 127.0.0.1 that answers each request with what `answer` returns (all of
/// the answer after `HTTP/1.1 `: see `empty` and `json`) and records what it received.
struct Stub {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Stub {
    fn start(answer: impl Fn(&Seen) -> String + Send + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if let Some(request) = read_request(&stream) {
                    log.lock().unwrap().push(request.clone());
                    let mut stream = stream;
                    let reply = format!("HTTP/1.1 {}", answer(&request));
                    let _ = stream.write_all(reply.as_bytes());
                }
            }
        });
        Stub { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The requests that arrived with an `Authorization` header.
    fn authorized(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.authorization.is_some())
            .collect()
    }
}

fn read_request(stream: &TcpStream) -> Option<Seen> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut authorization = None;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.trim().to_string());
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    // The body is read and dropped, so that closing the connection does not reset it.
    std::io::copy(&mut reader.take(length as u64), &mut std::io::sink()).ok()?;
    Some(Seen {
        method,
        path,
        authorization,
    })
}

/// An answer with no body: `STATUS REASON` and any headers (each ending in CRLF).
fn empty(status: &str, headers: &str) -> String {
    format!("{status}\r\n{headers}Content-Length: 0\r\nConnection: close\r\n\r\n")
}

/// `200 OK` with a JSON body.
fn json(body: &str) -> String {
    format!(
        "200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A token endpoint that hands out `tok` to anyone.
fn token_server() -> Stub {
    Stub::start(|_| json(r#"{"token":"tok"}"#))
}

/// A registry whose `/v2/` asks for a bearer token from `realm` and accepts `Bearer tok`.
fn bearer_registry(realm: String) -> Stub {
    Stub::start(move |s| match s.authorization.as_deref() {
        Some("Bearer tok") => json("{}"),
        _ => empty(
            "401 Unauthorized",
            &format!("WWW-Authenticate: Bearer realm=\"{realm}\",service=\"test\"\r\n"),
        ),
    })
}

/// `wasipack login 127.0.0.1:PORT -u alice --password-stdin [extra]` with the password on stdin
/// and a docker config of its own.
fn login(config: &Path, registry: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["login", registry, "-u", "alice", "--password-stdin"];
    args.extend_from_slice(extra);
    run_with_stdin(config, &args, PASSWORD)
}

fn run_with_stdin(config: &Path, args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = wasipack()
        .args(args)
        .env("DOCKER_CONFIG", config)
        .env_remove("GITHUB_TOKEN")
        .env("COSIGN_PASSWORD", "pw")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A command that refuses its arguments exits before it reads stdin: a broken pipe here
    // is expected then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    decode(child.wait_with_output().unwrap())
}

/// A registry allowed plain HTTP (loopback) naming a plain-HTTP realm off loopback: refused,
/// with one line naming the realm, and the realm never hears the password. `0.0.0.0` is not a
/// loopback address, yet on Linux and macOS a connection to it reaches the listener on
/// 127.0.0.1: before the fix, that listener received `Basic alice:S3cr3t`.
#[test]
fn a_plain_realm_off_loopback_gets_no_credentials() {
    let token = token_server();
    let realm = format!("http://0.0.0.0:{}/token", token.port);
    let registry = bearer_registry(realm.clone());
    let config = tempfile::tempdir().unwrap();
    let (code, out, err) = login(config.path(), &format!("127.0.0.1:{}", registry.port), &[]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(out, "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(&realm) && err.contains("plain HTTP"), "{err}");
    assert!(!err.contains(PASSWORD), "{err}");
    assert_eq!(token.seen().len(), 0, "{:?}", token.seen());
    assert!(!config.path().join("config.json").exists());
}

/// The same challenge with `--insecure`: the user allowed plain HTTP for this registry, its
/// realm included, so the credentials go there and login succeeds.
#[test]
fn insecure_allows_a_plain_realm_anywhere() {
    let token = token_server();
    let realm = format!("http://0.0.0.0:{}/token", token.port);
    let registry = bearer_registry(realm);
    let config = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", registry.port);
    let (code, _, err) = login(config.path(), &host, &["--insecure"]);
    assert_eq!(code, 0, "{err}");
    let authorized = token.authorized();
    assert_eq!(authorized.len(), 1, "{:?}", token.seen());
    assert_eq!(authorized[0].authorization.as_deref(), Some(BASIC));
}

/// A loopback registry may name a plain-HTTP realm on loopback (another port): the
/// credentials never leave the machine.
#[test]
fn a_loopback_registry_may_use_a_plain_realm_on_loopback() {
    let token = token_server();
    let realm = format!("http://127.0.0.1:{}/token", token.port);
    let registry = bearer_registry(realm);
    let config = tempfile::tempdir().unwrap();
    let host = format!("127.0.0.1:{}", registry.port);
    let (code, _, err) = login(config.path(), &host, &[]);
    assert_eq!(code, 0, "{err}");
    let authorized = token.authorized();
    assert_eq!(authorized.len(), 1, "{:?}", token.seen());
    assert!(authorized[0].path.starts_with("/token?"), "{authorized:?}");
    assert_eq!(authorized[0].authorization.as_deref(), Some(BASIC));
    // The registry itself saw the token, never the password.
    assert!(registry
        .seen()
        .iter()
        .all(|s| s.authorization.as_deref().is_none_or(|a| a == "Bearer tok")));
}

/// A registry that redirects an authenticated request to another host, or to another port of
/// the same host: the target receives the request without `Authorization`.
#[test]
fn a_redirect_elsewhere_carries_no_authorization() {
    for host in ["127.0.0.1", "localhost"] {
        let elsewhere = Stub::start(|_| json("{}"));
        let location = format!("http://{host}:{}/v2/", elsewhere.port);
        let registry = Stub::start(move |s| match s.authorization.as_deref() {
            Some(BASIC) => empty(
                "307 Temporary Redirect",
                &format!("Location: {location}\r\n"),
            ),
            _ => empty(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"test\"\r\n",
            ),
        });
        let config = tempfile::tempdir().unwrap();
        let (code, _, err) = login(config.path(), &format!("127.0.0.1:{}", registry.port), &[]);
        assert_eq!(code, 0, "{host}: {err}");
        // The registry got the credentials (so a header was there to leak) ...
        assert!(
            registry
                .seen()
                .iter()
                .any(|s| s.authorization.as_deref() == Some(BASIC)),
            "{host}: {:?}",
            registry.seen()
        );
        // ... and the redirect target got the request, without them.
        assert!(!elsewhere.seen().is_empty(), "{host}: not redirected");
        assert_eq!(
            elsewhere.authorized().len(),
            0,
            "{host}: {:?}",
            elsewhere.seen()
        );
    }
}

/// An upload session whose `Location` is on another origin (a storage host): the blob goes
/// there without the registry's `Authorization`, which stays with the registry.
#[test]
fn an_upload_location_elsewhere_gets_no_authorization() {
    let storage = Stub::start(|_| empty("201 Created", ""));
    let location = format!("http://127.0.0.1:{}/upload", storage.port);
    let registry = Stub::start(move |s| {
        if s.authorization.as_deref() != Some(BASIC) {
            return empty(
                "401 Unauthorized",
                "WWW-Authenticate: Basic realm=\"test\"\r\n",
            );
        }
        match s.method.as_str() {
            "HEAD" => empty("404 Not Found", ""),
            "POST" => empty("202 Accepted", &format!("Location: {location}\r\n")),
            "PUT" => empty("201 Created", ""),
            _ => empty("404 Not Found", ""),
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("app.wasm");
    std::fs::write(&module, b"\0asm\x01\0\0\0").unwrap();
    let (code, out, err) = run_with_stdin(
        &dir.path().join("docker"),
        &[
            "push",
            module.to_str().unwrap(),
            &format!("127.0.0.1:{}/o/app:v1", registry.port),
            "-u",
            "alice",
            "--password-stdin",
        ],
        PASSWORD,
    );
    assert_eq!(code, 0, "{out}{err}");
    let uploads = storage.seen();
    assert!(
        uploads
            .iter()
            .any(|s| s.method == "PUT" && s.path.starts_with("/upload?digest=")),
        "{uploads:?}"
    );
    assert_eq!(storage.authorized().len(), 0, "{uploads:?}");
    assert!(registry
        .seen()
        .iter()
        .any(|s| s.method == "PUT" && s.path.contains("/manifests/")));
}

/// References and hosts with userinfo, each command that takes one: exit 2, one line on
/// stderr saying why, nothing on stdout, and the password nowhere.
#[test]
fn references_with_credentials_are_refused_without_echoing_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("docker");
    let (code, _, err) = run_with_stdin(
        &config,
        &[
            "generate-key-pair",
            "--output-key-prefix",
            dir.path().join("cosign").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let public = dir.path().join("cosign.pub");
    let source = dir.path().join("app.wasm");
    std::fs::write(&source, b"\0asm\x01\0\0\0").unwrap();
    let references = [
        "alice:S3cr3t@127.0.0.1:5000/demo/app:v1",
        "alice:S3cr3t@registry.example/demo/app",
        "alice:S3cr3t@localhost:5000/demo/app:v1",
        "alice:S3cr3t@localhost/demo/app",
        "alice:S3cr3t@registry.example",
        "alice:S3cr3t@localhost:5000",
        "alice:S3cr3t@registry.example:5000",
        "alice:S3cr/3t@registry.example/demo/app",
        "alice:S3cr3t@@registry.example/demo/app",
        "https://alice:S3cr3t@ghcr.io/o/app:v1",
        "alice:S3cr3t@ghcr.io/o/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "S3cr3t@ghcr.io/o/app",
    ];
    let hosts = [
        "alice:S3cr3t@registry.example",
        "alice:S3cr3t@127.0.0.1:5000",
        "https://alice:S3cr3t@ghcr.io",
        "http://alice:S3cr3t@localhost:5000/",
        "S3cr3t@ghcr.io",
    ];
    let public = public.to_str().unwrap();
    let source = source.to_str().unwrap();
    let mut runs: Vec<Vec<&str>> = Vec::new();
    for r in references {
        runs.push(vec!["pull", r, "-o", "out.wasm"]);
        runs.push(vec!["push", source, r]);
        runs.push(vec!["verify", "--key", public, r]);
    }
    for h in hosts {
        runs.push(vec!["login", h, "-u", "bob", "--password-stdin"]);
        runs.push(vec!["logout", h]);
    }
    for args in runs {
        let (code, out, err) = run_with_stdin(&config, &args, "other");
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        assert_eq!(out, "", "{args:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        // `S3cr` covers the password in both spellings above (`S3cr3t`, `S3cr/3t`).
        assert!(!err.contains("S3cr"), "{args:?}: {err}");
        assert!(err.contains("cannot carry credentials"), "{args:?}: {err}");
    }
    assert!(!config.join("config.json").exists());
    assert!(!dir.path().join("out.wasm").exists());
}

/// What is not userinfo still parses: an `@` that introduces a digest.
#[test]
fn a_digest_after_an_at_sign_is_not_taken_for_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run_with_stdin(
        dir.path(),
        &[
            "pull",
            "oci-layout:nowhere@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "-o",
            dir.path().join("x.wasm").to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(!err.contains("credentials"), "{err}");
    let (code, _, err) = run_with_stdin(
        dir.path(),
        &["pull", "ghcr.io/o/app@md5:12", "-o", "x.wasm"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("only sha256"), "{err}");
}
