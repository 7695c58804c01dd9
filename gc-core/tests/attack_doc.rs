//! `docs/attacks.md` cites the tests behind each row as `file::…::name`
//! (and, after one, `::name` for another test in the same file). This
//! checks that every cited file exists and defines every cited name, so a
//! renamed or deleted test cannot leave a row backed by nothing.

use std::path::Path;

/// The names a citation's last segment stands for: `{a,b}_x` is `a_x`
/// and `b_x`; a trailing `*` is a prefix.
fn names(last: &str) -> Vec<String> {
    if let (Some(open), Some(close)) = (last.find('{'), last.find('}')) {
        let (pre, post) = (&last[..open], &last[close + 1..]);
        return last[open + 1..close]
            .split(',')
            .map(|m| format!("{pre}{m}{post}"))
            .collect();
    }
    vec![last.to_string()]
}

/// True when `src` defines `name`: a function, a test a macro makes
/// (`unchecked!(name, …)`), or for a prefix, one whose name starts with it.
fn defines(src: &str, name: &str) -> bool {
    let dense: String = src.chars().filter(|c| !c.is_whitespace()).collect();
    match name.strip_suffix('*') {
        Some(prefix) => src.contains(&format!("fn {prefix}")),
        None => {
            src.contains(&format!("fn {name}("))
                || src.contains(&format!("fn {name}<"))
                || ["!({},", "!({})"]
                    .iter()
                    .any(|form| dense.contains(&form.replace("{}", name)))
        }
    }
}

/// A test file's source, with its directory's shared `common/mod.rs`
/// (where the per-plan test files' macros define their tests).
fn source(path: &Path) -> Option<String> {
    let mut src = std::fs::read_to_string(path).ok()?;
    if let Some(common) = path.parent().map(|d| d.join("common/mod.rs")) {
        src += &std::fs::read_to_string(common).unwrap_or_default();
    }
    Some(src)
}

#[test]
fn every_test_the_attack_table_cites_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let doc = std::fs::read_to_string(root.join("docs/attacks.md")).expect("docs/attacks.md");
    let mut file: Option<String> = None;
    let (mut checked, mut missing) = (0, Vec::new());
    for cite in doc.split('`').skip(1).step_by(2) {
        let (path, rest) = match cite.split_once(".rs::") {
            Some((p, r)) if !p.contains(' ') => (format!("{p}.rs"), r),
            _ => match (cite.strip_prefix("::"), &file) {
                (Some(r), Some(f)) if !r.contains(' ') => (f.clone(), r),
                _ => continue,
            },
        };
        file = Some(path.clone());
        let last = rest.rsplit("::").next().unwrap_or(rest);
        for path in names(&path) {
            let Some(src) = source(&root.join(&path)) else {
                missing.push(format!("{path} (no such file)"));
                continue;
            };
            for name in names(last) {
                checked += 1;
                if !defines(&src, &name) {
                    missing.push(format!("{path}::{name}"));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} citations found: is the table's format the same?"
    );
    assert!(
        missing.is_empty(),
        "docs/attacks.md cites tests that do not exist: {missing:#?}"
    );
}
