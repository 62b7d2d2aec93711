//! A certificate authority of the test's own, made with `openssl` (Fulcio always issues for
//! now..now+10 min, so a certificate outside its validity has to come from elsewhere): a CA,
//! a leaf with the Sigstore profile (code signing, an e-mail identity, Fulcio's OIDC issuer
//! extension) for any validity window, a blob signed with the leaf's key, the Sigstore bundle
//! v0.3 of that signature (with an RFC 3161 timestamp from a real TSA, or with none), and a
//! trusted root that lists the CA.

use super::sigstore::Stack;
use base64::Engine;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The identity and issuer every leaf of a [`TestCa`] carries.
pub const IDENTITY: &str = "signer@test-ca.wasipack.test";
pub const ISSUER: &str = "https://issuer.test-ca.wasipack.test";

pub struct TestCa {
    dir: PathBuf,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Runs a program in `dir`; it must succeed.
fn run(dir: &Path, program: &str, args: &[&str]) {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A PEM certificate's DER bytes.
fn der(dir: &Path, pem: &str) -> Vec<u8> {
    let out = dir.join(format!("{pem}.der"));
    run(
        dir,
        "openssl",
        &[
            "x509",
            "-in",
            pem,
            "-outform",
            "DER",
            "-out",
            out.to_str().unwrap(),
        ],
    );
    std::fs::read(out).unwrap()
}

impl TestCa {
    /// A P-256 CA valid from now for a hundred years, in `dir` (which must exist).
    pub fn new(dir: &Path) -> TestCa {
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = test\n[test]\ndatabase = index.txt\nnew_certs_dir = {d}\n\
                 serial = serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n\
                 copy_extensions = none\n[any]\ncommonName = optional\n\
                 [leaf]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
                 extendedKeyUsage = codeSigning\nsubjectAltName = email:{IDENTITY}\n\
                 1.3.6.1.4.1.57264.1.8 = ASN1:UTF8String:{ISSUER}\n",
                d = dir.display()
            ),
        )
        .unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "1000\n").unwrap();
        run(
            dir,
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "36500",
                "-subj",
                "/O=wasipack test/CN=wasipack test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        TestCa {
            dir: dir.to_path_buf(),
        }
    }

    /// A leaf named `name` valid from `start` to `end` (`YYYYMMDDHHMMSSZ`), its key in
    /// `NAME.key`; returns its PEM path.
    pub fn leaf(&self, name: &str, start: &str, end: &str) -> PathBuf {
        let dir = &self.dir;
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        run(
            dir,
            "openssl",
            &[
                "ecparam",
                "-genkey",
                "-name",
                "prime256v1",
                "-noout",
                "-out",
                &key,
            ],
        );
        run(
            dir,
            "openssl",
            &[
                "req",
                "-new",
                "-key",
                &key,
                "-subj",
                "/O=wasipack test",
                "-out",
                &csr,
            ],
        );
        run(
            dir,
            "openssl",
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-extensions",
                "leaf",
                "-notext",
                "-keyfile",
                "ca.key",
                "-cert",
                "ca.pem",
                "-startdate",
                start,
                "-enddate",
                end,
                "-in",
                &csr,
                "-out",
                &pem,
            ],
        );
        dir.join(pem)
    }

    /// A trusted root: `stack`'s (its log and timestamp authority) with this CA as the only
    /// certificate authority, valid for every leaf it issues.
    pub fn trusted_root(&self, stack: &Stack) -> PathBuf {
        let mut root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(stack.trusted_root()).unwrap()).unwrap();
        root["certificateAuthorities"] = serde_json::json!([{
            "subject": {"organization": "wasipack test", "commonName": "wasipack test CA"},
            "uri": "https://ca.wasipack.test",
            "certChain": {"certificates": [{"rawBytes": b64(&der(&self.dir, "ca.pem"))}]},
            "validFor": {"start": "2000-01-01T00:00:00Z"},
        }]);
        let path = self.dir.join("test-ca-root.json");
        std::fs::write(&path, serde_json::to_vec_pretty(&root).unwrap()).unwrap();
        path
    }

    /// The bundle of `leaf`'s key's signature over `blob`, logged in `stack`'s Rekor v2 (whose
    /// entries have no integrated time), with an RFC 3161 timestamp of `stack`'s TSA over the
    /// signature when `timestamped`, else with no timestamp at all. Written next to the leaf as
    /// `NAME.sigstore.json`.
    pub fn bundle(&self, stack: &Stack, leaf: &Path, blob: &Path, timestamped: bool) -> PathBuf {
        let dir = &self.dir;
        let name = leaf.file_stem().unwrap().to_str().unwrap();
        let sig = format!("{name}.sig");
        run(
            dir,
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-sign",
                &format!("{name}.key"),
                "-out",
                &sig,
                blob.to_str().unwrap(),
            ],
        );
        let digest = {
            use sha2::Digest;
            sha2::Sha256::digest(std::fs::read(blob).unwrap())
        };
        let (cert, signature) = (
            b64(&der(dir, leaf.to_str().unwrap())),
            b64(&std::fs::read(dir.join(&sig)).unwrap()),
        );
        let request = dir.join(format!("{name}.rekor-request.json"));
        std::fs::write(
            &request,
            serde_json::to_vec(&serde_json::json!({"hashedRekordRequestV002": {
                "digest": b64(&digest),
                "signature": {"content": signature, "verifier": {
                    "x509Certificate": {"rawBytes": cert},
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                }},
            }}))
            .unwrap(),
        )
        .unwrap();
        let entry = dir.join(format!("{name}.rekor-entry.json"));
        run(
            dir,
            "curl",
            &[
                "-fsS",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &format!("@{}", request.display()),
                "-o",
                entry.to_str().unwrap(),
                &format!("{}/api/v2/log/entries", stack.url("REKOR_URL")),
            ],
        );
        let entry: serde_json::Value =
            serde_json::from_slice(&std::fs::read(entry).unwrap()).unwrap();
        let mut material = serde_json::json!({
            "certificate": {"rawBytes": cert},
            "tlogEntries": [entry],
        });
        if timestamped {
            let url = stack.url("TSA_URL");
            let (query, answer) = (format!("{name}.tsq"), format!("{name}.tsr"));
            run(
                dir,
                "openssl",
                &[
                    "ts", "-query", "-data", &sig, "-sha256", "-cert", "-out", &query,
                ],
            );
            run(
                dir,
                "curl",
                &[
                    "-fsS",
                    "-H",
                    "Content-Type: application/timestamp-query",
                    "--data-binary",
                    &format!("@{query}"),
                    "-o",
                    &answer,
                    &url,
                ],
            );
            material["timestampVerificationData"] = serde_json::json!({
                "rfc3161Timestamps": [{"signedTimestamp": b64(&std::fs::read(dir.join(&answer)).unwrap())}]
            });
        }
        let bundle = serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": material,
            "messageSignature": {
                "messageDigest": {"algorithm": "SHA2_256", "digest": b64(&digest)},
                "signature": signature,
            },
        });
        let path = dir.join(format!("{name}.sigstore.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
        path
    }
}
