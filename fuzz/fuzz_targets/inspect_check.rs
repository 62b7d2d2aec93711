//! Any bytes through inspect and check, under every shipped policy: errors are fine, panics
//! are bugs. Run: `cargo +nightly fuzz run inspect_check` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wasipack::policy::{Policy, SHIPPED};
use wasipack::wasm::{features::FeatureSet, inspect, validate};

fn policies() -> &'static [Policy] {
    static P: OnceLock<Vec<Policy>> = OnceLock::new();
    P.get_or_init(|| SHIPPED.iter().map(|(n, _)| Policy::load(n).unwrap()).collect())
}

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = inspect::parse(data, FeatureSet::all().to_wasmparser()) {
        let bodies = parsed.functions.iter().map(|(_, b)| b).collect();
        let _ = validate::scan_functions(bodies);
        let _ = serde_json::to_string(&parsed.inspection);
    }
    for policy in policies() {
        if let Ok(report) = wasipack::check::check(data, policy) {
            let _ = wasipack::report::sarif::log(&report, "fuzz.wasm");
        }
    }
});
