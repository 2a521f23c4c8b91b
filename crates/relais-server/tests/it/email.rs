//! Email end to end: raw RFC 5322 mails in the styles of Gmail, Outlook (HTML only,
//! windows-1252, quoted-printable), Apple Mail (an attachment) and an old Latin-1
//! client posted to the inbound webhook; the bot's reply sent over SMTP to a local
//! server (AUTH, then the mail read back with the same MIME parser), threaded with
//! `In-Reply-To` and `References`, text and HTML parts.

use super::helpers::*;
use relais_server::clock::ManualClock;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// What the local SMTP server was told, per mail: the AUTH line, MAIL FROM, RCPT TO,
/// the DATA, and whether the session was encrypted.
#[derive(Debug, Clone, Default)]
pub(super) struct Received {
    pub auth: Option<String>,
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
    pub tls: bool,
}

type Mails = Arc<Mutex<Vec<Received>>>;

/// How the local SMTP server speaks TLS.
#[derive(Clone)]
pub(super) enum SmtpTls {
    /// Plain text only (a relay on the local network).
    Off,
    /// Offers STARTTLS (port 587's way).
    StartTls(tokio_rustls::TlsAcceptor),
    /// TLS from the first byte (port 465's way).
    Implicit(tokio_rustls::TlsAcceptor),
}

/// A small SMTP server (RFC 5321's happy path, AUTH PLAIN/LOGIN, STARTTLS when asked
/// to): enough to take what a real client sends and answer as a relay does.
pub(super) async fn smtp_server() -> (Mails, u16) {
    smtp_server_with(SmtpTls::Off).await
}

pub(super) async fn smtp_server_with(tls: SmtpTls) -> (Mails, u16) {
    let got: Mails = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let store = got.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (store, tls) = (store.clone(), tls.clone());
            tokio::spawn(async move {
                match tls {
                    SmtpTls::Off => {
                        session(tcp, &store, false, false, true).await;
                    }
                    SmtpTls::Implicit(acceptor) => {
                        if let Ok(s) = acceptor.accept(tcp).await {
                            session(s, &store, false, true, true).await;
                        }
                    }
                    SmtpTls::StartTls(acceptor) => {
                        if let End::StartTls(tcp) = session(tcp, &store, true, false, true).await
                            && let Ok(s) = acceptor.accept(tcp).await
                        {
                            // After STARTTLS the client greets again, without a banner.
                            session(s, &store, false, true, false).await;
                        }
                    }
                }
            });
        }
    });
    (got, port)
}

enum End<S> {
    Done,
    StartTls(S),
}

async fn session<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    stream: S,
    store: &Mails,
    offer_starttls: bool,
    secure: bool,
    banner: bool,
) -> End<S> {
    let mut s = BufReader::new(stream);
    if banner
        && s.write_all(b"220 relay.test ESMTP ready\r\n")
            .await
            .is_err()
    {
        return End::Done;
    }
    let mut cur = Received {
        tls: secure,
        ..Received::default()
    };
    let mut line = String::new();
    loop {
        line.clear();
        if s.read_line(&mut line).await.unwrap_or(0) == 0 {
            return End::Done;
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            if offer_starttls {
                b"250-relay.test\r\n250-STARTTLS\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n"
            } else {
                b"250-relay.test\r\n250-AUTH PLAIN LOGIN\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n"
            }
        } else if upper == "STARTTLS" && offer_starttls {
            let _ = s.write_all(b"220 2.0.0 Ready to start TLS\r\n").await;
            let _ = s.flush().await;
            return End::StartTls(s.into_inner());
        } else if upper.starts_with("AUTH") {
            cur.auth = Some(cmd.clone());
            b"235 2.7.0 Authentication successful\r\n"
        } else if upper.starts_with("MAIL FROM") {
            cur.from = cmd.clone();
            b"250 2.1.0 OK\r\n"
        } else if upper.starts_with("RCPT TO") {
            cur.to.push(cmd.clone());
            b"250 2.1.5 OK\r\n"
        } else if upper == "DATA" {
            let _ = s
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await;
            let mut data = Vec::new();
            loop {
                let mut l = Vec::new();
                if s.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 || l == b".\r\n" {
                    break;
                }
                data.extend_from_slice(if l.starts_with(b"..") { &l[1..] } else { &l });
            }
            cur.data = data;
            let done = std::mem::replace(
                &mut cur,
                Received {
                    tls: secure,
                    ..Received::default()
                },
            );
            store.lock().unwrap().push(done);
            b"250 2.0.0 Ok: queued\r\n"
        } else if upper == "QUIT" {
            let _ = s.write_all(b"221 2.0.0 Bye\r\n").await;
            return End::Done;
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 2.0.0 OK\r\n"
        } else {
            b"502 5.5.2 Command not recognized\r\n"
        };
        if s.write_all(reply).await.is_err() {
            return End::Done;
        }
    }
}

const FLOW: &str = r#"flow: mail
name: Mail
language: fr
trigger: { on: message }
start: thanks
steps:
  thanks:
    ask:
      prompt:
        text: "Merci {{ contact.name }}, nous avons bien reçu votre message. Que souhaitez-vous ?"
        buttons:
          - { id: track, title: "Suivre ma commande" }
          - { id: agent, title: "Parler à un conseiller" }
      routes:
        - { match: { button: track }, next: thanks }
        - { match: { button: agent }, next: thanks }
      else: thanks
"#;

fn workspace(dir: &std::path::Path, port: u16) {
    std::fs::create_dir_all(dir.join("flows")).unwrap();
    std::fs::write(dir.join("flows/mail.yaml"), FLOW).unwrap();
    std::fs::write(
        dir.join("channels.yaml"),
        format!(
            "channels:\n  - {{ id: mail, kind: email, default_flow: mail,\n      settings: {{ from: \"Acme Support <support@acme.example>\", smtp: \"smtp://127.0.0.1:{port}\", rate: 100 }},\n      secrets: {{ inbound_token: MAIL_IN, smtp_user: SMTP_USER, smtp_password: SMTP_PASS }} }}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("relais.toml"),
        "[secrets]\nMAIL_IN = \"inbound-secret\"\nSMTP_USER = \"relais\"\nSMTP_PASS = \"s3cret\"\n[outbox]\nbackoff_base = \"1s\"\n",
    )
    .unwrap();
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/it/mail/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn post_mail(app: &TestApp, raw: Vec<u8>, token: Option<&str>) -> u16 {
    let mut r = app
        .client
        .post(format!("{}/webhooks/email/mail", app.url))
        .header("content-type", "message/rfc822")
        .body(raw);
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    r.send().await.unwrap().status().as_u16()
}

fn inbound_texts(all: &[serde_json::Value]) -> Vec<String> {
    all.iter()
        .filter(|m| m["direction"] == "inbound")
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mails_from_real_clients_are_read_trimmed_and_answered_over_smtp_in_thread() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp, port) = smtp_server().await;
    workspace(dir.path(), port);
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;

    // The token opens the channel; a body that is not a mail is refused whole.
    assert_eq!(post_mail(&app, sample("gmail.eml"), None).await, 401);
    assert_eq!(
        post_mail(&app, sample("gmail.eml"), Some("wrong")).await,
        401
    );
    assert_eq!(
        post_mail(&app, b"hello, not a mail".to_vec(), Some("inbound-secret")).await,
        400
    );
    assert!(app.transcripts().await.is_empty());

    // Gmail: the reply without the quoted history; stored once however often posted.
    assert_eq!(
        post_mail(&app, sample("gmail.eml"), Some("inbound-secret")).await,
        200
    );
    assert_eq!(
        post_mail(&app, sample("gmail.eml"), Some("inbound-secret")).await,
        200
    );
    let all = app.transcripts().await;
    assert_eq!(
        inbound_texts(&all),
        [
            "Bonjour,\n\nMa commande A123 n'est toujours pas arrivée. Pouvez-vous vérifier ?\n\nMerci,\nAlice"
        ]
    );

    // The bot's answer goes out over SMTP, authenticated, threaded, text + HTML.
    eventually("the reply is sent over SMTP", || async {
        !smtp.lock().unwrap().is_empty()
    })
    .await;
    let sent = smtp.lock().unwrap()[0].clone();
    use base64::Engine;
    let plain = base64::engine::general_purpose::STANDARD.encode("\0relais\0s3cret");
    assert_eq!(
        sent.auth.as_deref(),
        Some(format!("AUTH PLAIN {plain}").as_str())
    );
    assert_eq!(sent.from, "MAIL FROM:<support@acme.example>");
    assert_eq!(sent.to, ["RCPT TO:<alice.martin@gmail.com>"]);
    let mail = mail_parser::MessageParser::default()
        .parse(&sent.data)
        .unwrap();
    assert_eq!(mail.subject(), Some("Re: Where is my parcel?"));
    assert_eq!(
        mail.in_reply_to().as_text(),
        Some("CAB3xZq1=gmail-first@mail.gmail.com")
    );
    assert_eq!(
        mail.references().as_text_list().map(|l| l.len()),
        Some(1),
        "References carry the customer's message"
    );
    let message_id = mail.message_id().unwrap().to_owned();
    assert!(message_id.ends_with("@acme.example"), "{message_id}");
    let text = mail.body_text(0).unwrap().replace("\r\n", "\n");
    assert!(
        text.starts_with("Merci Alice Martin, nous avons bien reçu votre message.")
            && text.contains("1. Suivre ma commande\n2. Parler à un conseiller"),
        "buttons become numbered text: {text}"
    );
    let html = mail.body_html(0).unwrap();
    assert!(html.contains("<p>Merci Alice Martin"), "{html}");
    // The outbound message records the Message-ID it was sent with.
    let reply = app
        .transcripts()
        .await
        .into_iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap();
    assert_eq!(reply["external_id"], message_id.as_str());

    // Outlook: HTML only in windows-1252 quoted-printable, header block cut off.
    assert_eq!(
        post_mail(&app, sample("outlook.eml"), Some("inbound-secret")).await,
        200
    );
    // Apple Mail: top-posted, the iPhone footer cut, the PDF listed.
    assert_eq!(
        post_mail(&app, sample("apple-mail.eml"), Some("inbound-secret")).await,
        200
    );
    // An old client: Latin-1, 8-bit, no Message-ID (redelivery still stored once).
    assert_eq!(
        post_mail(&app, sample("latin1.eml"), Some("inbound-secret")).await,
        200
    );
    assert_eq!(
        post_mail(&app, sample("latin1.eml"), Some("inbound-secret")).await,
        200
    );
    let texts = inbound_texts(&app.transcripts().await);
    assert_eq!(texts.len(), 4, "{texts:?}");
    assert!(
        texts.contains(
            &"Voici la facture demandée, le montant débité est faux.\n\nChloé".to_owned()
        ),
        "{texts:?}"
    );
    assert!(
        texts
            .contains(&"Buongiorno, la consegna è prevista per giovedì?\nGrazie\nDario".to_owned()),
        "{texts:?}"
    );
    let outlook = texts.iter().find(|t| t.contains("jeudi")).unwrap();
    assert!(
        outlook.contains("Je préfère être livré jeudi – après 14 h si possible."),
        "{outlook}"
    );
    assert!(
        !outlook.contains("Quel jour"),
        "the quoted part is cut: {outlook}"
    );
    assert!(outlook.contains("Bruno Rossi"), "{outlook}");

    // The thread and the attachment are kept on the message.
    let (_, list) = app.get("/api/v1/conversations?limit=10").await;
    let chloe = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["contact"]["name"] == "Chloé Durand")
        .unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();
    let last = app
        .rt
        .store
        .last_inbound(relais_core::id::ConversationId(chloe))
        .await
        .unwrap()
        .unwrap();
    let p = last.payload.unwrap();
    assert_eq!(p["subject"], "Facture jointe");
    assert_eq!(p["attachments"][0]["filename"], "facture-A123.pdf");
    assert_eq!(p["attachments"][0]["mime_type"], "application/pdf");
    assert!(p["attachments"][0]["size"].as_u64().unwrap() > 50);
    // The PDF itself is kept with the message, for agents.
    let (_, shown) = app.get(&format!("/api/v1/conversations/{chloe}")).await;
    let file = &shown["attachments"][0];
    assert_eq!(file["filename"], "facture-A123.pdf", "{shown}");
    assert_eq!(file["state"], "stored");
    let r = app
        .client
        .get(format!("{}/api/v1/media/{}", app.url, file["id"]))
        .bearer_auth(&app.admin_token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(
        pdf.starts_with(b"%PDF-1.4") && pdf.ends_with(b"%%EOF\n"),
        "{pdf:?}"
    );
    // Every contact got a threaded answer.
    eventually("four answers", || async { smtp.lock().unwrap().len() == 4 }).await;
    let bruno = smtp
        .lock()
        .unwrap()
        .iter()
        .find(|r| r.to == ["RCPT TO:<bruno.rossi@outlook.fr>"])
        .cloned()
        .unwrap();
    let m = mail_parser::MessageParser::default()
        .parse(&bruno.data)
        .unwrap();
    assert_eq!(m.subject(), Some("RE: Votre livraison – créneau"));
    assert_eq!(
        m.references().as_text_list().unwrap().len(),
        3,
        "Outlook's references and its message"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_speaks_starttls_and_implicit_tls_and_refuses_a_wrong_certificate() {
    let good = super::tls::pki(&["127.0.0.1"]);
    let other = super::tls::pki(&["127.0.0.1"]);
    let (starttls, p1) = smtp_server_with(SmtpTls::StartTls(super::tls::acceptor(&good))).await;
    let (implicit, p2) = smtp_server_with(SmtpTls::Implicit(super::tls::acceptor(&good))).await;
    let (forged, p3) = smtp_server_with(SmtpTls::Implicit(super::tls::acceptor(&other))).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("flows")).unwrap();
    std::fs::write(dir.path().join("flows/mail.yaml"), FLOW).unwrap();
    std::fs::write(dir.path().join("ca.pem"), &good.ca_pem).unwrap();
    let channel = |id: &str, url: String| {
        format!(
            "  - {{ id: {id}, kind: email, default_flow: mail,\n      settings: {{ from: \"support@acme.example\", smtp: \"{url}\", rate: 100 }},\n      secrets: {{ inbound_token: MAIL_IN, smtp_user: SMTP_USER, smtp_password: SMTP_PASS }} }}\n"
        )
    };
    std::fs::write(
        dir.path().join("channels.yaml"),
        format!(
            "channels:\n{}{}{}",
            channel("m587", format!("smtp://127.0.0.1:{p1}")),
            channel("m465", format!("smtps://127.0.0.1:{p2}")),
            channel("forged", format!("smtps://127.0.0.1:{p3}")),
        ),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("relais.toml"),
        "[secrets]\nMAIL_IN = \"inbound-secret\"\nSMTP_USER = \"relais\"\nSMTP_PASS = \"s3cret\"\n[outbox]\nbackoff_base = \"1s\"\n[http]\nca_file = \"ca.pem\"\n",
    )
    .unwrap();
    let clock = ManualClock::new(T0);
    let app = spawn_dir_app(dir.path(), &clock).await;
    for ch in ["m587", "m465", "forged"] {
        let r = app
            .client
            .post(format!("{}/webhooks/email/{ch}", app.url))
            .bearer_auth("inbound-secret")
            .body(sample("gmail.eml"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{ch}");
    }
    eventually("answers over STARTTLS and implicit TLS", || async {
        !starttls.lock().unwrap().is_empty() && !implicit.lock().unwrap().is_empty()
    })
    .await;
    for got in [&starttls, &implicit] {
        let m = got.lock().unwrap()[0].clone();
        assert!(m.tls, "the mail went over TLS");
        assert!(
            m.auth.is_some(),
            "credentials are sent only inside TLS here"
        );
        assert_eq!(m.to, ["RCPT TO:<alice.martin@gmail.com>"]);
    }
    // A certificate from another CA: nothing is sent, the attempt says why.
    let (_, list) = app.get("/api/v1/conversations?limit=10").await;
    let conv = list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["conversation"]["channel"] == "forged")
        .unwrap()["conversation"]["id"]
        .as_i64()
        .unwrap();
    let (_, t) = app.get(&format!("/api/v1/conversations/{conv}")).await;
    let reply = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    eventually("the refused handshake is journaled", || async {
        app.get(&format!("/api/v1/messages/{reply}/attempts"))
            .await
            .1["attempts"]
            .as_array()
            .is_some_and(|a| !a.is_empty())
    })
    .await;
    let (_, attempts) = app.get(&format!("/api/v1/messages/{reply}/attempts")).await;
    let detail = attempts["attempts"][0]["detail"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(
        detail.contains("certificate") || detail.contains("tls"),
        "{detail}"
    );
    assert!(
        forged.lock().unwrap().is_empty(),
        "nothing reached the forged server"
    );
    app.stop().await;
}
