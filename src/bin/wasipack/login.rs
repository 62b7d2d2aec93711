//! `wasipack login REGISTRY` and `wasipack logout REGISTRY`.

use std::io::IsTerminal;
use wasipack::oci::auth::{self, Credential};
use wasipack::oci::remote::{Options, Remote};
use wasipack::oci::Reference;
use wasipack::report;
use wasipack::{Error, Result};

/// Log in to a registry: check the credentials against it, then store them as docker does
/// (the configured credential helper, else `auths` in `$DOCKER_CONFIG/config.json`, mode 0600),
/// where docker, oras, crane and cosign find them too.
///
/// Exit codes: 0 stored, 2 wrong credentials, registry, network or I/O error.
#[derive(clap::Args)]
pub struct LoginOpts {
    /// The registry, e.g. ghcr.io or 127.0.0.1:5000.
    registry: String,
    /// The registry username.
    #[arg(long, short = 'u')]
    username: String,
    /// Read the password (or token) from stdin; otherwise it is asked for on the terminal.
    #[arg(long)]
    password_stdin: bool,
    /// Allow plain HTTP and self-signed TLS for a registry that is not on loopback.
    #[arg(long)]
    insecure: bool,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
}

/// Remove a registry's stored credentials.
#[derive(clap::Args)]
pub struct LogoutOpts {
    /// The registry host, e.g. ghcr.io or 127.0.0.1:5000.
    registry: String,
    /// Print the result as JSON (schemas in docs/json.md).
    #[arg(long)]
    json: bool,
}

fn registry_ref(registry: &str) -> Result<Reference> {
    let registry = registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    // Userinfo first, before any message quotes what was given: `user:pass@host` would be
    // both echoed and, through the URL, sent as the credential.
    if registry.contains('@') {
        return Err(Error::Reference(
            wasipack::oci::reference::CREDENTIALS_REFUSED.into(),
        ));
    }
    if registry.is_empty() || registry.contains('/') {
        return Err(Error::Reference(format!(
            "`{registry}`: give a registry host, such as ghcr.io or 127.0.0.1:5000"
        )));
    }
    wasipack::oci::reference::check_registry(registry)?;
    Ok(Reference {
        registry: registry.to_string(),
        repository: "wasipack-login-check".into(),
        tag: None,
        digest: None,
    })
}

pub fn login(opts: LoginOpts) -> Result<u8> {
    let reference = registry_ref(&opts.registry)?;
    let password = if opts.password_stdin {
        super::net::read_password_stdin()?
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!(
            "Password for {}@{}: ",
            opts.username, reference.registry
        ))
        .map_err(|e| Error::Usage(format!("cannot read the password: {e}")))?
    } else {
        return Err(Error::Usage(
            "no terminal to ask for the password: use --password-stdin".into(),
        ));
    };
    let credential = Credential::Basic {
        username: opts.username.clone(),
        password: password.clone(),
    };
    let remote = Remote::connect(
        &reference,
        Options {
            insecure: opts.insecure,
            credential: Some(credential),
            timeout: super::timeout()?,
            ..Options::default()
        },
    )?;
    remote.ping()?;
    let stored = auth::store(&reference.registry, &opts.username, &password)?;
    if opts.json {
        super::print_json(report::LOGIN_SCHEMA, &stored);
    } else {
        super::print(&format!(
            "Logged in to {} as {}; credentials stored in {}\n",
            wasipack::text::printable(&stored.registry),
            wasipack::text::printable(&opts.username),
            wasipack::text::printable(&stored.store)
        ));
    }
    Ok(0)
}

pub fn logout(opts: LogoutOpts) -> Result<u8> {
    let reference = registry_ref(&opts.registry)?;
    let removed = auth::erase(&reference.registry)?;
    if opts.json {
        super::print_json(
            report::LOGIN_SCHEMA,
            &serde_json::json!({ "registry": reference.registry, "removed": removed }),
        );
    } else if removed {
        super::print(&format!(
            "Removed the credentials for {}\n",
            reference.registry
        ));
    } else {
        super::print(&format!(
            "No credentials were stored for {}\n",
            reference.registry
        ));
    }
    Ok(0)
}
