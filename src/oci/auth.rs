//! Registry credentials: found the way docker, oras and crane find them (`~/.docker/config.json`
//! or `$DOCKER_CONFIG`: `auths`, `credsStore`, `credHelpers`), stored the same way by `login`,
//! and the `WWW-Authenticate` challenges that say how to use them.
//!
//! Reading goes through the `docker_credential` crate. Writing is ours: that crate only reads,
//! and no well-kept crate writes docker's config or talks to credential helpers' `store` and
//! `erase` verbs.

use crate::error::{Error, RegistryError, RegistryErrorKind, Result};
use base64::Engine;
use serde_json::{json, Value};
use std::path::PathBuf;

/// A credential for one registry. Never printed: `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Basic {
        username: String,
        password: String,
    },
    /// A refresh token (docker's `identitytoken`), exchanged at the token endpoint.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Credential::IdentityToken(_) => write!(f, "IdentityToken(***)"),
        }
    }
}

impl Credential {
    pub fn basic_header(&self) -> Option<String> {
        match self {
            Credential::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            Credential::IdentityToken(_) => None,
        }
    }

    pub fn username(&self) -> &str {
        match self {
            Credential::Basic { username, .. } => username,
            Credential::IdentityToken(_) => "<token>",
        }
    }
}

/// The key docker uses for a registry in `config.json` and with credential helpers.
pub fn server_key(registry: &str) -> String {
    if registry == super::reference::DOCKER_HUB || registry == "index.docker.io" {
        "https://index.docker.io/v1/".into()
    } else {
        registry.to_string()
    }
}

/// Where credentials for `registry` come from, in order: the docker config (its helpers
/// included), then `GITHUB_TOKEN` for ghcr.io. `None` means anonymous.
pub fn find(registry: &str) -> Result<Option<Credential>> {
    Ok(find_with_source(registry)?.map(|(c, _)| c))
}

/// [`find`], with where the credential came from (`config.json` path or `GITHUB_TOKEN`).
pub fn find_with_source(registry: &str) -> Result<Option<(Credential, String)>> {
    let from_config = || config_path().display().to_string();
    use docker_credential::{CredentialRetrievalError as E, DockerCredential};
    let key = server_key(registry);
    // The crate reports a missing config file as a read error: no file means no credentials.
    let configured = config_path().is_file();
    let found = if configured {
        docker_credential::get_credential(&key)
    } else {
        Err(E::ConfigNotFound)
    };
    match found {
        Ok(DockerCredential::UsernamePassword(username, password)) => {
            return Ok(Some((
                Credential::Basic { username, password },
                from_config(),
            )))
        }
        Ok(DockerCredential::IdentityToken(t)) => {
            return Ok(Some((Credential::IdentityToken(t), from_config())))
        }
        Err(E::NoCredentialConfigured | E::ConfigNotFound) => {}
        Err(e) => {
            // A helper that fails is worth a clear message, not a silent anonymous request.
            let detail = match &e {
                E::HelperFailure { helper, stderr, .. } => {
                    format!("`{helper}` failed: {}", stderr.trim())
                }
                other => other.to_string(),
            };
            return Err(RegistryError::new(
                RegistryErrorKind::Auth,
                format!(
                    "{}: credentials for {registry}: {detail}",
                    config_path().display()
                ),
            )
            .into());
        }
    }
    if registry == "ghcr.io" {
        if let Ok(token) = std::env::var("GITHUB_TOKEN") {
            if !token.is_empty() {
                let username =
                    std::env::var("GITHUB_ACTOR").unwrap_or_else(|_| "x-access-token".into());
                return Ok(Some((
                    Credential::Basic {
                        username,
                        password: token,
                    },
                    "GITHUB_TOKEN".into(),
                )));
            }
        }
    }
    Ok(None)
}

/// docker's config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn config_path() -> PathBuf {
    let dir = match std::env::var_os("DOCKER_CONFIG") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".docker"),
    };
    dir.join("config.json")
}

fn read_config() -> Result<Value> {
    let path = config_path();
    match crate::fsio::read_bounded(&path, crate::fsio::TEXT_LIMIT) {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| Error::Input(format!("{}: not valid JSON: {e}", path.display())))?;
            if !v.is_object() {
                return Err(Error::Input(format!(
                    "{}: expected a JSON object",
                    path.display()
                )));
            }
            Ok(v)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(json!({})),
        Err(source) => Err(Error::Read { path, source }),
    }
}

fn write_config(config: &Value) -> Result<()> {
    let path = config_path();
    let dir = path.parent().expect("config.json has a directory");
    // Created as docker creates it: only its owner enters (0700).
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| Error::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut text = serde_json::to_vec_pretty(config).expect("JSON serializes");
    text.push(b'\n');
    // The file holds secrets: 0600, written whole through a temporary file and a rename; a
    // symlinked config.json is written through (the link is kept).
    crate::fsio::write_private(&path, &text)
}

/// The credential helper configured for `key` (`credHelpers`, else `credsStore`).
fn helper_for(config: &Value, key: &str) -> Option<String> {
    config["credHelpers"][key]
        .as_str()
        .or(config["credsStore"].as_str())
        .filter(|h| !h.is_empty())
        .map(str::to_string)
}

fn run_helper(helper: &str, verb: &str, input: &[u8]) -> Result<()> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let program = format!("docker-credential-{helper}");
    let fail = |why: String| -> Error {
        let message = format!("credential helper `{program}` {verb}: {why}");
        RegistryError::new(RegistryErrorKind::Auth, message).into()
    };
    let mut child = Command::new(&program)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(crate::text::io_message(&e)))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(input)
        .map_err(|e| fail(crate::text::io_message(&e)))?;
    let out = child
        .wait_with_output()
        .map_err(|e| fail(crate::text::io_message(&e)))?;
    if !out.status.success() {
        let said = String::from_utf8_lossy(&out.stdout).trim().to_string()
            + String::from_utf8_lossy(&out.stderr).trim();
        return Err(fail(format!("exited with {}: {said}", out.status)));
    }
    Ok(())
}

/// Where `login` put a credential.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Stored {
    pub registry: String,
    /// `config.json` path, or `docker-credential-NAME`.
    pub store: String,
}

/// Stores a username and password for `registry` as docker does: through the configured
/// credential helper, else base64 in `auths` of a 0600 `config.json`.
pub fn store(registry: &str, username: &str, password: &str) -> Result<Stored> {
    let key = server_key(registry);
    let mut config = read_config()?;
    if let Some(helper) = helper_for(&config, &key) {
        let body = json!({ "ServerURL": key, "Username": username, "Secret": password });
        run_helper(&helper, "store", body.to_string().as_bytes())?;
        return Ok(Stored {
            registry: registry.into(),
            store: format!("docker-credential-{helper}"),
        });
    }
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    if !config["auths"].is_object() {
        config["auths"] = json!({});
    }
    config["auths"][&key] = json!({ "auth": auth });
    write_config(&config)?;
    Ok(Stored {
        registry: registry.into(),
        store: config_path().display().to_string(),
    })
}

/// Removes what `store` wrote. Returns false when there was nothing to remove.
pub fn erase(registry: &str) -> Result<bool> {
    let key = server_key(registry);
    let mut config = read_config()?;
    let mut removed = false;
    if let Some(helper) = helper_for(&config, &key) {
        removed = run_helper(&helper, "erase", key.as_bytes()).is_ok();
    }
    if let Some(auths) = config["auths"].as_object_mut() {
        if auths.remove(&key).is_some() {
            removed = true;
            write_config(&config)?;
        }
    }
    Ok(removed)
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// Parses `Basic realm="x"` or `Bearer realm="..",service="..",scope=".."`. Quoted values may
/// hold commas (scopes list actions as `pull,push`).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut params = std::collections::BTreeMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"')?;
            (&q[..end], q[end + 1..].trim_start())
        } else {
            match after.find(',') {
                Some(i) => (&after[..i], &after[i..]),
                None => (after, ""),
            }
        };
        params.insert(key, value.to_string());
        s = next.trim_start_matches(',').trim_start();
    }
    Some(Challenge::Bearer {
        realm: params.remove("realm")?,
        service: params.remove("service"),
        scope: params.remove("scope"),
    })
}

/// Whether credentials may go to `realm`, the token endpoint a registry at `registry` (the
/// URL wasipack talks to it on) named in its challenge. `insecure` is `--insecure`.
///
/// The rule: a realm is `https` (any host: the registry named it, and TLS says who answers),
/// or plain `http` only where the registry itself was allowed plain HTTP: with `--insecure`,
/// or when the registry is on loopback and so is the realm (nothing leaves the machine). A
/// realm that carries a username or password, or has another scheme, is refused. `Err` is the
/// reason, a phrase naming the realm.
pub fn check_realm(
    realm: &reqwest::Url,
    registry: &reqwest::Url,
    insecure: bool,
) -> std::result::Result<(), String> {
    let shown = {
        let mut u = realm.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    };
    if !realm.username().is_empty() || realm.password().is_some() {
        return Err(format!(
            "token realm `{shown}` carries credentials; refused"
        ));
    }
    match realm.scheme() {
        "https" => Ok(()),
        "http" if insecure => Ok(()),
        "http" if registry.scheme() == "http" && is_loopback(realm) && is_loopback(registry) => {
            Ok(())
        }
        "http" => Err(format!(
            "token realm `{shown}` is plain HTTP: credentials go only over TLS to a realm not on this machine (pass --insecure to allow it)"
        )),
        other => Err(format!(
            "token realm `{shown}`: scheme `{other}` is neither https nor http"
        )),
    }
}

/// Whether `a` and `b` are the same origin (scheme, host, port): the only place an
/// `Authorization` for the registry may go besides its token realm.
pub fn same_origin(a: &reqwest::Url, b: &reqwest::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

fn is_loopback(u: &reqwest::Url) -> bool {
    let Some(host) = u.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    #[test]
    fn realms_over_plain_http_only_where_the_registry_may_be_plain() {
        let remote_tls = url("https://registry.example/");
        let remote_plain = url("http://registry.example/"); // reached with --insecure
        let local = url("http://127.0.0.1:5000/");
        // (realm, registry, insecure, allowed)
        let cases = [
            // HTTPS realms: always, on any host.
            ("https://auth.example/token", &remote_tls, false, true),
            ("https://auth.example/token", &local, false, true),
            ("https://auth.example/token", &remote_plain, true, true),
            // The reported case: an HTTPS registry naming a plain realm.
            ("http://registry.example/token", &remote_tls, false, false),
            ("http://auth.example:8080/token", &remote_tls, false, false),
            ("http://127.0.0.1:5001/token", &remote_tls, false, false),
            // --insecure allows plain HTTP for this registry, its realm included.
            ("http://auth.example:8080/token", &remote_tls, true, true),
            ("http://auth.example:8080/token", &remote_plain, true, true),
            // A loopback registry: a plain realm on loopback, not elsewhere.
            ("http://127.0.0.1:5001/token", &local, false, true),
            ("http://localhost:5001/token", &local, false, true),
            ("http://[::1]:5001/token", &local, false, true),
            ("http://auth.example/token", &local, false, false),
            ("http://0.0.0.0:5001/token", &local, false, false),
            ("http://auth.example/token", &local, true, true),
            // Never: other schemes, or credentials in the realm.
            ("ftp://auth.example/token", &remote_tls, true, false),
            ("https://u:p@auth.example/token", &remote_tls, false, false),
        ];
        for (realm, registry, insecure, allowed) in cases {
            let verdict = check_realm(&url(realm), registry, insecure);
            assert_eq!(
                verdict.is_ok(),
                allowed,
                "{realm} from {registry} (insecure {insecure}): {verdict:?}"
            );
            if let Err(why) = verdict {
                assert!(!why.contains("u:p@"), "{why}");
                assert!(
                    why.contains("auth.example")
                        || why.contains("127.0.0.1")
                        || why.contains("0.0.0.0")
                        || why.contains("registry.example"),
                    "{why}"
                );
            }
        }
    }

    #[test]
    fn authorization_stays_on_the_registry_origin() {
        let base = url("https://registry.example/");
        assert!(same_origin(
            &url("https://registry.example:443/v2/x"),
            &base
        ));
        assert!(!same_origin(&url("http://registry.example/v2/x"), &base));
        assert!(!same_origin(
            &url("https://registry.example:8443/v2/x"),
            &base
        ));
        assert!(!same_origin(&url("https://storage.example/upload"), &base));
        let local = url("http://127.0.0.1:5000/");
        assert!(same_origin(&url("http://127.0.0.1:5000/v2/"), &local));
        assert!(!same_origin(&url("http://127.0.0.1:5001/v2/"), &local));
        assert!(!same_origin(&url("http://localhost:5000/v2/"), &local));
    }

    #[test]
    fn challenges_parse_with_commas_inside_quotes() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:o/n:pull,push""#
            ),
            Some(Challenge::Bearer {
                realm: "https://ghcr.io/token".into(),
                service: Some("ghcr.io".into()),
                scope: Some("repository:o/n:pull,push".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate"), None);
        assert_eq!(parse_challenge(r#"Bearer service="x""#), None);
    }

    #[test]
    fn credentials_never_show_their_secret() {
        let c = Credential::Basic {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.basic_header().unwrap(), "Basic dTpodW50ZXIy");
    }
}
