//! The web pages in a real browser: `tests/browser/*.mjs` drive Debian's chromium with
//! playwright-core against a real `relais demo` (this build's binary). Needs node,
//! chromium and `npm ci` in tests/browser (`.ci/run` installs them); without them the
//! test says what is missing and passes, except under CI=true, where it fails.

use std::path::PathBuf;
use std::process::Command;

fn missing() -> Vec<String> {
    let root = repo();
    let mut out = Vec::new();
    if Command::new("node").arg("--version").output().is_err() {
        out.push("node (Debian's nodejs)".to_owned());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !PathBuf::from(&chromium).exists() {
        out.push(format!("{chromium} (apt-get install chromium)"));
    }
    if !root
        .join("tests/browser/node_modules/playwright-core")
        .is_dir()
    {
        out.push("playwright-core (npm ci --prefix tests/browser)".to_owned());
    }
    out
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(script: &str) {
    let missing = missing();
    if !missing.is_empty() {
        let msg = format!(
            "browser test {script} cannot run; missing: {}",
            missing.join(", ")
        );
        assert!(std::env::var("CI").is_err(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    let out = Command::new("node")
        .arg(repo().join("tests/browser").join(script))
        .env("RELAIS_BIN", env!("CARGO_BIN_EXE_relais"))
        .env("SCREENSHOTS", &shots)
        .output()
        .expect("node runs");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
    println!("{text}");
}

/// One after the other: two browsers and two servers at once on a 2-core machine make
/// each page slow enough to flake.
#[test]
fn the_web_chat_and_the_workspace_work_in_a_real_browser() {
    run("webchat.mjs");
    run("workspace.mjs");
}
