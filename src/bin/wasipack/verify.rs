//! `wasipack verify REF|FILE --key PUB`.

use std::path::{Path, PathBuf};
use wasipack::oci::{Store, Target};
use wasipack::policy::Policy;
use wasipack::report;
use wasipack::sign::{keyless, keys, payload};
use wasipack::text::printable;
use wasipack::workflow::verify;
use wasipack::{Error, Result};

/// Verify an artifact as a consumer pulls it: a signature binding exactly its digest, the
/// required attestations (DSSE signature and subject), the module's digest, and the policy on
/// its bytes. For a local FILE: its blob signature (--signature), fully offline, and the policy.
///
/// Exit codes: 0 every step passed, 1 a step failed (the report says which and why), 2 bad
/// input, key, registry or I/O error.
#[derive(clap::Args)]
pub struct Opts {
    /// REGISTRY/REPO[:TAG|@sha256:HEX], oci-layout:PATH[:TAG], or a local .wasm file.
    reference: String,
    /// The public key (PEM). Or, for keyless signatures, --certificate-identity and
    /// --certificate-oidc-issuer.
    #[arg(long, required_unless_present_any = ["certificate_identity", "certificate_identity_regexp"])]
    key: Option<PathBuf>,
    #[command(flatten)]
    keyless: super::keyless::Verify,
    #[command(flatten)]
    trust: super::keyless::Trust,
    /// For an image index (a `build --target wasip1,wasip2`): the entry to verify, wasip1 or
    /// wasip2 (also as OS/wasm). Needed when the index has more than one wasm entry.
    #[arg(long, value_name = "OS[/wasm]")]
    platform: Option<String>,
    /// Policy to check the module against (shipped name or file); none when not given.
    #[arg(long)]
    policy: Option<String>,
    /// Attestations that must be present: spdx, cyclonedx, slsa, rebuild (a SLSA verification
    /// summary from `wasipack rebuild --sign` or `--keyless`, signed with --rebuild-key or by
    /// --rebuild-certificate-identity), or predicate type URIs.
    #[arg(long, value_delimiter = ',')]
    require_attestation: Vec<String>,
    /// The public key of whoever rebuilt the module (`--require-attestation rebuild`): someone
    /// other than the builder, so not the --key. Or, keyless, --rebuild-certificate-identity
    /// and --rebuild-certificate-oidc-issuer.
    #[arg(long)]
    rebuild_key: Option<PathBuf>,
    #[command(flatten)]
    rebuilder: super::keyless::Rebuilder,
    /// For a local FILE: the base64 signature file from `sign-blob` or `cosign sign-blob`.
    #[arg(long, conflicts_with = "bundle")]
    signature: Option<PathBuf>,
    /// For a local FILE: a Sigstore bundle from `sign-blob --bundle` or `cosign sign-blob
    /// --bundle` (cosign v3 writes one by default).
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: super::net::Net,
}

fn required(names: &[String]) -> Result<Vec<(String, String)>> {
    names
        .iter()
        .map(|n| {
            let kind = match n.as_str() {
                "spdx" => "spdxjson",
                "slsa" => "slsaprovenance1",
                "rebuild" => verify::VERIFICATION_SUMMARY,
                other => other,
            };
            payload::predicate_type("--require-attestation", kind).map(|t| (n.clone(), t))
        })
        .collect()
}

pub fn run(opts: Opts) -> Result<u8> {
    let rebuilder = opts.rebuilder.policy(&opts.keyless)?;
    let identity = opts.keyless.policy()?;
    let key = opts.key.as_deref().map(keys::read_public).transpose()?;
    let verifier = match identity.is_some() || rebuilder.is_some() {
        true => Some(verifier(opts.trust.trusted_root.as_deref())?),
        false => None,
    };
    let logged = logged_key_verifier(key.as_ref(), opts.trust.trusted_root.as_deref())?;
    let trust = match (&key, &logged, &verifier, &identity) {
        (Some(key), Some(log), _, _) => verify::Trust::KeyLogged(key, log),
        (Some(key), None, _, _) => verify::Trust::Key(key),
        (None, _, Some(verifier), Some(identity)) => verify::Trust::Keyless(verifier, identity),
        (None, ..) => {
            return Err(Error::Usage(
                "pass --key PUB, or --certificate-identity and --certificate-oidc-issuer".into(),
            ))
        }
    };
    let policy = opts.policy.as_deref().map(Policy::load).transpose()?;
    let is_file = !opts.reference.starts_with("oci-layout:")
        && std::path::Path::new(&opts.reference).is_file();
    let report = if is_file {
        verify_file(&opts, trust, policy.as_ref())?
    } else {
        let required = required(&opts.require_attestation)?;
        let rebuild_key = opts
            .rebuild_key
            .as_deref()
            .map(keys::read_public)
            .transpose()?;
        let rebuilder = match (&rebuild_key, &verifier, &rebuilder) {
            (Some(k), _, _) => Some(verify::Trust::Key(k)),
            (None, Some(v), Some(identity)) => Some(verify::Trust::Keyless(v, identity)),
            _ => None,
        };
        let others = rebuilder_trust(&opts, &required, key.as_ref(), rebuilder)?;
        let target = Target::parse(&opts.reference)?;
        let store = Store::open(&target, opts.net.options(false, false)?, false)?;
        verify::verify_with(
            &store,
            &target,
            opts.platform.as_deref(),
            trust,
            &required,
            &others,
            policy.as_ref(),
        )?
    };
    if opts.json {
        super::print_json(report::VERIFY_SCHEMA, &report);
    } else {
        let mut text = String::new();
        // A step's detail quotes the registry, the module and the policy: escaped, it stays
        // on its line.
        for s in &report.steps {
            text.push_str(&format!(
                "{} {:<24} {}\n",
                if s.passed { "ok  " } else { "FAIL" },
                printable(&s.step),
                printable(&s.detail)
            ));
        }
        text.push_str(&format!(
            "{}: {}\n",
            printable(&report.reference),
            if report.verified {
                "verified"
            } else {
                "NOT verified"
            }
        ));
        super::print(&text);
    }
    Ok(if report.verified { 0 } else { 1 })
}

/// The keyless verifier of `--trusted-root` (the public-good instance's without it).
pub fn verifier(trusted_root: Option<&Path>) -> Result<keyless::KeylessVerifier> {
    let root = instance(trusted_root).trusted_root()?;
    let what = trusted_root.map_or("the public-good trust root".to_string(), |p| {
        p.display().to_string()
    });
    keyless::KeylessVerifier::new(&root, &what)
}

fn instance(trusted_root: Option<&Path>) -> keyless::InstanceFiles {
    keyless::InstanceFiles {
        signing_config: None,
        trusted_root: trusted_root.map(Path::to_path_buf),
    }
}

/// A key with a trust root (`--trusted-root`): its signatures must be logged in one of the
/// root's logs. `None` without either.
pub fn logged_key_verifier(
    key: Option<&p256::ecdsa::VerifyingKey>,
    trusted_root: Option<&Path>,
) -> Result<Option<keyless::LoggedKeyVerifier>> {
    match (key, trusted_root) {
        (Some(key), Some(path)) => Ok(Some(keyless::LoggedKeyVerifier::new(
            &instance(trusted_root).trusted_root()?,
            &path.display().to_string(),
            key,
        )?)),
        _ => Ok(None),
    }
}

/// Whom the `rebuild` requirement trusts (`--rebuild-key`, or the rebuilder's identity):
/// needed with it, refused without it, and never the builder's own key.
fn rebuilder_trust<'a>(
    opts: &Opts,
    required: &[(String, String)],
    key: Option<&p256::ecdsa::VerifyingKey>,
    rebuilder: Option<verify::Trust<'a>>,
) -> Result<std::collections::BTreeMap<String, verify::Trust<'a>>> {
    let wanted = required.iter().any(|(n, _)| n == "rebuild");
    match (rebuilder, wanted) {
        (None, false) => Ok(Default::default()),
        (None, true) => Err(Error::Usage(
            "--require-attestation rebuild needs --rebuild-key PUB or --rebuild-certificate-identity[-regexp] and --rebuild-certificate-oidc-issuer[-regexp]: whoever rebuilt the module".into(),
        )),
        (Some(_), false) => Err(Error::Usage(
            "--rebuild-key and --rebuild-certificate-* are used only with --require-attestation rebuild".into(),
        )),
        (Some(verify::Trust::Key(rebuilder)), true) if Some(rebuilder) == key => {
            Err(Error::Usage(format!(
                "{}: --rebuild-key is the builder's --key; a rebuild counts only when someone else signed it",
                opts.rebuild_key.as_deref().unwrap_or(std::path::Path::new("-")).display()
            )))
        }
        (Some(trust), true) => Ok([("rebuild".to_string(), trust)].into()),
    }
}

fn verify_file(
    opts: &Opts,
    trust: verify::Trust<'_>,
    policy: Option<&Policy>,
) -> Result<verify::Report> {
    let path = std::path::Path::new(&opts.reference);
    let signature = match (&opts.signature, &opts.bundle) {
        (Some(sig), _) => verify::BlobSignature::Base64(sig),
        (None, Some(bundle)) => verify::BlobSignature::Bundle(bundle),
        (None, None) => {
            return Err(Error::Usage(format!(
                "{}: a local file needs --signature SIG or --bundle FILE (from sign-blob)",
                path.display()
            )))
        }
    };
    verify::verify_file(path, trust, signature, policy)
}
