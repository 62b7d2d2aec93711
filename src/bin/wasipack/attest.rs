//! `wasipack attest REF --key K --predicate FILE --type T`.

use std::path::PathBuf;
use wasipack::oci::{Store, Target};
use wasipack::sign::{self, payload};
use wasipack::{Error, Result};

/// Attest a predicate (an SBOM, a provenance) about an artifact, as `cosign attest --key`
/// does: an in-toto Statement in a DSSE envelope under `sha256-HEX.att`, appended to what is
/// there.
///
/// Exit codes: 0 attested, 2 bad key, password or predicate, not found, registry or I/O error.
#[derive(clap::Args)]
pub struct Opts {
    /// REGISTRY/REPO[:TAG|@sha256:HEX] or oci-layout:PATH[:TAG|@sha256:HEX].
    reference: String,
    /// The private key to sign with (cosign's encrypted format, PKCS#8 or SEC1; the password
    /// from COSIGN_PASSWORD or the terminal). Or --keyless.
    #[arg(long, required_unless_present = "keyless", conflicts_with = "keyless")]
    key: Option<PathBuf>,
    #[command(flatten)]
    keyless: super::keyless::Sign,
    /// The predicate: a JSON file.
    #[arg(long)]
    predicate: PathBuf,
    /// spdxjson, cyclonedx, slsaprovenance1, or a predicate type URI.
    #[arg(long = "type", default_value = "spdxjson")]
    kind: String,
    #[command(flatten)]
    attach: super::sign::Attach,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: super::net::Net,
    #[command(flatten)]
    github: super::github::Files,
}

pub fn run(opts: Opts) -> Result<u8> {
    let target = Target::parse(&opts.reference)?;
    let predicate_type = payload::predicate_type("--type", &opts.kind)?;
    let text = wasipack::fsio::read_limited(&opts.predicate, wasipack::fsio::DOCUMENT_LIMIT)?;
    let predicate: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| Error::Input(format!("{}: not JSON: {e}", opts.predicate.display())))?;
    let asked = opts.attach.mode();
    let signer = opts.keyless.open("attest", opts.key.as_deref(), asked)?;
    let signer = super::keyless::required(signer)?;
    let mode = signer.mode(asked)?;
    let store = Store::open(&target, opts.net.options(true, false)?, false)?;
    let signed = sign::attest(&store, &target, &signer, &predicate_type, &predicate, mode)?;
    super::sign::print_signed(&signed, opts.json);
    opts.github.signed(&signed)?;
    Ok(0)
}
