//! Build configuration: `wasipack.toml` at the project root, overridden by flags. Unknown
//! keys are errors with file and line, as in policy files.

use super::BuildError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Toolchain {
    Go,
    Tinygo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    Wasip1,
    Wasip2,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Wasip1 => "wasip1",
            Target::Wasip2 => "wasip2",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// A program with `_start` (go build's default).
    Command,
    /// A library with `_initialize` and `//go:wasmexport` functions (`-buildmode=c-shared`).
    Reactor,
}

/// TinyGo's own knobs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TinygoOptions {
    /// `-opt`: none, 0, 1, 2, s, z.
    pub opt: Option<String>,
    /// `-gc`: leaking, conservative, precise, none.
    pub gc: Option<String>,
    /// `-scheduler`: none, tasks, asyncify.
    pub scheduler: Option<String>,
    /// `-no-debug`.
    pub no_debug: Option<bool>,
}

/// Which custom sections to strip (see `wasipack strip`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StripOptions {
    pub keep: Option<Vec<String>>,
    pub delete: Option<Vec<String>>,
    pub all: Option<bool>,
    pub stamp: Option<bool>,
}

/// Settings one module can have; `[build]` gives defaults, `[[module]]` entries override.
/// (One struct for both: serde's `flatten` would silently disable `deny_unknown_fields`.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Output name: `dist/NAME.wasm`. Defaults to the package's last path element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The Go package, e.g. `.` or `./cmd/server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<Toolchain>,
    /// `wasip1`, `wasip2`, or both (`["wasip1", "wasip2"]` in the file, `wasip1,wasip2` on
    /// the command line): one image index with an entry per target.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "one_or_more_targets"
    )]
    pub target: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ldflags: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strip: Option<StripOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tinygo: Option<TinygoOptions>,
    /// A directory of WIT files (relative to the project) with the world a wasip2 reactor
    /// exports; with `world`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wit: Option<String>,
    /// The world in `wit` the component exports (`calc`, or `example:calc/calc@1.0.0`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub world: Option<String>,
}

impl Settings {
    /// `self` where set, else `base`.
    pub fn over(&self, base: &Settings) -> Settings {
        Settings {
            name: self.name.clone().or_else(|| base.name.clone()),
            package: self.package.clone().or_else(|| base.package.clone()),
            toolchain: self.toolchain.or(base.toolchain),
            target: self.target.clone().or_else(|| base.target.clone()),
            mode: self.mode.or(base.mode),
            tags: self.tags.clone().or_else(|| base.tags.clone()),
            ldflags: self.ldflags.clone().or_else(|| base.ldflags.clone()),
            policy: self.policy.clone().or_else(|| base.policy.clone()),
            repository: self.repository.clone().or_else(|| base.repository.clone()),
            tag: self.tag.clone().or_else(|| base.tag.clone()),
            annotations: match (&self.annotations, &base.annotations) {
                (Some(a), Some(b)) => {
                    let mut merged = b.clone();
                    merged.extend(a.clone());
                    Some(merged)
                }
                (a, b) => a.clone().or_else(|| b.clone()),
            },
            strip: self.strip.clone().or_else(|| base.strip.clone()),
            tinygo: self.tinygo.clone().or_else(|| base.tinygo.clone()),
            wit: self.wit.clone().or_else(|| base.wit.clone()),
            world: self.world.clone().or_else(|| base.world.clone()),
        }
    }

    /// The target, refusing `js` with the reason.
    pub fn target(&self) -> Result<Target, BuildError> {
        parse_target(self.target.as_deref().unwrap_or("wasip1"))
    }

    /// Every target asked for, in the order given (`wasip1,wasip2`), each once.
    pub fn targets(&self) -> Result<Vec<Target>, BuildError> {
        let mut targets = Vec::new();
        for t in self.target.as_deref().unwrap_or("wasip1").split(',') {
            let t = parse_target(t.trim())?;
            if !targets.contains(&t) {
                targets.push(t);
            }
        }
        Ok(targets)
    }
}

/// `target` as a string or a list of strings, kept as one comma-separated string.
fn one_or_more_targets<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMore {
        One(String),
        More(Vec<String>),
    }
    Ok(Some(match OneOrMore::deserialize(d)? {
        OneOrMore::One(t) => t,
        OneOrMore::More(ts) if ts.is_empty() => {
            return Err(serde::de::Error::custom("`target` lists no target"))
        }
        OneOrMore::More(ts) => ts.join(","),
    }))
}

fn parse_target(name: &str) -> Result<Target, BuildError> {
    match name {
        "wasip1" | "wasi" => Ok(Target::Wasip1),
        "wasip2" => Ok(Target::Wasip2),
        "js" => Err(BuildError::JsTarget),
        other => Err(BuildError::UnknownTarget(other.to_string())),
    }
}

/// The whole `wasipack.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// Output directory (default `dist`).
    pub output: Option<String>,
    #[serde(default)]
    pub build: Settings,
    #[serde(default)]
    pub module: Vec<Settings>,
}

/// Reads `wasipack.toml` from `dir`, if there is one.
pub fn load(dir: &Path) -> Result<Option<Config>, crate::policy::PolicyError> {
    let path = dir.join("wasipack.toml");
    let text = match crate::fsio::read_text_bounded(&path, crate::fsio::TEXT_LIMIT) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(crate::policy::PolicyError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read: {}", crate::text::io_message(&e)),
            })
        }
    };
    parse(&path.display().to_string(), &text).map(Some)
}

pub fn parse(file: &str, text: &str) -> Result<Config, crate::policy::PolicyError> {
    toml::from_str::<Config>(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|s| crate::policy::line_col(text, s.start))
            .unwrap_or((1, 1));
        crate::policy::PolicyError {
            file: file.to_string(),
            line,
            column,
            message: e.message().trim().replace('\n', " "),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_override_build_defaults() {
        let c = parse(
            "wasipack.toml",
            "output = \"out\"\n[build]\nmode = \"command\"\ntags = [\"a\"]\nannotations = { x = \"1\" }\n\n\
             [[module]]\npackage = \"./lib\"\nmode = \"reactor\"\nannotations = { y = \"2\" }\n",
        )
        .unwrap();
        let s = c.module[0].over(&c.build);
        assert_eq!(s.mode, Some(Mode::Reactor));
        assert_eq!(s.tags, Some(vec!["a".to_string()]));
        assert_eq!(s.annotations.unwrap().len(), 2);
    }

    #[test]
    fn unknown_keys_name_file_and_line() {
        let e = parse(
            "wasipack.toml",
            "[build]\nmode = \"command\"\nldflag = \"-s\"\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert!(e.message.contains("unknown field `ldflag`"), "{e}");
        let e = parse(
            "wasipack.toml",
            "[[module]]\npackage = \".\"\ntinygo = { opt = \"z\", gcc = \"x\" }\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn js_target_is_refused_with_the_reason() {
        let s = Settings {
            target: Some("js".into()),
            ..Default::default()
        };
        assert!(s
            .target()
            .unwrap_err()
            .to_string()
            .contains("GOOS=js builds are for browsers"));
    }

    #[test]
    fn target_is_one_name_or_a_list_of_names() {
        let c = parse(
            "wasipack.toml",
            "[build]\ntarget = [\"wasip1\", \"wasip2\"]\n[[module]]\ntarget = \"wasip2\"\n",
        )
        .unwrap();
        assert_eq!(c.build.targets().unwrap(), [Target::Wasip1, Target::Wasip2]);
        assert_eq!(c.module[0].targets().unwrap(), [Target::Wasip2]);
        let e = parse("wasipack.toml", "[build]\ntarget = []\n").unwrap_err();
        assert!(e.message.contains("lists no target"), "{e}");
        let s = Settings {
            target: Some("wasip1,js".into()),
            ..Default::default()
        };
        assert!(s.targets().is_err());
    }
}
