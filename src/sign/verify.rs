//! Signature checks: an ECDSA P-256 signature over a message, and a DSSE envelope signed by a
//! key whose in-toto statement names a given subject. What is checked, not where it came from:
//! the verify workflow ([`crate::workflow::verify`]) finds the signatures in a store.

use super::payload::{self, Rejected, Verdict};
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

/// Checks an ECDSA P-256 DER signature over `message`.
pub fn check_signature(key: &VerifyingKey, message: &[u8], der: &[u8]) -> Verdict {
    let sig = Signature::from_der(der)
        .map_err(|_| Rejected::from("the signature is not ASN.1 DER ECDSA"))?;
    key.verify(message, &sig)
        .map_err(|_| Rejected::from("the signature does not verify with this key"))
}

/// A DSSE envelope (from an `.att` layer or a bundle): signed by `key`, a statement of
/// `predicate_type` whose subject is `digest`.
pub fn check_dsse(
    envelope: &payload::Envelope,
    key: &VerifyingKey,
    digest: &str,
    predicate_type: &str,
) -> Verdict {
    let message = payload::pae(&envelope.payload_type, &envelope.body);
    if !envelope
        .signatures
        .iter()
        .any(|s| check_signature(key, &message, s).is_ok())
    {
        return Err("the DSSE signature does not verify with this key".into());
    }
    let statement: Value = serde_json::from_slice(&envelope.body)
        .map_err(|e| format!("the statement is not JSON: {e}"))?;
    if statement["predicateType"] != predicate_type {
        return Err(Rejected(format!(
            "predicate type {}",
            statement["predicateType"]
        )));
    }
    let hex = digest.trim_start_matches("sha256:");
    let subjects = statement["subject"].as_array().cloned().unwrap_or_default();
    if !subjects.iter().any(|s| s["digest"]["sha256"] == hex) {
        let named: Vec<String> = subjects
            .iter()
            .map(|s| s["digest"]["sha256"].as_str().unwrap_or("?").to_string())
            .collect();
        return Err(Rejected(format!(
            "its subject is sha256:{}, not this artifact",
            named.join(",")
        )));
    }
    Ok(())
}
