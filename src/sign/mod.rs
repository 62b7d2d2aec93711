//! The sign and attest stage: cosign-compatible signatures (`sha256-HEX.sig`) and DSSE in-toto
//! attestations (`sha256-HEX.att`), in a registry or an OCI image layout, appended to what is
//! there and never overwriting it.
//!
//! Signing goes through [`Signer`], so that keyless signing (Fulcio, Rekor) can be added
//! without touching the callers.

pub mod bundle;
pub mod keyless;
pub mod keys;
pub mod payload;
pub mod provenance;
pub mod verify;

use crate::error::{Error, Result};
use crate::oci::artifact::{to_bytes, Artifact, Blob, Descriptor, MANIFEST};
use crate::oci::model;
use crate::oci::store::{fallback_tag, Store};
use crate::oci::Target;
use p256::ecdsa::signature::Signer as _;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Something that signs bytes: today a key, later a keyless identity.
pub trait Signer: Sync {
    /// An ASN.1 DER ECDSA P-256 signature over SHA-256 of `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
    /// What a Sigstore bundle's verification material says about the key.
    fn key_hint(&self) -> String;
}

/// A key-based signer (a cosign key pair's private half).
pub struct KeySigner(pub p256::ecdsa::SigningKey);

impl Signer for KeySigner {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        sig.to_der().as_bytes().to_vec()
    }

    fn key_hint(&self) -> String {
        bundle::hint(self.0.verifying_key())
    }
}

/// What `sign` or `attest` stored.
#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    pub reference: String,
    pub digest: String,
    /// `sha256-HEX.sig` or `.att`.
    pub tag: String,
    pub layer_digest: String,
    /// Layers under that tag now (every signer's).
    pub layers: usize,
    /// Writes it took (more than one when another signer wrote at the same time).
    pub attempts: usize,
    pub predicate_type: Option<String>,
}

/// What is signed, resolved once: the manifest's descriptor (a referrer's `subject`), the
/// `REGISTRY/REPO` (or layout) name cosign puts in its payloads, and the reference by digest.
pub struct Subject {
    pub descriptor: Descriptor,
    pub name: String,
    pub reference: String,
}

impl Subject {
    /// The manifest `descriptor` describes, in `target`'s repository.
    pub fn of(target: &Target, descriptor: Descriptor) -> Subject {
        let name = match target {
            Target::Registry(r) => format!("{}/{}", r.registry, r.repository),
            Target::Layout { path, .. } => format!("oci-layout:{}", path.display()),
        };
        Subject {
            reference: target.with_digest(&descriptor.digest).to_string(),
            name,
            descriptor,
        }
    }

    pub fn digest(&self) -> &str {
        &self.descriptor.digest
    }
}

/// The manifest `target` names, as a [`Subject`].
pub fn resolve(store: &Store, target: &Target) -> Result<Subject> {
    let fetched = store.fetch(target)?;
    Ok(Subject::of(
        target,
        Descriptor::with_sha256(
            &fetched.media_type,
            fetched.digest.trim_start_matches("sha256:"),
            fetched.bytes.len() as u64,
        ),
    ))
}

/// How signatures and attestations are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    /// Also as Sigstore bundles attached through OCI 1.1 referrers, as cosign v3 does (the
    /// referrers API, or the fallback index where the registry lacks it).
    pub referrers: bool,
}

/// Attaches a DSSE bundle over `statement` as a referrer of `subject`.
fn attach_bundle(
    store: &Store,
    subject: &Subject,
    signer: &dyn Signer,
    statement: &[u8],
    predicate_type: &str,
) -> Result<()> {
    let signature = signer.sign(&payload::pae(payload::IN_TOTO, statement));
    let bundle = bundle::dsse(statement, &signature, &signer.key_hint());
    let created = crate::sbom::created_now_or_epoch()?;
    let artifact = bundle::referrer(&subject.descriptor, &bundle, predicate_type, &created);
    store.put_blobs(&artifact.blobs)?;
    store.put_manifest(&artifact, None)?;
    Ok(())
}

/// Signs what `target` names: cosign's simple-signing payload, appended to `sha256-HEX.sig`.
pub fn sign(
    store: &Store,
    target: &Target,
    signer: &dyn Signer,
    annotations: &BTreeMap<String, String>,
    mode: Mode,
) -> Result<Signed> {
    sign_subject(store, &resolve(store, target)?, signer, annotations, mode)
}

fn sign_subject(
    store: &Store,
    subject: &Subject,
    signer: &dyn Signer,
    annotations: &BTreeMap<String, String>,
    mode: Mode,
) -> Result<Signed> {
    if mode.referrers {
        let statement = bundle::signature_statement(subject.digest(), annotations);
        attach_bundle(store, subject, signer, &statement, bundle::COSIGN_SIGN)?;
    }
    let layer = signature_layer(subject, signer, annotations);
    let (tag, layers, attempts) =
        append(store, subject.digest(), "sig", std::slice::from_ref(&layer))?;
    Ok(signed(subject, &tag, &layer.0, layers, attempts, None))
}

/// cosign's simple-signing payload for `subject`, signed, as a `.sig` layer.
fn signature_layer(
    subject: &Subject,
    signer: &dyn Signer,
    annotations: &BTreeMap<String, String>,
) -> (Descriptor, Blob) {
    let body = payload::simple_signing(&subject.name, subject.digest(), annotations);
    let signature = signer.sign(&body);
    let mut layer = Descriptor::of(payload::SIMPLE_SIGNING, &body);
    layer.annotations.insert(
        payload::SIGNATURE_ANNOTATION.into(),
        payload::b64(&signature),
    );
    (layer, Blob::from(body))
}

/// The record of one layer appended under `tag`.
fn signed(
    subject: &Subject,
    tag: &str,
    layer: &Descriptor,
    layers: usize,
    attempts: usize,
    predicate_type: Option<String>,
) -> Signed {
    Signed {
        reference: subject.reference.clone(),
        digest: subject.digest().to_string(),
        tag: tag.to_string(),
        layer_digest: layer.digest.clone(),
        layers,
        attempts,
        predicate_type,
    }
}

/// Attests a predicate about what `target` names: an in-toto Statement in a DSSE envelope,
/// appended to `sha256-HEX.att`.
pub fn attest(
    store: &Store,
    target: &Target,
    signer: &dyn Signer,
    predicate_type: &str,
    predicate: &Value,
    mode: Mode,
) -> Result<Signed> {
    let mut all = attest_all(
        store,
        target,
        signer,
        &[(predicate_type.to_string(), predicate.clone())],
        mode,
    )?;
    Ok(all.remove(0))
}

/// Several attestations in one write of `sha256-HEX.att`.
pub fn attest_all(
    store: &Store,
    target: &Target,
    signer: &dyn Signer,
    predicates: &[(String, Value)],
    mode: Mode,
) -> Result<Vec<Signed>> {
    attest_subject(store, &resolve(store, target)?, signer, predicates, mode)
}

fn attest_subject(
    store: &Store,
    subject: &Subject,
    signer: &dyn Signer,
    predicates: &[(String, Value)],
    mode: Mode,
) -> Result<Vec<Signed>> {
    let statements = statements(subject, predicates);
    if mode.referrers {
        for ((predicate_type, _), statement) in predicates.iter().zip(&statements) {
            attach_bundle(store, subject, signer, statement, predicate_type)?;
        }
    }
    let layers = attestation_layers(signer, predicates, statements);
    let (tag, count, attempts) = append(store, subject.digest(), "att", &layers)?;
    Ok(attested(
        subject, &tag, &layers, predicates, count, attempts,
    ))
}

/// An in-toto Statement about `subject` for each predicate.
fn statements(subject: &Subject, predicates: &[(String, Value)]) -> Vec<Vec<u8>> {
    predicates
        .iter()
        .map(|(predicate_type, predicate)| {
            payload::statement(&subject.name, subject.digest(), predicate_type, predicate)
        })
        .collect()
}

/// Each statement in a signed DSSE envelope, as an `.att` layer.
fn attestation_layers(
    signer: &dyn Signer,
    predicates: &[(String, Value)],
    statements: Vec<Vec<u8>>,
) -> Vec<(Descriptor, Blob)> {
    predicates
        .iter()
        .zip(statements)
        .map(|((predicate_type, _), statement)| {
            let signature = signer.sign(&payload::pae(payload::IN_TOTO, &statement));
            let envelope = payload::envelope(&statement, &signature);
            let mut layer = Descriptor::of(payload::DSSE_ENVELOPE, &envelope);
            layer.annotations.insert(
                payload::PREDICATE_TYPE_ANNOTATION.into(),
                predicate_type.clone(),
            );
            layer
                .annotations
                .insert(payload::SIGNATURE_ANNOTATION.into(), String::new());
            (layer, Blob::from(envelope))
        })
        .collect()
}

/// The records of attestation layers appended under `tag`.
fn attested(
    subject: &Subject,
    tag: &str,
    layers: &[(Descriptor, Blob)],
    predicates: &[(String, Value)],
    count: usize,
    attempts: usize,
) -> Vec<Signed> {
    layers
        .iter()
        .zip(predicates)
        .map(|((layer, _), (predicate_type, _))| {
            signed(
                subject,
                tag,
                layer,
                count,
                attempts,
                Some(predicate_type.clone()),
            )
        })
        .collect()
}

/// What `push --key` and `build --sign` do after the artifact is stored: the signature, then
/// the SBOM (when there is one) and the SLSA provenance attestations in one write.
pub fn sign_and_attest(
    store: &Store,
    target: &Target,
    signer: &dyn Signer,
    sbom: Option<(String, Value)>,
    facts: &provenance::BuildFacts,
    mode: Mode,
) -> Result<Vec<Signed>> {
    sign_and_attest_subject(store, &resolve(store, target)?, signer, sbom, facts, mode)
}

/// [`sign_and_attest`] for a subject already known: `push --key` signs the manifest it has
/// just stored without reading it back.
pub fn sign_and_attest_subject(
    store: &Store,
    subject: &Subject,
    signer: &dyn Signer,
    sbom: Option<(String, Value)>,
    facts: &provenance::BuildFacts,
    mode: Mode,
) -> Result<Vec<Signed>> {
    if mode.referrers {
        let predicates = predicates(sbom, facts);
        let no_annotations = &BTreeMap::new();
        let mut done = vec![sign_subject(store, subject, signer, no_annotations, mode)?];
        done.extend(attest_subject(store, subject, signer, &predicates, mode)?);
        return Ok(done);
    }
    prepare_sign_and_attest(store, subject, signer, || Ok(sbom), facts)?.commit(store)
}

/// The SBOM's predicate (when there is one) and the SLSA provenance.
fn predicates(
    sbom: Option<(String, Value)>,
    facts: &provenance::BuildFacts,
) -> Vec<(String, Value)> {
    let mut predicates: Vec<(String, Value)> = sbom.into_iter().collect();
    predicates.push((provenance::SLSA_V1.into(), provenance::predicate(facts)));
    predicates
}

/// A signature and attestations made, with their blobs stored but nothing tagged yet: what
/// `push --key` readies before the module's upload, and tags while the module goes up.
pub struct Pending<'a> {
    subject: &'a Subject,
    predicates: Vec<(String, Value)>,
    signature: (Descriptor, Blob),
    attestations: Vec<(Descriptor, Blob)>,
    sig: Prepared,
    att: Prepared,
}

/// Signs and attests `subject` (the SBOM `sbom` makes, when there is one, and the SLSA
/// provenance) and stores the blobs of the `.sig` and `.att` manifests to come; the
/// manifests now under those tags are read meanwhile. Nothing is tagged: see
/// [`Pending::commit`]. The subject's manifest need not be stored yet.
pub fn prepare_sign_and_attest<'a>(
    store: &Store,
    subject: &'a Subject,
    signer: &dyn Signer,
    sbom: impl FnOnce() -> Result<Option<(String, Value)>>,
    facts: &provenance::BuildFacts,
) -> Result<Pending<'a>> {
    let digest = subject.digest();
    std::thread::scope(|s| {
        let sig = s.spawn(|| read(store, digest, "sig"));
        let att = s.spawn(|| read(store, digest, "att"));
        let made = sbom().map(|sbom| {
            let predicates = predicates(sbom, facts);
            let signature = signature_layer(subject, signer, &BTreeMap::new());
            let statements = statements(subject, &predicates);
            let attestations = attestation_layers(signer, &predicates, statements);
            (predicates, signature, attestations)
        });
        let sig = sig.join().expect("read thread");
        let att = att.join().expect("read thread");
        let (predicates, signature, attestations) = made?;
        let layer = signature.clone();
        let staged = s.spawn(move || stage(store, sig?, std::slice::from_ref(&layer)));
        let att = stage(store, att?, &attestations);
        let sig = staged.join().expect("stage thread")?;
        Ok(Pending {
            subject,
            sig,
            att: att?,
            predicates,
            signature,
            attestations,
        })
    })
}

impl Pending<'_> {
    /// Tags the signature and the attestations, each appended to what is there (see
    /// [`append`]); both at once.
    pub fn commit(self, store: &Store) -> Result<Vec<Signed>> {
        let Pending {
            subject,
            predicates,
            signature,
            attestations,
            sig,
            att,
        } = self;
        let digest = subject.digest();
        let (sig, att) = std::thread::scope(|s| {
            let sig = s.spawn(|| commit(store, digest, "sig", sig));
            let att = commit(store, digest, "att", att);
            (sig.join().expect("sign thread"), att)
        });
        let (tag, layers, attempts) = sig?;
        let mut done = vec![signed(subject, &tag, &signature.0, layers, attempts, None)];
        let (tag, count, attempts) = att?;
        done.extend(attested(
            subject,
            &tag,
            &attestations,
            &predicates,
            count,
            attempts,
        ));
        Ok(done)
    }
}

/// Adds the layers of a `.sig`/`.att` manifest from elsewhere (a pushed layout) to the one
/// under the same tag here, keeping the signatures already there.
pub fn merge_sidecar(store: &Store, tag: &str, from: &Artifact) -> Result<usize> {
    let (subject, suffix) = tag
        .rsplit_once('.')
        .map(|(s, x)| (s.replacen('-', ":", 1), x))
        .ok_or_else(|| Error::Input(format!("`{tag}` is not a sha256-HEX.sig or .att tag")))?;
    let manifest = model::parse_manifest(&from.manifest)
        .map_err(|e| Error::Input(format!("{tag}: manifest: {e}")))?;
    let mut layers = Vec::new();
    for l in manifest.layers() {
        let d = Descriptor::try_from(l)
            .map_err(|e| Error::Input(format!("{tag}: bad layer descriptor: {e}")))?;
        let bytes = from
            .blobs
            .iter()
            .find(|(b, _)| b.digest == d.digest)
            .map(|(_, b)| b.clone())
            .ok_or_else(|| Error::Input(format!("{tag}: layer {} is missing", d.digest)))?;
        layers.push((d, bytes));
    }
    let (_, count, _) = append(store, &subject, suffix, &layers)?;
    Ok(count)
}

/// The layers of the manifest under `tag`, or none.
pub fn sidecar_layers(store: &Store, tag: &str) -> Result<Vec<Descriptor>> {
    let Some(fetched) = store.manifest(tag)? else {
        return Ok(Vec::new());
    };
    let manifest = model::parse_manifest(&fetched.bytes)
        .map_err(|e| Error::registry(format!("{tag}: manifest: {e}")))?;
    Ok(manifest
        .layers()
        .iter()
        .filter_map(|d| Descriptor::try_from(d).ok())
        .collect())
}

/// The manifest cosign writes for its signature and attestation tags: an image whose config
/// lists the layers as its `diff_ids`. `new` are the blobs to upload with it.
fn sidecar(layers: &[Descriptor], new: &[(Descriptor, Blob)]) -> Artifact {
    let diff_ids: Vec<&str> = layers.iter().map(|l| l.digest.as_str()).collect();
    let history: Vec<Value> = layers
        .iter()
        .map(|_| json!({"created": "0001-01-01T00:00:00Z"}))
        .collect();
    let config = to_bytes(&json!({
        "architecture": "",
        "config": {},
        "created": "0001-01-01T00:00:00Z",
        "history": history,
        "os": "",
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }));
    let config_desc = Descriptor::of("application/vnd.oci.image.config.v1+json", &config);
    let manifest = to_bytes(&model::manifest(None, &config_desc, layers, None, None));
    let mut blobs = vec![(config_desc, Blob::from(config))];
    blobs.extend(new.iter().cloned());
    Artifact {
        descriptor: Descriptor::of(MANIFEST, &manifest),
        manifest,
        blobs,
    }
}

/// Layers to append under `sha256-HEX.SUFFIX`, with the manifest read and the blobs of its
/// next version already stored, but not yet written: see [`append`].
struct Prepared {
    tag: String,
    new: Vec<(Descriptor, Blob)>,
    /// The manifest to write (None: every new layer was already there).
    artifact: Option<Artifact>,
    /// How long reading the manifest and storing the blobs took.
    took: Duration,
}

/// Reads the manifest under `sha256-HEX.SUFFIX` and stores the blobs of its version with
/// `new` appended. Only manifests are left to write, so [`commit`] can run while a large
/// upload holds the registry's blob store (`crane registry serve` locks it per upload).
fn prepare(
    store: &Store,
    subject: &str,
    suffix: &str,
    new: &[(Descriptor, Blob)],
) -> Result<Prepared> {
    stage(store, read(store, subject, suffix)?, new)
}

/// What [`read`] found: the tag, the layers under it, and when reading began.
type Read = (String, Vec<Descriptor>, std::time::Instant);

/// The first half of [`prepare`].
fn read(store: &Store, subject: &str, suffix: &str) -> Result<Read> {
    let started = std::time::Instant::now();
    let tag = format!("{}.{suffix}", fallback_tag(subject));
    let layers = sidecar_layers(store, &tag)?;
    Ok((tag, layers, started))
}

/// The second half of [`prepare`]: the next manifest, its blobs stored.
fn stage(
    store: &Store,
    (tag, mut layers, started): Read,
    new: &[(Descriptor, Blob)],
) -> Result<Prepared> {
    let missing: Vec<(Descriptor, Blob)> = new
        .iter()
        .filter(|(l, _)| !present(&layers, l))
        .cloned()
        .collect();
    let artifact = if missing.is_empty() {
        None
    } else {
        layers.extend(missing.iter().map(|(l, _)| l.clone()));
        let artifact = sidecar(&layers, &missing);
        store.put_blobs(&artifact.blobs)?;
        Some(artifact)
    };
    Ok(Prepared {
        tag,
        new: new.to_vec(),
        artifact,
        took: started.elapsed(),
    })
}

fn present(layers: &[Descriptor], l: &Descriptor) -> bool {
    layers
        .iter()
        .any(|x| x.digest == l.digest && x.annotations == l.annotations)
}

/// Appends `new` layers to the manifest under `sha256-HEX.SUFFIX`. The registry has no
/// compare-and-swap, so two signers that read the same manifest would each drop the other's
/// layers (cosign itself loses signatures this way). We write, then read back twice, the
/// second time after waiting twice as long as our own read-then-write took (so that a writer
/// who read before our write has written by then). While a layer of ours is missing, another
/// writer replaced the manifest, and we append again to what it wrote, after a random pause
/// that keeps signers from moving in step. Returns (tag, layers now, writes).
fn append(
    store: &Store,
    subject: &str,
    suffix: &str,
    new: &[(Descriptor, Blob)],
) -> Result<(String, usize, usize)> {
    commit(
        store,
        subject,
        suffix,
        prepare(store, subject, suffix, new)?,
    )
}

/// Writes what [`prepare`] made ready, then re-reads as [`append`] describes; reads and
/// prepares again as long as another writer replaced the manifest.
fn commit(
    store: &Store,
    subject: &str,
    suffix: &str,
    first: Prepared,
) -> Result<(String, usize, usize)> {
    let tag = first.tag.clone();
    let new = first.new.clone();
    let all_present = |layers: &[Descriptor]| new.iter().all(|(l, _)| present(layers, l));
    let mut writes = 0;
    let mut last_error = None;
    let mut next = Some(first);
    for round in 0..16u64 {
        let prepared = match next.take() {
            Some(p) => p,
            None => prepare(store, subject, suffix, &new)?,
        };
        let started = std::time::Instant::now();
        if let Some(artifact) = &prepared.artifact {
            match store.put_manifest(artifact, Some(&tag)) {
                Ok(_) => writes += 1,
                Err(e) if round < 15 && another_round(&e) => {
                    last_error = Some(e.to_string());
                    std::thread::sleep(Duration::from_millis(20 + jitter(100)));
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        let took = prepared.took + started.elapsed();
        let mut stable = all_present(&sidecar_layers(store, &tag)?);
        if stable {
            let mut wait = (took * 2).max(Duration::from_millis(3));
            if round > 0 {
                wait += Duration::from_millis(jitter(5 + 20 * round));
            }
            std::thread::sleep(wait);
            let now = sidecar_layers(store, &tag)?;
            stable = all_present(&now);
            if stable {
                return Ok((tag, now.len(), writes));
            }
        }
        std::thread::sleep(Duration::from_millis(jitter(20 + 20 * round)));
    }
    Err(Error::registry(format!(
        "{tag}: other writers kept replacing it; our layers were not kept after {writes} writes{}",
        last_error
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default()
    )))
}

/// Whether a refused write of the `.sig`/`.att` manifest is worth another round of
/// [`commit`]: what a racing writer causes, or what may pass by itself. Distribution 2.8
/// rewrites a blob's link file in place when a second writer uploads the same blob, and a
/// manifest check that reads it half-written answers `DIGEST_INVALID`; 5xx, 429 and
/// connection errors may pass too. Refused or missing credentials (401, 403), a missing
/// repository or blob (404) and other refusals would fail the same way again: they end it.
fn another_round(e: &Error) -> bool {
    match e {
        Error::Registry(r) => r.code() == Some("DIGEST_INVALID") || r.retryable(),
        _ => false,
    }
}

fn jitter(max: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    u64::from_le_bytes(b) % max.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{RegistryError, RegistryErrorKind};

    fn answer(status: u16, code: Option<&str>) -> Error {
        RegistryError::status(status, code.map(str::to_string), "refused")
            .at("127.0.0.1:5000/demo/hello")
            .during("PUT manifest sha256-00.sig")
            .into()
    }

    #[test]
    fn commit_writes_again_after_a_race_or_a_passing_failure() {
        assert!(another_round(&answer(400, Some("DIGEST_INVALID"))));
        assert!(another_round(&answer(500, None)));
        assert!(another_round(&answer(503, Some("UNAVAILABLE"))));
        assert!(another_round(&answer(429, Some("TOOMANYREQUESTS"))));
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
        assert!(another_round(
            &RegistryError::transport("error sending request", io).into()
        ));
    }

    #[test]
    fn commit_stops_at_refused_credentials_and_other_refusals() {
        for (status, code) in [
            (401, Some("UNAUTHORIZED")),
            (401, None),
            (403, Some("DENIED")),
            (404, Some("NAME_UNKNOWN")),
            (400, Some("MANIFEST_BLOB_UNKNOWN")),
            (400, Some("MANIFEST_INVALID")),
            (413, None),
        ] {
            assert!(!another_round(&answer(status, code)), "{status} {code:?}");
        }
        let helper = RegistryError::new(RegistryErrorKind::Auth, "helper failed").into();
        assert!(!another_round(&helper));
        assert!(!another_round(&Error::registry("not JSON")));
        assert!(!another_round(&Error::Integrity("mismatch".into())));
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        assert!(!another_round(&Error::Write {
            path: "layout/index.json".into(),
            source: io,
        }));
    }
}
