//! `wasipack inspect FILE`: what a module is, imports, exports and contains.

use std::path::PathBuf;
use wasipack::fsio::read_input;
use wasipack::report;
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
    let module = wasipack::wasm::inspect_module(&bytes).map_err(|error| Error::Wasm {
        file: name.clone(),
        error,
    })?;
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
