//! The rewrite stage: drop custom sections by rule and stamp `processed-by: wasipack VERSION`
//! into the `producers` section. Every other section, standard or custom, is copied byte for
//! byte (header included), so a rewrite never changes code or data. A `producers` section
//! that does not parse never stops a rewrite: stamping replaces it with a new one, otherwise
//! it is copied as it is, and either way [`Rewritten::warnings`] says so.

use crate::policy::{BadGlob, Globs};
use crate::wasm::inspect::{producer_fields, ProducerFields, Warning};
use crate::wasm::{validate, WasmError};
use serde::{Deserialize, Serialize};
use wasm_encoder::{Encode, ProducersField, ProducersSection, Section};
use wasmparser::{Chunk, Parser, Payload};

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
    ) -> Result<StripRules, BadGlob> {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionChange {
    /// `custom:NAME` for custom sections, the kind for standard ones.
    pub section: String,
    /// `copied`, `removed`, `stamped` (rewritten with our producer entry), `replaced` (a
    /// `producers` section that did not parse, replaced by one with only our entry) or `added`.
    #[serde(deserialize_with = "action")]
    pub action: Action,
    /// Whole section size (header included) before and after.
    pub size_before: u64,
    pub size_after: u64,
}

/// One of the five actions. (An alias: serde's derive would borrow a literal `&str` field.)
pub type Action = &'static str;

fn action<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Action, D::Error> {
    let text = String::deserialize(d)?;
    ["copied", "removed", "stamped", "replaced", "added"]
        .into_iter()
        .find(|a| *a == text)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown section action `{text}`")))
}

/// A rewritten module and what changed.
#[derive(Debug, Clone, Serialize)]
pub struct Rewritten {
    #[serde(skip)]
    pub bytes: Vec<u8>,
    pub size_before: u64,
    pub size_after: u64,
    pub sections: Vec<SectionChange>,
    /// A `producers` section that did not parse (replaced or copied as it was); absent from
    /// JSON when there is nothing to say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
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
    let (pieces, mut rewritten) = plan(bytes, rules)?;
    rewritten.bytes = pieces.join(bytes);
    Ok(rewritten)
}

/// [`rewrite_unvalidated`] over bytes that may be changed: when the output is the input's
/// beginning followed only by new sections, and no longer than the input (a Go module: names
/// dropped from the end, producers stamped there), the new sections are written over the
/// input's end and the output is `bytes[..len]`, returned as `Some(len)` with
/// [`Rewritten::bytes`] empty. Otherwise the output is joined anew into `Rewritten::bytes`.
pub fn rewrite_in_place(
    bytes: &mut [u8],
    rules: &StripRules,
) -> Result<(Option<usize>, Rewritten), WasmError> {
    let (pieces, mut rewritten) = plan(bytes, rules)?;
    if let Some(len) = pieces.write_over(bytes) {
        return Ok((Some(len), rewritten));
    }
    rewritten.bytes = pieces.join(bytes);
    Ok((None, rewritten))
}

/// The output as pieces, and what changed (with `bytes` still empty).
fn plan(bytes: &[u8], rules: &StripRules) -> Result<(Pieces, Rewritten), WasmError> {
    let mut out = Pieces::default();
    let mut sections = Vec::new();
    let mut warnings = Vec::new();
    let mut stamped = false;
    // Top-level sections only, in order: each one's bytes run from where the previous one
    // ended. The code section and nested modules or components are skipped whole, not walked.
    let mut parser = Parser::new(0);
    let mut pos = 0usize;
    loop {
        let start = pos;
        let payload = match parser.parse(&bytes[pos..], true)? {
            Chunk::Parsed { consumed, payload } => {
                pos += consumed;
                payload
            }
            Chunk::NeedMoreData(_) => unreachable!("the whole input is given (eof)"),
        };
        match &payload {
            Payload::Version { .. } => {
                out.keep(0..pos);
                continue;
            }
            Payload::End(_) => break,
            Payload::CodeSectionStart { size, .. } => {
                parser.skip_section();
                pos += *size as usize;
            }
            Payload::ModuleSection {
                unchecked_range, ..
            }
            | Payload::ComponentSection {
                unchecked_range, ..
            } => pos += (unchecked_range.end - unchecked_range.start) as usize,
            _ => {}
        }
        let Some((id, _)) = payload.as_section() else {
            continue;
        };
        let whole = bytes.get(start..pos).ok_or_else(|| WasmError {
            message: "section runs past the end of the module".into(),
            offset: start as u64,
        })?;
        let size_before = whole.len() as u64;
        let (section, action, size_after) = match &payload {
            Payload::CustomSection(reader) => {
                let label = format!("custom:{}", reader.name());
                let parsed = (reader.name() == "producers")
                    .then(|| producer_fields(reader.data(), reader.data_offset()));
                match parsed {
                    _ if rules.drops(reader.name()) => (label, "removed", 0),
                    Some(parsed) if rules.stamp => {
                        stamped = true;
                        let action = match &parsed {
                            Ok(_) => "stamped",
                            Err(e) => {
                                warnings.push(Warning::malformed_producers(
                                    e,
                                    "replaced by a new one with only wasipack's entry",
                                ));
                                "replaced"
                            }
                        };
                        let emitted = producers(parsed.ok());
                        let len = emitted.len();
                        out.add(emitted);
                        (label, action, len)
                    }
                    parsed => {
                        if let Some(Err(e)) = parsed {
                            warnings.push(Warning::malformed_producers(&e, "copied unchanged"));
                        }
                        out.keep(start..pos);
                        (label, "copied", whole.len())
                    }
                }
            }
            _ => {
                out.keep(start..pos);
                (section_kind(id, bytes).to_string(), "copied", whole.len())
            }
        };
        sections.push(SectionChange {
            section,
            action,
            size_before,
            size_after: size_after as u64,
        });
    }
    if rules.stamp && !stamped {
        let emitted = producers(None);
        sections.push(SectionChange {
            section: "custom:producers".into(),
            action: "added",
            size_before: 0,
            size_after: emitted.len() as u64,
        });
        out.add(emitted);
    }
    let size_after = out.len() as u64;
    Ok((
        out,
        Rewritten {
            size_before: bytes.len() as u64,
            size_after,
            bytes: Vec::new(),
            sections,
            warnings,
        },
    ))
}

/// The output as runs of the input and new sections, joined once at the end.
#[derive(Default)]
struct Pieces(Vec<Piece>);

enum Piece {
    Input(std::ops::Range<usize>),
    New(Vec<u8>),
}

impl Pieces {
    fn keep(&mut self, range: std::ops::Range<usize>) {
        match self.0.last_mut() {
            Some(Piece::Input(last)) if last.end == range.start => last.end = range.end,
            _ => self.0.push(Piece::Input(range)),
        }
    }

    fn add(&mut self, bytes: Vec<u8>) {
        self.0.push(Piece::New(bytes));
    }

    fn len(&self) -> usize {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Input(r) => r.len(),
                Piece::New(v) => v.len(),
            })
            .sum()
    }

    /// Writes the output over `input` when it is `input[..k]` then new bytes only, and fits.
    fn write_over(&self, input: &mut [u8]) -> Option<usize> {
        let (first, rest) = match self.0.split_first() {
            Some((Piece::Input(r), rest)) if r.start == 0 => (r.end, rest),
            None => (0, &[][..]),
            _ => return None,
        };
        let len = self.len();
        if len > input.len() || rest.iter().any(|p| matches!(p, Piece::Input(_))) {
            return None;
        }
        let mut at = first;
        for piece in rest {
            if let Piece::New(v) = piece {
                input[at..at + v.len()].copy_from_slice(v);
                at += v.len();
            }
        }
        Some(len)
    }

    /// Copies the pieces into one buffer, in order.
    fn join(self, input: &[u8]) -> Vec<u8> {
        let len = self
            .0
            .iter()
            .map(|p| match p {
                Piece::Input(r) => r.len(),
                Piece::New(v) => v.len(),
            })
            .sum();
        let mut out = Vec::with_capacity(len);
        for piece in &self.0 {
            match piece {
                Piece::Input(r) => out.extend_from_slice(&input[r.clone()]),
                Piece::New(v) => out.extend_from_slice(v),
            }
        }
        out
    }
}

/// The `producers` section with `processed-by: wasipack VERSION` merged into the `existing`
/// fields, following the tool conventions: fields keep their order, a value of the same name
/// is replaced.
fn producers(existing: Option<ProducerFields>) -> Vec<u8> {
    let mut fields = existing.unwrap_or_default();
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
    out
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

    fn actions(out: &Rewritten) -> Vec<(&str, &str)> {
        out.sections
            .iter()
            .map(|s| (s.section.as_str(), s.action))
            .collect()
    }

    #[test]
    fn release_rules_drop_names_and_debug_and_stamp_producers() {
        let input = module(
            r#"(module $m (func $f) (@custom ".debug_info" "dwarf")
                 (@producers (language "Go" "go1.26.8") (processed-by "Go cmd/compile" "go1.26.8")))"#,
        );
        let out = rewrite(&input, &StripRules::release()).unwrap();
        let actions = actions(&out);
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
        let actions = actions(&out);
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

    #[test]
    fn a_component_keeps_its_nested_modules_whole() {
        let input = module(
            r#"(component
                 (core module $m (func (export "f")) (@custom "name-like" "inner"))
                 (@custom "outer" "x"))"#,
        );
        let out = rewrite_unvalidated(&input, &StripRules::new(&[], &["*"], false, false).unwrap())
            .unwrap();
        let actions = actions(&out);
        assert_eq!(
            actions,
            [
                ("core-module", "copied"),
                ("custom:outer", "removed"),
                ("custom:component-name", "removed")
            ]
        );
        // The nested module, its custom section included, is byte for byte the input's.
        let removed: u64 = out.sections[1..].iter().map(|s| s.size_before).sum();
        assert_eq!(out.bytes, input[..input.len() - removed as usize]);
    }

    #[test]
    fn a_large_module_is_joined_in_order_across_stripes() {
        // A data section of 3 MiB spans several 1 MiB copy stripes.
        let data: String = (0..3 << 20).map(|i| format!("\\{:02x}", i % 251)).collect();
        let input = module(&format!(
            r#"(module (memory 64) (data (i32.const 0) "{data}") (@custom "name" "n") (@custom "z" "zz"))"#
        ));
        let out = rewrite(&input, &StripRules::release()).unwrap();
        let sizes = |upto: usize| -> usize {
            8 + out.sections[..upto]
                .iter()
                .map(|s| s.size_before as usize)
                .sum::<usize>()
        };
        let name = out
            .sections
            .iter()
            .position(|s| s.section == "custom:name")
            .unwrap();
        let (name_start, name_end) = (sizes(name), sizes(name + 1));
        let mut expected = input[..name_start].to_vec();
        expected.extend_from_slice(&input[name_end..]);
        assert_eq!(out.bytes[..expected.len()], expected[..]);
        assert_eq!(out.sections.last().unwrap().action, "added");
        assert_eq!(
            out.bytes[expected.len()],
            0,
            "then the producers custom section"
        );
    }

    #[test]
    fn a_malformed_producers_section_is_replaced_when_stamped_and_copied_otherwise() {
        // `language` with one value whose version string is cut short.
        let input = module(r#"(module (@custom "producers" "\01\08language\01\02Go\08go1"))"#);
        let out = rewrite(&input, &StripRules::release()).unwrap();
        assert_eq!(actions(&out), [("custom:producers", "replaced")]);
        assert_eq!(out.warnings.len(), 1);
        assert!(
            out.warnings[0].message.contains("replaced by a new one"),
            "{:?}",
            out.warnings
        );
        assert_eq!(
            out.bytes,
            rewrite(&module("(module)"), &StripRules::release())
                .unwrap()
                .bytes
        );

        let keep = StripRules::new(&[], &[], false, false).unwrap();
        let out = rewrite(&input, &keep).unwrap();
        assert_eq!(actions(&out), [("custom:producers", "copied")]);
        assert!(out.warnings[0].message.contains("copied unchanged"));
        assert_eq!(out.bytes, input);

        // The new action reads back from a build report.
        let change: SectionChange = serde_json::from_value(serde_json::json!({
            "section": "custom:producers", "action": "replaced", "size_before": 3, "size_after": 9
        }))
        .unwrap();
        assert_eq!(change.action, "replaced");
    }

    #[test]
    fn a_truncated_code_section_is_an_error_not_a_panic() {
        let input = module(r#"(module (func (export "_start")) (func) (func))"#);
        let err =
            rewrite_unvalidated(&input[..input.len() - 3], &StripRules::release()).unwrap_err();
        assert!(err.offset > 8, "{err}");
    }

    #[test]
    fn in_place_only_when_the_output_is_the_inputs_start_then_new_sections() {
        let rules = StripRules::release();
        // Names dropped from the end, producers stamped there: written over the input.
        let input = module(
            r#"(module $a_module_with_a_long_name
                 (func $and_a_function_whose_name_is_longer_than_the_producers_entry)
                 (@custom "keep" "x"))"#,
        );
        let mut bytes = input.clone();
        let (len, out) = rewrite_in_place(&mut bytes, &rules).unwrap();
        let len = len.expect("in place");
        assert!(out.bytes.is_empty());
        assert_eq!(bytes[..len], rewrite(&input, &rules).unwrap().bytes[..]);

        // A section dropped before one kept: joined anew, the input untouched.
        let input = module(r#"(module (@custom "name" "n") (func) (@custom "keep" "x"))"#);
        let mut bytes = input.clone();
        let (len, out) = rewrite_in_place(&mut bytes, &rules).unwrap();
        assert_eq!(len, None);
        assert_eq!(bytes, input);
        assert_eq!(out.bytes, rewrite(&input, &rules).unwrap().bytes);

        // Nothing to drop and producers to add: longer than the input, so joined anew.
        let input = module("(module (func))");
        let mut bytes = input.clone();
        let (len, out) = rewrite_in_place(&mut bytes, &rules).unwrap();
        assert_eq!(len, None);
        assert!(out.bytes.len() > input.len());
    }
}
