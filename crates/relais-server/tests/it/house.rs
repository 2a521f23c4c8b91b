//! The house rules of ARCHITECTURE.md, checked on every source file of the crates'
//! `src/`: no file over 800 lines (but the pages' five-language table), and no
//! function over 80 lines without a reason written above it (`// Long by design: …`).
//! Tests (`tests/`, `tests.rs`, `#[cfg(test)]` modules) and benches are not held to it.

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 800;
const MAX_FN_LINES: usize = 80;
/// Data, not logic: one row per text of the pages, in five languages.
const LONG_FILES: &[&str] = &["relais-server/src/web/words.rs"];

fn sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name().is_some_and(|n| n != "tests.rs")
            {
                out.push(p);
            }
        }
    }
    let crates = std::fs::canonicalize(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .expect("the crates folder");
    let mut out = Vec::new();
    for c in std::fs::read_dir(&crates).unwrap().flatten() {
        walk(&c.path().join("src"), &mut out);
    }
    out.sort();
    out
}

fn short(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.split("/crates/").nth(1).unwrap_or(&s).to_owned()
}

/// The text with comments, string and character literals blanked (lines kept), so
/// that braces are counted only where they are code.
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |ch: char| if ch == '\n' { '\n' } else { ' ' };
    let at = |i: usize, k: usize| c.get(i + k).copied().unwrap_or('\0');
    while i < c.len() {
        if c[i] == '/' && at(i, 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c[i] == '/' && at(i, 1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && at(i, 1) == '*' {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && at(i, 1) == '/' {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (at(i, 1) == '"' || (at(i, 1) == '#' && (at(i, 2) == '"' || at(i, 2) == '#')))
            && (i == 0 || !(c[i - 1].is_alphanumeric() || c[i - 1] == '_'))
        {
            // A raw string: r"…", r#"…"#.
            let mut hashes = 0;
            let mut j = i + 1;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            j += 1;
            while j < c.len() {
                if c[j] == '"' && (0..hashes).all(|h| c.get(j + 1 + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            for ch in &c[i..j.min(c.len())] {
                out.push(blank(*ch));
            }
            i = j;
        } else if c[i] == '"' {
            out.push(' ');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < c.len() {
                    out.push(blank(c[i]));
                    i += 1;
                }
            }
            out.push(' ');
            i += 1;
        } else if c[i] == '\'' && (at(i, 1) == '\\' || at(i, 2) == '\'') {
            // A character literal ('x', '\n', '\''); a lifetime has no closing quote.
            let mut j = i + 1;
            if c[j] == '\\' {
                j += 2;
            } else {
                j += 1;
            }
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            for _ in i..=j.min(c.len() - 1) {
                out.push(' ');
            }
            i = j + 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// (name, first line, lines) of every function with a body, up to the file's
/// `#[cfg(test)]` module.
fn functions(code: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let end = lines
        .iter()
        .position(|l| l.trim_start().starts_with("#[cfg(test)]"))
        .unwrap_or(lines.len());
    let mut found = Vec::new();
    for (n, line) in lines[..end].iter().enumerate() {
        let Some(at) = line.find("fn ") else {
            continue;
        };
        if at > 0 && !line[..at].ends_with([' ', '(']) {
            continue;
        }
        let name: String = line[at + 3..]
            .chars()
            .take_while(|ch| ch.is_alphanumeric() || *ch == '_')
            .collect();
        if name.is_empty() {
            continue;
        }
        // Its body: from the first `{` (before any `;` outside brackets: `[f32; 4]` is
        // a type) to the matching `}`.
        let (mut depth, mut opened, mut brackets) = (0i32, false, 0i32);
        let mut last = None;
        'scan: for (k, l) in lines[n..end].iter().enumerate() {
            let from = if k == 0 { at } else { 0 };
            for ch in l[from..].chars() {
                match ch {
                    '(' | '[' if !opened => brackets += 1,
                    ')' | ']' if !opened => brackets -= 1,
                    ';' if !opened && brackets == 0 => break 'scan,
                    '{' => {
                        depth += 1;
                        opened = true;
                    }
                    '}' => {
                        depth -= 1;
                        if opened && depth == 0 {
                            last = Some(n + k);
                            break 'scan;
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(last) = last {
            found.push((name, n, last - n + 1));
        }
    }
    found
}

#[test]
fn no_source_file_over_800_lines() {
    let long: Vec<String> = sources()
        .iter()
        .filter(|p| !LONG_FILES.contains(&short(p).as_str()))
        .filter_map(|p| {
            let n = std::fs::read_to_string(p).unwrap().lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{} ({n} lines)", short(p)))
        })
        .collect();
    assert!(long.is_empty(), "split by concept: {long:#?}");
    assert!(sources().len() > 150, "the scan found the sources");
}

#[test]
fn no_function_over_80_lines_without_its_reason() {
    let mut long = Vec::new();
    let mut seen = 0;
    for p in sources() {
        let text = std::fs::read_to_string(&p).unwrap();
        let original: Vec<&str> = text.lines().collect();
        for (name, first, n) in functions(&code_only(&text)) {
            seen += 1;
            if n <= MAX_FN_LINES {
                continue;
            }
            // The reason: a comment among the lines just above (its doc comment and
            // attributes may sit in between).
            let above = original[first.saturating_sub(8)..first].join("\n");
            if !above.contains("Long by design") {
                long.push(format!("{} {name} ({n} lines)", short(&p)));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these or write why they are long above them: {long:#?}"
    );
    assert!(seen > 1000, "the scan found the functions ({seen})");
}

#[test]
fn the_scanner_sees_code_not_strings_or_comments() {
    let src = "fn a() {\n    let s = \"{{ }\";\n    let c = '{';\n    // {\n    let r = r#\"}\"#;\n}\nfn b<'x>(v: &'x str) -> &'x str { v }\nfn c(x: [u8; 2]) -> u8 {\n    x[0]\n}\nfn d();\n";
    let f = functions(&code_only(src));
    assert_eq!(
        f,
        [
            ("a".to_owned(), 0, 6),
            ("b".to_owned(), 6, 1),
            ("c".to_owned(), 7, 3)
        ],
        "{:?}",
        code_only(src)
    );
}
