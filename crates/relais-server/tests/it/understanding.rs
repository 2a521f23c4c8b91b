//! Language understanding through the real server (SPEC §8): a Spanish message reaches
//! an intent whose examples are French, English and Italian; the classified intent and
//! its margin are on the event log; a question in other words gets its article and the
//! confirmation, and "yes" solves the conversation as the bot's; articles made through
//! the API are answered at once; agents get the suggestions of a conversation.

use crate::helpers::*;
use relais_server::clock::ManualClock;
use serde_json::{Value, json};
use std::path::Path;

const EXAMPLES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../relais-flow/tests/understanding"
);

const FLOW: &str = r#"flow: support
name: Support
language: en
trigger: { on: message }
settings: { team: support, triggers: { keyword: false, sentiment: false } }
start: menu
steps:
  menu:
    ask:
      routes:
        - { match: { intent: track_order }, next: track }
        - { match: { intent: talk_to_agent }, next: human }
      else: faq
  track:
    say: "TRACK"
    next: done
  faq:
    answer:
      confirm: { text: { en: "Did this answer your question?", es: "¿Responde esto a su pregunta?" } }
      on_no_answer: human
  human:
    handoff: { team: support, say: "HUMAN" }
  done:
    resolve: {}
"#;

fn workspace(dir: &Path) {
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::create_dir_all(dir.join("kb")).unwrap();
    std::fs::write(dir.join("flows/support.yaml"), FLOW).unwrap();
    for f in ["intents.yaml", "teams.yaml"] {
        std::fs::copy(Path::new(EXAMPLES).join(f), dir.join(f)).unwrap();
    }
    for e in std::fs::read_dir(Path::new(EXAMPLES).join("kb")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("kb").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.join("relais.toml"), "").unwrap();
}

fn texts(body: &Value) -> Vec<String> {
    body["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn intents_answers_articles_and_suggestions_work_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    let clock = ManualClock::new(relais_core::Timestamp(1_795_424_400_000));
    let app = spawn_dir_app(dir.path(), &clock).await;

    // An intent with no Spanish example, reached in Spanish.
    let (s, _) = app
        .converse(json!({ "sender": "+34600000001", "text": "hola" }))
        .await;
    assert_eq!(s, 200);
    let (_, b) = app
        .converse(json!({ "sender": "+34600000001", "text": "¿Dónde está mi pedido? Todavía no lo he recibido" }))
        .await;
    assert_eq!(texts(&b), ["TRACK"], "{b}");
    let conversation = b["conversation_id"].as_i64().unwrap();
    let (_, events) = app
        .get(&format!("/api/v1/conversations/{conversation}/events"))
        .await;
    let understood: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "message_understood")
        .collect();
    let last = understood.last().expect("a message_understood event");
    assert_eq!(last["data"]["intent"], "track_order", "{last}");
    assert!(last["data"]["margin"].as_f64().unwrap() > -0.4, "{last}");

    // A question in other words: its article, then the confirmation with yes/no buttons.
    app.converse(json!({ "sender": "+44700000002", "text": "hi" }))
        .await;
    let (_, b) = app
        .converse(json!({ "sender": "+44700000002", "text": "can I send back a jacket that doesn't fit and get my money back?" }))
        .await;
    let t = texts(&b);
    assert_eq!(t.len(), 2, "{b}");
    assert!(t[0].starts_with("Returns and refunds\n\n"), "{b}");
    assert_eq!(t[1], "Did this answer your question?");
    assert_eq!(b["replies"][1]["buttons"], json!(["Yes", "No"]), "{b}");
    let conversation = b["conversation_id"].as_i64().unwrap();
    let (_, b) = app
        .converse(json!({ "sender": "+44700000002", "text": "yes" }))
        .await;
    assert_eq!(texts(&b), Vec::<String>::new(), "{b}");
    let (_, c) = app
        .get(&format!("/api/v1/conversations/{conversation}"))
        .await;
    assert_eq!(c["conversation"]["conversation"]["status"], "solved", "{c}");
    assert_eq!(
        c["conversation"]["conversation"]["resolved_by"], "bot",
        "{c}"
    );

    // The articles of kb/*.md are in the store, with their file.
    let (s, list) = app.get("/api/v1/articles").await;
    assert_eq!(s, 200);
    let articles = list["articles"].as_array().unwrap();
    assert_eq!(articles.len(), 20);
    assert!(
        articles
            .iter()
            .all(|a| a["file"].as_str().unwrap().starts_with("kb/"))
    );

    // Nothing about gift cards: the bot hands over.
    app.converse(json!({ "sender": "+44700000003", "text": "hello" }))
        .await;
    let (_, b) = app
        .converse(
            json!({ "sender": "+44700000003", "text": "do you sell gift vouchers for birthdays?" }),
        )
        .await;
    assert_eq!(texts(&b), ["HUMAN"], "{b}");
    let handed = b["conversation_id"].as_i64().unwrap();

    // An article made through the API is answered at once.
    let (s, made) = app
        .post(
            "/api/v1/articles",
            json!({
                "slug": "gift-cards", "title": "Gift cards", "language": "en", "tags": ["gifts"],
                "body": "We sell gift cards from 10 to 500 euros, in every shop and online. They are valid for two years.",
            }),
        )
        .await;
    assert_eq!(s, 201, "{made}");
    assert_eq!(made["reload"]["live"], true, "{made}");
    app.converse(json!({ "sender": "+44700000004", "text": "hello" }))
        .await;
    let (_, b) = app
        .converse(
            json!({ "sender": "+44700000004", "text": "do you sell gift vouchers for birthdays?" }),
        )
        .await;
    assert!(texts(&b)[0].starts_with("Gift cards\n\n"), "{b}");

    // The agents' suggestions for the conversation that was handed over now name it.
    let (s, sug) = app
        .get(&format!("/api/v1/conversations/{handed}/suggestions"))
        .await;
    assert_eq!(s, 200, "{sug}");
    assert_eq!(sug["question"], "do you sell gift vouchers for birthdays?");
    assert_eq!(sug["suggestions"][0]["slug"], "gift-cards", "{sug}");
    assert_eq!(sug["answers"], "gift-cards");
    let (s, found) = app
        .get("/api/v1/articles/search?q=wie%20lange%20dauert%20der%20Versand&language=de")
        .await;
    assert_eq!(s, 200);
    assert_eq!(found["answers"], "delivery-times-de", "{found}");

    // Mistakes are named; unknown ids are 404; a taken slug is a conflict.
    let (s, e) = app
        .post(
            "/api/v1/articles",
            json!({ "slug": "bad slug", "title": "x", "language": "en", "body": "x" }),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("slug"), "{e}");
    let (s, _) = app
        .post(
            "/api/v1/articles",
            json!({ "slug": "gift-cards", "title": "x", "language": "en", "body": "x" }),
        )
        .await;
    assert_eq!(s, 409);
    let id = made["article"]["id"].as_i64().unwrap();
    let r = app
        .client
        .delete(format!("{}/api/v1/articles/{id}", app.url))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = app
        .client
        .delete(format!("{}/api/v1/articles/{id}", app.url))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    // Deleted: the bot no longer answers with it.
    app.converse(json!({ "sender": "+44700000005", "text": "hello" }))
        .await;
    let (_, b) = app
        .converse(
            json!({ "sender": "+44700000005", "text": "do you sell gift vouchers for birthdays?" }),
        )
        .await;
    assert_eq!(texts(&b), ["HUMAN"], "{b}");
    app.stop().await;
}

/// A workspace of 50 intents (10 examples each) and 200 articles in five languages.
fn big_workspace(dir: &Path) {
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::create_dir_all(dir.join("kb")).unwrap();
    std::fs::write(
        dir.join("flows/support.yaml"),
        FLOW.replace("intent: track_order", "intent: topic_0")
            .replace("intent: talk_to_agent", "intent: topic_1"),
    )
    .unwrap();
    std::fs::copy(
        Path::new(EXAMPLES).join("teams.yaml"),
        dir.join("teams.yaml"),
    )
    .unwrap();
    let things = [
        "parcel",
        "invoice",
        "password",
        "refund",
        "address",
        "subscription",
        "card",
        "delivery",
        "account",
        "voucher",
    ];
    let verbs = ["change", "cancel", "track", "pay", "renew"];
    let mut intents = String::from("intents:\n");
    for i in 0..50 {
        let (t, v) = (things[i % 10], verbs[i / 10]);
        intents.push_str(&format!("  - name: topic_{i}\n    examples:\n      en:\n"));
        for j in 0..10 {
            intents.push_str(&format!("        - \"I want to {v} my {t}, case {j}\"\n"));
        }
    }
    std::fs::write(dir.join("intents.yaml"), intents).unwrap();
    for i in 0..200 {
        let lang = ["en", "fr", "it", "es", "de"][i % 5];
        let (t, v) = (things[i % 10], verbs[(i / 10) % 5]);
        std::fs::write(
            dir.join(format!("kb/article-{i}.md")),
            format!(
                "---\ntitle: \"How to {v} a {t} ({i})\"\nlanguage: {lang}\n---\n\nTo {v} a {t}, open your account, choose {t} and follow the steps. \
                 It takes {i} minutes. Our team answers questions about {t} every day.\n\nIf it fails, write to us with the number {i}.\n"
            ),
        )
        .unwrap();
    }
    std::fs::write(dir.join("relais.toml"), "").unwrap();
}

/// `relais demo --workspace WS --data DATA` in its own process (one NLU thread, so the
/// browser tests keep a core): the process, its address and the REST channel's token.
fn demo_process(ws: &Path, data: &Path) -> (std::process::Child, String, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["demo", "--json", "--listen", "127.0.0.1:0", "--workspace"])
        .env("RELAIS_NLU_THREADS", "1")
        .arg(ws)
        .arg("--data")
        .arg(data)
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let url = v["url"].as_str().unwrap().to_owned();
    let token = v["credentials"]["channel_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (child, url, token)
}

#[tokio::test]
async fn a_server_with_200_articles_and_50_intents_stays_under_200_mb() {
    let ws = tempfile::tempdir().unwrap();
    big_workspace(ws.path());
    let data = tempfile::tempdir().unwrap();
    let (mut child, url, token) = demo_process(ws.path(), data.path());
    let client = relais_server::tls::client();
    let questions = [
        "how do I renew my voucher?",
        "comment changer ma carte ?",
        "I want to pay my invoice",
        "wie kann ich mein Abonnement kündigen?",
        "what is the weather like?",
    ];
    for (i, q) in questions.iter().cycle().take(60).enumerate() {
        let sender = format!("+3360000{:04}", i / 2);
        let text = if i % 2 == 0 { "hello" } else { q };
        let r = client
            .post(format!("{url}/api/v1/channels/demo/converse"))
            .bearer_auth(&token)
            .json(&json!({ "sender": sender, "text": text }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let gauge = |name: &str| -> f64 {
        metrics
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {metrics}"))
    };
    let heap = gauge("relais_nlu_heap_bytes");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let kib = |field: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(field))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse()
            .unwrap()
    };
    let (peak, now) = (kib("VmHWM:") / 1024.0, kib("VmRSS:") / 1024.0);
    eprintln!(
        "200 articles, 50 intents: understanding heap {:.1} MB, server peak {peak:.0} MB, now {now:.0} MB",
        heap / 1e6
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(heap > 0.0 && heap < 100e6, "understanding heap {heap}");
    assert!(peak < 200.0, "peak resident memory {peak:.0} MB");
}

/// A workspace whose only use of the model is the frustration machine (the sentiment
/// trigger, on by default) does not load the encoder for "1", "A123", "ok thanks" or
/// a sentence the keyword trigger takes first: the model reads sentences of three
/// words or more that no earlier trigger takes, and the encoder is loaded at the first
/// one (its memory then shows on /metrics).
#[tokio::test]
async fn the_encoder_is_loaded_only_when_the_frustration_model_reads_a_sentence() {
    let ws = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ws.path().join("flows")).unwrap();
    std::fs::write(
        ws.path().join("flows/hello.yaml"),
        "flow: hello\nname: Hello\nlanguage: en\ntrigger: { on: message }\nsettings: { team: support }\n\
         start: hi\nsteps:\n  hi:\n    ask: { prompt: \"How can I help?\" }\n    next: hi\n",
    )
    .unwrap();
    std::fs::copy(
        Path::new(EXAMPLES).join("teams.yaml"),
        ws.path().join("teams.yaml"),
    )
    .unwrap();
    std::fs::write(ws.path().join("relais.toml"), "").unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut child, url, token) = demo_process(ws.path(), data.path());
    let client = relais_server::tls::client();
    let say_as = |sender: &'static str, text: &'static str| {
        let r = client
            .post(format!("{url}/api/v1/channels/demo/converse"))
            .bearer_auth(&token)
            .json(&json!({ "sender": sender, "text": text }));
        async move { r.send().await.unwrap().status().as_u16() }
    };
    let heap = || {
        let r = client.get(format!("{url}/metrics"));
        async move {
            let m = r.send().await.unwrap().text().await.unwrap();
            m.lines()
                .find(|l| l.starts_with("relais_nlu_heap_bytes"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|x| x.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("relais_nlu_heap_bytes in {m}"))
        }
    };
    let say = |text: &'static str| say_as("+33600000077", text);
    for text in ["hello", "1", "A123", "ok thanks"] {
        assert_eq!(say(text).await, 200);
    }
    // The keyword trigger takes this one before the model would be asked.
    assert_eq!(say_as("+33600000078", "can I talk to a human").await, 200);
    let before = heap().await;
    assert_eq!(say("I have been waiting for three weeks now").await, 200);
    let after = heap().await;
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(before, 0.0, "no encoder for words the model does not read");
    assert!(after > 1e6, "loaded at the first sentence: {after}");
}

/// The accuracy gate of docs/understanding.md: banking77, trained and tested by the
/// command line, cold (no vector cache), at least 0.930.
#[test]
fn nlu_eval_reaches_93_percent_on_banking77() {
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/../relais-nlu/data/banking77");
    // One core: the other tests of this binary (the browser's) keep the other.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .env("RELAIS_NLU_THREADS", "1")
        .args(["nlu", "eval", "--no-cache", "--train"])
        .arg(format!("{data}/train.csv"))
        .arg("--test")
        .arg(format!("{data}/test.csv"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    let last = stdout.lines().last().unwrap();
    let accuracy: f64 = last
        .strip_prefix("accuracy: ")
        .expect("the last line is the accuracy")
        .parse()
        .unwrap();
    assert!(accuracy >= 0.930, "{stdout}");
    assert!(
        stdout.contains("train: 10003 rows, 77 intents; test: 3080 rows"),
        "{stdout}"
    );
    assert!(stdout.contains("peak memory:"), "{stdout}");
}

/// Bad files are named with their line.
#[test]
fn nlu_eval_names_the_file_and_line_of_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("train.csv"),
        "text,label\nhello,greet\n\"unclosed,bye\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("test.csv"), "text,label\nhi,greet\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_relais"))
        .args(["nlu", "eval", "--no-cache", "--train"])
        .arg(dir.path().join("train.csv"))
        .arg("--test")
        .arg(dir.path().join("test.csv"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train.csv:line 3: a quoted field is not closed"),
        "{err}"
    );
}

/// `relais test` classifies and answers exactly as the server (the same training), and
/// `relais check` names what is wrong with intents.
#[test]
fn relais_test_and_check_on_a_workspace_with_intents_and_articles() {
    let bin = env!("CARGO_BIN_EXE_relais");
    let out = std::process::Command::new(bin)
        .arg("test")
        .arg(EXAMPLES)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("2 passed, 0 failed"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    workspace(dir.path());
    std::fs::write(
        dir.path().join("intents.yaml"),
        "intents:\n  - name: track_order\n    examples:\n      en: [\"where is my order\", \"track my parcel\"]\n  \
         - name: talk_to_agent\n    examples:\n      en: [a, b, c, d, e]\n      xx-yyyyyyyyyy: [f]\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("relais.toml"),
        "[escalation]\nsensitive_intents = [\"refund\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains("intents.yaml:2:5: warning: the intent \"track_order\" has 2 example(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("is not a language code"), "{stdout}");
    assert!(
        stdout.contains("relais.toml:2:1: error: [escalation] sensitive_intents names \"refund\", which intents.yaml does not define"),
        "{stdout}"
    );
}

/// `[nlu]` moves the thresholds: set the least answer score out of reach and the German
/// question of the example workspace goes to `on_no_answer`; a value out of range is
/// named with its key.
#[test]
fn nlu_thresholds_come_from_relais_toml() {
    let bin = env!("CARGO_BIN_EXE_relais");
    let dir = tempfile::tempdir().unwrap();
    for sub in ["flows", "kb", "tests"] {
        std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        for e in std::fs::read_dir(Path::new(EXAMPLES).join(sub)).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, dir.path().join(sub).join(p.file_name().unwrap())).unwrap();
        }
    }
    for f in ["intents.yaml", "teams.yaml"] {
        std::fs::copy(Path::new(EXAMPLES).join(f), dir.path().join(f)).unwrap();
    }
    std::fs::write(
        dir.path().join("relais.toml"),
        "[nlu]\nanswer_min_score = 1.5\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .arg("test")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("1 passed, 1 failed"), "{stdout}");
    std::fs::write(
        dir.path().join("relais.toml"),
        "[nlu]\nanswer_min_score = 3\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .arg("check")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("nlu.answer_min_score") && stdout.contains("between 0 and 2"),
        "{stdout}"
    );
}
