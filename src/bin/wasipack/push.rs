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
    let target = Target::parse(&opts.reference).map_err(Error::Usage)?;
    let mut remote = opts.net.options(true, !opts.json)?;
    remote.mount_from = opts.mount_from.clone();
    remote.chunk_size = opts.chunk_size.map(|c| c.max(1));
    remote.jobs = opts.jobs.max(1);
    // A registry is connected to, and its token had, while the module is read and hashed. A
    // layout is created only once the source has loaded.
    let early = match target {
        Target::Registry(_) => Some(Store::open(&target, remote.clone(), true)?),
        Target::Layout { .. } => None,
    };
    if let Some(store) = &early {
        store.warm_up();
    }
    // The key file and its password are read before any blob is sent.
    let key = opts
        .key
        .as_deref()
        .map(super::keys::signer_later)
        .transpose()?;
    let mode = wasipack::sign::Mode {
        referrers: opts.referrers,
    };
    // An unencrypted key signs before the upload: what it attests (a layout's SBOM) is checked
    // first. Otherwise a layout's blobs are checked while they upload to a registry, and
    // before anything is tagged.
    let signs_first = matches!(key, Some((false, _))) && !mode.referrers;
    let check = match target {
        Target::Registry(_) if !signs_first => push::Check::WhileUploading,
        _ => push::Check::Now,
    };
    let items = push::load_source(&opts.source, &opts.dir, check)?;
    let tags = push::plan_tags(&items, &target, &opts.tags)?;
    let store = match early {
        Some(store) => store,
        None => Store::open(&target, remote, true)?,
    };
    let job = Job {
        store: &store,
        target: &target,
        items: &items,
        tags: &tags,
    };
    let pushed = std::thread::scope(|s| {
        let mut checking = items
            .iter()
            .any(|i| i.unchecked.is_some())
            .then(|| s.spawn(|| push::check_blobs(&items)));
        let mut checked = move || -> Result<()> {
            match checking.take() {
                Some(h) => h.join().expect("check thread"),
                None => Ok(()),
            }
        };
        let pushed = match key {
            None => job.push(&mut checked),
            // An unencrypted key opens at once: sign first, then tag while the module goes up.
            Some((false, open)) if signs_first => job.push_signed_first(&open()?, opts.sbom),
            Some((_, open)) => job.push_then_sign(open, opts.sbom, mode, &mut checked),
        };
        // A registry refuses a blob that does not match its digest: the check says which
        // one, and why, better than the registry's answer.
        match pushed {
            Err(e) => Err(checked().err().unwrap_or(e)),
            ok => ok,
        }
    })?;
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
    opts.github.pushed(&opts.reference, &reports)?;
    Ok(0)
}

/// What one `push` sends, and where.
#[derive(Clone, Copy)]
struct Job<'a> {
    store: &'a Store,
    target: &'a Target,
    items: &'a [push::Item],
    tags: &'a [Vec<String>],
}

/// The SBOM `--sbom` asks to attest for `item`.
fn sbom_of(item: &push::Item, sbom: SbomChoice) -> Result<Option<(String, serde_json::Value)>> {
    match sbom {
        SbomChoice::None => Ok(None),
        choice => item.sbom(choice == SbomChoice::Cyclonedx),
    }
}

impl Job<'_> {
    /// Pushes each item under its tags; `gate` runs before the first manifest is stored.
    fn push(&self, gate: &mut dyn FnMut() -> Result<()>) -> Result<Vec<PushReport>> {
        self.items
            .iter()
            .zip(self.tags)
            .map(|(item, tags)| push::push_gated(self.store, self.target, item, tags, gate))
            .collect()
    }

    /// `push --key` with a key that opens at once. The signature and attestations name the
    /// manifest's digest, known before anything is uploaded, so they are made and their blobs
    /// stored first; their tags are then written (and read back, see `sign::append`) while the
    /// module uploads, instead of after it. If the module's upload then fails, the signatures
    /// stay: they sign exactly the digest that was meant, which nothing else can have.
    fn push_signed_first(
        &self,
        signer: &wasipack::sign::KeySigner,
        sbom: SbomChoice,
    ) -> Result<Vec<PushReport>> {
        let Job { store, target, .. } = *self;
        self.items
            .iter()
            .zip(self.tags)
            .map(|(item, tags)| {
                let subject = wasipack::sign::Subject::of(target, item.artifact.descriptor.clone());
                let pending = wasipack::sign::prepare_sign_and_attest(
                    store,
                    &subject,
                    signer,
                    || sbom_of(item, sbom),
                    &item.build_facts(),
                )?;
                let (pushed, signed) = std::thread::scope(|s| {
                    let signed = s.spawn(|| pending.commit(store));
                    let pushed = push::push(store, target, item, tags);
                    (pushed, signed.join().expect("sign thread"))
                });
                let mut report = pushed?;
                report.signed = signed?;
                Ok(report)
            })
            .collect()
    }

    /// `push --key` with a key that takes a while to open (scrypt) or with `--referrers`: the
    /// key opens and the SBOMs are made while the blobs go up; signing follows the push.
    /// `checked` (the blobs' digests) must pass before anything is tagged, as must the key.
    fn push_then_sign(
        &self,
        open: impl FnOnce() -> Result<wasipack::sign::KeySigner> + Send,
        sbom: SbomChoice,
        mode: wasipack::sign::Mode,
        checked: &mut dyn FnMut() -> Result<()>,
    ) -> Result<Vec<PushReport>> {
        let items = self.items;
        let (pushed, later) = std::thread::scope(|s| {
            let mut handle = Some(s.spawn(move || -> Result<_> {
                let signer = open()?;
                let sboms = items
                    .iter()
                    .map(|item| sbom_of(item, sbom))
                    .collect::<Result<Vec<_>>>()?;
                Ok((signer, sboms))
            }));
            // The key must open before anything is tagged: the first manifest waits for it.
            let mut later = None;
            let pushed = self.push(&mut || {
                checked()?;
                if let Some(h) = handle.take() {
                    later = Some(h.join().expect("key thread")?);
                }
                Ok(())
            });
            (pushed, later)
        });
        let mut pushed = pushed?;
        let (signer, sboms) = later.expect("the gate ran before the first manifest");
        for ((item, report), sbom) in items.iter().zip(pushed.iter_mut()).zip(sboms) {
            // The manifest was just stored: sign what was pushed without asking for it back.
            let subject =
                wasipack::sign::Subject::of(self.target, item.artifact.descriptor.clone());
            report.signed = wasipack::sign::sign_and_attest_subject(
                self.store,
                &subject,
                &signer,
                sbom,
                &item.build_facts(),
                mode,
            )?;
        }
        Ok(pushed)
    }
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
