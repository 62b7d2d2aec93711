//! The section walk behind [`super::parse`]: a builder that visits each payload once and
//! collects imports, exports, memories, tables, sections, producers and the ABI, plus the
//! toolchain read from the custom sections.

use super::*;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::BuildHasher;

/// Per-core-module state: its types, for import signatures.
#[derive(Default)]
pub(super) struct CoreState {
    /// This module's number (see [`Memory::module`]).
    pub(super) id: u32,
    pub(super) types: Vec<Option<Signature>>,
    pub(super) memories: usize,
    pub(super) tables: usize,
}

#[derive(Default)]
pub(super) struct Builder {
    /// Encodings of the modules and components being parsed, outermost first.
    pub(super) stack: Vec<Encoding>,
    pub(super) core: Vec<CoreState>,
    /// How many core modules have started so far.
    pub(super) core_modules: u32,
    pub(super) kind: Option<Kind>,
    pub(super) imports: Vec<Import>,
    /// Where each top-level import sits in `imports`, by a hash of its (module, name, kind):
    /// folding a duplicate is a lookup, not a scan of every import so far.
    pub(super) import_index: HashMap<u64, Vec<usize>>,
    pub(super) import_hasher: RandomState,
    pub(super) exports: Vec<Export>,
    pub(super) memories: Vec<Memory>,
    pub(super) tables: Vec<Table>,
    pub(super) start: Option<u32>,
    pub(super) sections: Vec<Section>,
    pub(super) producers: Vec<Producer>,
    /// Custom sections that do not parse, ignored (see [`Warning`]).
    pub(super) warnings: Vec<Warning>,
    pub(super) build_id: Option<String>,
    pub(super) name_mentions_tinygo: bool,
    pub(super) used: FeatureSet,
    /// The top-level data section's contents (where Go keeps its build info).
    pub(super) data: Option<std::ops::Range<u64>>,
    /// Whether to find the module-level feature uses (constant expressions, data segments).
    /// `check` validates with the policy's features instead, which already enforces them.
    pub(super) scan_features: bool,
}

impl Builder {
    pub(super) fn const_expr(&mut self, expr: &wasmparser::ConstExpr<'_>) -> Result<(), WasmError> {
        if self.scan_features {
            self.used = self.used.union(features::scan_const_expr(expr)?);
        }
        Ok(())
    }

    pub(super) fn top(&self) -> bool {
        self.stack.len() == 1
    }

    pub(super) fn payload(&mut self, payload: &Payload<'_>) -> Result<(), WasmError> {
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
                // By name, not `KnownCustom::Producers`: a section whose field count does not
                // parse is not "known" to wasmparser, and must be warned about all the same.
                _ if self.top() && reader.name() == "producers" => match producers_of(reader) {
                    Ok(producers) => self.producers.extend(producers),
                    Err(e) => self.warnings.push(Warning::malformed_producers(
                        &e,
                        "ignored; the module is valid without it",
                    )),
                },
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

    pub(super) fn section(&mut self, id: u8, range: std::ops::Range<u64>, payload: &Payload<'_>) {
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

    pub(super) fn core_entity(&mut self, ty: &TypeRef, imported: bool, offset: u64) {
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

    pub(super) fn core_import(&mut self, module: &str, name: &str, ty: &TypeRef, offset: u64) {
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
        let key = self.import_hasher.hash_one((module, name, kind));
        let same = self.import_index.get(&key).and_then(|at| {
            at.iter().copied().find(|&n| {
                let i = &self.imports[n];
                i.module == module && i.name == name && i.kind == kind && i.signature == signature
            })
        });
        if let Some(n) = same {
            self.imports[n].count += 1;
            return;
        }
        self.import_index
            .entry(key)
            .or_default()
            .push(self.imports.len());
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

    pub(super) fn memory(&mut self, m: &wasmparser::MemoryType, imported: bool, offset: u64) {
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

    pub(super) fn table(&mut self, t: &wasmparser::TableType, imported: bool, offset: u64) {
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

    pub(super) fn val_type(&mut self, ty: ValType) {
        match ty {
            ValType::V128 => self.used.insert(Id::SIMD),
            ValType::Ref(r) => self.ref_type(r),
            _ => {}
        }
    }

    pub(super) fn ref_type(&mut self, r: RefType) {
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

    pub(super) fn finish(self, bytes: &[u8]) -> Inspection {
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
        let world = (kind == Kind::Component)
            .then(|| super::target_world(self.exports.iter().map(|e| e.name.as_str())))
            .flatten();
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
            world,
            warnings: self.warnings,
            feature_set: self.used,
        }
    }
}

pub(super) fn detect_abi(kind: Kind, imports: &[Import], exports: &[Export]) -> Abi {
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

pub(super) fn toolchain(
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

pub(super) fn type_ref_kind(ty: &TypeRef) -> &'static str {
    match ty {
        TypeRef::Func(_) | TypeRef::FuncExact(_) => "func",
        TypeRef::Table(_) => "table",
        TypeRef::Memory(_) => "memory",
        TypeRef::Global(_) => "global",
        TypeRef::Tag(_) => "tag",
    }
}

pub(super) fn external_kind(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "func",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

pub(super) fn component_type_ref_kind(ty: &ComponentTypeRef) -> &'static str {
    match ty {
        ComponentTypeRef::Module(_) => "module",
        ComponentTypeRef::Func(_) => "func",
        ComponentTypeRef::Value(_) => "value",
        ComponentTypeRef::Type(_) => "type",
        ComponentTypeRef::Instance(_) => "instance",
        ComponentTypeRef::Component(_) => "component",
    }
}

pub(super) fn component_external_kind(kind: ComponentExternalKind) -> &'static str {
    match kind {
        ComponentExternalKind::Module => "module",
        ComponentExternalKind::Func => "func",
        ComponentExternalKind::Value => "value",
        ComponentExternalKind::Type => "type",
        ComponentExternalKind::Instance => "instance",
        ComponentExternalKind::Component => "component",
    }
}
