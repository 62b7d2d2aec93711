//! Function-body validation, in parallel as wasm-tools does it, reusing each worker's
//! validator allocations from one function to the next.

use super::features::{self, FeatureSet};
use super::inspect::{self, Inspection};
use super::WasmError;
use rayon::prelude::*;
use std::sync::Mutex;
use wasmparser::{
    FuncToValidate, FuncValidatorAllocations, FunctionBody, ValidatorResources, WasmFeatures,
};

type Queued<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// How many function bodies one validation task takes: enough to amortise the task, few
/// enough that the other core starts while the parser is still in the code section.
const BATCH: usize = 128;

/// Parses and fully validates a module with `features`. Function bodies are validated in
/// batches on the other workers while this one parses on (Go puts a large data section after
/// the code), and the SHA-256 of the file is computed meanwhile. Reports the error with the
/// lowest offset, whatever the schedule.
pub fn parse_and_validate(bytes: &[u8], features: WasmFeatures) -> Result<Inspection, WasmError> {
    parse_and_validate_known(bytes, features, None)
}

/// [`parse_and_validate`] for bytes whose SHA-256 (hex) is already known, checked by the
/// caller (`verify` checks it as the module downloads): it is not computed again.
pub fn parse_and_validate_known(
    bytes: &[u8],
    features: WasmFeatures,
    sha256: Option<&str>,
) -> Result<Inspection, WasmError> {
    let first_error: Mutex<Option<WasmError>> = Mutex::new(None);
    let record = |e: WasmError| {
        let mut slot = first_error.lock().expect("no task panics holding the lock");
        if slot.as_ref().is_none_or(|f| e.offset < f.offset) {
            *slot = Some(e);
        }
    };
    let record = &record;
    let known = sha256;
    let mut sha256 = known.map(str::to_string).unwrap_or_default();
    let parsed = rayon::scope(|s| {
        let sha256 = &mut sha256;
        if known.is_none() {
            s.spawn(move |_| *sha256 = crate::digest::sha256_hex(bytes));
        }
        let mut batch = Vec::with_capacity(BATCH);
        let parsed = inspect::parse_streaming(bytes, features, false, |func, body| {
            batch.push((func, body));
            if batch.len() == BATCH {
                let work = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                s.spawn(move |_| validate_batch(work, record));
            }
        });
        if !batch.is_empty() {
            s.spawn(move |_| validate_batch(batch, record));
        }
        parsed
    });
    let body_error = first_error.into_inner().expect("no task panicked");
    match (parsed, body_error) {
        (Err(p), Some(b)) => Err(if b.offset < p.offset { b } else { p }),
        (Err(e), None) | (Ok(_), Some(e)) => Err(e),
        (Ok(mut inspection), None) => {
            inspection.sha256 = sha256;
            Ok(inspection)
        }
    }
}

fn validate_batch(batch: Vec<Queued<'_>>, record: &(impl Fn(WasmError) + Sync)) {
    let mut allocs = FuncValidatorAllocations::default();
    for (func, body) in batch {
        let mut validator = func.into_validator(allocs);
        if let Err(e) = validator.validate(&body) {
            record(WasmError::from(e));
        }
        allocs = validator.into_allocations();
    }
}

/// Scans every body for the features its instructions use.
pub fn scan_functions(bodies: Vec<&FunctionBody<'_>>) -> Result<FeatureSet, WasmError> {
    bodies
        .into_par_iter()
        .map(|body| features::scan_body(body).map_err(WasmError::from))
        .try_reduce(FeatureSet::empty, |a, b| Ok(a.union(b)))
}
