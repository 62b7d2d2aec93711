//! Cross-checks the built-in WASI preview1 signature table against an independent source: the
//! host module definitions of a real runtime, wazero v1.12.0 (testdata/wasi-crosscheck).

mod common;

use std::collections::BTreeMap;
use wasipack::wasm::wasi::PREVIEW1_FUNCTIONS;

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Sig {
    params: Vec<String>,
    results: Vec<String>,
}

#[test]
fn preview1_table_equals_wazero_host_definitions() {
    let t = common::require!("go");
    let out = t
        .command("go")
        .args(["run", "."])
        .current_dir(common::repo().join("testdata/wasi-crosscheck"))
        .output()
        .expect("go runs");
    assert!(
        out.status.success(),
        "go run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wazero: BTreeMap<String, Sig> = serde_json::from_slice(&out.stdout).unwrap();
    let ours: BTreeMap<String, Sig> = PREVIEW1_FUNCTIONS
        .iter()
        .map(|f| {
            let names =
                |v: &[wasipack::wasm::wasi::Val]| v.iter().map(|t| t.name().to_string()).collect();
            (
                f.name.to_string(),
                Sig {
                    params: names(f.params),
                    results: names(f.results),
                },
            )
        })
        .collect();
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        wazero.keys().collect::<Vec<_>>(),
        "function sets differ"
    );
    for (name, sig) in &wazero {
        assert_eq!(&ours[name], sig, "{name}");
    }
}
