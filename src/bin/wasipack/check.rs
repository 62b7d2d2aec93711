//! `wasipack check FILE --policy P`: validate a module and hold it against a policy.

use std::path::PathBuf;
use wasipack::check::check;
use wasipack::fsio::{read_input, write_atomic};
use wasipack::policy::{Policy, DEFAULT};
use wasipack::report::{self, github, sarif};
use wasipack::{Error, Result};

/// Validate a module fully and check it against a policy.
///
/// Exit codes: 0 passes, 1 policy violations, 2 invalid module, bad policy, usage or I/O error.
#[derive(clap::Args)]
pub struct Opts {
    /// The .wasm file.
    file: PathBuf,
    /// A shipped policy name (see `wasipack policy list`) or a policy file path.
    #[arg(long, short, default_value = DEFAULT)]
    policy: String,
    /// Print JSON (schema wasipack.check/v1, see docs/json.md).
    #[arg(long)]
    json: bool,
    /// Also write a SARIF 2.1.0 log to this file.
    #[arg(long, value_name = "FILE")]
    sarif: Option<PathBuf>,
    /// Print GitHub workflow annotations (default when GITHUB_ACTIONS=true). They go to
    /// stderr when --json holds stdout.
    #[arg(long)]
    github: bool,
}

pub fn run(opts: Opts) -> Result<u8> {
    let name = opts.file.display().to_string();
    let policy = Policy::load(&opts.policy)?;
    let bytes = read_input(&opts.file)?;
    let report = check(&bytes, &policy).map_err(|error| Error::Check {
        file: name.clone(),
        error,
    })?;
    if let Some(path) = &opts.sarif {
        let log =
            serde_json::to_string_pretty(&sarif::log(&report, &name)).expect("SARIF serializes");
        write_atomic(path, log.as_bytes())?;
    }
    if opts.json {
        super::print(&report::json(report::CHECK_SCHEMA, &name, &report));
    } else {
        super::print(&report::human::check(&report, &name, super::stdout_style()));
    }
    if opts.github || std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        let lines = github::annotations(&report, &name);
        if opts.json {
            eprint!("{lines}");
        } else {
            super::print(&lines);
        }
    }
    Ok(if report.passed { 0 } else { 1 })
}
