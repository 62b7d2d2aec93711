//! A small HTTP/1.1 proxy on loopback that counts requests and injects faults: a status
//! (500, 429 with `Retry-After`), a connection dropped halfway through a request or response
//! body, or a response body with one byte flipped. One request per connection
//! (`Connection: close` both ways), which the clients under test handle as they would a
//! load balancer that does the same.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub enum Action {
    /// Answer with this status (and `Retry-After` seconds) without forwarding.
    Status(u16, Option<u64>),
    /// Read half the request body, then close the connection.
    DropRequestMidBody,
    /// Forward, then send half the response and close.
    DropResponseMidBody,
    /// Forward, then flip one byte in the middle of the response body.
    CorruptResponseBody,
    /// Forward, then send the answer one byte per interval (a registry, or a network, that
    /// dribbles): status line, headers and body alike.
    Dribble(std::time::Duration),
    /// Hold the whole request until [`Proxy::release`] (at most a minute), then forward it:
    /// a slow writer whose request lands late. [`Proxy::held`] counts the requests it has
    /// begun to hold.
    Hold,
}

#[derive(Debug, Clone)]
pub struct Fault {
    /// `*` for any method.
    pub method: &'static str,
    pub path_contains: String,
    pub action: Action,
    /// How many matching requests it hits; 0 when spent.
    pub times: usize,
}

#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// 0 when the proxy dropped the connection.
    pub status: u16,
}

#[derive(Default)]
struct State {
    faults: Vec<Fault>,
    log: Vec<Logged>,
    /// When set, the proxy is a bearer-token gateway: it serves `/token` for these basic
    /// credentials and demands the token, with a push scope for writes, on every other
    /// request (the token flow of ghcr.io and Docker Hub, which no registry package here
    /// implements).
    bearer: Option<(String, String)>,
    /// Token requests seen: their `scope` parameters.
    token_scopes: Vec<String>,
    /// Requests a `Hold` fault has begun to hold, and whether they may go on.
    held: usize,
    released: bool,
}

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` on a free loopback port. It lives as long as the test
    /// process (its thread blocks in `accept`).
    pub fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, upstream, &state);
                });
            }
        });
        Proxy { addr, state }
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Makes this proxy demand bearer tokens, issued at its `/token` for `user`/`password`.
    pub fn require_bearer(&self, user: &str, password: &str) {
        self.state.lock().unwrap().bearer = Some((user.into(), password.into()));
    }

    pub fn token_scopes(&self) -> Vec<String> {
        self.state.lock().unwrap().token_scopes.clone()
    }

    pub fn inject(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push(fault);
    }

    pub fn clear(&self) {
        let mut s = self.state.lock().unwrap();
        s.faults.clear();
        s.log.clear();
        s.released = false;
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// Requests a [`Action::Hold`] fault has begun to hold (their bodies read).
    pub fn held(&self) -> usize {
        self.state.lock().unwrap().held
    }

    /// Lets the requests a [`Action::Hold`] fault holds go on.
    pub fn release(&self) {
        self.state.lock().unwrap().released = true;
    }

    /// Requests that send blob data: POST/PATCH/PUT under `/blobs/uploads`.
    pub fn upload_requests(&self) -> usize {
        self.log()
            .iter()
            .filter(|l| l.path.contains("/blobs/uploads") && l.method != "GET")
            .count()
    }
}

fn take_fault(state: &Mutex<State>, method: &str, path: &str) -> Option<Action> {
    let mut s = state.lock().unwrap();
    let f = s.faults.iter_mut().find(|f| {
        f.times > 0 && (f.method == "*" || f.method == method) && path.contains(&f.path_contains)
    })?;
    f.times -= 1;
    Some(f.action.clone())
}

/// Answers with `status` (`CODE Reason`), `extra` header lines and a JSON body, then closes.
fn respond(client: &mut TcpStream, status: &str, extra: &str, body: &str) -> std::io::Result<()> {
    let resp = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{extra}\r\n{body}",
        body.len()
    );
    client.write_all(resp.as_bytes())
}

fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    state: &Mutex<State>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        let end = line == b"\r\n";
        head.extend_from_slice(&line);
        if end {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut parts = text.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let length: usize = text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    let log = |status: u16| {
        state.lock().unwrap().log.push(Logged {
            method: method.clone(),
            path: path.clone(),
            status,
        })
    };
    let bearer = state.lock().unwrap().bearer.clone();
    if let Some((user, password)) = bearer {
        let header = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        if let Some(query) = path.strip_prefix("/token?") {
            use base64::Engine;
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            );
            let scopes: Vec<String> = query
                .split('&')
                .filter_map(|kv| kv.strip_prefix("scope="))
                .map(|s| {
                    s.replace("%3A", ":")
                        .replace("%2C", ",")
                        .replace("%2F", "/")
                })
                .collect();
            if header("authorization").as_deref() != Some(expected.as_str()) {
                log(401);
                return respond(
                    &mut client,
                    "401 Unauthorized",
                    "",
                    r#"{"details":"bad credentials"}"#,
                );
            }
            let token = format!("tok-{}", scopes.join("+").replace([':', ',', '/'], "_"));
            state.lock().unwrap().token_scopes.extend(scopes);
            log(200);
            return respond(
                &mut client,
                "200 OK",
                "",
                &format!(r#"{{"token":"{token}"}}"#),
            );
        }
        let write = method != "GET" && method != "HEAD";
        let authorized = header("authorization")
            .is_some_and(|a| a.starts_with("Bearer tok-") && (!write || a.contains("pull_push")));
        if !authorized && path.starts_with("/v2/") {
            let name = path
                .trim_start_matches("/v2/")
                .split("/blobs/")
                .next()
                .unwrap_or_default()
                .split("/manifests/")
                .next()
                .unwrap_or_default()
                .to_string();
            let challenge = format!(
                "WWW-Authenticate: Bearer realm=\"http://{}/token\",service=\"test-registry\",scope=\"repository:{name}:pull\"\r\n",
                client.local_addr()?
            );
            log(401);
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            return respond(
                &mut client,
                "401 Unauthorized",
                &challenge,
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
            );
        }
    }
    let fault = take_fault(state, &method, &path);
    if let Some(Action::DropRequestMidBody) = fault {
        let mut half = vec![0; length / 2];
        reader.read_exact(&mut half)?;
        log(0);
        return client.shutdown(std::net::Shutdown::Both);
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    if let Some(Action::Status(code, retry_after)) = fault {
        log(code);
        let extra = retry_after
            .map(|s| format!("Retry-After: {s}\r\n"))
            .unwrap_or_default();
        return respond(
            &mut client,
            &format!("{code} Injected"),
            &extra,
            r#"{"errors":[{"code":"UNAVAILABLE","message":"injected by the test proxy"}]}"#,
        );
    }
    if let Some(Action::Hold) = fault {
        state.lock().unwrap().held += 1;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !state.lock().unwrap().released && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    }
    // Forward with `Connection: close`, then read the whole answer.
    let mut up = TcpStream::connect(upstream)?;
    let mut forwarded = String::new();
    for (i, line) in text.split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        if i > 0 && line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    up.write_all(forwarded.as_bytes())?;
    up.write_all(&body)?;
    let mut resp = Vec::new();
    up.read_to_end(&mut resp)?;
    let status: u16 = String::from_utf8_lossy(&resp[..resp.len().min(16)])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body_start = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(resp.len());
    match fault {
        Some(Action::DropResponseMidBody) if resp.len() > body_start => {
            log(0);
            let cut = body_start + (resp.len() - body_start) / 2;
            client.write_all(&resp[..cut])?;
            return client.shutdown(std::net::Shutdown::Both);
        }
        Some(Action::CorruptResponseBody) if resp.len() > body_start => {
            let i = body_start + (resp.len() - body_start) / 2;
            resp[i] ^= 0x01;
        }
        Some(Action::Dribble(interval)) => {
            log(status);
            // Until the whole answer is out or the client hangs up.
            for byte in &resp {
                client.write_all(std::slice::from_ref(byte))?;
                std::thread::sleep(interval);
            }
            return Ok(());
        }
        _ => {}
    }
    log(status);
    client.write_all(&resp)
}
