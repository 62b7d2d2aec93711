//! The sign and attest stage: cosign-compatible signatures (`sha256-HEX.sig`) and DSSE in-toto
//! attestations (`sha256-HEX.att`), in a registry or an OCI image layout, appended to what is
//! there and never overwriting it.
//!
//! Who signs is a [`Signing`]: a key, a key whose signatures are logged, or a keyless
//! identity (`signing.rs`); every function here takes one.

pub mod bundle;
pub mod keyless;
pub mod keys;
pub mod payload;
pub mod provenance;
pub mod signing;
pub mod verify;

pub use signing::{BlobSigned, Choice, ClosedKey, Signing};

use crate::error::{Error, Result};
use crate::oci::artifact::{to_bytes, Artifact, Blob, Descriptor, MANIFEST};
use crate::oci::confirm;
use crate::oci::model;
use crate::oci::store::{fallback_tag, Indexed, Store};
use crate::oci::Target;
use p256::ecdsa::signature::Signer as _;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A cosign key pair's private half.
pub struct KeySigner(pub p256::ecdsa::SigningKey);

impl KeySigner {
    /// An ASN.1 DER ECDSA P-256 signature over SHA-256 of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        sig.to_der().as_bytes().to_vec()
    }

    /// [`KeySigner::sign`] with fresh randomness mixed into the nonce (RFC 6979's hedged
    /// form): for signatures that are logged, since a transparency log refuses an entry equal
    /// to one it holds, which a deterministic signature of the same payload would be.
    pub fn sign_hedged(&self, message: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::RandomizedSigner;
        let sig: p256::ecdsa::Signature = self.0.sign_with_rng(&mut rand_core::OsRng, message);
        sig.to_der().as_bytes().to_vec()
    }

    /// What a Sigstore bundle's verification material says about the key.
    pub fn key_hint(&self) -> String {
        bundle::hint(self.0.verifying_key())
    }
}

/// What `sign` or `attest` stored, for one signature or attestation.
#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    pub reference: String,
    pub digest: String,
    /// `sha256-HEX.sig` or `.att`; `None` when it went only to a bundle referrer.
    pub tag: Option<String>,
    /// The layer under the tag, or (bundle referrer only) the bundle's digest.
    pub layer_digest: String,
    /// Layers under that tag now (every signer's); 0 without a tag.
    pub layers: usize,
    /// Writes of the tag it took (more than one when another signer wrote at the same time).
    pub attempts: usize,
    pub predicate_type: Option<String>,
    /// The Sigstore bundle referrer's manifest digest, when one was stored.
    pub referrer: Option<String>,
    /// How that referrer is found: the registry's referrers API, the fallback index tag,
    /// or the layout's `index.json`.
    pub indexed: Option<Indexed>,
}

impl Signed {
    /// Where it went, for a human: the tag, or the bundle referrer.
    pub fn place(&self) -> String {
        match (&self.tag, &self.referrer) {
            (Some(tag), Some(r)) => format!("{tag} and the Sigstore bundle referrer {r}"),
            (Some(tag), None) => tag.clone(),
            (None, Some(r)) => format!("the Sigstore bundle referrer {r}"),
            (None, None) => String::new(),
        }
    }
}

/// What is signed, resolved once: the manifest's descriptor (a referrer's `subject`), the
/// `REGISTRY/REPO` (or layout) name cosign puts in its payloads, and the reference by digest.
#[derive(Debug, Clone)]
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

/// Where signatures and attestations are stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// Sigstore bundles as OCI 1.1 referrers where the registry has the referrers API (each
    /// its own manifest: nothing for concurrent signers to overwrite); cosign v2's `.sig` and
    /// `.att` tags on a registry without it and in an image layout, since cosign v2 reads
    /// only those.
    #[default]
    Auto,
    /// Sigstore bundle referrers only, as cosign v3 writes them (listed in the `sha256-HEX`
    /// fallback index where the registry has no referrers API).
    Bundles,
    /// cosign v2's `.sig` and `.att` tags only.
    Tags,
    /// Both.
    Both,
}

/// What a [`Mode`] comes to at one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Form {
    pub tags: bool,
    pub bundles: bool,
}

impl Form {
    pub const TAGS: Form = Form {
        tags: true,
        bundles: false,
    };
    pub const BUNDLES: Form = Form {
        tags: false,
        bundles: true,
    };
}

impl Mode {
    /// The form at a store that has the referrers API (`api`) or not.
    pub fn form(self, api: bool) -> Form {
        match self {
            Mode::Auto if api => Form::BUNDLES,
            Mode::Auto | Mode::Tags => Form::TAGS,
            Mode::Bundles => Form::BUNDLES,
            Mode::Both => Form {
                tags: true,
                bundles: true,
            },
        }
    }

    /// The form at `store`, asking it (for [`Mode::Auto`] only) whether it has the referrers
    /// API; `digest` names a manifest of the repository. `None` when the repository does not
    /// exist yet, so that the registry cannot tell.
    pub fn resolve(self, store: &Store, digest: &str) -> Result<Option<Form>> {
        match self {
            Mode::Auto => Ok(store.has_referrers_api(digest)?.map(|api| self.form(api))),
            other => Ok(Some(other.form(false))),
        }
    }

    /// [`Mode::resolve`] for a subject that is stored (its repository exists).
    fn at(self, store: &Store, digest: &str) -> Result<Form> {
        Ok(self.resolve(store, digest)?.unwrap_or(Form::TAGS))
    }
}

/// A Sigstore bundle stored as a referrer.
#[derive(Debug, Clone)]
pub struct Attached {
    /// The referrer manifest's digest.
    pub manifest: String,
    /// The bundle's own digest (the manifest's one layer).
    pub bundle: String,
    /// How it was made findable.
    pub indexed: Option<Indexed>,
}

/// Stores `bundle` (a Sigstore bundle about `subject`, whose statement has
/// `predicate_type`) as a referrer manifest of its own, as cosign v3 does: with the
/// referrers API nothing is shared with other signers; without it, the manifest is listed in
/// the `sha256-HEX` fallback index, appended and confirmed as [`crate::oci::confirm`]
/// describes. Every bundle referrer wasipack writes, key-based or keyless, goes through here.
pub fn store_bundle(
    store: &Store,
    subject: &Descriptor,
    bundle: &[u8],
    predicate_type: &str,
) -> Result<Attached> {
    let created = crate::sbom::created_now_or_epoch()?;
    let artifact = bundle::referrer(subject, bundle, predicate_type, &created);
    store.put_blobs(&artifact.blobs)?;
    let indexed = store.put_manifest(&artifact, None)?;
    Ok(Attached {
        manifest: artifact.descriptor.digest.clone(),
        bundle: crate::digest::sha256_digest(bundle),
        indexed,
    })
}

/// Signs each in-toto statement (DSSE bundles, logged at once when `signing` logs) and
/// stores each bundle as a referrer of `subject`; the statements' predicate types are
/// `predicate_types`, in the same order.
fn attach_bundles(
    store: &Store,
    subject: &Subject,
    signing: &Signing,
    statements: &[Vec<u8>],
    predicate_types: &[&str],
) -> Result<Vec<Attached>> {
    signing
        .bundles(statements)?
        .iter()
        .zip(predicate_types)
        .map(|(bundle, predicate_type)| {
            store_bundle(store, &subject.descriptor, bundle, predicate_type)
        })
        .collect()
}

/// The form `signing` stores in at `store` for `--attach` `mode`: a logged or keyless
/// signature is a bundle without asking the store.
fn form_at(store: &Store, digest: &str, signing: &Signing, mode: Mode) -> Result<Form> {
    signing.mode(mode)?.at(store, digest)
}

/// Signs what `target` names: cosign's simple-signing payload appended to `sha256-HEX.sig`,
/// and/or a Sigstore bundle referrer (cosign v3's form, logged when `signing` logs), as
/// `mode` says.
pub fn sign(
    store: &Store,
    target: &Target,
    signing: &Signing,
    annotations: &BTreeMap<String, String>,
    mode: Mode,
) -> Result<Signed> {
    let subject = resolve(store, target)?;
    let form = form_at(store, subject.digest(), signing, mode)?;
    sign_subject(store, &subject, signing, annotations, form)
}

fn sign_subject(
    store: &Store,
    subject: &Subject,
    signing: &Signing,
    annotations: &BTreeMap<String, String>,
    form: Form,
) -> Result<Signed> {
    let attached = if form.bundles {
        let statement = bundle::signature_statement(subject.digest(), annotations);
        let mut attached = attach_bundles(
            store,
            subject,
            signing,
            &[statement],
            &[bundle::COSIGN_SIGN],
        )?;
        Some(attached.remove(0))
    } else {
        None
    };
    let (true, Some(key)) = (form.tags, signing.key()) else {
        let attached = attached.expect("a form stores something");
        return Ok(bundle_only(subject, attached, None));
    };
    let layer = signature_layer(subject, key, annotations);
    let done = append(store, subject.digest(), "sig", std::slice::from_ref(&layer))?;
    Ok(signed(subject, &done, &layer.0, None, attached))
}

/// cosign's simple-signing payload for `subject`, signed, as a `.sig` layer.
fn signature_layer(
    subject: &Subject,
    signer: &KeySigner,
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

/// What was stored under a tag: (tag, layers under it now, writes).
type Appended = (String, usize, usize);

/// The record of one layer appended under a tag (and of its bundle referrer, if any).
fn signed(
    subject: &Subject,
    (tag, layers, attempts): &Appended,
    layer: &Descriptor,
    predicate_type: Option<String>,
    attached: Option<Attached>,
) -> Signed {
    Signed {
        reference: subject.reference.clone(),
        digest: subject.digest().to_string(),
        tag: Some(tag.clone()),
        layer_digest: layer.digest.clone(),
        layers: *layers,
        attempts: *attempts,
        predicate_type,
        referrer: attached.as_ref().map(|a| a.manifest.clone()),
        indexed: attached.and_then(|a| a.indexed),
    }
}

/// The record of a bundle referrer stored alone.
fn bundle_only(subject: &Subject, attached: Attached, predicate_type: Option<String>) -> Signed {
    Signed {
        reference: subject.reference.clone(),
        digest: subject.digest().to_string(),
        tag: None,
        layer_digest: attached.bundle,
        layers: 0,
        attempts: 0,
        predicate_type,
        referrer: Some(attached.manifest),
        indexed: attached.indexed,
    }
}

/// Attests a predicate about what `target` names: an in-toto Statement in a DSSE envelope,
/// appended to `sha256-HEX.att` and/or as a Sigstore bundle referrer, as `mode` says.
pub fn attest(
    store: &Store,
    target: &Target,
    signing: &Signing,
    predicate_type: &str,
    predicate: &Value,
    mode: Mode,
) -> Result<Signed> {
    let mut all = attest_all(
        store,
        target,
        signing,
        &[(predicate_type.to_string(), predicate.clone())],
        mode,
    )?;
    Ok(all.remove(0))
}

/// Several attestations in one write of `sha256-HEX.att` (and/or one bundle referrer each,
/// logged at once when `signing` logs).
pub fn attest_all(
    store: &Store,
    target: &Target,
    signing: &Signing,
    predicates: &[(String, Value)],
    mode: Mode,
) -> Result<Vec<Signed>> {
    let subject = resolve(store, target)?;
    let form = form_at(store, subject.digest(), signing, mode)?;
    attest_subject(store, &subject, signing, predicates, form)
}

fn attest_subject(
    store: &Store,
    subject: &Subject,
    signing: &Signing,
    predicates: &[(String, Value)],
    form: Form,
) -> Result<Vec<Signed>> {
    let statements = statements(subject, predicates);
    let attached = if form.bundles {
        let types: Vec<&str> = predicates.iter().map(|(t, _)| t.as_str()).collect();
        attach_bundles(store, subject, signing, &statements, &types)?
    } else {
        Vec::new()
    };
    let (true, Some(key)) = (form.tags, signing.key()) else {
        return Ok(attached
            .into_iter()
            .zip(predicates)
            .map(|(a, (t, _))| bundle_only(subject, a, Some(t.clone())))
            .collect());
    };
    let layers = attestation_layers(key, predicates, statements);
    let done = append(store, subject.digest(), "att", &layers)?;
    Ok(attested(subject, &done, &layers, predicates, attached))
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
    signer: &KeySigner,
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

/// The records of attestation layers appended under a tag (with their bundle referrers,
/// when there are some: one per predicate, in order).
fn attested(
    subject: &Subject,
    done: &Appended,
    layers: &[(Descriptor, Blob)],
    predicates: &[(String, Value)],
    attached: Vec<Attached>,
) -> Vec<Signed> {
    let mut attached = attached.into_iter();
    layers
        .iter()
        .zip(predicates)
        .map(|((layer, _), (predicate_type, _))| {
            signed(
                subject,
                done,
                layer,
                Some(predicate_type.clone()),
                attached.next(),
            )
        })
        .collect()
}

/// What `push --key` and `build --sign` do after the artifact is stored: the signature, then
/// the SBOM (when there is one) and the SLSA provenance attestations in one write.
pub fn sign_and_attest(
    store: &Store,
    target: &Target,
    signing: &Signing,
    sbom: Option<(String, Value)>,
    facts: &provenance::BuildFacts,
    mode: Mode,
) -> Result<Vec<Signed>> {
    sign_and_attest_subject(store, &resolve(store, target)?, signing, sbom, facts, mode)
}

/// [`sign_and_attest`] for a subject already stored: `push` signs the manifest it has just
/// stored without reading it back.
pub fn sign_and_attest_subject(
    store: &Store,
    subject: &Subject,
    signing: &Signing,
    sbom: Option<(String, Value)>,
    facts: &provenance::BuildFacts,
    mode: Mode,
) -> Result<Vec<Signed>> {
    let form = form_at(store, subject.digest(), signing, mode)?;
    match (form, signing.key()) {
        (Form::BUNDLES, _) => {
            // One bundle per statement, signed (and logged) at once, stored together.
            let made = sign_subjects(signing, vec![(subject.clone(), sbom, facts.clone())])?;
            store_bundles(store, &made[0])
        }
        (Form::TAGS, Some(key)) => {
            prepare_sign_and_attest(store, subject, key, || Ok(sbom), facts)?.commit(store)
        }
        _ => {
            let predicates = predicates(sbom, facts);
            let no_annotations = &BTreeMap::new();
            let mut done = vec![sign_subject(store, subject, signing, no_annotations, form)?];
            done.extend(attest_subject(store, subject, signing, &predicates, form)?);
            Ok(done)
        }
    }
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
    sig: (Sidecar, confirm::Prepared),
    att: (Sidecar, confirm::Prepared),
}

/// Signs and attests `subject` (the SBOM `sbom` makes, when there is one, and the SLSA
/// provenance) in cosign v2's tag form and stores the blobs of the `.sig` and `.att`
/// manifests to come; the manifests now under those tags are read meanwhile. Nothing is
/// tagged: see [`Pending::commit`]. The subject's manifest need not be stored yet.
pub fn prepare_sign_and_attest<'a>(
    store: &Store,
    subject: &'a Subject,
    signer: &KeySigner,
    sbom: impl FnOnce() -> Result<Option<(String, Value)>>,
    facts: &provenance::BuildFacts,
) -> Result<Pending<'a>> {
    let digest = subject.digest();
    let sig_tag = sidecar_tag(digest, "sig");
    let att_tag = sidecar_tag(digest, "att");
    std::thread::scope(|s| {
        let sig = s.spawn(|| confirm::look(store, &sig_tag));
        let att = s.spawn(|| confirm::look(store, &att_tag));
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
        let sig_doc = Sidecar(vec![signature.clone()]);
        let att_doc = Sidecar(attestations.clone());
        let (sig_seen, att_seen) = (sig?, att?);
        let sig_tag = &sig_tag;
        let staged = s.spawn(move || {
            let prepared = confirm::stage(store, sig_tag, &sig_doc, sig_seen);
            (sig_doc, prepared)
        });
        let att = confirm::stage(store, &att_tag, &att_doc, att_seen)?;
        let (sig_doc, sig) = staged.join().expect("stage thread");
        let sig = sig?;
        Ok(Pending {
            subject,
            sig: (sig_doc, sig),
            att: (att_doc, att),
            predicates,
            signature,
            attestations,
        })
    })
}

impl Pending<'_> {
    /// Tags the signature and the attestations, each appended to what is there and
    /// confirmed (see [`crate::oci::confirm`]); both at once.
    pub fn commit(self, store: &Store) -> Result<Vec<Signed>> {
        let Pending {
            subject,
            predicates,
            signature,
            attestations,
            sig,
            att,
        } = self;
        let (sig, att) = std::thread::scope(|s| {
            let sig = s.spawn(|| commit(store, sig));
            let att = commit(store, att);
            (sig.join().expect("sign thread"), att)
        });
        let mut done = vec![signed(subject, &sig?, &signature.0, None, None)];
        done.extend(attested(
            subject,
            &att?,
            &attestations,
            &predicates,
            Vec::new(),
        ));
        Ok(done)
    }
}

/// What merging `.sig`/`.att` manifests from elsewhere (a pushed layout) into the tags of the
/// same names takes: per tag, the layers to append, keeping the signatures already there.
/// [`Store::put_referrers`] appends them, confirmed with the referrers.
pub fn sidecar_merges(
    sidecars: &[(String, Artifact)],
) -> Result<Vec<(String, Box<dyn confirm::Appendable + Send + Sync>)>> {
    let mut merges: Vec<(String, Box<dyn confirm::Appendable + Send + Sync>)> = Vec::new();
    for (tag, from) in sidecars {
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
        merges.push((sidecar_tag(&subject, suffix), Box::new(Sidecar(layers))));
    }
    Ok(merges)
}

/// The layers of the manifest under `tag`, or none.
pub fn sidecar_layers(store: &Store, tag: &str) -> Result<Vec<Descriptor>> {
    let Some(fetched) = store.manifest(tag)? else {
        return Ok(Vec::new());
    };
    layers_of(tag, &fetched.bytes)
}

fn layers_of(tag: &str, manifest: &[u8]) -> Result<Vec<Descriptor>> {
    let manifest = model::parse_manifest(manifest)
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

/// `sha256-HEX.SUFFIX`.
fn sidecar_tag(subject: &str, suffix: &str) -> String {
    format!("{}.{suffix}", fallback_tag(subject))
}

/// Layers to append under a `.sig`/`.att` tag.
struct Sidecar(Vec<(Descriptor, Blob)>);

impl confirm::Appendable for Sidecar {
    fn holds(&self, current: Option<&[u8]>) -> bool {
        let layers = match current {
            None => Vec::new(),
            Some(bytes) => match layers_of("", bytes) {
                Ok(layers) => layers,
                Err(_) => return false,
            },
        };
        self.0.iter().all(|(l, _)| present(&layers, l))
    }

    fn next(&self, store: &Store, current: Option<&[u8]>) -> Result<Artifact> {
        let mut layers = match current {
            None => Vec::new(),
            Some(bytes) => layers_of("the signature tag", bytes)?,
        };
        let missing: Vec<(Descriptor, Blob)> = self
            .0
            .iter()
            .filter(|(l, _)| !present(&layers, l))
            .cloned()
            .collect();
        layers.extend(missing.iter().map(|(l, _)| l.clone()));
        let artifact = sidecar(&layers, &missing);
        store.put_blobs(&artifact.blobs)?;
        Ok(artifact)
    }
}

fn present(layers: &[Descriptor], l: &Descriptor) -> bool {
    layers
        .iter()
        .any(|x| x.digest == l.digest && x.annotations == l.annotations)
}

/// Appends `new` layers to the manifest under `sha256-HEX.SUFFIX`, confirmed as
/// [`crate::oci::confirm`] describes (the registry has no compare-and-swap, so two signers
/// that read the same manifest would each drop the other's layers; cosign v2 itself loses
/// signatures this way). Returns (tag, layers now, writes).
fn append(
    store: &Store,
    subject: &str,
    suffix: &str,
    new: &[(Descriptor, Blob)],
) -> Result<Appended> {
    let doc = Sidecar(new.to_vec());
    let prepared = confirm::prepare(store, &sidecar_tag(subject, suffix), &doc)?;
    commit(store, (doc, prepared))
}

/// Writes what was prepared and confirms it.
fn commit(store: &Store, (doc, prepared): (Sidecar, confirm::Prepared)) -> Result<Appended> {
    let done = confirm::append(store, &doc, prepared)?;
    let layers = match &done.manifest {
        Some(bytes) => layers_of(&done.tag, bytes)?.len(),
        None => 0,
    };
    Ok((done.tag, layers, done.writes))
}

/// Sigstore bundles made for one subject and not stored yet, the signature first: what `push`
/// with a keyless or logged signer signs before the module uploads and stores with the
/// artifact's other referrers.
pub struct Bundles {
    subject: Subject,
    /// (predicate type, bundle JSON), in the order signed.
    bundles: Vec<(String, Vec<u8>)>,
    created: String,
}

impl Bundles {
    /// The bundles' referrer manifests, their blobs included.
    pub fn referrers(&self) -> Vec<Artifact> {
        self.bundles
            .iter()
            .map(|(predicate_type, json)| {
                bundle::referrer(
                    &self.subject.descriptor,
                    json,
                    predicate_type,
                    &self.created,
                )
            })
            .collect()
    }

    /// The records of the referrers [`Bundles::referrers`] made, once stored;
    /// `indexed` says how each was made findable, in the same order.
    pub fn signed(&self, referrers: &[Artifact], indexed: Vec<Option<Indexed>>) -> Vec<Signed> {
        self.bundles
            .iter()
            .zip(referrers.iter().zip(indexed))
            .map(|((predicate_type, json), (artifact, indexed))| {
                let attached = Attached {
                    manifest: artifact.descriptor.digest.clone(),
                    bundle: crate::digest::sha256_digest(json),
                    indexed,
                };
                let recorded =
                    (predicate_type != bundle::COSIGN_SIGN).then(|| predicate_type.clone());
                bundle_only(&self.subject, attached, recorded)
            })
            .collect()
    }
}

/// A subject, the SBOM to attest (type and document, when there is one) and the build facts
/// of its SLSA provenance.
pub type ToSign = (Subject, Option<(String, Value)>, provenance::BuildFacts);

/// The bundles for each subject: the signature, then the SBOM (when there is one) and the
/// SLSA provenance attestations. Every statement of every subject is signed at once (for a
/// keyless or logged signer most of the time is waiting for Fulcio and the log); nothing is
/// stored. The subjects' manifests need not be stored yet.
pub fn sign_subjects(signing: &Signing, subjects: Vec<ToSign>) -> Result<Vec<Bundles>> {
    let mut planned = Vec::new();
    let mut all = Vec::new();
    for (subject, sbom, facts) in subjects {
        let mut predicates = predicates(sbom, &facts);
        let mut statements = statements(&subject, &predicates);
        predicates.insert(0, (bundle::COSIGN_SIGN.to_string(), Value::Null));
        statements.insert(
            0,
            bundle::signature_statement(subject.digest(), &BTreeMap::new()),
        );
        all.extend(statements);
        planned.push((subject, predicates));
    }
    let mut signed = signing.bundles(&all)?.into_iter();
    let created = crate::sbom::created_now_or_epoch()?;
    Ok(planned
        .into_iter()
        .map(|(subject, predicates)| Bundles {
            subject,
            bundles: predicates
                .into_iter()
                .map(|(predicate_type, _)| {
                    let bundle = signed.next().expect("one bundle per statement");
                    (predicate_type, bundle)
                })
                .collect(),
            created: created.clone(),
        })
        .collect())
}

/// Stores `bundles` as referrers of their subject, all at once: where the registry has no
/// referrers API they join the fallback index in one append, confirmed once.
pub fn store_bundles(store: &Store, bundles: &Bundles) -> Result<Vec<Signed>> {
    let referrers = bundles.referrers();
    store.put_blobs(&blobs_of(&referrers))?;
    let indexed = store.put_referrers(&referrers, &[])?;
    Ok(bundles.signed(&referrers, indexed))
}

/// The blobs of `artifacts` (a store skips a digest it has stored already).
pub fn blobs_of(artifacts: &[Artifact]) -> Vec<(Descriptor, Blob)> {
    artifacts.iter().flat_map(|a| a.blobs.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_bundles_with_the_referrers_api_and_tags_without_it() {
        assert_eq!(Mode::Auto.form(true), Form::BUNDLES);
        assert_eq!(Mode::Auto.form(false), Form::TAGS);
        for api in [true, false] {
            assert_eq!(Mode::Tags.form(api), Form::TAGS);
            assert_eq!(Mode::Bundles.form(api), Form::BUNDLES);
            assert_eq!(
                Mode::Both.form(api),
                Form {
                    tags: true,
                    bundles: true
                }
            );
        }
    }

    #[test]
    fn an_image_layout_gets_the_tag_form_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::Layout(crate::oci::Layout::create(dir.path()).unwrap());
        let digest = format!("sha256:{}", "0".repeat(64));
        assert_eq!(
            Mode::Auto.resolve(&store, &digest).unwrap(),
            Some(Form::TAGS)
        );
    }
}
