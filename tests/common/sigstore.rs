//! A local Sigstore instance for a test binary: scripts/sigstore-stack.sh started once in a
//! scratch directory (Fulcio, Rekor v2, the timestamp authority, an OIDC issuer, all on
//! loopback) and shared by the binary's tests; it stops by itself when the binary exits
//! (`SIGSTORE_STACK_OWNER`). A test may start another one of its own beside it.

use super::Tools;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub struct Stack {
    script: PathBuf,
    dir: PathBuf,
}

impl Tools {
    /// The test binary's local Sigstore instance, started on first use (needs `sigstore`).
    pub fn sigstore_stack(&self) -> &'static Stack {
        static STACK: OnceLock<Stack> = OnceLock::new();
        let script = self.path("sigstore");
        STACK.get_or_init(|| {
            // Kept (not a TempDir): the instance outlives every test; the watchdog stops it.
            start(script, tempfile::tempdir().unwrap().keep())
        })
    }

    /// Another instance of its own in `dir`, beside the shared one; stopped when dropped.
    pub fn another_sigstore_stack(&self, dir: &Path) -> OwnStack {
        OwnStack(start(self.path("sigstore"), dir.to_path_buf()))
    }
}

fn start(script: PathBuf, dir: PathBuf) -> Stack {
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&dir)
        .env("SIGSTORE_STACK_OWNER", std::process::id().to_string())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "sigstore-stack.sh start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Stack { script, dir }
}

/// An instance a test started for itself ([`Tools::another_sigstore_stack`]).
pub struct OwnStack(pub Stack);

impl Drop for OwnStack {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(&self.0.script)
            .arg("stop")
            .arg(self.0.dir())
            .status();
    }
}

impl Stack {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn trusted_root(&self) -> PathBuf {
        self.dir().join("trusted_root.json")
    }

    pub fn signing_config(&self) -> PathBuf {
        self.dir().join("signing_config.json")
    }

    /// The origin of its log's checkpoints (the log URL's host, as rekor-tiles' `--hostname`).
    pub fn log_origin(&self) -> String {
        let url = self.url("REKOR_URL");
        url.trim_start_matches("http://")
            .split(['/', ':'])
            .next()
            .unwrap()
            .to_string()
    }

    /// A copy of the trust root without any of `what` (`tlogs`, `certificateAuthorities`...),
    /// written to `to`, which it returns.
    pub fn trusted_root_without(&self, what: &str, to: &Path) -> PathBuf {
        let mut root: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.trusted_root()).unwrap()).unwrap();
        root[what] = serde_json::json!([]);
        std::fs::write(to, serde_json::to_vec(&root).unwrap()).unwrap();
        to.to_path_buf()
    }

    /// A copy of the signing config with its log's URL and its timestamp authority's replaced
    /// (when given), written to `to`; returns `to`, as a string for a command line.
    pub fn signing_config_with(&self, rekor: Option<&str>, tsa: Option<&str>, to: &Path) -> String {
        let mut config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(self.signing_config()).unwrap()).unwrap();
        if let Some(url) = rekor {
            config["rekorTlogUrls"][0]["url"] = url.into();
        }
        if let Some(url) = tsa {
            config["tsaUrls"][0]["url"] = url.into();
        }
        std::fs::write(to, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        to.display().to_string()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir().join(name))
            .unwrap()
            .trim()
            .to_string()
    }

    /// What a verifier must expect of [`Stack::token`]'s (GitHub workflow) tokens.
    pub fn identity(&self) -> String {
        self.read("identity")
    }

    /// One of `urls.env`'s service URLs: `FULCIO_URL`, `REKOR_URL`, `TSA_URL` (the timestamp
    /// endpoint), `OIDC_URL`.
    pub fn url(&self, name: &str) -> String {
        self.read("urls.env")
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("urls.env has no {name}"))
            .to_string()
    }

    pub fn issuer(&self) -> String {
        self.read("issuer")
    }

    pub fn email_identity(&self) -> String {
        self.read("email-identity")
    }

    pub fn email_issuer(&self) -> String {
        self.read("email-issuer")
    }

    /// A fresh identity token: `github` (workflow claims) or `email`.
    pub fn token_of(&self, kind: &str) -> String {
        let out = Command::new("bash")
            .arg(&self.script)
            .args(["token"])
            .arg(self.dir())
            .arg(kind)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "sigstore-stack.sh token: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A GitHub-style token for another audience than `sigstore`, from the Actions endpoint.
    pub fn token_for_audience(&self, audience: &str) -> String {
        let env = self.actions_env();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).unwrap().1.clone();
        let out = Command::new("curl")
            .args(["-fsS", "-H"])
            .arg(format!(
                "Authorization: Bearer {}",
                get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
            ))
            .arg(format!(
                "{}&audience={audience}",
                get("ACTIONS_ID_TOKEN_REQUEST_URL")
            ))
            .output()
            .expect("curl runs");
        assert!(
            out.status.success(),
            "curl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["value"].as_str().unwrap().to_string()
    }

    pub fn token(&self) -> String {
        self.token_of("github")
    }

    /// `actions.env`'s variables: GitHub Actions' token request, pointed at the issuer.
    pub fn actions_env(&self) -> Vec<(String, String)> {
        self.read("actions.env")
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The flags cosign needs to verify against this instance.
    pub fn cosign_verify_flags(&self) -> Vec<String> {
        vec![
            "--trusted-root".into(),
            self.trusted_root().display().to_string(),
            "--certificate-identity".into(),
            self.identity(),
            "--certificate-oidc-issuer".into(),
            self.issuer(),
            "--insecure-ignore-sct".into(),
        ]
    }
}

/// Writes to `to` a copy of the Sigstore bundle `bundle` with the first hash of its log entry's
/// inclusion path altered (its first character changed), and returns `to`.
pub fn with_inclusion_hash_altered(bundle: &Path, to: PathBuf) -> PathBuf {
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle).unwrap()).unwrap();
    let hash = &mut v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0];
    let mut flipped = hash
        .as_str()
        .expect("an inclusion path hash")
        .to_string()
        .into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    *hash = serde_json::Value::String(String::from_utf8(flipped).unwrap());
    std::fs::write(&to, serde_json::to_vec(&v).unwrap()).unwrap();
    to
}
