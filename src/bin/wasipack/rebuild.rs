//! `wasipack rebuild REF --key PUB|--certificate-identity ... [--sign KEY|--keyless]`.

use std::path::PathBuf;
use wasipack::oci::{Store, Target};
use wasipack::sign::keys;
use wasipack::text::printable;
use wasipack::workflow::rebuild;
use wasipack::workflow::verify::Trust;
use wasipack::Result;

/// Rebuild an artifact from its source, as its signed SLSA provenance records it, and compare:
/// the provenance is verified with --key (or, signed keyless, --certificate-identity and
/// --certificate-oidc-issuer, as `verify` takes them), the source fetched at the recorded
/// commit into a fresh temporary tree, the Go release checked against the recorded one, the
/// module built with the recorded configuration and environment, and the module, SBOMs and
/// manifest compared. With --sign or --keyless, a signed SLSA verification summary is attached
/// to a reproduced artifact.
///
/// Exit codes: 0 reproduced, 1 not reproduced (the report names the first output that differs
/// and where), 2 could not judge (no provenance the key or identity verifies, a source that
/// cannot be fetched, another Go release, a registry or I/O error).
#[derive(clap::Args)]
pub struct Opts {
    /// REGISTRY/REPO[:TAG|@sha256:HEX] or oci-layout:PATH[:TAG].
    reference: String,
    /// The builder's public key (PEM), which the provenance must verify with. Or, for a
    /// provenance signed keyless, --certificate-identity and --certificate-oidc-issuer.
    #[arg(long, required_unless_present_any = ["certificate_identity", "certificate_identity_regexp"])]
    key: Option<PathBuf>,
    #[command(flatten)]
    builder: super::keyless::Verify,
    /// Sign a SLSA verification summary with this private key and attach it to the artifact
    /// when it is reproduced (beside the other attestations, in the registry or layout). Or
    /// --keyless.
    #[arg(long, conflicts_with = "keyless")]
    sign: Option<PathBuf>,
    #[command(flatten)]
    signing: super::keyless::Sign,
    /// Fetch the source from this git URL or path instead of the recorded one (a mirror).
    #[arg(long)]
    source: Option<String>,
    /// When the local Go is another release than the recorded one, let Go fetch the recorded
    /// one (GOTOOLCHAIN=goX.Y.Z) instead of stopping with exit 2.
    #[arg(long)]
    allow_toolchain_download: bool,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: super::net::Net,
}

pub fn run(opts: Opts) -> Result<u8> {
    let identity = opts.builder.policy()?;
    let key = opts.key.as_deref().map(keys::read_public).transpose()?;
    let verifier = identity
        .as_ref()
        .map(|_| super::verify::verifier(opts.signing.with.trusted_root.as_deref()))
        .transpose()?;
    // A key with a trust root: the provenance must be logged in one of its logs, as for verify.
    let logged = super::verify::logged_key_verifier(
        key.as_ref(),
        opts.signing.with.trusted_root.as_deref(),
    )?;
    let trust = match (&key, &logged, &verifier, &identity) {
        (Some(key), Some(log), _, _) => Trust::KeyLogged(key, log),
        (Some(key), None, _, _) => Trust::Key(key),
        (None, _, Some(verifier), Some(identity)) => Trust::Keyless(verifier, identity),
        _ => unreachable!("clap requires --key or a certificate identity"),
    };
    // The signing key opens (or the identity token is read) before anything is built: a wrong
    // password or a missing token wastes no rebuild.
    let signer = opts
        .signing
        .open("rebuild", opts.sign.as_deref(), wasipack::sign::Mode::Auto)?;
    let signs = signer.is_some();
    let target = Target::parse(&opts.reference)?;
    let store = Store::open(&target, opts.net.options(signs, false)?, false)?;
    let options = rebuild::Options {
        trust,
        go: std::env::var("GO").unwrap_or_else(|_| "go".into()),
        allow_toolchain_download: opts.allow_toolchain_download,
        source: opts.source.clone(),
    };
    let mut report = rebuild::rebuild(
        &store,
        &target,
        &options,
        &super::progress::CompilerMessages,
    )?;
    if let (Some(signer), true) = (&signer, report.reproduced) {
        report.summary = rebuild::attach_summary(&store, &target, &report, signer)?;
    }
    if opts.json {
        super::print_json(wasipack::json::REBUILD_SCHEMA, &report);
    } else {
        let mut text = String::new();
        for o in &report.outputs {
            text.push_str(&format!(
                "{} {:<32} {}\n",
                if o.same { "same" } else { "DIFF" },
                printable(&o.output),
                if o.same {
                    o.rebuilt.clone()
                } else {
                    format!("{} rebuilt, {} expected", o.rebuilt, o.expected)
                }
            ));
        }
        for s in &report.summary {
            text.push_str(&format!(
                "attached https://slsa.dev/verification_summary/v1 ({})\n",
                s.layer_digest
            ));
        }
        text.push_str(&format!(
            "{}: {} from {} at {}{} with {}{}\n",
            printable(&report.reference),
            match &report.difference {
                None => "reproduced".to_string(),
                Some(d) => format!("NOT reproduced ({})", printable(d)),
            },
            printable(&report.source),
            report.commit,
            if report.dirty {
                " (built from a dirty tree)"
            } else {
                ""
            },
            report.toolchain,
            if report.toolchain_fetched {
                format!(
                    " (fetched by Go, GOTOOLCHAIN={}; the local go is {})",
                    report.toolchain, report.local_toolchain
                )
            } else {
                String::new()
            }
        ));
        super::print(&text);
    }
    Ok(if report.reproduced { 0 } else { 1 })
}
