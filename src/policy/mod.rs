//! Policies: what a module may import, export, use and contain. Shipped policies live in
//! `policies/` and are embedded in the binary; users write their own in the same TOML format
//! and may build on a shipped one with `extends`.

mod file;

use crate::wasm::features::{self, FeatureSet};
use crate::wasm::inspect::Abi;
use crate::wasm::wasi::Capability;
use file::{ImportPattern, Leaf, RawPolicy};
use globset::{Glob, GlobMatcher};
use serde::{Serialize, Serializer};
use std::fmt;
use std::path::{Path, PathBuf};

/// The policies that ship with wasipack: (name, TOML source).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "wasip1-default",
        include_str!("../../policies/wasip1-default.toml"),
    ),
    (
        "wasip1-sandboxed",
        include_str!("../../policies/wasip1-sandboxed.toml"),
    ),
    (
        "wasip1-reactor",
        include_str!("../../policies/wasip1-reactor.toml"),
    ),
    (
        "proxy-wasm-0.2",
        include_str!("../../policies/proxy-wasm-0.2.toml"),
    ),
    (
        "wasip2-component",
        include_str!("../../policies/wasip2-component.toml"),
    ),
    ("permissive", include_str!("../../policies/permissive.toml")),
];

/// The policy used when none is named.
pub const DEFAULT: &str = "wasip1-default";

/// A policy file that cannot be used: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: String,
    /// 1-based; 0 when the problem is not at a line (a missing file).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for PolicyError {}

/// Where a rule was set: the policy file and line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    /// Set by a policy shipped inside wasipack (its `file` is not in the user's tree).
    pub shipped: bool,
}

/// A rule's value and the line that set it (none for built-in defaults).
#[derive(Debug, Clone)]
pub struct Rule<T> {
    pub value: T,
    pub origin: Option<Origin>,
}

impl<T: Serialize> Serialize for Rule<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

/// A glob pattern that does not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid glob `{pattern}`: {reason}")]
pub struct BadGlob {
    pub pattern: String,
    pub reason: String,
}

/// Glob patterns (`*`, `?`, `[...]`), compiled once.
#[derive(Debug, Clone, Default)]
pub struct Globs {
    patterns: Vec<(String, GlobMatcher)>,
}

impl Globs {
    pub fn new(patterns: &[String]) -> Result<Globs, BadGlob> {
        let mut compiled = Vec::new();
        for p in patterns {
            let glob = Glob::new(p).map_err(|e| BadGlob {
                pattern: p.clone(),
                reason: e.kind().to_string(),
            })?;
            compiled.push((p.clone(), glob.compile_matcher()));
        }
        Ok(Globs { patterns: compiled })
    }

    /// The first pattern that matches `text`.
    pub fn matching(&self, text: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|(_, m)| m.is_match(text))
            .map(|(p, _)| p.as_str())
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.matching(text).is_some()
    }

    /// Each pattern with its compiled matcher.
    pub fn each(&self) -> impl Iterator<Item = (&str, &GlobMatcher)> {
        self.patterns.iter().map(|(p, m)| (p.as_str(), m))
    }

    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.patterns.iter().map(|(p, _)| p.as_str())
    }
}

impl Serialize for Globs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.patterns())
    }
}

/// An import pattern: module glob and name glob.
#[derive(Debug, Clone)]
pub struct ImportGlob {
    pub module: Globs,
    pub name: Globs,
    pub text: String,
}

impl ImportGlob {
    pub fn matches(&self, module: &str, name: &str) -> bool {
        self.module.is_match(module) && self.name.is_match(name)
    }
}

impl Serialize for ImportGlob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// A resolved policy: every rule with its value and origin.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub name: String,
    pub description: Option<String>,
    /// This policy and the ones it extends, outermost first.
    pub chain: Vec<String>,
    pub abi_allow: Rule<Globs>,
    pub import_modules: Rule<Globs>,
    pub import_allow: Rule<Vec<ImportGlob>>,
    pub import_deny: Rule<Vec<ImportGlob>>,
    /// Allowed capability groups; `None` allows every group.
    pub capabilities: Rule<Option<Vec<Capability>>>,
    pub deny_capabilities: Rule<Vec<Capability>>,
    pub check_signatures: Rule<bool>,
    pub allow_wasi_unstable: Rule<bool>,
    pub allow_unknown_wasi: Rule<bool>,
    pub exports_require: Rule<Vec<String>>,
    pub exports_forbid: Rule<Globs>,
    pub max_initial_pages: Rule<Option<u64>>,
    pub max_maximum_pages: Rule<Option<u64>>,
    pub allow_shared: Rule<bool>,
    pub allow_memory64: Rule<bool>,
    pub max_memories: Rule<Option<u64>>,
    #[serde(serialize_with = "feature_names")]
    pub features: Rule<FeatureSet>,
    pub sections_require: Rule<Globs>,
    pub sections_forbid: Rule<Globs>,
    pub max_module_size: Rule<Option<u64>>,
    pub allow_start: Rule<bool>,
}

fn feature_names<S: Serializer>(rule: &Rule<FeatureSet>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(rule.value.names())
}

impl Policy {
    /// Whether `[imports] allow` names this import (which skips the module and capability rules).
    pub fn explicitly_allows(&self, module: &str, name: &str) -> bool {
        self.import_allow
            .value
            .iter()
            .any(|g| g.matches(module, name))
    }

    /// Whether the policy can accept a component (some allowed ABI is a component ABI).
    pub fn accepts_components(&self) -> bool {
        self.accepts_any(&Abi::COMPONENT)
    }

    /// Whether the policy can accept a core module.
    pub fn accepts_core_modules(&self) -> bool {
        self.accepts_any(&Abi::CORE)
    }

    fn accepts_any(&self, abis: &[Abi]) -> bool {
        abis.iter().any(|a| self.abi_allow.value.is_match(&a.id()))
    }

    /// Loads a shipped policy by name, or a policy file by path.
    pub fn load(spec: &str) -> Result<Policy, PolicyError> {
        let doc = Doc::locate(spec, None)?;
        resolve(doc)
    }

    /// Parses policy text as if it were the file `file`.
    pub fn from_str(file: &str, text: &str) -> Result<Policy, PolicyError> {
        resolve(Doc::parse(file.to_string(), None, text.to_string())?)
    }
}

/// The TOML source of a shipped policy.
pub fn shipped_source(name: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, s)| *s)
}

/// One policy document in an `extends` chain.
struct Doc {
    /// Shown in errors and origins: `policies/NAME.toml` for shipped ones, else the path.
    file: String,
    /// The shipped policy's name, for a shipped policy.
    shipped: Option<String>,
    dir: Option<PathBuf>,
    text: String,
    raw: RawPolicy,
}

impl Doc {
    fn locate(spec: &str, relative_to: Option<&Path>) -> Result<Doc, PolicyError> {
        let looks_like_path = spec.contains('/') || spec.contains('\\') || spec.ends_with(".toml");
        if !looks_like_path {
            if let Some(text) = shipped_source(spec) {
                let mut doc = Doc::parse(format!("policies/{spec}.toml"), None, text.to_string())?;
                doc.shipped = Some(spec.to_string());
                return Ok(doc);
            }
        }
        let path = match relative_to {
            Some(dir) if Path::new(spec).is_relative() => dir.join(spec),
            _ => PathBuf::from(spec),
        };
        match crate::fsio::read_text_bounded(&path, crate::fsio::TEXT_LIMIT) {
            Ok(text) => {
                let dir = path.parent().map(Path::to_path_buf);
                Doc::parse(path.display().to_string(), dir, text)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !looks_like_path => {
                Err(PolicyError {
                    file: spec.to_string(),
                    line: 0,
                    column: 0,
                    message: format!(
                        "no shipped policy of that name and no such file (shipped: {})",
                        SHIPPED
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
            Err(e) => Err(PolicyError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read policy: {}", crate::text::io_message(&e)),
            }),
        }
    }

    fn parse(file: String, dir: Option<PathBuf>, text: String) -> Result<Doc, PolicyError> {
        match toml::from_str::<RawPolicy>(&text) {
            Ok(raw) => Ok(Doc {
                file,
                shipped: None,
                dir,
                text,
                raw,
            }),
            Err(e) => {
                let (line, column) = e.span().map(|s| line_col(&text, s.start)).unwrap_or((1, 1));
                Err(PolicyError {
                    file,
                    line,
                    column,
                    message: e.message().trim().replace('\n', " "),
                })
            }
        }
    }

    fn error(&self, span: std::ops::Range<usize>, message: String) -> PolicyError {
        let (line, column) = line_col(&self.text, span.start);
        PolicyError {
            file: self.file.clone(),
            line,
            column,
            message,
        }
    }

    fn origin(&self, span: std::ops::Range<usize>) -> Origin {
        Origin {
            file: self.file.clone(),
            line: line_col(&self.text, span.start).0,
            shipped: self.shipped.is_some(),
        }
    }
}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// Follows `extends` and resolves every rule, child first.
fn resolve(first: Doc) -> Result<Policy, PolicyError> {
    let mut docs = vec![first];
    loop {
        let last = docs.last().expect("chain starts non-empty");
        let Some(extends) = &last.raw.extends else {
            break;
        };
        let (name, span) = (extends.get_ref().clone(), extends.span());
        if docs.len() >= 16 {
            return Err(last.error(span, "`extends` chain is longer than 16 policies".into()));
        }
        let parent = Doc::locate(&name, last.dir.as_deref())
            .map_err(|e| last.error(span.clone(), format!("cannot extend `{name}`: {e}")))?;
        if docs
            .iter()
            .any(|d| d.file == parent.file && d.shipped == parent.shipped)
        {
            return Err(last.error(span, format!("`extends` cycle through `{}`", parent.file)));
        }
        docs.push(parent);
    }
    let r = Resolver { docs: &docs };
    let name = docs[0]
        .shipped
        .clone()
        .unwrap_or_else(|| docs[0].file.clone());
    Ok(Policy {
        name,
        description: docs.iter().find_map(|d| d.raw.description.clone()),
        chain: docs.iter().map(|d| d.file.clone()).collect(),
        abi_allow: r.globs(|p| &p.abi.allow, &["*"])?,
        import_modules: r.globs(|p| &p.imports.modules, &["*"])?,
        import_allow: r.import_globs(|p| &p.imports.allow)?,
        import_deny: r.import_globs(|p| &p.imports.deny)?,
        capabilities: r.convert(
            |p| &p.imports.capabilities,
            None,
            |doc, span, names| capabilities(doc, span, names).map(Some),
        )?,
        deny_capabilities: r.convert(|p| &p.imports.deny_capabilities, Vec::new(), capabilities)?,
        check_signatures: r.plain(|p| &p.imports.check_signatures, true),
        allow_wasi_unstable: r.plain(|p| &p.imports.allow_wasi_unstable, false),
        allow_unknown_wasi: r.plain(|p| &p.imports.allow_unknown_wasi, false),
        exports_require: r.plain(|p| &p.exports.require, Vec::new()),
        exports_forbid: r.globs(|p| &p.exports.forbid, &[])?,
        max_initial_pages: r.optional(|p| &p.memory.max_initial_pages),
        max_maximum_pages: r.optional(|p| &p.memory.max_maximum_pages),
        allow_shared: r.plain(|p| &p.memory.allow_shared, false),
        allow_memory64: r.plain(|p| &p.memory.allow_memory64, false),
        max_memories: r.optional(|p| &p.memory.max_memories),
        features: r.convert(|p| &p.features.allow, features::go_default(), feature_set)?,
        sections_require: r.globs(|p| &p.sections.require, &[])?,
        sections_forbid: r.globs(|p| &p.sections.forbid, &[])?,
        max_module_size: r.convert(
            |p| &p.sections.max_module_size,
            None,
            |_, _, s| Ok(Some(s.0)),
        )?,
        allow_start: r.plain(|p| &p.start.allow, true),
    })
}

struct Resolver<'a> {
    docs: &'a [Doc],
}

impl Resolver<'_> {
    /// The first document (child first) that sets the leaf.
    fn find<T>(&self, get: impl Fn(&RawPolicy) -> &Leaf<T>) -> Option<(&Doc, &toml::Spanned<T>)> {
        self.docs
            .iter()
            .find_map(|d| get(&d.raw).as_ref().map(|v| (d, v)))
    }

    fn convert<T, U>(
        &self,
        get: impl Fn(&RawPolicy) -> &Leaf<T>,
        default: U,
        f: impl Fn(&Doc, std::ops::Range<usize>, &T) -> Result<U, PolicyError>,
    ) -> Result<Rule<U>, PolicyError> {
        Ok(match self.find(get) {
            Some((doc, v)) => Rule {
                value: f(doc, v.span(), v.get_ref())?,
                origin: Some(doc.origin(v.span())),
            },
            None => Rule {
                value: default,
                origin: None,
            },
        })
    }

    fn plain<T: Clone>(&self, get: impl Fn(&RawPolicy) -> &Leaf<T>, default: T) -> Rule<T> {
        self.convert(get, default, |_, _, v| Ok(v.clone()))
            .expect("plain conversion cannot fail")
    }

    fn optional<T: Clone>(&self, get: impl Fn(&RawPolicy) -> &Leaf<T>) -> Rule<Option<T>> {
        self.convert(get, None, |_, _, v| Ok(Some(v.clone())))
            .expect("plain conversion cannot fail")
    }

    fn globs(
        &self,
        get: impl Fn(&RawPolicy) -> &Leaf<Vec<String>>,
        default: &[&str],
    ) -> Result<Rule<Globs>, PolicyError> {
        let default = Globs::new(&default.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .expect("built-in globs are valid");
        self.convert(get, default, |doc, span, patterns| {
            Globs::new(patterns).map_err(|m| doc.error(span, m.to_string()))
        })
    }

    fn import_globs(
        &self,
        get: impl Fn(&RawPolicy) -> &Leaf<Vec<ImportPattern>>,
    ) -> Result<Rule<Vec<ImportGlob>>, PolicyError> {
        self.convert(get, Vec::new(), |doc, span, patterns| {
            patterns
                .iter()
                .map(|p| {
                    Ok(ImportGlob {
                        module: Globs::new(std::slice::from_ref(&p.module))
                            .map_err(|m| doc.error(span.clone(), m.to_string()))?,
                        name: Globs::new(std::slice::from_ref(&p.name))
                            .map_err(|m| doc.error(span.clone(), m.to_string()))?,
                        text: format!("{}::{}", p.module, p.name),
                    })
                })
                .collect()
        })
    }
}

#[allow(clippy::ptr_arg)] // must match the `&T` of `Resolver::convert`
fn capabilities(
    doc: &Doc,
    span: std::ops::Range<usize>,
    names: &Vec<String>,
) -> Result<Vec<Capability>, PolicyError> {
    names
        .iter()
        .map(|n| {
            Capability::from_name(n).ok_or_else(|| {
                let known: Vec<&str> = Capability::ALL.iter().map(|c| c.name()).collect();
                doc.error(
                    span.clone(),
                    format!("unknown capability `{n}` (known: {})", known.join(", ")),
                )
            })
        })
        .collect()
}

fn feature_set(
    doc: &Doc,
    span: std::ops::Range<usize>,
    names: &Vec<String>,
) -> Result<FeatureSet, PolicyError> {
    let mut set = FeatureSet::empty();
    for n in names {
        if n == "*" {
            set = set.union(FeatureSet::all());
            continue;
        }
        let id = features::by_name(n).ok_or_else(|| {
            let known: Vec<&str> = features::FEATURES.iter().map(|f| f.name).collect();
            doc.error(
                span.clone(),
                format!("unknown feature `{n}` (known: {})", known.join(", ")),
            )
        })?;
        set.insert(id);
    }
    Ok(set)
}

#[cfg(test)]
mod tests;
