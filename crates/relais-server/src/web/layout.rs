//! What every page shares: the HTML document, the signed-in frame (navigation,
//! presence, sound, sign out), the page answer with its security headers, and reading
//! a posted form with its CSRF token.

use super::i18n::Lang;
use super::session::{self, Signed};
use crate::html::escape;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use relais_core::agent::Role;

/// No inline script or style anywhere: the pages carry this policy.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page answer: HTML, the page policy, never cached (it shows personal data).
pub fn page(status: StatusCode, html: String) -> Response {
    let mut r = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub fn document(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title} · Relais</title><link rel=\"stylesheet\" href=\"/assets/app.css\">\
         <script src=\"/assets/app.js\" defer></script></head>\
         <body>{body}</body></html>\n",
        code = lang.code(),
        title = escape(title)
    )
}

/// The language of a signed-in agent's pages.
pub fn lang(who: &Signed) -> Lang {
    Lang::parse(&who.agent.language).unwrap_or(Lang::En)
}

/// Supervisors and admins see the configuration pages; only admins change them.
pub fn reads_config(who: &Signed) -> bool {
    who.agent.role >= Role::Supervisor
}

/// The sections of the navigation: (English name, path, supervisors and admins only).
pub const SECTIONS: [(&str, &str, bool); 10] = [
    ("Inbox", "/inbox", false),
    ("Dashboard", "/dashboard", true),
    ("Flows", "/flows", true),
    ("Teams", "/teams", true),
    ("Agents", "/agents", true),
    ("Channels", "/channels", true),
    ("Canned responses", "/canned", true),
    ("Articles", "/articles", true),
    ("Templates", "/templates", true),
    ("Settings", "/settings", false),
];

/// The frame of every signed-in page: the navigation, the presence switch, the sound
/// switch, sign out; `active` names the current section (its English name).
pub fn frame(who: &Signed, active: &str, title: &str, main: &str) -> String {
    let l = lang(who);
    let nav: String = SECTIONS
        .iter()
        .filter(|(_, _, config)| !config || reads_config(who))
        .map(|(name, href, _)| {
            let current = if *name == active {
                " aria-current=\"page\""
            } else {
                ""
            };
            format!("<a href=\"{href}\"{current}>{}</a>", section_name(l, name))
        })
        .collect();
    let presence = who.agent.presence.as_str();
    let options: String = [
        ("online", l.t("Online")),
        ("away", l.t("Away")),
        ("offline", l.t("Offline")),
    ]
    .iter()
    .map(|(v, label)| {
        let sel = if *v == presence { " selected" } else { "" };
        format!("<option value=\"{v}\"{sel}>{label}</option>")
    })
    .collect();
    let csrf = who.csrf();
    document(
        l,
        title,
        &format!(
            "<a class=\"skip\" href=\"#main\">{skip}</a>\
             <header class=\"top\" data-agent=\"{me}\"><a class=\"brand\" href=\"/inbox\">Relais</a>\
             <nav aria-label=\"{main_nav}\">{nav}</nav>\
             <form class=\"presence\" method=\"post\" action=\"/presence\">\
             <input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <label><span class=\"sr\">{presence_word}</span>\
             <select name=\"presence\" aria-label=\"{presence_word}\">{options}</select></label>\
             <button type=\"submit\" class=\"ghost\">{set}</button></form>\
             <button type=\"button\" class=\"ghost\" id=\"sound\" hidden aria-pressed=\"true\" \
             data-on=\"{sound_on}\" data-off=\"{sound_off}\">{sound_on}</button>\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"_csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"ghost\">{logout} <span class=\"sr\">{name}</span></button></form>\
             </header><main id=\"main\" tabindex=\"-1\">{main}</main>",
            me = who.agent.id.0,
            skip = l.t("Skip to the content"),
            main_nav = l.t("Main"),
            presence_word = l.t("Presence"),
            set = l.t("Set"),
            sound_on = l.t("Sound on"),
            sound_off = l.t("Sound off"),
            logout = l.t("Log out"),
            name = escape(&who.agent.name),
        ),
    )
}

/// A section's name in the agent's language.
pub fn section_name(l: Lang, en: &str) -> &'static str {
    match en {
        "Inbox" => l.t("Inbox"),
        "Dashboard" => l.t("Dashboard"),
        "Flows" => l.t("Flows"),
        "Teams" => l.t("Teams"),
        "Agents" => l.t("Agents"),
        "Channels" => l.t("Channels"),
        "Canned responses" => l.t("Canned responses"),
        "Articles" => l.t("Articles"),
        "Templates" => l.t("Templates"),
        _ => l.t("Settings"),
    }
}

/// "Not found" inside the frame: also what a page the agent may not see answers.
pub fn not_found(who: &Signed, section: &str) -> Response {
    let l = lang(who);
    page(
        StatusCode::NOT_FOUND,
        frame(
            who,
            section,
            l.t("Not found"),
            &format!(
                "<h1>{}</h1><p class=\"empty\">{}</p>",
                l.t("Not found"),
                l.t("No such page, or not one you may see.")
            ),
        ),
    )
}

/// A posted form's fields.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The form of a signed-in page, refused (403) unless it carries the session's
    /// CSRF token.
    pub fn checked(who: &Signed, body: &[u8]) -> Result<Form, Refused> {
        let f = Form::parse(body);
        if session::csrf_ok(&who.token, f.get("_csrf")) {
            Ok(f)
        } else {
            Err(Refused(
                "this form is out of date (CSRF token missing or wrong); reload the page",
            ))
        }
    }
}

/// A form refused before anything was done: 403, said plainly.
pub struct Refused(pub &'static str);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        session::forbidden(self.0)
    }
}

/// A short line of feedback at the top of a page (`?error=` / `?done=`), escaped.
pub fn flash(error: Option<&str>, done: Option<&str>) -> String {
    let mut out = String::new();
    if let Some(e) = error {
        out.push_str(&format!(
            "<p class=\"error\" role=\"alert\">{}</p>",
            escape(e)
        ));
    }
    if let Some(d) = done {
        out.push_str(&format!(
            "<p class=\"done\" role=\"status\">{}</p>",
            escape(d)
        ));
    }
    out
}

/// A URL-encoded query value.
pub fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// "3 min", "2 h", "4 d".
pub fn since(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        3600..86_400 => format!("{} h", s / 3600),
        _ => format!("{} d", s / 86_400),
    }
}

/// A time as the agent reads it: `2026-11-28 14:05 UTC`.
pub fn when(at: relais_core::Timestamp) -> String {
    jiff::Timestamp::from_millisecond(at.0)
        .map(|t| t.strftime("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_times_read_short() {
        assert_eq!(since(42_000), "42 s");
        assert_eq!(since(3 * 60_000), "3 min");
        assert_eq!(since(2 * 3_600_000), "2 h");
        assert_eq!(since(4 * 86_400_000), "4 d");
    }

    #[test]
    fn repeated_fields_are_all_read() {
        let f = Form::parse(b"team=a&team=b&name=x%20y");
        assert_eq!(f.all("team"), ["a", "b"]);
        assert_eq!(f.get("name"), Some("x y"));
        assert_eq!(f.get("none"), None);
    }
}
