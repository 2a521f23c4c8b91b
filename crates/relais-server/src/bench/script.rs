//! What each simulated contact of `relais bench` says: the built-in walks (the demo's
//! order status, the greeting), or a workspace's own conversation tests replayed. A
//! test's `user` and `button` steps become the contact's messages and its `bot` globs
//! check the replies; tests that need what a live server cannot replay (events,
//! waits on a virtual clock, HTTP stubs) are left out and named.

use relais_flow::convtest::{self, Do};
use relais_flow::diag::Diags;
use std::path::Path;

/// One message of a script and, when the test says, the replies it must get.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub text: String,
    pub button: Option<String>,
    /// Globs, one per reply, in order (`None`: any replies).
    pub expect: Option<Vec<String>>,
}

/// The messages one contact sends, first to last.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub name: String,
    pub turns: Vec<Turn>,
}

impl Script {
    /// A walk whose replies are not checked.
    pub fn walk(name: &str, texts: &[&str]) -> Script {
        Script {
            name: name.into(),
            turns: texts
                .iter()
                .map(|t| Turn {
                    text: (*t).into(),
                    button: None,
                    expect: None,
                })
                .collect(),
        }
    }

    /// Whether `replies` are what `turn` expects.
    pub fn accepts(turn: &Turn, replies: &[String]) -> bool {
        match &turn.expect {
            None => true,
            Some(globs) => {
                globs.len() == replies.len()
                    && globs.iter().zip(replies).all(|(g, r)| convtest::glob(g, r))
            }
        }
    }
}

/// The scripts of a workspace's tests, and why the others were left out.
pub fn from_workspace(dir: &Path) -> Result<(Vec<Script>, Vec<String>), String> {
    let files = crate::workspace::read_tests(dir)
        .map_err(|e| format!("{}: cannot read its tests: {e}", dir.display()))?;
    if files.is_empty() {
        return Err(format!(
            "{}: no conversation tests in tests/ to replay",
            dir.display()
        ));
    }
    let mut scripts = Vec::new();
    let mut skipped = Vec::new();
    for (path, text) in files {
        let mut diags = Diags::new(path.clone());
        let case = convtest::parse(&text, &mut diags);
        let Some(case) = case.filter(|_| !diags.has_errors()) else {
            let first = diags
                .items
                .first()
                .map_or(String::new(), |d| format!(": {d}"));
            return Err(format!(
                "{path} is not a valid conversation test{first} (`relais test {}` lists every fault)",
                dir.display()
            ));
        };
        match script_of(&case) {
            Ok(s) => scripts.push(s),
            Err(why) => skipped.push(format!("{path} ({}): {why}", case.name)),
        }
    }
    if scripts.is_empty() {
        return Err(format!(
            "{}: none of its tests can be replayed against a live server: {}",
            dir.display(),
            skipped.join("; ")
        ));
    }
    Ok((scripts, skipped))
}

fn script_of(case: &convtest::Case) -> Result<Script, String> {
    if !case.stubs.is_empty() {
        return Err("it stubs HTTP calls".into());
    }
    let mut turns = Vec::new();
    for step in &case.steps {
        match &step.action {
            Do::User { text, button } => turns.push(Turn {
                text: text.clone(),
                button: button.clone(),
                expect: step.bot.clone(),
            }),
            Do::Event { .. } => return Err("it sends an event".into()),
            Do::Wait(_) => return Err("it waits on the virtual clock".into()),
        }
    }
    if turns.is_empty() {
        return Err("it says nothing".into());
    }
    Ok(Script {
        name: case.name.clone(),
        turns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace(tests: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("tests")).unwrap();
        for (name, text) in tests {
            std::fs::write(dir.path().join("tests").join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn user_and_button_steps_become_turns_checked_by_the_bot_globs() {
        let dir = workspace(&[(
            "a.yaml",
            "name: order\nflow: seed\nsteps:\n  - user: \"Hi\"\n    bot: \"Welcome!*\"\n  \
             - user: \"1 Order\"\n    button: \"1\"\n    bot: [\"Please*\", \"*number*\"]\n  - user: \"A123\"\n",
        )]);
        let (scripts, skipped) = from_workspace(dir.path()).unwrap();
        assert!(skipped.is_empty());
        let turns = &scripts[0].turns;
        assert_eq!(scripts[0].name, "order");
        assert_eq!(turns.len(), 3);
        assert_eq!(turns[0].text, "Hi");
        assert_eq!(turns[1].text, "1 Order");
        assert_eq!(turns[1].button.as_deref(), Some("1"));
        assert!(Script::accepts(&turns[0], &["Welcome! Reply 1.".into()]));
        assert!(!Script::accepts(&turns[0], &["Hello".into()]));
        assert!(!Script::accepts(
            &turns[1],
            &["Please send your order number.".into()]
        ));
        assert!(Script::accepts(
            &turns[1],
            &["Please.".into(), "your number".into()]
        ));
        assert!(Script::accepts(&turns[2], &[]));
    }

    #[test]
    fn tests_a_live_server_cannot_replay_are_named_and_left_out() {
        let dir = workspace(&[
            ("a.yaml", "name: ok\nflow: f\nsteps:\n  - user: hi\n"),
            (
                "b.yaml",
                "name: later\nflow: f\nsteps:\n  - user: hi\n  - wait: 10m\n",
            ),
        ]);
        let (scripts, skipped) = from_workspace(dir.path()).unwrap();
        assert_eq!(scripts.len(), 1);
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].contains("tests/b.yaml (later)"), "{skipped:?}");
        assert!(skipped[0].contains("virtual clock"), "{skipped:?}");
        let only_waits = workspace(&[(
            "b.yaml",
            "name: later\nflow: f\nsteps:\n  - user: hi\n  - wait: 10m\n",
        )]);
        assert!(from_workspace(only_waits.path()).is_err());
        assert!(
            from_workspace(tempfile::tempdir().unwrap().path())
                .unwrap_err()
                .contains("no conversation tests")
        );
    }
}
