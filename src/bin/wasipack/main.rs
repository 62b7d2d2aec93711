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

/// On SIGINT or SIGTERM: undo what the interrupted work leaves (this process's temporary
/// files, empty directories made for outputs, the compiler's process group: see
/// `wasipack::interrupt`), then exit as a shell reports a process killed by the signal, 128
/// plus its number (130, 143). The handler is a thread of its own reading signal-hook's
/// self-pipe, not code in the signal's context, so it may take locks and remove files.
#[cfg(unix)]
fn clean_up_on_interrupt() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return; // Without the handler the signals keep their default: still an exit.
    };
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            wasipack::interrupt::clean_up();
            std::process::exit(128 + signal);
        }
    });
}

/// A mapped input (`fsio::read_input`) truncated by another process while wasipack reads it
/// faults with SIGBUS, which would kill the process without a word. The handler runs in the
/// signal's context, so it only does what is safe there: one line on stderr, then `_exit(2)`.
#[cfg(unix)]
fn one_line_on_sigbus() {
    const LINE: &[u8] =
        b"error: an input file changed while it was read (another process truncated it)\n";
    // SAFETY: the action only calls write(2) and _exit(2), both async-signal-safe; it never
    // returns, so the faulting access is not retried.
    let _ = unsafe {
        signal_hook::low_level::register(signal_hook::consts::SIGBUS, || {
            let _ = write_stderr_raw(LINE);
            signal_hook::low_level::exit(2);
        })
    };
}

/// write(2) to stderr, without locks or allocation (safe in a signal handler): a `File` over
/// fd 2, never closed.
#[cfg(unix)]
fn write_stderr_raw(bytes: &[u8]) -> std::io::Result<usize> {
    use std::os::fd::FromRawFd;
    // SAFETY: fd 2 stays open for the life of the process; ManuallyDrop never closes it.
    let mut file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
    std::io::Write::write(&mut *file, bytes)
}

fn main() -> ExitCode {
    #[cfg(unix)]
    clean_up_on_interrupt();
    #[cfg(unix)]
    one_line_on_sigbus();
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
