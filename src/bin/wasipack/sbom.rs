//! `wasipack sbom FILE.wasm`: the Go modules inside any Go-built wasm, as SPDX or CycloneDX.

use std::path::PathBuf;
use wasipack::fsio::write_output;
use wasipack::sbom::{created_now_or_epoch, Sbom};
use wasipack::{Error, Result};

/// Recover the Go module list that Go embeds in every binary (the modinfo data) and write it
/// as an SBOM whose subject is the module's SHA-256. Works on modules built without wasipack;
/// `go version -m`, syft and cyclonedx-gomod cannot read it from wasm.
#[derive(clap::Args)]
pub struct Opts {
    /// The .wasm file, built by Go (gc).
    file: PathBuf,
    /// Output format.
    #[arg(long, short, value_enum, default_value = "spdx")]
    format: Format,
    /// Write to this file (atomically; a device or FIFO in place) instead of stdout; `-` is
    /// stdout.
    #[arg(long, short, value_name = "OUT")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Format {
    /// SPDX 2.3 JSON.
    Spdx,
    /// CycloneDX 1.5 JSON.
    Cyclonedx,
}

pub fn run(opts: Opts) -> Result<u8> {
    let (name, module) = super::inspect_file(&opts.file)?;
    let info = module.go_build_info.as_ref().ok_or_else(|| {
        Error::Input(format!(
            "{name}: no Go build info in the data section (not built by Go's gc toolchain; TinyGo does not embed it)"
        ))
    })?;
    let created = created_now_or_epoch()?;
    let file_name = opts
        .file
        .file_name()
        .map_or(name.clone(), |n| n.to_string_lossy().to_string());
    let sbom = Sbom::from_build_info(
        info,
        &file_name,
        &module.sha256,
        module.toolchain.version.clone(),
        created,
    );
    let doc = match opts.format {
        Format::Spdx => sbom.spdx(),
        Format::Cyclonedx => sbom.cyclonedx(),
    };
    let mut text = serde_json::to_string_pretty(&doc).expect("SBOM serializes");
    text.push('\n');
    match &opts.output {
        Some(path) => write_output(path, text.as_bytes())?,
        None => super::print(&text),
    }
    Ok(0)
}
