use super::*;

#[test]
fn every_shipped_policy_loads() {
    for (name, _) in SHIPPED {
        let p = Policy::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.name, *name);
        assert!(p.description.is_some(), "{name} has a description");
    }
}

#[test]
fn extends_takes_the_childs_rules_and_the_parents_rest() {
    let p = Policy::load("wasip1-sandboxed").unwrap();
    assert_eq!(
        p.chain,
        vec![
            "policies/wasip1-sandboxed.toml",
            "policies/wasip1-default.toml"
        ]
    );
    assert_eq!(
        p.deny_capabilities.value,
        vec![Capability::FilesystemWrite, Capability::Sockets]
    );
    assert_eq!(
        p.deny_capabilities.origin.as_ref().unwrap().file,
        "policies/wasip1-sandboxed.toml"
    );
    assert_eq!(p.exports_require.value, vec!["_start", "memory"]);
    assert_eq!(
        p.exports_require.origin.as_ref().unwrap().file,
        "policies/wasip1-default.toml"
    );
}

#[test]
fn unknown_key_is_rejected_with_line_and_column() {
    let err = Policy::from_str(
        "p.toml",
        "[abi]\nallow = [\"*\"]\n\n[memory]\nmax-pages = 3\n",
    )
    .unwrap_err();
    assert_eq!((err.file.as_str(), err.line, err.column), ("p.toml", 5, 1));
    assert!(
        err.message.contains("unknown field `max-pages`"),
        "{}",
        err.message
    );
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn unknown_feature_and_capability_names_point_at_their_line() {
    let err = Policy::from_str("p.toml", "[features]\nallow = [\"simd\", \"smid\"]\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("unknown feature `smid`"));
    let err =
        Policy::from_str("p.toml", "\n[imports]\ndeny-capabilities = [\"net\"]\n").unwrap_err();
    assert_eq!(err.line, 3);
    assert!(err.message.contains("unknown capability `net`"));
}

#[test]
fn wrong_value_type_is_an_error_not_a_default() {
    let err = Policy::from_str("p.toml", "[memory]\nmax-initial-pages = \"lots\"\n").unwrap_err();
    assert_eq!(err.line, 2);
}

#[test]
fn extends_cycle_and_missing_parent_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.toml"), "extends = \"b.toml\"\n").unwrap();
    std::fs::write(dir.path().join("b.toml"), "extends = \"a.toml\"\n").unwrap();
    let err = Policy::load(dir.path().join("a.toml").to_str().unwrap()).unwrap_err();
    assert!(err.message.contains("cycle"), "{err}");
    let err = Policy::from_str("p.toml", "extends = \"no-such-policy\"\n").unwrap_err();
    assert_eq!(err.line, 1);
    assert!(
        err.message.contains("cannot extend `no-such-policy`"),
        "{err}"
    );
}

#[test]
fn a_missing_policy_file_names_the_shipped_ones() {
    let err = Policy::load("wasip1-defualt").unwrap_err();
    assert!(err.message.contains("wasip1-default"), "{err}");
}

#[test]
fn invalid_glob_is_reported() {
    let err = Policy::from_str("p.toml", "[exports]\nforbid = [\"a[\"]\n").unwrap_err();
    assert_eq!(err.line, 2);
    assert!(err.message.contains("invalid glob"), "{err}");
}

#[test]
fn sizes_and_defaults() {
    let p = Policy::from_str("p.toml", "[sections]\nmax-module-size = \"8 MiB\"\n").unwrap();
    assert_eq!(p.max_module_size.value, Some(8 << 20));
    assert_eq!(p.features.value, features::go_default());
    assert!(p.check_signatures.value);
    assert!(p.accepts_components() && p.accepts_core_modules());
    let p = Policy::load("wasip2-component").unwrap();
    assert!(p.accepts_components() && !p.accepts_core_modules());
}

#[test]
fn a_users_policy_under_a_policies_dir_is_not_taken_for_a_shipped_one() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    let path = dir.path().join("policies/wasip1-default.toml");
    std::fs::write(
        &path,
        "extends = \"wasip1-default\"\n\n[start]\nallow = true\n",
    )
    .unwrap();
    let p = Policy::load(path.to_str().unwrap()).unwrap();
    assert_eq!(p.name, path.display().to_string());
    let origin = p.allow_start.origin.unwrap();
    assert!(!origin.shipped && origin.line == 4);
    assert!(p.exports_require.origin.unwrap().shipped);
}
