//! `wasipack rebuild REF --key PUB [--sign KEY]`.

use std::path::PathBuf;
use wasipack::oci::{Store, Target};
use wasipack::sign::keys;
use wasipack::text::printable;
use wasipack::workflow::rebuild;
use wasipack::workflow::verify::Trust;
use wasipack::Result;

/// Rebuild an artifact from its source, as its signed SLSA provenance records it, and compare:
/// the provenance is verified with --key, the source fetched at the recorded commit into a
/// fresh temporary tree, the Go release checked against the recorded one, the module built with
/// the recorded configuration and environment, and the module, SBOMs and manifest compared.
/// With --sign, a signed SLSA verification summary is attached to a reproduced artifact.
///
/// Exit codes: 0 reproduced, 1 not reproduced (the report names the first output that differs
/// and where), 2 could not judge (no provenance the key verifies, a source that cannot be
/// fetched, another Go release, a registry or I/O error).
#[derive(clap::Args)]
pub struct Opts {
    /// REGISTRY/REPO[:TAG|@sha256:HEX] or oci-layout:PATH[:TAG].
    reference: String,
    /// The builder's public key (PEM), which the provenance must verify with. (Keyless
    /// identities: not yet.)
    #[arg(long)]
    key: PathBuf,
    /// Sign a SLSA verification summary with this private key and attach it to the artifact
    /// when it is reproduced (beside the other attestations, in the registry or layout).
    #[arg(long)]
    sign: Option<PathBuf>,
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
    let key = keys::read_public(&opts.key)?;
    // The signing key opens before anything is built: a wrong password wastes no rebuild.
    let signer = opts
        .sign
        .as_deref()
        .map(super::keys::signer)
        .transpose()?
        .map(wasipack::sign::Signing::Key);
    let target = Target::parse(&opts.reference)?;
    let store = Store::open(&target, opts.net.options(signer.is_some(), false)?, false)?;
    let options = rebuild::Options {
        trust: Trust::Key(&key),
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
            "{}: {} from {} at {}{} with {}\n",
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
            report.toolchain
        ));
        super::print(&text);
    }
    Ok(if report.reproduced { 0 } else { 1 })
}
