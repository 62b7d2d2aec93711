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
    /// The features found so far. Complete only where `features` is set; `check` leaves the
    /// module-level scan to validation.
    #[serde(skip)]
    pub feature_set: FeatureSet,
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

/// Per-core-module state: its types, for import signatures.
#[derive(Default)]
struct CoreState {
    /// This module's number (see [`Memory::module`]).
    id: u32,
    types: Vec<Option<Signature>>,
    memories: usize,
    tables: usize,
}

#[derive(Default)]
struct Builder {
    /// Encodings of the modules and components being parsed, outermost first.
    stack: Vec<Encoding>,
    core: Vec<CoreState>,
    /// How many core modules have started so far.
    core_modules: u32,
    kind: Option<Kind>,
    imports: Vec<Import>,
    exports: Vec<Export>,
    memories: Vec<Memory>,
    tables: Vec<Table>,
    start: Option<u32>,
    sections: Vec<Section>,
    producers: Vec<Producer>,
    build_id: Option<String>,
    name_mentions_tinygo: bool,
    used: FeatureSet,
    /// The top-level data section's contents (where Go keeps its build info).
    data: Option<std::ops::Range<u64>>,
    /// Whether to find the module-level feature uses (constant expressions, data segments).
    /// `check` validates with the policy's features instead, which already enforces them.
    scan_features: bool,
}

impl Builder {
    fn const_expr(&mut self, expr: &wasmparser::ConstExpr<'_>) -> Result<(), WasmError> {
        if self.scan_features {
            self.used = self.used.union(features::scan_const_expr(expr)?);
        }
        Ok(())
    }

    fn top(&self) -> bool {
        self.stack.len() == 1
    }

    fn payload(&mut self, payload: &Payload<'_>) -> Result<(), WasmError> {
        if self.top() {
            if let Some((id, range)) = payload.as_section() {
                self.section(id, range, payload);
            }
        }
        match payload {
            Payload::Version { encoding, .. } => {
                if self.stack.is_empty() {
                    self.kind = Some(match encoding {
                        Encoding::Module => Kind::CoreModule,
                        Encoding::Component => Kind::Component,
                    });
                }
                if *encoding == Encoding::Module {
                    self.core.push(CoreState {
                        id: self.core_modules,
                        ..CoreState::default()
                    });
                    self.core_modules += 1;
                } else {
                    self.used.insert(Id::COMPONENT_MODEL);
                }
                self.stack.push(*encoding);
            }
            Payload::End(_) => {
                let ended = self.stack.pop();
                if ended == Some(Encoding::Module) {
                    self.core.pop();
                }
            }
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    let group = group?;
                    if group.is_explicit_rec_group() {
                        self.used.insert(Id::GC);
                    }
                    for sub in group.into_types() {
                        if !sub.is_final || !sub.supertype_idxs.is_empty() {
                            self.used.insert(Id::GC);
                        }
                        let sig = match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                if f.results().len() > 1 {
                                    self.used.insert(Id::MULTI_VALUE);
                                }
                                for ty in f.params().iter().chain(f.results()) {
                                    self.val_type(*ty);
                                }
                                Some(Signature {
                                    params: f.params().to_vec(),
                                    results: f.results().to_vec(),
                                })
                            }
                            _ => {
                                self.used.insert(Id::GC);
                                None
                            }
                        };
                        if let Some(core) = self.core.last_mut() {
                            core.types.push(sig);
                        }
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for item in reader.clone().into_imports_with_offsets() {
                    let (offset, import) = item?;
                    self.core_entity(&import.ty, true, offset);
                    if self.top() {
                        self.core_import(import.module, import.name, &import.ty, offset);
                    }
                }
            }
            Payload::TableSection(reader) => {
                for table in reader.clone().into_iter_with_offsets() {
                    let (offset, table) = table?;
                    self.table(&table.ty, false, offset);
                    if let wasmparser::TableInit::Expr(expr) = &table.init {
                        self.const_expr(expr)?;
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader.clone().into_iter_with_offsets() {
                    let (offset, memory) = memory?;
                    self.memory(&memory, false, offset);
                }
            }
            Payload::TagSection(_) => self.used.insert(Id::EXCEPTIONS),
            Payload::GlobalSection(reader) => {
                for global in reader.clone() {
                    let global = global?;
                    self.val_type(global.ty.content_type);
                    self.const_expr(&global.init_expr)?;
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader.clone().into_iter_with_offsets() {
                    let (offset, export) = export?;
                    if self.top() {
                        self.exports.push(Export {
                            name: export.name.to_string(),
                            kind: external_kind(export.kind),
                            offset,
                        });
                    }
                }
            }
            Payload::StartSection { func, .. } if self.top() => self.start = Some(*func),
            Payload::DataCountSection { .. } => self.used.insert(Id::BULK_MEMORY),
            Payload::DataSection(reader) => {
                if self.top() {
                    self.data = Some(reader.range());
                }
                if self.scan_features {
                    for data in reader.clone() {
                        match data?.kind {
                            wasmparser::DataKind::Passive => self.used.insert(Id::BULK_MEMORY),
                            wasmparser::DataKind::Active {
                                memory_index,
                                offset_expr,
                            } => {
                                if memory_index != 0 {
                                    self.used.insert(Id::MULTI_MEMORY);
                                }
                                self.const_expr(&offset_expr)?;
                            }
                        }
                    }
                }
            }
            Payload::ElementSection(reader) => {
                for element in reader.clone() {
                    let element = element?;
                    match element.kind {
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => {
                            if table_index.unwrap_or(0) != 0 {
                                self.used.insert(Id::REFERENCE_TYPES);
                            }
                            self.const_expr(&offset_expr)?;
                        }
                        _ => self.used.insert(Id::BULK_MEMORY),
                    }
                    if let wasmparser::ElementItems::Expressions(ty, _) = element.items {
                        self.ref_type(ty);
                    }
                }
            }
            Payload::ComponentImportSection(reader) if self.top() => {
                for import in reader.clone().into_iter_with_offsets() {
                    let (offset, import) = import?;
                    let name = import.name.name.to_string();
                    self.imports.push(Import {
                        capabilities: wasi::preview2_capabilities(&name),
                        module: name,
                        name: String::new(),
                        kind: component_type_ref_kind(&import.ty),
                        signature_text: None,
                        signature: None,
                        count: 1,
                        offset,
                    });
                }
            }
            Payload::ComponentExportSection(reader) if self.top() => {
                for export in reader.clone().into_iter_with_offsets() {
                    let (offset, export) = export?;
                    self.exports.push(Export {
                        name: export.name.name.to_string(),
                        kind: component_external_kind(export.kind),
                        offset,
                    });
                }
            }
            Payload::CustomSection(reader) => match reader.as_known() {
                KnownCustom::Producers(producers) if self.top() => {
                    for field in producers {
                        let field = field?;
                        for value in field.values {
                            let value = value?;
                            self.producers.push(Producer {
                                field: field.name.to_string(),
                                name: value.name.to_string(),
                                version: value.version.to_string(),
                            });
                        }
                    }
                }
                KnownCustom::Name(_) if self.top() => {
                    let data = reader.data();
                    self.name_mentions_tinygo = memchr::memmem::find(data, b"tinygo").is_some();
                }
                _ if self.top() && reader.name() == "go:buildid" => {
                    // Go frames the ID as `\xff Go build ID: "ID"\n \xff`: keep the ID.
                    let text = String::from_utf8_lossy(reader.data());
                    let id = match (text.find('"'), text.rfind('"')) {
                        (Some(a), Some(b)) if a < b => text[a + 1..b].to_string(),
                        _ => text
                            .trim_matches(|c: char| c == '\u{fffd}' || c.is_whitespace())
                            .to_string(),
                    };
                    self.build_id = Some(id);
                }
                _ => {}
            },
            _ => {}
        }
        Ok(())
    }

    fn section(&mut self, id: u8, range: std::ops::Range<u64>, payload: &Payload<'_>) {
        let component = self.stack.first() == Some(&Encoding::Component);
        let (kind, name) = match payload {
            Payload::CustomSection(reader) => ("custom", Some(reader.name().to_string())),
            _ => (section_kind(id, component), None),
        };
        self.sections.push(Section {
            id,
            kind,
            name,
            offset: range.start,
            size: range.end - range.start,
        });
    }

    fn core_entity(&mut self, ty: &TypeRef, imported: bool, offset: u64) {
        match ty {
            TypeRef::Memory(m) => self.memory(m, imported, offset),
            TypeRef::Table(t) => self.table(t, imported, offset),
            TypeRef::Global(g) => {
                if g.mutable {
                    self.used.insert(Id::MUTABLE_GLOBAL);
                }
                self.val_type(g.content_type);
            }
            TypeRef::Tag(_) => self.used.insert(Id::EXCEPTIONS),
            TypeRef::Func(_) | TypeRef::FuncExact(_) => {}
        }
    }

    fn core_import(&mut self, module: &str, name: &str, ty: &TypeRef, offset: u64) {
        let kind = type_ref_kind(ty);
        let signature = match ty {
            TypeRef::Func(idx) | TypeRef::FuncExact(idx) => self
                .core
                .last()
                .and_then(|c| c.types.get(*idx as usize))
                .cloned()
                .flatten(),
            _ => None,
        };
        // Fold only true duplicates: the same name declared again with another signature (a
        // hand-written //go:wasmimport beside the standard library's) must stay visible.
        if let Some(existing) = self.imports.iter_mut().find(|i| {
            i.module == module && i.name == name && i.kind == kind && i.signature == signature
        }) {
            existing.count += 1;
            return;
        }
        let capabilities = if module == wasi::PREVIEW1 || module == wasi::PREVIEW0 {
            wasi::preview1(name)
                .map(|f| vec![f.capability])
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        self.imports.push(Import {
            module: module.to_string(),
            name: name.to_string(),
            kind,
            signature_text: signature.as_ref().map(Signature::text),
            signature,
            capabilities,
            count: 1,
            offset,
        });
    }

    fn memory(&mut self, m: &wasmparser::MemoryType, imported: bool, offset: u64) {
        if m.memory64 {
            self.used.insert(Id::MEMORY64);
        }
        if m.shared {
            self.used.insert(Id::THREADS);
        }
        if m.page_size_log2.is_some() {
            self.used.insert(Id::CUSTOM_PAGE_SIZES);
        }
        let (module, index) = self
            .core
            .last()
            .map_or((0, 0), |c| (c.id, c.memories as u32));
        self.memories.push(Memory {
            module,
            index,
            imported,
            initial_pages: m.initial,
            maximum_pages: m.maximum,
            shared: m.shared,
            memory64: m.memory64,
            page_size: 1 << m.page_size_log2.unwrap_or(16),
            offset,
        });
        // Per core module: a component's nested modules each have their own index spaces.
        if let Some(core) = self.core.last_mut() {
            core.memories += 1;
            if core.memories > 1 {
                self.used.insert(Id::MULTI_MEMORY);
            }
        }
    }

    fn table(&mut self, t: &wasmparser::TableType, imported: bool, offset: u64) {
        if t.table64 {
            self.used.insert(Id::MEMORY64);
        }
        self.ref_type(t.element_type);
        if t.element_type != RefType::FUNCREF {
            self.used.insert(Id::REFERENCE_TYPES);
        }
        self.tables.push(Table {
            imported,
            element_type: t.element_type.to_string(),
            initial: t.initial,
            maximum: t.maximum,
            table64: t.table64,
            offset,
        });
        if let Some(core) = self.core.last_mut() {
            core.tables += 1;
            if core.tables > 1 {
                self.used.insert(Id::REFERENCE_TYPES);
            }
        }
    }

    fn val_type(&mut self, ty: ValType) {
        match ty {
            ValType::V128 => self.used.insert(Id::SIMD),
            ValType::Ref(r) => self.ref_type(r),
            _ => {}
        }
    }

    fn ref_type(&mut self, r: RefType) {
        if r == RefType::FUNCREF || r == RefType::EXTERNREF {
            if r == RefType::EXTERNREF {
                self.used.insert(Id::REFERENCE_TYPES);
            }
        } else if r.is_concrete_type_ref() || !r.is_nullable() {
            self.used.insert(Id::FUNCTION_REFERENCES);
        } else {
            self.used.insert(Id::GC);
        }
    }

    fn finish(self, bytes: &[u8]) -> Inspection {
        let kind = self.kind.unwrap_or(Kind::CoreModule);
        // The build info never spans two data segments (it has no run of zeros for Go's linker
        // to split at), so one search over the whole section finds it.
        let go_build_info = self
            .data
            .as_ref()
            .and_then(|r| modinfo::find(&bytes[r.start as usize..r.end as usize], r.start));
        let toolchain = toolchain(self.producers, self.build_id, self.name_mentions_tinygo);
        let mut capabilities: BTreeMap<Capability, Vec<String>> = BTreeMap::new();
        for import in &self.imports {
            for cap in &import.capabilities {
                let label = if import.name.is_empty() {
                    import.module.clone()
                } else {
                    import.name.clone()
                };
                capabilities.entry(*cap).or_default().push(label);
            }
        }
        let abi = detect_abi(kind, &self.imports, &self.exports);
        Inspection {
            kind,
            size: bytes.len() as u64,
            sha256: String::new(),
            abi,
            abi_description: abi.describe(),
            toolchain,
            imports: self.imports,
            capabilities,
            exports: self.exports,
            memories: self.memories,
            tables: self.tables,
            start: self.start,
            features: None,
            sections: self.sections,
            go_build_info,
            feature_set: self.used,
        }
    }
}

fn detect_abi(kind: Kind, imports: &[Import], exports: &[Export]) -> Abi {
    let exported = |name: &str| exports.iter().any(|e| e.name == name);
    if kind == Kind::Component {
        let wasi = imports
            .iter()
            .map(|i| &i.module)
            .chain(exports.iter().map(|e| &e.name));
        return if wasi.into_iter().any(|n| n.starts_with("wasi:")) {
            Abi::Wasip2Component
        } else {
            Abi::Component
        };
    }
    for (export, version) in [
        ("proxy_abi_version_0_2_1", "0.2.1"),
        ("proxy_abi_version_0_2_0", "0.2.0"),
        ("proxy_abi_version_0_1_0", "0.1.0"),
    ] {
        if exported(export) {
            return Abi::ProxyWasm(version);
        }
    }
    if imports.iter().any(|i| i.module == "gojs") {
        return Abi::GoJs;
    }
    if imports.iter().any(|i| i.module == wasi::PREVIEW0) {
        return Abi::WasiUnstable;
    }
    if exported("_start") {
        Abi::Wasip1Command
    } else if exported("_initialize") {
        Abi::Wasip1Reactor
    } else {
        Abi::Unknown
    }
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
            match custom.as_known() {
                KnownCustom::Producers(fields) => {
                    for field in fields.into_iter().flatten() {
                        for value in field.values.into_iter().flatten() {
                            producers.push(Producer {
                                field: field.name.to_string(),
                                name: value.name.to_string(),
                                version: value.version.to_string(),
                            });
                        }
                    }
                }
                _ if custom.name() == "go:buildid" => {
                    build_id = Some(String::from_utf8_lossy(custom.data()).trim().to_string());
                }
                _ => {}
            }
        }
    }
    toolchain(producers, build_id, false)
}

fn toolchain(
    producers: Vec<Producer>,
    build_id: Option<String>,
    name_mentions_tinygo: bool,
) -> Toolchain {
    let mentions = |needle: &str| {
        producers
            .iter()
            .find(|p| p.name.to_ascii_lowercase().contains(needle))
            .map(|p| p.version.clone())
    };
    let (name, version) = if let Some(v) = mentions("tinygo") {
        ("tinygo".to_string(), Some(v))
    } else if build_id.is_some()
        || producers
            .iter()
            .any(|p| p.name == "Go" || p.name == "Go cmd/compile")
    {
        let version = producers
            .iter()
            .find(|p| p.name.starts_with("Go") && !p.version.is_empty())
            .map(|p| p.version.clone());
        ("go".to_string(), version)
    } else if name_mentions_tinygo {
        ("tinygo".to_string(), None)
    } else if let Some(p) = producers
        .iter()
        .find(|p| p.field == "language")
        .or_else(|| producers.iter().find(|p| p.field == "processed-by"))
    {
        (
            p.name.clone(),
            Some(p.version.clone()).filter(|v| !v.is_empty()),
        )
    } else {
        ("unknown".to_string(), None)
    };
    Toolchain {
        name,
        version,
        build_id,
        producers,
    }
}

fn type_ref_kind(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => "func",
        TypeRef::Table(_) => "table",
        TypeRef::Memory(_) => "memory",
        TypeRef::Global(_) => "global",
        TypeRef::Tag(_) => "tag",
    }
}

fn external_kind(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "func",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

fn component_type_ref_kind(ty: &ComponentTypeRef) -> &'static str {
    match ty {
        ComponentTypeRef::Module(_) => "module",
        ComponentTypeRef::Func(_) => "func",
        ComponentTypeRef::Value(_) => "value",
        ComponentTypeRef::Type(_) => "type",
        ComponentTypeRef::Instance(_) => "instance",
        ComponentTypeRef::Component(_) => "component",
    }
}

fn component_external_kind(kind: ComponentExternalKind) -> &'static str {
    match kind {
        ComponentExternalKind::Module => "module",
        ComponentExternalKind::Func => "func",
        ComponentExternalKind::Value => "value",
        ComponentExternalKind::Type => "type",
        ComponentExternalKind::Instance => "instance",
        ComponentExternalKind::Component => "component",
    }
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
