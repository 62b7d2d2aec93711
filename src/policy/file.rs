//! The policy file format: TOML, every key optional, unknown keys rejected with file and line.
//! Each leaf keeps its span so that a violation can point at the line that set the rule.

use serde::Deserialize;
use toml::Spanned;

pub type Leaf<T> = Option<Spanned<T>>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawPolicy {
    pub description: Option<String>,
    pub extends: Leaf<String>,
    #[serde(default)]
    pub abi: RawAbi,
    #[serde(default)]
    pub imports: RawImports,
    #[serde(default)]
    pub exports: RawExports,
    #[serde(default)]
    pub memory: RawMemory,
    #[serde(default)]
    pub features: RawFeatures,
    #[serde(default)]
    pub sections: RawSections,
    #[serde(default)]
    pub start: RawStart,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawAbi {
    pub allow: Leaf<Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImportPattern {
    pub module: String,
    #[serde(default = "star")]
    pub name: String,
}

fn star() -> String {
    "*".to_string()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawImports {
    pub modules: Leaf<Vec<String>>,
    pub allow: Leaf<Vec<ImportPattern>>,
    pub deny: Leaf<Vec<ImportPattern>>,
    pub capabilities: Leaf<Vec<String>>,
    pub deny_capabilities: Leaf<Vec<String>>,
    pub check_signatures: Leaf<bool>,
    pub allow_wasi_unstable: Leaf<bool>,
    pub allow_unknown_wasi: Leaf<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawExports {
    pub require: Leaf<Vec<String>>,
    pub forbid: Leaf<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawMemory {
    pub max_initial_pages: Leaf<u64>,
    pub max_maximum_pages: Leaf<u64>,
    pub allow_shared: Leaf<bool>,
    pub allow_memory64: Leaf<bool>,
    pub max_memories: Leaf<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawFeatures {
    pub allow: Leaf<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawSections {
    pub require: Leaf<Vec<String>>,
    pub forbid: Leaf<Vec<String>>,
    pub max_module_size: Leaf<Size>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawStart {
    pub allow: Leaf<bool>,
}

/// A size in bytes: an integer, or a string such as `"64 MiB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(n) => Ok(Size(n)),
            Raw::Text(s) => parse_size(&s).map(Size).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid size `{s}`: use a number of bytes or a number with B, KiB, MiB or GiB"
                ))
            }),
        }
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_accept_binary_units_only() {
        assert_eq!(parse_size("64 MiB"), Some(64 << 20));
        assert_eq!(parse_size("1024"), Some(1024));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("5 MB"), None);
        assert_eq!(parse_size("MiB"), None);
    }
}
