//! GitHub Actions: workflow commands (`::error ...::message`), step outputs (`$GITHUB_OUTPUT`)
//! and the Markdown job summary (`$GITHUB_STEP_SUMMARY`) of the wasipack Action.
//!
//! Every renderer returns text; [`append`] adds text to a file the runner gave the step (both
//! files are appended to: other commands of the step write to them too).

use crate::build::ModuleReport;
use crate::check::CheckReport;
use crate::error::{Error, Result};
use crate::policy::Origin;
use crate::text::printable;
use crate::wasm::inspect::Inspection;
use std::path::{Component, Path, PathBuf};

/// Escapes a workflow-command message: `%`, CR and LF. Text that did not come from us goes
/// through [`inert`] first (as [`annotations`] and [`error`] do), so that no other control
/// character (ESC, a bidi override) reaches the log either.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// `text` with every control character but CR and LF written as a visible escape
/// ([`printable`]): line breaks in a workflow command are [`escape_data`]'s to encode (the
/// runner shows them as line breaks inside the one annotation).
fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut buf = [0u8; 4];
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(c),
            c => out.push_str(&printable(c.encode_utf8(&mut buf))),
        }
    }
    out
}

/// Escapes a workflow-command property value: as data, plus `:` and `,`.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error` line per violation. A rule set in a policy file of the user's points at that
/// file and line; a rule from a shipped policy points at the module.
pub fn annotations(report: &CheckReport, file: &str) -> String {
    let mut out = String::new();
    for v in &report.violations {
        let location = match &v.policy_location {
            Some(o) if !o.shipped => {
                format!("file={},line={}", escape_property(&inert(&o.file)), o.line)
            }
            _ => format!("file={}", escape_property(&inert(file))),
        };
        let title = escape_property(&format!("wasipack {}", v.rule));
        let mut message = format!("{file}: {}", v.message);
        if let Some(hint) = &v.hint {
            message.push_str(&format!(" (hint: {hint})"));
        }
        out.push_str(&format!(
            "::error {location},title={title}::{}\n",
            escape_data(&inert(&message))
        ));
    }
    out
}

/// One `::error` line with a title and no file.
pub fn error(title: &str, message: &str) -> String {
    format!(
        "::error title={}::{}\n",
        escape_property(&inert(title)),
        escape_data(&inert(message))
    )
}

/// Appends `text` to `path` (a `$GITHUB_OUTPUT` or `$GITHUB_STEP_SUMMARY` file), creating it.
pub fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let failed = |source| Error::Write {
        path: path.to_path_buf(),
        source,
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(failed)
}

/// Step outputs, in the order they are set.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outputs(Vec<(&'static str, String)>);

impl Outputs {
    /// Sets `name` (a fixed output name: letters, digits, `-` and `_`).
    pub fn set(&mut self, name: &'static str, value: impl Into<String>) -> &mut Self {
        debug_assert!(name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        let value = value.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `$GITHUB_OUTPUT` text: a `NAME<<DELIM` block per output. The delimiter occurs in no
    /// value, so a value (newlines and all) cannot end its block early and set another output.
    pub fn render(&self) -> String {
        let values: Vec<&str> = self.0.iter().map(|(_, v)| v.as_str()).collect();
        let delim = delimiter(&values, &seed(&values));
        let mut out = String::new();
        for (name, value) in &self.0 {
            out.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
        }
        out
    }
}

/// A hash of the values: what [`delimiter`] starts from (the same outputs, the same text).
fn seed(values: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for v in values {
        hash.update((v.len() as u64).to_le_bytes());
        hash.update(v.as_bytes());
    }
    hash.finalize()[..12]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `ghadelimiter_SEED_N` with the first N for which no value contains it.
fn delimiter(values: &[&str], seed: &str) -> String {
    (0u64..)
        .map(|n| format!("ghadelimiter_{seed}_{n}"))
        .find(|d| values.iter().all(|v| !v.contains(d.as_str())))
        .expect("some delimiter occurs in no value")
}

/// How the summary names files: relative to the repository's root when inside it, else
/// absolute; a policy file's line links to the commit on GitHub when `links` is set.
#[derive(Debug, Clone)]
pub struct Paths {
    /// What relative paths are relative to (the current directory).
    pub cwd: PathBuf,
    /// The repository's root (absolute).
    pub root: PathBuf,
    pub links: Option<Links>,
}

/// `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY` and `GITHUB_SHA`.
#[derive(Debug, Clone)]
pub struct Links {
    pub server: String,
    pub repository: String,
    pub sha: String,
}

impl Paths {
    /// `root` relative to `cwd` (both made absolute and free of `.` and `..`).
    pub fn new(cwd: &Path, root: &Path, links: Option<Links>) -> Paths {
        let cwd = normalize(cwd);
        let root = normalize(&cwd.join(root));
        Paths { cwd, root, links }
    }

    pub fn absolute(&self, path: &Path) -> PathBuf {
        normalize(&self.cwd.join(path))
    }

    /// Relative to the root when inside it (`.` for the root itself), else absolute.
    pub fn rel(&self, path: &Path) -> String {
        let path = self.absolute(path);
        match path.strip_prefix(&self.root) {
            Ok(r) if r.as_os_str().is_empty() => ".".into(),
            Ok(r) => r.display().to_string(),
            Err(_) => path.display().to_string(),
        }
    }

    /// `report` with the policy files it names made relative to the root, as annotations and
    /// SARIF logs name files.
    pub fn rebase(&self, report: &CheckReport) -> CheckReport {
        let mut report = report.clone();
        for v in &mut report.violations {
            if let Some(o) = v.policy_location.as_mut().filter(|o| !o.shipped) {
                o.file = self.rel(Path::new(&o.file));
            }
        }
        report
    }

    /// Where a rule was set, for the summary: the file and line, linked on GitHub.
    fn origin(&self, origin: Option<&Origin>) -> String {
        let Some(o) = origin else {
            return "built-in default".into();
        };
        if o.shipped {
            return format!("{}:{} (shipped)", o.file, o.line);
        }
        let path = self.rel(Path::new(&o.file));
        let text = format!("{path}:{}", o.line);
        match &self.links {
            Some(l) if !Path::new(&path).is_absolute() => format!(
                "[{text}]({}/{}/blob/{}/{path}#L{})",
                l.server, l.repository, l.sha, o.line
            ),
            _ => text,
        }
    }
}

/// `path` without `.` components, and with `..` taking off what precedes it.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The build step's output names, all set whatever happened (empty when they do not apply).
pub const BUILD_OUTPUTS: [&str; 11] = [
    "verdict",
    "name",
    "wasm-path",
    "spdx-path",
    "cyclonedx-path",
    "report-path",
    "sarif-path",
    "digest",
    "ref",
    "layout",
    "tag",
];

/// The build outputs with every name set to `""` and `verdict` to `verdict`.
fn build_outputs(verdict: &str) -> Outputs {
    let mut out = Outputs::default();
    for name in BUILD_OUTPUTS {
        out.set(name, "");
    }
    out.set("verdict", verdict);
    out
}

/// The outputs of a build that passed: `module` written under `output` (absolute), the SARIF
/// log at `sarif` (absolute) if one was asked for.
pub fn built_outputs(module: &ModuleReport, output: &Path, sarif: Option<&Path>) -> Outputs {
    let path = |p: &str| output.join(p).display().to_string();
    let layout = path(&module.oci_layout);
    let mut out = build_outputs("pass");
    out.set("name", module.name.as_str())
        .set("wasm-path", path(&module.wasm))
        .set("spdx-path", path(&module.spdx))
        .set("cyclonedx-path", path(&module.cyclonedx))
        .set("report-path", path("report.json"))
        .set(
            "sarif-path",
            sarif.map(|p| p.display().to_string()).unwrap_or_default(),
        )
        .set("digest", module.manifest_digest.as_str())
        .set(
            "ref",
            format!("oci-layout:{layout}@{}", module.manifest_digest),
        )
        .set("layout", layout)
        .set("tag", module.tag.as_str());
    out
}

/// The outputs of a build whose modules broke their policy: nothing was written but the SARIF
/// log.
pub fn rejected_outputs(sarif: Option<&Path>) -> Outputs {
    let mut out = build_outputs("fail");
    out.set(
        "sarif-path",
        sarif.map(|p| p.display().to_string()).unwrap_or_default(),
    );
    out
}

/// The outputs of a command that failed.
pub fn failed_outputs() -> Outputs {
    build_outputs("error")
}

/// A table cell: `|` escaped, line breaks as spaces, other control characters as visible
/// escapes ([`printable`]).
fn cell(text: &str) -> String {
    printable(&text.replace(['\r', '\n'], " ")).replace('|', "\\|")
}

/// 1234567 -> `1,234,567`; with `sign`, `+` before what is not negative.
fn grouped(n: i128, sign: bool) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    match (n < 0, sign) {
        (true, _) => format!("-{out}"),
        (false, true) => format!("+{out}"),
        (false, false) => out,
    }
}

fn size_line(before: u64, after: u64) -> String {
    let change = after as i128 - before as i128;
    let pct = if before > 0 {
        format!(", {:+.1}%", 100.0 * change as f64 / before as f64)
    } else {
        String::new()
    };
    format!(
        "{} bytes compiled → {} bytes after strip ({} bytes{pct})",
        grouped(before as i128, false),
        grouped(after as i128, false),
        grouped(change, true)
    )
}

/// The table of a module's imports by capability, and a blank line.
fn capabilities(module: &Inspection) -> Vec<String> {
    let mut lines = vec![
        format!(
            "#### Imports by capability ({} distinct imports)",
            module.imports.len()
        ),
        String::new(),
        "| Capability | Imports |".into(),
        "|---|---|".into(),
    ];
    for (capability, names) in &module.capabilities {
        let group = serde_json::to_value(capability)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        lines.push(format!(
            "| {} | {} |",
            cell(&group),
            cell(&names.join(", "))
        ));
    }
    let none: Vec<String> = module
        .imports
        .iter()
        .filter(|i| i.capabilities.is_empty())
        .map(|i| format!("`{}::{}`", i.module, i.name))
        .collect();
    if !none.is_empty() {
        lines.push(format!("| (none) | {} |", cell(&none.join(", "))));
    }
    if module.capabilities.is_empty() && none.is_empty() {
        lines.push("| (none) | no imports |".into());
    }
    lines.push(String::new());
    lines
}

fn join(lines: Vec<String>) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// The summary of a module that was built and passed its policy: `module` written under
/// `output`, `inspection` of its stripped module.
pub fn built_summary(
    module: &ModuleReport,
    inspection: &Inspection,
    output: &Path,
    paths: &Paths,
) -> String {
    let m = module;
    let verdict = "✅ pass";
    let mut lines = vec![
        format!("### wasipack: `{}` {verdict}", cell(&m.name)),
        String::new(),
        "| | |".into(),
        "|---|---|".into(),
        format!(
            "| Verdict | {verdict}: the module meets policy `{}` |",
            cell(&m.policy)
        ),
        format!(
            "| ABI | `{}` ({}) |",
            cell(&m.abi),
            cell(&inspection.abi_description)
        ),
        format!(
            "| Toolchain | {} (`{}`) |",
            cell(&m.toolchain_version),
            cell(&m.toolchain)
        ),
        format!(
            "| Module | `{}`, sha256 `{}` |",
            cell(&paths.rel(&output.join(&m.wasm))),
            m.sha256
        ),
        format!("| Size | {} |", size_line(m.size_compiled, m.size)),
        format!(
            "| Digest | `{}` (OCI manifest, tag `{}` in `{}`) |",
            m.manifest_digest,
            cell(&m.tag),
            cell(&paths.rel(&output.join(&m.oci_layout)))
        ),
        format!(
            "| SBOM packages | {} (dependency modules; SPDX `{}`, CycloneDX `{}`) |",
            m.sbom_packages,
            cell(&m.spdx),
            cell(&m.cyclonedx)
        ),
        String::new(),
    ];
    lines.extend(capabilities(inspection));
    join(lines)
}

/// A rejected module built again under a policy that accepts it, kept for inspection.
pub struct Kept<'a> {
    /// Where it was written.
    pub output: &'a Path,
    pub module: &'a ModuleReport,
}

/// The summary of modules that broke their policy: each with its violations (`kept` has
/// the ones built again for inspection).
pub fn rejected_summary(reports: &[(String, CheckReport)], kept: &[Kept], paths: &Paths) -> String {
    let mut lines = Vec::new();
    for (name, r) in reports {
        let n = r.violations.len();
        lines.extend([
            format!("### wasipack: `{}` ❌ fail", cell(name)),
            String::new(),
            "| | |".into(),
            "|---|---|".into(),
            format!(
                "| Verdict | ❌ fail: {n} violation{} of policy `{}`; nothing was written, pushed or signed |",
                if n == 1 { "" } else { "s" },
                cell(&r.policy)
            ),
            format!(
                "| ABI | `{}` ({}) |",
                r.module.abi.id(),
                cell(&r.module.abi_description)
            ),
        ]);
        if let Some(k) = kept.iter().find(|k| &k.module.name == name) {
            let m = k.module;
            lines.extend([
                format!("| Size | {} |", size_line(m.size_compiled, m.size)),
                format!(
                    "| SBOM packages | {} (dependency modules) |",
                    m.sbom_packages
                ),
                format!(
                    "| Rejected module | `{}` (kept for inspection, not published) |",
                    cell(
                        &paths
                            .absolute(&k.output.join(&m.wasm))
                            .display()
                            .to_string()
                    )
                ),
            ]);
        }
        lines.extend([
            String::new(),
            "#### Violations".into(),
            String::new(),
            "| Rule | Item | Set at | Message |".into(),
            "|---|---|---|---|".into(),
        ]);
        for v in &r.violations {
            let mut message = v.message.clone();
            if let Some(hint) = &v.hint {
                message.push_str(&format!(" (hint: {hint})"));
            }
            lines.push(format!(
                "| `{}` | `{}` | {} | {} |",
                v.rule,
                cell(&v.item),
                cell(&paths.origin(v.policy_location.as_ref())),
                cell(&message)
            ));
        }
        lines.push(String::new());
        lines.extend(capabilities(&r.module));
    }
    join(lines)
}

/// The summary of a command that failed with exit code `code`.
pub fn failed_summary(command: &str, code: i32) -> String {
    format!(
        "### wasipack ❌ error\n\n`wasipack {command}` failed (exit {code}): a compile error, a \
         missing toolchain or a configuration error; see the log.\n"
    )
}

/// The summary of a push: the artifact by digest, the tag it was pushed under (`None`: the
/// layout's own) and how many referrers (SBOMs) went with it.
pub fn pushed_summary(reference: &str, tag: Option<&str>, referrers: usize) -> String {
    format!(
        "**Pushed:** `{}` (tag `{}`, {referrers} SBOM referrers)\n\n",
        cell(reference),
        cell(tag.unwrap_or("default"))
    )
}

/// What an attestation's predicate type is called in the summary.
pub fn predicate_label(predicate_type: &str) -> String {
    match predicate_type {
        crate::sign::payload::SPDX_PREDICATE => "SPDX".into(),
        crate::sign::payload::CYCLONEDX_PREDICATE => "CycloneDX".into(),
        t if t.starts_with("https://slsa.dev/provenance/") => "SLSA provenance".into(),
        t => t.to_string(),
    }
}

/// The summary line of what a command signed: `signatures` signatures and an attestation per
/// entry of `attested` (labels, see [`predicate_label`]), on `reference`.
pub fn signed_summary(signatures: usize, attested: &[String], reference: &str) -> String {
    let reference = cell(reference);
    let n = attested.len();
    let list = if attested.is_empty() {
        String::new()
    } else {
        format!(" ({})", cell(&attested.join(", ")))
    };
    let s = if n == 1 { "" } else { "s" };
    if signatures > 0 {
        let ss = if signatures == 1 { "" } else { "s" };
        format!("**Signatures made:** {signatures} signature{ss} and {n} attestation{s}{list} on `{reference}`\n")
    } else {
        format!("**Attestations made:** {n} attestation{s}{list} on `{reference}`\n")
    }
}

/// The outputs of a command that pushed and/or signed.
pub fn published_outputs(
    pushed: Option<(&str, &str, &str)>,
    signatures: usize,
    attestations: usize,
) -> Outputs {
    let mut out = Outputs::default();
    if let Some((target, reference, digest)) = pushed {
        out.set("digest", digest)
            .set("ref", reference)
            .set("pushed", "true")
            .set("target", target);
    }
    out.set("signatures", signatures.to_string())
        .set("attestations", attestations.to_string());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_github_requires() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
        assert_eq!(
            error("wasipack build", "bad\n::error::forged"),
            "::error title=wasipack build::bad%0A::error::forged\n"
        );
        // Other control characters never reach the log raw; CR and LF stay escape_data's.
        assert_eq!(
            error("t\x1b]0;x\x07", "a\x1b[2J\u{202e}\r\nb"),
            "::error title=t\\x1b]0;x\\x07::a\\x1b[2J\\u{202e}%0D%0Ab\n"
        );
    }

    /// Reads `$GITHUB_OUTPUT` text as the runner does.
    fn parse(text: &str) -> Vec<(String, String)> {
        let mut lines = text.split('\n');
        let mut out = Vec::new();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                continue;
            }
            let (name, delim) = line.split_once("<<").expect("NAME<<DELIM");
            let mut body = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                body.push(l);
            }
            out.push((name.to_string(), body.join("\n")));
        }
        out
    }

    #[test]
    fn no_value_can_forge_another_output() {
        let hostile = "x\nverdict=pass\nref<<EOF\n::set-output name=ref::y\nEOF";
        let mut out = Outputs::default();
        out.set("verdict", "fail")
            .set("name", hostile)
            .set("ref", "");
        let text = out.render();
        assert_eq!(
            parse(&text),
            vec![
                ("verdict".to_string(), "fail".to_string()),
                ("name".to_string(), hostile.to_string()),
                ("ref".to_string(), String::new()),
            ]
        );
        // The same outputs, the same text.
        assert_eq!(text, out.render());
    }

    #[test]
    fn a_value_holding_the_delimiter_gets_another_one() {
        let values = ["ghadelimiter_abc_0", "a ghadelimiter_abc_1 b"];
        assert_eq!(delimiter(&values, "abc"), "ghadelimiter_abc_2");
        // Through render: a value that contains the delimiter the others would get.
        let mut out = Outputs::default();
        out.set("a", "1");
        let first = out.render();
        let delim = first.lines().next().unwrap().split_once("<<").unwrap().1;
        let mut hostile = Outputs::default();
        hostile
            .set("a", format!("{delim}\nb<<{delim}"))
            .set("b", "2");
        let text = hostile.render();
        assert_eq!(
            parse(&text),
            vec![
                ("a".to_string(), format!("{delim}\nb<<{delim}")),
                ("b".to_string(), "2".to_string()),
            ]
        );
    }

    #[test]
    fn sizes_read_as_before() {
        assert_eq!(grouped(1234567, false), "1,234,567");
        assert_eq!(grouped(-1000, true), "-1,000");
        assert_eq!(grouped(0, true), "+0");
        assert_eq!(
            size_line(2_000_000, 1_500_000),
            "2,000,000 bytes compiled → 1,500,000 bytes after strip (-500,000 bytes, -25.0%)"
        );
    }

    #[test]
    fn paths_are_named_from_the_root() {
        let p = Paths::new(Path::new("/ws/hello"), Path::new(".."), None);
        assert_eq!(p.rel(Path::new("dist/x.wasm")), "hello/dist/x.wasm");
        assert_eq!(p.rel(Path::new("../..")), "/");
        assert_eq!(p.rel(Path::new("..")), ".");
        assert_eq!(p.rel(Path::new("/elsewhere/p.toml")), "/elsewhere/p.toml");
        let linked = Paths {
            links: Some(Links {
                server: "https://github.com".into(),
                repository: "o/r".into(),
                sha: "abc".into(),
            }),
            ..p
        };
        let origin = Origin {
            file: "ci/p.toml".into(),
            line: 5,
            shipped: false,
        };
        assert_eq!(
            linked.origin(Some(&origin)),
            "[hello/ci/p.toml:5](https://github.com/o/r/blob/abc/hello/ci/p.toml#L5)"
        );
        assert_eq!(linked.origin(None), "built-in default");
    }

    #[test]
    fn signing_lines() {
        assert_eq!(
            signed_summary(1, &["SPDX".into(), "SLSA provenance".into()], "r@sha256:1"),
            "**Signatures made:** 1 signature and 2 attestations (SPDX, SLSA provenance) on `r@sha256:1`\n"
        );
        assert_eq!(
            signed_summary(1, &[], "r"),
            "**Signatures made:** 1 signature and 0 attestations on `r`\n"
        );
        assert_eq!(
            signed_summary(0, &["CycloneDX".into()], "r"),
            "**Attestations made:** 1 attestation (CycloneDX) on `r`\n"
        );
    }
}
