//! Compiling: for each plan, the toolchain's version gate, the compiler, the module list for the
//! SBOM (the build info Go embeds, else `go list`) and the Go build ID that decides what the
//! cache may reuse ([`cache`](super::cache)).
//!
//! # Threads
//!
//! A build runs its modules up to `--jobs` at once ([`compile_all`]) through [`at_once`], the
//! one way `build` runs things at once: a scoped thread per job takes the next plan until none
//! is left, compiles it, then packages it (rewrite, check, SBOMs, artifacts) while the other
//! threads compile theirs; the calling thread waits for them. Within a module everything runs
//! in order on its thread: the version question (`go env GOVERSION`, `tinygo version`, skipped
//! when the last build's stamp names the toolchain behind an unchanged Go build ID), the
//! compiler, then `go list` when the embedded build info is not complete and no saved listing
//! serves. Git is asked once, before any of it.
//! After every module is built, [`publish`](super::publish) writes the output files one after
//! another ([`dist`](super::dist)). (Packaging's check has parallelism of its own, in
//! `crate::wasm::validate`.)
//!
//! What each thread bought, measured against a wasipack that did the same work in sequence
//! (medians of 15 to 31 interleaved runs of `wasipack build`, 2 cores, Go 1.26 with a warm build
//! cache; `examples/hello` in a git checkout, and a project of two `net/http` programs):
//!
//! - two modules with `--jobs 2` instead of 1: 325 ms instead of 471 ms on a first build
//!   (-31%), 129 ms instead of 159 ms with `--force` (-19%): kept;
//! - git on a thread of its own while the compilers run: 1.7% on an up-to-date build, 2.6% on
//!   a first build, none with `--force`: removed;
//! - `go list` while the compiler runs (first build): 5.8%: removed; the same in `rebuild`'s
//!   throwaway tree (no saved listing there): 4.5% and 8.6% of the whole `rebuild` in two runs
//!   of 31 (bench/rebuild.sh's setup, release): removed;
//! - the toolchain's version asked while the compiler runs: no gain (-0.6%): removed;
//! - writing the outputs in parallel: 54.5 ms instead of 59.9 ms (-9%) for the post-build
//!   pipeline of a 20.5 MiB module (`examples/post_build`), 4.1% on hello with `--force`; and
//!   the rewrite's copy in parallel stripes, 3-10% of that pipeline together with the writes
//!   (docs/concurrency-audit.md): both under the 10% bar, removed.
//!
//! The compiler's standard error goes to the [`Observer`] as it comes (from the module's
//! thread); its standard output is inherited.

use super::cache::{self, Stamp};
use super::config::Toolchain;
use super::toolchain::{self, CommandLine, GoVersion};
use super::{BuildError, Built, Observer, Options, Plan};
use crate::error::{Error, Result};
use crate::wasm::modinfo::GoBuildInfo;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The creation time and git annotations, as [`created_and_annotations`](super::git::created_and_annotations)
/// found them.
pub(super) type Meta = std::result::Result<(String, BTreeMap<String, String>), BuildError>;

/// What every module of one build shares.
pub(super) struct Job<'a> {
    pub opts: &'a Options,
    /// Where the compiler runs (the project directory, or a fresh copy of it).
    pub dir: &'a Path,
    /// Looked at once a module has compiled: a compile error is reported before a bad
    /// `SOURCE_DATE_EPOCH`.
    pub meta: &'a Meta,
    /// Compile into wasipack's cache and fingerprint the result (not for throwaway copies).
    pub use_cache: bool,
    pub stamp: Option<&'a Stamp>,
    pub observer: &'a dyn Observer,
}

/// One module after [`build_one`].
pub(super) enum Unit {
    Built(Box<Built>),
    /// `stamp` shows the outputs already there are this build's: compiled, not packaged.
    UpToDate(Box<Compiled>),
}

impl Unit {
    /// The built module, packaging it if it was up to date.
    pub(super) fn into_built(self, plan: &Plan) -> Result<Built> {
        match self {
            Unit::Built(b) => Ok(*b),
            Unit::UpToDate(c) => super::package::package(plan, *c),
        }
    }
}

/// A compiled module and everything its packaging needs.
pub(super) struct Compiled {
    pub out: PathBuf,
    /// Holds the temporary directory `out` is in, when it is not in the cache.
    pub _tmp: Option<tempfile::TempDir>,
    pub line: CommandLine,
    pub listing: toolchain::Listed,
    pub version: GoVersion,
    pub toolchain_version: String,
    pub created: String,
    pub git: BTreeMap<String, String>,
    pub build_id: Option<String>,
    pub fingerprint: Option<String>,
    /// [`toolchain::inherited_env`] for this build.
    pub build_env: BTreeMap<String, String>,
}

/// Compiles (and, unless up to date, packages) every plan, up to `opts.jobs` at once; returns
/// each plan's result in order, and the creation time and git annotations they were given.
pub(super) fn compile_all(
    plans: &[Plan],
    opts: &Options,
    stamp: Option<&Stamp>,
    observer: &dyn Observer,
) -> (Vec<Result<Unit>>, Meta) {
    let epoch = opts
        .env
        .iter()
        .find(|(k, _)| k == "SOURCE_DATE_EPOCH")
        .map(|(_, v)| v.as_str());
    let meta = super::git::created_and_annotations_for(&opts.dir, Some(&opts.output), epoch);
    let job = Job {
        opts,
        dir: &opts.dir,
        meta: &meta,
        use_cache: opts.cache,
        stamp,
        observer,
    };
    let results = at_once(plans, opts.jobs, |plan| build_one(plan, &job));
    (results, meta)
}

/// `f` of every item, up to `jobs` at once: a scoped thread per job takes the next item until
/// none is left. The results are in the items' order; a panic is raised again here.
pub(super) fn at_once<I: Sync, T: Send>(
    items: &[I],
    jobs: usize,
    f: impl Fn(&I) -> T + Sync,
) -> Vec<T> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Mutex<Option<T>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..jobs.clamp(1, items.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                *results[i].lock().expect("no panic") = Some(f(item));
            });
        }
    });
    results
        .into_iter()
        .map(|m| m.into_inner().expect("no panic").expect("every item ran"))
        .collect()
}

/// Compiles, checks, rewrites and packages one module, in memory; only compiles it when
/// `job.stamp` shows the outputs already there are this build's.
pub(super) fn build_one(plan: &Plan, job: &Job<'_>) -> Result<Unit> {
    let known = known_toolchain(plan, job.stamp);
    let program = program(plan, job.opts);
    let (out, _tmp) = cache::compile_output(plan, job.dir, job.use_cache)?;
    let overlay = if plan.go_component() {
        let package_dir = local_package_dir(plan, job.dir)?;
        Some(super::component::write_overlay(
            &package_dir,
            &out,
            plan.wit.is_none(),
        )?)
    } else {
        None
    };
    let line = match plan.toolchain {
        Toolchain::Go => toolchain::go_build(
            &program,
            &plan.settings,
            &plan.package,
            &out,
            overlay.as_deref(),
        ),
        Toolchain::Tinygo => {
            toolchain::tinygo_build(&program, &plan.settings, plan.target, &plan.package, &out)
        }
    };
    let mut line = line;
    let mut list = toolchain::go_list(&job.opts.go, &plan.settings, &plan.package);
    line.env.extend(job.opts.env.iter().cloned());
    list.env.extend(job.opts.env.iter().cloned());
    // The toolchain is asked its version first, unless the stamp names it (checked below).
    let detected = match known {
        None => Some(detect_supported(plan, job)?),
        Some(_) => None,
    };
    if let Err(e) = compile(&line, plan, job) {
        // Built without asking the toolchain first: a failure may be a toolchain too old.
        if known.is_some() && matches!(e, Error::Compile { .. }) {
            detect_supported(plan, job)?;
        }
        return Err(e);
    }
    let (build_id, build_info) = go_build_id_and_info(&out, plan.toolchain == Toolchain::Go);
    // The module list: from the build info Go embedded when it is complete (no `go list` to
    // run); else the saved `go list` output while Go's build ID says the package graph is
    // unchanged (the ID hashes every input of the link); else `go list`.
    let from_binary = build_info
        .as_ref()
        .and_then(|(text, info)| Some((toolchain::modules_from_build_info(info)?, text)));
    let (listed, listing, ran_go_list) = match from_binary {
        Some((listing, text)) => (text.clone().into_bytes(), listing, false),
        None => {
            let (listed, ran) = match cache::saved_listing(&out, build_id.as_deref()) {
                Some(listed) => (listed, false),
                None => (toolchain::output(&list, job.dir)?, true),
            };
            let listing = toolchain::modules_from_go_list(&listed)?;
            (listed, listing, ran)
        }
    };
    let (version, toolchain_version) = match (detected, known) {
        (Some(detected), _) => detected,
        // Go's build ID hashes the toolchain's own: the same ID, the same toolchain.
        (None, Some(k)) if build_id.as_ref() == Some(&k.build_id) => {
            match toolchain::parse_go_version(&k.go_version) {
                Some(v) => (v, k.shown.clone()),
                None => detect_supported(plan, job)?,
            }
        }
        (None, _) => detect_supported(plan, job)?,
    };
    if let (None, true, Some(id)) = (&_tmp, ran_go_list, &build_id) {
        cache::save_listing(&out, id, &listed);
    }
    let (created, git) = job.meta.clone()?;
    let fingerprint = if job.use_cache {
        let go_sum = listing.go_mod.as_ref().and_then(|m| {
            crate::fsio::read_bounded(&m.with_file_name("go.sum"), crate::fsio::TEXT_LIMIT).ok()
        });
        let command = format!("{line:?}");
        // A user's WIT world is an input of the component.
        let wit = plan
            .wit
            .as_ref()
            .map(|(dir, _)| files_digest(dir))
            .unwrap_or_default();
        cache::fingerprint(
            plan,
            build_id.as_deref(),
            &listed,
            go_sum.as_deref(),
            &[
                &version.text,
                &toolchain_version,
                &command,
                // The adapter a component embeds is an input too.
                if plan.go_component() {
                    super::component::ADAPTER_SHA256
                } else {
                    ""
                },
                &wit,
            ],
            &created,
            &git,
        )
    } else {
        None
    };
    let up_to_date = fingerprint.is_some()
        && job.stamp.and_then(|s| s.fingerprints.get(&plan.name)) == fingerprint.as_ref();
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
        build_env: toolchain::inherited_env(&job.opts.env),
    };
    Ok(if up_to_date {
        Unit::UpToDate(Box::new(compiled))
    } else {
        Unit::Built(Box::new(super::package::package(plan, compiled)?))
    })
}

/// A digest of every file under `dir` (paths and contents, in order); empty when it cannot be
/// read, which the build itself then reports.
fn files_digest(dir: &Path) -> String {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, &mut files);
    files.sort();
    let mut all = Vec::new();
    for f in files {
        all.extend_from_slice(f.as_os_str().as_encoded_bytes());
        all.push(0);
        all.extend_from_slice(&std::fs::read(&f).unwrap_or_default());
        all.push(0);
    }
    crate::digest::sha256_hex(&all)
}

/// The directory of a local package (`.`, `./cmd/x`), absolute: where the overlay of a Go
/// component adds its generated file.
fn local_package_dir(plan: &Plan, dir: &Path) -> Result<PathBuf> {
    let p = &plan.package;
    let local = p == "." || p.starts_with("./") || p.starts_with("../");
    let found = local.then(|| dir.join(p).canonicalize().ok()).flatten();
    found.ok_or_else(|| {
        Error::Usage(format!(
            "package `{p}`: --target wasip2 with Go builds a package in the project (`.` or `./...`)"
        ))
    })
}

/// Rebuilding outputs that Go made: the toolchain that made them, asked again only if the
/// module changed.
fn known_toolchain<'a>(plan: &Plan, stamp: Option<&'a Stamp>) -> Option<&'a cache::Toolchain> {
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
fn detect_supported(plan: &Plan, job: &Job<'_>) -> Result<(GoVersion, String)> {
    let (version, shown) = detect(plan, job)?;
    toolchain::check_support(plan.toolchain, &version, plan.target, plan.mode)?;
    Ok((version, shown))
}

/// Asks the toolchain for the Go version it builds with (TinyGo reports its Go too) and the
/// version to report (`go1.26.8`, or `tinygo 0.34.0 (go1.23.4)`).
fn detect(plan: &Plan, job: &Job<'_>) -> Result<(GoVersion, String)> {
    let asked = job
        .opts
        .go_version
        .as_deref()
        .filter(|_| plan.toolchain == Toolchain::Go);
    if let Some(version) = asked.and_then(toolchain::parse_go_version) {
        return Ok((version.clone(), version.text));
    }
    let args = match plan.toolchain {
        Toolchain::Go => vec!["env".into(), "GOVERSION".into()],
        Toolchain::Tinygo => vec!["version".into()],
    };
    let line = CommandLine {
        program: program(plan, job.opts),
        args,
        env: job.opts.env.clone(),
    };
    let out = toolchain::output(&line, job.dir).map_err(|source| BuildError::ToolchainMissing {
        source: Box::new(source),
        hint: match plan.toolchain {
            Toolchain::Go => "is Go installed? wasipack needs Go 1.21+ on PATH",
            Toolchain::Tinygo => "is TinyGo installed and on PATH?",
        },
    })?;
    let text = String::from_utf8_lossy(&out);
    let version = toolchain::parse_go_version(&text).ok_or_else(|| BuildError::NoGoVersion {
        command: line.shown(),
        printed: text.trim().to_string(),
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

/// Runs the compiler, its standard error handed to the observer as it comes; a compile error
/// keeps its status.
///
/// The compiler leads a process group of its own, recorded in [`crate::interrupt`]: when
/// wasipack is interrupted (SIGINT, or a SIGTERM sent to wasipack alone), the whole group (`go
/// build` and the compile and link steps it runs) is stopped rather than left running.
fn compile(line: &CommandLine, plan: &Plan, job: &Job<'_>) -> Result<()> {
    let mut command = line.command(job.dir);
    command
        .stdout(std::process::Stdio::inherit())
        .stderr(std::process::Stdio::piped());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    let mut child = command.spawn().map_err(|e| BuildError::Spawn {
        program: line.program.clone(),
        message: crate::text::io_message(&e),
    })?;
    let group = child.id();
    crate::interrupt::child_group(group);
    let _done = Finally(move || crate::interrupt::child_group_done(group));
    if let Some(mut messages) = child.stderr.take() {
        job.observer.compiler_messages(&plan.name, &mut messages);
        // Whatever the observer left: the compiler must not block on a full pipe.
        let _ = std::io::copy(&mut messages, &mut std::io::sink());
    }
    let status = child.wait().map_err(|e| BuildError::Wait {
        program: line.program.clone(),
        message: crate::text::io_message(&e),
    })?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Compile {
        tool: line.program.clone(),
        package: plan.package.clone(),
        code: status.code().unwrap_or(1),
    })
}

/// The `go:buildid` custom section (Go puts it first), without parsing the rest; with
/// `build_info`, also the build info Go embeds in its data, as text and parsed.
fn go_build_id_and_info(
    wasm: &Path,
    build_info: bool,
) -> (Option<String>, Option<(String, GoBuildInfo)>) {
    let Ok(bytes) = crate::fsio::read_input(wasm) else {
        return (None, None);
    };
    let info = build_info
        .then(|| crate::wasm::modinfo::find_text(&bytes))
        .flatten();
    (go_build_id(&bytes), info)
}

fn go_build_id(bytes: &[u8]) -> Option<String> {
    for payload in wasmparser::Parser::new(0).parse_all(bytes) {
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

/// Runs its closure when dropped (on every way out of a scope).
struct Finally<F: FnMut()>(F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn at_once_keeps_order_and_runs_at_most_jobs() {
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let items: Vec<u64> = (0..6).collect();
        let out = at_once(&items, 2, |i| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            // The first two wait for each other: two run at once, the third never starts.
            let start = std::time::Instant::now();
            while *i < 2 && running.load(Ordering::SeqCst) < 2 && start.elapsed().as_secs() < 5 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            std::thread::sleep(std::time::Duration::from_millis(20 - 3 * i));
            running.fetch_sub(1, Ordering::SeqCst);
            i * 10
        });
        assert_eq!(out, [0, 10, 20, 30, 40, 50]);
        assert_eq!(most.load(Ordering::SeqCst), 2);
        assert!(at_once(&[] as &[u64], 4, |i| *i).is_empty());
    }
}
