//! What gets signed, byte for byte as cosign writes it: the "simple signing" payload for an
//! image signature, and in-toto Statements in DSSE envelopes for attestations.

use crate::error::{Error, Result};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
pub const SIGNATURE_ANNOTATION: &str = "dev.cosignproject.cosign/signature";
pub const PREDICATE_TYPE_ANNOTATION: &str = "predicateType";
pub const SIGNATURE_TYPE: &str = "cosign container image signature";
pub const STATEMENT_V1: &str = "https://in-toto.io/Statement/v1";
pub const SPDX_PREDICATE: &str = "https://spdx.dev/Document";
pub const CYCLONEDX_PREDICATE: &str = "https://cyclonedx.org/bom";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why signature material was not accepted: a payload, envelope or bundle that does not parse,
/// a signature that does not verify, a statement about another artifact. The artifact's
/// fault, so `verify` reports it as a failed step, never as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

impl From<String> for Rejected {
    fn from(reason: String) -> Rejected {
        Rejected(reason)
    }
}

impl From<&str> for Rejected {
    fn from(reason: &str) -> Rejected {
        Rejected(reason.to_string())
    }
}

/// A verdict on signature material: accepted, or why not.
pub type Verdict<T = ()> = std::result::Result<T, Rejected>;

/// cosign's payload: keys sorted (serde_json's map is ordered), compact, `optional` null
/// without annotations. `repository` is `REGISTRY/REPO`, as cosign writes it.
pub fn simple_signing(
    repository: &str,
    digest: &str,
    annotations: &BTreeMap<String, String>,
) -> Vec<u8> {
    let optional = if annotations.is_empty() {
        Value::Null
    } else {
        json!(annotations)
    };
    serde_json::to_vec(&json!({
        "critical": {
            "identity": {"docker-reference": repository},
            "image": {"docker-manifest-digest": digest},
            "type": SIGNATURE_TYPE,
        },
        "optional": optional,
    }))
    .expect("JSON serializes")
}

/// The digest a simple-signing payload binds, checking its type.
pub fn signed_digest(payload: &[u8]) -> Verdict<String> {
    let v: Value =
        serde_json::from_slice(payload).map_err(|e| format!("payload is not JSON: {e}"))?;
    if v["critical"]["type"] != SIGNATURE_TYPE {
        return Err(Rejected(format!(
            "payload type is {}, not `{SIGNATURE_TYPE}`",
            v["critical"]["type"]
        )));
    }
    v["critical"]["image"]["docker-manifest-digest"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "payload names no docker-manifest-digest".into())
}

/// Predicate types by cosign's `--type` names; an unknown name is a usage error naming `flag`
/// (the option it was given with).
pub fn predicate_type(flag: &str, name: &str) -> Result<String> {
    Ok(match name {
        "spdxjson" | "spdx" => SPDX_PREDICATE,
        "cyclonedx" => CYCLONEDX_PREDICATE,
        "slsaprovenance1" => super::provenance::SLSA_V1,
        "slsaprovenance" | "slsaprovenance02" => "https://slsa.dev/provenance/v0.2",
        "vuln" => "https://cosign.sigstore.dev/attestation/vuln/v1",
        "custom" => "https://cosign.sigstore.dev/attestation/v1",
        uri if uri.contains("://") => uri,
        other => {
            return Err(Error::Usage(format!(
            "{flag} `{other}`: use spdxjson, cyclonedx, slsaprovenance1, or a predicate type URI"
        )))
        }
    }
    .to_string())
}

/// An in-toto Statement v1 about `name@digest`.
pub fn statement(name: &str, digest: &str, predicate_type: &str, predicate: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "_type": STATEMENT_V1,
        "predicateType": predicate_type,
        "subject": [{"name": name, "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicate": predicate,
    }))
    .expect("JSON serializes")
}

/// DSSE's pre-authentication encoding: what the envelope's signature covers.
pub fn pae(payload_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {payload_type} {} ",
        payload_type.len(),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// A DSSE envelope around `body` with one signature (DER, as cosign writes it).
pub fn envelope(body: &[u8], signature: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "payloadType": IN_TOTO,
        "payload": B64.encode(body),
        "signatures": [{"keyid": "", "sig": B64.encode(signature)}],
    }))
    .expect("JSON serializes")
}

/// A DSSE envelope's parts.
pub struct Envelope {
    pub payload_type: String,
    pub body: Vec<u8>,
    pub signatures: Vec<Vec<u8>>,
}

pub fn open_envelope(bytes: &[u8]) -> Verdict<Envelope> {
    let v: Value =
        serde_json::from_slice(bytes).map_err(|e| format!("envelope is not JSON: {e}"))?;
    let payload_type = v["payloadType"]
        .as_str()
        .ok_or("envelope has no payloadType")?
        .to_string();
    let body = B64
        .decode(v["payload"].as_str().ok_or("envelope has no payload")?)
        .map_err(|e| format!("envelope payload: {e}"))?;
    let sigs = v["signatures"]
        .as_array()
        .ok_or("envelope has no signatures")?
        .iter()
        .map(|s| {
            B64.decode(s["sig"].as_str().unwrap_or_default())
                .map_err(|e| Rejected(format!("envelope signature: {e}")))
        })
        .collect::<Verdict<Vec<_>>>()?;
    Ok(Envelope {
        payload_type,
        body,
        signatures: sigs,
    })
}

pub fn b64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn unb64(text: &str) -> Verdict<Vec<u8>> {
    B64.decode(text.trim())
        .map_err(|e| Rejected(format!("not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_simple_signing_payload_matches_cosigns_bytes() {
        let p = simple_signing("ghcr.io/o/n", "sha256:abc", &BTreeMap::new());
        assert_eq!(
            String::from_utf8(p).unwrap(),
            r#"{"critical":{"identity":{"docker-reference":"ghcr.io/o/n"},"image":{"docker-manifest-digest":"sha256:abc"},"type":"cosign container image signature"},"optional":null}"#
        );
        let a = BTreeMap::from([("k".to_string(), "v".to_string())]);
        assert!(String::from_utf8(simple_signing("r", "d", &a))
            .unwrap()
            .ends_with(r#""optional":{"k":"v"}}"#));
    }

    #[test]
    fn pae_follows_the_dsse_spec() {
        // The example from the DSSE protocol document.
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
        );
    }
}
