//! The Go module list a Go-built binary carries in its data (what `go version -m` prints for
//! native binaries). `debug/buildinfo` cannot read it from wasm (golang/go#73741), so we find it
//! ourselves between the two 16-byte sentinels `cmd/go` frames it with.

use serde::Serialize;

/// Opening sentinel (`cmd/go/internal/modload/build.go`, `infoStart`).
const START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
/// Closing sentinel (`infoEnd`).
const END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

/// A Go module as the build info records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoModule {
    pub path: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sum: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replace: Option<Box<GoModule>>,
}

/// The build info of a Go binary: main package path, main module, dependencies, settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GoBuildInfo {
    /// The main package's import path.
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub main: Option<GoModule>,
    pub deps: Vec<GoModule>,
    /// `build` lines: `-buildmode`, `GOOS`, `vcs.revision`, ...
    pub settings: Vec<(String, String)>,
    /// Byte offset of the text in the file.
    pub offset: u64,
}

/// Finds and parses the build info in `data`, whose first byte is at file offset `base`.
pub fn find(data: &[u8], base: u64) -> Option<GoBuildInfo> {
    let (start, text) = framed(data)?;
    let mut info = parse(text);
    info.offset = base + start as u64;
    Some(info)
}

/// [`find`] in a whole file, with the text as Go wrote it.
pub fn find_text(data: &[u8]) -> Option<(String, GoBuildInfo)> {
    let (start, text) = framed(data)?;
    let mut info = parse(text);
    info.offset = start as u64;
    Some((text.to_string(), info))
}

/// Where the text between the sentinels starts, and the text.
fn framed(data: &[u8]) -> Option<(usize, &str)> {
    let start = memchr::memmem::find(data, &START)? + START.len();
    let len = memchr::memmem::find(&data[start..], &END)?;
    Some((start, std::str::from_utf8(&data[start..start + len]).ok()?))
}

/// Parses the tab-separated text form (`runtime/debug.ParseBuildInfo`'s input, minus the
/// `go` line that only native binaries carry).
pub fn parse(text: &str) -> GoBuildInfo {
    let mut info = GoBuildInfo::default();
    for line in text.lines() {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("path") => info.path = fields.next().unwrap_or_default().to_string(),
            Some("mod") => info.main = module(fields),
            Some("dep") => info.deps.extend(module(fields)),
            Some("=>") => {
                let replacement = module(fields).map(Box::new);
                if let Some(last) = info.deps.last_mut() {
                    last.replace = replacement;
                } else if let Some(main) = info.main.as_mut() {
                    main.replace = replacement;
                }
            }
            Some("build") => {
                let setting = fields.collect::<Vec<_>>().join("\t");
                let (key, value) = setting.split_once('=').unwrap_or((&setting, ""));
                info.settings.push((key.to_string(), value.to_string()));
            }
            _ => {}
        }
    }
    info
}

fn module<'a>(mut fields: impl Iterator<Item = &'a str>) -> Option<GoModule> {
    let path = fields.next()?.to_string();
    let version = fields.next().unwrap_or_default().to_string();
    let sum = fields.next().filter(|s| !s.is_empty()).map(str::to_string);
    Some(GoModule {
        path,
        version,
        sum,
        replace: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_build_info_between_sentinels_and_parses_replacements() {
        let text = "path\texample.com/app\nmod\texample.com/app\t(devel)\t\n\
                    dep\tgolang.org/x/text\tv0.14.0\th1:abc=\n\
                    dep\texample.com/lib\tv1.0.0\n=>\t../lib\t(devel)\t\n\
                    build\t-buildmode=exe\nbuild\tGOOS=wasip1\n";
        let mut data = b"junk".to_vec();
        data.extend_from_slice(&START);
        data.extend_from_slice(text.as_bytes());
        data.extend_from_slice(&END);
        let info = find(&data, 100).unwrap();
        assert_eq!(info.path, "example.com/app");
        assert_eq!(info.offset, 100 + 4 + 16);
        assert_eq!(info.main.as_ref().unwrap().version, "(devel)");
        assert_eq!(info.deps.len(), 2);
        assert_eq!(info.deps[0].sum.as_deref(), Some("h1:abc="));
        assert_eq!(info.deps[1].replace.as_ref().unwrap().path, "../lib");
        assert!(info.settings.contains(&("GOOS".into(), "wasip1".into())));
    }

    #[test]
    fn no_sentinel_means_no_build_info() {
        assert!(find(b"plain data", 0).is_none());
        let mut only_start = START.to_vec();
        only_start.extend_from_slice(b"path\tx\n");
        assert!(find(&only_start, 0).is_none());
    }
}
