//! `wasipack generate-key-pair`, and the password handling the signing commands share.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use wasipack::report;
use wasipack::sign::{keys, ClosedKey};
use wasipack::{Error, Result};

/// Generate a cosign-compatible key pair: PREFIX.key (ECDSA P-256, encrypted as cosign
/// encrypts it, mode 0600) and PREFIX.pub. The password comes from COSIGN_PASSWORD, else it
/// is asked for twice on the terminal.
///
/// Exit codes: 0 written, 2 the files exist, no password source, or an I/O error.
#[derive(clap::Args)]
pub struct Opts {
    /// Path prefix for the two files.
    #[arg(long, default_value = "cosign", value_name = "PREFIX")]
    output_key_prefix: PathBuf,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
}

pub fn run(opts: Opts) -> Result<u8> {
    let password = password(true)?;
    let (private, public) = keys::generate(&password)?;
    let (key, public_path) = keys::write_pair(&opts.output_key_prefix, &private, &public)?;
    if opts.json {
        super::print_json(
            report::KEYS_SCHEMA,
            &serde_json::json!({"private_key": key, "public_key": public_path}),
        );
    } else {
        super::print(&format!(
            "Private key written to {}\nPublic key written to {}\n",
            key.display(),
            public_path.display()
        ));
    }
    Ok(0)
}

/// The key password: COSIGN_PASSWORD (even empty) or a terminal prompt (twice when `confirm`).
pub fn password(confirm: bool) -> Result<Vec<u8>> {
    if let Some(p) = std::env::var_os("COSIGN_PASSWORD") {
        return Ok(p.into_encoded_bytes());
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::Key(
            "no key password: set COSIGN_PASSWORD (there is no terminal to ask on)".into(),
        ));
    }
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt)
            .map_err(|e| Error::Key(format!("cannot read the password: {e}")))
    };
    let first = ask("Enter password for private key: ")?;
    if confirm && ask("Enter password for private key again: ")? != first {
        return Err(Error::Key("the passwords do not match".into()));
    }
    Ok(first.into_bytes())
}

/// Reads the key file and its password now, and leaves the slow part (an encrypted key's
/// scrypt) for later, perhaps on another thread while other work goes on.
pub fn closed(path: &Path) -> Result<ClosedKey> {
    let file = keys::load_private(path)?;
    if let Some(mode) = file.readable_by_others() {
        eprintln!("{}", exposed_warning(path, mode));
    }
    let encrypted = file.encrypted();
    let password = if encrypted {
        Some(password(false)?)
    } else {
        None
    };
    Ok(ClosedKey {
        encrypted,
        open: Box::new(move || {
            Ok(wasipack::sign::KeySigner(
                file.open(|| Ok(password.unwrap_or_default()))?,
            ))
        }),
    })
}

/// The one-line warning for a private key file its group or others may read, as cosign warns.
pub fn exposed_warning(path: &Path, mode: u32) -> String {
    format!(
        "warning: {}: the private key is readable by others (mode {mode:04o}); `chmod 600 {}`",
        path.display(),
        path.display()
    )
}
