//! Any bytes through inspect and check, under every shipped policy: errors are fine, panics
//! are bugs. Run: `cargo +nightly fuzz run inspect_check` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use wasipack::policy::{Policy, SHIPPED};

fn policies() -> &'static [Policy] {
    static P: OnceLock<Vec<Policy>> = OnceLock::new();
    P.get_or_init(|| SHIPPED.iter().map(|(n, _)| Policy::load(n).unwrap()).collect())
}

fuzz_target!(|data: &[u8]| {
    if let Ok(module) = wasipack::wasm::inspect_module(data) {
        let _ = serde_json::to_string(&module);
    }
    for policy in policies() {
        if let Ok(report) = wasipack::check::check(data, policy) {
            let _ = wasipack::report::sarif::log(&report, "fuzz.wasm");
        }
    }
});
