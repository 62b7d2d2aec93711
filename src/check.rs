//! The check stage: full validation with the features a policy allows, then every policy rule.
//! Produces a [`CheckReport`]; rendering is the report module's job.

use crate::policy::{Origin, Policy, Rule};
use crate::wasm::features::FeatureSet;
use crate::wasm::inspect::{self, Abi, Import, Inspection, Kind};
use crate::wasm::validate;
use crate::wasm::wasi::{self, Capability};
use crate::wasm::WasmError;
use serde::Serialize;
use std::collections::HashMap;

/// One way a module breaks its policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The rule, as `section.key` of the policy file (e.g. `imports.capabilities`).
    pub rule: &'static str,
    /// What broke it: an import `module::name`, an export, a feature, a section...
    pub item: String,
    pub message: String,
    /// Byte offset in the module, where there is one.
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The policy file line that set the rule.
    pub policy_location: Option<Origin>,
}

/// The outcome of checking one module against one policy.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub policy: String,
    pub passed: bool,
    pub violations: Vec<Violation>,
    pub module: Inspection,
}

/// Why a module could not be checked at all (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckError {
    /// Not a valid module or component, whatever the features.
    Invalid(WasmError),
    /// A component handed to a policy for core modules, or the reverse.
    WrongKind(String),
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Invalid(e) => write!(f, "invalid module: {e}"),
            CheckError::WrongKind(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for CheckError {}

/// Validates `bytes` and holds the module against `policy`.
pub fn check(bytes: &[u8], policy: &Policy) -> Result<CheckReport, CheckError> {
    check_known(bytes, policy, None)
}

/// [`check`] for bytes whose SHA-256 (hex) the caller has already verified.
pub fn check_known(
    bytes: &[u8],
    policy: &Policy,
    sha256: Option<&str>,
) -> Result<CheckReport, CheckError> {
    match inspect::peek_kind(bytes) {
        Some(Kind::Component) if !policy.accepts_components() => {
            return Err(CheckError::WrongKind(format!(
                "this is a component, but policy `{}` checks core modules (try --policy wasip2-component)",
                policy.name
            )))
        }
        Some(Kind::CoreModule) if !policy.accepts_core_modules() => {
            return Err(CheckError::WrongKind(format!(
                "this is a core module, but policy `{}` checks components (try --policy wasip1-default)",
                policy.name
            )))
        }
        _ => {}
    }
    let allowed = policy.features.value;
    let (module, mut violations) = match validate_with(bytes, allowed, sha256) {
        Ok(module) => (module, Vec::new()),
        Err(restricted) => {
            // Invalid under the policy's features: valid with every feature means the policy,
            // not the module, is what it breaks.
            // The same validator as above, with every feature; then what the module uses.
            validate::parse_and_validate(bytes, FeatureSet::all().to_wasmparser())
                .map_err(CheckError::Invalid)?;
            let module = crate::wasm::inspect_module(bytes).map_err(CheckError::Invalid)?;
            let used = module.feature_set;
            (
                module,
                feature_violations(used, &policy.features, &restricted),
            )
        }
    };
    violations.extend(rules(&module, policy));
    Ok(CheckReport {
        policy: policy.name.clone(),
        passed: violations.is_empty(),
        violations,
        module,
    })
}

fn validate_with(
    bytes: &[u8],
    features: FeatureSet,
    sha256: Option<&str>,
) -> Result<Inspection, WasmError> {
    validate::parse_and_validate_known(bytes, features.to_wasmparser(), sha256)
}

fn feature_violations(
    used: FeatureSet,
    allowed: &Rule<FeatureSet>,
    error: &WasmError,
) -> Vec<Violation> {
    let names = used.minus(allowed.value).names();
    if names.is_empty() {
        return vec![violation(
            "features",
            "feature",
            &error.message,
            Some(error.offset),
            &allowed.origin,
        )];
    }
    // The validator stops at the first disallowed construct: its offset and message belong to
    // the first violation only.
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| Violation {
            rule: "features",
            item: name.to_string(),
            message: if i == 0 {
                format!(
                    "uses the `{name}` feature, which the policy does not allow (validator: {})",
                    error.message
                )
            } else {
                format!("uses the `{name}` feature, which the policy does not allow")
            },
            offset: (i == 0).then_some(error.offset),
            hint: None,
            policy_location: allowed.origin.clone(),
        })
        .collect()
}

fn violation(
    rule: &'static str,
    item: &str,
    message: &str,
    offset: Option<u64>,
    origin: &Option<Origin>,
) -> Violation {
    Violation {
        rule,
        item: item.to_string(),
        message: message.to_string(),
        offset,
        hint: None,
        policy_location: origin.clone(),
    }
}

fn with_hint(mut v: Violation, hint: Option<String>) -> Violation {
    v.hint = hint;
    v
}

/// Every policy rule but features (validation already enforced those).
pub fn rules(m: &Inspection, p: &Policy) -> Vec<Violation> {
    let mut out = Vec::new();
    abi(m, p, &mut out);
    for import in &m.imports {
        imports(import, p, &mut out);
    }
    import_modules(m, p, &mut out);
    exports(m, p, &mut out);
    memory(m, p, &mut out);
    sections(m, p, &mut out);
    if let (Some(func), false) = (m.start, p.allow_start.value) {
        let offset = m
            .sections
            .iter()
            .find(|s| s.kind == "start")
            .map(|s| s.offset);
        out.push(violation(
            "start",
            &format!("func {func}"),
            &format!("has a start section (function {func}); WASI hosts expect _start or _initialize instead"),
            offset,
            &p.allow_start.origin,
        ));
    }
    out
}

fn abi(m: &Inspection, p: &Policy, out: &mut Vec<Violation>) {
    let id = m.abi.id();
    if p.abi_allow.value.is_match(&id) {
        return;
    }
    let allowed: Vec<&str> = p.abi_allow.value.patterns().collect();
    let hint = match m.abi {
        Abi::GoJs => Some("this is a GOOS=js build for browsers and Node.js; rebuild with GOOS=wasip1 GOARCH=wasm".to_string()),
        Abi::Wasip1Reactor => Some("this is a reactor (-buildmode=c-shared); check it with --policy wasip1-reactor".to_string()),
        Abi::Wasip1Command if allowed.contains(&"wasip1-reactor") => {
            Some("this is a command; build a reactor with go build -buildmode=c-shared (Go 1.24+)".to_string())
        }
        Abi::WasiUnstable => Some("wasi_unstable is WASI preview0; rebuild for wasip1 (Go 1.21+, TinyGo -target=wasip1)".to_string()),
        _ => None,
    };
    out.push(with_hint(
        violation(
            "abi",
            &id,
            &format!(
                "ABI `{id}` ({}) is not allowed (allowed: {})",
                m.abi.describe(),
                allowed.join(", ")
            ),
            None,
            &p.abi_allow.origin,
        ),
        hint,
    ));
}

fn imports(i: &Import, p: &Policy, out: &mut Vec<Violation>) {
    let item = if i.name.is_empty() {
        i.module.clone()
    } else {
        format!("{}::{}", i.module, i.name)
    };
    let at = Some(i.offset);
    if let Some(deny) = p
        .import_deny
        .value
        .iter()
        .find(|g| g.matches(&i.module, &i.name))
    {
        out.push(violation(
            "imports.deny",
            &item,
            &format!("import {item} is denied by `{}`", deny.text),
            at,
            &p.import_deny.origin,
        ));
    }
    signature(i, &item, p, out);
    let explicitly_allowed = p.explicitly_allows(&i.module, &i.name);
    if explicitly_allowed {
        return;
    }
    if i.module == wasi::PREVIEW0 && !p.allow_wasi_unstable.value {
        out.push(with_hint(
            violation(
                "imports.allow-wasi-unstable",
                &item,
                &format!("import {item} is from wasi_unstable (WASI preview0)"),
                at,
                &p.allow_wasi_unstable.origin,
            ),
            Some("preview0 is obsolete; rebuild for wasi_snapshot_preview1".to_string()),
        ));
    }
    if (i.module == wasi::PREVIEW1 || i.module == wasi::PREVIEW0)
        && wasi::preview1(&i.name).is_none()
        && !p.allow_unknown_wasi.value
    {
        out.push(violation(
            "imports.allow-unknown-wasi",
            &item,
            &format!("import {item} is not a WASI preview1 function; no host provides it"),
            at,
            &p.allow_unknown_wasi.origin,
        ));
    }
    for cap in &i.capabilities {
        capability(*cap, &item, at, p, out);
    }
}

/// One violation per module the policy does not allow, listing its imports (a GOOS=js build
/// has twenty `gojs` imports; one finding says it better than twenty).
fn import_modules(m: &Inspection, p: &Policy, out: &mut Vec<Violation>) {
    // One pass: each module's imports that no `imports.allow` entry names, in module order,
    // and the modules in the order of their first refused import. A module matched once is
    // looked up again, not matched against the globs again.
    let mut refused_by_module: HashMap<&str, Vec<&Import>> = HashMap::new();
    let mut module_allowed: HashMap<&str, bool> = HashMap::new();
    let mut modules: Vec<&str> = Vec::new();
    for i in &m.imports {
        if p.explicitly_allows(&i.module, &i.name) {
            continue;
        }
        let module = i.module.as_str();
        let allowed = *module_allowed
            .entry(module)
            .or_insert_with(|| p.import_modules.value.is_match(module));
        if allowed {
            continue;
        }
        refused_by_module
            .entry(module)
            .or_insert_with(|| {
                modules.push(module);
                Vec::new()
            })
            .push(i);
    }
    for module in modules {
        let refused = &refused_by_module[module];
        let names: Vec<&str> = refused.iter().map(|i| i.name.as_str()).collect();
        let first = refused.first().map(|i| i.offset);
        let what = match names.as_slice() {
            [""] => String::new(),
            [one] => format!(" ({one})"),
            many => format!(" ({} imports: {})", many.len(), many.join(", ")),
        };
        let hint = (module == "gojs").then(|| {
            "gojs imports come from GOOS=js; rebuild with GOOS=wasip1 GOARCH=wasm".to_string()
        });
        out.push(with_hint(
            violation(
                "imports.modules",
                module,
                &format!("imports from module `{module}`{what}, which the policy does not allow"),
                first,
                &p.import_modules.origin,
            ),
            hint,
        ));
    }
}

fn capability(cap: Capability, item: &str, at: Option<u64>, p: &Policy, out: &mut Vec<Violation>) {
    if p.deny_capabilities.value.contains(&cap) {
        out.push(violation(
            "imports.deny-capabilities",
            item,
            &format!("import {item} grants capability `{cap}`, which the policy denies"),
            at,
            &p.deny_capabilities.origin,
        ));
    } else if let Some(allowed) = &p.capabilities.value {
        if !allowed.contains(&cap) {
            out.push(violation(
                "imports.capabilities",
                item,
                &format!(
                    "import {item} grants capability `{cap}`, which the policy does not allow"
                ),
                at,
                &p.capabilities.origin,
            ));
        }
    }
}

fn signature(i: &Import, item: &str, p: &Policy, out: &mut Vec<Violation>) {
    if i.module != wasi::PREVIEW1 || !p.check_signatures.value {
        return;
    }
    let Some(expected) = wasi::preview1(&i.name) else {
        return;
    };
    let found = match (&i.signature, i.kind) {
        (Some(sig), "func") => {
            let matches = |found: &[wasmparser::ValType], expected: &[wasi::Val]| {
                found
                    .iter()
                    .copied()
                    .eq(expected.iter().map(|v| v.val_type()))
            };
            if matches(&sig.params, expected.params) && matches(&sig.results, expected.results) {
                return;
            }
            sig.text()
        }
        (_, kind) => format!("a {kind}"),
    };
    out.push(with_hint(
        violation(
            "imports.check-signatures",
            item,
            &format!(
                "import {item} is declared as {found}, but WASI preview1 defines {}; calls will trap or corrupt memory",
                expected.signature()
            ),
            Some(i.offset),
            &p.check_signatures.origin,
        ),
        Some(
            "a //go:wasmimport declaration or an SDK written for another WASI version declares it wrongly".to_string(),
        ),
    ));
}

fn exports(m: &Inspection, p: &Policy, out: &mut Vec<Violation>) {
    for name in &p.exports_require.value {
        if m.export(name).is_some() {
            continue;
        }
        let hint = match name.as_str() {
            "_start" if m.export("_initialize").is_some() => {
                Some("the module exports _initialize: it is a reactor; check it with --policy wasip1-reactor".to_string())
            }
            "_initialize" if m.export("_start").is_some() => {
                Some("the module exports _start: it is a command; build reactors with -buildmode=c-shared".to_string())
            }
            "memory" if m.export("mem").is_some() => Some("`mem` is how GOOS=js exports memory; rebuild with GOOS=wasip1".to_string()),
            _ => None,
        };
        out.push(with_hint(
            violation(
                "exports.require",
                name,
                &format!("required export `{name}` is missing"),
                None,
                &p.exports_require.origin,
            ),
            hint,
        ));
    }
    for export in &m.exports {
        if let Some(glob) = p.exports_forbid.value.matching(&export.name) {
            out.push(violation(
                "exports.forbid",
                &export.name,
                &format!("export `{}` is forbidden by `{glob}`", export.name),
                Some(export.offset),
                &p.exports_forbid.origin,
            ));
        }
    }
}

fn memory(m: &Inspection, p: &Policy, out: &mut Vec<Violation>) {
    if let Some(max) = p.max_memories.value {
        // Counted per core module: a component's nested modules each have their own memories.
        let mut modules: Vec<u32> = m.memories.iter().map(|mem| mem.module).collect();
        modules.dedup();
        for module in modules {
            let own: Vec<&crate::wasm::inspect::Memory> = m
                .memories
                .iter()
                .filter(|mem| mem.module == module)
                .collect();
            if own.len() as u64 > max {
                let whose = if m.kind == Kind::Component {
                    format!("core module {module}")
                } else {
                    "the module".into()
                };
                out.push(violation(
                    "memory.max-memories",
                    "memories",
                    &format!(
                        "{whose} declares {} memories, the policy allows {max}",
                        own.len()
                    ),
                    own.get(max as usize).map(|mem| mem.offset),
                    &p.max_memories.origin,
                ));
            }
        }
    }
    for mem in &m.memories {
        let item = if m.kind == Kind::Component {
            format!("core module {} memory {}", mem.module, mem.index)
        } else {
            format!("memory {}", mem.index)
        };
        let at = Some(mem.offset);
        if let Some(max) = p.max_initial_pages.value {
            if mem.initial_pages > max {
                out.push(violation(
                    "memory.max-initial-pages",
                    &item,
                    &format!(
                        "{item} starts at {} pages, more than the policy's {max}",
                        mem.initial_pages
                    ),
                    at,
                    &p.max_initial_pages.origin,
                ));
            }
        }
        if let Some(max) = p.max_maximum_pages.value {
            let message = match mem.maximum_pages {
                None => Some(format!(
                    "{item} declares no maximum; the policy requires one of at most {max} pages"
                )),
                Some(declared) if declared > max => Some(format!(
                    "{item} may grow to {declared} pages, more than the policy's {max}"
                )),
                Some(_) => None,
            };
            if let Some(message) = message {
                out.push(violation(
                    "memory.max-maximum-pages",
                    &item,
                    &message,
                    at,
                    &p.max_maximum_pages.origin,
                ));
            }
        }
        if mem.shared && !p.allow_shared.value {
            out.push(violation(
                "memory.allow-shared",
                &item,
                &format!("{item} is shared"),
                at,
                &p.allow_shared.origin,
            ));
        }
        if mem.memory64 && !p.allow_memory64.value {
            out.push(violation(
                "memory.allow-memory64",
                &item,
                &format!("{item} is 64-bit (memory64)"),
                at,
                &p.allow_memory64.origin,
            ));
        }
    }
}

fn sections(m: &Inspection, p: &Policy, out: &mut Vec<Violation>) {
    let custom = || {
        m.sections
            .iter()
            .filter_map(|s| s.name.as_deref().map(|n| (n, s.offset)))
    };
    for (pattern, glob) in p.sections_require.value.each() {
        if !custom().any(|(name, _)| glob.is_match(name)) {
            out.push(violation(
                "sections.require",
                pattern,
                &format!("no custom section matches `{pattern}`"),
                None,
                &p.sections_require.origin,
            ));
        }
    }
    for (name, offset) in custom() {
        if let Some(glob) = p.sections_forbid.value.matching(name) {
            out.push(violation(
                "sections.forbid",
                name,
                &format!("custom section `{name}` is forbidden by `{glob}`"),
                Some(offset),
                &p.sections_forbid.origin,
            ));
        }
    }
    if let Some(max) = p.max_module_size.value {
        if m.size > max {
            out.push(violation(
                "sections.max-module-size",
                "module",
                &format!("module is {} bytes, more than the policy's {max}", m.size),
                None,
                &p.max_module_size.origin,
            ));
        }
    }
}

/// Every rule id with a one-line description (SARIF rule metadata and docs).
pub const RULES: &[(&str, &str)] = &[
    ("abi", "The module's ABI must be one the policy allows"),
    (
        "imports.modules",
        "Imports must come from modules the policy allows",
    ),
    (
        "imports.deny",
        "Imports the policy denies by module and name",
    ),
    (
        "imports.capabilities",
        "WASI imports must grant only the capability groups the policy allows",
    ),
    (
        "imports.deny-capabilities",
        "WASI imports must not grant a capability group the policy denies",
    ),
    (
        "imports.check-signatures",
        "wasi_snapshot_preview1 imports must have their canonical signatures",
    ),
    (
        "imports.allow-wasi-unstable",
        "Imports from wasi_unstable (WASI preview0) are flagged",
    ),
    (
        "imports.allow-unknown-wasi",
        "wasi_snapshot_preview1 imports must be functions WASI preview1 defines",
    ),
    ("exports.require", "Exports the policy requires"),
    ("exports.forbid", "Exports the policy forbids"),
    ("memory.max-initial-pages", "Initial memory size limit"),
    (
        "memory.max-maximum-pages",
        "Declared maximum memory size limit",
    ),
    ("memory.allow-shared", "Shared memories"),
    ("memory.allow-memory64", "64-bit memories"),
    ("memory.max-memories", "Number of memories"),
    (
        "features",
        "WebAssembly features (proposals) the policy allows",
    ),
    ("sections.require", "Custom sections the policy requires"),
    ("sections.forbid", "Custom sections the policy forbids"),
    ("sections.max-module-size", "Module size limit"),
    ("start", "Whether a start section is allowed"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_the_caller_verified_is_reported_as_given_with_the_same_verdict() {
        let policy = Policy::load("wasip1-default").unwrap();
        let wasm = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                 (memory (export "memory") 1) (func (export "_start")))"#,
        )
        .unwrap();
        let hashed = check(&wasm, &policy).unwrap();
        assert_eq!(hashed.module.sha256, crate::digest::sha256_hex(&wasm));
        let known = check_known(&wasm, &policy, Some(&hashed.module.sha256)).unwrap();
        assert_eq!(known.module.sha256, hashed.module.sha256);
        assert_eq!(known.passed, hashed.passed);
        assert_eq!(known.violations.len(), hashed.violations.len());
        // Invalid code is still found: the digest skips the hash, not the validation.
        let invalid = wat::parse_str(r#"(module (func (result i32)))"#).unwrap();
        assert!(matches!(
            check_known(&invalid, &policy, Some("x")),
            Err(CheckError::Invalid(_))
        ));
    }

    #[test]
    fn imports_fold_and_group_by_module_in_first_seen_order() {
        let policy = Policy::load("wasip1-default").unwrap();
        let wasm = wat::parse_str(
            r#"(module
                 (import "b" "x" (func))
                 (import "a" "y" (func))
                 (import "b" "x" (func))
                 (import "b" "x" (func (param i32)))
                 (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                 (import "a" "z" (func))
                 (import "b" "w" (func))
                 (memory (export "memory") 1) (func (export "_start")))"#,
        )
        .unwrap();
        let report = check(&wasm, &policy).unwrap();
        let imports: Vec<(&str, &str, u32)> = report
            .module
            .imports
            .iter()
            .map(|i| (i.module.as_str(), i.name.as_str(), i.count))
            .collect();
        assert_eq!(
            imports,
            [
                ("b", "x", 2),
                ("a", "y", 1),
                ("b", "x", 1),
                ("wasi_snapshot_preview1", "proc_exit", 1),
                ("a", "z", 1),
                ("b", "w", 1),
            ]
        );
        let modules: Vec<(&str, &str, Option<u64>)> = report
            .violations
            .iter()
            .filter(|v| v.rule == "imports.modules")
            .map(|v| (v.item.as_str(), v.message.as_str(), v.offset))
            .collect();
        let offset = |n: usize| Some(report.module.imports[n].offset);
        assert_eq!(
            modules,
            [
                (
                    "b",
                    "imports from module `b` (3 imports: x, x, w), which the policy does not allow",
                    offset(0)
                ),
                (
                    "a",
                    "imports from module `a` (2 imports: y, z), which the policy does not allow",
                    offset(1)
                ),
            ]
        );
    }
}
