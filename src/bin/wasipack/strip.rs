//! `wasipack strip FILE -o OUT`: drop custom sections, stamp `producers`.

use std::path::PathBuf;
use wasipack::fsio::{read_input, write_output};
use wasipack::report;
use wasipack::rewrite::{rewrite, StripRules};
use wasipack::text::printable;
use wasipack::{Error, Result};

/// Remove custom sections (by default the release profile: `name`, `.debug_*`,
/// `sourceMappingURL`, `external_debug_info`) and stamp `processed-by: wasipack` into
/// `producers`. Every other section is copied byte for byte; the result is validated.
#[derive(clap::Args)]
pub struct Opts {
    /// The .wasm file.
    file: PathBuf,
    /// Where to write the result (written to a temporary file, then renamed; a device or FIFO
    /// in place). `-` is stdout, and the summary then goes to stderr.
    #[arg(short, long, value_name = "OUT")]
    output: PathBuf,
    /// Keep custom sections matching this glob, whatever else says (repeatable).
    #[arg(long, value_name = "GLOB")]
    keep: Vec<String>,
    /// Remove custom sections matching this glob (repeatable). Replaces the release profile's
    /// list (name, .debug_*, sourceMappingURL, external_debug_info).
    #[arg(long, value_name = "GLOB")]
    delete: Vec<String>,
    /// Remove every custom section not kept with --keep.
    #[arg(long)]
    all: bool,
    /// Do not stamp `processed-by: wasipack` into `producers`.
    #[arg(long)]
    no_stamp: bool,
    /// Print JSON (schema wasipack.strip/v1).
    #[arg(long)]
    json: bool,
}

pub fn run(opts: Opts) -> Result<u8> {
    let name = opts.file.display().to_string();
    // The release profile's delete list applies unless --delete replaces it (as in
    // wasipack.toml's `strip`); --keep only exempts sections from it.
    let rules = {
        let keep: Vec<&str> = opts.keep.iter().map(String::as_str).collect();
        let delete: Vec<&str> = if opts.delete.is_empty() {
            StripRules::RELEASE_DELETE.to_vec()
        } else {
            opts.delete.iter().map(String::as_str).collect()
        };
        StripRules::new(&keep, &delete, opts.all, !opts.no_stamp)
            .map_err(|m| Error::Usage(format!("--keep/--delete: {m}")))?
    };
    let bytes = read_input(&opts.file)?;
    let out = rewrite(&bytes, &rules).map_err(|error| Error::Wasm {
        file: name.clone(),
        error,
    })?;
    write_output(&opts.output, &out.bytes)?;
    // With `-o -` the module holds stdout: the summary goes to stderr.
    let print = |text: &str| {
        if opts.output.as_os_str() == "-" {
            eprint!("{text}");
        } else {
            super::print(text);
        }
    };
    if opts.json {
        print(&report::json(report::STRIP_SCHEMA, &name, &out));
    } else {
        let mut text = String::new();
        for s in out.sections.iter().filter(|s| s.action != "copied") {
            text.push_str(&format!(
                "{:<8} {:<28} {:>9} -> {:>9} bytes\n",
                s.action,
                printable(&s.section),
                s.size_before,
                s.size_after
            ));
        }
        report::human::warnings(&mut text, &out.warnings, "warning: ", super::stdout_style());
        text.push_str(&format!(
            "{} -> {}: {} -> {} bytes\n",
            printable(&name),
            printable(&opts.output.display().to_string()),
            out.size_before,
            out.size_after
        ));
        print(&text);
    }
    Ok(0)
}
