//! SARIF 2.1.0, ready for `github/codeql-action/upload-sarif`.

use crate::check::{CheckReport, RULES};
use serde_json::{json, Value};

/// The SARIF log for one checked module.
pub fn log(report: &CheckReport, file: &str) -> Value {
    let rules: Vec<Value> = RULES
        .iter()
        .map(|(id, text)| {
            json!({
                "id": id,
                "shortDescription": { "text": text },
                "helpUri": "https://github.com/wasipack/wasipack/blob/main/docs/policy.md",
                "defaultConfiguration": { "level": "error" },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .violations
        .iter()
        .map(|v| {
            let mut location = json!({ "artifactLocation": { "uri": file, "index": 0 } });
            if let Some(offset) = v.offset {
                location["region"] = json!({ "byteOffset": offset, "byteLength": 1 });
            }
            let mut text = v.message.clone();
            if let Some(hint) = &v.hint {
                text.push_str(&format!(" (hint: {hint})"));
            }
            let mut result = json!({
                "ruleId": v.rule,
                "ruleIndex": RULES.iter().position(|(id, _)| *id == v.rule),
                "level": "error",
                "message": { "text": text },
                "locations": [{ "physicalLocation": location }],
                "properties": { "item": v.item },
            });
            if let Some(origin) = v.policy_location.as_ref().filter(|o| !o.shipped) {
                result["relatedLocations"] = json!([{
                    "id": 1,
                    "message": { "text": format!("rule `{}` set here", v.rule) },
                    "physicalLocation": {
                        "artifactLocation": { "uri": origin.file },
                        "region": { "startLine": origin.line },
                    }
                }]);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "wasipack",
                    "version": env!("CARGO_PKG_VERSION"),
                    "informationUri": "https://github.com/wasipack/wasipack",
                    "rules": rules,
                }
            },
            "artifacts": [{
                "location": { "uri": file },
                "length": report.module.size,
                "hashes": { "sha-256": report.module.sha256 },
            }],
            "properties": { "policy": report.policy },
            "results": results,
        }]
    })
}
