//! `wasipack push SOURCE REF`: an artifact and everything that refers to it, to a registry or
//! an OCI image layout.

use std::path::PathBuf;
use wasipack::oci::push::{self, PushReport};
use wasipack::oci::remote::BlobOutcome;
use wasipack::oci::{Store, Target};
use wasipack::report;
use wasipack::{Error, Result};

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
    /// ghcr.io, 64 MiB elsewhere; a 413 answer brings it down to 4 MiB).
    #[arg(long, value_name = "BYTES")]
    chunk_size: Option<usize>,
    /// Blobs uploaded at once.
    #[arg(long, short, default_value_t = 4)]
    jobs: usize,
    /// Sign what is pushed and attest its SBOM and SLSA provenance with this key (cosign's
    /// format; the password from COSIGN_PASSWORD or the terminal).
    #[arg(long)]
    key: Option<PathBuf>,
    /// The SBOM to attest with --key.
    #[arg(long, value_enum, default_value = "spdx", requires = "key")]
    sbom: SbomChoice,
    /// With --key: also attach the signature and attestations as Sigstore bundles through OCI
    /// 1.1 referrers, as cosign v3 does.
    #[arg(long, requires = "key")]
    referrers: bool,
    /// Print a wasipack.push/v1 report as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    net: super::net::Net,
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
    let target = Target::parse(&opts.reference).map_err(Error::Usage)?;
    let items = push::load_source(&opts.source, &opts.dir)?;
    let tags = push::plan_tags(&items, &target, &opts.tags)?;
    let mut remote = opts.net.options(true, !opts.json)?;
    remote.mount_from = opts.mount_from.clone();
    remote.chunk_size = opts.chunk_size.map(|c| c.max(1));
    remote.jobs = opts.jobs.max(1);
    let store = Store::open(&target, remote, true)?;
    // The key's scrypt, and the SBOMs to attest, are made while the blobs go up.
    let later = opts
        .key
        .as_deref()
        .map(super::keys::signer_later)
        .transpose()?;
    let sbom = opts.sbom;
    let items_ref = &items;
    let (pushed, signer) = std::thread::scope(|s| {
        let mut handle = later.map(|f| {
            s.spawn(move || -> Result<_> {
                let signer = f()?;
                let sboms = items_ref
                    .iter()
                    .map(|item| match sbom {
                        SbomChoice::None => Ok(None),
                        choice => item.sbom(choice == SbomChoice::Cyclonedx),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((signer, sboms))
            })
        });
        // The key must open before anything is tagged: the first manifest waits for it.
        let mut signer = None;
        let mut gate = || -> Result<()> {
            if let Some(h) = handle.take() {
                signer = Some(h.join().expect("key thread")?);
            }
            Ok(())
        };
        let pushed: Result<Vec<PushReport>> = items
            .iter()
            .zip(&tags)
            .map(|(item, tags)| push::push_gated(&store, &target, item, tags, &mut gate))
            .collect();
        (pushed, signer)
    });
    let mut pushed = pushed?;
    if let Some((signer, sboms)) = signer {
        for ((item, report), sbom) in items.iter().zip(pushed.iter_mut()).zip(sboms) {
            // The manifest was just stored: sign what was pushed without asking for it back.
            let subject = wasipack::sign::Subject::of(&target, item.artifact.descriptor.clone());
            report.signed = wasipack::sign::sign_and_attest_subject(
                &store,
                &subject,
                &signer,
                sbom,
                &item.build_facts(),
                wasipack::sign::Mode {
                    referrers: opts.referrers,
                },
            )?;
        }
    }
    let mut reports = Vec::new();
    for report in pushed {
        if !opts.json {
            if !super::quiet() {
                eprint!("{}", summary(&report));
            }
            super::print(&format!("{}\n", report.reference));
        }
        reports.push(report);
    }
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
    }
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
            r.tags.join(", ")
        }
    );
    if !r.referrers.is_empty() {
        text.push_str(&format!("; {} referrer(s)", r.referrers.len()));
    }
    if !r.sidecars.is_empty() {
        text.push_str(&format!("; {}", r.sidecars.join(", ")));
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
