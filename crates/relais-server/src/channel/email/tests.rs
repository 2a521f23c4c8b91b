//! Mail in and out: real messages from the usual clients, hostile ones, and the SMTP client against a local server.

use super::*;

#[test]
fn quoted_history_and_signatures_are_cut_in_five_languages() {
    let cases = [
        "Yes, Thursday is fine.\n\nOn Mon, 23 Nov 2026 at 10:00, Acme <support@acme.example> wrote:\n> When would suit you?\n> Acme",
        "Yes, Thursday is fine.\n\nOn Mon, 23 Nov 2026 at 10:00, Acme Support <support@acme.example>\nwrote:\n> When?",
        "Yes, Thursday is fine.\n\nLe lun. 23 nov. 2026 à 10:00, Acme <support@acme.example> a écrit :\n> Quand ?",
        "Yes, Thursday is fine.\n\nIl giorno lun 23 nov 2026 alle ore 10:00 Acme <s@acme.example> ha scritto:\n> Quando?",
        "Yes, Thursday is fine.\n\nEl lun, 23 nov 2026 a las 10:00, Acme (<s@acme.example>) escribió:\n> ¿Cuándo?",
        "Yes, Thursday is fine.\n\nAm Mo., 23. Nov. 2026 um 10:00 Uhr schrieb Acme <s@acme.example>:\n> Wann?",
        "Yes, Thursday is fine.\n\n________________________________\nFrom: Acme Support <support@acme.example>\nSent: Monday, November 23, 2026 10:00\nTo: Alice\nSubject: Delivery",
        "Yes, Thursday is fine.\n\nDe : Acme Support <support@acme.example>\nEnvoyé : lundi 23 novembre 2026 10:00\nÀ : Alice",
        "Yes, Thursday is fine.\n\n-----Original Message-----\nFrom: Acme",
        "Yes, Thursday is fine.\n\n-- \nAlice Martin\nHead of purchasing",
        "Yes, Thursday is fine.\n\nEnvoyé de mon iPhone",
        "Yes, Thursday is fine.\r\n\r\nSent from my iPhone\r\n",
    ];
    for c in cases {
        assert_eq!(trim_reply(c), "Yes, Thursday is fine.", "{c:?}");
    }
    // A mail with no quote is kept whole; one that is all quote keeps its own lines.
    assert_eq!(
        trim_reply("Hello,\n\nWhere is my parcel?\nAlice"),
        "Hello,\n\nWhere is my parcel?\nAlice"
    );
    assert_eq!(trim_reply("> old\n> older\nnew words"), "new words");
}

#[test]
fn html_reads_as_text() {
    let html = "<html><head><style>p{color:red}</style><title>x</title></head><body><div>Bonjour,</div><div>Je pr&eacute;f&#232;re &amp; <b>vite</b>&nbsp;!</div><p>Line<br>break</p><hr><blockquote>old<br>words</blockquote><script>alert(1)</script>after</body></html>";
    assert_eq!(
        html_to_text(html),
        "Bonjour,\nJe préfère & vite !\nLine\nbreak\n________________________________\n> old\n> words\nafter"
    );
}

#[test]
fn replies_thread_onto_the_customers_mail() {
    let t = Thread::of(Some(&json!({
        "type": "email", "subject": "Where is my parcel?", "message_id": "CAB123@mail.gmail.com",
        "references": ["first@acme.example"]
    })));
    assert_eq!(t.reply_subject(7), "Re: Where is my parcel?");
    assert_eq!(
        t.references_header().unwrap(),
        "<first@acme.example> <CAB123@mail.gmail.com>"
    );
    let re = Thread {
        subject: Some("RE: parcel".into()),
        ..Thread::default()
    };
    assert_eq!(re.reply_subject(7), "RE: parcel");
    assert_eq!(Thread::default().reply_subject(7), "Your conversation #7");
    assert_eq!(Thread::default().references_header(), None);
}

#[test]
fn smtp_urls_name_host_port_and_tls() {
    assert_eq!(
        smtp_target("smtp://mail.example.com").unwrap(),
        ("mail.example.com".into(), 587, false)
    );
    assert_eq!(
        smtp_target("smtps://mail.example.com:2465").unwrap(),
        ("mail.example.com".into(), 2465, true)
    );
    assert_eq!(
        smtp_target("smtp://127.0.0.1:2525").unwrap(),
        ("127.0.0.1".into(), 2525, false)
    );
    assert!(smtp_target("http://mail.example.com").is_err());
    assert!(smtp_target("smtp://:25").is_err());
    assert!(smtp_target("smtp://host:port").is_err());
}

#[test]
fn a_password_is_only_sent_encrypted_unless_the_relay_is_local() {
    use Security::*;
    assert_eq!(smtp_security(true, true, "mail.example.com"), Implicit);
    assert_eq!(
        smtp_security(false, true, "mail.example.com"),
        StartTlsRequired
    );
    assert_eq!(smtp_security(false, true, "10.0.0.5"), StartTlsRequired);
    assert_eq!(
        smtp_security(false, false, "mail.example.com"),
        StartTlsWhenOffered
    );
    assert_eq!(smtp_security(false, true, "127.0.0.1"), StartTlsWhenOffered);
    assert_eq!(smtp_security(false, true, "localhost"), StartTlsWhenOffered);
    assert_eq!(smtp_security(false, true, "::1"), StartTlsWhenOffered);
}

#[test]
fn the_html_part_escapes_the_text() {
    assert_eq!(
        html_of("Hi <b>\n\n1. A & B"),
        "<!doctype html><html><body style=\"font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;font-size:15px;line-height:1.5;color:#1d2330\"><p>Hi &lt;b&gt;</p><p>1. A &amp; B</p></body></html>"
    );
}
