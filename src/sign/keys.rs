//! cosign's key files: an ECDSA P-256 private key as PKCS#8, sealed with NaCl secretbox under
//! a scrypt-derived key, in a PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (older cosign:
//! `ENCRYPTED COSIGN PRIVATE KEY`); the public key as a PEM `PUBLIC KEY` (SPKI). Unencrypted
//! PKCS#8 and SEC1 EC keys are read too.
//!
//! The container is ours: sigstore-rs reads it only with N up to 2^16 (we accept 2^15 to
//! 2^17, as cosign versions wrote them) and reports a wrong password as "Unsupported key
//! type"; the primitives are RustCrypto's.

use crate::error::{Error, Result};
use base64::Engine;
use crypto_secretbox::aead::{Aead, KeyInit};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use serde_json::{json, Value};
use std::path::Path;

pub const ENCRYPTED_LABEL: &str = "ENCRYPTED SIGSTORE PRIVATE KEY";
pub const OLD_ENCRYPTED_LABEL: &str = "ENCRYPTED COSIGN PRIVATE KEY";
/// scrypt cost cosign writes (N = 2^16, r = 8, p = 1).
const LOG_N: u8 = 16;
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn key_error(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::Key(format!("{}: {why}", path.display()))
}

/// A new key pair: (encrypted private key PEM, public key PEM).
pub fn generate(password: &[u8]) -> Result<(String, String)> {
    let key = SigningKey::random(&mut rand_core::OsRng);
    let private = encrypt(&key, password)?;
    Ok((private, public_pem(key.verifying_key())))
}

pub fn public_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .expect("a P-256 public key encodes")
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    bytes
}

/// Seals `key` the way `cosign generate-key-pair` does.
pub fn encrypt(key: &SigningKey, password: &[u8]) -> Result<String> {
    encrypt_with(key, password, LOG_N)
}

/// [`encrypt`] with another scrypt cost (2^`log_n`), as older and newer cosigns wrote.
pub fn encrypt_with(key: &SigningKey, password: &[u8], log_n: u8) -> Result<String> {
    let der = key.to_pkcs8_der().expect("a P-256 key encodes");
    let salt: [u8; 32] = random();
    let nonce: [u8; 24] = random();
    let box_key = derive(password, &salt, log_n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(&box_key.into());
    let sealed = cipher
        .encrypt(&nonce.into(), der.as_bytes())
        .expect("secretbox seals");
    let body = json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u64 << log_n, "r": 8, "p": 1}, "salt": B64.encode(salt)},
        "cipher": {"name": "nacl/secretbox", "nonce": B64.encode(nonce)},
        "ciphertext": B64.encode(sealed),
    });
    Ok(pem_rfc7468::encode_string(
        ENCRYPTED_LABEL,
        pem_rfc7468::LineEnding::LF,
        body.to_string().as_bytes(),
    )
    .expect("PEM encodes"))
}

fn derive(password: &[u8], salt: &[u8], log_n: u8) -> Result<[u8; 32]> {
    let params = scrypt::Params::new(log_n, 8, 1, 32)
        .map_err(|e| Error::Key(format!("scrypt parameters: {e}")))?;
    let mut out = [0u8; 32];
    scrypt::scrypt(password, salt, &params, &mut out)
        .map_err(|e| Error::Key(format!("scrypt: {e}")))?;
    Ok(out)
}

/// Reads a private key file. `password` is asked for only when the key is encrypted.
pub fn read_private(path: &Path, password: impl FnOnce() -> Result<Vec<u8>>) -> Result<SigningKey> {
    load_private(path)?.open(password)
}

/// A private key file read and unwrapped from its PEM block, not yet opened.
pub struct PrivateKeyFile {
    path: std::path::PathBuf,
    label: String,
    der: Vec<u8>,
    /// The file's permission bits (Unix).
    mode: Option<u32>,
}

/// Reads a private key file's PEM block.
pub fn load_private(path: &Path) -> Result<PrivateKeyFile> {
    let text = crate::fsio::read_text_limited(path, crate::fsio::TEXT_LIMIT)?;
    let (label, der) = pem_rfc7468::decode_vec(text.trim().as_bytes())
        .map_err(|e| key_error(path, format!("not a PEM key file: {e}")))?;
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777)
    };
    #[cfg(not(unix))]
    let mode = None;
    Ok(PrivateKeyFile {
        path: path.to_path_buf(),
        label: label.to_string(),
        der,
        mode,
    })
}

impl PrivateKeyFile {
    /// Whether opening it needs a password.
    pub fn encrypted(&self) -> bool {
        self.label == ENCRYPTED_LABEL || self.label == OLD_ENCRYPTED_LABEL
    }

    /// The file's permission bits when its group or others may read it (a private key should
    /// be 0600, as `generate-key-pair` and cosign write it); `None` when only its owner may.
    pub fn readable_by_others(&self) -> Option<u32> {
        self.mode.filter(|m| m & 0o044 != 0)
    }

    /// The key; `password` is asked for only when the key is encrypted.
    pub fn open(&self, password: impl FnOnce() -> Result<Vec<u8>>) -> Result<SigningKey> {
        let (path, der) = (self.path.as_path(), self.der.as_slice());
        match self.label.as_str() {
            ENCRYPTED_LABEL | OLD_ENCRYPTED_LABEL => decrypt(path, der, &password()?),
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(der)
                .map_err(|e| key_error(path, format!("not an ECDSA P-256 PKCS#8 key: {e}"))),
            "EC PRIVATE KEY" => p256::SecretKey::from_sec1_der(der)
                .map(SigningKey::from)
                .map_err(|e| key_error(path, format!("not a P-256 SEC1 key: {e}"))),
            other => Err(key_error(
                path,
                format!("a PEM `{other}` block is not a private key wasipack reads (cosign's encrypted keys, PKCS#8 or SEC1 EC keys)"),
            )),
        }
    }
}

fn decrypt(path: &Path, body: &[u8], password: &[u8]) -> Result<SigningKey> {
    let v: Value = serde_json::from_slice(body)
        .map_err(|e| key_error(path, format!("encrypted key body is not JSON: {e}")))?;
    let field = |p: &str| -> Result<&Value> {
        v.pointer(p).filter(|x| !x.is_null()).ok_or_else(|| {
            key_error(
                path,
                format!("encrypted key: no `{}`", &p[1..].replace('/', ".")),
            )
        })
    };
    if field("/kdf/name")? != "scrypt" || field("/cipher/name")? != "nacl/secretbox" {
        return Err(key_error(
            path,
            "encrypted key: only scrypt with nacl/secretbox is supported",
        ));
    }
    let n = field("/kdf/params/N")?.as_u64().unwrap_or(0);
    let (r, p) = (field("/kdf/params/r")?, field("/kdf/params/p")?);
    let log_n = match n {
        32768 => 15,
        65536 => 16,
        131072 => 17,
        _ => {
            return Err(key_error(
                path,
                format!("encrypted key: scrypt N={n} (only 2^15, 2^16 and 2^17 are accepted)"),
            ))
        }
    };
    if r != 8 || p != 1 {
        return Err(key_error(
            path,
            "encrypted key: scrypt r and p must be 8 and 1",
        ));
    }
    let b64 = |p: &str| -> Result<Vec<u8>> {
        B64.decode(field(p)?.as_str().unwrap_or_default())
            .map_err(|e| key_error(path, format!("encrypted key: `{}`: {e}", &p[1..])))
    };
    let salt = b64("/kdf/salt")?;
    let nonce: [u8; 24] = b64("/cipher/nonce")?
        .try_into()
        .map_err(|_| key_error(path, "encrypted key: the nonce is not 24 bytes"))?;
    let sealed = b64("/ciphertext")?;
    let box_key = derive(password, &salt, log_n)?;
    let cipher = crypto_secretbox::XSalsa20Poly1305::new(&box_key.into());
    let der = cipher
        .decrypt(&nonce.into(), sealed.as_slice())
        .map_err(|_| {
            key_error(
                path,
                "wrong password (the password comes from COSIGN_PASSWORD, else a prompt)",
            )
        })?;
    SigningKey::from_pkcs8_der(&der)
        .map_err(|e| key_error(path, format!("decrypted, but not an ECDSA P-256 key: {e}")))
}

/// Reads a public key (`PUBLIC KEY` PEM), or takes the public half of a private key file.
pub fn read_public(path: &Path) -> Result<VerifyingKey> {
    let text = crate::fsio::read_text_limited(path, crate::fsio::TEXT_LIMIT)?;
    VerifyingKey::from_public_key_pem(text.trim())
        .map_err(|e| key_error(path, format!("not a PEM ECDSA P-256 public key: {e}")))
}

/// Writes the key pair: the private key with mode 0600 (created, never overwritten), the
/// public key 0644.
pub fn write_pair(
    prefix: &Path,
    private: &str,
    public: &str,
) -> Result<(std::path::PathBuf, std::path::PathBuf)> {
    // Appended, not `with_extension`: a prefix like `keys/ci.v2` keeps its dot.
    let with = |ext: &str| {
        let mut p = prefix.as_os_str().to_os_string();
        p.push(ext);
        std::path::PathBuf::from(p)
    };
    let (key_path, pub_path) = (with(".key"), with(".pub"));
    for p in [&key_path, &pub_path] {
        if p.exists() {
            return Err(Error::Key(format!(
                "{}: already exists; remove it or choose another --output-key-prefix",
                p.display()
            )));
        }
    }
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    let dir = crate::fsio::parent_dir(&key_path);
    std::fs::create_dir_all(dir).map_err(fail(dir))?;
    let mut tmp = crate::fsio::private_temp_in(dir).map_err(fail(&key_path))?;
    std::io::Write::write_all(&mut tmp, private.as_bytes()).map_err(fail(&key_path))?;
    crate::fsio::write_atomic(&pub_path, public.as_bytes())?;
    tmp.persist_noclobber(&key_path)
        .map_err(|e| fail(&key_path)(e.error))?;
    Ok((key_path, pub_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_key_opens_with_its_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate(b"pw").unwrap();
        assert!(private.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
        let (k, p) = write_pair(&dir.path().join("cosign"), &private, &public).unwrap();
        let key = read_private(&k, || Ok(b"pw".to_vec())).unwrap();
        assert_eq!(key.verifying_key(), &read_public(&p).unwrap());
        let err = read_private(&k, || Ok(b"nope".to_vec())).unwrap_err();
        assert!(err.to_string().contains("wrong password"), "{err}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&k).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(write_pair(&dir.path().join("cosign"), &private, &public).is_err());
    }

    #[test]
    fn scrypt_costs_from_2_15_to_2_17_are_read_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::random(&mut rand_core::OsRng);
        for log_n in [15, 16, 17, 14] {
            let path = dir.path().join(format!("k{log_n}.key"));
            std::fs::write(&path, encrypt_with(&key, b"pw", log_n).unwrap()).unwrap();
            let read = read_private(&path, || Ok(b"pw".to_vec()));
            if log_n == 14 {
                assert!(read.unwrap_err().to_string().contains("N=16384"));
            } else {
                assert_eq!(read.unwrap(), key);
            }
        }
        let old = dir.path().join("old.key");
        let text = encrypt(&key, b"pw")
            .unwrap()
            .replace(ENCRYPTED_LABEL, OLD_ENCRYPTED_LABEL);
        std::fs::write(&old, text).unwrap();
        assert_eq!(read_private(&old, || Ok(b"pw".to_vec())).unwrap(), key);
    }

    #[test]
    fn plain_pkcs8_and_sec1_keys_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::random(&mut rand_core::OsRng);
        let pkcs8 = dir.path().join("k8.pem");
        std::fs::write(
            &pkcs8,
            key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(read_private(&pkcs8, || unreachable!()).unwrap(), key);
        let sec1 = dir.path().join("sec1.pem");
        let secret = p256::SecretKey::from(&key);
        std::fs::write(
            &sec1,
            secret
                .to_sec1_pem(p256::pkcs8::LineEnding::LF)
                .unwrap()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(read_private(&sec1, || unreachable!()).unwrap(), key);
    }
}
