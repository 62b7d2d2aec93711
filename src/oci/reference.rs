//! Image references: `REGISTRY/REPO[:TAG][@sha256:HEX]` for registries, and
//! `oci-layout:PATH[:TAG|@sha256:HEX]` for an OCI image layout on disk, so every command that
//! takes a reference works without a registry server.

use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;

/// Docker Hub's registry name, used when a reference names none.
pub const DOCKER_HUB: &str = "docker.io";

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
        let bad = |why: &str| Error::Reference(format!("reference `{text}`: {why}"));
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => (r, Some(check_digest(d).map_err(|e| bad(&e.to_string()))?)),
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
