//! Verify, on what a consumer pulls: a signature that binds exactly the resolved digest, the
//! required attestations (DSSE signature, subject digest), the module's own digest, and the
//! policy on those bytes. Each step is reported; any failure names its reason.

use super::pull;
use crate::error::{Error, RebuildError, Result};
use crate::oci::model::ImageManifest;
use crate::oci::store::{fallback_tag, Store};
use crate::oci::Descriptor;
use crate::oci::Target;
use crate::policy::Policy;
use crate::sign::keyless::{self, IdentityPolicy, KeylessVerifier, LoggedKeyVerifier};
use crate::sign::payload::{Rejected, Verdict};
use crate::sign::verify::{check_dsse, check_signature};
use crate::sign::{bundle, payload, sidecar_layers};
use p256::ecdsa::VerifyingKey;
use serde::Serialize;
use sha2::Digest;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: String,
    pub passed: bool,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub reference: String,
    pub digest: Option<String>,
    pub verified: bool,
    pub steps: Vec<Step>,
}

impl Report {
    /// A report with no steps yet.
    pub fn new(reference: String) -> Report {
        Report {
            reference,
            digest: None,
            verified: false,
            steps: Vec::new(),
        }
    }

    /// Records a step; returns whether it passed.
    pub fn step(&mut self, step: &str, passed: bool, detail: impl Into<String>) -> bool {
        self.steps.push(Step {
            step: step.into(),
            passed,
            detail: detail.into(),
        });
        passed
    }
}

/// Verifies the artifact `target` names. Registry and I/O errors are errors; everything that
/// is the artifact's fault is a failed step in the report. `platform` chooses an image
/// index's entry ([`pull::follow`]): that manifest is what is verified.
pub fn verify(
    store: &Store,
    target: &Target,
    platform: Option<&str>,
    trust: Trust<'_>,
    require: &[(String, String)],
    policy: Option<&Policy>,
) -> Result<Report> {
    verify_with(
        store,
        target,
        platform,
        trust,
        require,
        &BTreeMap::new(),
        policy,
    )
}

/// [`verify`], where the required attestations named in `others` must be signed by that key
/// or identity instead (`--require-attestation rebuild --rebuild-key`: someone other than the
/// builder).
pub fn verify_with(
    store: &Store,
    target: &Target,
    platform: Option<&str>,
    trust: Trust<'_>,
    require: &[(String, String)],
    others: &BTreeMap<String, Trust<'_>>,
    policy: Option<&Policy>,
) -> Result<Report> {
    let mut report = Report::new(target.to_string());
    // Not found is a failed verification; a registry that cannot be asked is an error.
    let fetched = match store.manifest(target.selector()) {
        Ok(Some(f)) => f,
        Ok(None) => {
            report.step("resolve", false, format!("{target}: not found"));
            return Ok(report);
        }
        Err(Error::Integrity(why)) => {
            report.step("resolve", false, why);
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    let (digest, manifest) = match pull::follow(store, target, fetched, platform) {
        Ok(r) => r,
        Err(e @ (Error::Registry(_) | Error::Integrity(_))) => {
            report.step("resolve", false, e.to_string());
            return Ok(report);
        }
        Err(e) => return Err(e),
    };
    report.digest = Some(digest.clone());
    report.reference = target.with_digest(&digest).to_string();
    report.step("resolve", true, digest.clone());

    // Signatures and attestations on one thread, the module and its policy on another.
    let (trust, content) = std::thread::scope(|s| {
        let trust = s.spawn(|| -> Result<(bool, Report)> {
            let mut r = Report::new(target.to_string());
            let attached = Attached::read(store, &digest, !require.is_empty())?;
            let (mut ok, builders) = signatures(store, &digest, trust, &attached, &mut r)?;
            for (name, predicate_type) in require {
                // An attestation required from someone other than the builder (a rebuild):
                // one signed by an identity that signed the artifact does not count.
                let (trust, builders) = match others.get(name) {
                    Some(other) => (*other, &builders[..]),
                    None => (trust, &[][..]),
                };
                let found = Found {
                    trust,
                    builders,
                    predicate_type,
                };
                ok &= attestation(store, &digest, &attached, name, &found, &mut r)?;
            }
            Ok((ok, r))
        });
        let content = content_steps(store, target, &manifest, policy);
        (trust.join().expect("verify thread"), content)
    });
    let (trust_ok, trust_report) = trust?;
    let (content_ok, content_report) = content?;
    report.steps.extend(trust_report.steps);
    report.steps.extend(content_report.steps);
    let ok = trust_ok && content_ok;
    report.verified = ok;
    Ok(report)
}

/// What is attached to a digest, each read once: cosign's `.sig` and `.att` layers (the
/// latter only when attestations are required) and the referrers.
struct Attached {
    sig_tag: String,
    sig: Vec<Descriptor>,
    att_tag: String,
    att: Vec<Descriptor>,
    referrers: Vec<Descriptor>,
}

impl Attached {
    fn read(store: &Store, digest: &str, attestations: bool) -> Result<Attached> {
        let sig_tag = format!("{}.sig", fallback_tag(digest));
        let att_tag = format!("{}.att", fallback_tag(digest));
        Ok(Attached {
            sig: sidecar_layers(store, &sig_tag)?,
            att: if attestations {
                sidecar_layers(store, &att_tag)?
            } else {
                Vec::new()
            },
            referrers: store.referrers(digest)?,
            sig_tag,
            att_tag,
        })
    }
}

/// Who signed a keyless bundle: its certificate's identity and OIDC issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Signer {
    identity: String,
    issuer: String,
}

/// A bundle's signed statement and, keyless, its signer.
type Signed = (Vec<u8>, Option<Signer>);

/// Sigstore bundles among `referrers` for `predicate_type`, each checked: (referrer digest,
/// verdict with the signed statement and, keyless, its signer).
fn bundles(
    store: &Store,
    referrers: &[Descriptor],
    digest: &str,
    trust: Trust<'_>,
    predicate_type: &str,
) -> Result<Vec<(String, Verdict<Signed>)>> {
    let mut out = Vec::new();
    for r in referrers {
        if r.artifact_type.as_deref() != Some(bundle::BUNDLE) {
            continue;
        }
        if r.annotations
            .get(bundle::PREDICATE_ANNOTATION)
            .is_some_and(|t| t != predicate_type)
        {
            continue;
        }
        let verdict = (|| -> Verdict<Signed> {
            let manifest = store
                .manifest(&r.digest)
                .map_err(|e| e.to_string())?
                .ok_or("the referrer is listed but not stored")?;
            let manifest = crate::oci::model::parse_manifest(&manifest.bytes)
                .map_err(|e| format!("referrer manifest: {e}"))?;
            let layer = manifest
                .layers()
                .first()
                .ok_or("referrer layer: the manifest has no layers")?;
            let layer = Descriptor::try_from(layer).map_err(|e| format!("referrer layer: {e}"))?;
            let bytes = store.blob(&layer).map_err(|e| e.to_string())?;
            let envelope = match bundle::open(&bytes)? {
                bundle::Content::Envelope(e) => e,
                bundle::Content::Message(..) => {
                    return Err("a message-signature bundle cannot sign an image".into())
                }
            };
            match trust {
                Trust::Key(key) => check_dsse(&envelope, key, digest, predicate_type)
                    .map(|()| (envelope.body, None)),
                Trust::KeyLogged(key, log) => {
                    log.verify(keyless::Subject::Digest(digest), &bytes)?;
                    check_dsse(&envelope, key, digest, predicate_type)
                        .map(|()| (envelope.body, None))
                }
                Trust::Keyless(verifier, identity) => {
                    let signed =
                        verifier.verify(keyless::Subject::Digest(digest), &bytes, identity)?;
                    let statement: serde_json::Value = serde_json::from_slice(&envelope.body)
                        .map_err(|e| format!("the statement is not JSON: {e}"))?;
                    let found = statement["predicateType"].as_str().unwrap_or_default();
                    if found != predicate_type {
                        return Err(Rejected(format!(
                            "its statement's predicate type is `{found}`, not `{predicate_type}`"
                        )));
                    }
                    let signer = Signer {
                        identity: signed.identity,
                        issuer: signed.issuer,
                    };
                    Ok((envelope.body, Some(signer)))
                }
            }
        })();
        out.push((r.digest.clone(), verdict));
    }
    Ok(out)
}

/// The signatures step: a `.sig` layer or a cosign v3 bundle that binds `digest`. Returns
/// whether it passed, and the keyless identities of every bundle that verifies (the builder's,
/// which an attestation required from someone else must not come from).
fn signatures(
    store: &Store,
    digest: &str,
    trust: Trust<'_>,
    attached: &Attached,
    report: &mut Report,
) -> Result<(bool, Vec<Signer>)> {
    let (tag, layers) = (&attached.sig_tag, &attached.sig);
    let mut reasons = Vec::new();
    for (index, layer) in layers.iter().enumerate() {
        let verdict = (|| -> Verdict {
            let sig = layer
                .annotations
                .get(payload::SIGNATURE_ANNOTATION)
                .ok_or("the layer has no signature annotation")?;
            let sig = payload::unb64(sig)?;
            let key = trust.unlogged_key("a .sig layer")?;
            let body = store.blob(layer).map_err(|e| e.to_string())?;
            check_signature(key, &body, &sig)?;
            let signed = payload::signed_digest(&body)?;
            if signed != digest {
                return Err(Rejected(format!("it signs {signed}, not this artifact")));
            }
            Ok(())
        })();
        match verdict {
            Ok(()) => {
                let passed = report.step(
                    "signature",
                    true,
                    format!(
                        "signature {} of {} under {tag} verifies (payload {})",
                        index + 1,
                        layers.len(),
                        layer.digest
                    ),
                );
                // A key's `.sig` layer: no keyless identity signed.
                return Ok((passed, Vec::new()));
            }
            Err(why) => reasons.push(format!("{}: {why}", layer.digest)),
        }
    }
    let found = bundles(
        store,
        &attached.referrers,
        digest,
        trust,
        bundle::COSIGN_SIGN,
    )?;
    let signers: Vec<Signer> = found
        .iter()
        .filter_map(|(_, v)| v.as_ref().ok().and_then(|(_, s)| s.clone()))
        .collect();
    for (referrer, verdict) in &found {
        match verdict {
            Ok(_) => {
                let passed = report.step(
                    "signature",
                    true,
                    format!(
                        "Sigstore bundle {referrer} verifies{}",
                        if matches!(trust, Trust::KeyLogged(..)) {
                            ", in the transparency log"
                        } else {
                            ""
                        }
                    ),
                );
                return Ok((passed, signers));
            }
            Err(why) => reasons.push(format!("bundle {referrer}: {why}")),
        }
    }
    if layers.is_empty() && found.is_empty() {
        return Ok((
            report.step(
                "signature",
                false,
                format!("no signatures ({tag} not found, no Sigstore bundle referrers)"),
            ),
            signers,
        ));
    }
    Ok((
        report.step(
            "signature",
            false,
            format!("no valid signature: {}", reasons.join("; ")),
        ),
        signers,
    ))
}

/// What attestation to look for: its predicate type, whom it must be signed by, and the
/// builder's identities, which must not have signed it (empty: anyone `trust` admits).
struct Found<'a, 't> {
    trust: Trust<'t>,
    builders: &'a [Signer],
    predicate_type: &'a str,
}

fn attestation(
    store: &Store,
    digest: &str,
    attached: &Attached,
    name: &str,
    want: &Found<'_, '_>,
    report: &mut Report,
) -> Result<bool> {
    let step = format!("attestation {name}");
    Ok(match find_attestation(store, digest, attached, want)? {
        Ok((found, statement)) if want.predicate_type == VERIFICATION_SUMMARY => {
            // A summary counts only when it says the check passed.
            match statement["predicate"]["verificationResult"].as_str() {
                Some("PASSED") => report.step(&step, true, found),
                other => report.step(
                    &step,
                    false,
                    format!("{found} says {}, not PASSED", other.unwrap_or("nothing")),
                ),
            }
        }
        Ok((found, _)) => report.step(&step, true, found),
        Err(why) => report.step(&step, false, why),
    })
}

/// The predicate type of a SLSA verification summary (what `rebuild --sign` attaches).
pub const VERIFICATION_SUMMARY: &str = "https://slsa.dev/verification_summary/v1";

/// The first attestation of `want.predicate_type` about `digest` that `want.trust` admits and
/// none of `want.builders` signed, in `.att` or a Sigstore bundle referrer: (where it was
/// found, the in-toto statement), or why none is. When the only ones `want.trust` admits are
/// the builder's own, [`RebuildError::BuildersOwn`]: the options that name whom to trust
/// admit the builder.
fn find_attestation(
    store: &Store,
    digest: &str,
    attached: &Attached,
    want: &Found<'_, '_>,
) -> Result<std::result::Result<(String, serde_json::Value), String>> {
    let (trust, predicate_type) = (want.trust, want.predicate_type);
    let (tag, layers) = (&attached.att_tag, &attached.att);
    let mut reasons = Vec::new();
    let statement = |body: &[u8]| serde_json::from_slice(body).unwrap_or_default();
    for layer in layers {
        let verdict = store
            .blob(layer)
            .map_err(|e| Rejected(e.to_string()))
            .and_then(|bytes| payload::open_envelope(&bytes))
            .and_then(|envelope| {
                let key = trust.unlogged_key("an .att envelope")?;
                check_dsse(&envelope, key, digest, predicate_type).map(|()| envelope.body)
            });
        match verdict {
            Ok(body) => {
                return Ok(Ok((
                    format!("{predicate_type} in {}", layer.digest),
                    statement(&body),
                )))
            }
            Err(why) => reasons.push(format!("{}: {why}", layer.digest)),
        }
    }
    let found = bundles(store, &attached.referrers, digest, trust, predicate_type)?;
    let mut own = None;
    for (referrer, verdict) in &found {
        match verdict {
            Ok((_, Some(signer))) if want.builders.contains(signer) => {
                own.get_or_insert(signer);
            }
            Ok((body, _)) => {
                return Ok(Ok((
                    format!("{predicate_type} in Sigstore bundle {referrer}"),
                    statement(body),
                )))
            }
            Err(why) => reasons.push(format!("bundle {referrer}: {why}")),
        }
    }
    if let Some(signer) = own {
        return Err(RebuildError::BuildersOwn {
            predicate_type: predicate_type.to_string(),
            identity: signer.identity.clone(),
            issuer: signer.issuer.clone(),
        }
        .into());
    }
    if layers.is_empty() && found.is_empty() {
        return Ok(Err(format!(
            "no attestations ({tag} not found, no Sigstore bundle referrers)"
        )));
    }
    Ok(Err(format!(
        "no valid {predicate_type} attestation: {}",
        reasons.join("; ")
    )))
}

/// The in-toto statement of `predicate_type` about `digest` that `key` signed (in `.att` or a
/// Sigstore bundle referrer), and where it was found; or why there is none that verifies.
/// What `rebuild` reads the provenance with.
pub fn verified_statement(
    store: &Store,
    digest: &str,
    trust: Trust<'_>,
    predicate_type: &str,
) -> Result<std::result::Result<(String, serde_json::Value), String>> {
    let attached = Attached::read(store, digest, true)?;
    let want = Found {
        trust,
        builders: &[],
        predicate_type,
    };
    find_attestation(store, digest, &attached, &want)
}

/// The config, the module (digest-checked) and the policy on its bytes.
fn content_steps(
    store: &Store,
    target: &Target,
    manifest: &ImageManifest,
    policy: Option<&Policy>,
) -> Result<(bool, Report)> {
    let mut report = Report::new(target.to_string());
    let mut ok = true;
    // The config: digest-checked, and the wasm artifact's.
    match Descriptor::try_from(manifest.config()) {
        Ok(config) => match store.blob(&config) {
            Ok(_) => {
                report.step(
                    "config",
                    true,
                    format!("{} {}", config.media_type, config.digest),
                );
            }
            Err(Error::Integrity(why)) => ok &= report.step("config", false, why),
            Err(e) => return Err(e),
        },
        Err(e) => ok &= report.step("config", false, format!("the manifest's config: {e}")),
    }

    // The module itself, digest-checked as it streams, then the policy on those bytes.
    let layer = match pull::wasm_layer(target, manifest) {
        Ok(l) => Some(l),
        Err(Error::Registry(why)) => {
            ok &= report.step("module", false, why.to_string());
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(layer) = layer {
        // Without a policy the bytes are not needed: the module streams through the digest
        // and size checks into nothing, never held in memory.
        let module = match policy {
            Some(_) => store.blob(&layer),
            None => store
                .download(&layer, &mut std::io::sink())
                .map(|()| Vec::new()),
        };
        match module {
            Ok(bytes) => {
                report.step(
                    "module",
                    true,
                    format!("{} ({} bytes)", layer.digest, layer.size),
                );
                if let Some(policy) = policy {
                    // The digest was checked as the module downloaded: not hashed again.
                    match crate::check::check_known(&bytes, policy, Some(layer.hex())) {
                        Ok(r) if r.passed => {
                            report.step("policy", true, format!("passes `{}`", r.policy));
                        }
                        Ok(r) => {
                            let first = r
                                .violations
                                .first()
                                .map(|v| format!(": {} {}", v.rule, v.message))
                                .unwrap_or_default();
                            ok &= report.step(
                                "policy",
                                false,
                                format!(
                                    "{} violation(s) of `{}`{first}",
                                    r.violations.len(),
                                    r.policy
                                ),
                            );
                        }
                        Err(e) => {
                            ok &= report.step("policy", false, e.to_string());
                        }
                    }
                }
            }
            Err(Error::Integrity(why)) => {
                ok &= report.step("module", false, why);
            }
            Err(e) => return Err(e),
        }
    }
    Ok((ok, report))
}

/// How the signature of a local file was given.
#[derive(Debug, Clone, Copy)]
pub enum BlobSignature<'a> {
    /// A base64 signature file (`sign-blob`, `cosign sign-blob`).
    Base64(&'a Path),
    /// A Sigstore bundle (`sign-blob --bundle`, cosign v3's default).
    Bundle(&'a Path),
}

/// Whom a signature must come from: a key's holder, a key's holder whose signature is in a
/// transparency log a trust root names (`--key` with `--trusted-root`), or a keyless identity
/// under a trust root.
#[derive(Clone, Copy)]
pub enum Trust<'a> {
    Key(&'a VerifyingKey),
    KeyLogged(&'a VerifyingKey, &'a LoggedKeyVerifier),
    Keyless(&'a KeylessVerifier, &'a IdentityPolicy),
}

impl<'a> Trust<'a> {
    /// The key that checks cosign v2's tag form (`what`: a `.sig` layer or an `.att`
    /// envelope), which holds no log entry: only when no log is asked for.
    fn unlogged_key(self, what: &str) -> Verdict<&'a VerifyingKey> {
        match self {
            Trust::Key(key) => Ok(key),
            Trust::KeyLogged(..) => Err(Rejected(format!(
                "{what} holds no transparency log entry (with --trusted-root a key's signature must be a logged Sigstore bundle)"
            ))),
            Trust::Keyless(..) => Err(Rejected(format!(
                "{what} is a key's (keyless signatures are read from Sigstore bundle referrers)"
            ))),
        }
    }
}

/// Verifies a local file fully offline: its blob signature, then `policy` on its bytes.
pub fn verify_file(
    path: &Path,
    trust: Trust<'_>,
    signature: BlobSignature,
    policy: Option<&Policy>,
) -> Result<Report> {
    let key = match trust {
        Trust::Key(key) => key,
        Trust::KeyLogged(..) | Trust::Keyless(..) => {
            let BlobSignature::Bundle(bundle_path) = signature else {
                return Err(Error::Usage(format!(
                    "{}: a {} signature is checked from its bundle: pass --bundle FILE, not --signature",
                    path.display(),
                    if matches!(trust, Trust::Keyless(..)) { "keyless" } else { "logged" }
                )));
            };
            return verify_file_bundle(path, bundle_path, trust, policy);
        }
    };
    let sig_path = match signature {
        BlobSignature::Base64(p) | BlobSignature::Bundle(p) => p,
    };
    let bytes = crate::fsio::read_input(path)?;
    let sig_text = crate::fsio::read_text_limited(sig_path, crate::fsio::TEXT_LIMIT)?;
    let sha256 = sha2::Sha256::digest(&bytes[..]);
    let hex = crate::digest::hex(&sha256);
    let mut report = Report::new(path.display().to_string());
    report.digest = Some(format!("sha256:{hex}"));
    let der = match signature {
        BlobSignature::Bundle(_) => match bundle::open(sig_text.as_bytes()) {
            Ok(bundle::Content::Message(digest, der)) if digest[..] == sha256[..] => Ok(der),
            Ok(bundle::Content::Message(..)) => Err(Rejected(format!(
                "{}: the bundle signs another file (its message digest differs)",
                sig_path.display()
            ))),
            Ok(bundle::Content::Envelope(_)) => Err(Rejected(format!(
                "{}: a DSSE bundle is an attestation, not a blob signature",
                sig_path.display()
            ))),
            Err(e) => Err(Rejected(format!("{}: {e}", sig_path.display()))),
        },
        BlobSignature::Base64(_) => {
            payload::unb64(&sig_text).map_err(|e| Rejected(format!("{}: {e}", sig_path.display())))
        }
    };
    let verdict = der.and_then(|der| check_signature(key, &bytes, &der));
    let passed = verdict.is_ok();
    let detail = match verdict {
        Ok(()) => format!("{} verifies", sig_path.display()),
        Err(Rejected(why)) => why,
    };
    let mut ok = report.step("signature", passed, detail);
    ok &= file_policy(path, &bytes, &hex, policy, &mut report)?;
    report.verified = ok;
    Ok(report)
}

/// A local file's keyless bundle (`sign-blob --keyless`, `cosign sign-blob`: chain,
/// timestamps, log inclusion and identity) or logged key bundle (`sign-blob --key` with an
/// instance: the key, log inclusion, timestamps), then `policy` on its bytes.
fn verify_file_bundle(
    path: &Path,
    bundle_path: &Path,
    trust: Trust<'_>,
    policy: Option<&Policy>,
) -> Result<Report> {
    let bytes = crate::fsio::read_input(path)?;
    let bundle = std::fs::read(bundle_path).map_err(|source| Error::Read {
        path: bundle_path.to_path_buf(),
        source,
    })?;
    let hex = crate::digest::sha256_hex(&bytes);
    let mut report = Report::new(path.display().to_string());
    report.digest = Some(format!("sha256:{hex}"));
    let subject = keyless::Subject::Blob(&bytes);
    let verdict = match trust {
        Trust::Keyless(verifier, identity) => verifier
            .verify(subject, &bundle, identity)
            .map(|v| format!("signed by {} ({}), logged", v.identity, v.issuer)),
        Trust::KeyLogged(_, log) => log
            .verify(subject, &bundle)
            .map(|times| format!("verifies with the key, {}", logged(&times))),
        Trust::Key(_) => unreachable!("an unlogged key reads the bundle in verify_file"),
    };
    let (passed, detail) = match verdict {
        Ok(what) => (true, format!("{}: {what}", bundle_path.display())),
        Err(Rejected(why)) => (false, format!("{}: {why}", bundle_path.display())),
    };
    let mut ok = report.step("signature", passed, detail);
    ok &= file_policy(path, &bytes, &hex, policy, &mut report)?;
    report.verified = ok;
    Ok(report)
}

/// What a verified log entry adds to a step's detail.
fn logged(timestamps: &[String]) -> String {
    match timestamps.first() {
        Some(t) => format!("logged, timestamped {t}"),
        None => "logged".into(),
    }
}

/// The policy step of a local file (none without a policy).
fn file_policy(
    path: &Path,
    bytes: &[u8],
    hex: &str,
    policy: Option<&Policy>,
    report: &mut Report,
) -> Result<bool> {
    let mut ok = true;
    if let Some(policy) = policy {
        // The file was hashed above: the check does not hash it again.
        let r =
            crate::check::check_known(bytes, policy, Some(hex)).map_err(|error| Error::Check {
                file: path.display().to_string(),
                error,
            })?;
        ok &= report.step(
            "policy",
            r.passed,
            format!("{} violation(s) of `{}`", r.violations.len(), r.policy),
        );
    }
    Ok(ok)
}
