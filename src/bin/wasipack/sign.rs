//! `wasipack sign REF --key K` and `wasipack sign-blob FILE --key K`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use wasipack::oci::{Store, Target};
use wasipack::report;
use wasipack::sign;
use wasipack::{Error, Result};

/// Sign an artifact in a registry or an OCI image layout, as `cosign sign --key` does: the
/// simple-signing payload stored under `sha256-HEX.sig`, appended to the signatures already
/// there (concurrent signers all keep theirs).
///
/// Exit codes: 0 signed, 2 bad key or password, not found, registry or I/O error.
#[derive(clap::Args)]
pub struct Opts {
    /// REGISTRY/REPO[:TAG|@sha256:HEX] or oci-layout:PATH[:TAG|@sha256:HEX].
    reference: String,
    /// The private key (cosign's encrypted format, PKCS#8 or SEC1). Or --keyless.
    #[arg(long, required_unless_present = "keyless", conflicts_with = "keyless")]
    key: Option<PathBuf>,
    #[command(flatten)]
    keyless: super::keyless::Sign,
    /// An annotation KEY=VALUE for the payload's `optional` section (repeatable).
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    #[command(flatten)]
    attach: Attach,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: super::net::Net,
    #[command(flatten)]
    github: super::github::Files,
}

/// Where signatures and attestations go: `--attach`, and `--referrers` (`--attach both`).
#[derive(clap::Args)]
pub struct Attach {
    /// Where to store it: `auto` (Sigstore bundle referrers where the registry has the OCI 1.1
    /// referrers API, cosign v2's `.sig`/`.att` tags elsewhere and in a layout), `bundles`,
    /// `tags` (what cosign v2 reads) or `both`.
    #[arg(long, value_enum, value_name = "FORM", default_value = "auto")]
    attach: AttachArg,
    /// The same as `--attach both`.
    #[arg(long, conflicts_with = "attach")]
    referrers: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AttachArg {
    Auto,
    Bundles,
    Tags,
    Both,
}

impl Attach {
    pub fn mode(&self) -> sign::Mode {
        mode(self.attach, self.referrers)
    }
}

/// `--attach FORM` and `--referrers`, as a [`sign::Mode`].
pub fn mode(attach: AttachArg, referrers: bool) -> sign::Mode {
    match attach {
        _ if referrers => sign::Mode::Both,
        AttachArg::Auto => sign::Mode::Auto,
        AttachArg::Bundles => sign::Mode::Bundles,
        AttachArg::Tags => sign::Mode::Tags,
        AttachArg::Both => sign::Mode::Both,
    }
}

pub fn annotations(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|a| {
            a.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| Error::Usage(format!("--annotation `{a}`: expected KEY=VALUE")))
        })
        .collect()
}

pub fn run(opts: Opts) -> Result<u8> {
    let target = Target::parse(&opts.reference)?;
    let annotations = annotations(&opts.annotations)?;
    let asked = opts.attach.mode();
    let signer = opts.keyless.open("sign", opts.key.as_deref(), asked)?;
    let signer = super::keyless::required(signer)?;
    let mode = signer.mode(asked)?;
    let store = Store::open(&target, opts.net.options(true, false)?, false)?;
    let signed = sign::sign(&store, &target, &signer, &annotations, mode)?;
    print_signed(&signed, opts.json);
    opts.github.signed(&signed)?;
    Ok(0)
}

pub fn print_signed(signed: &sign::Signed, json: bool) {
    if json {
        super::print_json(report::SIGN_SCHEMA, signed);
    } else {
        let text = match &signed.tag {
            Some(tag) => format!("{tag} now holds {} layer(s)", signed.layers),
            None => format!("stored as {}", signed.place()),
        };
        super::print(&format!(
            "{}\n{}\n",
            wasipack::text::printable(&signed.reference),
            wasipack::text::printable(&text)
        ));
    }
}

/// Sign a local file as `cosign sign-blob --key` does: an ECDSA P-256 signature over its
/// bytes, base64, which `cosign verify-blob --key K.pub --signature SIG FILE` accepts.
#[derive(clap::Args)]
pub struct BlobOpts {
    /// The file to sign.
    file: PathBuf,
    /// The private key to sign with (cosign's encrypted format, PKCS#8 or SEC1; the password
    /// from COSIGN_PASSWORD or the terminal). Or --keyless.
    #[arg(long, required_unless_present = "keyless", conflicts_with = "keyless")]
    key: Option<PathBuf>,
    #[command(flatten)]
    keyless: super::keyless::Sign,
    /// Write the signature here (atomically) as well as to stdout.
    #[arg(long, value_name = "SIG")]
    output_signature: Option<PathBuf>,
    /// Also write a Sigstore bundle (v0.3, message signature), as `cosign sign-blob --bundle`
    /// does; `cosign verify-blob --bundle` and `wasipack verify --bundle` read it.
    #[arg(long, value_name = "FILE")]
    bundle: Option<PathBuf>,
    /// Print a wasipack.sign-blob/v1 report as JSON instead of the bare signature.
    #[arg(long)]
    json: bool,
}

pub fn run_blob(opts: BlobOpts) -> Result<u8> {
    let signer = opts
        .keyless
        .open("sign-blob", opts.key.as_deref(), sign::Mode::Bundles)?;
    let signer = super::keyless::required(signer)?;
    // A logged signature's entry and timestamp (and a keyless one's certificate) live only in
    // the bundle: without one the signature could not be checked against the log.
    if signer.is_logged() && opts.bundle.is_none() {
        return Err(Error::Usage(
            "sign-blob needs --bundle FILE here: the bundle carries the transparency log entry (and a keyless signature's certificate); --tlog-upload=false signs a key's signature unlogged".into(),
        ));
    }
    let bytes = wasipack::fsio::read_input(&opts.file)?;
    let signed = signer.sign_blob(&bytes)?;
    if let Some(path) = &opts.output_signature {
        wasipack::fsio::write_atomic(path, signed.signature.as_bytes())?;
    }
    if let Some(path) = &opts.bundle {
        wasipack::fsio::write_atomic(path, &signed.bundle)?;
    }
    print_blob_report(&opts, &bytes, &signed);
    Ok(0)
}

/// What `sign-blob` prints: the bare signature, or its wasipack.sign-blob/v1 report (with the
/// certificate's identity and issuer when it was signed keyless).
fn print_blob_report(opts: &BlobOpts, bytes: &[u8], signed: &sign::BlobSigned) {
    if !opts.json {
        super::print(&format!("{}\n", signed.signature));
        return;
    }
    let mut report = serde_json::json!({
        "file": opts.file.display().to_string(),
        "sha256": wasipack::digest::sha256_hex(bytes),
        "signature": signed.signature,
        "output_signature": opts.output_signature.as_ref().map(|p| p.display().to_string()),
        "bundle": opts.bundle.as_ref().map(|p| p.display().to_string()),
    });
    if let Some((identity, issuer)) = &signed.identity {
        report["identity"] = identity.as_str().into();
        report["issuer"] = issuer.as_str().into();
    }
    super::print_json("wasipack.sign-blob/v1", &report);
}
