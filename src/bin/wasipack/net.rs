//! Registry flags shared by `push`, `pull` and `login`.

use std::io::{IsTerminal, Read};
use wasipack::oci::auth::Credential;
use wasipack::oci::remote::Options;
use wasipack::{Error, Result};

#[derive(clap::Args, Clone, Debug)]
pub struct Net {
    /// Allow plain HTTP and self-signed TLS for a registry that is not on loopback (loopback
    /// registries always may use plain HTTP).
    #[arg(long)]
    pub insecure: bool,
    /// Registry username; the password is read from stdin (--password-stdin).
    #[arg(long, short = 'u', requires = "password_stdin")]
    pub username: Option<String>,
    /// Read the password (or token) from stdin.
    #[arg(long, requires = "username")]
    pub password_stdin: bool,
}

impl Net {
    /// Registry options; `progress` is wanted only when stderr is a terminal.
    pub fn options(&self, push: bool, progress: bool) -> Result<Options> {
        Ok(Options {
            insecure: self.insecure,
            credential: self.credential()?,
            observer: wasipack::oci::progress::Shared(std::sync::Arc::new(
                super::progress::Terminal::new(
                    progress && !super::quiet() && std::io::stderr().is_terminal(),
                    super::verbose(),
                ),
            )),
            push,
            timeout: super::timeout()?,
            ..Options::default()
        })
    }

    pub fn credential(&self) -> Result<Option<Credential>> {
        let Some(username) = &self.username else {
            return Ok(None);
        };
        Ok(Some(Credential::Basic {
            username: username.clone(),
            password: read_password_stdin()?,
        }))
    }
}

/// The password from stdin, without its trailing newline.
pub fn read_password_stdin() -> Result<String> {
    let mut text = String::new();
    // Bounded, like every input read whole: `--password-stdin < /dev/zero` is refused, not
    // read until memory runs out.
    let limit = wasipack::fsio::TEXT_LIMIT;
    std::io::stdin()
        .take(limit + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::Usage(format!("--password-stdin: cannot read stdin: {e}")))?;
    if text.len() as u64 > limit {
        return Err(Error::Usage(format!(
            "--password-stdin: stdin sends more than {} MiB, the most a password may have",
            limit >> 20
        )));
    }
    let password = text.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        return Err(Error::Usage("--password-stdin: stdin was empty".into()));
    }
    Ok(password)
}
