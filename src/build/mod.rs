//! The build stage and the main job: Go source → checked, stripped module → SBOMs → OCI
//! layout, for one or more modules, written all or nothing.

pub mod config;
mod dist;
pub mod stamp;
pub mod toolchain;

use crate::check::{self, CheckReport};
use crate::error::{Error, Result};
use crate::oci::artifact::{self, to_bytes, wasm_artifact, Artifact};
use crate::oci::layout::{self, Layout};
use crate::policy::Policy;
use crate::rewrite::{self, Rewritten, StripRules};
use crate::sbom::{self, Sbom};
use config::{Mode, Settings, Target, Toolchain};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use toolchain::{CommandLine, GoVersion};

/// One module, fully resolved.
#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub package: String,
    pub settings: Settings,
    pub toolchain: Toolchain,
    pub target: Target,
    pub mode: Mode,
    pub policy: Policy,
    pub strip: StripRules,
    pub tag: String,
}

impl Plan {
    /// Resolves a module's settings (module over `[build]` over flags' defaults).
    pub fn resolve(settings: Settings, dir: &Path) -> Result<Plan> {
        let package = settings.package.clone().unwrap_or_else(|| ".".into());
        let target = settings.target().map_err(Error::Usage)?;
        let mode = settings.mode.unwrap_or(Mode::Command);
        let toolchain = settings.toolchain.unwrap_or(Toolchain::Go);
        let name = match &settings.name {
            Some(n) => n.clone(),
            None => default_name(&package, dir)?,
        };
        if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
            return Err(Error::Usage(format!(
                "module name `{name}` cannot be a file name"
            )));
        }
        let default_policy = match (target, mode) {
            (Target::Wasip2, _) => "wasip2-component",
            (_, Mode::Reactor) => "wasip1-reactor",
            _ => "wasip1-default",
        };
        let policy = Policy::load(settings.policy.as_deref().unwrap_or(default_policy))?;
        let strip = match &settings.strip {
            None => StripRules::release(),
            Some(s) => {
                let keep: Vec<&str> = s.keep.iter().flatten().map(String::as_str).collect();
                let delete: Vec<&str> = match &s.delete {
                    Some(d) => d.iter().map(String::as_str).collect(),
                    None => StripRules::RELEASE_DELETE.to_vec(),
                };
                StripRules::new(
                    &keep,
                    &delete,
                    s.all.unwrap_or(false),
                    s.stamp.unwrap_or(true),
                )
                .map_err(|m| Error::Usage(format!("strip rules of `{name}`: {m}")))?
            }
        };
        let tag = settings.tag.clone().unwrap_or_else(|| name.clone());
        Ok(Plan {
            name,
            package,
            settings,
            toolchain,
            target,
            mode,
            policy,
            strip,
            tag,
        })
    }
}

/// The package's directory name (`./cmd/server` → `server`, `.` → the project directory's).
fn default_name(package: &str, dir: &Path) -> Result<String> {
    let local = package == "." || package.starts_with("./") || package.starts_with("../");
    if local && !dir.join(package).is_dir() {
        return Err(Error::Usage(format!(
            "package `{package}`: no such directory in {}",
            dir.display()
        )));
    }
    let last = if local {
        dir.join(package)
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .unwrap_or_default()
    } else {
        package
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    if last.is_empty() || last == "." || last == ".." {
        return Err(Error::Usage(format!(
            "cannot name the output of package `{package}`: set `name` in wasipack.toml or --name"
        )));
    }
    Ok(last.to_string())
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
    /// same inputs and nothing touched them since ([`stamp`]).
    pub reuse: bool,
    /// The `go` and `tinygo` programs (`go`/`tinygo` on PATH unless set).
    pub go: String,
    pub tinygo: String,
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
    pub wasm: artifact::Blob,
    pub rewrite: Rewritten,
    pub check: CheckReport,
    pub sbom_packages: usize,
    pub spdx: Vec<u8>,
    pub cyclonedx: Vec<u8>,
    pub artifact: Artifact,
    pub referrers: Vec<Artifact>,
    pub tag: String,
    /// What made it ([`stamp::fingerprint`]); `None` when it cannot be known.
    pub fingerprint: Option<String>,
    /// The Go build ID and the toolchain behind it, for the next build's stamp.
    pub toolchain_record: Option<stamp::Toolchain>,
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
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BuildReport {
    pub output: String,
    pub modules: Vec<ModuleReport>,
    /// Each module's check, by name (for SARIF and annotations; not in report.json, and empty
    /// when the outputs were up to date).
    #[serde(skip)]
    pub checks: Vec<(String, CheckReport)>,
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
pub fn build(plans: &[Plan], opts: &Options) -> std::result::Result<BuildReport, Failure> {
    let mut names = std::collections::BTreeSet::new();
    for plan in plans {
        if !names.insert(plan.name.as_str()) {
            return Err(Error::Usage(format!(
                "two modules would both write {}.wasm: give them different `name`s",
                plan.name
            ))
            .into());
        }
    }
    let stamp = opts
        .reuse
        .then(|| stamp::read(&opts.output))
        .flatten()
        .filter(|s| s.fingerprints.len() == plans.len());
    // git runs while the compilers do.
    let (results, meta) = std::thread::scope(|s| {
        let meta = Later::new(s.spawn(|| created_and_annotations(&opts.dir)));
        let meta_now = || meta.get().clone().map_err(Error::Usage);
        let results = run_parallel(plans, opts.jobs.max(1), |plan| {
            build_one(plan, opts, &opts.dir, &meta_now, true, stamp.as_ref())
        });
        (results, meta.get().clone())
    });
    // A failure is reported before anything else is looked at.
    let results = results.into_iter().collect::<Result<Vec<_>>>()?;
    if let (Some(stamp), true) = (
        &stamp,
        results.iter().all(|u| matches!(u, Unit::UpToDate(_))),
    ) {
        // The directory as this build names it (the stamp's may be relative to another one).
        let mut report = stamp.report.clone();
        report.output = opts.output.display().to_string();
        return Ok(report);
    }
    let mut built = Vec::new();
    let mut rejected = Vec::new();
    for (plan, unit) in plans.iter().zip(results) {
        // Not everything is up to date: the modules that were are packaged too.
        let b = match unit {
            Unit::Built(b) => *b,
            Unit::UpToDate(c) => package(plan, *c)?,
        };
        if !b.check.passed {
            rejected.push((b.plan_name.clone(), b.check.clone()));
        }
        built.push(b);
    }
    if !rejected.is_empty() {
        return Err(Failure::Rejected(rejected));
    }
    let mut reproducible = BTreeMap::new();
    if opts.verify_reproducible {
        let meta = meta.map_err(Error::Usage)?;
        for (plan, b) in plans.iter().zip(&built) {
            verify_reproducible(plan, b, opts, &meta)?;
            reproducible.insert(plan.name.clone(), true);
        }
    }
    let report = publish(&built, &opts.output, &reproducible)?;
    let fingerprints: Option<BTreeMap<String, String>> = built
        .iter()
        .map(|b| Some((b.plan_name.clone(), b.fingerprint.clone()?)))
        .collect();
    if let Some(fingerprints) = fingerprints {
        let toolchains = built
            .iter()
            .filter_map(|b| Some((b.plan_name.clone(), b.toolchain_record.clone()?)))
            .collect();
        stamp::write(
            &opts.output,
            fingerprints,
            toolchains,
            &outputs(&built, &opts.output),
            &report,
        );
    }
    Ok(report)
}

/// Every file a build's outputs consist of (what [`publish`] writes, and blobs it found there).
fn outputs(built: &[Built], output: &Path) -> Vec<PathBuf> {
    let layout = output.join("oci");
    let mut files = vec![
        output.join("report.json"),
        layout.join("index.json"),
        layout.join("oci-layout"),
    ];
    for b in built {
        for suffix in [".wasm", ".spdx.json", ".cdx.json"] {
            files.push(output.join(format!("{}{suffix}", b.plan_name)));
        }
        for a in std::iter::once(&b.artifact).chain(&b.referrers) {
            for d in a.blobs.iter().map(|(d, _)| d).chain([&a.descriptor]) {
                files.push(layout.join("blobs/sha256").join(d.hex()));
            }
        }
    }
    files
}

/// A value computed on another thread, waited for where it is first needed.
struct Later<'scope, T> {
    handle: Mutex<Option<std::thread::ScopedJoinHandle<'scope, T>>>,
    value: std::sync::OnceLock<T>,
}

impl<'scope, T> Later<'scope, T> {
    fn new(handle: std::thread::ScopedJoinHandle<'scope, T>) -> Self {
        Later {
            handle: Mutex::new(Some(handle)),
            value: std::sync::OnceLock::new(),
        }
    }

    fn get(&self) -> &T {
        self.value.get_or_init(|| {
            let handle = self.handle.lock().expect("no panic").take();
            handle.expect("joined once").join().expect("no panic")
        })
    }
}

/// The creation time and git annotations ([`created_and_annotations`]), asked for once Go has
/// compiled.
type Meta<'a> = &'a (dyn Fn() -> Result<(String, BTreeMap<String, String>)> + Sync);

fn run_parallel<T: Send>(plans: &[Plan], jobs: usize, f: impl Fn(&Plan) -> T + Sync) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<T>>> =
        plans.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.min(plans.len()) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(plan) = plans.get(i) else { break };
                *results[i].lock().expect("no panic") = Some(f(plan));
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().expect("no panic").expect("every plan ran"))
        .collect()
}

/// One module after [`build_one`].
enum Unit {
    Built(Box<Built>),
    /// `stamp` shows the outputs already there are this build's: compiled, not packaged.
    UpToDate(Box<Compiled>),
}

/// A compiled module and everything its packaging needs.
struct Compiled {
    out: PathBuf,
    /// Holds the temporary directory `out` is in, when it is not in the cache.
    _tmp: Option<tempfile::TempDir>,
    line: CommandLine,
    listing: toolchain::Listed,
    version: GoVersion,
    toolchain_version: String,
    created: String,
    git: BTreeMap<String, String>,
    build_id: Option<String>,
    fingerprint: Option<String>,
}

/// Compiles, checks, rewrites and packages one module, in memory; only compiles it when
/// `stamp` shows the outputs already there are this build's.
fn build_one(
    plan: &Plan,
    opts: &Options,
    dir: &Path,
    meta: Meta<'_>,
    use_cache: bool,
    stamp: Option<&stamp::Stamp>,
) -> Result<Unit> {
    let known = known_toolchain(plan, stamp);
    std::thread::scope(|s| {
        // The toolchain's version is asked for while it compiles; the compiler's messages
        // wait until the version is known to be supported.
        let detected = known
            .is_none()
            .then(|| s.spawn(|| detect_supported(plan, opts, dir)));
        let gate = move || -> Result<Option<(GoVersion, String)>> {
            detected
                .map(|h| h.join().expect("detect thread"))
                .transpose()
        };
        build_gated(plan, opts, dir, meta, use_cache, gate, stamp)
    })
}

/// Rebuilding outputs that Go made: the toolchain that made them, asked again only if the
/// module changed.
fn known_toolchain<'a>(
    plan: &Plan,
    stamp: Option<&'a stamp::Stamp>,
) -> Option<&'a stamp::Toolchain> {
    stamp
        .filter(|_| plan.toolchain == Toolchain::Go)
        .and_then(|s| s.toolchains.get(&plan.name))
}

/// The compiler `plan` runs: `go` or `tinygo` as `opts` names them.
fn program(plan: &Plan, opts: &Options) -> String {
    match plan.toolchain {
        Toolchain::Go => opts.go.clone(),
        Toolchain::Tinygo => opts.tinygo.clone(),
    }
}

/// [`detect`], refusing a toolchain too old for the plan.
fn detect_supported(plan: &Plan, opts: &Options, dir: &Path) -> Result<(GoVersion, String)> {
    let (version, shown) = detect(plan, opts, dir)?;
    toolchain::check_support(plan.toolchain, &version, plan.target, plan.mode)
        .map_err(Error::Usage)?;
    Ok((version, shown))
}

fn build_gated(
    plan: &Plan,
    opts: &Options,
    dir: &Path,
    meta: Meta<'_>,
    use_cache: bool,
    gate: impl FnOnce() -> Result<Option<(GoVersion, String)>> + Send,
    stamp: Option<&stamp::Stamp>,
) -> Result<Unit> {
    let known = known_toolchain(plan, stamp);
    let program = program(plan, opts);
    let (out, _tmp) = compile_output(plan, dir, use_cache)?;
    let line = match plan.toolchain {
        Toolchain::Go => toolchain::go_build(&program, &plan.settings, &plan.package, &out),
        Toolchain::Tinygo => {
            toolchain::tinygo_build(&program, &plan.settings, plan.target, &plan.package, &out)
        }
    };
    let list = toolchain::go_list(&opts.go, &plan.settings, &plan.package);
    let compiled_and_listed = (|| -> Result<_> {
        Ok(if _tmp.is_none() && out.with_file_name(LISTING).exists() {
            // A rebuild: compile first, and reuse the saved `go list` output when Go's build
            // ID says the package graph is unchanged (the ID hashes every input of the link).
            let detected = compile(&line, plan, dir, gate)?;
            let build_id = go_build_id(&out);
            let listed = match saved_listing(&out, build_id.as_deref()) {
                Some(listed) => (listed, true),
                None => (toolchain::output(&list, dir).map_err(Error::Usage)?, false),
            };
            (detected, build_id, listed)
        } else {
            // First build: `go list` runs while the compiler does.
            let (compiled, listed) = std::thread::scope(|s| {
                let listed = s.spawn(|| toolchain::output(&list, dir));
                (
                    compile(&line, plan, dir, gate),
                    listed.join().expect("go list thread"),
                )
            });
            let compiled = compiled?;
            (
                compiled,
                go_build_id(&out),
                (listed.map_err(Error::Usage)?, false),
            )
        })
    })();
    let (detected, build_id, (listed, listing_saved)) = match compiled_and_listed {
        // Built without asking the toolchain first: a failure may be a toolchain too old.
        Err(e @ Error::Compile { .. }) if known.is_some() => {
            detect_supported(plan, opts, dir)?;
            return Err(e);
        }
        other => other?,
    };
    let (version, toolchain_version) = match (detected, known) {
        (Some(detected), _) => detected,
        // Go's build ID hashes the toolchain's own: the same ID, the same toolchain.
        (None, Some(k)) if build_id.as_ref() == Some(&k.build_id) => {
            match toolchain::parse_go_version(&k.go_version) {
                Some(v) => (v, k.shown.clone()),
                None => detect_supported(plan, opts, dir)?,
            }
        }
        (None, _) => detect_supported(plan, opts, dir)?,
    };
    if let (None, false, Some(id)) = (&_tmp, listing_saved, &build_id) {
        save_listing(&out, id, &listed);
    }
    let (created, git) = meta()?;
    let listing = toolchain::modules_from_go_list(&listed).map_err(Error::Usage)?;
    let fingerprint = if use_cache {
        let go_sum = listing
            .go_mod
            .as_ref()
            .and_then(|m| std::fs::read(m.with_file_name("go.sum")).ok());
        let command = format!("{line:?}");
        stamp::fingerprint(
            plan,
            build_id.as_deref(),
            &listed,
            go_sum.as_deref(),
            &[&version.text, &toolchain_version, &command],
            &created,
            &git,
        )
    } else {
        None
    };
    let up_to_date = fingerprint.is_some()
        && stamp.and_then(|s| s.fingerprints.get(&plan.name)) == fingerprint.as_ref();
    let compiled = Compiled {
        out,
        _tmp,
        line,
        listing,
        version,
        toolchain_version,
        created,
        git,
        build_id,
        fingerprint,
    };
    Ok(if up_to_date {
        Unit::UpToDate(Box::new(compiled))
    } else {
        Unit::Built(Box::new(package(plan, compiled)?))
    })
}

/// Packages a compiled module ([`package_compiled`]) and records how it was made.
fn package(plan: &Plan, c: Compiled) -> Result<Built> {
    let Compiled {
        out,
        _tmp,
        line,
        listing,
        version,
        toolchain_version,
        created,
        git,
        build_id,
        fingerprint,
    } = c;
    let compiled = crate::fsio::read_input_private(&out)?;
    let mut built = package_compiled(plan, compiled, listing, &version.text, &created, &git)?;
    built.fingerprint = fingerprint;
    built.toolchain_record = build_id.map(|build_id| stamp::Toolchain {
        build_id,
        go_version: version.text.clone(),
        shown: toolchain_version.clone(),
    });
    built.toolchain = line.program.clone();
    // The compiler's command line as provenance records it: the output path (a cache entry
    // or a temporary file) is written as the module's name.
    let out_text = out.display().to_string();
    built.command = std::iter::once(line.program.clone())
        .chain(line.args.iter().map(|a| {
            if a == &out_text {
                format!("{}.wasm", plan.name)
            } else {
                a.clone()
            }
        }))
        .collect();
    built.env = line.env.iter().cloned().collect();
    built.toolchain_version = toolchain_version;
    Ok(built)
}

/// Everything after the compiler: rewrite, check the result (one validation pass, on the bytes
/// that ship), SBOMs from the parsed `go list` output and go.sum hashes, and the OCI artifacts. Pure and
/// in memory; `bench/build.sh` times exactly this.
pub fn package_compiled(
    plan: &Plan,
    mut compiled: crate::fsio::Input,
    mut listing: toolchain::Listed,
    go_version: &str,
    created: &str,
    git: &BTreeMap<String, String>,
) -> Result<Built> {
    let wasm_error = |error| Error::Wasm {
        file: format!("{} (as compiled)", plan.name),
        error,
    };

    // Rewrite first, then check and validate what ships: one validation pass, on the final bytes.
    // Over a private mapping of the compiled file, a Go module's rewrite copies only its last
    // pages (read_input_private).
    let (len, mut rewritten) = match compiled.as_mut_slice() {
        Some(bytes) => rewrite::rewrite_in_place(bytes, &plan.strip),
        None => rewrite::rewrite_unvalidated(&compiled, &plan.strip).map(|r| (None, r)),
    }
    .map_err(wasm_error)?;
    let wasm = match len {
        Some(len) => compiled.into_bytes().slice(..len),
        None => artifact::Blob::from(std::mem::take(&mut rewritten.bytes)),
    };
    let check = check::check(&wasm, &plan.policy).map_err(|error| Error::Check {
        file: plan.name.clone(),
        error,
    })?;
    let sha256 = check.module.sha256.clone();

    if listing.deps.iter().any(|d| d.compiled_sum().is_none()) {
        // Vendored builds: `go list` has no hashes; go.sum does.
        if let Some(sum) = listing.go_mod.as_ref().map(|m| m.with_file_name("go.sum")) {
            if let Ok(text) = std::fs::read_to_string(sum) {
                listing.fill_sums(&toolchain::parse_go_sum(&text));
            }
        }
    }
    let (main, deps) = (listing.main, listing.deps);
    let sbom = Sbom {
        name: format!("{}.wasm", plan.name),
        sha256: sha256.clone(),
        main,
        deps,
        go_version: Some(go_version.to_string()),
        created: created.to_string(),
    };
    let spdx = pretty(&sbom.spdx());
    let cyclonedx = pretty(&sbom.cyclonedx());

    let mut annotations = git.clone();
    annotations.extend(plan.settings.annotations.clone().unwrap_or_default());
    let spec = artifact::wasm_spec(
        &format!("{}.wasm", plan.name),
        check.module.kind == crate::wasm::inspect::Kind::Component,
        Some(&check.module),
        created,
        annotations,
    );
    let artifact = wasm_artifact(&wasm, &sha256, &spec);
    let referrers = vec![
        artifact::referrer(
            &artifact.descriptor,
            artifact::SPDX,
            &format!("{}.spdx.json", plan.name),
            &spdx,
            created,
        ),
        artifact::referrer(
            &artifact.descriptor,
            artifact::CYCLONEDX,
            &format!("{}.cdx.json", plan.name),
            &cyclonedx,
            created,
        ),
    ];
    Ok(Built {
        plan_name: plan.name.clone(),
        package: plan.package.clone(),
        toolchain: String::new(),
        command: Vec::new(),
        env: BTreeMap::new(),
        toolchain_version: go_version.to_string(),
        wasm,
        rewrite: rewritten,
        check,
        sbom_packages: sbom.deps.len(),
        spdx,
        cyclonedx,
        artifact,
        referrers,
        tag: plan.tag.clone(),
        fingerprint: None,
        toolchain_record: None,
    })
}

fn pretty(v: &serde_json::Value) -> Vec<u8> {
    let mut t = serde_json::to_vec_pretty(v).expect("SBOM serializes");
    t.push(b'\n');
    t
}

/// Asks the toolchain for the Go version it builds with (TinyGo reports its Go too) and the
/// version to report (`go1.26.8`, or `tinygo 0.34.0 (go1.23.4)`).
fn detect(plan: &Plan, opts: &Options, dir: &Path) -> Result<(GoVersion, String)> {
    let args = match plan.toolchain {
        Toolchain::Go => vec!["env".into(), "GOVERSION".into()],
        Toolchain::Tinygo => vec!["version".into()],
    };
    let line = CommandLine {
        program: program(plan, opts),
        args,
        env: vec![],
    };
    let out = toolchain::output(&line, dir).map_err(|m| {
        Error::Usage(match plan.toolchain {
            Toolchain::Go => format!("{m} (is Go installed? wasipack needs Go 1.21+ on PATH)"),
            Toolchain::Tinygo => format!("{m} (is TinyGo installed and on PATH?)"),
        })
    })?;
    let text = String::from_utf8_lossy(&out);
    let version = toolchain::parse_go_version(&text).ok_or_else(|| {
        Error::Usage(format!(
            "`{} {}` printed no Go version: {}",
            line.program,
            line.args.join(" "),
            text.trim()
        ))
    })?;
    let shown = match plan.toolchain {
        Toolchain::Go => version.text.clone(),
        Toolchain::Tinygo => {
            let own = text
                .split_whitespace()
                .skip_while(|w| *w != "version")
                .nth(1)
                .unwrap_or("?");
            format!("tinygo {own} ({})", version.text)
        }
    };
    Ok((version, shown))
}

/// Where the compiler writes: a stable path per project, module and settings in wasipack's
/// cache ([`stamp::cache_dir`]), at `obj/KEY/NAME.wasm`, so that `go build` finds its previous
/// output up to date and skips the link, as it does for `go build -o` by hand. We only read
/// that file. Falls back to a fresh temporary directory when there is no usable cache.
fn compile_output(
    plan: &Plan,
    dir: &Path,
    use_cache: bool,
) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    let name = format!("{}.wasm", plan.name);
    if let (Some(cache), Ok(dir), true) = (stamp::cache_dir(), dir.canonicalize(), use_cache) {
        // Not the toolchain's version: Go relinks when it changes (the build ID differs).
        let key = format!(
            "{}\0{}\0{}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}",
            dir.display(),
            plan.package,
            plan.name,
            plan.toolchain,
            plan.target,
            plan.mode,
            plan.settings.tags,
            plan.settings.ldflags,
        );
        let obj = cache
            .join("obj")
            .join(&crate::digest::sha256_hex(key.as_bytes())[..32]);
        if std::fs::create_dir_all(&obj).is_ok() {
            return Ok((obj.join(name), None));
        }
    }
    let tmp = tempfile::tempdir().map_err(|source| Error::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    Ok((tmp.path().join(name), Some(tmp)))
}

/// The saved `go list` output beside a cached compile output, and the build ID it belongs to.
const LISTING: &str = "go-list.json";
const LISTING_ID: &str = "go-list.buildid";

fn saved_listing(out: &Path, id: Option<&str>) -> Option<Vec<u8>> {
    let id = id?;
    let saved = std::fs::read_to_string(out.with_file_name(LISTING_ID)).ok()?;
    (saved == id)
        .then(|| std::fs::read(out.with_file_name(LISTING)).ok())
        .flatten()
}

fn save_listing(out: &Path, id: &str, listed: &[u8]) {
    // A cache: failing to save only costs the next build a `go list`.
    let _ = crate::fsio::write_atomic(&out.with_file_name(LISTING), listed);
    let _ = crate::fsio::write_atomic(&out.with_file_name(LISTING_ID), id.as_bytes());
}

/// The `go:buildid` custom section (Go puts it first), without parsing the rest.
fn go_build_id(wasm: &Path) -> Option<String> {
    let bytes = crate::fsio::read_input(wasm).ok()?;
    for payload in wasmparser::Parser::new(0).parse_all(&bytes) {
        match payload.ok()? {
            wasmparser::Payload::CustomSection(r) if r.name() == "go:buildid" => {
                return Some(String::from_utf8_lossy(r.data()).into_owned());
            }
            wasmparser::Payload::Version { .. } | wasmparser::Payload::CustomSection(_) => {}
            _ => return None,
        }
    }
    None
}

/// Runs the compiler with its output streamed to ours; a compile error keeps its status.
/// `gate` runs meanwhile: the compiler's messages are passed on only once it has passed, and
/// when it fails the compiler is stopped and the gate's error is the build's.
fn compile<T>(
    line: &CommandLine,
    plan: &Plan,
    dir: &Path,
    gate: impl FnOnce() -> Result<T>,
) -> Result<T> {
    let spawned = line
        .command(dir)
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            gate()?; // a missing toolchain says so with the gate's hint
            return Err(Error::Usage(format!(
                "cannot run `{}`: {}",
                line.program,
                crate::error::io_message(&e)
            )));
        }
    };
    let passed = match gate() {
        Ok(passed) => passed,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    if let Some(mut messages) = child.stderr.take() {
        let _ = std::io::copy(&mut messages, &mut std::io::stderr());
    }
    let status = child.wait().map_err(|e| {
        Error::Usage(format!(
            "`{}` did not finish: {}",
            line.program,
            crate::error::io_message(&e)
        ))
    })?;
    if status.success() {
        return Ok(passed);
    }
    Err(Error::Compile {
        tool: line.program.clone(),
        package: plan.package.clone(),
        code: status.code().unwrap_or(1),
    })
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Whether git could find a repository for `dir`: `GIT_DIR` is set, or `dir` or one of its
/// parents holds a `.git` (a directory, or a file for worktrees and submodules), which is
/// where git looks.
fn in_git_checkout(dir: &Path) -> bool {
    if std::env::var_os("GIT_DIR").is_some() {
        return true;
    }
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    dir.ancestors().any(|d| d.join(".git").exists())
}

/// The creation time (`SOURCE_DATE_EPOCH`, else the last commit's time, else now) and the
/// git annotations: `org.opencontainers.image.revision`, `source` (the origin remote) and
/// `version` (a tag on HEAD). Two git calls at most; none succeed outside a repository.
pub fn created_and_annotations(
    dir: &Path,
) -> std::result::Result<(String, BTreeMap<String, String>), String> {
    let mut a = BTreeMap::new();
    let mut commit_time = None;
    // `%D` lists the refs on HEAD, tags as `tag: NAME`. Outside any checkout git is not run.
    let log = in_git_checkout(dir)
        .then(|| git(dir, &["log", "-1", "--format=%H%n%ct%n%D"]))
        .flatten();
    if let Some(log) = log {
        let mut lines = log.lines();
        if let Some(rev) = lines.next() {
            a.insert("org.opencontainers.image.revision".into(), rev.to_string());
        }
        commit_time = lines.next().and_then(|t| t.trim().parse::<i64>().ok());
        if let Some(tag) = lines
            .next()
            .and_then(|refs| refs.split(", ").find_map(|r| r.strip_prefix("tag: ")))
        {
            a.insert("org.opencontainers.image.version".into(), tag.to_string());
        }
        if let Some(url) = git(dir, &["config", "--get", "remote.origin.url"]) {
            a.insert("org.opencontainers.image.source".into(), url);
        }
    }
    let created = if std::env::var_os("SOURCE_DATE_EPOCH").is_some() {
        sbom::created_now_or_epoch()?
    } else if let Some(s) = commit_time.and_then(sbom::rfc3339) {
        s
    } else {
        sbom::created_now_or_epoch()?
    };
    Ok((created, a))
}

/// Builds the module again in two fresh copies of its Go module and fails on any difference,
/// naming the first section that differs.
fn verify_reproducible(
    plan: &Plan,
    first: &Built,
    opts: &Options,
    meta: &(String, BTreeMap<String, String>),
) -> Result<()> {
    let line = CommandLine {
        program: opts.go.clone(),
        args: vec!["env".into(), "GOMOD".into()],
        env: vec![],
    };
    let gomod = toolchain::output(&line, &opts.dir).map_err(Error::Usage)?;
    let gomod = PathBuf::from(String::from_utf8_lossy(&gomod).trim());
    let root = gomod
        .parent()
        .filter(|_| gomod.is_file())
        .ok_or_else(|| Error::Usage("--verify-reproducible needs a Go module (go.mod)".into()))?
        .to_path_buf();
    let rel = opts
        .dir
        .canonicalize()
        .ok()
        .and_then(|d| {
            d.strip_prefix(root.canonicalize().ok()?)
                .ok()
                .map(Path::to_path_buf)
        })
        .unwrap_or_default();
    let output = opts.output.canonicalize().ok();
    let mut builds = Vec::new();
    for _ in 0..2 {
        let copy = tempfile::tempdir().map_err(|source| Error::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        copy_tree(&root, copy.path(), output.as_deref())?;
        let dir = copy.path().join(&rel);
        // Not cached: the copies live in throwaway directories.
        let same = || Ok(meta.clone());
        let built = match build_one(plan, opts, &dir, &same, false, None)? {
            Unit::Built(b) => *b,
            Unit::UpToDate(c) => package(plan, *c)?,
        };
        builds.push((built, copy));
    }
    for (other, _) in &builds {
        if other.wasm != first.wasm {
            let section = differing_section(&first.wasm, &other.wasm);
            return Err(Error::Usage(format!(
                "{} is not reproducible: a build in a fresh copy differs in {section}",
                plan.name
            )));
        }
        if other.artifact.descriptor.digest != first.artifact.descriptor.digest {
            return Err(Error::Usage(format!(
                "{} is not reproducible: the OCI manifest digest differs",
                plan.name
            )));
        }
    }
    Ok(())
}

/// The first section (by kind or custom name) whose bytes differ.
pub fn differing_section(a: &[u8], b: &[u8]) -> String {
    let sections = |bytes: &[u8]| -> Vec<(String, Vec<u8>)> {
        wasmparser::Parser::new(0)
            .parse_all(bytes)
            .filter_map(|p| p.ok())
            .filter_map(|p| {
                let (id, range) = p.as_section()?;
                let name = match &p {
                    wasmparser::Payload::CustomSection(r) => {
                        format!("custom section `{}`", r.name())
                    }
                    _ => format!(
                        "the {} section",
                        crate::wasm::inspect::section_kind(id, false)
                    ),
                };
                Some((
                    name,
                    bytes[range.start as usize..range.end as usize].to_vec(),
                ))
            })
            .collect()
    };
    let (sa, sb) = (sections(a), sections(b));
    // Go's build ID hashes every input, so it differs whenever anything does: name it only
    // when nothing else differs.
    let differing: Vec<String> = sa
        .iter()
        .zip(&sb)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| {
            if x.0 == y.0 {
                x.0.clone()
            } else {
                format!("{} vs {}", x.0, y.0)
            }
        })
        .collect();
    if let Some(first) = differing
        .iter()
        .find(|d| !d.contains("go:buildid"))
        .or(differing.first())
    {
        return first.clone();
    }
    if sa.len() != sb.len() {
        return "the number of sections".into();
    }
    "its header".into()
}

fn copy_tree(from: &Path, to: &Path, skip: Option<&Path>) -> Result<()> {
    let read = |path: &Path, source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(from).map_err(|e| read(from, e))? {
        let entry = entry.map_err(|e| read(from, e))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.')
            || skip.is_some_and(|s| path.canonicalize().ok().as_deref() == Some(s))
        {
            continue;
        }
        let dest = to.join(&name);
        let kind = entry.file_type().map_err(|e| read(&path, e))?;
        if kind.is_dir() {
            std::fs::create_dir(&dest).map_err(|source| Error::Write {
                path: dest.clone(),
                source,
            })?;
            copy_tree(&path, &dest, skip)?;
        } else if kind.is_file() {
            std::fs::copy(&path, &dest).map_err(|source| Error::Write {
                path: dest.clone(),
                source,
            })?;
        }
    }
    Ok(())
}

/// Writes `OUT/NAME.wasm`, `NAME.spdx.json`, `NAME.cdx.json`, `report.json` and the layout
/// `OUT/oci`, all or nothing.
pub fn publish(
    built: &[Built],
    output: &Path,
    reproducible: &BTreeMap<String, bool>,
) -> Result<BuildReport> {
    let mut stage = dist::Stage::default();
    let layout_root = output.join("oci");
    let mut index = Layout::index_or_empty(&layout_root)?;
    if !layout_root.join("oci-layout").exists() {
        stage.add(&layout_root.join("oci-layout"), layout::LAYOUT_MARKER)?;
    }
    let mut modules = Vec::new();
    let mut files: Vec<(PathBuf, &[u8])> = Vec::new();
    for b in built {
        let mut artifacts = vec![(&b.artifact, Some(b.tag.as_str()))];
        artifacts.extend(b.referrers.iter().map(|r| (r, None)));
        for (a, tag) in artifacts {
            for (d, bytes) in a
                .blobs
                .iter()
                .map(|(d, bytes)| (d, &bytes[..]))
                .chain([(&a.descriptor, a.manifest.as_slice())])
            {
                let path = layout_root.join("blobs/sha256").join(d.hex());
                if !path.exists() && !files.iter().any(|(p, _)| *p == path) {
                    files.push((path, bytes));
                }
            }
            layout::add_to_index(&mut index, a, tag);
        }
        let wasm = output.join(format!("{}.wasm", b.plan_name));
        let spdx = output.join(format!("{}.spdx.json", b.plan_name));
        let cdx = output.join(format!("{}.cdx.json", b.plan_name));
        files.extend([
            (wasm, &b.wasm[..]),
            (spdx, &b.spdx[..]),
            (cdx, &b.cyclonedx[..]),
        ]);
        modules.push(ModuleReport {
            name: b.plan_name.clone(),
            package: b.package.clone(),
            toolchain: b.toolchain.clone(),
            toolchain_version: b.toolchain_version.clone(),
            wasm: format!("{}.wasm", b.plan_name),
            sha256: b.check.module.sha256.clone(),
            size_compiled: b.rewrite.size_before,
            size: b.rewrite.size_after,
            sections: b.rewrite.sections.clone(),
            policy: b.check.policy.clone(),
            passed: b.check.passed,
            abi: b.check.module.abi.id(),
            imports: b.check.module.imports.len(),
            spdx: format!("{}.spdx.json", b.plan_name),
            cyclonedx: format!("{}.cdx.json", b.plan_name),
            sbom_packages: b.sbom_packages,
            oci_layout: "oci".into(),
            tag: b.tag.clone(),
            manifest_digest: b.artifact.descriptor.digest.clone(),
            reproducible: reproducible.get(&b.plan_name).copied(),
            command: b.command.clone(),
            env: b.env.clone(),
        });
    }
    stage.add_all(&files)?;
    let report = BuildReport {
        output: output.display().to_string(),
        modules,
        checks: built
            .iter()
            .map(|b| (b.plan_name.clone(), b.check.clone()))
            .collect(),
    };
    stage.add(
        &output.join("report.json"),
        &crate::report::json_bytes(crate::report::BUILD_SCHEMA, &report),
    )?;
    // Referrers staged in this build are not on disk yet: take their subjects from memory.
    let staged: BTreeMap<String, String> = built
        .iter()
        .flat_map(|b| {
            b.referrers.iter().map(move |r| {
                (
                    r.descriptor.digest.clone(),
                    b.artifact.descriptor.digest.clone(),
                )
            })
        })
        .collect();
    layout::prune_orphan_referrers(&mut index, |d| {
        staged
            .get(d)
            .cloned()
            .or_else(|| layout::stored_subject(&layout_root, d))
    });
    stage.add(&layout_root.join("index.json"), &to_bytes(&index))?;
    stage.commit()?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_runs_only_where_a_checkout_could_be() {
        let root = tempfile::tempdir().unwrap();
        let sub = root.path().join("a/b");
        std::fs::create_dir_all(&sub).unwrap();
        if std::env::var_os("GIT_DIR").is_none() && !in_git_checkout(root.path()) {
            assert!(!in_git_checkout(&sub));
        }
        std::fs::create_dir(root.path().join(".git")).unwrap();
        assert!(in_git_checkout(&sub), "a parent's .git");
        assert!(in_git_checkout(root.path()));
    }

    #[test]
    fn the_differing_section_is_named_past_the_build_id() {
        let a =
            wat::parse_str(r#"(module (@custom "go:buildid" "a") (memory 1) (@custom "x" "1"))"#)
                .unwrap();
        let b =
            wat::parse_str(r#"(module (@custom "go:buildid" "b") (memory 1) (@custom "x" "2"))"#)
                .unwrap();
        assert_eq!(differing_section(&a, &b), "custom section `x`");
        let c =
            wat::parse_str(r#"(module (@custom "go:buildid" "c") (memory 1) (@custom "x" "1"))"#)
                .unwrap();
        assert_eq!(differing_section(&a, &c), "custom section `go:buildid`");
        let d =
            wat::parse_str(r#"(module (@custom "go:buildid" "a") (memory 2) (@custom "x" "1"))"#)
                .unwrap();
        assert_eq!(differing_section(&a, &d), "the memory section");
    }

    #[test]
    fn a_missing_local_package_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let err = Plan::resolve(
            Settings {
                package: Some("./nope".into()),
                ..Default::default()
            },
            dir.path(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("package `./nope`: no such directory"),
            "{err}"
        );
    }
}
