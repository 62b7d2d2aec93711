//! Driving `go build` and `tinygo build`: version gates, exact command lines (plain values, so
//! they are unit-tested without the tools), and `go list -deps -json` for the SBOM.

use super::config::{Mode, Settings, Target, TinygoOptions, Toolchain};
use super::BuildError;
use crate::sbom::Component;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// A command to run: program, arguments, extra environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandLine {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl CommandLine {
    pub fn command(&self, dir: &Path) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args).current_dir(dir);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// The program and its arguments, as error messages show them.
    pub fn shown(&self) -> String {
        format!("{} {}", self.program, self.args.join(" "))
    }
}

/// A Go release as `go env GOVERSION` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoVersion {
    pub text: String,
    pub major: u32,
    pub minor: u32,
}

/// Parses `go1.26.8`, `go1.24rc1`, `devel go1.27-abcdef ...`.
pub fn parse_go_version(text: &str) -> Option<GoVersion> {
    let text = text.trim();
    let at = text.find("go1.")?;
    let rest = &text[at + 2..];
    let major: u32 = rest.split('.').next()?.parse().ok()?;
    let minor_text: String = rest
        .split('.')
        .nth(1)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    Some(GoVersion {
        text: text[at..].split_whitespace().next()?.to_string(),
        major,
        minor: minor_text.parse().ok()?,
    })
}

/// Refuses what a toolchain release cannot build, saying why.
pub fn check_support(
    toolchain: Toolchain,
    version: &GoVersion,
    target: Target,
    mode: Mode,
) -> Result<(), BuildError> {
    if toolchain == Toolchain::Tinygo {
        return Ok(());
    }
    let at_least = |minor: u32| version.major > 1 || version.minor >= minor;
    if !at_least(21) {
        return Err(BuildError::GoTooOld(version.text.clone()));
    }
    if target == Target::Wasip2 && !at_least(24) {
        return Err(BuildError::Wasip2TooOld(version.text.clone()));
    }
    if mode == Mode::Reactor && !at_least(24) {
        return Err(BuildError::ReactorTooOld(version.text.clone()));
    }
    Ok(())
}

/// The arguments both compilers share, last on the line: tags, ldflags, `-o OUT PACKAGE`.
fn output_args(args: &mut Vec<String>, settings: &Settings, package: &str, out: &Path) {
    args.extend(tags_arg(settings));
    if let Some(ldflags) = settings.ldflags.as_ref().filter(|l| !l.is_empty()) {
        args.push(format!("-ldflags={ldflags}"));
    }
    args.extend([
        "-o".to_string(),
        out.display().to_string(),
        package.to_string(),
    ]);
}

fn tags_arg(settings: &Settings) -> Option<String> {
    settings
        .tags
        .as_ref()
        .filter(|t| !t.is_empty())
        .map(|t| format!("-tags={}", t.join(",")))
}

/// `go build` for wasip1, reproducible: `-trimpath`, no cgo, no VCS stamp (the revision goes
/// into the OCI annotations instead, so the binary does not depend on the checkout's state),
/// the configured tags and ldflags. With `overlay` (a wasip2 component,
/// [`component`](super::component)), a reactor with the overlay's generated file added.
pub fn go_build(
    go: &str,
    settings: &Settings,
    package: &str,
    out: &Path,
    overlay: Option<&Path>,
) -> CommandLine {
    let mut args = vec![
        "build".to_string(),
        "-trimpath".to_string(),
        "-buildvcs=false".to_string(),
    ];
    if settings.mode == Some(Mode::Reactor) || overlay.is_some() {
        args.push("-buildmode=c-shared".into());
    }
    if let Some(overlay) = overlay {
        args.push(format!("-overlay={}", overlay.display()));
    }
    output_args(&mut args, settings, package, out);
    CommandLine {
        program: go.to_string(),
        args,
        env: go_env(),
    }
}

/// Variables of wasipack's environment that the compiler inherits and that change what it
/// builds, recorded with every build (with `SOURCE_DATE_EPOCH`, which changes the artifact's
/// creation time) so that a rebuild can set them again.
pub const INHERITED_ENV: [&str; 5] = [
    "GOFLAGS",
    "GOEXPERIMENT",
    "GOWASM",
    "GOTOOLCHAIN",
    "SOURCE_DATE_EPOCH",
];

/// The [`INHERITED_ENV`] variables set (and not empty) now, `over` the environment.
pub fn inherited_env(over: &[(String, String)]) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = INHERITED_ENV
        .iter()
        .filter_map(|k| Some((k.to_string(), std::env::var(k).ok()?)))
        .collect();
    env.extend(
        over.iter()
            .filter(|(k, _)| INHERITED_ENV.contains(&k.as_str()))
            .cloned(),
    );
    env.retain(|_, v| !v.is_empty());
    env
}

fn go_env() -> Vec<(String, String)> {
    vec![
        ("GOOS".into(), "wasip1".into()),
        ("GOARCH".into(), "wasm".into()),
        ("CGO_ENABLED".into(), "0".into()),
    ]
}

/// `tinygo build -target=wasip1|wasip2` with the configured optimisation, GC and scheduler.
pub fn tinygo_build(
    tinygo: &str,
    settings: &Settings,
    target: Target,
    package: &str,
    out: &Path,
) -> CommandLine {
    let opts = settings.tinygo.clone().unwrap_or_default();
    let TinygoOptions {
        opt,
        gc,
        scheduler,
        no_debug,
    } = opts;
    let mut args = vec!["build".to_string(), format!("-target={}", target.name())];
    if settings.mode == Some(Mode::Reactor) {
        args.push("-buildmode=c-shared".into());
    }
    args.extend(opt.map(|o| format!("-opt={o}")));
    args.extend(gc.map(|g| format!("-gc={g}")));
    args.extend(scheduler.map(|s| format!("-scheduler={s}")));
    if no_debug == Some(true) {
        args.push("-no-debug".into());
    }
    if let (Some(wit), Some(world)) = (&settings.wit, &settings.world) {
        args.push(format!("-wit-package={wit}"));
        args.push(format!("-wit-world={world}"));
    }
    output_args(&mut args, settings, package, out);
    CommandLine {
        program: tinygo.to_string(),
        args,
        env: vec![("CGO_ENABLED".into(), "0".into())],
    }
}

/// `go list -deps -json` with the same environment and tags as the build.
pub fn go_list(go: &str, settings: &Settings, package: &str) -> CommandLine {
    // Only the fields the SBOM reads: `go list` then skips its staleness computation, which
    // costs more than a warm build of a small program.
    let mut args = vec![
        "list".to_string(),
        "-deps".to_string(),
        "-json=ImportPath,Standard,Module".to_string(),
    ];
    args.extend(tags_arg(settings));
    args.push(package.to_string());
    CommandLine {
        program: go.to_string(),
        args,
        env: go_env(),
    }
}

#[derive(Deserialize)]
struct ListedPackage {
    #[serde(rename = "Standard", default)]
    standard: bool,
    #[serde(rename = "Module")]
    module: Option<ListedModule>,
}

#[derive(Deserialize, Clone)]
struct ListedModule {
    #[serde(rename = "Path")]
    path: String,
    #[serde(rename = "Version", default)]
    version: String,
    #[serde(rename = "Main", default)]
    main: bool,
    /// The go.sum hash, which `go list` reports itself (under `Replace` for replaced modules).
    #[serde(rename = "Sum")]
    sum: Option<String>,
    /// The main module's go.mod, beside which go.sum is.
    #[serde(rename = "GoMod")]
    go_mod: Option<String>,
    #[serde(rename = "Replace")]
    replace: Option<Box<ListedModule>>,
}

/// What `go list -deps -json` says the build links.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    pub main: Option<Component>,
    pub deps: Vec<Component>,
    /// The main module's go.mod.
    pub go_mod: Option<std::path::PathBuf>,
}

impl Listed {
    /// Fills the hashes `go list` did not report (vendored builds) from go.sum entries.
    pub fn fill_sums(&mut self, sums: &BTreeMap<(String, String), String>) {
        let fill = |c: &mut Component| {
            if c.sum.is_none() {
                c.sum = sums.get(&(c.path.clone(), c.version.clone())).cloned();
            }
        };
        for dep in &mut self.deps {
            fill(dep);
            if let Some(r) = dep.replace.as_deref_mut() {
                fill(r);
            }
        }
    }
}

/// The main module and the dependency modules of the packages `go list -deps -json` printed,
/// with the `h1:` hashes it reports.
pub fn modules_from_go_list(stream: &[u8]) -> Result<Listed, BuildError> {
    let mut listed = Listed::default();
    let mut deps: BTreeMap<String, Component> = BTreeMap::new();
    let one = |m: &ListedModule| Component {
        path: m.path.clone(),
        version: m.version.clone(),
        sum: m.sum.clone(),
        replace: None,
    };
    let component = |m: &ListedModule| Component {
        replace: m.replace.as_deref().map(|r| Box::new(one(r))),
        ..one(m)
    };
    for package in serde_json::Deserializer::from_slice(stream).into_iter::<ListedPackage>() {
        let package = package.map_err(|e| BuildError::GoList(e.to_string()))?;
        let Some(m) = package.module.filter(|_| !package.standard) else {
            continue;
        };
        if m.main {
            if listed.main.is_none() {
                let mut c = component(&m);
                if c.version.is_empty() {
                    c.version = "(devel)".into();
                }
                listed.main = Some(c);
                listed.go_mod = m.go_mod.clone().map(Into::into);
            }
        } else {
            deps.entry(m.path.clone()).or_insert_with(|| component(&m));
        }
    }
    listed.deps = deps.into_values().collect();
    Ok(listed)
}

/// The main module and the dependency modules from the build info Go embedded in the module it
/// built ([`crate::wasm::modinfo`]): `cmd/go` records there the module of every package the
/// link took in, with its go.sum hash, which is what `go list -deps` reports. `None` unless
/// that record is complete: a main module without a stamped version, and the `h1:` hash of
/// every dependency's compiled code. A vendored build (no hashes), a directory replacement or
/// a workspace's other modules (no version, no hash) leave the listing to `go list`, which
/// with go.sum says more.
pub fn modules_from_build_info(info: &crate::wasm::modinfo::GoBuildInfo) -> Option<Listed> {
    // `go list` reports no version for the main module; wasipack builds with `-buildvcs=false`,
    // so Go stamps none either.
    let main = Component::from_go(info.main.as_ref().filter(|m| m.version == "(devel)")?);
    let mut deps: BTreeMap<String, Component> = BTreeMap::new();
    for m in &info.deps {
        let c = Component::from_go(m);
        c.compiled_sum()?;
        if c.path == main.path || deps.insert(c.path.clone(), c).is_some() {
            return None;
        }
    }
    Some(Listed {
        main: Some(main),
        deps: deps.into_values().collect(),
        go_mod: None,
    })
}

/// `(path, version) -> h1:hash` from a go.sum file (module zips, not `/go.mod` lines).
pub fn parse_go_sum(text: &str) -> BTreeMap<(String, String), String> {
    let mut sums = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        if let (Some(path), Some(version), Some(hash)) = (f.next(), f.next(), f.next()) {
            if !version.ends_with("/go.mod") {
                sums.insert((path.to_string(), version.to_string()), hash.to_string());
            }
        }
    }
    sums
}

/// Runs a command to completion and returns its stdout, or a one-line error with its stderr.
pub fn output(line: &CommandLine, dir: &Path) -> Result<Vec<u8>, BuildError> {
    let out = line.command(dir).output().map_err(|e| BuildError::Spawn {
        program: line.program.clone(),
        message: crate::text::io_message(&e),
    })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first: BTreeSet<&str> = stderr.lines().take(3).collect();
        return Err(BuildError::ToolFailed {
            command: line.shown(),
            stderr: first.into_iter().collect::<Vec<_>>().join("; "),
        });
    }
    Ok(out.stdout)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn settings(mode: Mode) -> Settings {
        Settings {
            mode: Some(mode),
            tags: Some(vec!["netgo".into(), "prod".into()]),
            ldflags: Some("-s -w".into()),
            ..Default::default()
        }
    }

    #[test]
    fn go_versions_parse_and_gate() {
        let v = parse_go_version("go1.26.8").unwrap();
        assert_eq!((v.major, v.minor, v.text.as_str()), (1, 26, "go1.26.8"));
        assert_eq!(parse_go_version("devel go1.27-abc Tue").unwrap().minor, 27);
        assert_eq!(parse_go_version("go1.24rc1").unwrap().minor, 24);
        assert!(parse_go_version("banana").is_none());
        let old = parse_go_version("go1.20.14").unwrap();
        assert!(
            check_support(Toolchain::Go, &old, Target::Wasip1, Mode::Command)
                .unwrap_err()
                .to_string()
                .contains("Go 1.21")
        );
        let v123 = parse_go_version("go1.23.4").unwrap();
        assert!(check_support(Toolchain::Go, &v123, Target::Wasip1, Mode::Command).is_ok());
        assert!(
            check_support(Toolchain::Go, &v123, Target::Wasip1, Mode::Reactor)
                .unwrap_err()
                .to_string()
                .contains("Go 1.24")
        );
        assert!(check_support(Toolchain::Go, &v, Target::Wasip2, Mode::Command).is_ok());
        assert!(
            check_support(Toolchain::Go, &v123, Target::Wasip2, Mode::Command)
                .unwrap_err()
                .to_string()
                .contains("cannot build wasip2 components")
        );
    }

    #[test]
    fn go_build_command_line() {
        let line = go_build(
            "go",
            &settings(Mode::Reactor),
            "./lib",
            &PathBuf::from("/tmp/x.wasm"),
            None,
        );
        assert_eq!(
            line.args,
            [
                "build",
                "-trimpath",
                "-buildvcs=false",
                "-buildmode=c-shared",
                "-tags=netgo,prod",
                "-ldflags=-s -w",
                "-o",
                "/tmp/x.wasm",
                "./lib"
            ]
        );
        assert!(line.env.contains(&("GOOS".into(), "wasip1".into())));
        assert!(line.env.contains(&("CGO_ENABLED".into(), "0".into())));
        let component = go_build(
            "go",
            &Settings::default(),
            ".",
            &PathBuf::from("/c/x.wasm"),
            Some(Path::new("/c/wasipack-overlay.json")),
        );
        assert_eq!(
            component.args,
            [
                "build",
                "-trimpath",
                "-buildvcs=false",
                "-buildmode=c-shared",
                "-overlay=/c/wasipack-overlay.json",
                "-o",
                "/c/x.wasm",
                "."
            ]
        );
    }

    #[test]
    fn tinygo_build_command_lines() {
        let mut s = settings(Mode::Command);
        s.ldflags = None;
        s.tinygo = Some(TinygoOptions {
            opt: Some("z".into()),
            gc: Some("leaking".into()),
            scheduler: Some("none".into()),
            no_debug: Some(true),
        });
        let line = tinygo_build("tinygo", &s, Target::Wasip2, ".", &PathBuf::from("o.wasm"));
        assert_eq!(
            line.args,
            [
                "build",
                "-target=wasip2",
                "-opt=z",
                "-gc=leaking",
                "-scheduler=none",
                "-no-debug",
                "-tags=netgo,prod",
                "-o",
                "o.wasm",
                "."
            ]
        );
        let plain = tinygo_build(
            "tinygo",
            &Settings::default(),
            Target::Wasip1,
            ".",
            &PathBuf::from("o.wasm"),
        );
        assert_eq!(plain.args, ["build", "-target=wasip1", "-o", "o.wasm", "."]);
        let reactor = tinygo_build(
            "tinygo",
            &settings(Mode::Reactor),
            Target::Wasip1,
            ".",
            &PathBuf::from("o.wasm"),
        );
        assert!(reactor.args.contains(&"-buildmode=c-shared".to_string()));
        let mut with_world = settings(Mode::Reactor);
        with_world.wit = Some("wit".into());
        with_world.world = Some("calc".into());
        let line = tinygo_build(
            "tinygo",
            &with_world,
            Target::Wasip2,
            ".",
            &PathBuf::from("o.wasm"),
        );
        assert!(
            line.args
                .windows(2)
                .any(|w| w == ["-wit-package=wit", "-wit-world=calc"]),
            "{:?}",
            line.args
        );
    }

    #[test]
    fn build_info_serves_only_when_every_module_it_names_is_hashed() {
        let info = |deps: &str| {
            crate::wasm::modinfo::parse(&format!(
                "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n{deps}build\tGOOS=wasip1\n"
            ))
        };
        let complete = info(
            "dep\tgolang.org/x/text\tv0.37.0\t\n=>\tgolang.org/x/text\tv0.38.0\th1:new=\n\
             dep\tgithub.com/google/uuid\tv1.6.0\th1:abc=\n",
        );
        let listed = modules_from_build_info(&complete).unwrap();
        let main = listed.main.unwrap();
        assert_eq!(
            (main.path.as_str(), main.version.as_str()),
            ("example.com/app", "(devel)")
        );
        let paths: Vec<_> = listed.deps.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(
            paths,
            ["github.com/google/uuid", "golang.org/x/text"],
            "sorted by path"
        );
        assert_eq!(
            listed.deps[1].compiled_sum(),
            Some("h1:new="),
            "the replacement's hash"
        );
        assert!(modules_from_build_info(&info("")).unwrap().deps.is_empty());
        for incomplete in [
            // Vendored: no hashes.
            "dep\tgithub.com/google/uuid\tv1.6.0\n",
            // A directory replacement.
            "dep\texample.com/greet\tv0.0.0\n=>\t./greet\t(devel)\t\n",
            // Another module of a workspace.
            "dep\texample.com/other\t(devel)\t\n",
        ] {
            assert!(
                modules_from_build_info(&info(incomplete)).is_none(),
                "{incomplete}"
            );
        }
        let stamped = crate::wasm::modinfo::parse("path\tx\nmod\tx\tv1.2.3\t\n");
        assert!(
            modules_from_build_info(&stamped).is_none(),
            "a stamped main version"
        );
        assert!(modules_from_build_info(&crate::wasm::modinfo::parse("path\tx\n")).is_none());
    }

    #[test]
    fn go_list_stream_gives_main_and_deps_with_sums() {
        let stream = br#"{"ImportPath":"fmt","Standard":true}
{"ImportPath":"github.com/google/uuid","Module":{"Path":"github.com/google/uuid","Version":"v1.6.0"}}
{"ImportPath":"golang.org/x/text","Module":{"Path":"golang.org/x/text","Version":"v0.14.0","Sum":"h1:listed="}}
{"ImportPath":"example.com/x/sub","Module":{"Path":"example.com/x","Version":"v1.0.0","Replace":{"Path":"example.com/fork","Version":"v1.0.1"}}}
{"ImportPath":"example.com/app","Module":{"Path":"example.com/app","Main":true,"GoMod":"/src/app/go.mod"}}"#;
        let sums = parse_go_sum(
            "github.com/google/uuid v1.6.0 h1:abc=\ngithub.com/google/uuid v1.6.0/go.mod h1:zzz=\nexample.com/fork v1.0.1 h1:fff=\n",
        );
        let mut listed = modules_from_go_list(stream).unwrap();
        assert_eq!(listed.go_mod.as_deref(), Some(Path::new("/src/app/go.mod")));
        listed.fill_sums(&sums);
        let (main, deps) = (listed.main, listed.deps);
        assert_eq!(main.unwrap().version, "(devel)");
        assert_eq!(deps.len(), 3);
        assert_eq!(deps[1].sum.as_deref(), Some("h1:abc="), "from go.sum");
        assert_eq!(deps[2].sum.as_deref(), Some("h1:listed="), "from go list");
        assert_eq!(
            deps[0].replace.as_ref().unwrap().sum.as_deref(),
            Some("h1:fff=")
        );
        assert!(modules_from_go_list(b"{not json").is_err());
    }
}
