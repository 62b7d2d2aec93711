//! One pass over a module or component: the wasmparser validator sees every payload (function
//! bodies are only queued here, see [`super::validate`]) while we record what a report and a
//! policy need.

use super::features::{self, FeatureSet, Id};
use super::modinfo::{self, GoBuildInfo};
use super::wasi::{self, Capability};
use super::WasmError;
use crate::digest::sha256_hex;
use serde::Serialize;
use std::collections::BTreeMap;
use wasmparser::{
    ComponentExternalKind, ComponentTypeRef, CompositeInnerType, Encoding, ExternalKind,
    FuncToValidate, FunctionBody, KnownCustom, Parser, Payload, RefType, TypeRef, ValType,
    ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

mod builder;

use builder::*;

/// Core module or component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    CoreModule,
    Component,
}

/// The application binary interface a module is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// A WASI preview1 command: exports `_start`.
    Wasip1Command,
    /// A WASI preview1 reactor (library): exports `_initialize`.
    Wasip1Reactor,
    /// A component importing or exporting `wasi:` interfaces.
    Wasip2Component,
    /// A component with no WASI interfaces.
    Component,
    /// A `GOOS=js` build: imports from `gojs`, needs Go's `wasm_exec.js`.
    GoJs,
    /// A proxy-wasm filter, with the ABI version its `proxy_abi_version_*` export declares.
    ProxyWasm(&'static str),
    /// WASI preview0 (`wasi_unstable`).
    WasiUnstable,
    Unknown,
}

impl Abi {
    /// Every ABI a core module can have (components are `Wasip2Component` or `Component`).
    pub const CORE: [Abi; 8] = [
        Abi::Wasip1Command,
        Abi::Wasip1Reactor,
        Abi::GoJs,
        Abi::ProxyWasm("0.1.0"),
        Abi::ProxyWasm("0.2.0"),
        Abi::ProxyWasm("0.2.1"),
        Abi::WasiUnstable,
        Abi::Unknown,
    ];
    /// Every ABI a component can have.
    pub const COMPONENT: [Abi; 2] = [Abi::Wasip2Component, Abi::Component];

    /// The stable identifier used in policies and JSON.
    pub fn id(self) -> String {
        match self {
            Abi::Wasip1Command => "wasip1-command".into(),
            Abi::Wasip1Reactor => "wasip1-reactor".into(),
            Abi::Wasip2Component => "wasip2-component".into(),
            Abi::Component => "component".into(),
            Abi::GoJs => "gojs".into(),
            Abi::ProxyWasm(v) => format!("proxy-wasm-{v}"),
            Abi::WasiUnstable => "wasi-unstable".into(),
            Abi::Unknown => "unknown".into(),
        }
    }

    /// A human description.
    pub fn describe(self) -> String {
        match self {
            Abi::Wasip1Command => "WASI preview1 command (_start)".into(),
            Abi::Wasip1Reactor => "WASI preview1 reactor (_initialize)".into(),
            Abi::Wasip2Component => "WASI preview2 component".into(),
            Abi::Component => "component (no WASI interfaces)".into(),
            Abi::GoJs => "GOOS=js module (gojs imports, needs wasm_exec.js; not WASI)".into(),
            Abi::ProxyWasm(v) => format!("proxy-wasm ABI {v}"),
            Abi::WasiUnstable => "WASI preview0 (wasi_unstable)".into(),
            Abi::Unknown => "unknown".into(),
        }
    }
}

impl Serialize for Abi {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.id())
    }
}

/// Which compiler made the module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Toolchain {
    /// `go`, `tinygo`, the producers section's language or tool, or `unknown`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The `go:buildid` custom section, for Go (gc) builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// Every `producers` entry as `(field, name, version)`.
    pub producers: Vec<Producer>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Producer {
    pub field: String,
    pub name: String,
    pub version: String,
}

/// The fields of a `producers` section in order, each with its `(name, version)` values.
pub type ProducerFields = Vec<(String, Vec<(String, String)>)>;

/// Reads a `producers` custom section (its contents, at `offset` in the file): every field and
/// value, or the first thing that does not parse (a count or string cut short, bytes left over).
/// A custom section's contents never make a module invalid (wasm-tools, wabt and runtimes
/// ignore them), so callers turn an error into a [`Warning`], not a refusal.
pub fn producer_fields(data: &[u8], offset: u64) -> Result<ProducerFields, WasmError> {
    let reader =
        wasmparser::ProducersSectionReader::new(wasmparser::BinaryReader::new(data, offset))?;
    let mut fields = Vec::new();
    for field in reader {
        let field = field?;
        let mut values = Vec::new();
        for value in field.values {
            let value = value?;
            values.push((value.name.to_string(), value.version.to_string()));
        }
        fields.push((field.name.to_string(), values));
    }
    Ok(fields)
}

/// [`producer_fields`] as one [`Producer`] per value.
pub fn producers_of(
    custom: &wasmparser::CustomSectionReader<'_>,
) -> Result<Vec<Producer>, WasmError> {
    let fields = producer_fields(custom.data(), custom.data_offset())?;
    Ok(fields
        .into_iter()
        .flat_map(|(field, values)| {
            values.into_iter().map(move |(name, version)| Producer {
                field: field.clone(),
                name,
                version,
            })
        })
        .collect())
}

/// Something about the module worth saying that does not make it invalid: a custom section
/// whose contents do not parse, which was ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub message: String,
    /// Where the trouble is (in a custom section: the offset of the error in its contents).
    pub offset: u64,
}

impl Warning {
    /// The warning for a `producers` section that does not parse, ignored by `what`.
    pub fn malformed_producers(error: &WasmError, what: &str) -> Warning {
        Warning {
            message: format!(
                "custom section `producers` is malformed ({}): {what}",
                error.message
            ),
            offset: error.offset,
        }
    }
}

/// A function signature as core value types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl Signature {
    pub fn text(&self) -> String {
        let params: Vec<String> = self.params.iter().map(ToString::to_string).collect();
        let results: Vec<String> = self.results.iter().map(ToString::to_string).collect();
        wasi::format_signature(
            params.iter().map(String::as_str),
            results.iter().map(String::as_str),
        )
    }
}

/// One import. Identical (module, name, kind) imports are folded into one with a `count`.
#[derive(Debug, Clone, Serialize)]
pub struct Import {
    pub module: String,
    pub name: String,
    pub kind: &'static str,
    #[serde(rename = "signature", skip_serializing_if = "Option::is_none")]
    pub signature_text: Option<String>,
    #[serde(skip)]
    pub signature: Option<Signature>,
    pub capabilities: Vec<Capability>,
    /// How many times the module declares this import (Go declares `fd_write` twice).
    pub count: u32,
    /// Byte offset of the first declaration.
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Export {
    pub name: String,
    pub kind: &'static str,
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Memory {
    /// Which core module declares it: 0 in a plain module; in a component, the nested core
    /// modules are numbered in the order they appear.
    pub module: u32,
    /// Its index in that module's memory index space.
    pub index: u32,
    pub imported: bool,
    pub initial_pages: u64,
    pub maximum_pages: Option<u64>,
    pub shared: bool,
    pub memory64: bool,
    pub page_size: u64,
    pub offset: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Table {
    pub imported: bool,
    pub element_type: String,
    pub initial: u64,
    pub maximum: Option<u64>,
    pub table64: bool,
    pub offset: u64,
}

/// A top-level section: standard ones by kind, custom ones by name.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: u8,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Offset of the section's contents.
    pub offset: u64,
    /// Size of the contents in bytes.
    pub size: u64,
}

/// Everything `inspect` reports about a module, and what `check` holds against a policy.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    pub kind: Kind,
    pub size: u64,
    pub sha256: String,
    pub abi: Abi,
    pub abi_description: String,
    pub toolchain: Toolchain,
    pub imports: Vec<Import>,
    /// WASI capability → the import names that grant it.
    pub capabilities: BTreeMap<Capability, Vec<String>>,
    pub exports: Vec<Export>,
    pub memories: Vec<Memory>,
    pub tables: Vec<Table>,
    pub start: Option<u32>,
    /// Features the module uses; `None` when the function bodies were not scanned.
    pub features: Option<Vec<&'static str>>,
    pub sections: Vec<Section>,
    pub go_build_info: Option<GoBuildInfo>,
    /// A component's WASI world, as its exports name it ([`target_world`]); absent from JSON
    /// for a core module or a component of another world.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub world: Option<String>,
    /// What is odd about the module without making it invalid (a malformed `producers`
    /// section, ignored); absent from JSON when there is nothing to say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// The features found so far. Complete only where `features` is set; `check` leaves the
    /// module-level scan to validation.
    #[serde(skip)]
    pub feature_set: FeatureSet,
}

/// The WASI world a component's exports say it targets: `wasi:cli/command` for one that exports
/// `wasi:cli/run`, `wasi:http/proxy` for one that exports `wasi:http/incoming-handler` (at the
/// export's version); `None` for any other (a library of the user's own world).
pub fn target_world<'a>(exports: impl IntoIterator<Item = &'a str>) -> Option<String> {
    exports.into_iter().find_map(|e| {
        let (name, version) = e.split_once('@').map_or((e, None), |(n, v)| (n, Some(v)));
        let world = match name {
            "wasi:cli/run" => "wasi:cli/command",
            "wasi:http/incoming-handler" => "wasi:http/proxy",
            _ => return None,
        };
        Some(match version {
            Some(v) => format!("{world}@{v}"),
            None => world.to_string(),
        })
    })
}

impl Inspection {
    /// Adds the features found in the function bodies to the module-level ones and lists them.
    pub fn record_body_features(&mut self, bodies: FeatureSet) {
        self.feature_set = self.feature_set.union(bodies);
        self.features = Some(self.feature_set.names());
    }

    pub fn export(&self, name: &str) -> Option<&Export> {
        self.exports.iter().find(|e| e.name == name)
    }
}

/// A parsed module whose function bodies still wait for validation or scanning.
pub struct Parsed<'a> {
    pub inspection: Inspection,
    pub functions: Vec<(FuncToValidate<ValidatorResources>, FunctionBody<'a>)>,
}

/// Reads the kind from the 8-byte header without parsing anything else.
pub fn peek_kind(bytes: &[u8]) -> Option<Kind> {
    match bytes.get(..8)? {
        [0, b'a', b's', b'm', _, _, 0, 0] => Some(Kind::CoreModule),
        [0, b'a', b's', b'm', _, _, 1, 0] => Some(Kind::Component),
        _ => None,
    }
}

/// Parses and validates everything but function bodies, with `features` enabled.
pub fn parse(bytes: &[u8], features: WasmFeatures) -> Result<Parsed<'_>, WasmError> {
    // Hash on the other core while this one parses (the parse is sequential).
    let (sha256, parsed) = rayon::join(|| sha256_hex(bytes), || parse_sections(bytes, features));
    let mut parsed = parsed?;
    parsed.inspection.sha256 = sha256;
    Ok(parsed)
}

fn parse_sections(bytes: &[u8], features: WasmFeatures) -> Result<Parsed<'_>, WasmError> {
    let mut functions = Vec::new();
    let inspection = parse_streaming(bytes, features, true, |func, body| {
        functions.push((func, body))
    })?;
    Ok(Parsed {
        inspection,
        functions,
    })
}

/// Like [`parse`], without the hash, handing each function body to `on_function` as soon as
/// its code-section entry is read, so that bodies can be validated while parsing goes on.
/// With `scan_features` false the module-level feature uses are not collected (the caller
/// relies on validation with `features` to enforce them).
pub fn parse_streaming<'a>(
    bytes: &'a [u8],
    features: WasmFeatures,
    scan_features: bool,
    mut on_function: impl FnMut(FuncToValidate<ValidatorResources>, FunctionBody<'a>),
) -> Result<Inspection, WasmError> {
    let mut validator = Validator::new_with_features(features);
    let mut b = Builder {
        scan_features,
        ..Builder::default()
    };
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload)? {
            on_function(func, body);
        }
        b.payload(&payload)?;
    }
    Ok(b.finish(bytes))
}

/// The toolchain of a module from its top-level custom sections alone, hopping from section to
/// section without decoding the others: what `push --key` needs for a large module's SBOM.
pub fn toolchain_quick(bytes: &[u8]) -> Toolchain {
    let mut producers = Vec::new();
    let mut build_id = None;
    if bytes.len() >= 8 {
        let mut reader = wasmparser::BinaryReader::new(&bytes[8..], 8);
        while !reader.eof() {
            let (Ok(id), Ok(size)) = (reader.read_u8(), reader.read_var_u32()) else {
                break;
            };
            let start = reader.original_position();
            let Ok(data) = reader.read_bytes(size as usize) else {
                break;
            };
            if id != 0 {
                continue;
            }
            let Ok(custom) =
                wasmparser::CustomSectionReader::new(wasmparser::BinaryReader::new(data, start))
            else {
                continue;
            };
            match custom.name() {
                // A malformed section is ignored, as the full parse does.
                "producers" => producers.extend(producers_of(&custom).unwrap_or_default()),
                "go:buildid" => {
                    build_id = Some(String::from_utf8_lossy(custom.data()).trim().to_string());
                }
                _ => {}
            }
        }
    }
    toolchain(producers, build_id, false)
}

/// The name of a section kind by id, in a component or a core module.
pub fn section_kind(id: u8, component: bool) -> &'static str {
    if component {
        component_section_kind(id)
    } else {
        core_section_kind(id)
    }
}

fn core_section_kind(id: u8) -> &'static str {
    match id {
        0 => "custom",
        1 => "type",
        2 => "import",
        3 => "function",
        4 => "table",
        5 => "memory",
        6 => "global",
        7 => "export",
        8 => "start",
        9 => "element",
        10 => "code",
        11 => "data",
        12 => "datacount",
        13 => "tag",
        _ => "unknown",
    }
}

fn component_section_kind(id: u8) -> &'static str {
    match id {
        0 => "custom",
        1 => "core-module",
        2 => "core-instance",
        3 => "core-type",
        4 => "component",
        5 => "instance",
        6 => "alias",
        7 => "type",
        8 => "canon",
        9 => "start",
        10 => "import",
        11 => "export",
        12 => "value",
        _ => "unknown",
    }
}

#[cfg(test)]
mod world {
    use super::*;

    #[test]
    fn the_target_world_follows_the_wasi_export_and_its_version() {
        let of = |e: &[&str]| target_world(e.iter().copied());
        assert_eq!(
            of(&["wasi:cli/run@0.2.0"]).as_deref(),
            Some("wasi:cli/command@0.2.0")
        );
        assert_eq!(
            of(&["x:y/z", "wasi:http/incoming-handler@0.2.3"]).as_deref(),
            Some("wasi:http/proxy@0.2.3")
        );
        assert_eq!(of(&["wasi:cli/run"]).as_deref(), Some("wasi:cli/command"));
        assert_eq!(of(&["example:calc/ops@1.0.0"]), None);
    }
}
