//! Keyless signing and its verification, the only place wasipack touches the sigstore-rust
//! crates (`sigstore-sign`, `sigstore-verify`, `sigstore-oidc`, `sigstore-trust-root`): an
//! OIDC identity token, a short-lived Fulcio certificate for a fresh key, the signature logged
//! in Rekor (v2 with an RFC 3161 timestamp, or v1), all in a Sigstore bundle v0.3; and the
//! reverse check of chain, timestamps, inclusion proof and identity against a trusted root.
//!
//! The crates are async; each call here runs on a small runtime of its own and blocks, like
//! the registry client. What the crates do not do, and is therefore done here: choosing the
//! token (`--identity-token`, `SIGSTORE_ID_TOKEN`, then the ambient CI token), regular
//! expressions over identity and issuer, and the GitHub workflow claims cosign's
//! `--certificate-github-workflow-*` options match.

use crate::error::{KeylessError, Result};
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
    /// The services to sign with.
    fn signing_services(&self, rt: &tokio::runtime::Runtime) -> Result<SigningServices> {
        let config = match &self.signing_config {
            Some(path) => SigningConfig::from_file(path).map_err(|e| instance_error(path, e))?,
            None => public_good(rt)?.1,
        };
        SigningServices::from_signing_config(&config).map_err(|e| {
            let what = self
                .signing_config
                .as_deref()
                .unwrap_or(Path::new("the public-good signing config"));
            instance_error(what, e).into()
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
    /// The token's audience and issuer, to name when Fulcio refuses it.
    audience: String,
    issuer: String,
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
        let services = instance.signing_services(&rt)?;
        let (audience, issuer) = (
            audience_text(&token.claims().aud),
            token.issuer().to_string(),
        );
        let signer = SigningContext::new(services).signer(token);
        Ok(KeylessSigner {
            rt,
            signer,
            audience,
            issuer,
        })
    }

    /// A signing failure as a [`KeylessError`]: Fulcio refusing the certificate request (a
    /// 4xx answer: it did not accept the token) names the token; anything else is a service
    /// failure.
    fn failed(&self, e: sigstore_sign::Error) -> KeylessError {
        match &e {
            sigstore_sign::Error::Fulcio(sigstore_sign::fulcio::Error::Status {
                status,
                message,
            }) if (400..500).contains(status) => KeylessError::Refused {
                audience: self.audience.clone(),
                issuer: self.issuer.clone(),
                message: format!("HTTP {status}: {}", one_line(message)),
            },
            _ => KeylessError::Service(one_line(e)),
        }
    }

    /// A message-signature bundle over `blob` (what `cosign sign-blob --bundle` writes).
    pub fn sign_blob(&self, blob: &[u8]) -> Result<SignedBundle> {
        let bundle = self
            .rt
            .block_on(self.signer.sign(blob))
            .map_err(|e| self.failed(e))?;
        signed(&bundle)
    }

    /// DSSE bundles over several statements at once: each its own key, certificate, log
    /// entry and timestamp, requested concurrently (most of the time is waiting for Fulcio and
    /// for the log's next checkpoint). In the order given.
    pub fn sign_statements(&self, statements: &[Vec<u8>]) -> Result<Vec<SignedBundle>> {
        let bundles = self.rt.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (index, statement) in statements.iter().enumerate() {
                let signer = self.signer.clone();
                let statement = statement.clone();
                set.spawn(async move { (index, signer.sign_raw_statement(&statement).await) });
            }
            let mut out: Vec<Option<_>> = statements.iter().map(|_| None).collect();
            while let Some(joined) = set.join_next().await {
                let (index, result) = joined.map_err(|e| {
                    KeylessError::Service(format!("a signing task failed: {}", one_line(e)))
                })?;
                out[index] = Some(result.map_err(|e| self.failed(e))?);
            }
            Ok::<_, KeylessError>(out)
        })?;
        bundles
            .iter()
            .map(|b| signed(b.as_ref().expect("every task answered")))
            .collect()
    }

    /// A DSSE bundle over an in-toto statement (a cosign v3 image signature or attestation).
    pub fn sign_statement(&self, statement: &[u8]) -> Result<SignedBundle> {
        let bundle = self
            .rt
            .block_on(self.signer.sign_raw_statement(statement))
            .map_err(|e| self.failed(e))?;
        signed(&bundle)
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
        })
    }

    pub fn verify(
        &self,
        subject: Subject<'_>,
        bundle_json: &[u8],
        policy: &IdentityPolicy,
    ) -> Verdict<Verified> {
        let text = std::str::from_utf8(bundle_json)
            .map_err(|_| Rejected::from("the bundle is not UTF-8 JSON"))?;
        let bundle = sigstore_verify::types::Bundle::from_json(text)
            .map_err(|e| Rejected(format!("the bundle does not parse: {}", one_line(e))))?;
        let mut vp = VerificationPolicy::any_identity();
        if policy.ignore_sct {
            vp = vp.skip_sct();
        }
        let result = match subject {
            Subject::Blob(bytes) => self.verifier.verify(bytes, &bundle, &vp),
            Subject::Digest(digest) => {
                let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
                let hash = sigstore_verify::types::Sha256Hash::from_hex(hex)
                    .map_err(|e| Rejected(format!("digest {digest}: {}", one_line(e))))?;
                self.verifier.verify(hash, &bundle, &vp)
            }
        }
        .map_err(|e| Rejected(one_line(e)))?;
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

/// Whether a bundle's verification material is a certificate (keyless) rather than a key hint.
pub fn is_keyless(bundle_json: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(bundle_json)
        .map(|v| {
            let m = &v["verificationMaterial"];
            m["certificate"].is_object() || m["x509CertificateChain"].is_object()
        })
        .unwrap_or(false)
}
