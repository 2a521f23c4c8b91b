//! `relais bench --workspace`: the real binary starts a server on a copy of a
//! workspace and replays its conversation tests as the scripts of its contacts.

use std::process::Command;

const FLOW: &str = r#"
flow: shop
language: en
trigger:
  on: message
settings:
  team: support
start: welcome
steps:
  welcome:
    say: "Welcome! Reply 1 for order status, 3 to talk to an agent."
    next: menu
  menu:
    ask:
      routes:
        - { match: { keywords: ["1"] }, next: ask_order }
        - { match: { keywords: ["3"] }, next: to_agent }
      invalid: "Sorry, I did not understand."
  ask_order:
    ask:
      prompt: "Please send your order number."
      save: order_id
    next: shipped
  shipped:
    say: "Order {{ order_id | upper }}: shipped."
    next: menu
  to_agent:
    handoff:
      team: support
      reason: requested
      say: "Transferring you to an agent."
"#;

const TEAMS: &str =
    "teams:\n  - id: support\n    name: Support\n    assignment: round_robin\n    capacity: 5\n";

const ORDER_TEST: &str = r#"
name: order then agent
flow: shop
steps:
  - user: "Hi"
    bot: "Welcome!*"
  - user: "1"
    bot: "Please send your order number."
  - user: "a123"
    bot: "Order A123: shipped."
  - user: "3"
    bot: "Transferring you to an agent."
"#;

fn workspace(tests: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::create_dir_all(dir.path().join("tests")).unwrap();
    std::fs::write(dir.path().join("flows/shop.yaml"), FLOW).unwrap();
    std::fs::write(dir.path().join("teams.yaml"), TEAMS).unwrap();
    for (name, text) in tests {
        std::fs::write(dir.path().join("tests").join(name), text).unwrap();
    }
    dir
}

fn bench(ws: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_relais"))
        .args([
            "bench",
            "--duration",
            "1s",
            "--contacts",
            "4",
            "--workspace",
        ])
        .arg(ws)
        .output()
        .unwrap()
}

#[test]
fn bench_replays_a_workspaces_tests_with_a_new_contact_per_script() {
    let ws = workspace(&[
        ("order.yaml", ORDER_TEST),
        (
            "later.yaml",
            "name: later\nflow: shop\nsteps:\n  - user: Hi\n  - wait: 10m\n",
        ),
    ]);
    let out = bench(ws.path());
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("left out tests/later.yaml (later)"),
        "{stderr}"
    );
    let replayed: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("scripts      : "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no scripts line in\n{stdout}"));
    // Four replies per script, every one checked: a script that went astray (the
    // same contact twice would be in `menu`, not `welcome`) would fail the run.
    assert!(replayed >= 4, "{stdout}");
    assert!(stdout.contains("0 errors"), "{stdout}");
    // The user's folder is only read: the server ran on a copy.
    assert!(!ws.path().join("data").exists());
}

#[test]
fn bench_fails_when_replies_differ_from_the_tests() {
    let ws = workspace(&[(
        "order.yaml",
        &ORDER_TEST.replace("Order A123: shipped.", "Order A123: lost."),
    )]);
    let out = bench(ws.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("were not what the tests expect")
            && stderr.contains(
                r#"to "a123" expected Some(["Order A123: lost."]), got ["Order A123: shipped."]"#
            ),
        "{stderr}"
    );
}

#[test]
fn bench_whatsapp_compares_signed_webhooks_with_the_rest_channel_and_drains_every_reply() {
    let out = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["bench", "--whatsapp", "--contacts", "4", "--duration", "1s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("whatsapp/rest: "), "{stdout}");
    // Every webhook got its reply through the outbox, and none failed.
    for line in stdout.lines().filter(|l| l.starts_with("replies sent")) {
        let nums: Vec<u64> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok())
            .collect();
        assert!(
            nums.len() >= 3 && nums[1] == nums[2] && nums[2] > 0,
            "{line}"
        );
    }
    assert!(stdout.contains("0 errors"), "{stdout}");
}
