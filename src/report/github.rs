//! GitHub Actions workflow commands (`::error ...::message`).

use crate::check::CheckReport;

/// Escapes a workflow-command message: `%`, CR and LF.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
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
                format!("file={},line={}", escape_property(&o.file), o.line)
            }
            _ => format!("file={}", escape_property(file)),
        };
        let title = escape_property(&format!("wasipack {}", v.rule));
        let mut message = format!("{file}: {}", v.message);
        if let Some(hint) = &v.hint {
            message.push_str(&format!(" (hint: {hint})"));
        }
        out.push_str(&format!(
            "::error {location},title={title}::{}\n",
            escape_data(&message)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_github_requires() {
        assert_eq!(escape_data("50%\r\nx"), "50%25%0D%0Ax");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
