//! Function-body validation, in parallel as wasm-tools does it, reusing each worker's
//! validator allocations from one function to the next.

use super::features::{self, FeatureSet};
use super::WasmError;
use rayon::prelude::*;
use wasmparser::{FuncToValidate, FuncValidatorAllocations, FunctionBody, ValidatorResources};

type Queued<'a> = (FuncToValidate<ValidatorResources>, FunctionBody<'a>);

/// Validates every queued body. On failure returns the error with the lowest offset, so the
/// report is the same whatever the thread schedule.
pub fn validate_functions(functions: Vec<Queued<'_>>) -> Result<(), WasmError> {
    functions
        .into_par_iter()
        .map_init(FuncValidatorAllocations::default, |allocs, (func, body)| {
            let mut validator = func.into_validator(std::mem::take(allocs));
            let result = validator.validate(&body).map_err(WasmError::from);
            *allocs = validator.into_allocations();
            result
        })
        .filter_map(Result::err)
        .min_by_key(|e| e.offset)
        .map_or(Ok(()), Err)
}

/// Scans every body for the features its instructions use.
pub fn scan_functions(bodies: Vec<&FunctionBody<'_>>) -> Result<FeatureSet, WasmError> {
    bodies
        .into_par_iter()
        .map(|body| features::scan_body(body).map_err(WasmError::from))
        .try_reduce(FeatureSet::empty, |a, b| Ok(a.union(b)))
}
