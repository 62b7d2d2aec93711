//! The wasipack command line: a thin layer over the library, one file per subcommand.

mod attest;
mod build;
mod check;
mod inspect;
mod keys;
mod login;
mod net;
mod policy;
mod pull;
mod push;
mod sbom;
mod sign;
mod strip;
mod verify;

use clap::{Parser, Subcommand};
use std::io::Write;
use std::process::ExitCode;

/// Inspect Go WebAssembly (WASI) modules and check them against a policy.
///
/// Exit codes: 0 success, 1 policy violations, 2 invalid input, usage or I/O error.
#[derive(Parser)]
#[command(name = "wasipack", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
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
