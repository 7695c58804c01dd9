//! `docs/attacks.md` cites the tests behind each row, and `docs/design.md`
//! the tests behind each invariant I1–I9, as `file::…::name` (and, after
//! one, `::name` for another test in the same file). This checks that
//! every cited file exists and defines every cited name, so a renamed or
//! deleted test cannot leave a row backed by nothing; for design.md also
//! that every source file it cites (`dir/file.rs`) exists, and that each
//! invariant's row cites tests.

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

/// Checks every test citation of `doc` (a path from the repository
/// root); returns how many names were checked.
fn check_citations(doc: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join(doc)).expect(doc);
    let mut file: Option<String> = None;
    let (mut checked, mut missing) = (0, Vec::new());
    for cite in text.split('`').skip(1).step_by(2) {
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
        missing.is_empty(),
        "{doc} cites tests that do not exist: {missing:#?}"
    );
    checked
}

#[test]
fn every_test_the_attack_table_cites_exists() {
    let checked = check_citations("docs/attacks.md");
    assert!(
        checked > 50,
        "only {checked} citations found: is the table's format the same?"
    );
}

/// The design map cites, per invariant, the code that upholds it and the
/// tests that show it: every cited test exists, every cited source file
/// exists, and every invariant's row cites at least two tests.
#[test]
fn every_test_and_file_the_design_map_cites_exists() {
    let checked = check_citations("docs/design.md");
    assert!(
        checked >= 27,
        "only {checked} test citations in docs/design.md"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let text = std::fs::read_to_string(root.join("docs/design.md")).expect("docs/design.md");
    let mut missing = Vec::new();
    for cite in text.split('`').skip(1).step_by(2) {
        let path = cite.split("::").next().unwrap_or(cite);
        let is_path = path.contains('/')
            && !path.contains(' ')
            && [".rs", ".md", ".c", ".h", ".sh"]
                .iter()
                .any(|e| path.ends_with(e));
        if is_path && !root.join(path).exists() {
            missing.push(path.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/design.md cites files that do not exist: {missing:#?}"
    );
    for i in 1..=9 {
        let row = text
            .lines()
            .find(|l| l.starts_with(&format!("| I{i} |")))
            .unwrap_or_else(|| panic!("docs/design.md has no row for I{i}"));
        let tests = row.matches(".rs::").count() + row.matches("`::").count();
        assert!(tests >= 2, "I{i}'s row cites {tests} tests: {row}");
    }
}
