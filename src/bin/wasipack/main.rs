//! The wasipack command line: a thin layer over the library, one file per subcommand.

mod attest;
mod build;
mod check;
mod completions;
mod doctor;
mod github;
mod inspect;
mod keyless;
mod keys;
mod login;
mod net;
mod policy;
mod progress;
mod pull;
mod push;
mod rebuild;
mod sbom;
mod sign;
mod strip;
mod verify;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;
use wasipack::text::printable;

/// Build Go programs into WebAssembly (WASI) modules you can trust: checked against a policy,
/// stripped, packaged as OCI artifacts with SBOMs, pushed, signed and verified.
///
/// Exit codes: 0 success; 1 policy violations (check, build), a failed verification (verify)
/// or a problem found (doctor); 2 invalid input, usage, key, registry, network or I/O error.
#[derive(Parser)]
#[command(name = "wasipack", version = VERSION, about, long_about)]
pub struct Cli {
    /// Print less: no progress bars or summaries on stderr (errors still).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Print more: each registry request (method, path, status) on stderr, and after an error
    /// the causes it came from. Credentials are never printed.
    #[arg(long, short, global = true, conflicts_with = "quiet")]
    verbose: bool,
    /// Registry commands: the overall deadline of one request, in seconds, from connecting
    /// until the answer has been read (a blob gets this plus time for its size at 256 KiB/s).
    /// Default: WASIPACK_TIMEOUT, else 60.
    #[arg(long, global = true, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,
    #[command(subcommand)]
    command: Command,
}

/// The version with the git revision it was built from.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("WASIPACK_GIT_REV"),
    ")"
);

static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `--timeout`, when it was given (0: not given).
static TIMEOUT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The deadline of one registry request: `--timeout`, else `WASIPACK_TIMEOUT`, else the
/// library's default.
pub fn timeout() -> wasipack::Result<std::time::Duration> {
    let flag = TIMEOUT.load(std::sync::atomic::Ordering::Relaxed);
    if flag > 0 {
        return Ok(std::time::Duration::from_secs(flag));
    }
    match std::env::var("WASIPACK_TIMEOUT") {
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(secs) if secs > 0 => Ok(std::time::Duration::from_secs(secs)),
            _ => Err(wasipack::Error::Usage(format!(
                "WASIPACK_TIMEOUT=`{}`: expected a number of seconds, at least 1",
                printable(&text)
            ))),
        },
        Err(_) => Ok(wasipack::oci::remote::DEFAULT_TIMEOUT),
    }
}

/// `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(std::sync::atomic::Ordering::Relaxed)
}

/// `-v` was given.
pub fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

#[derive(Subcommand)]
enum Command {
    Build(build::Opts),
    Inspect(inspect::Opts),
    Check(check::Opts),
    Policy(policy::Opts),
    Strip(strip::Opts),
    Sbom(sbom::Opts),
    Push(push::Opts),
    Pull(pull::Opts),
    Login(login::LoginOpts),
    Logout(login::LogoutOpts),
    GenerateKeyPair(keys::Opts),
    Sign(sign::Opts),
    SignBlob(sign::BlobOpts),
    Attest(attest::Opts),
    Verify(verify::Opts),
    Rebuild(rebuild::Opts),
    Doctor(doctor::Opts),
    Completions(completions::Opts),
    Man(completions::ManOpts),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    QUIET.store(cli.quiet, std::sync::atomic::Ordering::Relaxed);
    VERBOSE.store(cli.verbose, std::sync::atomic::Ordering::Relaxed);
    TIMEOUT.store(
        cli.timeout.unwrap_or(0),
        std::sync::atomic::Ordering::Relaxed,
    );
    let result = match cli.command {
        Command::Build(opts) => build::run(opts),
        Command::Inspect(opts) => inspect::run(opts),
        Command::Check(opts) => check::run(opts),
        Command::Policy(opts) => policy::run(opts),
        Command::Strip(opts) => strip::run(opts),
        Command::Sbom(opts) => sbom::run(opts),
        Command::Push(opts) => push::run(opts),
        Command::Pull(opts) => pull::run(opts),
        Command::Login(opts) => login::login(opts),
        Command::Logout(opts) => login::logout(opts),
        Command::GenerateKeyPair(opts) => keys::run(opts),
        Command::Sign(opts) => sign::run(opts),
        Command::SignBlob(opts) => sign::run_blob(opts),
        Command::Attest(opts) => attest::run(opts),
        Command::Verify(opts) => verify::run(opts),
        Command::Rebuild(opts) => rebuild::run(opts),
        Command::Doctor(opts) => doctor::run(opts),
        Command::Completions(opts) => completions::run(opts),
        Command::Man(opts) => completions::man(opts),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let _ = std::io::stderr().write_all(render_error(&e, verbose()).as_bytes());
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

/// The one place errors are printed: `error: MESSAGE` (one line, what docs/exit-codes.md
/// shows), then with `-v` a `  caused by: CAUSE` line for each error in its source chain whose
/// text the lines above do not already say (an I/O error's OS code, say). Each line is one
/// line whatever the error quotes: control characters (a registry's message, a name from a
/// module) are written as visible escapes (`text::printable`).
fn render_error(e: &dyn std::error::Error, verbose: bool) -> String {
    let mut text = format!("error: {}\n", printable(&e.to_string()));
    let mut source = e.source().filter(|_| verbose);
    while let Some(cause) = source {
        let line = cause.to_string();
        let line = printable(&line);
        if !text.contains(line.as_ref()) {
            text.push_str(&format!("  caused by: {line}\n"));
        }
        source = cause.source();
    }
    text
}

/// Prints a schema-tagged JSON report (docs/json.md) on stdout.
fn print_json<T: serde::Serialize>(schema: &'static str, body: &T) {
    print(&String::from_utf8_lossy(&wasipack::report::json_bytes(
        schema, body,
    )));
}

/// Writes command output to stdout; a closed pipe is not an error worth a panic.
fn print(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// Reads and inspects a module, naming the file in any error.
fn inspect_file(
    path: &std::path::Path,
) -> wasipack::Result<(String, wasipack::wasm::inspect::Inspection)> {
    let name = path.display().to_string();
    let bytes = wasipack::fsio::read_input(path)?;
    let module = wasipack::wasm::inspect_module(&bytes).map_err(|error| wasipack::Error::Wasm {
        file: name.clone(),
        error,
    })?;
    Ok((name, module))
}

fn stdout_style() -> wasipack::report::Style {
    use std::io::IsTerminal;
    wasipack::report::Style::detect(std::io::stdout().is_terminal())
}
