//! The sign and attest stage: cosign-compatible signatures (`sha256-HEX.sig`) and DSSE in-toto
//! attestations (`sha256-HEX.att`), in a registry or an OCI image layout, appended to what is
//! there and never overwriting it.
//!
//! Signing goes through [`Signer`], so that keyless signing (Fulcio, Rekor) can be added
//! without touching the callers.

pub mod keys;
pub mod payload;
pub mod verify;

use crate::error::{Error, Result};
use crate::oci::artifact::{to_bytes, Artifact, Blob, Descriptor, MANIFEST};
use crate::oci::store::{fallback_tag, Store};
use crate::oci::Target;
use p256::ecdsa::signature::Signer as _;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Something that signs bytes: today a key, later a keyless identity.
pub trait Signer {
    /// An ASN.1 DER ECDSA P-256 signature over SHA-256 of `message`.
    fn sign(&self, message: &[u8]) -> Vec<u8>;
}

/// A key-based signer (a cosign key pair's private half).
pub struct KeySigner(pub p256::ecdsa::SigningKey);

impl Signer for KeySigner {
    fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: p256::ecdsa::Signature = self.0.sign(message);
        sig.to_der().as_bytes().to_vec()
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

/// The digest `target` names, and the `REGISTRY/REPO` (or layout) name cosign puts in its
/// payloads.
pub fn resolve(store: &Store, target: &Target) -> Result<(String, String)> {
    let selector = target.digest().or(target.tag()).unwrap_or("latest");
    let fetched = store
        .manifest(selector)?
        .ok_or_else(|| Error::Registry(format!("{target}: not found")))?;
    let name = match target {
        Target::Registry(r) => format!("{}/{}", r.registry, r.repository),
        Target::Layout { path, .. } => format!("oci-layout:{}", path.display()),
    };
    Ok((fetched.digest, name))
}

/// Signs what `target` names: cosign's simple-signing payload, appended to `sha256-HEX.sig`.
pub fn sign(
    store: &Store,
    target: &Target,
    signer: &dyn Signer,
    annotations: &BTreeMap<String, String>,
) -> Result<Signed> {
    let (digest, name) = resolve(store, target)?;
    let body = payload::simple_signing(&name, &digest, annotations);
    let signature = signer.sign(&body);
    let mut layer = Descriptor::of(payload::SIMPLE_SIGNING, &body);
    layer.annotations.insert(
        payload::SIGNATURE_ANNOTATION.into(),
        payload::b64(&signature),
    );
    let (tag, layers, attempts) = append(store, &digest, "sig", layer.clone(), Blob::from(body))?;
    Ok(Signed {
        reference: target.with_digest(&digest).to_string(),
        digest,
        tag,
        layer_digest: layer.digest,
        layers,
        attempts,
        predicate_type: None,
    })
}

/// Attests a predicate about what `target` names: an in-toto Statement in a DSSE envelope,
/// appended to `sha256-HEX.att`.
pub fn attest(
    store: &Store,
    target: &Target,
    signer: &dyn Signer,
    predicate_type: &str,
    predicate: &Value,
) -> Result<Signed> {
    let (digest, name) = resolve(store, target)?;
    let statement = payload::statement(&name, &digest, predicate_type, predicate);
    let signature = signer.sign(&payload::pae(payload::IN_TOTO, &statement));
    let envelope = payload::envelope(&statement, &signature);
    let mut layer = Descriptor::of(payload::DSSE_ENVELOPE, &envelope);
    layer.annotations.insert(
        payload::PREDICATE_TYPE_ANNOTATION.into(),
        predicate_type.into(),
    );
    layer
        .annotations
        .insert(payload::SIGNATURE_ANNOTATION.into(), String::new());
    let (tag, layers, attempts) =
        append(store, &digest, "att", layer.clone(), Blob::from(envelope))?;
    Ok(Signed {
        reference: target.with_digest(&digest).to_string(),
        digest,
        tag,
        layer_digest: layer.digest,
        layers,
        attempts,
        predicate_type: Some(predicate_type.into()),
    })
}

/// The layers of the manifest under `tag`, or none.
pub fn sidecar_layers(store: &Store, tag: &str) -> Result<Vec<Descriptor>> {
    let Some(fetched) = store.manifest(tag)? else {
        return Ok(Vec::new());
    };
    let manifest: Value = serde_json::from_slice(&fetched.bytes)
        .map_err(|e| Error::Registry(format!("{tag}: manifest is not JSON: {e}")))?;
    Ok(manifest["layers"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|d| serde_json::from_value(d.clone()).ok())
                .collect()
        })
        .unwrap_or_default())
}

/// The manifest cosign writes for its signature and attestation tags: an image whose config
/// lists the layers as its `diff_ids`.
fn sidecar(layers: &[Descriptor], new: (&Descriptor, &Blob)) -> Artifact {
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
    let manifest = to_bytes(&json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": config_desc,
        "layers": layers,
    }));
    Artifact {
        descriptor: Descriptor::of(MANIFEST, &manifest),
        manifest,
        blobs: vec![
            (config_desc, Blob::from(config)),
            (new.0.clone(), new.1.clone()),
        ],
    }
}

/// Appends `layer` to the manifest under `sha256-HEX.SUFFIX`. The registry has no
/// compare-and-swap, so two signers that read the same manifest would each drop the other's
/// layer (cosign itself loses signatures this way). We write, wait a moment, and read back
/// twice: while our layer is missing, another writer replaced the manifest, and we append
/// again to what it wrote. Returns (tag, layers now, writes).
fn append(
    store: &Store,
    subject: &str,
    suffix: &str,
    layer: Descriptor,
    bytes: Blob,
) -> Result<(String, usize, usize)> {
    let tag = format!("{}.{suffix}", fallback_tag(subject));
    let present = |layers: &[Descriptor]| {
        layers
            .iter()
            .any(|l| l.digest == layer.digest && l.annotations == layer.annotations)
    };
    let mut writes = 0;
    let mut last_error = None;
    for round in 0..16u64 {
        let mut layers = sidecar_layers(store, &tag)?;
        if !present(&layers) {
            layers.push(layer.clone());
            let artifact = sidecar(&layers, (&layer, &bytes));
            store.put_blobs(&artifact.blobs)?;
            // A registry may refuse a manifest that races another writer: distribution 2.8
            // rewrites a blob's link file in place when a second writer uploads the same blob,
            // and a manifest check that reads it half-written answers DIGEST_INVALID. That is
            // one more round, not a failure.
            match store.put_manifest(&artifact, Some(&tag)) {
                Ok(_) => writes += 1,
                Err(Error::Registry(why)) if round < 15 => {
                    last_error = Some(why);
                    std::thread::sleep(Duration::from_millis(20 + jitter(100)));
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        // Settle, then read back twice; a jittered wait keeps signers from moving in step.
        let mut stable = true;
        for _ in 0..2 {
            std::thread::sleep(Duration::from_millis(40 + jitter(80 + 40 * round)));
            let now = sidecar_layers(store, &tag)?;
            if !present(&now) {
                stable = false;
                break;
            }
        }
        if stable {
            let count = sidecar_layers(store, &tag)?.len();
            return Ok((tag, count, writes));
        }
    }
    Err(Error::Registry(format!(
        "{tag}: other writers kept replacing it; our layer was not kept after {writes} writes{}",
        last_error
            .map(|e| format!(" (last error: {e})"))
            .unwrap_or_default()
    )))
}

fn jitter(max: u64) -> u64 {
    let mut b = [0u8; 8];
    getrandom::getrandom(&mut b).expect("the OS random source works");
    u64::from_le_bytes(b) % max.max(1)
}
