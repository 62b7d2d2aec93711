//! `wasipack sign REF --key K` and `wasipack sign-blob FILE --key K`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use wasipack::oci::{Store, Target};
use wasipack::report;
use wasipack::sign::{self, payload, Signer};
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
    let signed = if opts.keyless.keyless {
        let signer =
            sign::keyless::KeylessSigner::new(&opts.keyless.instance(), &opts.keyless.token())?;
        let store = Store::open(&target, opts.net.options(true, false)?, false)?;
        sign::sign_keyless(&store, &target, &signer, &annotations)?
    } else {
        let key = opts
            .key
            .as_deref()
            .expect("clap requires --key without --keyless");
        let signer = super::keys::signer(key)?;
        let store = Store::open(&target, opts.net.options(true, false)?, false)?;
        sign::sign(&store, &target, &signer, &annotations, opts.attach.mode())?
    };
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
    if opts.keyless.keyless {
        return run_blob_keyless(opts);
    }
    let key = opts
        .key
        .as_deref()
        .expect("clap requires --key without --keyless");
    let signer = super::keys::signer(key)?;
    let bytes = wasipack::fsio::read_input(&opts.file)?;
    let der = signer.sign(&bytes);
    let sig = payload::b64(&der);
    if let Some(path) = &opts.output_signature {
        wasipack::fsio::write_atomic(path, sig.as_bytes())?;
    }
    if let Some(path) = &opts.bundle {
        let bundle = wasipack::sign::bundle::message(&bytes, &der, &signer.key_hint());
        wasipack::fsio::write_atomic(path, &bundle)?;
    }
    print_blob_report(&opts, &bytes, &sig, opts.bundle.as_deref(), None);
    Ok(0)
}

/// What `sign-blob` prints: the bare signature, or its wasipack.sign-blob/v1 report (with the
/// certificate's identity and issuer when it was signed keyless).
fn print_blob_report(
    opts: &BlobOpts,
    bytes: &[u8],
    sig: &str,
    bundle: Option<&std::path::Path>,
    keyless: Option<(&str, &str)>,
) {
    if !opts.json {
        super::print(&format!("{sig}\n"));
        return;
    }
    let mut report = serde_json::json!({
        "file": opts.file.display().to_string(),
        "sha256": wasipack::digest::sha256_hex(bytes),
        "signature": sig,
        "output_signature": opts.output_signature.as_ref().map(|p| p.display().to_string()),
        "bundle": bundle.map(|p| p.display().to_string()),
    });
    if let Some((identity, issuer)) = keyless {
        report["identity"] = identity.into();
        report["issuer"] = issuer.into();
    }
    super::print_json("wasipack.sign-blob/v1", &report);
}

/// `sign-blob --keyless --bundle F`: the bundle is the whole output (its certificate is what a
/// verifier checks), so it is required; the signature is printed as cosign prints it.
fn run_blob_keyless(opts: BlobOpts) -> Result<u8> {
    let Some(bundle_path) = &opts.bundle else {
        return Err(Error::Usage(
            "sign-blob --keyless needs --bundle FILE (the bundle carries the certificate and the log entry)".into(),
        ));
    };
    let bytes = wasipack::fsio::read_input(&opts.file)?;
    let signer = wasipack::sign::keyless::KeylessSigner::new(
        &opts.keyless.instance(),
        &opts.keyless.token(),
    )?;
    let signed = signer.sign_blob(&bytes)?;
    let bundle = signed.json;
    let sig = serde_json::from_slice::<serde_json::Value>(&bundle)
        .ok()
        .and_then(|v| {
            v["messageSignature"]["signature"]
                .as_str()
                .map(str::to_string)
        })
        .unwrap_or_default();
    if let Some(path) = &opts.output_signature {
        wasipack::fsio::write_atomic(path, sig.as_bytes())?;
    }
    wasipack::fsio::write_atomic(bundle_path, &bundle)?;
    print_blob_report(
        &opts,
        &bytes,
        &sig,
        Some(bundle_path),
        Some((signed.identity.as_str(), signed.issuer.as_str())),
    );
    Ok(0)
}
