//! Content digests as OCI and cosign write them: lowercase hex SHA-256, `sha256:HEX`.
//!
//! A leaf module: every stage that names bytes by their digest (inspection, layouts,
//! registries, signatures, the build cache) uses these, and they use nothing of ours.

use sha2::{Digest, Sha256};

/// Lowercase hex of the SHA-256 of `bytes` (sha2 0.11 has no `{:x}`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `sha256:HEX` of `bytes`, as an OCI descriptor names them.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// Lowercase hex, as digests are written.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_lowercase_hex_of_sha256() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_digest(b"abc"),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
    }
}
