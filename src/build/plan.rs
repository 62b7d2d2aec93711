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
}

impl Plan {
    /// Go for wasip2: a reactor turned into a component by wasipack ([`super::component`]).
    pub fn go_component(&self) -> bool {
        self.toolchain == Toolchain::Go && self.target == Target::Wasip2
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
        if toolchain == Toolchain::Go && target == Target::Wasip2 && mode == Mode::Reactor {
            return Err(Error::Usage(format!(
                "module `{name}`: a Go reactor cannot be built for wasip2 yet; build it as a command (mode = \"command\") or with toolchain = \"tinygo\""
            )));
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
}
