//! Keyless signing and its verification, the only place wasipack touches the sigstore-rust
//! crates (`sigstore-sign`, `sigstore-verify`, `sigstore-oidc`, `sigstore-trust-root`): an
//! OIDC identity token, a short-lived Fulcio certificate for a fresh key, the signature logged
//! in Rekor (v2 with an RFC 3161 timestamp, or v1), all in a Sigstore bundle v0.3; and the
//! reverse check of chain, timestamps, inclusion proof and identity against a trusted root.
//! Also a key's signatures logged in an instance's Rekor v2 with a timestamp ([`Log`], from the
//! lower crates `sigstore-rekor`, `sigstore-tsa` and `sigstore-bundle`: `sigstore-sign` signs
//! only with a Fulcio certificate), and their check ([`LoggedKeyVerifier`]).
//!
//! The crates are async; each call here runs on a small runtime of its own and blocks, like
//! the registry client. What the crates do not do, and is therefore done here: choosing the
//! token (`--identity-token`, `SIGSTORE_ID_TOKEN`, then the ambient CI token), regular
//! expressions over identity and issuer, and the GitHub workflow claims cosign's
//! `--certificate-github-workflow-*` options match.

use crate::error::{Doing, Failure, KeylessError, Result, Service};
use crate::sign::payload::{Rejected, Verdict};
use sigstore_oidc::IdentityToken;
use sigstore_sign::{SigningContext, SigningServices};
use sigstore_trust_root::{SigningConfig, TrustedRoot};
use sigstore_verify::{VerificationPolicy, Verifier};
use std::path::{Path, PathBuf};

/// The audience Fulcio accepts tokens for unless its configuration names another client ID.
pub const AUDIENCE: &str = "sigstore";

/// A token's `aud` claim, for a message: `` `a` ``, `` `a`, `b` ``, or `none`.
fn audience_text(aud: &sigstore_oidc::Audience) -> String {
    let quoted = |v: &[String]| {
        v.iter()
            .map(|a| format!("`{a}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match aud {
        sigstore_oidc::Audience::Single(a) => quoted(std::slice::from_ref(a)),
        sigstore_oidc::Audience::Multiple(v) if !v.is_empty() => quoted(v),
        _ => "none".into(),
    }
}

/// Which Sigstore instance to use: the public-good instance (trust root and signing config
/// through TUF, cached) unless files for a private one are given, as cosign's flags name them.
#[derive(Debug, Clone, Default)]
pub struct InstanceFiles {
    /// `--signing-config FILE`: where to sign (Fulcio, Rekor, the timestamp authority).
    pub signing_config: Option<PathBuf>,
    /// `--trusted-root FILE`: what to trust when verifying.
    pub trusted_root: Option<PathBuf>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| KeylessError::Service(format!("cannot start the async runtime: {e}")).into())
}

fn one_line(s: impl std::fmt::Display) -> String {
    s.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn instance_error(what: &Path, message: impl std::fmt::Display) -> KeylessError {
    KeylessError::Instance {
        what: what.display().to_string(),
        message: one_line(message),
    }
}

fn public_good(rt: &tokio::runtime::Runtime) -> Result<(TrustedRoot, SigningConfig)> {
    rt.block_on(sigstore_trust_root::fetch_trust_material(
        sigstore_trust_root::TufConfig::production(),
    ))
    .map_err(|e| {
        KeylessError::Instance {
            what: "the public-good Sigstore instance (TUF)".into(),
            message: one_line(e),
        }
        .into()
    })
}

impl InstanceFiles {
    /// The signing config (and its name in errors), and the trust root to check what the
    /// instance returns against (named): `--trusted-root`, else the public-good instance's
    /// when it signs there, else none (a private `--signing-config` alone).
    fn material(&self, rt: &tokio::runtime::Runtime) -> Result<Material> {
        let given = |path: &PathBuf| -> Result<(TrustedRoot, String)> {
            let root = TrustedRoot::from_file(path).map_err(|e| instance_error(path, e))?;
            Ok((root, path.display().to_string()))
        };
        Ok(match &self.signing_config {
            Some(path) => Material {
                config: SigningConfig::from_file(path).map_err(|e| instance_error(path, e))?,
                what: path.display().to_string(),
                root: self.trusted_root.as_ref().map(given).transpose()?,
            },
            None => {
                let (root, config) = public_good(rt)?;
                Material {
                    config,
                    what: "the public-good signing config".to_string(),
                    root: Some(match &self.trusted_root {
                        Some(path) => given(path)?,
                        None => (root, "the public-good trust root".to_string()),
                    }),
                }
            }
        })
    }

    /// The trust root to verify against.
    pub fn trusted_root(&self) -> Result<TrustedRoot> {
        match &self.trusted_root {
            Some(path) => Ok(TrustedRoot::from_file(path).map_err(|e| instance_error(path, e))?),
            None => Ok(public_good(&runtime()?)?.0),
        }
    }
}

/// What [`InstanceFiles::material`] reads.
struct Material {
    config: SigningConfig,
    what: String,
    root: Option<(TrustedRoot, String)>,
}

/// A trust root to check the bundles made against, and its name in a failure.
struct SelfCheck {
    root: TrustedRoot,
    what: String,
}

impl SelfCheck {
    fn new(root: Option<(TrustedRoot, String)>) -> Option<SelfCheck> {
        root.map(|(root, what)| SelfCheck { root, what })
    }

    fn unverifiable(&self, doing: Doing, Rejected(why): Rejected) -> KeylessError {
        KeylessError::Unverifiable {
            doing,
            what: self.what.clone(),
            why,
        }
    }
}

/// The `sha256:HEX` subject of an in-toto statement we made (its first).
fn statement_subject(statement: &[u8]) -> std::result::Result<String, KeylessError> {
    serde_json::from_slice::<serde_json::Value>(statement)
        .ok()
        .and_then(|s| {
            s["subject"][0]["digest"]["sha256"]
                .as_str()
                .map(|hex| format!("sha256:{hex}"))
        })
        .ok_or_else(|| KeylessError::Service("the statement signed names no sha256 subject".into()))
}

/// Where the identity token came from.
pub enum TokenSource {
    /// `--identity-token`: the token, or a file holding it (as cosign accepts).
    Flag(String),
    /// `SIGSTORE_ID_TOKEN`, else the ambient CI token (GitHub Actions).
    Environment,
}

fn parse_token(raw: &str, source_name: &'static str, audience: &str) -> Result<IdentityToken> {
    let bad = |message: String| KeylessError::Token {
        source_name,
        message,
    };
    let token = IdentityToken::from_jwt(raw.trim()).map_err(|e| bad(one_line(e)))?;
    if token.is_expired() {
        return Err(bad(format!("expired at {}", token.expiration())).into());
    }
    if !token.claims().aud.contains(audience) {
        return Err(bad(format!(
            "issued for audience {}, not `{audience}` (Fulcio would refuse it)",
            audience_text(&token.claims().aud)
        ))
        .into());
    }
    Ok(token)
}

/// The OIDC identity token to sign with: `--identity-token`, else `SIGSTORE_ID_TOKEN`, else
/// the ambient GitHub Actions token (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`, audience
/// `sigstore`); [`KeylessError::NoToken`] when there is none. It must be for `audience`.
fn identity_token(
    source: &TokenSource,
    audience: &str,
    rt: &tokio::runtime::Runtime,
) -> Result<IdentityToken> {
    match source {
        TokenSource::Flag(value) => {
            let path = Path::new(value);
            // A JWT has two dots and no slash; anything that names a file is read.
            if !value.contains('.') || value.contains('/') || path.is_file() {
                let raw = std::fs::read_to_string(path).map_err(|e| KeylessError::Token {
                    source_name: "--identity-token",
                    message: format!("{}: {}", path.display(), crate::text::io_message(&e)),
                })?;
                return parse_token(&raw, "--identity-token", audience);
            }
            parse_token(value, "--identity-token", audience)
        }
        TokenSource::Environment => {
            if let Ok(raw) = std::env::var("SIGSTORE_ID_TOKEN") {
                if !raw.trim().is_empty() {
                    return parse_token(&raw, "SIGSTORE_ID_TOKEN", audience);
                }
            }
            match rt.block_on(IdentityToken::detect_ambient()) {
                Ok(Some(token)) => parse_token(token.expose_secret(), "ambient CI token", audience),
                Ok(None) => Err(KeylessError::NoToken.into()),
                Err(e) => Err(KeylessError::Token {
                    source_name: "ambient CI token",
                    message: one_line(e),
                }
                .into()),
            }
        }
    }
}

/// A keyless signer: one identity token, the instance's services. Each signature gets a fresh
/// key and its own Fulcio certificate, is logged, and comes back as a bundle.
pub struct KeylessSigner {
    rt: tokio::runtime::Runtime,
    signer: sigstore_sign::Signer,
    /// What a failure names (shared with the concurrent signing tasks).
    named: std::sync::Arc<Named>,
    /// What each bundle is checked against before it is returned, as sigstore-go's signer does
    /// when given a trust root: a log, timestamp authority or CA the root does not name, or an
    /// answer altered on its way, fails here instead of in every verifier.
    check: Option<(SelfCheck, KeylessVerifier)>,
}

/// What a keyless signing failure names: the token's audience and issuer (when Fulcio
/// refuses it) and the services' URLs.
struct Named {
    audience: String,
    issuer: String,
    fulcio: String,
    rekor: String,
    tsa: String,
}

/// A bundle and what its certificate says about the signer.
#[derive(Debug, Clone)]
pub struct SignedBundle {
    /// The bundle's JSON bytes.
    pub json: Vec<u8>,
    /// The certificate's identity (email or URI) and OIDC issuer: what a verifier must expect.
    pub identity: String,
    pub issuer: String,
}

impl KeylessSigner {
    /// Resolves the token (for the audience [`AUDIENCE`]) and the services; nothing is
    /// signed yet.
    pub fn new(instance: &InstanceFiles, token: &TokenSource) -> Result<KeylessSigner> {
        KeylessSigner::for_audience(instance, token, AUDIENCE)
    }

    /// [`KeylessSigner::new`] for an instance whose Fulcio knows the token's issuer under
    /// another client ID: the token must be for `audience`.
    pub fn for_audience(
        instance: &InstanceFiles,
        token: &TokenSource,
        audience: &str,
    ) -> Result<KeylessSigner> {
        let rt = runtime()?;
        let token = identity_token(token, audience, &rt)?;
        let material = instance.material(&rt)?;
        let services = SigningServices::from_signing_config(&material.config)
            .map_err(|e| instance_error(Path::new(&material.what), e))?;
        let check = SelfCheck::new(material.root)
            .map(|check| -> Result<_> {
                let verifier = KeylessVerifier::new(&check.root, &check.what)?;
                Ok((check, verifier))
            })
            .transpose()?;
        let named = std::sync::Arc::new(Named {
            audience: audience_text(&token.claims().aud),
            issuer: token.issuer().to_string(),
            fulcio: services.fulcio_url().to_string(),
            rekor: services.rekor_url().to_string(),
            tsa: services.tsa_url().unwrap_or_default().to_string(),
        });
        let signer = SigningContext::new(services).signer(token);
        Ok(KeylessSigner {
            rt,
            signer,
            named,
            check,
        })
    }

    /// A message-signature bundle over `blob` (what `cosign sign-blob --bundle` writes).
    pub fn sign_blob(&self, blob: &[u8]) -> Result<SignedBundle> {
        let bundle = self.rt.block_on(retrying(|| async {
            match self.signer.sign(blob).await {
                Ok(bundle) => Ok(bundle),
                Err(e) => Err(failed(e, &self.named).await),
            }
        }))?;
        self.checked(signed(&bundle)?, Subject::Blob(blob))
    }

    /// DSSE bundles over several statements at once: each its own key, certificate, log
    /// entry and timestamp, requested concurrently (most of the time is waiting for Fulcio and
    /// for the log's next checkpoint). In the order given.
    pub fn sign_statements(&self, statements: &[Vec<u8>]) -> Result<Vec<SignedBundle>> {
        let bundles = self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (index, statement) in statements.iter().enumerate() {
                let signer = self.signer.clone();
                let named = self.named.clone();
                let statement = statement.clone();
                set.spawn(
                    async move { (index, sign_statement(&signer, &named, &statement).await) },
                );
            }
            let mut out: Vec<Option<_>> = statements.iter().map(|_| None).collect();
            while let Some(joined) = set.join_next().await {
                let (index, result) = joined.map_err(|e| {
                    KeylessError::Service(format!("a signing task failed: {}", one_line(e)))
                })?;
                out[index] = Some(result?);
            }
            Ok::<_, KeylessError>(out)
        })?;
        bundles
            .iter()
            .zip(statements)
            .map(|(b, statement)| {
                let bundle = signed(b.as_ref().expect("every task answered"))?;
                self.checked_statement(bundle, statement)
            })
            .collect()
    }

    /// A DSSE bundle over an in-toto statement (a cosign v3 image signature or attestation).
    pub fn sign_statement(&self, statement: &[u8]) -> Result<SignedBundle> {
        let bundle = self
            .rt
            .block_on(sign_statement(&self.signer, &self.named, statement))?;
        self.checked_statement(signed(&bundle)?, statement)
    }

    /// `bundle`, once it verifies against the trust root (when there is one) as a signature
    /// over `subject`.
    fn checked(&self, bundle: SignedBundle, subject: Subject<'_>) -> Result<SignedBundle> {
        if let Some((check, verifier)) = &self.check {
            // Any identity; the certificate's SCT only where the root names a CT log (a
            // private Fulcio may run without one).
            let policy = IdentityPolicy {
                ignore_sct: check.root.ctlogs.is_empty(),
                ..IdentityPolicy::default()
            };
            verifier
                .verify(subject, &bundle.json, &policy)
                .map_err(|r| check.unverifiable(Doing::KeylessSigning, r))?;
        }
        Ok(bundle)
    }

    /// [`KeylessSigner::checked`] for a DSSE bundle over `statement`, about its first subject.
    fn checked_statement(&self, bundle: SignedBundle, statement: &[u8]) -> Result<SignedBundle> {
        if self.check.is_none() {
            return Ok(bundle);
        }
        self.checked(bundle, Subject::Digest(&statement_subject(statement)?))
    }
}

async fn sign_statement(
    signer: &sigstore_sign::Signer,
    named: &Named,
    statement: &[u8],
) -> std::result::Result<sigstore_sign::types::Bundle, KeylessError> {
    retrying(|| async {
        match signer.sign_raw_statement(statement).await {
            Ok(bundle) => Ok(bundle),
            Err(e) => Err(failed(e, named).await),
        }
    })
    .await
}

/// How many times a request to a Sigstore service is made when it fails in a way that may
/// pass ([`KeylessError::retryable`]: unreachable, 5xx, 429), and the wait before the second
/// (doubled before each next). Each attempt is bounded by the crates' own 30 s request
/// timeout. Keyless signing tries again from the certificate on (a fresh key each time: a
/// certificate or log entry of an attempt that failed later signs nothing that is kept).
const ATTEMPTS: u32 = 3;
const BACKOFF: std::time::Duration = std::time::Duration::from_millis(500);

/// Runs `attempt` until it succeeds, fails in a way that may not pass, or [`ATTEMPTS`] ran
/// out; a service failure then says how many times it was tried.
async fn retrying<T, F, Fut>(mut attempt: F) -> std::result::Result<T, KeylessError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<T, KeylessError>>,
{
    let mut tried = 1;
    loop {
        match attempt().await {
            Err(e) if e.retryable() && tried < ATTEMPTS => {
                tokio::time::sleep(BACKOFF * 2u32.pow(tried - 1)).await;
                tried += 1;
            }
            Err(KeylessError::ServiceFailed {
                doing,
                service,
                url,
                failure,
                ..
            }) => {
                return Err(KeylessError::ServiceFailed {
                    doing,
                    service,
                    url,
                    failure,
                    attempts: tried,
                })
            }
            other => return other,
        }
    }
}

/// A keyless signing failure as a [`KeylessError`]: Fulcio refusing the certificate request
/// (a 4xx answer: it did not accept the token) names the token; a service that refused,
/// could not be reached or answered garbage is named with its URL; anything else is ours.
async fn failed(e: sigstore_sign::Error, named: &Named) -> KeylessError {
    use sigstore_sign::fulcio::Error as FulcioError;
    let at = |service, url: &str, failure| KeylessError::ServiceFailed {
        doing: Doing::KeylessSigning,
        service,
        url: url.to_string(),
        failure,
        attempts: 1,
    };
    match e {
        sigstore_sign::Error::Fulcio(FulcioError::Status { status, message })
            if (400..500).contains(&status) && status != 429 =>
        {
            KeylessError::Refused {
                audience: named.audience.clone(),
                issuer: named.issuer.clone(),
                message: format!("HTTP {status}: {}", one_line(message)),
            }
        }
        sigstore_sign::Error::Fulcio(e) => {
            let failure = match e {
                FulcioError::Status { status, message } => Failure::Status {
                    status,
                    message: said(&message),
                },
                FulcioError::Http(why) => Failure::Unreachable(one_line(why)),
                FulcioError::InvalidResponse(_) | FulcioError::Json(_) => {
                    Failure::Garbage(one_line(e))
                }
                other => return KeylessError::Service(one_line(other)),
            };
            at(Service::Fulcio, &named.fulcio, failure)
        }
        sigstore_sign::Error::Rekor(e) => {
            at(Service::TransparencyLog, &named.rekor, rekor_failure(e))
        }
        sigstore_sign::Error::Tsa(e) => at(
            Service::TimestampAuthority,
            &named.tsa,
            tsa_failure(&named.tsa, e).await,
        ),
        other => KeylessError::Service(one_line(other)),
    }
}

/// A service's own message, on one line and capped (a server may send a page of anything).
fn said(message: &str) -> String {
    crate::text::capped(&one_line(message), crate::error::MESSAGE_CAP).into_owned()
}

fn rekor_failure(e: sigstore_sign::rekor::Error) -> Failure {
    use sigstore_sign::rekor::Error as E;
    match e {
        E::Status { status, message } => Failure::Status {
            status,
            message: said(&message),
        },
        E::Http(why) => Failure::Unreachable(one_line(why)),
        other => Failure::Garbage(one_line(other)),
    }
}

/// A timestamp authority's failure. sigstore-tsa 0.15.1 reports a refusal (any status but
/// 2xx) and an unreachable server alike, as `Error::Http` with neither status nor body; so
/// for that error the TSA is asked once more here, with a timestamp query of our own, to learn
/// which it was and what it says. Its other errors are answers that are not a timestamp
/// response.
async fn tsa_failure(url: &str, e: sigstore_sign::tsa::Error) -> Failure {
    match e {
        sigstore_sign::tsa::Error::Http(why) => match ask_tsa(url).await {
            Some(failure) => failure,
            // It answers now: what failed did not last.
            None => Failure::Passing(one_line(why)),
        },
        other => Failure::Garbage(one_line(other)),
    }
}

/// An error and its causes on one line (reqwest says "error sending request" and leaves the
/// why to its sources).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !line.contains(&text) {
            line = format!("{line}: {text}");
        }
        source = cause.source();
    }
    one_line(line)
}

/// An RFC 3161 `TimeStampReq` (DER) for a SHA-256 imprint of 32 zero bytes, asking for the
/// TSA's certificate: version 1, the imprint (algorithm sha256 with NULL parameters, the
/// digest), `certReq TRUE`. Only to learn how a TSA answers ([`tsa_failure`]).
const TIMESTAMP_QUERY: [u8; 59] = {
    let head = [
        0x30, 0x39, 0x02, 0x01, 0x01, 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
        0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20,
    ];
    let mut q = [0u8; 59];
    let mut i = 0;
    while i < head.len() {
        q[i] = head[i];
        i += 1;
    }
    q[56] = 0x01;
    q[57] = 0x01;
    q[58] = 0xff;
    q
};

/// What the TSA at `url` answers a timestamp query: `None` for a timestamp (2xx).
async fn ask_tsa(url: &str) -> Option<Failure> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .ok()?;
    let answer = client
        .post(url)
        .header("Content-Type", "application/timestamp-query")
        .body(TIMESTAMP_QUERY.to_vec())
        .send()
        .await;
    match answer {
        Err(e) => Some(Failure::Unreachable(error_chain(&e))),
        Ok(answer) if answer.status().is_success() => None,
        Ok(answer) => {
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            Some(Failure::Status {
                status,
                message: said(&body),
            })
        }
    }
}

fn signed(bundle: &sigstore_sign::types::Bundle) -> Result<SignedBundle> {
    let service = |what: &str, e: &dyn std::fmt::Display| {
        KeylessError::Service(format!("{what}: {}", one_line(e)))
    };
    let json = bundle
        .to_json()
        .map_err(|e| service("cannot serialize the bundle", &e))?
        .into_bytes();
    let cert = bundle
        .signing_certificate()
        .ok_or_else(|| KeylessError::Service("the bundle holds no certificate".into()))?;
    let info = sigstore_sign::crypto::parse_certificate_info(cert)
        .map_err(|e| service("Fulcio's certificate does not parse", &e))?;
    Ok(SignedBundle {
        json,
        identity: info
            .identity
            .map(|i| i.as_str().to_string())
            .unwrap_or_default(),
        issuer: info.issuer.unwrap_or_default(),
    })
}

/// An instance's transparency log and timestamp authority, for signatures made with a key:
/// what cosign's `--tlog-upload` does with `--key`. Each signature is logged in Rekor v2 as a
/// `hashedrekord` entry whose verifier is the public key (over the message's SHA-256, or for a
/// DSSE envelope over its PAE's, as cosign v3 logs a key's DSSE signatures), timestamped by the
/// TSA when the signing config names one, and returned as a Sigstore bundle v0.3 whose
/// verification material is the key's hint.
pub struct Log {
    rt: tokio::runtime::Runtime,
    services: LogServices,
    /// What each bundle is checked against before it is returned, as for
    /// [`KeylessSigner`] (boxed: a trust root is large).
    check: Option<Box<SelfCheck>>,
}

/// The clients of a [`Log`], cloned into each concurrent request.
#[derive(Clone)]
struct LogServices {
    rekor: sigstore_sign::rekor::RekorV2Client,
    rekor_url: String,
    tsa: Option<(sigstore_sign::tsa::TimestampClient, String)>,
}

impl Log {
    /// The log and timestamp authority `instance`'s signing config names (the public-good
    /// instance's, through TUF, without one); `None` when it names no log (cosign's offline
    /// signing config, say). Nothing is sent yet.
    pub fn new(instance: &InstanceFiles) -> Result<Option<Log>> {
        let rt = runtime()?;
        let Material { config, what, root } = instance.material(&rt)?;
        let bad = |message: String| KeylessError::Instance {
            what: what.clone(),
            message,
        };
        let Some(rekor) = config.rekor_url(None) else {
            return Ok(None);
        };
        if rekor.major_api_version != 2 {
            return Err(bad(format!(
                "its transparency log {} is Rekor v{}; key signatures are logged in Rekor v2 only (pass --tlog-upload=false to sign without the log)",
                rekor.url, rekor.major_api_version
            ))
            .into());
        }
        let rekor_url = rekor.url.clone();
        let client = sigstore_sign::rekor::RekorV2Client::new(&rekor_url)
            .map_err(|e| bad(format!("{rekor_url}: {}", one_line(e))))?;
        let tsa = match config.tsa_url() {
            Some(tsa) => Some((
                sigstore_sign::tsa::TimestampClient::new(&tsa.url)
                    .map_err(|e| bad(format!("{}: {}", tsa.url, one_line(e))))?,
                tsa.url.clone(),
            )),
            None => None,
        };
        Ok(Some(Log {
            rt,
            services: LogServices {
                rekor: client,
                rekor_url,
                tsa,
            },
            check: SelfCheck::new(root).map(Box::new),
        }))
    }

    /// Logs and timestamps signatures at once (most of the time is waiting for the log's
    /// next checkpoint): each (SHA-256 of the signed message, DER signature, the bundle's
    /// content). Bundles in the order given.
    fn bundles(
        &self,
        key: &p256::ecdsa::VerifyingKey,
        signed: Vec<(
            [u8; 32],
            Vec<u8>,
            sigstore_sign::types::bundle::SignatureContent,
        )>,
    ) -> Result<Vec<Vec<u8>>> {
        let (der, hint) = public_key(key);
        let count = signed.len();
        let bundles = self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (index, (digest, signature, content)) in signed.into_iter().enumerate() {
                let services = self.services.clone();
                let (der, hint) = (der.clone(), hint.clone());
                set.spawn(async move {
                    let bundle = services
                        .bundle(&der, digest, signature, content, hint)
                        .await;
                    (index, bundle)
                });
            }
            let mut out: Vec<Option<Vec<u8>>> = vec![None; count];
            while let Some(joined) = set.join_next().await {
                let (index, bundle) = joined.map_err(|e| {
                    KeylessError::Log(format!("a logging task failed: {}", one_line(e)))
                })?;
                out[index] = Some(bundle?);
            }
            Ok::<_, crate::Error>(out)
        })?;
        Ok(bundles
            .into_iter()
            .map(|b| b.expect("every task answered"))
            .collect())
    }

    /// Bundles of DSSE envelopes: each (in-toto statement, `key`'s DER signature over its
    /// PAE), logged over the PAE's SHA-256; in the order given.
    pub fn dsse_bundles(
        &self,
        key: &p256::ecdsa::VerifyingKey,
        signed: &[(Vec<u8>, Vec<u8>)],
    ) -> Result<Vec<Vec<u8>>> {
        use sigstore_sign::types::bundle::SignatureContent;
        use sigstore_sign::types::{DsseEnvelope, DsseSignature, KeyId, PayloadBytes};
        let each = signed
            .iter()
            .map(|(statement, signature)| {
                let envelope = DsseEnvelope::new(
                    super::payload::IN_TOTO,
                    PayloadBytes::from(statement.clone()),
                    DsseSignature::new(
                        sigstore_sign::types::SignatureBytes::new(signature.clone()),
                        KeyId::default(),
                    ),
                );
                let digest = sha256(&envelope.pae());
                (
                    digest,
                    signature.clone(),
                    SignatureContent::DsseEnvelope(envelope),
                )
            })
            .collect();
        let bundles = self.bundles(key, each)?;
        if self.check.is_some() {
            let subjects = signed
                .iter()
                .map(|(statement, _)| statement_subject(statement))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            self.checked(
                key,
                subjects
                    .iter()
                    .map(|digest| Subject::Digest(digest))
                    .zip(bundles.iter().map(Vec::as_slice)),
            )?;
        }
        Ok(bundles)
    }

    /// Checks the bundles `key` signed, each about its subject, against the trust root, when
    /// there is one.
    fn checked<'a>(
        &self,
        key: &p256::ecdsa::VerifyingKey,
        bundles: impl IntoIterator<Item = (Subject<'a>, &'a [u8])>,
    ) -> Result<()> {
        let Some(check) = &self.check else {
            return Ok(());
        };
        let verifier = LoggedKeyVerifier::new(&check.root, &check.what, key)?;
        for (subject, bundle) in bundles {
            verifier
                .verify(subject, bundle)
                .map_err(|r| check.unverifiable(Doing::Logging, r))?;
        }
        Ok(())
    }

    /// The bundle of a message signature (`sign-blob`): `key`'s DER signature over `blob`.
    pub fn message_bundle(
        &self,
        key: &p256::ecdsa::VerifyingKey,
        blob: &[u8],
        signature: &[u8],
    ) -> Result<Vec<u8>> {
        use sigstore_sign::types::bundle::{MessageDigest, MessageSignature, SignatureContent};
        let digest = sha256(blob);
        let content = SignatureContent::MessageSignature(
            MessageSignature::new(sigstore_sign::types::SignatureBytes::new(
                signature.to_vec(),
            ))
            .with_message_digest(MessageDigest::new(
                sigstore_sign::types::HashAlgorithm::Sha2256,
                digest.to_vec().into(),
            )),
        );
        let bundle = self
            .bundles(key, vec![(digest, signature.to_vec(), content)])?
            .remove(0);
        self.checked(key, [(Subject::Blob(blob), bundle.as_slice())])?;
        Ok(bundle)
    }
}

impl LogServices {
    /// Logs one signature made by `key` over a message whose SHA-256 is `digest`, timestamps
    /// it, and returns its bundle.
    async fn bundle(
        &self,
        key: &sigstore_sign::types::DerPublicKey,
        digest: [u8; 32],
        signature: Vec<u8>,
        content: sigstore_sign::types::bundle::SignatureContent,
        hint: String,
    ) -> Result<Vec<u8>> {
        use sigstore_sign::rekor::{HashedRekordV2, RekorV2KeyDetails};
        let signature = sigstore_sign::types::SignatureBytes::new(signature);
        let request = HashedRekordV2::new_with_public_key(
            &sigstore_sign::types::Sha256Hash::from(digest),
            &signature,
            key,
            RekorV2KeyDetails::PkixEcdsaP256Sha256,
        );
        let at = |service, url: &str, failure| KeylessError::ServiceFailed {
            doing: Doing::Logging,
            service,
            url: url.to_string(),
            failure,
            attempts: 1,
        };
        let entry = retrying(|| async {
            self.rekor
                .create_entry(request.clone())
                .await
                .map_err(|e| at(Service::TransparencyLog, &self.rekor_url, rekor_failure(e)))
        })
        .await?;
        let mut bundle = sigstore_sign::bundle::BundleV03::new(
            sigstore_sign::bundle::VerificationMaterialV03::PublicKey { hint },
            content,
        )
        .with_tlog_entry(entry);
        if let Some((tsa, url)) = &self.tsa {
            let token = retrying(|| async {
                match tsa.timestamp_signature(&signature).await {
                    Ok(token) => Ok(token),
                    Err(e) => Err(at(
                        Service::TimestampAuthority,
                        url,
                        tsa_failure(url, e).await,
                    )),
                }
            })
            .await?;
            bundle = bundle.with_rfc3161_timestamp(token);
        }
        let json = bundle.into_bundle().to_json().map_err(|e| {
            KeylessError::Log(format!("cannot serialize the bundle: {}", one_line(e)))
        })?;
        Ok(json.into_bytes())
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// A P-256 key as the crates take it (SPKI DER), and the hint cosign writes for it.
fn public_key(key: &p256::ecdsa::VerifyingKey) -> (sigstore_sign::types::DerPublicKey, String) {
    use p256::pkcs8::EncodePublicKey;
    let der = key.to_public_key_der().expect("a P-256 public key encodes");
    (
        sigstore_sign::types::DerPublicKey::new(der.as_bytes().to_vec()),
        super::bundle::hint(key),
    )
}

/// Verifies key signatures with their log entries, as `cosign verify --key` does without
/// `--insecure-ignore-tlog`: the signature with the key, the entry's inclusion proof against a
/// checkpoint signed by a log the trust root names, the entry's body against the signature and
/// key, and any RFC 3161 timestamp against the root's timestamp authorities.
pub struct LoggedKeyVerifier {
    verifier: Verifier,
    policy: sigstore_verify::PublicKeyVerificationPolicy,
    /// As for [`KeylessVerifier`].
    logs: Vec<String>,
}

impl LoggedKeyVerifier {
    pub fn new(
        root: &TrustedRoot,
        what: &str,
        key: &p256::ecdsa::VerifyingKey,
    ) -> Result<LoggedKeyVerifier> {
        Ok(LoggedKeyVerifier {
            verifier: Verifier::new(root).map_err(|e| KeylessError::Instance {
                what: what.to_string(),
                message: one_line(e),
            })?,
            policy: sigstore_verify::PublicKeyVerificationPolicy::new(public_key(key).0),
            logs: root_logs(root),
        })
    }

    /// Checks one bundle about `subject`; what it returns are the times the timestamp
    /// authority vouched for (RFC 3339).
    pub fn verify(&self, subject: Subject<'_>, bundle_json: &[u8]) -> Verdict<Vec<String>> {
        let bundle = parse_bundle(bundle_json)?;
        if bundle.verification_material.tlog_entries.is_empty() {
            return Err(Rejected::from(
                "not logged: the bundle holds no transparency log entry (signed without an instance or with --tlog-upload=false)",
            ));
        }
        let result = match subject {
            Subject::Blob(bytes) => self.verifier.verify(bytes, &bundle, &self.policy),
            Subject::Digest(digest) => {
                self.verifier
                    .verify(digest_hash(digest)?, &bundle, &self.policy)
            }
        }
        .map_err(|e| {
            Rejected(format!(
                "log entry: {}",
                which_log(&e, &bundle, &self.logs).unwrap_or(one_line(e))
            ))
        })?;
        Ok(result
            .verified_timestamps()
            .iter()
            .map(|t| t.to_string())
            .collect())
    }
}

fn parse_bundle(bundle_json: &[u8]) -> Verdict<sigstore_verify::types::Bundle> {
    let text = std::str::from_utf8(bundle_json)
        .map_err(|_| Rejected::from("the bundle is not UTF-8 JSON"))?;
    sigstore_verify::types::Bundle::from_json(text)
        .map_err(|e| Rejected(format!("the bundle does not parse: {}", one_line(e))))
}

fn digest_hash(digest: &str) -> Verdict<sigstore_verify::types::Sha256Hash> {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    sigstore_verify::types::Sha256Hash::from_hex(hex)
        .map_err(|e| Rejected(format!("digest {digest}: {}", one_line(e))))
}

/// One expectation on a string a certificate carries: equal to a value, or matched by a
/// regular expression (anchored, as cosign's `-regexp` options are in Go's `MatchString`
/// sense: unanchored unless the pattern anchors itself).
#[derive(Debug, Clone)]
pub enum Expect {
    Exact(String),
    Regexp(regex::Regex),
}

impl Expect {
    /// From the exact and the `-regexp` option of one claim; `option` names the latter in a
    /// bad pattern's error.
    pub fn from_options(
        exact: Option<&str>,
        regexp: Option<&str>,
        option: &str,
    ) -> Result<Option<Expect>> {
        match (exact, regexp) {
            (Some(e), _) => Ok(Some(Expect::Exact(e.to_string()))),
            (None, Some(r)) => regex::Regex::new(r)
                .map(|r| Some(Expect::Regexp(r)))
                .map_err(|e| crate::Error::Usage(format!("{option} `{r}`: {}", one_line(e)))),
            (None, None) => Ok(None),
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Expect::Exact(e) => e == value,
            Expect::Regexp(r) => r.is_match(value),
        }
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expect::Exact(e) => write!(f, "`{e}`"),
            Expect::Regexp(r) => write!(f, "a match of /{}/", r.as_str()),
        }
    }
}

/// What a keyless signature's certificate must say: identity and issuer (one of each is
/// required, as cosign requires), and optionally the GitHub workflow claims.
#[derive(Debug, Clone, Default)]
pub struct IdentityPolicy {
    pub identity: Option<Expect>,
    pub issuer: Option<Expect>,
    /// `--certificate-github-workflow-repository` (`owner/repo`), `-ref`, `-sha`, `-trigger`,
    /// `-name`: Fulcio's GitHub extensions (OIDs 1.3.6.1.4.1.57264.1.2 to .6).
    pub github_repository: Option<String>,
    pub github_ref: Option<String>,
    pub github_sha: Option<String>,
    pub github_trigger: Option<String>,
    pub github_name: Option<String>,
    /// `--insecure-ignore-sct`: accept a certificate without a CT log's timestamp (a private
    /// Fulcio that runs without a CT log).
    pub ignore_sct: bool,
}

impl IdentityPolicy {
    /// Whether any keyless expectation was given (else the signature must be a key's).
    pub fn is_set(&self) -> bool {
        self.identity.is_some() || self.issuer.is_some()
    }
}

/// What a verified keyless bundle's certificate says.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Verified {
    pub identity: String,
    pub issuer: String,
    /// The signing times the timestamp authority or the log vouched for (RFC 3339).
    pub timestamps: Vec<String>,
}

/// Verifies one keyless bundle: for a message signature, over `artifact`'s bytes; for a DSSE
/// envelope, over the statement whose subject is `artifact` (a digest). Chain, timestamps,
/// log inclusion and the identity policy; a failure is [`Rejected`] with the one line that
/// names what did not match.
pub struct KeylessVerifier {
    verifier: Verifier,
    /// The root's timestamp authorities, to name the time a rejected certificate was judged at.
    tsas: Vec<sigstore_verify::tsa::TsaAuthority>,
    /// The root's logs' URLs, to name them when a bundle's log is not among them.
    logs: Vec<String>,
}

/// The artifact a bundle must be about.
pub enum Subject<'a> {
    /// A blob's bytes (`sign-blob`).
    Blob(&'a [u8]),
    /// A manifest digest, `sha256:HEX` (a DSSE statement's subject).
    Digest(&'a str),
}

impl KeylessVerifier {
    pub fn new(root: &TrustedRoot, what: &str) -> Result<KeylessVerifier> {
        Ok(KeylessVerifier {
            verifier: Verifier::new(root).map_err(|e| KeylessError::Instance {
                what: what.to_string(),
                message: one_line(e),
            })?,
            tsas: root.tsa_authorities(),
            logs: root_logs(root),
        })
    }

    pub fn verify(
        &self,
        subject: Subject<'_>,
        bundle_json: &[u8],
        policy: &IdentityPolicy,
    ) -> Verdict<Verified> {
        let bundle = parse_bundle(bundle_json)?;
        let mut vp = VerificationPolicy::any_identity();
        if policy.ignore_sct {
            vp = vp.skip_sct();
        }
        let result = match subject {
            Subject::Blob(bytes) => self.verifier.verify(bytes, &bundle, &vp),
            Subject::Digest(digest) => self.verifier.verify(digest_hash(digest)?, &bundle, &vp),
        }
        .map_err(|e| {
            Rejected(
                outside_validity(&e, &bundle, &self.tsas)
                    .or_else(|| which_log(&e, &bundle, &self.logs))
                    .or_else(|| another_subject(&e, &bundle, &subject))
                    .unwrap_or(one_line(e)),
            )
        })?;
        let cert = result.certificate().ok_or_else(|| {
            Rejected::from("the bundle has no signing certificate (a key's signature, not keyless)")
        })?;
        let identity = result
            .identity()
            .map(|i| i.as_str().to_string())
            .unwrap_or_default();
        let issuer = result.issuer().unwrap_or_default().to_string();
        let check = |name: &str, expect: &Option<Expect>, found: &str| -> Verdict {
            match expect {
                Some(e) if !e.matches(found) => Err(Rejected(format!(
                    "certificate {name}: expected {e}, found `{found}`"
                ))),
                _ => Ok(()),
            }
        };
        check("identity", &policy.identity, &identity)?;
        check("OIDC issuer", &policy.issuer, &issuer)?;
        let gh = &cert.ci_claims.deprecated_github;
        for (name, expect, found) in [
            (
                "GitHub workflow repository",
                &policy.github_repository,
                &gh.workflow_repository,
            ),
            ("GitHub workflow ref", &policy.github_ref, &gh.workflow_ref),
            ("GitHub workflow sha", &policy.github_sha, &gh.workflow_sha),
            (
                "GitHub workflow trigger",
                &policy.github_trigger,
                &gh.workflow_trigger,
            ),
            (
                "GitHub workflow name",
                &policy.github_name,
                &gh.workflow_name,
            ),
        ] {
            if let Some(expected) = expect {
                let found = found.as_deref().unwrap_or("");
                if found != expected {
                    return Err(Rejected(format!(
                        "certificate {name}: expected `{expected}`, found `{found}`"
                    )));
                }
            }
        }
        Ok(Verified {
            identity,
            issuer,
            timestamps: result
                .verified_timestamps()
                .iter()
                .map(|t| t.to_string())
                .collect(),
        })
    }
}

/// The URLs of the logs `root` names.
fn root_logs(root: &TrustedRoot) -> Vec<String> {
    root.tlogs.iter().map(|l| l.base_url.clone()).collect()
}

/// A rejection that comes down to the log (an entry whose log the trust root does not name, a
/// checkpoint no key of the root signed), said with which log: the entry's checkpoint origin
/// and log ID, and the logs the root names. `None` for every other rejection.
fn which_log(
    e: &sigstore_verify::Error,
    bundle: &sigstore_verify::types::Bundle,
    logs: &[String],
) -> Option<String> {
    use sigstore_verify::{Error, TransparencyLogError as Log};
    if !matches!(
        e,
        Error::TransparencyLog(Log::UnknownLog { .. } | Log::Checkpoint(_))
    ) {
        return None;
    }
    let entry = bundle.verification_material.tlog_entries.first()?;
    let origin = entry
        .inclusion_proof
        .as_ref()
        .and_then(|p| p.checkpoint.envelope().lines().next())
        .unwrap_or("(no checkpoint)");
    let named = if logs.is_empty() {
        "no log".to_string()
    } else {
        logs.join(", ")
    };
    Some(format!(
        "{}: the entry is in the log `{}` (log ID {}), the trust root names {named}",
        one_line(e),
        crate::text::printable(origin),
        entry.log_id.key_id.to_base64(),
    ))
}

/// A rejection that comes down to the signing certificate's validity window, said plainly
/// with the window: no trusted time at all to place the signature inside it (a Rekor v2 entry
/// has no time of its own, so without an RFC 3161 timestamp there is none), or a timestamp
/// that a trusted authority signed (checked again here, to name it) lying outside it. `None`
/// for every other rejection, whose own line stands.
fn outside_validity(
    e: &sigstore_verify::Error,
    bundle: &sigstore_verify::types::Bundle,
    tsas: &[sigstore_verify::tsa::TsaAuthority],
) -> Option<String> {
    use sigstore_verify::types::bundle::SignatureContent;
    use sigstore_verify::{CertificateError, Error, TimestampError};
    let cert =
        sigstore_verify::crypto::parse_certificate_info(bundle.signing_certificate()?).ok()?;
    let window = format!(
        "its certificate's validity, {} to {}",
        cert.not_before, cert.not_after
    );
    match e {
        Error::Timestamp(TimestampError::NoVerifiedTimestamp(_)) => Some(format!(
            "no verified timestamp places the signature inside {window}: the bundle has no RFC 3161 timestamp from a trusted timestamp authority and no log entry with a signed integrated time (a Rekor v2 entry has none)"
        )),
        Error::Certificate(
            CertificateError::ChainInvalid(_)
            | CertificateError::Expired { .. }
            | CertificateError::NotYetValid { .. },
        ) => {
            let signature = match &bundle.content {
                SignatureContent::MessageSignature(m) => &m.signature,
                SignatureContent::DsseEnvelope(d) => &d.signature.sig,
                _ => return None,
            };
            let outside = bundle
                .verification_material
                .timestamp_verification_data
                .rfc3161_timestamps
                .iter()
                .filter_map(|ts| {
                    tsas.iter().find_map(|authority| {
                        sigstore_verify::tsa::verify_timestamp_for_authority(
                            &ts.signed_timestamp,
                            signature,
                            authority,
                        )
                        .ok()
                    })
                })
                .find(|time| *time < cert.not_before || *time > cert.not_after)?;
            Some(format!(
                "the signing time {outside} that the timestamp authority vouched for lies outside {window}"
            ))
        }
        _ => None,
    }
}

/// A DSSE statement about another artifact, said with the digests: what its subject is, and
/// what it had to be. `None` for every other rejection.
fn another_subject(
    e: &sigstore_verify::Error,
    bundle: &sigstore_verify::types::Bundle,
    subject: &Subject<'_>,
) -> Option<String> {
    use sigstore_verify::types::bundle::SignatureContent;
    let (
        sigstore_verify::Error::ArtifactMismatch(_),
        SignatureContent::DsseEnvelope(d),
        Subject::Digest(wanted),
    ) = (e, &bundle.content, subject)
    else {
        return None;
    };
    let statement: serde_json::Value = serde_json::from_slice(d.payload.as_bytes()).ok()?;
    let named: Vec<String> = statement["subject"]
        .as_array()?
        .iter()
        .map(|s| format!("sha256:{}", s["digest"]["sha256"].as_str().unwrap_or("?")))
        .collect();
    Some(format!(
        "its statement's subject is {}, not this artifact ({wanted})",
        named.join(", ")
    ))
}

/// Whether a bundle's verification material is a certificate (keyless) rather than a key hint.
pub fn is_keyless(bundle_json: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bundle_json)
        .map(|v| {
            let m = &v["verificationMaterial"];
            m["certificate"].is_object() || m["x509CertificateChain"].is_object()
        })
        .unwrap_or(false)
}
