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

/// The smallest chunk an upload is split into: a smaller one would send a request per few
/// bytes (and 0 would never end).
pub const MIN_CHUNK: usize = 64 << 10;

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
    /// The overall deadline of one request, from connecting until its answer's body has
    /// been read: a registry that dribbles a byte every few seconds is cut off here rather
    /// than kept forever (the read timeout alone never fires). A request that carries a blob
    /// (its download, an upload or a chunk) gets this plus the time its size takes at
    /// [`SLOWEST_RATE`] ([`Options::deadline_for`]). A request past its deadline fails with
    /// [`RegistryErrorKind::Timeout`], which is not retried.
    pub timeout: Duration,
}

/// How long a response may send nothing before it is given up.
pub(super) const READ_TIMEOUT: Duration = Duration::from_secs(120);

/// The default of [`Options::timeout`].
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The slowest transfer a blob request is given time for: 256 KiB/s (a 150 MB module may
/// take ten minutes more than [`Options::timeout`]).
pub const SLOWEST_RATE: u64 = 256 << 10;

impl Options {
    /// The deadline of a request that carries `bytes` of blob data.
    pub fn deadline_for(&self, bytes: u64) -> Duration {
        self.timeout + Duration::from_millis(bytes.saturating_mul(1000) / SLOWEST_RATE)
    }
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
            timeout: DEFAULT_TIMEOUT,
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
    opts: Options,
}

impl Remote {
    /// Prepares a client for `reference`'s repository. No request is made yet, except with
    /// `--insecure` for a remote host, where one ping decides between HTTPS and HTTP.
    pub fn connect(reference: &Reference, opts: Options) -> Result<Remote> {
        if let Some(chunk) = opts.chunk_size.filter(|c| *c < MIN_CHUNK) {
            return Err(Error::Usage(format!(
                "--chunk-size {chunk}: chunks must be at least {MIN_CHUNK} bytes (64 KiB)"
            )));
        }
        // Multi-threaded (two workers), so that several threads may share one `Remote`:
        // `verify` checks signatures while it downloads the module.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| Error::registry(format!("cannot start the network runtime: {e}")))?;
        // The system's root certificates take tens of milliseconds to load: only HTTPS
        // registries verified against them get them.
        super::reference::check_registry(&reference.registry)?;
        let plain_allowed = opts.insecure || reference.is_loopback();
        let client = |roots: bool| {
            reqwest::Client::builder()
                .user_agent(concat!("wasipack/", env!("CARGO_PKG_VERSION")))
                .redirect(request::redirect_policy(plain_allowed))
                .danger_accept_invalid_certs(opts.insecure)
                .tls_built_in_root_certs(roots)
                .connect_timeout(Duration::from_secs(15))
                .read_timeout(READ_TIMEOUT)
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
            || (opts.insecure && !rt.block_on(https_answers(&client(false)?, &host, opts.timeout)));
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
                opts,
            }),
        })
    }

    pub fn reference(&self) -> &Reference {
        &self.inner.reference
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
        Ok(match self.referrers_answer(digest)? {
            Referrers::Listed(list) => Some(list),
            Referrers::NoApi | Referrers::NoRepository => None,
        })
    }

    /// Whether the registry has the referrers API: `None` when it cannot tell yet, because
    /// the repository does not exist (go-containerregistry's registry answers a listing in
    /// an unknown repository with `404 NAME_UNKNOWN`, as any registry would for a manifest).
    pub fn has_referrers_api(&self, digest: &str) -> Result<Option<bool>> {
        Ok(match self.referrers_answer(digest)? {
            Referrers::Listed(_) => Some(true),
            Referrers::NoApi => Some(false),
            Referrers::NoRepository => None,
        })
    }

    fn referrers_answer(&self, digest: &str) -> Result<Referrers> {
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
                // Distribution 2.8 answers `404 page not found`, crane's registry without the
                // API `METHOD_UNKNOWN`; only an API that lists referrers says the repository
                // is unknown.
                let body = resp.bytes().await.unwrap_or_default();
                let code = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["errors"][0]["code"].as_str().map(str::to_string));
                return Ok(match code.as_deref() {
                    Some("NAME_UNKNOWN") => Referrers::NoRepository,
                    _ => Referrers::NoApi,
                });
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
                return Ok(Referrers::NoApi);
            }
            let index: serde_json::Value = serde_json::from_slice(&body)
                .map_err(|e| inner.protocol(&what, format!("not an index: {e}")))?;
            Ok(Referrers::Listed(
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

/// What `GET /v2/NAME/referrers/DIGEST` said.
enum Referrers {
    Listed(Vec<Descriptor>),
    NoApi,
    NoRepository,
}

/// Whether `host` answers HTTPS at all (any status): `--insecure` falls back to HTTP if not.
pub(super) async fn https_answers(http: &reqwest::Client, host: &str, deadline: Duration) -> bool {
    match Url::parse(&format!("https://{host}/v2/")) {
        Ok(url) => http.get(url).timeout(deadline).send().await.is_ok(),
        Err(_) => false,
    }
}

pub(super) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

mod request;
mod transfer;

use request::describe;
