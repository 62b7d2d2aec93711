//! The plan: one module's settings resolved (module over `[build]` over the flags' defaults)
//! into what to compile, with which toolchain, checked against which policy, stripped how and
//! tagged what. Nothing runs here.

use super::config::{Mode, Settings, Target, Toolchain};
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::rewrite::StripRules;
use std::path::Path;

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
    /// The user's WIT directory (absolute) and world, for a wasip2 reactor.
    pub wit: Option<(std::path::PathBuf, String)>,
    /// With several targets (`wasip1,wasip2`): the tag of the image index that lists this
    /// plan's artifact under its platform. The artifact itself is then untagged.
    pub index: Option<String>,
}

impl Plan {
    /// Go for wasip2: a reactor turned into a component by wasipack ([`super::component`]).
    pub fn go_component(&self) -> bool {
        self.toolchain == Toolchain::Go && self.target == Target::Wasip2
    }

    /// Resolves a module's settings into one plan per target: with one target, [`Plan::resolve`];
    /// with several, `NAME-wasip1` and `NAME-wasip2`, listed by one image index tagged with the
    /// module's tag.
    pub fn resolve_all(settings: Settings, dir: &Path) -> Result<Vec<Plan>> {
        let targets = settings.targets()?;
        if targets.len() < 2 {
            return Ok(vec![Plan::resolve(settings, dir)?]);
        }
        let package = settings.package.clone().unwrap_or_else(|| ".".into());
        let name = match &settings.name {
            Some(n) => n.clone(),
            None => default_name(&package, dir)?,
        };
        let tag = settings.tag.clone().unwrap_or_else(|| name.clone());
        targets
            .into_iter()
            .map(|t| {
                let mut plan = Plan::resolve(
                    Settings {
                        name: Some(format!("{name}-{}", t.name())),
                        target: Some(t.name().into()),
                        tag: Some(tag.clone()),
                        ..settings.clone()
                    },
                    dir,
                )?;
                plan.index = Some(tag.clone());
                Ok(plan)
            })
            .collect()
    }

    /// Resolves a module's settings (module over `[build]` over flags' defaults).
    pub fn resolve(settings: Settings, dir: &Path) -> Result<Plan> {
        let package = settings.package.clone().unwrap_or_else(|| ".".into());
        let target = settings.target()?;
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
        let wit = match (&settings.wit, &settings.world) {
            (None, None) => None,
            (Some(w), Some(world)) => Some((dir.join(w), world.clone())),
            _ => {
                return Err(Error::Usage(format!(
                    "module `{name}`: `wit` and `world` (--wit DIR --world NAME) go together"
                )))
            }
        };
        if wit.is_some() && target != Target::Wasip2 {
            return Err(Error::Usage(format!(
                "module `{name}`: a WIT world (--wit, --world) is for --target wasip2"
            )));
        }
        if toolchain == Toolchain::Go && target == Target::Wasip2 {
            match (mode, &wit) {
                (Mode::Reactor, None) => {
                    return Err(Error::Usage(format!(
                        "module `{name}`: a Go reactor for wasip2 exports a WIT world: give --wit DIR --world NAME"
                    )))
                }
                (Mode::Command, Some(_)) => {
                    return Err(Error::Usage(format!(
                        "module `{name}`: a WIT world of your own is exported by a reactor: add --mode reactor (a command exports wasi:cli/run)"
                    )))
                }
                _ => {}
            }
        }
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
            wit,
            index: None,
        })
    }
}

/// The name `go build` gives the package's output: the last element of its import path, or
/// the one before it when that is a major-version suffix (`example.com/tool/v2` → `tool`).
/// A local package's import path is its module's path (from the nearest `go.mod`) joined with
/// its directory under the module root, so the name does not depend on where the checkout
/// sits. Outside any module, the directory's name.
fn default_name(package: &str, dir: &Path) -> Result<String> {
    let local = package == "." || package.starts_with("./") || package.starts_with("../");
    if local && !dir.join(package).is_dir() {
        return Err(Error::Usage(format!(
            "package `{package}`: no such directory in {}",
            dir.display()
        )));
    }
    let import_path = if local {
        let pkg = dir.join(package).canonicalize().unwrap_or_default();
        match local_import_path(&pkg) {
            Some(path) => path,
            None => pkg
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
        }
    } else {
        package.trim_end_matches('/').to_string()
    };
    let last = exec_name(&import_path);
    if last.is_empty() || last == "." || last == ".." || last.contains("...") {
        return Err(Error::Usage(format!(
            "cannot name the output of package `{package}`: set `name` in wasipack.toml or --name"
        )));
    }
    Ok(last.to_string())
}

/// `go build`'s output name for an import path (cmd/go's `DefaultExecName`, module mode).
pub(super) fn exec_name(import_path: &str) -> &str {
    let mut elements = import_path.rsplit('/');
    let last = elements.next().unwrap_or_default();
    match elements.next() {
        Some(before) if is_major_version(last) => before,
        _ => last,
    }
}

/// `v2`, `v3`, ... (not `v0`, `v1` or `v01`): a module path's major-version suffix.
fn is_major_version(element: &str) -> bool {
    let Some(digits) = element.strip_prefix('v') else {
        return false;
    };
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
        && digits != "1"
}

/// The import path of the package in `pkg_dir` (canonical): the nearest `go.mod`'s module
/// path and the directory under it. `None` outside a module or when `go.mod` names none.
fn local_import_path(pkg_dir: &Path) -> Option<String> {
    let root = pkg_dir.ancestors().find(|d| d.join("go.mod").is_file())?;
    let module = module_path(&std::fs::read_to_string(root.join("go.mod")).ok()?)?;
    let rel = pkg_dir.strip_prefix(root).ok()?;
    let mut path = module;
    for part in rel.components() {
        path.push('/');
        path.push_str(&part.as_os_str().to_string_lossy());
    }
    Some(path)
}

/// The `module` directive of a go.mod file (`module example.com/x`, quoted or not, with a
/// trailing comment or not). Hand-written: this one directive is all wasipack reads there.
pub(super) fn module_path(go_mod: &str) -> Option<String> {
    let mut in_block = false;
    for line in go_mod.lines() {
        let line = line.split("//").next().unwrap_or_default().trim();
        let rest = if in_block {
            if line == ")" {
                in_block = false;
                continue;
            }
            line
        } else if let Some(rest) = line.strip_prefix("module") {
            let rest = rest.trim();
            if rest == "(" {
                in_block = true;
                continue;
            }
            if !line["module".len()..].starts_with([' ', '\t']) {
                continue;
            }
            rest
        } else {
            continue;
        };
        let path = rest.trim_matches(|c| c == '"' || c == '`').trim();
        if !path.is_empty() {
            return Some(path.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn the_output_is_named_as_go_build_names_it() {
        assert_eq!(exec_name("example.test/hello"), "hello");
        assert_eq!(exec_name("example.test/hello/v2"), "hello");
        assert_eq!(exec_name("example.test/hello/v1"), "v1");
        assert_eq!(exec_name("example.test/hello/v0"), "v0");
        assert_eq!(exec_name("example.test/hello/v02"), "v02");
        assert_eq!(exec_name("example.test/hello/cmd/v3"), "cmd");
        assert_eq!(exec_name("v2"), "v2");
        assert_eq!(exec_name("gopkg.in/yaml.v3"), "yaml.v3");
    }

    #[test]
    fn go_mod_module_directives_are_read_in_every_spelling() {
        assert_eq!(
            module_path("// c\nmodule example.test/a // trailing\n\ngo 1.21\n").as_deref(),
            Some("example.test/a")
        );
        assert_eq!(
            module_path("module \"example.test/b\"\n").as_deref(),
            Some("example.test/b")
        );
        assert_eq!(
            module_path("module (\n\texample.test/c\n)\n").as_deref(),
            Some("example.test/c")
        );
        assert_eq!(module_path("modulex foo\ngo 1.21\n"), None);
    }

    #[test]
    fn a_local_package_is_named_after_its_import_path_not_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("checkout-anywhere");
        std::fs::create_dir_all(root.join("cmd/server")).unwrap();
        std::fs::write(
            root.join("go.mod"),
            "module example.test/tool/v2\n\ngo 1.21\n",
        )
        .unwrap();
        let name = |package: &str, dir: &Path| {
            Plan::resolve(
                Settings {
                    package: Some(package.into()),
                    ..Default::default()
                },
                dir,
            )
            .unwrap()
            .name
        };
        assert_eq!(name(".", &root), "tool");
        assert_eq!(name("./cmd/server", &root), "server");
        assert_eq!(name("../server", &root.join("cmd/server")), "server");
        let bare = dir.path().join("no-module");
        std::fs::create_dir_all(&bare).unwrap();
        if !dir.path().ancestors().any(|d| d.join("go.mod").is_file()) {
            assert_eq!(name(".", &bare), "no-module");
        }
    }
}
