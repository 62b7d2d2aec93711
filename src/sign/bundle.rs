//! Sigstore bundles (v0.3), as cosign v3 writes them: for an image, a DSSE envelope around an
//! in-toto Statement (predicate `https://sigstore.dev/cosign/sign/v1` for a signature, the
//! attestation's own type otherwise), attached as an OCI 1.1 referrer; for a blob, a
//! `messageSignature` over the file's SHA-256. Key-based, so the verification material is a
//! public key hint: base64 of the SHA-256 of the key's SPKI DER.

use super::payload::{self, Envelope, Rejected, Verdict};
use crate::oci::artifact::{referrer_of, Artifact, Blob, Descriptor, CREATED};
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::EncodePublicKey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const BUNDLE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
pub const COSIGN_SIGN: &str = "https://sigstore.dev/cosign/sign/v1";
pub const CONTENT_ANNOTATION: &str = "dev.sigstore.bundle.content";
pub const PREDICATE_ANNOTATION: &str = "dev.sigstore.bundle.predicateType";

/// The key hint cosign writes.
pub fn hint(key: &VerifyingKey) -> String {
    let der = key.to_public_key_der().expect("a P-256 public key encodes");
    payload::b64(&Sha256::digest(der.as_bytes()))
}

/// The statement cosign v3 signs for an image signature.
pub fn signature_statement(
    digest: &str,
    annotations: &std::collections::BTreeMap<String, String>,
) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": payload::STATEMENT_V1,
        "subject": [{"digest": {"sha256": digest.trim_start_matches("sha256:")}, "annotations": annotations}],
        "predicateType": COSIGN_SIGN,
        "predicate": {},
    }))
    .expect("JSON serializes")
}

/// A bundle holding a DSSE envelope (`signature` over the PAE of `statement`).
pub fn dsse(statement: &[u8], signature: &[u8], key_hint: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "mediaType": BUNDLE,
        "verificationMaterial": {"publicKey": {"hint": key_hint}},
        "dsseEnvelope": {
            "payload": payload::b64(statement),
            "payloadType": payload::IN_TOTO,
            "signatures": [{"sig": payload::b64(signature)}],
        },
    }))
    .expect("JSON serializes")
}

/// A bundle holding a message signature over a blob.
pub fn message(blob: &[u8], signature: &[u8], key_hint: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "mediaType": BUNDLE,
        "verificationMaterial": {"publicKey": {"hint": key_hint}},
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": payload::b64(&Sha256::digest(blob))},
            "signature": payload::b64(signature),
        },
    }))
    .expect("JSON serializes")
}

/// What a bundle holds.
pub enum Content {
    Envelope(Envelope),
    /// (SHA-256 of the message, DER signature)
    Message(Vec<u8>, Vec<u8>),
}

/// Opens a bundle; one that does not parse is [`Rejected`], with the reason.
pub fn open(bytes: &[u8]) -> Verdict<Content> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("bundle is not JSON: {e}"))?;
    let media_type = v["mediaType"].as_str().unwrap_or_default();
    if !media_type.starts_with("application/vnd.dev.sigstore.bundle") {
        return Err(Rejected(format!(
            "not a Sigstore bundle (mediaType `{media_type}`)"
        )));
    }
    if v["dsseEnvelope"].is_object() {
        return payload::open_envelope(&serde_json::to_vec(&v["dsseEnvelope"]).expect("JSON"))
            .map(Content::Envelope);
    }
    let m = &v["messageSignature"];
    if m.is_object() {
        if m["messageDigest"]["algorithm"] != "SHA2_256" {
            return Err(Rejected(format!(
                "message digest algorithm {}",
                m["messageDigest"]["algorithm"]
            )));
        }
        let digest = payload::unb64(m["messageDigest"]["digest"].as_str().unwrap_or_default())?;
        let sig = payload::unb64(m["signature"].as_str().unwrap_or_default())?;
        return Ok(Content::Message(digest, sig));
    }
    Err("the bundle holds neither a DSSE envelope nor a message signature".into())
}

/// The referrer manifest cosign v3 attaches a bundle with.
pub fn referrer(
    subject: &Descriptor,
    bundle: &[u8],
    predicate_type: &str,
    created: &str,
) -> Artifact {
    let annotations = std::collections::BTreeMap::from([
        (CONTENT_ANNOTATION.to_string(), "dsse-envelope".to_string()),
        (PREDICATE_ANNOTATION.to_string(), predicate_type.to_string()),
        (CREATED.to_string(), created.to_string()),
    ]);
    referrer_of(
        subject,
        BUNDLE,
        (Descriptor::of(BUNDLE, bundle), Blob::from(bundle.to_vec())),
        annotations,
        Some(BUNDLE),
    )
}
