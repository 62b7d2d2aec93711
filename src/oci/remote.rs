//! A small OCI distribution-spec 1.1 client on reqwest: auth (anonymous, basic, bearer tokens
//! from `WWW-Authenticate`), retries with backoff, blob upload (HEAD first, cross-repository
//! mount, monolithic or chunked with a fallback), manifests and referrers.
//!
//! Written here rather than taken from `oci-client` because that crate neither checks for
//! existing blobs nor mounts them, and leaves the manifest `mediaType` unset (which
//! distribution 2.8 then refuses to serve as an OCI manifest); those are exactly the
//! behaviours this stage is judged on.
//!
//! Failures are [`RegistryError`]s: the status and the registry's error code are kept, and
//! what is retried is decided on their [`RegistryErrorKind`], not on the text.
//!
//! The API is blocking: each `Remote` owns a small tokio runtime and blobs go up in parallel
//! inside it.

use super::artifact::{Blob, Descriptor, INDEX, MANIFEST};
use super::auth::{self, Challenge, Credential};
use super::progress::{Shared, Transfer};
use super::reference::Reference;
use crate::error::{Error, RegistryError, RegistryErrorKind, Result};
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Manifest types we ask for: OCI first, then Docker's (distribution 2.8 only answers an OCI
/// manifest when `Accept` lists its type).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// How to talk to a registry.
#[derive(Debug, Clone)]
pub struct Options {
    /// Allow plain HTTP (and self-signed TLS) for a registry that is not on loopback.
    pub insecure: bool,
    /// A credential given on the command line; otherwise the docker config is read.
    pub credential: Option<Credential>,
    /// The largest request body: bigger blobs go up in chunks of this size. `None`: 4 MiB for
    /// ghcr.io (which refuses bigger bodies), 64 MiB elsewhere (one PUT is measurably faster
    /// than several PATCHes: bench/push.sh). A registry that answers a whole upload with 413
    /// gets it again in 4 MiB chunks.
    pub chunk_size: Option<usize>,
    /// Blobs uploaded at once.
    pub jobs: usize,
    /// Attempts after the first, for connection errors, 5xx and 429.
    pub retries: u32,
    /// First backoff delay; doubles each attempt.
    pub backoff: Duration,
    /// Hears each request and each blob's progress (the CLI's progress bars and `-v` lines).
    pub observer: Shared,
    /// Repositories of the same registry to mount blobs from before uploading them.
    pub mount_from: Vec<String>,
    /// Ask for push access (pull access otherwise).
    pub push: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            insecure: false,
            credential: None,
            chunk_size: None,
            jobs: 4,
            retries: 4,
            backoff: Duration::from_millis(200),
            observer: Shared::default(),
            mount_from: Vec::new(),
            push: false,
        }
    }
}

/// What happened to one blob on push.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobOutcome {
    /// The registry had it (HEAD answered 200).
    Present,
    Mounted,
    Uploaded,
}

/// A manifest as the registry gave it, its digest checked.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub media_type: String,
    pub digest: String,
}

pub struct Remote {
    rt: tokio::runtime::Runtime,
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    reference: Reference,
    credential: Option<Credential>,
    /// The `Authorization` header that worked last (basic or a bearer token).
    authorization: Mutex<Option<String>>,
    /// The connection and authentication [`Remote::warm_up`] started; the first request
    /// waits for it, so that a failure (a wrong password) is met, and reported, once.
    warm: Mutex<Option<tokio::task::JoinHandle<Result<()>>>>,
    opts: Options,
}

impl Remote {
    /// Prepares a client for `reference`'s repository. No request is made yet, except with
    /// `--insecure` for a remote host, where one ping decides between HTTPS and HTTP.
    pub fn connect(reference: &Reference, opts: Options) -> Result<Remote> {
        // Multi-threaded (two workers), so that several threads may share one `Remote`:
        // `verify` checks signatures while it downloads the module.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::registry(format!("cannot start the network runtime: {e}")))?;
        // The system's root certificates take tens of milliseconds to load: only HTTPS
        // registries verified against them get them.
        let client = |roots: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("wasipack/", env!("CARGO_PKG_VERSION")))
                .danger_accept_invalid_certs(opts.insecure)
                .tls_built_in_root_certs(roots)
                .connect_timeout(Duration::from_secs(15))
                .read_timeout(Duration::from_secs(120))
                .build()
                .map_err(|e| Error::registry(format!("cannot start the HTTP client: {e}")))
        };
        let credential = match &opts.credential {
            Some(c) => Some(c.clone()),
            None => auth::find(&reference.registry)?,
        };
        let host = if reference.registry == super::reference::DOCKER_HUB {
            "registry-1.docker.io".to_string()
        } else {
            reference.registry.clone()
        };
        let plain = reference.is_loopback()
            || (opts.insecure && !rt.block_on(https_answers(&client(false)?, &host)));
        let http = client(!plain && !opts.insecure)?;
        let scheme = if plain { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{host}/"))
            .map_err(|e| Error::Reference(format!("registry `{}`: {e}", reference.registry)))?;
        Ok(Remote {
            rt,
            inner: Arc::new(Inner {
                http,
                base,
                reference: reference.clone(),
                credential,
                authorization: Mutex::new(None),
                warm: Mutex::new(None),
                opts,
            }),
        })
    }

    pub fn reference(&self) -> &Reference {
        &self.inner.reference
    }

    /// Connects and authenticates (`GET /v2/`, answering its challenge with the scopes this
    /// client will ask for) in the background, while the caller does other work: a push
    /// hashes its module meanwhile. Requests made later start from the open connection and
    /// the token.
    pub fn warm_up(&self) {
        let inner = self.inner.clone();
        let handle = self.rt.spawn(async move {
            let url = inner.base.join("v2/").expect("static path");
            inner
                .send_now("GET /v2/", || inner.http.get(url.clone()), true)
                .await
                .map(drop)
        });
        *self.inner.warm.lock().expect("no panic") = Some(handle);
    }

    /// Checks that the registry answers `/v2/` with our credentials: what `login` verifies.
    pub fn ping(&self) -> Result<()> {
        let inner = self.inner.clone();
        self.rt.block_on(async move {
            let url = inner.base.join("v2/").expect("static path");
            let resp = inner
                .send("ping", || inner.http.get(url.clone()), true)
                .await?;
            inner.expect(resp, &[StatusCode::OK], "GET /v2/").await?;
            Ok(())
        })
    }

    /// Uploads blobs the registry lacks, `jobs` at a time. Duplicates are sent once.
    pub fn push_blobs(&self, blobs: &[(Descriptor, Blob)]) -> Result<Vec<(String, BlobOutcome)>> {
        let mut seen = std::collections::BTreeSet::new();
        let unique: Vec<(Descriptor, Blob)> = blobs
            .iter()
            .filter(|(d, _)| seen.insert(d.digest.clone()))
            .cloned()
            .collect();
        let inner = self.inner.clone();
        self.rt.block_on(async move {
            let limit = Arc::new(tokio::sync::Semaphore::new(inner.opts.jobs.max(1)));
            let mut set = tokio::task::JoinSet::new();
            for (d, b) in unique {
                let inner = inner.clone();
                let limit = limit.clone();
                set.spawn(async move {
                    let _permit = limit.acquire_owned().await.expect("semaphore open");
                    let outcome = inner.push_blob(&d, b).await?;
                    Ok::<_, Error>((d.digest, outcome))
                });
            }
            let mut out = Vec::new();
            let mut first_error = None;
            while let Some(joined) = set.join_next().await {
                let Ok(result) = joined else {
                    continue; // aborted after another upload failed
                };
                match result {
                    Ok(o) => out.push(o),
                    Err(e) => {
                        first_error.get_or_insert(e);
                        // One failure fails the push: stop the others rather than finish them.
                        set.abort_all();
                    }
                }
            }
            match first_error {
                Some(e) => Err(e),
                None => {
                    out.sort();
                    Ok(out)
                }
            }
        })
    }

    /// PUTs a manifest under `reference` (a tag or its digest). Returns whether the registry
    /// answered with `OCI-Subject`, i.e. it indexes referrers itself.
    pub fn put_manifest(&self, bytes: &[u8], media_type: &str, reference: &str) -> Result<bool> {
        let inner = self.inner.clone();
        let body = bytes::Bytes::copy_from_slice(bytes);
        let expected = crate::digest::sha256_digest(bytes);
        let media_type = media_type.to_string();
        let reference = reference.to_string();
        self.rt.block_on(async move {
            let url = inner.url(&format!("manifests/{reference}"))?;
            let what = format!("PUT manifest {reference}");
            let resp = inner
                .send(
                    &what,
                    || {
                        inner
                            .http
                            .put(url.clone())
                            .header(CONTENT_TYPE, &media_type)
                            .body(body.clone())
                    },
                    true,
                )
                .await?;
            let resp = inner
                .expect(resp, &[StatusCode::CREATED, StatusCode::OK], &what)
                .await?;
            if let Some(d) = header(resp.headers(), "docker-content-digest") {
                if d != expected {
                    return Err(
                        inner.protocol(&what, format!("the registry stored {d}, not {expected}"))
                    );
                }
            }
            Ok(resp.headers().contains_key("oci-subject"))
        })
    }

    /// GETs a manifest by tag or digest; `None` when the registry has no such manifest. The
    /// digest is checked against a digest reference and the registry's own header.
    pub fn get_manifest(&self, reference: &str) -> Result<Option<Fetched>> {
        let inner = self.inner.clone();
        let reference = reference.to_string();
        self.rt
            .block_on(async move { inner.get_manifest(&reference).await })
    }

    /// Streams a blob into `sink`, hashing as it goes; fails (after writing what came) when
    /// the bytes do not match the descriptor, so the caller must discard `sink` on error.
    pub fn download(&self, descriptor: &Descriptor, sink: &mut dyn std::io::Write) -> Result<()> {
        let inner = self.inner.clone();
        self.rt
            .block_on(async move { inner.download(descriptor, sink).await })
    }

    /// The referrers API's answer for `digest`: `None` when the registry does not have the
    /// API (then the `sha256-HEX` tag holds the fallback index).
    pub fn referrers(&self, digest: &str) -> Result<Option<Vec<Descriptor>>> {
        let inner = self.inner.clone();
        let digest = digest.to_string();
        self.rt.block_on(async move {
            let url = inner.url(&format!("referrers/{digest}"))?;
            let what = format!("GET referrers {digest}");
            let resp = inner
                .send(
                    &what,
                    || inner.http.get(url.clone()).header(ACCEPT, INDEX),
                    true,
                )
                .await?;
            if resp.status() == StatusCode::NOT_FOUND {
                return Ok(None);
            }
            let resp = inner.expect(resp, &[StatusCode::OK], &what).await?;
            let is_index =
                header(resp.headers(), "content-type").is_some_and(|t| t.starts_with(INDEX));
            let body = resp
                .bytes()
                .await
                .map_err(|e| inner.broken(&what, e.to_string(), e))?;
            if !is_index {
                // Something that is not a referrers index (a plain 200 from a proxy, say).
                return Ok(None);
            }
            let index: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| inner.protocol(&what, format!("not an index: {e}")))?;
            Ok(Some(
                index["manifests"]
                    .as_array()
                    .map(|m| {
                        m.iter()
                            .filter_map(|d| serde_json::from_value(d.clone()).ok())
                            .collect()
                    })
                    .unwrap_or_default(),
            ))
        })
    }
}

/// Whether `host` answers HTTPS at all (any status): `--insecure` falls back to HTTP if not.
async fn https_answers(http: &reqwest::Client, host: &str) -> bool {
    match Url::parse(&format!("https://{host}/v2/")) {
        Ok(url) => http.get(url).send().await.is_ok(),
        Err(_) => false,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

impl Inner {
    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(&format!("v2/{}/{path}", self.reference.repository))
            .map_err(|e| Error::Reference(format!("{}: {e}", self.reference)))
    }

    /// Bytes that are not what their digest says.
    fn mismatch(&self, message: &str) -> Error {
        Error::Integrity(format!(
            "{}/{}: {message}",
            self.reference.registry, self.reference.repository
        ))
    }

    /// `REGISTRY/REPO`, what every registry error names.
    fn place(&self) -> String {
        format!("{}/{}", self.reference.registry, self.reference.repository)
    }

    /// A failure with only a message.
    fn fail(&self, message: &str) -> Error {
        RegistryError::other(message).at(self.place()).into()
    }

    /// An answer to `what` that does not follow the protocol (not JSON, no token, ...).
    fn protocol(&self, what: &str, message: String) -> Error {
        RegistryError::other(message)
            .at(self.place())
            .during(what)
            .into()
    }

    /// No answer to `what`, or one cut off while its body was read.
    fn broken(&self, what: &str, message: String, e: reqwest::Error) -> Error {
        RegistryError::transport(message, e)
            .at(self.place())
            .during(what)
            .into()
    }

    fn scopes(&self) -> Vec<String> {
        let actions = if self.opts.push { "pull,push" } else { "pull" };
        let mut scopes = vec![format!(
            "repository:{}:{actions}",
            self.reference.repository
        )];
        for from in &self.opts.mount_from {
            scopes.push(format!("repository:{from}:pull"));
        }
        scopes
    }

    /// Sends a request built by `build` (called again for each attempt), authenticating on a
    /// 401 challenge and, when `retry`, retrying connection errors, 5xx and 429.
    async fn send(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
        retry: bool,
    ) -> Result<reqwest::Response> {
        let warm = self.warm.lock().expect("no panic").take();
        if let Some(handle) = warm {
            handle
                .await
                .map_err(|e| self.protocol("GET /v2/", e.to_string()))??;
        }
        self.send_now(what, build, retry).await
    }

    /// [`Inner::send`] without waiting for the warm-up.
    async fn send_now(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
        retry: bool,
    ) -> Result<reqwest::Response> {
        let mut attempt = 0;
        let mut challenged = false;
        loop {
            let mut request = build();
            let authorization = self.authorization.lock().expect("no panic").clone();
            if let Some(a) = &authorization {
                request = request.header(AUTHORIZATION, a);
            }
            let result = request.send().await;
            let retryable = match &result {
                Ok(resp) => {
                    let status = resp.status();
                    self.opts
                        .observer
                        .response(what, resp.url().path(), status.as_u16());
                    if status == StatusCode::UNAUTHORIZED {
                        let challenge = header(resp.headers(), "www-authenticate")
                            .and_then(auth::parse_challenge);
                        if challenged || challenge.is_none() {
                            return Err(self.auth_failed(what, status.as_u16()));
                        }
                        self.authenticate(challenge.expect("checked")).await?;
                        challenged = true;
                        continue;
                    }
                    RegistryErrorKind::of_status(status.as_u16(), None).retryable()
                }
                Err(e) => {
                    self.opts.observer.no_response(what, &describe(e));
                    RegistryErrorKind::Transport.retryable()
                }
            };
            if !(retry && retryable && attempt < self.opts.retries) {
                return result.map_err(|e| self.broken(what, describe(&e), e));
            }
            let wait = match &result {
                Ok(resp) => retry_after(resp.headers()),
                Err(_) => None,
            }
            .unwrap_or(self.opts.backoff * 2u32.pow(attempt));
            attempt += 1;
            tokio::time::sleep(wait.min(Duration::from_secs(60))).await;
        }
    }

    /// Credentials refused, or needed and not given: the answer to `what` had `status` (401,
    /// or 403 from a token request).
    fn auth_failed(&self, what: &str, status: u16) -> Error {
        let registry = &self.reference.registry;
        let message = match &self.credential {
            Some(c) => format!(
                "authentication failed as `{}` (wrong username or password, or no access to this repository)",
                c.username()
            ),
            None => format!(
                "the registry requires authentication: run `wasipack login {registry}` or pass --username with --password-stdin"
            ),
        };
        RegistryError::status(status, None, message)
            .at(self.place())
            .during(what)
            .into()
    }

    /// Answers a challenge: basic credentials, or a bearer token from the realm.
    async fn authenticate(&self, challenge: Challenge) -> Result<()> {
        let value = match challenge {
            Challenge::Basic => match self.credential.as_ref().and_then(|c| c.basic_header()) {
                Some(h) => h,
                None => return Err(self.auth_failed("authenticate", 401)),
            },
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let mut url = Url::parse(&realm)
                    .map_err(|e| self.fail(&format!("token realm `{realm}`: {e}")))?;
                let mut scopes = self.scopes();
                if let Some(s) = scope {
                    if !scopes.contains(&s) {
                        scopes.push(s);
                    }
                }
                let request = match &self.credential {
                    Some(Credential::IdentityToken(token)) => {
                        let mut form = vec![
                            ("grant_type", "refresh_token".to_string()),
                            ("refresh_token", token.clone()),
                            ("client_id", "wasipack".to_string()),
                            ("scope", scopes.join(" ")),
                        ];
                        if let Some(s) = &service {
                            form.push(("service", s.clone()));
                        }
                        self.http.post(url).form(&form)
                    }
                    credential => {
                        {
                            let mut q = url.query_pairs_mut();
                            if let Some(s) = &service {
                                q.append_pair("service", s);
                            }
                            for s in &scopes {
                                q.append_pair("scope", s);
                            }
                        }
                        let mut r = self.http.get(url);
                        if let Some(h) = credential.as_ref().and_then(|c| c.basic_header()) {
                            r = r.header(AUTHORIZATION, h);
                        }
                        r
                    }
                };
                let resp = request
                    .send()
                    .await
                    .map_err(|e| self.broken("token request", describe(&e), e))?;
                if matches!(
                    resp.status(),
                    StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
                ) {
                    return Err(self.auth_failed("token request", resp.status().as_u16()));
                }
                let resp = self
                    .expect(resp, &[StatusCode::OK], "token request")
                    .await?;
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| self.broken("token request", describe(&e), e))?;
                let body: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| self.protocol("token request", format!("not JSON: {e}")))?;
                let token = body["token"]
                    .as_str()
                    .or(body["access_token"].as_str())
                    .ok_or_else(|| {
                        self.protocol("token request", "the answer has no token".into())
                    })?;
                format!("Bearer {token}")
            }
        };
        *self.authorization.lock().expect("no panic") = Some(value);
        Ok(())
    }

    /// Passes `resp` through when its status is expected; otherwise an error quoting the
    /// registry's own error code and message.
    async fn expect(
        &self,
        resp: reqwest::Response,
        ok: &[StatusCode],
        what: &str,
    ) -> Result<reqwest::Response> {
        if ok.contains(&resp.status()) {
            return Ok(resp);
        }
        Err(self.status_error(resp, what).await)
    }

    /// An error for an unexpected answer, quoting the registry's own error code and message.
    async fn status_error(&self, resp: reqwest::Response, what: &str) -> Error {
        let status = resp.status();
        let body = resp.bytes().await.unwrap_or_default();
        RegistryError::answer(status.as_u16(), status.canonical_reason(), &body)
            .at(self.place())
            .during(what)
            .into()
    }

    async fn get_manifest(&self, reference: &str) -> Result<Option<Fetched>> {
        let url = self.url(&format!("manifests/{reference}"))?;
        let what = format!("GET manifest {reference}");
        let resp = self
            .send(
                &what,
                || self.http.get(url.clone()).header(ACCEPT, MANIFEST_ACCEPT),
                true,
            )
            .await?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let resp = self.expect(resp, &[StatusCode::OK], &what).await?;
        let header_digest = header(resp.headers(), "docker-content-digest").map(str::to_string);
        let content_type = header(resp.headers(), "content-type").map(str::to_string);
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| self.broken(&what, describe(&e), e))?
            .to_vec();
        let digest = crate::digest::sha256_digest(&bytes);
        if reference.starts_with("sha256:") && digest != reference {
            return Err(self.mismatch(&format!(
                "{what}: the registry sent a manifest whose digest is {digest}"
            )));
        }
        if let Some(d) = header_digest.filter(|d| d.starts_with("sha256:")) {
            if d != digest {
                return Err(self.mismatch(&format!(
                    "{what}: the registry says {d} but sent bytes whose digest is {digest}"
                )));
            }
        }
        let parsed: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| self.protocol(&what, format!("not JSON: {e}")))?;
        let media_type = parsed["mediaType"]
            .as_str()
            .map(str::to_string)
            .or(content_type)
            .unwrap_or_else(|| MANIFEST.to_string());
        Ok(Some(Fetched {
            bytes,
            media_type,
            digest,
        }))
    }

    async fn download(&self, d: &Descriptor, sink: &mut dyn std::io::Write) -> Result<()> {
        let url = self.url(&format!("blobs/{}", d.digest))?;
        let what = format!("GET blob {}", d.digest);
        let resp = self
            .send(&what, || self.http.get(url.clone()), true)
            .await?;
        let mut resp = self.expect(resp, &[StatusCode::OK], &what).await?;
        let bar = self.bar(d, "pull");
        let mut hasher = Sha256::new();
        let mut got = 0u64;
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| self.broken(&what, describe(&e), e))?
        {
            got += chunk.len() as u64;
            if got > d.size {
                bar.end(false);
                return Err(self.mismatch(&format!(
                    "{what}: the registry sent more than the {} bytes the manifest lists",
                    d.size
                )));
            }
            hasher.update(&chunk);
            sink.write_all(&chunk)
                .map_err(|e| self.protocol(&what, crate::text::io_message(&e)))?;
            bar.advance(chunk.len() as u64);
        }
        bar.end(true);
        let digest = format!("sha256:{}", crate::digest::hex(&hasher.finalize()));
        if got != d.size || digest != d.digest {
            return Err(self.mismatch(&format!(
                "{what}: the registry sent {got} bytes whose digest is {digest}; the manifest lists {} bytes",
                d.size
            )));
        }
        Ok(())
    }

    fn bar(&self, d: &Descriptor, verb: &str) -> Box<dyn Transfer> {
        self.opts.observer.transfer(verb, d)
    }

    async fn blob_exists(&self, d: &Descriptor) -> Result<bool> {
        let url = self.url(&format!("blobs/{}", d.digest))?;
        let what = format!("HEAD blob {}", d.digest);
        let resp = self
            .send(&what, || self.http.head(url.clone()), true)
            .await?;
        match resp.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.status_error(resp, &what).await),
        }
    }

    async fn push_blob(&self, d: &Descriptor, blob: Blob) -> Result<BlobOutcome> {
        if self.blob_exists(d).await? {
            return Ok(BlobOutcome::Present);
        }
        let mut session = None;
        for from in &self.opts.mount_from {
            match self.mount(d, from).await? {
                Ok(()) => return Ok(BlobOutcome::Mounted),
                // 202: the registry opened an upload session instead; use it.
                Err(Some(location)) => {
                    session = Some(location);
                    break;
                }
                Err(None) => continue,
            }
        }
        let body = blob;
        let bar = self.bar(d, "push");
        let mut attempt = 0;
        let mut chunk = self
            .opts
            .chunk_size
            .unwrap_or(if self.reference.registry == "ghcr.io" {
                SMALL_CHUNK
            } else {
                64 << 20
            });
        loop {
            let result = match session.take() {
                Some(location) => self.upload(d, &body, location, &*bar, chunk).await,
                None => match self.start_upload(d, Some(&body)).await {
                    Ok(None) => Ok(()),
                    Ok(Some(location)) => self.upload(d, &body, location, &*bar, chunk).await,
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(()) => {
                    bar.end(true);
                    return Ok(BlobOutcome::Uploaded);
                }
                Err(Upload::TooLarge(_)) if chunk > SMALL_CHUNK => {
                    self.opts.observer.note(&format!(
                        "upload {}: body too large; sending 4 MiB chunks",
                        d.digest
                    ));
                    chunk = SMALL_CHUNK;
                    bar.position(0);
                }
                Err(Upload::Retry(_)) if attempt < self.opts.retries => {
                    bar.position(0);
                    tokio::time::sleep(self.opts.backoff * 2u32.pow(attempt)).await;
                    attempt += 1;
                }
                Err(Upload::Retry(e) | Upload::Fatal(e) | Upload::TooLarge(e)) => {
                    bar.end(false);
                    return Err(e);
                }
            }
        }
    }

    /// `Ok(Ok(()))` when mounted; `Ok(Err(location))` when the registry declined and maybe
    /// opened an upload session.
    async fn mount(
        &self,
        d: &Descriptor,
        from: &str,
    ) -> Result<std::result::Result<(), Option<Url>>> {
        let mut url = self.url("blobs/uploads/")?;
        url.query_pairs_mut()
            .append_pair("mount", &d.digest)
            .append_pair("from", from);
        let what = format!("mount {} from {from}", d.digest);
        let resp = self
            .send(
                &what,
                || self.http.post(url.clone()).header(CONTENT_LENGTH, 0),
                true,
            )
            .await?;
        match resp.status() {
            StatusCode::CREATED => Ok(Ok(())),
            StatusCode::ACCEPTED => Ok(Err(self.location(resp.headers(), &url).ok())),
            _ => Ok(Err(None)),
        }
    }

    /// The `Location` header, resolved against the request URL (it may be relative).
    fn location(&self, headers: &HeaderMap, request: &Url) -> Result<Url> {
        let location = header(headers, LOCATION.as_str())
            .ok_or_else(|| self.fail("the registry opened an upload without a Location header"))?;
        request
            .join(location)
            .map_err(|e| self.fail(&format!("upload Location `{location}`: {e}")))
    }

    /// Opens an upload session and returns its location. A small `body` goes with the POST
    /// (the spec's single-request upload, `?digest=`): a registry that stores it answers 201
    /// and there is nothing left to do (`None`); one that does not answers 202 with a session,
    /// as to a bare POST, and the blob follows with a PUT. One that refuses such a POST
    /// outright (a 4xx other than 401) gets a bare one.
    async fn start_upload(
        &self,
        d: &Descriptor,
        body: Option<&bytes::Bytes>,
    ) -> std::result::Result<Option<Url>, Upload> {
        let base = self.url("blobs/uploads/").map_err(Upload::Fatal)?;
        let what = format!("start upload of {}", d.digest);
        if let Some(body) = body.filter(|b| b.len() <= SINGLE_POST) {
            let mut url = base.clone();
            url.query_pairs_mut().append_pair("digest", &d.digest);
            let resp = self
                .send(
                    &what,
                    || {
                        self.http
                            .post(url.clone())
                            .header(CONTENT_TYPE, "application/octet-stream")
                            .body(body.clone())
                    },
                    true,
                )
                .await
                .map_err(Upload::of)?;
            match resp.status() {
                StatusCode::CREATED => return Ok(None),
                StatusCode::ACCEPTED => {
                    return self
                        .location(resp.headers(), &url)
                        .map(Some)
                        .map_err(Upload::Fatal)
                }
                status if status.is_client_error() => {
                    self.opts.observer.note(&format!(
                        "{what}: single-request upload refused ({status}); opening a session"
                    ));
                }
                _ => {
                    let e = self.status_error(resp, &what).await;
                    return Err(Upload::Fatal(e));
                }
            }
        }
        let resp = self
            .send(
                &what,
                || self.http.post(base.clone()).header(CONTENT_LENGTH, 0),
                true,
            )
            .await
            .map_err(Upload::of)?;
        let resp = self
            .expect(resp, &[StatusCode::ACCEPTED], &what)
            .await
            .map_err(Upload::Fatal)?;
        self.location(resp.headers(), &base)
            .map(Some)
            .map_err(Upload::Fatal)
    }

    /// One upload attempt into an open session: one PUT for a small blob, PATCH chunks then a
    /// closing PUT for a large one. A registry that refuses chunks gets the blob whole.
    async fn upload(
        &self,
        d: &Descriptor,
        body: &bytes::Bytes,
        mut location: Url,
        bar: &dyn Transfer,
        chunk: usize,
    ) -> std::result::Result<(), Upload> {
        let chunk = chunk.max(1);
        let mut sent = 0usize;
        if body.len() > chunk {
            while sent < body.len() {
                let end = (sent + chunk).min(body.len());
                let piece = body.slice(sent..end);
                let what = format!("upload chunk of {}", d.digest);
                let url = location.clone();
                let resp = self
                    .send(
                        &what,
                        || {
                            self.http
                                .patch(url.clone())
                                .header(CONTENT_TYPE, "application/octet-stream")
                                .header("content-range", format!("{sent}-{}", end - 1))
                                .body(piece.clone())
                        },
                        false,
                    )
                    .await
                    .map_err(Upload::of)?;
                let status = resp.status();
                if status == StatusCode::ACCEPTED {
                    location = self.location(resp.headers(), &url).map_err(Upload::Fatal)?;
                    sent = end;
                    bar.position(sent as u64);
                    continue;
                }
                if sent == 0 && !RegistryErrorKind::of_status(status.as_u16(), None).retryable() {
                    // No chunked uploads here: send it whole in a fresh session.
                    self.opts.observer.note(&format!(
                        "{what}: chunks refused ({status}); uploading whole"
                    ));
                    location = self
                        .start_upload(d, None)
                        .await?
                        .expect("a bare POST opens a session");
                    break;
                }
                // Refused halfway (a session the registry dropped, a range it lost): a new
                // session starts over, unless it is the credentials that are refused.
                let e = self.status_error(resp, &what).await;
                return Err(match &e {
                    Error::Registry(r)
                        if matches!(
                            r.kind(),
                            RegistryErrorKind::Auth | RegistryErrorKind::Denied
                        ) =>
                    {
                        Upload::Fatal(e)
                    }
                    _ => Upload::Retry(e),
                });
            }
        }
        let mut url = location;
        url.query_pairs_mut().append_pair("digest", &d.digest);
        let what = format!("upload {}", d.digest);
        let rest = if sent == body.len() {
            bytes::Bytes::new()
        } else {
            body.clone()
        };
        let resp = self
            .send(
                &what,
                || {
                    self.http
                        .put(url.clone())
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .body(rest.clone())
                },
                false,
            )
            .await
            .map_err(Upload::of)?;
        let status = resp.status();
        if status == StatusCode::CREATED {
            bar.position(body.len() as u64);
            return Ok(());
        }
        let e = self.status_error(resp, &what).await;
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Err(Upload::TooLarge(e))
        } else {
            Err(Upload::of(e))
        }
    }
}

enum Upload {
    /// Worth a new session.
    Retry(Error),
    Fatal(Error),
    /// 413: send it again in smaller chunks.
    TooLarge(Error),
}

impl Upload {
    /// A request of an upload failed: worth a new session when the same request may succeed
    /// again (5xx, 429, a connection error), never for refused credentials or another 4xx.
    fn of(e: Error) -> Upload {
        if e.retryable() {
            Upload::Retry(e)
        } else {
            Upload::Fatal(e)
        }
    }
}

/// Blobs up to this size go up with the POST that opens the session (see `start_upload`): a
/// registry that ignores the body costs one resend of a few kilobytes.
const SINGLE_POST: usize = 256 << 10;

/// The chunk size ghcr.io accepts, and the fallback after a 413.
const SMALL_CHUNK: usize = 4 << 20;

/// `Retry-After` in seconds (the HTTP-date form is rare from registries and is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header(headers, "retry-after")?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A reqwest error in one line, with its cause (reqwest's own text omits it).
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_start_a_new_session_only_when_it_may_help() {
        let retry = |e: Error| matches!(Upload::of(e), Upload::Retry(_));
        let status = |s: u16| Error::from(RegistryError::status(s, None, "m"));
        assert!(retry(status(500)));
        assert!(retry(status(429)));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(retry(RegistryError::transport("cut off", io).into()));
        for s in [400, 401, 403, 404] {
            assert!(!retry(status(s)), "{s}");
        }
        assert!(!retry(Error::Integrity("mismatch".into())));
    }
}
