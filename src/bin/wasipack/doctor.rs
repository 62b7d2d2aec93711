//! `wasipack doctor`: is this machine ready to build, push and sign?

use std::path::PathBuf;
use wasipack::build::config::{Mode, Target, Toolchain};
use wasipack::build::toolchain::{check_support, output, parse_go_version, CommandLine};
use wasipack::oci::{auth, Reference};
use wasipack::Result;

/// Check the toolchains (Go and TinyGo, wasip1 and reactor support), registry credentials for
/// a reference, key files, and the clock that SOURCE_DATE_EPOCH and signatures rely on.
///
/// Exit codes: 0 everything checked is fine, 1 something is not (each line says what to do).
#[derive(clap::Args)]
pub struct Opts {
    /// Check that credentials are found for this registry reference.
    #[arg(long, value_name = "REF")]
    reference: Option<String>,
    /// Check that this private or public key file can be used.
    #[arg(long = "key", value_name = "FILE")]
    keys: Vec<PathBuf>,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
}

#[derive(serde::Serialize)]
struct Finding {
    check: String,
    ok: bool,
    detail: String,
}

/// A tool's answer, as `build` asks for it; `None` when it does not run.
fn run_version(program: &str, args: &[&str]) -> Option<String> {
    let line = CommandLine {
        program: program.to_string(),
        args: args.iter().map(|a| a.to_string()).collect(),
        env: Vec::new(),
    };
    let out = output(&line, std::path::Path::new(".")).ok()?;
    Some(String::from_utf8_lossy(&out).trim().to_string())
}

pub fn run(opts: Opts) -> Result<u8> {
    let mut found = Vec::new();
    let mut add = |check: &str, ok: bool, detail: String| {
        found.push(Finding {
            check: check.into(),
            ok,
            detail,
        })
    };

    let go = std::env::var("GO").unwrap_or_else(|_| "go".into());
    match run_version(&go, &["env", "GOVERSION"]).and_then(|v| parse_go_version(&v)) {
        Some(v) => {
            add("go", true, format!("{} ({go})", v.text));
            let wasip1 = check_support(Toolchain::Go, &v, Target::Wasip1, Mode::Command)
                .map_err(|e| e.to_string());
            add(
                "go wasip1",
                wasip1.is_ok(),
                wasip1.err().unwrap_or("GOOS=wasip1 commands".into()),
            );
            let reactor = check_support(Toolchain::Go, &v, Target::Wasip1, Mode::Reactor)
                .map_err(|e| e.to_string());
            add(
                "go reactor",
                reactor.is_ok(),
                reactor
                    .err()
                    .unwrap_or("-buildmode=c-shared reactors and //go:wasmexport".into()),
            );
        }
        None => add(
            "go",
            false,
            format!("`{go}` not found or not working: install Go 1.21+ (1.24+ for reactors)"),
        ),
    }
    let tinygo = std::env::var("TINYGO").unwrap_or_else(|_| "tinygo".into());
    match run_version(&tinygo, &["version"]) {
        Some(v) => add("tinygo", true, v),
        // TinyGo is optional: only configs with toolchain = "tinygo" need it.
        None => add(
            "tinygo",
            true,
            "not installed (needed only for toolchain = \"tinygo\")".into(),
        ),
    }

    if let Some(text) = &opts.reference {
        match Reference::parse(text) {
            Ok(r) => match auth::find_with_source(&r.registry) {
                Ok(Some((c, source))) => add(
                    "credentials",
                    true,
                    format!("{} as `{}` ({source})", r.registry, c.username()),
                ),
                Ok(None) => add(
                    "credentials",
                    true,
                    format!(
                        "none for {}: requests will be anonymous (`wasipack login {}` to add some)",
                        r.registry, r.registry
                    ),
                ),
                Err(e) => add("credentials", false, e.to_string()),
            },
            Err(e) => add("credentials", false, e.to_string()),
        }
    }

    for key in &opts.keys {
        let name = format!("key {}", key.display());
        let text = match wasipack::fsio::read_text_bounded(key, wasipack::fsio::TEXT_LIMIT) {
            Ok(t) => t,
            Err(e) => {
                add(
                    &name,
                    false,
                    format!("cannot read: {}", wasipack::text::io_message(&e)),
                );
                continue;
            }
        };
        if text.contains("PUBLIC KEY") {
            match wasipack::sign::keys::read_public(key) {
                Ok(_) => add(&name, true, "ECDSA P-256 public key".into()),
                Err(e) => add(&name, false, e.to_string()),
            }
        } else {
            let password = || {
                Ok(std::env::var_os("COSIGN_PASSWORD")
                    .unwrap_or_default()
                    .into_encoded_bytes())
            };
            let file = match wasipack::sign::keys::load_private(key) {
                Ok(file) => file,
                Err(e) => {
                    add(&name, false, e.to_string());
                    continue;
                }
            };
            // A key others can read is a finding whatever else is true of it.
            let exposed = file.readable_by_others().map(|mode| {
                format!(
                    "; but readable by others (mode {mode:04o}): `chmod 600 {}`",
                    key.display()
                )
            });
            let ok = exposed.is_none();
            let exposed = exposed.unwrap_or_default();
            if file.encrypted() && std::env::var_os("COSIGN_PASSWORD").is_none() {
                add(
                    &name,
                    ok,
                    format!("encrypted private key; set COSIGN_PASSWORD to check the password too{exposed}"),
                );
                continue;
            }
            match file.open(password) {
                Ok(_) if file.encrypted() => add(
                    &name,
                    ok,
                    format!("ECDSA P-256 private key; the password opens it{exposed}"),
                ),
                Ok(_) => add(
                    &name,
                    ok,
                    format!("ECDSA P-256 private key, not encrypted (no password needed){exposed}"),
                ),
                Err(e) => add(&name, false, e.to_string()),
            }
        }
    }

    // The clock: signatures and reproducible timestamps need a sane one.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    add(
        "clock",
        now > 1_704_067_200,
        wasipack::sbom::rfc3339(now).unwrap_or_default(),
    );
    if let Ok(epoch) = std::env::var("SOURCE_DATE_EPOCH") {
        match epoch.trim().parse::<i64>() {
            Ok(e) if e <= now => add(
                "SOURCE_DATE_EPOCH",
                true,
                wasipack::sbom::rfc3339(e).unwrap_or_default(),
            ),
            Ok(e) => add(
                "SOURCE_DATE_EPOCH",
                false,
                format!(
                    "{e} is in the future ({})",
                    wasipack::sbom::rfc3339(e).unwrap_or_default()
                ),
            ),
            Err(_) => add(
                "SOURCE_DATE_EPOCH",
                false,
                format!("`{epoch}` is not a Unix time in seconds"),
            ),
        }
    }

    let healthy = found.iter().all(|f| f.ok);
    if opts.json {
        super::print_json(
            "wasipack.doctor/v1",
            &serde_json::json!({ "healthy": healthy, "checks": found }),
        );
    } else {
        let mut text = String::new();
        // Details quote tools, files and the environment: escaped, each stays on its line.
        for f in &found {
            text.push_str(&format!(
                "{} {:<20} {}\n",
                if f.ok { "ok  " } else { "FAIL" },
                wasipack::text::printable(&f.check),
                wasipack::text::printable(&f.detail)
            ));
        }
        super::print(&text);
    }
    Ok(if healthy { 0 } else { 1 })
}
