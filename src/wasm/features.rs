//! WebAssembly features (proposals): their names in policies and reports, the wasmparser flags
//! behind them, and a scan that finds which ones a function body actually uses.

use wasmparser::{BlockType, FunctionBody, MemArg, VisitOperator, VisitSimdOperator, WasmFeatures};

/// A feature a module can use beyond the MVP, with its policy-file name and wasmparser flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub name: &'static str,
    pub flags: WasmFeatures,
}

macro_rules! features {
    ($($ident:ident = $name:literal => $flag:ident;)*) => {
        /// Indices into [`FEATURES`], usable as bits of a [`FeatureSet`].
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Id { $($ident,)* }

        /// Every feature wasipack knows by name, in report order.
        pub const FEATURES: &[Feature] = &[
            $(Feature { name: $name, flags: WasmFeatures::$flag },)*
        ];
    };
}

features! {
    MUTABLE_GLOBAL = "mutable-global" => MUTABLE_GLOBAL;
    SIGN_EXTENSION = "sign-extension" => SIGN_EXTENSION;
    SATURATING_FLOAT_TO_INT = "saturating-float-to-int" => SATURATING_FLOAT_TO_INT;
    MULTI_VALUE = "multi-value" => MULTI_VALUE;
    BULK_MEMORY_OPT = "bulk-memory-opt" => BULK_MEMORY_OPT;
    BULK_MEMORY = "bulk-memory" => BULK_MEMORY;
    CALL_INDIRECT_OVERLONG = "call-indirect-overlong" => CALL_INDIRECT_OVERLONG;
    REFERENCE_TYPES = "reference-types" => REFERENCE_TYPES;
    EXTENDED_CONST = "extended-const" => EXTENDED_CONST;
    SIMD = "simd" => SIMD;
    RELAXED_SIMD = "relaxed-simd" => RELAXED_SIMD;
    THREADS = "threads" => THREADS;
    SHARED_EVERYTHING_THREADS = "shared-everything-threads" => SHARED_EVERYTHING_THREADS;
    TAIL_CALL = "tail-call" => TAIL_CALL;
    MULTI_MEMORY = "multi-memory" => MULTI_MEMORY;
    MEMORY64 = "memory64" => MEMORY64;
    EXCEPTIONS = "exceptions" => EXCEPTIONS;
    LEGACY_EXCEPTIONS = "legacy-exceptions" => LEGACY_EXCEPTIONS;
    FUNCTION_REFERENCES = "function-references" => FUNCTION_REFERENCES;
    GC = "gc" => GC;
    CUSTOM_PAGE_SIZES = "custom-page-sizes" => CUSTOM_PAGE_SIZES;
    MEMORY_CONTROL = "memory-control" => MEMORY_CONTROL;
    STACK_SWITCHING = "stack-switching" => STACK_SWITCHING;
    WIDE_ARITHMETIC = "wide-arithmetic" => WIDE_ARITHMETIC;
    CUSTOM_DESCRIPTORS = "custom-descriptors" => CUSTOM_DESCRIPTORS;
    COMPACT_IMPORTS = "compact-imports" => COMPACT_IMPORTS;
    COMPONENT_MODEL = "component-model" => COMPONENT_MODEL;
}

/// Looks a feature up by its policy-file name.
pub fn by_name(name: &str) -> Option<Id> {
    FEATURES
        .iter()
        .position(|f| f.name == name)
        .map(|i| ALL_IDS[i])
}

const ALL_IDS: [Id; 27] = {
    use Id::*;
    [
        MUTABLE_GLOBAL,
        SIGN_EXTENSION,
        SATURATING_FLOAT_TO_INT,
        MULTI_VALUE,
        BULK_MEMORY_OPT,
        BULK_MEMORY,
        CALL_INDIRECT_OVERLONG,
        REFERENCE_TYPES,
        EXTENDED_CONST,
        SIMD,
        RELAXED_SIMD,
        THREADS,
        SHARED_EVERYTHING_THREADS,
        TAIL_CALL,
        MULTI_MEMORY,
        MEMORY64,
        EXCEPTIONS,
        LEGACY_EXCEPTIONS,
        FUNCTION_REFERENCES,
        GC,
        CUSTOM_PAGE_SIZES,
        MEMORY_CONTROL,
        STACK_SWITCHING,
        WIDE_ARITHMETIC,
        CUSTOM_DESCRIPTORS,
        COMPACT_IMPORTS,
        COMPONENT_MODEL,
    ]
};

/// A set of features, one bit per [`Id`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeatureSet(u64);

impl FeatureSet {
    pub const fn empty() -> Self {
        FeatureSet(0)
    }

    pub fn insert(&mut self, id: Id) {
        self.0 |= 1 << id as u8;
    }

    pub fn contains(self, id: Id) -> bool {
        self.0 & (1 << id as u8) != 0
    }

    pub fn union(self, other: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 | other.0)
    }

    /// The features in `self` that `allowed` lacks.
    pub fn minus(self, allowed: FeatureSet) -> FeatureSet {
        FeatureSet(self.0 & !allowed.0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the features in the set, in report order.
    pub fn names(self) -> Vec<&'static str> {
        ALL_IDS
            .iter()
            .filter(|id| self.contains(**id))
            .map(|id| FEATURES[*id as usize].name)
            .collect()
    }

    /// The wasmparser feature flags that accept exactly this set on top of the MVP.
    pub fn to_wasmparser(self) -> WasmFeatures {
        let mut flags = WasmFeatures::MVP;
        for id in ALL_IDS {
            if self.contains(id) {
                flags |= FEATURES[id as usize].flags;
                if id == Id::COMPONENT_MODEL {
                    // The component model's own sub-features, as wasmparser enables them by default.
                    flags |= WasmFeatures::default() & component_model_subfeatures();
                }
            }
        }
        flags
    }

    /// Every feature wasipack knows.
    pub fn all() -> FeatureSet {
        let mut set = FeatureSet::empty();
        for id in ALL_IDS {
            set.insert(id);
        }
        set
    }
}

fn component_model_subfeatures() -> WasmFeatures {
    WasmFeatures::CM_VALUES
        | WasmFeatures::CM_NESTED_NAMES
        | WasmFeatures::CM_ASYNC
        | WasmFeatures::CM_ASYNC_STACKFUL
        | WasmFeatures::CM_MORE_ASYNC_BUILTINS
        | WasmFeatures::CM_THREADING
        | WasmFeatures::CM_ERROR_CONTEXT
        | WasmFeatures::CM_FIXED_LENGTH_LISTS
        | WasmFeatures::CM_GC
        | WasmFeatures::CM_MAP
        | WasmFeatures::CM_IMPLEMENTS
}

/// What Go (1.21 to 1.27) and TinyGo emit: wasmparser's `lime1` set plus full bulk memory and
/// reference types (LLVM 19+ turns those on by default for TinyGo).
pub fn go_default() -> FeatureSet {
    let mut set = FeatureSet::empty();
    for id in [
        Id::MUTABLE_GLOBAL,
        Id::SIGN_EXTENSION,
        Id::SATURATING_FLOAT_TO_INT,
        Id::MULTI_VALUE,
        Id::BULK_MEMORY_OPT,
        Id::BULK_MEMORY,
        Id::CALL_INDIRECT_OVERLONG,
        Id::REFERENCE_TYPES,
        Id::EXTENDED_CONST,
    ] {
        set.insert(id);
    }
    set
}

/// Scans one function body and returns the features its instructions use. Module-level uses
/// (memories, tables, types) are found by the inspector.
pub fn scan_body(body: &FunctionBody<'_>) -> wasmparser::Result<FeatureSet> {
    let mut reader = body.get_operators_reader()?;
    let mut scan = Scan(FeatureSet::empty());
    while !reader.eof() {
        reader.visit_operator(&mut scan)?;
    }
    Ok(scan.0)
}

/// Returns the features that a constant expression's instructions use (extended-const and
/// the reference-type and GC forms).
pub fn scan_const_expr(expr: &wasmparser::ConstExpr<'_>) -> wasmparser::Result<FeatureSet> {
    let mut reader = expr.get_operators_reader();
    let mut scan = Scan(FeatureSet::empty());
    while !reader.eof() {
        let op = reader.read()?;
        use wasmparser::Operator::*;
        match op {
            I32Const { .. }
            | I64Const { .. }
            | F32Const { .. }
            | F64Const { .. }
            | GlobalGet { .. }
            | End => {}
            I32Add | I32Sub | I32Mul | I64Add | I64Sub | I64Mul => {
                scan.0.insert(Id::EXTENDED_CONST)
            }
            V128Const { .. } => scan.0.insert(Id::SIMD),
            RefNull { .. } | RefFunc { .. } => scan.0.insert(Id::REFERENCE_TYPES),
            _ => scan.0.insert(Id::GC),
        }
    }
    Ok(scan.0)
}

struct Scan(FeatureSet);

impl Scan {
    fn memarg(&mut self, memarg: &MemArg) {
        if memarg.memory != 0 {
            self.0.insert(Id::MULTI_MEMORY);
        }
    }

    fn blockty(&mut self, blockty: &BlockType) {
        if let BlockType::FuncType(_) = blockty {
            self.0.insert(Id::MULTI_VALUE);
        }
    }
}

/// The feature that a proposal group of `for_each_visit_operator!` belongs to.
macro_rules! proposal {
    (mvp) => {
        None
    };
    (sign_extension) => {
        Some(Id::SIGN_EXTENSION)
    };
    (saturating_float_to_int) => {
        Some(Id::SATURATING_FLOAT_TO_INT)
    };
    (bulk_memory) => {
        Some(Id::BULK_MEMORY)
    };
    (reference_types) => {
        Some(Id::REFERENCE_TYPES)
    };
    (tail_call) => {
        Some(Id::TAIL_CALL)
    };
    (memory_control) => {
        Some(Id::MEMORY_CONTROL)
    };
    (threads) => {
        Some(Id::THREADS)
    };
    (simd) => {
        Some(Id::SIMD)
    };
    (relaxed_simd) => {
        Some(Id::RELAXED_SIMD)
    };
    (exceptions) => {
        Some(Id::EXCEPTIONS)
    };
    (legacy_exceptions) => {
        Some(Id::LEGACY_EXCEPTIONS)
    };
    (shared_everything_threads) => {
        Some(Id::SHARED_EVERYTHING_THREADS)
    };
    (function_references) => {
        Some(Id::FUNCTION_REFERENCES)
    };
    (stack_switching) => {
        Some(Id::STACK_SWITCHING)
    };
    (wide_arithmetic) => {
        Some(Id::WIDE_ARITHMETIC)
    };
    (gc) => {
        Some(Id::GC)
    };
    (custom_descriptors) => {
        Some(Id::CUSTOM_DESCRIPTORS)
    };
}

/// Immediates that reveal a feature on an otherwise-MVP instruction.
macro_rules! immediate {
    ($scan:ident, memarg, $v:ident) => {
        $scan.memarg(&$v)
    };
    ($scan:ident, blockty, $v:ident) => {
        $scan.blockty(&$v)
    };
    ($scan:ident, table_index, $v:ident) => {
        if $v != 0 {
            $scan.0.insert(Id::REFERENCE_TYPES)
        }
    };
    ($scan:ident, $other:ident, $v:ident) => {{
        let _ = &$v;
    }};
}

macro_rules! define_scan {
    ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
        $(
            #[allow(unused_variables)]
            fn $visit(&mut self $($(,$arg: $argty)*)?) {
                if !define_scan!(@op self $op) {
                    if let Some(id) = proposal!($proposal) {
                        self.0.insert(id);
                    }
                }
                $($(immediate!(self, $arg, $arg);)*)?
            }
        )*
    };
    // memory.copy and memory.fill are the "bulk-memory-opt" subset of bulk memory.
    (@op $s:ident MemoryCopy) => {{ $s.0.insert(Id::BULK_MEMORY_OPT); true }};
    (@op $s:ident MemoryFill) => {{ $s.0.insert(Id::BULK_MEMORY_OPT); true }};
    (@op $s:ident $op:ident) => { false };
}

impl<'a> VisitOperator<'a> for Scan {
    type Output = ();

    fn simd_visitor(&mut self) -> Option<&mut dyn VisitSimdOperator<'a, Output = ()>> {
        Some(self)
    }

    wasmparser::for_each_visit_operator!(define_scan);
}

impl<'a> VisitSimdOperator<'a> for Scan {
    wasmparser::for_each_visit_simd_operator!(define_scan);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in FEATURES {
            let id = by_name(f.name).unwrap();
            assert_eq!(FEATURES[id as usize].name, f.name);
        }
        assert!(by_name("no-such-thing").is_none());
    }

    #[test]
    fn go_default_validates_what_lime1_validates() {
        let flags = go_default().to_wasmparser();
        assert!(flags.contains(WasmFeatures::LIME1));
        assert!(!flags.contains(WasmFeatures::SIMD));
    }
}
