//! `wasipack push SOURCE REF`: an artifact and everything that refers to it, to a registry or
//! an OCI image layout.

use std::path::PathBuf;
use wasipack::oci::remote::BlobOutcome;
use wasipack::oci::{Store, Target};
use wasipack::report;
use wasipack::workflow::push::{self, PushReport};
use wasipack::workflow::source;
use wasipack::Result;

/// Push a module to an OCI registry (or an OCI image layout) with its SBOMs and signatures.
///
/// SOURCE is a `.wasm` file (packaged on the fly, as `build` packages), a `build` output
/// directory (`dist`, whose `oci/` layout is pushed), or `oci-layout:PATH[:TAG]`. REF is
/// `REGISTRY/REPO[:TAG]` or `oci-layout:PATH[:TAG]`. Prints `REGISTRY/REPO@sha256:...` for each
/// artifact pushed. Exit codes: 0 pushed, 2 bad input, authentication, registry or network
/// error (nothing is tagged unless all its blobs are stored).
#[derive(clap::Args)]
pub struct Opts {
    /// What to push: FILE.wasm, a build output directory, or oci-layout:PATH[:TAG].
    source: String,
    /// Where to push: REGISTRY/REPO[:TAG] or oci-layout:PATH[:TAG].
    reference: String,
    /// More tags for the same artifact (repeatable).
    #[arg(long = "tag", short = 't')]
    tags: Vec<String>,
    /// Another repository of the same registry to mount blobs from (repeatable).
    #[arg(long, value_name = "REPO")]
    mount_from: Vec<String>,
    /// Largest request body; bigger blobs go up in chunks of this size (default: 4 MiB for
    /// ghcr.io, 64 MiB elsewhere; a 413 answer brings it down to 4 MiB). At least 65536.
    #[arg(long, value_name = "BYTES")]
    chunk_size: Option<usize>,
    /// Blobs uploaded at once.
    #[arg(long, short, default_value_t = 4)]
    jobs: usize,
    /// Sign what is pushed and attest its SBOM and SLSA provenance with this key (cosign's
    /// format; the password from COSIGN_PASSWORD or the terminal).
    #[arg(long, conflicts_with = "keyless")]
    key: Option<PathBuf>,
    #[command(flatten)]
    keyless: super::keyless::Sign,
    /// The SBOM to attest with --key or --keyless (default: spdx). Refused without them: the
    /// SBOMs go up as referrers anyway, unsigned.
    #[arg(long, value_enum)]
    sbom: Option<SbomChoice>,
    /// With --key, where to store the signature and attestations: `auto` (Sigstore bundle
    /// referrers where the registry has the OCI 1.1 referrers API or the signatures are
    /// logged, cosign v2's `.sig`/`.att` tags elsewhere and in a layout), `bundles`, `tags` or
    /// `both`.
    #[arg(
        long,
        value_enum,
        value_name = "FORM",
        default_value = "auto",
        requires = "key"
    )]
    attach: super::sign::AttachArg,
    /// With --key: the same as `--attach both`.
    #[arg(long, requires = "key", conflicts_with = "attach")]
    referrers: bool,
    /// Print a wasipack.push/v1 report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: super::net::Net,
    #[command(flatten)]
    github: super::github::Files,
    /// The project directory whose git revision annotates a bare module (default: the current one).
    #[arg(long, default_value = ".", hide = true)]
    dir: PathBuf,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SbomChoice {
    Spdx,
    Cyclonedx,
    None,
}

pub fn run(opts: Opts) -> Result<u8> {
    let target = Target::parse(&opts.reference)?;
    let mut remote = opts.net.options(true, !opts.json)?;
    remote.mount_from = opts.mount_from.clone();
    remote.chunk_size = opts.chunk_size;
    remote.jobs = opts.jobs.max(1);
    // The key file and its password are read before any blob is sent; so are the keyless
    // identity token and the instance's signing config.
    if let (Some(_), None, false) = (opts.sbom, &opts.key, opts.keyless.keyless) {
        return Err(wasipack::Error::Usage(
            "push --sbom chooses the SBOM to attest, which needs --key or --keyless (without them the SBOMs go up as unsigned referrers)".into(),
        ));
    }
    let sbom = match opts.sbom.unwrap_or(SbomChoice::Spdx) {
        SbomChoice::Spdx => push::SbomKind::Spdx,
        SbomChoice::Cyclonedx => push::SbomKind::Cyclonedx,
        SbomChoice::None => push::SbomKind::None,
    };
    let asked = super::sign::mode(opts.attach, opts.referrers);
    let key = match opts.keyless.signer("push", opts.key.as_deref(), asked)? {
        Some(signer) => Some(push::SignWith::new(signer, sbom, asked)?),
        None => None,
    };
    let check = push::source_check(&target, key.as_ref());
    let items = source::load_source(&opts.source, &opts.dir, check)?;
    let tags = push::plan_tags(&items, &target, &opts.tags)?;
    // Opened once the source has loaded: a layout target is not created for a source that
    // does not load.
    let store = Store::open(&target, remote, true)?;
    let reports = push::publish(&store, &target, &items, &tags, key)?;
    if opts.json {
        #[derive(serde::Serialize)]
        struct Out<'a> {
            target: String,
            pushed: &'a [PushReport],
        }
        super::print_json(
            report::PUSH_SCHEMA,
            &Out {
                target: target.to_string(),
                pushed: &reports,
            },
        );
    } else {
        for report in &reports {
            if !super::quiet() {
                eprint!("{}", summary(report));
            }
            super::print(&format!(
                "{}\n",
                wasipack::text::printable(&report.reference)
            ));
        }
    }
    opts.github.pushed(&opts.reference, &reports)?;
    Ok(0)
}

fn summary(r: &PushReport) -> String {
    let count = |o: BlobOutcome| r.blobs.iter().filter(|b| b.outcome == o).count();
    let mut text = format!(
        "{} blob(s) uploaded ({} bytes), {} already there, {} mounted; tags: {}",
        count(BlobOutcome::Uploaded),
        r.bytes_uploaded,
        count(BlobOutcome::Present),
        count(BlobOutcome::Mounted),
        if r.tags.is_empty() {
            "none".to_string()
        } else {
            wasipack::text::printable(&r.tags.join(", ")).into_owned()
        }
    );
    if !r.referrers.is_empty() {
        text.push_str(&format!("; {} referrer(s)", r.referrers.len()));
    }
    if !r.sidecars.is_empty() {
        text.push_str(&format!(
            "; {}",
            wasipack::text::printable(&r.sidecars.join(", "))
        ));
    }
    let signatures = r
        .signed
        .iter()
        .filter(|s| s.predicate_type.is_none())
        .count();
    let attested: Vec<&str> = r
        .signed
        .iter()
        .filter_map(|s| s.predicate_type.as_deref())
        .collect();
    if !r.signed.is_empty() {
        text.push_str(&format!(
            "; signed ({signatures} signature(s)), attested: {}",
            attested.join(", ")
        ));
    }
    text.push('\n');
    text
}
