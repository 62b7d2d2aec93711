//! The build stage and the main job: Go source → checked, stripped module → SBOMs → OCI
//! layout, for one or more modules, written all or nothing. [`build`] runs the steps, each in a
//! file of its own:
//!
//! 1. `plan.rs`: each module's settings resolved ([`Plan::resolve`]);
//! 2. `compile.rs`: the toolchain's version gate, the compiler and the module list, up to `--jobs`
//!    modules at once (the one place a build starts threads, described there);
//! 3. `package.rs`: rewrite, check, SBOMs and OCI artifacts, in memory ([`package_compiled`]);
//! 4. `reproducible.rs`: with `--verify-reproducible`, two more builds to compare with;
//! 5. `publish.rs`: every output written at once ([`publish`], through `dist.rs`);
//!
//! with [`cache`] keeping what a build reuses next time (compile outputs, `go list` output,
//! up-to-date stamps), `git.rs` the annotations a checkout gives
//! ([`created_and_annotations`]), [`toolchain`] the command lines, [`config`] `wasipack.toml`
//! and [`BuildError`] what can go wrong. The library prints nothing: the compiler's messages go
//! to an [`Observer`].

pub mod cache;
mod compile;
pub mod component;
pub mod config;
mod dist;

mod git;
mod package;
mod plan;
mod publish;
mod reproducible;
pub mod toolchain;

pub use crate::error::BuildError;
/// [`cache`] by its former name.
pub use cache as stamp;
pub use git::created_and_annotations;
pub use package::package_compiled;
pub use plan::Plan;
pub use publish::publish;
pub use reproducible::differing_section;

use crate::check::CheckReport;
use crate::error::{Error, Result};
use crate::oci::artifact::{self, Artifact};
use crate::rewrite::{self, Rewritten};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a build tells its caller while it runs.
pub trait Observer: Sync {
    /// The standard error of the compiler building `module`, read as the compiler writes it
    /// (from that module's thread: with several jobs, modules call this at once). What is left
    /// unread is discarded. The compiler's standard output is inherited.
    fn compiler_messages(&self, module: &str, messages: &mut dyn std::io::Read);
}

/// Where and how to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// The project directory (where `wasipack.toml` and the packages are).
    pub dir: PathBuf,
    pub output: PathBuf,
    pub jobs: usize,
    pub verify_reproducible: bool,
    /// Answer with the outputs already in `output` when the last build wrote them from the
    /// same inputs and nothing touched them since ([`cache`]).
    pub reuse: bool,
    /// Keep the compile outputs, `go list` output and stamps in wasipack's [`cache`] for the
    /// next build of this directory. False for a throwaway tree (`rebuild`): its outputs would
    /// stay in the cache, unused, one module's worth per run.
    pub cache: bool,
    /// What `go env GOVERSION` printed for `go` with `env`, when the caller asked already
    /// (`rebuild` checks the release before it fetches the source): not asked again.
    pub go_version: Option<String>,
    /// The `go` and `tinygo` programs (`go`/`tinygo` on PATH unless set).
    pub go: String,
    pub tinygo: String,
    /// Variables of [`toolchain::INHERITED_ENV`] set for this build as if they were in
    /// wasipack's environment (over it): what `rebuild` sets from a provenance. Empty for a
    /// plain build.
    pub env: Vec<(String, String)>,
}

/// One built module, in memory.
#[derive(Debug, Clone)]
pub struct Built {
    pub plan_name: String,
    pub package: String,
    pub toolchain: String,
    /// The compiler command line and the environment wasipack set for it.
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub toolchain_version: String,
    /// The plan's settings, resolved (see [`ModuleReport::settings`]).
    pub settings: config::Settings,
    /// See [`ModuleReport::build_env`].
    pub build_env: BTreeMap<String, String>,
    pub wasm: artifact::Blob,
    pub rewrite: Rewritten,
    pub check: CheckReport,
    pub sbom_packages: usize,
    pub spdx: Vec<u8>,
    pub cyclonedx: Vec<u8>,
    pub artifact: Artifact,
    pub referrers: Vec<Artifact>,
    pub tag: String,
    /// What made it ([`cache::fingerprint`]); `None` when it cannot be known.
    pub fingerprint: Option<String>,
    /// The Go build ID and the toolchain behind it, for the next build's stamp.
    pub toolchain_record: Option<cache::Toolchain>,
    /// Binaries built in besides the Go code (a component's adapter).
    pub embedded: Vec<crate::sbom::Embedded>,
    /// The tag of the image index listing this artifact under its platform (a build for
    /// several targets, [`Plan::index`]); the artifact itself is then untagged.
    pub index: Option<String>,
    /// The target's name (`wasip1`, `wasip2`): the platform's `os` in that index.
    pub os: String,
    /// The build's timestamp, which the index is annotated with.
    pub created: String,
}

impl Built {
    /// Each output file (`NAME.wasm`, `NAME.spdx.json`, `NAME.cdx.json`) and its digest.
    pub fn output_digests(&self) -> BTreeMap<String, String> {
        // The module's digest is the one its check computed over these very bytes (hashing
        // 20 MB again here was 10 ms, serial, at the end of every build).
        [
            (
                format!("{}.wasm", self.plan_name),
                format!("sha256:{}", self.check.module.sha256),
            ),
            (
                format!("{}.spdx.json", self.plan_name),
                crate::digest::sha256_digest(&self.spdx),
            ),
            (
                format!("{}.cdx.json", self.plan_name),
                crate::digest::sha256_digest(&self.cyclonedx),
            ),
        ]
        .into_iter()
        .collect()
    }
}

/// What a build produced, for `dist/report.json` and `--json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModuleReport {
    pub name: String,
    pub package: String,
    pub toolchain: String,
    pub toolchain_version: String,
    pub wasm: String,
    pub sha256: String,
    pub size_compiled: u64,
    pub size: u64,
    pub sections: Vec<rewrite::SectionChange>,
    pub policy: String,
    pub passed: bool,
    pub abi: String,
    pub imports: usize,
    pub spdx: String,
    pub cyclonedx: String,
    pub sbom_packages: usize,
    pub oci_layout: String,
    pub tag: String,
    pub manifest_digest: String,
    pub reproducible: Option<bool>,
    /// The compiler command line (output path as `NAME.wasm`) and the environment wasipack
    /// set for it: what the SLSA provenance records.
    pub command: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Binaries built into the module besides the Go code: a Go component's wasip1 adapter,
    /// with version, purl and SHA-256 (also in the SBOMs and the provenance). Absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub embedded: Vec<crate::sbom::Embedded>,
    /// The variables of wasipack's own environment that change what Go builds
    /// ([`toolchain::INHERITED_ENV`]) and `SOURCE_DATE_EPOCH`, as they were set.
    #[serde(default)]
    pub build_env: BTreeMap<String, String>,
    /// The module's settings as resolved (name, package, toolchain, target, mode, tags,
    /// ldflags, policy, strip rules, tag, annotations): what a rebuild builds with.
    #[serde(default)]
    pub settings: config::Settings,
    /// Each output file (`NAME.wasm`, `NAME.spdx.json`, `NAME.cdx.json`) and its digest.
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
    /// Built for several targets: the digest of the image index (tagged `tag`) that lists
    /// this module's manifest under its platform (`os` the target, `architecture` `wasm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildReport {
    pub output: String,
    pub modules: Vec<ModuleReport>,
    /// Each module's check, by name (for SARIF and annotations; not in report.json, and empty
    /// when the outputs were up to date).
    #[serde(skip)]
    pub checks: Vec<(String, CheckReport)>,
    /// The output directory, absolute, when it lies outside the project directory (an
    /// `output` or `--output` that points elsewhere): the CLI says so. Not in report.json.
    #[serde(skip)]
    pub outside_project: Option<std::path::PathBuf>,
}

/// A build that did not produce output.
#[derive(Debug)]
pub enum Failure {
    /// Some modules broke their policy: nothing was written.
    Rejected(Vec<(String, CheckReport)>),
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

/// Builds every plan (up to `jobs` at once) and, if all pass their policies, writes the
/// outputs all or nothing.
pub fn build(
    plans: &[Plan],
    opts: &Options,
    observer: &dyn Observer,
) -> std::result::Result<BuildReport, Failure> {
    let mut report = build_here(plans, opts, observer)?;
    report.outside_project = outside(&opts.dir, &opts.output);
    Ok(report)
}

/// `output`, absolute, when it is not inside `dir`.
fn outside(dir: &std::path::Path, output: &std::path::Path) -> Option<std::path::PathBuf> {
    let dir = dir.canonicalize().ok()?;
    let output = output.canonicalize().ok()?;
    (!output.starts_with(&dir)).then_some(output)
}

/// The output directory as `report.json` records it: relative to the project directory when
/// inside it (`dist`), else as given.
fn recorded_output(dir: &std::path::Path, output: &std::path::Path) -> String {
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match absolute(output).strip_prefix(absolute(dir)) {
        Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
        Ok(rel) => rel.display().to_string(),
        Err(_) => output.display().to_string(),
    }
}

/// Compiles and packages every plan, in memory, and writes nothing: what `rebuild` compares
/// (its outputs would only be written into a temporary directory and removed). `opts.reuse`
/// and `opts.verify_reproducible` do not apply; `opts.output` only names what git may ignore.
pub fn build_in_memory(
    plans: &[Plan],
    opts: &Options,
    observer: &dyn Observer,
) -> std::result::Result<Vec<Built>, Failure> {
    distinct_names(plans)?;
    let (results, _) = compile::compile_all(plans, opts, None, observer);
    let results = results.into_iter().collect::<Result<Vec<_>>>()?;
    packaged(plans, results)
}

/// Refuses two plans that would write the same files.
fn distinct_names(plans: &[Plan]) -> Result<()> {
    let mut names = std::collections::BTreeSet::new();
    for plan in plans {
        if !names.insert(plan.name.as_str()) {
            return Err(Error::Usage(format!(
                "two modules would both write {}.wasm: give them different `name`s",
                plan.name
            )));
        }
    }
    Ok(())
}

/// Every compiled plan packaged; [`Failure::Rejected`] when any breaks its policy.
fn packaged(
    plans: &[Plan],
    results: Vec<compile::Unit>,
) -> std::result::Result<Vec<Built>, Failure> {
    let mut built = Vec::new();
    let mut rejected = Vec::new();
    for (plan, unit) in plans.iter().zip(results) {
        // Not everything is up to date: the modules that were are packaged too.
        let b = unit.into_built(plan)?;
        if !b.check.passed {
            rejected.push((b.plan_name.clone(), b.check.clone()));
        }
        built.push(b);
    }
    if !rejected.is_empty() {
        return Err(Failure::Rejected(rejected));
    }
    Ok(built)
}

fn build_here(
    plans: &[Plan],
    opts: &Options,
    observer: &dyn Observer,
) -> std::result::Result<BuildReport, Failure> {
    distinct_names(plans)?;
    let stamp = opts
        .reuse
        .then(|| cache::read(&opts.output))
        .flatten()
        .filter(|s| s.fingerprints.len() == plans.len());
    let (results, meta) = compile::compile_all(plans, opts, stamp.as_ref(), observer);
    // A failure is reported before anything else is looked at.
    let results = results.into_iter().collect::<Result<Vec<_>>>()?;
    if let (Some(stamp), true) = (
        &stamp,
        results
            .iter()
            .all(|u| matches!(u, compile::Unit::UpToDate(_))),
    ) {
        // The directory as this build names it (the stamp's may be relative to another one).
        let mut report = stamp.report.clone();
        report.output = opts.output.display().to_string();
        return Ok(report);
    }
    let built = packaged(plans, results)?;
    let mut reproducible = BTreeMap::new();
    if opts.verify_reproducible {
        let meta = meta.map_err(Error::from)?;
        for (plan, b) in plans.iter().zip(&built) {
            reproducible::verify_reproducible(plan, b, opts, &meta, observer)?;
            reproducible.insert(plan.name.clone(), true);
        }
    }
    let recorded = recorded_output(&opts.dir, &opts.output);
    let report = publish::publish_as(&built, &opts.output, &recorded, &reproducible)?;
    let fingerprints: Option<BTreeMap<String, String>> = built
        .iter()
        .map(|b| Some((b.plan_name.clone(), b.fingerprint.clone()?)))
        .collect();
    if let Some(fingerprints) = fingerprints {
        let toolchains = built
            .iter()
            .filter_map(|b| Some((b.plan_name.clone(), b.toolchain_record.clone()?)))
            .collect();
        cache::write(
            &opts.output,
            fingerprints,
            toolchains,
            &publish::outputs(&built, &opts.output),
            &report,
        );
    }
    Ok(report)
}
