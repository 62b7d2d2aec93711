//! `wasipack inspect FILE`: what a module is, imports, exports and contains.

use std::path::PathBuf;

use wasipack::report;
use wasipack::Result;

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
    let (name, module) = super::inspect_file(&opts.file)?;
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
