//! Image references: `REGISTRY/REPO[:TAG][@sha256:HEX]` for registries, and
//! `oci-layout:PATH[:TAG|@sha256:HEX]` for an OCI image layout on disk, so every command that
//! takes a reference works without a registry server.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;

/// Docker Hub's registry name, used when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";

/// The one message for a reference or registry host that carries a username or password
/// (`user:pass@host/...`, `user@host`). It quotes nothing of what was given: the secret would
/// end up in a terminal, a CI log or a bug report.
pub const CREDENTIALS_REFUSED: &str = "references cannot carry credentials (`USER:PASSWORD@` or `USER@`): use `wasipack login REGISTRY`, or --username with --password-stdin";

/// Whether `text` carries URL userinfo (`user:pass@host/...` or `user@host`) rather than a
/// `@DIGEST` selector. The `@` of a digest is followed by `ALGORITHM:ENCODED`, where the
/// algorithm is lowercase letters and digits and nothing after it holds a `/` or another `@`;
/// anything else after an `@` (a host, a path, a second `@`) is userinfo.
pub fn has_userinfo(text: &str) -> bool {
    let Some((_, after)) = text.split_once('@') else {
        return false;
    };
    let digest_like = match after.split_once(':') {
        Some((algorithm, encoded)) => {
            !algorithm.is_empty()
                && algorithm != "localhost"
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                && !encoded.contains(['/', '@'])
        }
        None => false,
    };
    !digest_like
}

/// Checks a registry host as a reference or `login` names it: `host[:port]` or
/// `[ipv6][:port]`, with no userinfo. A host that carries credentials is refused with
/// [`CREDENTIALS_REFUSED`], which does not quote it.
pub fn check_registry(host: &str) -> Result<()> {
    if host.contains('@') {
        return Err(Error::Reference(CREDENTIALS_REFUSED.into()));
    }
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, after)) if ip.parse::<std::net::Ipv6Addr>().is_ok() => {
                match after.strip_prefix(':') {
                    Some(port) => ("ipv6", Some(port)),
                    None if after.is_empty() => ("ipv6", None),
                    None => ("", None),
                }
            }
            _ => ("", None),
        },
        None => match host.rsplit_once(':') {
            Some((h, port)) => (h, Some(port)),
            None => (host, None),
        },
    };
    let name_ok = !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if !(name_ok && port_ok) {
        return Err(Error::Reference(format!(
            "registry `{host}`: expected HOST or HOST:PORT, such as ghcr.io or 127.0.0.1:5000"
        )));
    }
    Ok(())
}

/// A registry reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`, e.g. `ghcr.io` or `127.0.0.1:5000`.
    pub registry: String,
    /// `owner/name`.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:HEX`.
    pub digest: Option<String>,
}

/// Where an artifact lives: in a registry or in a local image layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Registry(Reference),
    Layout {
        path: PathBuf,
        tag: Option<String>,
        digest: Option<String>,
    },
}

impl Target {
    /// Parses a registry reference or `oci-layout:PATH[:TAG|@DIGEST]`; an [`Error::Reference`]
    /// names the part that is wrong.
    pub fn parse(text: &str) -> Result<Target> {
        match text.strip_prefix("oci-layout:") {
            Some(rest) => parse_layout(rest),
            None => Reference::parse(text).map(Target::Registry),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        match self {
            Target::Registry(r) => r.tag.as_deref(),
            Target::Layout { tag, .. } => tag.as_deref(),
        }
    }

    pub fn digest(&self) -> Option<&str> {
        match self {
            Target::Registry(r) => r.digest.as_deref(),
            Target::Layout { digest, .. } => digest.as_deref(),
        }
    }

    /// The tag or digest to ask for (`latest` when neither is given).
    pub fn selector(&self) -> &str {
        self.digest().or(self.tag()).unwrap_or("latest")
    }

    /// The same place with `digest` as its only selector: what a command prints after pushing.
    pub fn with_digest(&self, digest: &str) -> Target {
        match self {
            Target::Registry(r) => Target::Registry(Reference {
                tag: None,
                digest: Some(digest.to_string()),
                ..r.clone()
            }),
            Target::Layout { path, .. } => Target::Layout {
                path: path.clone(),
                tag: None,
                digest: Some(digest.to_string()),
            },
        }
    }
}

fn parse_layout(rest: &str) -> Result<Target> {
    let (path, digest) = match rest.rsplit_once('@') {
        Some((p, d)) => (p, Some(check_digest(d)?)),
        None => (rest, None),
    };
    // `PATH:TAG`: the tag is what follows the last `:` when it has no `/` (a Windows drive
    // letter or a path with a colon stays whole unless what follows looks like a tag).
    let (path, tag) = match path.rsplit_once(':') {
        Some((p, t)) if !p.is_empty() && !t.contains('/') && valid_tag(t) => (p, Some(t)),
        _ => (path, None),
    };
    if path.is_empty() {
        return Err(Error::Reference(
            "oci-layout: needs a path, as in oci-layout:dist/oci:TAG".into(),
        ));
    }
    Ok(Target::Layout {
        path: PathBuf::from(path),
        tag: tag.map(str::to_string),
        digest,
    })
}

fn check_digest(d: &str) -> Result<String> {
    let hex = d.strip_prefix("sha256:").ok_or_else(|| {
        Error::Reference(format!("digest `{d}`: only sha256 digests are supported"))
    })?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(Error::Reference(format!(
            "digest `{d}`: expected sha256: and 64 lowercase hex digits"
        )));
    }
    Ok(d.to_string())
}

/// A tag as the distribution spec allows: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn valid_tag(t: &str) -> bool {
    let mut bytes = t.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
        && t.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// A repository path component: lowercase letters and digits, separated by `.`, `_`, `__` or
/// runs of `-`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    !b.is_empty()
        && alnum(b[0])
        && alnum(b[b.len() - 1])
        && b.iter().all(|&x| alnum(x) || b"._-".contains(&x))
        && !c.contains("..")
        && !c.contains("___")
        && !c.contains("._")
        && !c.contains("_.")
}

impl Reference {
    /// Parses `[REGISTRY/]REPO[:TAG][@sha256:HEX]` the way docker does: the first component
    /// is a registry when it has a `.` or a `:`, or is `localhost`.
    pub fn parse(text: &str) -> Result<Reference> {
        // Before anything quotes `text`: a reference with a password in it is refused without
        // repeating it.
        if has_userinfo(text) {
            return Err(Error::Reference(CREDENTIALS_REFUSED.into()));
        }
        let bad = |why: &str| Error::Reference(format!("reference `{text}`: {why}"));
        let (rest, digest) = match text.split_once('@') {
            // The error quotes only the digest: what precedes an `@` may be a username and
            // password that `has_userinfo` could not tell from a name (`user:pw@host:5000`).
            Some((r, d)) => (r, Some(check_digest(d)?)),
            None => (text, None),
        };
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => {
                if !valid_tag(t) {
                    return Err(bad(&format!("`{t}` is not a valid tag")));
                }
                (n, Some(t.to_string()))
            }
            _ => (rest, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, repo))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_string(), repo.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        check_registry(&registry).map_err(|e| bad(&e.to_string()))?;
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository.is_empty() {
            return Err(bad("no repository name"));
        }
        if let Some(c) = repository.split('/').find(|c| !valid_component(c)) {
            return Err(bad(&format!(
                "repository component `{c}` must be lowercase letters and digits, separated by `.`, `_` or `-`"
            )));
        }
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// Whether the registry is on this machine (plain HTTP is allowed there).
    pub fn is_loopback(&self) -> bool {
        let host = match self.registry.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => &self.registry,
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        host == "localhost"
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Registry(r) => r.fmt(f),
            Target::Layout { path, tag, digest } => {
                write!(f, "oci-layout:{}", path.display())?;
                if let Some(t) = tag {
                    write!(f, ":{t}")?;
                }
                if let Some(d) = digest {
                    write!(f, "@{d}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn registry_references_split_like_docker() {
        let r = Reference::parse("127.0.0.1:5000/team/app:v1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert!(r.is_loopback());
        let r = Reference::parse(&format!("ghcr.io/o/n@{D}")).unwrap();
        assert_eq!(r.digest.as_deref(), Some(D));
        assert_eq!(Target::Registry(r.clone()).selector(), D);
        assert!(!r.is_loopback());
        let r = Reference::parse("hello").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/hello")
        );
        assert_eq!(Target::Registry(r.clone()).selector(), "latest");
        let r = Reference::parse("localhost/x:1").unwrap();
        assert_eq!(r.registry, "localhost");
        assert_eq!(r.to_string(), "localhost/x:1");
    }

    #[test]
    fn bad_references_name_the_part_that_is_wrong() {
        for (text, needle) in [
            ("ghcr.io/Owner/app", "`Owner`"),
            ("ghcr.io/o/app:-x", "`-x` is not a valid tag"),
            ("ghcr.io/o/app@sha256:12", "64 lowercase hex"),
            ("ghcr.io/o/app@md5:12", "only sha256"),
            ("ghcr.io/", "no repository"),
        ] {
            let e = Reference::parse(text).unwrap_err();
            assert!(matches!(e, Error::Reference(_)), "{text}: {e:?}");
            assert!(e.to_string().contains(needle), "{text}: {e}");
        }
    }

    #[test]
    fn userinfo_is_refused_without_being_quoted() {
        for text in [
            "alice:S3cr3t@ghcr.io/o/app:v1",
            "alice@ghcr.io/o/app",
            "alice:S3cr3t@localhost:5000",
            "alice:S3cr3t@registry.example",
            "alice:S3cr3t@registry.example:5000/o/app",
            "alice:p@ss@ghcr.io/o/app",
            "alice:S3cr3t@ghcr.io/o/app@sha256:12",
            "https://alice:S3cr3t@ghcr.io/o/app",
        ] {
            assert!(has_userinfo(text), "{text}");
            let e = Reference::parse(text).unwrap_err().to_string();
            assert_eq!(e, CREDENTIALS_REFUSED, "{text}");
            assert!(!e.contains("S3cr3t") && !e.contains("alice"), "{e}");
        }
        // `user:pw@host:5000` reads like `name:tag@algorithm:encoded`: refused as a digest,
        // quoting only what follows the `@`.
        let e = Reference::parse("alice:S3cr3t@myhost:5000").unwrap_err();
        assert!(!e.to_string().contains("S3cr3t"), "{e}");
        for text in [
            "ghcr.io/o/app",
            &format!("ghcr.io/o/app@{D}"),
            &format!("app:v1@{D}"),
            "x@md5:12",
        ] {
            assert!(!has_userinfo(text), "{text}");
        }
    }

    #[test]
    fn registry_hosts_are_host_and_port() {
        for ok in [
            "ghcr.io",
            "127.0.0.1:5000",
            "localhost",
            "[::1]:5000",
            "[::1]",
            "my_reg.local:443",
        ] {
            assert!(check_registry(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b.io",
            "host:",
            "host:port",
            "host:123456",
            "[::1",
            "[zz]:5",
            "-a.io",
            "a..io",
        ] {
            let e = check_registry(bad).unwrap_err();
            assert!(matches!(e, Error::Reference(_)), "{bad}");
        }
        let e = check_registry("alice:S3cr3t@ghcr.io")
            .unwrap_err()
            .to_string();
        assert_eq!(e, CREDENTIALS_REFUSED);
        assert!(matches!(
            Reference::parse("a b.io/x/y"),
            Err(Error::Reference(_))
        ));
    }

    #[test]
    fn layout_targets_take_a_tag_or_a_digest() {
        assert_eq!(
            Target::parse("oci-layout:dist/oci:hello").unwrap(),
            Target::Layout {
                path: "dist/oci".into(),
                tag: Some("hello".into()),
                digest: None
            }
        );
        assert_eq!(
            Target::parse(&format!("oci-layout:/tmp/x@{D}")).unwrap(),
            Target::Layout {
                path: "/tmp/x".into(),
                tag: None,
                digest: Some(D.into())
            }
        );
        assert_eq!(Target::parse("oci-layout:out").unwrap().tag(), None);
        assert!(matches!(
            Target::parse("oci-layout:"),
            Err(Error::Reference(_))
        ));
    }
}
