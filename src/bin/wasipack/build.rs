//! `wasipack build [DIR]`: the main job.

use std::path::PathBuf;
use wasipack::build::config::{self, Settings};
use wasipack::build::{self, Failure, Options, Plan};
use wasipack::report::{self, human};
use wasipack::{Error, Result};

/// Build Go packages into checked, stripped WASI modules with SBOMs, packaged as OCI
/// artifacts in a local image layout (`dist/oci`).
///
/// Settings come from `wasipack.toml` in DIR, overridden by flags. Exit codes: 0 built,
/// 1 a module broke its policy (nothing written), 2 bad input, config or I/O error; a compile
/// error exits with the compiler's own status after its messages.
#[derive(clap::Args)]
pub struct Opts {
    /// The project directory (default: the current one).
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The Go package to build (default `.`). With a config listing modules, picks the entry
    /// with this package instead of building them all.
    #[arg(long, short)]
    package: Option<String>,
    /// Output name, `dist/NAME.wasm` (default: the package's last path element).
    #[arg(long)]
    name: Option<String>,
    #[arg(long, value_enum)]
    toolchain: Option<ToolchainArg>,
    /// wasip1 (default), wasip2, or both (`wasip1,wasip2`: one image index with an entry per
    /// platform, the modules written as NAME-wasip1.wasm and NAME-wasip2.wasm).
    #[arg(long, value_enum, value_delimiter = ',')]
    target: Vec<TargetArg>,
    #[arg(long, value_enum)]
    mode: Option<ModeArg>,
    /// A directory of WIT files with the world a wasip2 reactor exports (with --world).
    #[arg(long, value_name = "DIR")]
    wit: Option<String>,
    /// The world in --wit that the component exports.
    #[arg(long, value_name = "NAME")]
    world: Option<String>,
    /// Build tags (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    tags: Vec<String>,
    /// Linker flags passed to the compiler.
    #[arg(long, allow_hyphen_values = true)]
    ldflags: Option<String>,
    /// Policy to check against (default: wasip1-default; wasip1-reactor for reactors,
    /// wasip2-component for wasip2).
    #[arg(long)]
    policy: Option<String>,
    /// Tag in the OCI layout (default: the module name).
    #[arg(long)]
    tag: Option<String>,
    /// A manifest annotation KEY=VALUE (repeatable).
    #[arg(long = "annotation", short = 'a', value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// Output directory (default `dist`, relative to DIR).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// How many modules to build at once.
    #[arg(long, short, default_value_t = 2)]
    jobs: usize,
    /// Build every module twice more in fresh copies and fail on any difference.
    #[arg(long)]
    verify_reproducible: bool,
    /// Sign each module's artifact in the output layout and attest its SPDX SBOM and SLSA
    /// provenance with this key (cosign's format), or with --keyless and no KEY; a later
    /// `push` of the output carries them.
    #[arg(long, value_name = "KEY", num_args = 0..=1, default_missing_value = "")]
    sign: Option<String>,
    /// With --sign (no KEY): sign and attest without a key, as `push --keyless` does: each a
    /// Sigstore bundle (a Fulcio certificate for the OIDC identity, logged in Rekor with a
    /// timestamp) stored as a referrer in the layout. The identity token comes from
    /// --identity-token, else SIGSTORE_ID_TOKEN, else the GitHub Actions job.
    #[arg(long, requires = "sign")]
    keyless: bool,
    #[command(flatten)]
    keyless_with: super::keyless::With,
    /// With --sign, where to store them in the layout: `auto` and `tags` (cosign v2's
    /// `.sig`/`.att` tags, which a later `push` carries), `bundles` (Sigstore bundle
    /// referrers) or `both`; --keyless stores bundles only.
    #[arg(
        long,
        value_enum,
        value_name = "FORM",
        default_value = "auto",
        requires = "sign"
    )]
    attach: super::sign::AttachArg,
    /// With --sign: the same as `--attach both`.
    #[arg(long, requires = "sign", conflicts_with = "attach")]
    referrers: bool,
    /// Also write a SARIF 2.1.0 log of every module's check (one run per module), on success
    /// and when a module breaks its policy.
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Print GitHub workflow annotations (on stderr) for policy violations. Unlike `check`,
    /// not automatic under GITHUB_ACTIONS: the wasipack action annotates itself.
    #[arg(long)]
    github: bool,
    /// Package and write everything again even when the outputs are up to date (same
    /// compiled module, settings and policy as the last build into the output directory,
    /// and no output touched since).
    #[arg(long)]
    pub force: bool,
    /// Print the build report as JSON (schema wasipack.build/v1).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    gh: super::github::BuildFlags,
}

/// `--toolchain`, as [`config::Toolchain`].
#[derive(Clone, Copy, clap::ValueEnum)]
enum ToolchainArg {
    Go,
    Tinygo,
}

impl From<ToolchainArg> for config::Toolchain {
    fn from(t: ToolchainArg) -> Self {
        match t {
            ToolchainArg::Go => config::Toolchain::Go,
            ToolchainArg::Tinygo => config::Toolchain::Tinygo,
        }
    }
}

/// `--target`, as [`config::Target`] (`js` is not offered).
#[derive(Clone, Copy, clap::ValueEnum)]
enum TargetArg {
    Wasip1,
    Wasip2,
}

impl From<TargetArg> for config::Target {
    fn from(t: TargetArg) -> Self {
        match t {
            TargetArg::Wasip1 => config::Target::Wasip1,
            TargetArg::Wasip2 => config::Target::Wasip2,
        }
    }
}

/// `--mode`, as [`config::Mode`].
#[derive(Clone, Copy, clap::ValueEnum)]
enum ModeArg {
    /// A program with `_start` (go build's default).
    Command,
    /// A library with `_initialize` and `//go:wasmexport` functions (`-buildmode=c-shared`).
    Reactor,
}

impl From<ModeArg> for config::Mode {
    fn from(m: ModeArg) -> Self {
        match m {
            ModeArg::Command => config::Mode::Command,
            ModeArg::Reactor => config::Mode::Reactor,
        }
    }
}

pub fn run(opts: Opts) -> Result<u8> {
    let (gh, annotate) = (opts.gh.clone(), opts.github);
    gh.finish(annotate, run_build(opts))
}

fn run_build(opts: Opts) -> Result<u8> {
    let file = config::load(&opts.dir)
        .map_err(Error::Config)?
        .unwrap_or_default();
    let mut flags = Settings {
        name: opts.name.clone(),
        package: opts.package.clone(),
        toolchain: opts.toolchain.map(Into::into),
        target: (!opts.target.is_empty()).then(|| {
            opts.target
                .iter()
                .map(|&t| config::Target::from(t).name())
                .collect::<Vec<_>>()
                .join(",")
        }),
        mode: opts.mode.map(Into::into),
        tags: (!opts.tags.is_empty()).then(|| opts.tags.clone()),
        ldflags: opts.ldflags.clone(),
        policy: opts.policy.clone(),
        tag: opts.tag.clone(),
        wit: opts.wit.clone(),
        world: opts.world.clone(),
        ..Default::default()
    };
    if !opts.annotations.is_empty() {
        let mut map = std::collections::BTreeMap::new();
        for a in &opts.annotations {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("--annotation `{a}`: expected KEY=VALUE")))?;
            map.insert(k.to_string(), v.to_string());
        }
        flags.annotations = Some(map);
    }
    // --package picks the [[module]] entry with that package (or builds it with [build]'s
    // settings when no entry has it); without it, every entry is built.
    let entries = match &opts.package {
        _ if file.module.is_empty() => vec![Settings::default()],
        Some(package) => {
            let same = |m: &&Settings| {
                m.package.as_deref().map(|p| p.trim_end_matches('/'))
                    == Some(package.trim_end_matches('/'))
            };
            vec![file.module.iter().find(same).cloned().unwrap_or_default()]
        }
        None => file.module.clone(),
    };
    if entries.len() > 1 {
        for (flag, set) in [
            ("--name", opts.name.is_some()),
            ("--tag", opts.tag.is_some()),
        ] {
            if set {
                return Err(Error::Usage(format!(
                    "{flag} names one output, but wasipack.toml lists {} modules: pick one with --package",
                    entries.len()
                )));
            }
        }
    }
    let plans = entries
        .iter()
        .map(|m| Plan::resolve_all(flags.over(&m.over(&file.build)), &opts.dir))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect::<Vec<_>>();
    opts.gh.one_module(&plans)?;
    let output = opts
        .output
        .clone()
        .unwrap_or_else(|| opts.dir.join(file.output.as_deref().unwrap_or("dist")));
    let options = Options {
        dir: opts.dir.clone(),
        output,
        jobs: opts.jobs,
        verify_reproducible: opts.verify_reproducible,
        // Signing, SARIF and annotations need this build's checks: those builds package.
        reuse: !(opts.force
            || opts.verify_reproducible
            || opts.sign.is_some()
            || opts.sarif.is_some()
            || opts.github),
        cache: true,
        go_version: None,
        go: std::env::var("GO").unwrap_or_else(|_| "go".into()),
        env: Vec::new(),
        tinygo: std::env::var("TINYGO").unwrap_or_else(|_| "tinygo".into()),
    };
    // Open the key (password and scrypt), or read the keyless token and signing config,
    // before building: a bad key or token fails before anything is written, and `build` stays
    // all or nothing.
    let signer = signer(&opts)?;
    match build::build(&plans, &options, &super::progress::CompilerMessages) {
        Ok(report) => {
            let out = std::path::Path::new(&report.output);
            let mut signed_lines = Vec::new();
            if let Some(signer) = signer {
                let signed = sign_outputs(&report, signer)?;
                if !opts.json && !super::quiet() {
                    for (name, s) in &signed {
                        let attested: Vec<&str> = s
                            .iter()
                            .filter_map(|x| x.predicate_type.as_deref())
                            .collect();
                        signed_lines.push(format!(
                            "signed {name}: {} in the layout, attested {}",
                            s[0].place(),
                            attested.join(", ")
                        ));
                    }
                }
            }
            let named = opts.gh.named(&options.output, &report.checks, module_path);
            let named: Vec<(String, &wasipack::check::CheckReport)> =
                named.iter().map(|(f, r)| (f.clone(), r)).collect();
            write_sarif(opts.sarif.as_deref(), &named)?;
            if opts.json {
                super::print_json(report::BUILD_SCHEMA, &report);
            } else {
                for m in &report.modules {
                    super::print(&format!(
                        "built {} sha256:{} ({} -> {} bytes, {} dependencies in SBOM) -> {}:{}@{}\n",
                        out.join(&m.wasm).display(),
                        m.sha256,
                        m.size_compiled,
                        m.size,
                        m.sbom_packages,
                        out.join(&m.oci_layout).display(),
                        m.tag,
                        m.manifest_digest
                    ));
                }
            }
            for line in signed_lines {
                eprintln!("{line}");
            }
            if let (Some(dir), false) = (&report.outside_project, super::quiet()) {
                eprintln!(
                    "wrote {} to {} (outside the project)",
                    options.output.file_name().map_or_else(
                        || dir.display().to_string(),
                        |n| n.to_string_lossy().into_owned()
                    ),
                    dir.display()
                );
            }
            opts.gh.built(&report, opts.sarif.as_deref())?;
            Ok(0)
        }
        Err(Failure::Rejected(reports)) => {
            let named = opts.gh.named(&options.output, &reports, module_path);
            let named: Vec<(String, &wasipack::check::CheckReport)> =
                named.iter().map(|(f, r)| (f.clone(), r)).collect();
            write_sarif(opts.sarif.as_deref(), &named)?;
            if opts.github {
                for (file, r) in &named {
                    eprint!("{}", report::github::annotations(r, file));
                }
            }
            for (name, r) in &reports {
                let text = if opts.json {
                    report::json(report::CHECK_SCHEMA, name, r)
                } else {
                    human::check(r, name, super::stdout_style())
                };
                super::print(&text);
            }
            opts.gh
                .rejected(&reports, &plans, &options, opts.sarif.as_deref())?;
            eprintln!(
                "error: {} module(s) broke their policy; nothing was written",
                reports.len()
            );
            Ok(1)
        }
        Err(Failure::Error(e)) => Err(e),
    }
}

/// Where a module is (or would have been) written: `OUTPUT/NAME.wasm`.
/// Relative to the current directory when it is inside it, as annotations want.
fn module_path(output: &std::path::Path, name: &str) -> String {
    let path = output.join(format!("{name}.wasm"));
    let relative = std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(&cwd).ok().map(|p| p.to_path_buf()));
    relative.unwrap_or(path).display().to_string()
}

/// One SARIF log with a run per module.
fn write_sarif(
    path: Option<&std::path::Path>,
    checks: &[(String, &wasipack::check::CheckReport)],
) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let mut log = serde_json::Value::Null;
    for (file, r) in checks {
        let one = report::sarif::log(r, file);
        if log.is_null() {
            log = one;
        } else if let (Some(runs), Some(more)) =
            (log["runs"].as_array_mut(), one["runs"].as_array())
        {
            runs.extend(more.iter().cloned());
        }
    }
    let text = serde_json::to_string_pretty(&log).expect("SARIF serializes");
    wasipack::fsio::write_atomic(path, text.as_bytes())
}

/// `--sign KEY` opened (its signatures logged where `--signing-config` names an instance with
/// a log), or `--sign --keyless`'s token and instance resolved; `None` without `--sign`. With
/// where to store them.
fn signer(opts: &Opts) -> Result<Option<(wasipack::sign::Signing, wasipack::sign::Mode)>> {
    let Some(key) = &opts.sign else {
        return Ok(None);
    };
    let asked = super::sign::mode(opts.attach, opts.referrers);
    let key = match (key.is_empty(), opts.keyless) {
        (true, false) => {
            return Err(Error::Usage(
                "--sign needs a KEY, or --keyless to sign without one".into(),
            ))
        }
        (false, true) => {
            return Err(Error::Usage(format!(
                "--sign {key} and --keyless: sign with the key or keyless, not both"
            )))
        }
        (false, false) => Some(super::keys::closed(std::path::Path::new(key))?),
        (true, true) => None,
    };
    let signer = opts
        .keyless_with
        .choose("build --sign", key, opts.keyless, asked)?;
    let signer = super::keyless::required(signer)?.open()?;
    let mode = signer.mode(asked)?;
    Ok(Some((signer, mode)))
}

/// Signs and attests every module in the output layout.
fn sign_outputs(
    report: &build::BuildReport,
    (signer, mode): (wasipack::sign::Signing, wasipack::sign::Mode),
) -> Result<Vec<(String, Vec<wasipack::sign::Signed>)>> {
    let mut done = Vec::new();
    use wasipack::oci::{Store, Target};
    use wasipack::sign::provenance::BuildFacts;
    let out = std::path::Path::new(&report.output);
    for m in &report.modules {
        let target = Target::Layout {
            path: out.join(&m.oci_layout),
            tag: None,
            digest: Some(m.manifest_digest.clone()),
        };
        let store = Store::open(&target, Default::default(), false)?;
        let manifest: serde_json::Value = store
            .manifest(&m.manifest_digest)?
            .and_then(|f| serde_json::from_slice(&f.bytes).ok())
            .unwrap_or_default();
        let annotations =
            serde_json::from_value(manifest["annotations"].clone()).unwrap_or_default();
        let facts =
            BuildFacts::from_report(&serde_json::to_value(m).expect("serializes"), &annotations);
        let spdx_path = out.join(&m.spdx);
        let spdx: serde_json::Value = serde_json::from_slice(&wasipack::fsio::read_limited(
            &spdx_path,
            wasipack::fsio::DOCUMENT_LIMIT,
        )?)
        .map_err(|e| Error::Input(format!("{}: not JSON: {e}", spdx_path.display())))?;
        let sbom = Some((wasipack::sign::payload::SPDX_PREDICATE.into(), spdx));
        let signed = wasipack::sign::sign_and_attest(&store, &target, &signer, sbom, &facts, mode)?;
        done.push((m.name.clone(), signed));
    }
    Ok(done)
}
