//! The keyless flags shared by the signing commands and `verify`, named as cosign names them.

use std::path::PathBuf;
use wasipack::sign::keyless::{Expect, IdentityPolicy, InstanceFiles, TokenSource};
use wasipack::Result;

/// How a signing command signs without a key.
#[derive(clap::Args, Debug, Clone)]
pub struct Sign {
    /// Sign without a key: a short-lived Fulcio certificate for the OIDC identity, the
    /// signature logged in Rekor with a timestamp, all in a Sigstore bundle. The identity token
    /// comes from --identity-token, else SIGSTORE_ID_TOKEN, else the GitHub Actions job
    /// (`permissions: id-token: write`).
    #[arg(long, conflicts_with = "key")]
    pub keyless: bool,
    #[command(flatten)]
    pub with: With,
}

impl Sign {
    pub fn instance(&self) -> InstanceFiles {
        self.with.instance()
    }

    pub fn token(&self) -> TokenSource {
        self.with.token()
    }
}

/// The token and the instance a keyless signature is made with (each requires `--keyless`):
/// [`Sign`]'s, and `build --sign --keyless`'s, whose `--keyless` is its own.
#[derive(clap::Args, Debug, Clone)]
pub struct With {
    /// The OIDC identity token (a JWT, or a file holding one), audience `sigstore`.
    #[arg(long, value_name = "TOKEN|FILE", requires = "keyless")]
    pub identity_token: Option<String>,
    /// The instance to sign with (a Sigstore signing_config.json: Fulcio, Rekor, the timestamp
    /// authority); the public-good instance (through TUF) when not given.
    #[arg(long, value_name = "FILE", requires = "keyless")]
    pub signing_config: Option<PathBuf>,
}

impl With {
    /// A signer for this token and instance: the token is read (and checked) and the signing
    /// config loaded now, before anything is built or sent.
    pub fn signer(&self) -> Result<wasipack::sign::keyless::KeylessSigner> {
        wasipack::sign::keyless::KeylessSigner::new(&self.instance(), &self.token())
    }

    pub fn instance(&self) -> InstanceFiles {
        InstanceFiles {
            signing_config: self.signing_config.clone(),
            trusted_root: None,
        }
    }

    pub fn token(&self) -> TokenSource {
        match &self.identity_token {
            Some(t) => TokenSource::Flag(t.clone()),
            None => TokenSource::Environment,
        }
    }
}

/// What a keyless signature's certificate must say.
#[derive(clap::Args, Debug, Clone)]
pub struct Verify {
    /// The signer's identity (the certificate's email or URI) for keyless signatures.
    #[arg(long, value_name = "IDENTITY", conflicts_with = "key")]
    pub certificate_identity: Option<String>,
    /// A regular expression the signer's identity must match.
    #[arg(long, value_name = "REGEXP", conflicts_with_all = ["key", "certificate_identity"])]
    pub certificate_identity_regexp: Option<String>,
    /// The OIDC issuer that vouched for the identity.
    #[arg(long, value_name = "URL", conflicts_with = "key")]
    pub certificate_oidc_issuer: Option<String>,
    /// A regular expression the OIDC issuer must match.
    #[arg(long, value_name = "REGEXP", conflicts_with_all = ["key", "certificate_oidc_issuer"])]
    pub certificate_oidc_issuer_regexp: Option<String>,
    /// The GitHub repository (OWNER/REPO) of the workflow that signed.
    #[arg(long, value_name = "OWNER/REPO")]
    pub certificate_github_workflow_repository: Option<String>,
    /// The git ref the signing workflow ran for (refs/heads/main, refs/tags/v1...).
    #[arg(long, value_name = "REF")]
    pub certificate_github_workflow_ref: Option<String>,
    /// The commit the signing workflow ran for.
    #[arg(long, value_name = "SHA")]
    pub certificate_github_workflow_sha: Option<String>,
    /// The event that triggered the signing workflow (push, release...).
    #[arg(long, value_name = "EVENT")]
    pub certificate_github_workflow_trigger: Option<String>,
    /// The name of the signing workflow.
    #[arg(long, value_name = "NAME")]
    pub certificate_github_workflow_name: Option<String>,
    /// The trust root (a Sigstore trusted_root.json) to check certificates, timestamps and log
    /// entries against; nothing else is fetched. The public-good instance's (through TUF,
    /// cached) when not given.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub trusted_root: Option<PathBuf>,
    /// Accept certificates without a CT log's signed timestamp (a private Fulcio without a
    /// CT log).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}

impl Verify {
    /// The identity policy; `None` when no keyless option was given.
    pub fn policy(&self) -> Result<Option<IdentityPolicy>> {
        let identity = Expect::from_options(
            self.certificate_identity.as_deref(),
            self.certificate_identity_regexp.as_deref(),
            "--certificate-identity-regexp",
        )?;
        let issuer = Expect::from_options(
            self.certificate_oidc_issuer.as_deref(),
            self.certificate_oidc_issuer_regexp.as_deref(),
            "--certificate-oidc-issuer-regexp",
        )?;
        let github = [
            &self.certificate_github_workflow_repository,
            &self.certificate_github_workflow_ref,
            &self.certificate_github_workflow_sha,
            &self.certificate_github_workflow_trigger,
            &self.certificate_github_workflow_name,
        ];
        if identity.is_none() && issuer.is_none() {
            if github.iter().any(|g| g.is_some()) || self.trusted_root.is_some() {
                return Err(wasipack::Error::Usage(
                    "keyless verification needs --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]".into(),
                ));
            }
            return Ok(None);
        }
        if identity.is_none() || issuer.is_none() {
            return Err(wasipack::Error::Usage(format!(
                "keyless verification needs both --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp] (only {} given)",
                if identity.is_some() { "the identity" } else { "the issuer" }
            )));
        }
        Ok(Some(IdentityPolicy {
            identity,
            issuer,
            github_repository: self.certificate_github_workflow_repository.clone(),
            github_ref: self.certificate_github_workflow_ref.clone(),
            github_sha: self.certificate_github_workflow_sha.clone(),
            github_trigger: self.certificate_github_workflow_trigger.clone(),
            github_name: self.certificate_github_workflow_name.clone(),
            ignore_sct: self.insecure_ignore_sct,
        }))
    }

    pub fn instance(&self) -> InstanceFiles {
        InstanceFiles {
            signing_config: None,
            trusted_root: self.trusted_root.clone(),
        }
    }
}

/// Keyless signatures are Sigstore bundle referrers only: cosign v2's `.sig`/`.att` tags have
/// no place for a Rekor v2 entry and its timestamp. `--attach bundles` (and the default `auto`)
/// is what `--keyless` does; `tags`, `both` or `--referrers` is a usage error naming `command`.
pub fn bundles_only(command: &str, mode: wasipack::sign::Mode) -> Result<()> {
    use wasipack::sign::Mode;
    match mode {
        Mode::Auto | Mode::Bundles => Ok(()),
        Mode::Tags | Mode::Both => Err(wasipack::Error::Usage(format!(
            "{command} --keyless stores Sigstore bundle referrers only: --attach {} asks for cosign v2's .sig/.att tags, which cannot hold a keyless signature's Rekor v2 entry and timestamp (use --attach bundles, or leave it out)",
            if mode == Mode::Tags { "tags" } else { "both (or --referrers)" }
        ))),
    }
}
