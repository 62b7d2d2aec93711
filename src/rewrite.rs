//! The rewrite stage: drop custom sections by rule and stamp `processed-by: wasipack VERSION`
//! into the `producers` section. Every other section, standard or custom, is copied byte for
//! byte (header included), so a rewrite never changes code or data.

use crate::policy::Globs;
use crate::wasm::{validate, WasmError};
use serde::Serialize;
use wasm_encoder::{Encode, ProducersField, ProducersSection, Section};
use wasmparser::{KnownCustom, Parser, Payload};

/// Which custom sections to drop. Standard sections are never touched.
#[derive(Debug, Clone)]
pub struct StripRules {
    /// Sections matching these are kept whatever else says.
    pub keep: Globs,
    /// Sections matching these are dropped.
    pub delete: Globs,
    /// Drop every custom section not kept.
    pub all: bool,
    /// Stamp `processed-by: wasipack VERSION` into `producers` (creating it if needed).
    pub stamp: bool,
}

impl StripRules {
    /// What the release profile drops: names and debug information.
    pub const RELEASE_DELETE: [&'static str; 4] = [
        "name",
        ".debug_*",
        "sourceMappingURL",
        "external_debug_info",
    ];

    /// The release profile: drop names and debug information, keep `producers`, stamp it.
    pub fn release() -> StripRules {
        StripRules::new(&[], &Self::RELEASE_DELETE, false, true).expect("built-in globs are valid")
    }

    pub fn new(
        keep: &[&str],
        delete: &[&str],
        all: bool,
        stamp: bool,
    ) -> Result<StripRules, String> {
        let globs = |p: &[&str]| Globs::new(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        Ok(StripRules {
            keep: globs(keep)?,
            delete: globs(delete)?,
            all,
            stamp,
        })
    }

    fn drops(&self, name: &str) -> bool {
        !self.keep.is_match(name) && (self.all || self.delete.is_match(name))
    }
}

/// What happened to one section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SectionChange {
    /// `custom:NAME` for custom sections, the kind for standard ones.
    pub section: String,
    /// `copied`, `removed`, `stamped` (rewritten with our producer entry) or `added`.
    pub action: &'static str,
    /// Whole section size (header included) before and after.
    pub size_before: u64,
    pub size_after: u64,
}

/// A rewritten module and what changed.
#[derive(Debug, Clone, Serialize)]
pub struct Rewritten {
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub size_before: u64,
    pub size_after: u64,
    pub sections: Vec<SectionChange>,
}

/// Rewrites a core module or component per `rules`, then validates the result with every
/// feature (the input's features are not ours to judge here; `check` does that).
pub fn rewrite(bytes: &[u8], rules: &StripRules) -> Result<Rewritten, WasmError> {
    let out = rewrite_unvalidated(bytes, rules)?;
    validate::parse_and_validate(
        &out.bytes,
        crate::wasm::features::FeatureSet::all().to_wasmparser(),
    )?;
    Ok(out)
}

/// The rewrite alone, for callers that validate the result themselves (`build` runs the full
/// policy check on it, so that the module is validated once, as shipped).
pub fn rewrite_unvalidated(bytes: &[u8], rules: &StripRules) -> Result<Rewritten, WasmError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut sections = Vec::new();
    let mut stamped = false;
    let mut depth = 0usize;
    // Sections are contiguous: each one's header starts where the previous one ended.
    let mut pos = 0usize;
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        match &payload {
            Payload::Version { range, .. } => {
                if depth == 0 {
                    out.extend_from_slice(&bytes[..range.end as usize]);
                    pos = range.end as usize;
                }
                depth += 1;
                continue;
            }
            Payload::End(_) => {
                depth -= 1;
                continue;
            }
            _ if depth != 1 => continue,
            _ => {}
        }
        let Some((id, range)) = payload.as_section() else {
            continue;
        };
        let whole = &bytes[pos..range.end as usize];
        pos = range.end as usize;
        let size_before = whole.len() as u64;
        let (section, action, emitted) = match &payload {
            Payload::CustomSection(reader) => {
                let label = format!("custom:{}", reader.name());
                if rules.drops(reader.name()) {
                    (label, "removed", Vec::new())
                } else if let (true, KnownCustom::Producers(fields)) =
                    (rules.stamp, reader.as_known())
                {
                    stamped = true;
                    (label, "stamped", producers(Some(fields))?)
                } else {
                    (label, "copied", whole.to_vec())
                }
            }
            _ => (
                section_kind(id, bytes).to_string(),
                "copied",
                whole.to_vec(),
            ),
        };
        out.extend_from_slice(&emitted);
        sections.push(SectionChange {
            section,
            action,
            size_before,
            size_after: emitted.len() as u64,
        });
    }
    if rules.stamp && !stamped {
        let emitted = producers(None)?;
        out.extend_from_slice(&emitted);
        sections.push(SectionChange {
            section: "custom:producers".into(),
            action: "added",
            size_before: 0,
            size_after: emitted.len() as u64,
        });
    }
    Ok(Rewritten {
        size_before: bytes.len() as u64,
        size_after: out.len() as u64,
        bytes: out,
        sections,
    })
}

/// The `producers` section with `processed-by: wasipack VERSION` merged in, following the
/// tool conventions: fields keep their order, a value of the same name is replaced.
fn producers(
    existing: Option<wasmparser::ProducersSectionReader<'_>>,
) -> Result<Vec<u8>, WasmError> {
    let mut fields: Vec<(String, Vec<(String, String)>)> = Vec::new();
    if let Some(reader) = existing {
        for field in reader {
            let field = field?;
            let mut values = Vec::new();
            for value in field.values {
                let value = value?;
                values.push((value.name.to_string(), value.version.to_string()));
            }
            fields.push((field.name.to_string(), values));
        }
    }
    let ours = (
        "wasipack".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    match fields.iter_mut().find(|(name, _)| name == "processed-by") {
        Some((_, values)) => match values.iter_mut().find(|(name, _)| *name == ours.0) {
            Some(value) => *value = ours,
            None => values.push(ours),
        },
        None => {
            // "language" comes first when present, then "processed-by", then "sdk".
            let at = fields
                .iter()
                .position(|(name, _)| name != "language")
                .unwrap_or(fields.len());
            fields.insert(at, ("processed-by".to_string(), vec![ours]));
        }
    }
    let mut section = ProducersSection::new();
    for (name, values) in &fields {
        let mut field = ProducersField::new();
        for (value, version) in values {
            field.value(value, version);
        }
        section.field(name, &field);
    }
    let mut out = Vec::new();
    out.push(section.id());
    section.encode(&mut out);
    Ok(out)
}

fn section_kind(id: u8, bytes: &[u8]) -> &'static str {
    let component = bytes.get(6..8) == Some(&[1, 0]);
    crate::wasm::inspect::section_kind(id, component)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn module(wat: &str) -> Vec<u8> {
        wat::parse_str(wat).unwrap()
    }

    #[test]
    fn release_rules_drop_names_and_debug_and_stamp_producers() {
        let input = module(
            r#"(module $m (func $f) (@custom ".debug_info" "dwarf")
                 (@producers (language "Go" "go1.26.8") (processed-by "Go cmd/compile" "go1.26.8")))"#,
        );
        let out = rewrite(&input, &StripRules::release()).unwrap();
        let actions: Vec<(&str, &str)> = out
            .sections
            .iter()
            .map(|s| (s.section.as_str(), s.action))
            .collect();
        assert!(actions.contains(&("custom:name", "removed")), "{actions:?}");
        assert!(actions.contains(&("custom:.debug_info", "removed")));
        assert!(actions.contains(&("custom:producers", "stamped")));
        let text = wasmprinter::print_bytes(&out.bytes).unwrap();
        let stamp = format!(
            "(processed-by \"Go cmd/compile\" \"go1.26.8\")\n    (processed-by \"wasipack\" \"{}\")",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.contains(&stamp), "{text}");
        assert!(text.contains(r#"(language "Go" "go1.26.8")"#), "{text}");
        assert!(
            !text.contains("$f") && !text.contains(".debug_info"),
            "{text}"
        );
    }

    #[test]
    fn untouched_sections_are_copied_byte_for_byte() {
        let input = module(
            r#"(module (memory 1) (func (export "_start")) (data (i32.const 0) "abc") (@custom "keep-me" "xyz"))"#,
        );
        let out = rewrite(&input, &StripRules::new(&[], &[], false, false).unwrap()).unwrap();
        assert_eq!(out.bytes, input);
        assert!(out.sections.iter().all(|s| s.action == "copied"));
    }

    #[test]
    fn keep_beats_all_and_a_missing_producers_section_is_added() {
        let input = module(r#"(module (@custom "a" "1") (@custom "b" "2"))"#);
        let out = rewrite(&input, &StripRules::new(&["b"], &[], true, true).unwrap()).unwrap();
        let actions: Vec<(&str, &str)> = out
            .sections
            .iter()
            .map(|s| (s.section.as_str(), s.action))
            .collect();
        assert_eq!(
            actions,
            [
                ("custom:a", "removed"),
                ("custom:b", "copied"),
                ("custom:producers", "added")
            ]
        );
    }

    #[test]
    fn stamping_twice_replaces_our_entry() {
        let input = module("(module)");
        let once = rewrite(&input, &StripRules::release()).unwrap();
        let twice = rewrite(&once.bytes, &StripRules::release()).unwrap();
        assert_eq!(once.bytes, twice.bytes);
    }
}
