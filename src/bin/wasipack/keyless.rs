//! The keyless and transparency-log flags shared by the signing commands and `verify`, named
//! as cosign names them.

use std::path::{Path, PathBuf};
use wasipack::sign::keyless::{Expect, IdentityPolicy, InstanceFiles, TokenSource};
use wasipack::sign::{Choice, ClosedKey, Mode, Signing};
use wasipack::Result;

/// How a signing command signs without a key, and where it logs.
#[derive(clap::Args, Debug, Clone)]
pub struct Sign {
    /// Sign without a key: a short-lived Fulcio certificate for the OIDC identity, the
    /// signature logged in Rekor with a timestamp, all in a Sigstore bundle. The identity token
    /// comes from --identity-token, else SIGSTORE_ID_TOKEN, else the GitHub Actions job
    /// (`permissions: id-token: write`).
    // Each command's signing key option conflicts with this one (in `rebuild`, `--key` is the
    // builder's public key and `--sign` the signing key).
    #[arg(long)]
    pub keyless: bool,
    #[command(flatten)]
    pub with: With,
}

/// The token a keyless signature is made with (it requires `--keyless`), the instance, and
/// whether a key's signatures are logged there: [`Sign`]'s, and `build --sign`'s, whose
/// `--keyless` is its own.
#[derive(clap::Args, Debug, Clone)]
pub struct With {
    /// The OIDC identity token (a JWT, or a file holding one), audience `sigstore`.
    #[arg(long, value_name = "TOKEN|FILE", requires = "keyless")]
    pub identity_token: Option<String>,
    /// The instance to sign with (a Sigstore signing_config.json: Fulcio, Rekor, the timestamp
    /// authority); the public-good instance (through TUF) when not given. With a key, its
    /// signatures are logged in the instance's Rekor (v2) with a timestamp.
    #[arg(long, value_name = "FILE")]
    pub signing_config: Option<PathBuf>,
    /// The instance's trust root (a Sigstore trusted_root.json): each keyless bundle is
    /// checked against it (chain, log entry, timestamp) before anything is written, as cosign
    /// does; the public-good instance's when signing there without it. With `rebuild`, also
    /// what the builder's signatures are checked against.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
    /// Log a key's signatures in the transparency log: on by default where --signing-config
    /// names an instance (the public-good instance when given alone); --tlog-upload=false
    /// signs unlogged.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tlog_upload: Option<bool>,
    /// The audience the identity token must be for: the client ID the instance's Fulcio knows
    /// the token's issuer by (`sigstore` on the public instance and most private ones).
    #[arg(long, value_name = "ID", default_value = wasipack::sign::keyless::AUDIENCE)]
    pub oidc_client_id: String,
}

impl Sign {
    /// The signer these flags and `key` choose, its key read (password included) but not
    /// opened; none without a key or --keyless.
    /// `attach` is `--attach` as asked; `command` names the command in messages.
    pub fn signer(
        &self,
        command: &str,
        key: Option<&Path>,
        attach: Mode,
    ) -> Result<Option<Signing<ClosedKey>>> {
        let key = key.map(super::keys::closed).transpose()?;
        self.with.choose(command, key, self.keyless, attach)
    }

    /// [`Sign::signer`], opened.
    pub fn open(&self, command: &str, key: Option<&Path>, attach: Mode) -> Result<Option<Signing>> {
        self.signer(command, key, attach)?
            .map(Signing::open)
            .transpose()
    }
}

impl With {
    /// The signer for `key` or, with `keyless`, this token; the token is read (and checked)
    /// and the signing config loaded now, before anything is built or sent.
    pub fn choose<K>(
        &self,
        command: &str,
        key: Option<K>,
        keyless: bool,
        attach: Mode,
    ) -> Result<Option<Signing<K>>> {
        Signing::choose(Choice {
            command,
            attach,
            key,
            keyless: keyless.then(|| self.token()),
            audience: &self.oidc_client_id,
            instance: self.instance(),
            tlog_upload: self.tlog_upload,
        })
    }

    pub fn instance(&self) -> InstanceFiles {
        InstanceFiles {
            signing_config: self.signing_config.clone(),
            trusted_root: self.trusted_root.clone(),
        }
    }

    pub fn token(&self) -> TokenSource {
        match &self.identity_token {
            Some(t) => TokenSource::Flag(t.clone()),
            None => TokenSource::Environment,
        }
    }
}

/// The signer of a command that needs one (its parser requires --key or --keyless).
pub fn required<K>(signer: Option<Signing<K>>) -> Result<Signing<K>> {
    signer.ok_or_else(|| wasipack::Error::Usage("pass --key KEY or --keyless".into()))
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
    /// Accept certificates without a CT log's signed timestamp (a private Fulcio without a
    /// CT log).
    #[arg(long)]
    pub insecure_ignore_sct: bool,
}

impl Verify {
    /// The identity policy; `None` when no keyless option was given.
    pub fn policy(&self) -> Result<Option<IdentityPolicy>> {
        let pair = identity_and_issuer(
            [
                self.certificate_identity.as_deref(),
                self.certificate_identity_regexp.as_deref(),
                self.certificate_oidc_issuer.as_deref(),
                self.certificate_oidc_issuer_regexp.as_deref(),
            ],
            "",
        )?;
        let github = [
            &self.certificate_github_workflow_repository,
            &self.certificate_github_workflow_ref,
            &self.certificate_github_workflow_sha,
            &self.certificate_github_workflow_trigger,
            &self.certificate_github_workflow_name,
        ];
        let Some((identity, issuer)) = pair else {
            if github.iter().any(|g| g.is_some()) {
                return Err(wasipack::Error::Usage(
                    "keyless verification needs --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]".into(),
                ));
            }
            return Ok(None);
        };
        Ok(Some(IdentityPolicy {
            identity: Some(identity),
            issuer: Some(issuer),
            github_repository: self.certificate_github_workflow_repository.clone(),
            github_ref: self.certificate_github_workflow_ref.clone(),
            github_sha: self.certificate_github_workflow_sha.clone(),
            github_trigger: self.certificate_github_workflow_trigger.clone(),
            github_name: self.certificate_github_workflow_name.clone(),
            ignore_sct: self.insecure_ignore_sct,
        }))
    }
}

/// The trust root `verify` checks against (in `rebuild`, the signing flags' `--trusted-root`
/// serves both).
#[derive(clap::Args, Debug, Clone)]
pub struct Trust {
    /// The trust root (a Sigstore trusted_root.json) to check certificates, timestamps and log
    /// entries against; nothing else is fetched. The public-good instance's (through TUF,
    /// cached) when not given. With --key: a key's signature must then be logged in one of
    /// its transparency logs (a Sigstore bundle with an entry), as `cosign verify --key`
    /// requires without --insecure-ignore-tlog.
    #[arg(long, value_name = "FILE")]
    pub trusted_root: Option<PathBuf>,
}

/// The identity and issuer from `[identity, identity regexp, issuer, issuer regexp]` as the
/// options `--{prefix}certificate-...` gave them: both, or `None` when neither was given.
fn identity_and_issuer(
    options: [Option<&str>; 4],
    prefix: &str,
) -> Result<Option<(Expect, Expect)>> {
    let [identity, identity_regexp, issuer, issuer_regexp] = options;
    let identity = Expect::from_options(
        identity,
        identity_regexp,
        &format!("--{prefix}certificate-identity-regexp"),
    )?;
    let issuer = Expect::from_options(
        issuer,
        issuer_regexp,
        &format!("--{prefix}certificate-oidc-issuer-regexp"),
    )?;
    match (identity, issuer) {
        (None, None) => Ok(None),
        (Some(identity), Some(issuer)) => Ok(Some((identity, issuer))),
        (identity, _) => Err(wasipack::Error::Usage(format!(
            "keyless verification needs both --{prefix}certificate-identity[-regexp] and --{prefix}certificate-oidc-issuer[-regexp] (only {} given)",
            if identity.is_some() { "the identity" } else { "the issuer" }
        ))),
    }
}

/// Whom a SLSA verification summary must come from, keyless (`verify --require-attestation
/// rebuild`): the rebuilder, under the same `--trusted-root` as the builder.
#[derive(clap::Args, Debug, Clone)]
pub struct Rebuilder {
    /// The identity (the certificate's email or URI) of whoever rebuilt the module and signed
    /// its summary keyless: someone other than the builder.
    #[arg(long, value_name = "IDENTITY", conflicts_with = "rebuild_key")]
    pub rebuild_certificate_identity: Option<String>,
    /// A regular expression the rebuilder's identity must match.
    #[arg(long, value_name = "REGEXP", conflicts_with_all = ["rebuild_key", "rebuild_certificate_identity"])]
    pub rebuild_certificate_identity_regexp: Option<String>,
    /// The OIDC issuer that vouched for the rebuilder's identity.
    #[arg(long, value_name = "URL", conflicts_with = "rebuild_key")]
    pub rebuild_certificate_oidc_issuer: Option<String>,
    /// A regular expression the rebuilder's OIDC issuer must match.
    #[arg(long, value_name = "REGEXP", conflicts_with_all = ["rebuild_key", "rebuild_certificate_oidc_issuer"])]
    pub rebuild_certificate_oidc_issuer_regexp: Option<String>,
}

impl Rebuilder {
    /// The rebuilder's identity policy (`None` when no option was given), with the builder's
    /// `--insecure-ignore-sct`. Refused when it is the builder's own (`builder`): a rebuild
    /// counts only when someone else signed it.
    pub fn policy(&self, builder: &Verify) -> Result<Option<IdentityPolicy>> {
        let own = [
            self.rebuild_certificate_identity.as_deref(),
            self.rebuild_certificate_identity_regexp.as_deref(),
            self.rebuild_certificate_oidc_issuer.as_deref(),
            self.rebuild_certificate_oidc_issuer_regexp.as_deref(),
        ];
        let theirs = [
            builder.certificate_identity.as_deref(),
            builder.certificate_identity_regexp.as_deref(),
            builder.certificate_oidc_issuer.as_deref(),
            builder.certificate_oidc_issuer_regexp.as_deref(),
        ];
        let Some((identity, issuer)) = identity_and_issuer(own, "rebuild-")? else {
            return Ok(None);
        };
        if own == theirs {
            return Err(wasipack::Error::Usage(
                "--rebuild-certificate-identity/--rebuild-certificate-oidc-issuer are the builder's --certificate-identity/--certificate-oidc-issuer; a rebuild counts only when someone else signed it".into(),
            ));
        }
        Ok(Some(IdentityPolicy {
            identity: Some(identity),
            issuer: Some(issuer),
            github_repository: None,
            github_ref: None,
            github_sha: None,
            github_trigger: None,
            github_name: None,
            ignore_sct: builder.insecure_ignore_sct,
        }))
    }
}
