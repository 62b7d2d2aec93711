//! `wasipack inspect FILE`: what a module is, imports, exports and contains.

use std::path::PathBuf;
use wasipack::error::read_input;
use wasipack::report;
use wasipack::wasm::{features::FeatureSet, inspect, validate};
use wasipack::{Error, Result};

/// Show a module's or component's ABI, toolchain, imports by capability, exports, memories,
/// features, sections and embedded Go module list.
#[derive(clap::Args)]
pub struct Opts {
    /// The .wasm file.
    file: PathBuf,
    /// Print JSON (schema wasipack.inspect/v1, see docs/json.md).
    #[arg(long)]
    json: bool,
}

pub fn run(opts: Opts) -> Result<u8> {
    let name = opts.file.display().to_string();
    let bytes = read_input(&opts.file)?;
    let wasm_error = |error| Error::Wasm {
        file: name.clone(),
        error,
    };
    let parsed = inspect::parse(&bytes, FeatureSet::all().to_wasmparser()).map_err(wasm_error)?;
    let bodies = parsed.functions.iter().map(|(_, b)| b).collect();
    let used = validate::scan_functions(bodies).map_err(wasm_error)?;
    let mut module = parsed.inspection;
    module.feature_set = module.feature_set.union(used);
    module.features = Some(module.feature_set.names());
    if opts.json {
        super::print(&report::json(report::INSPECT_SCHEMA, &name, &module));
    } else {
        super::print(&report::human::inspect(
            &module,
            &name,
            super::stdout_style(),
        ));
    }
    Ok(0)
}
