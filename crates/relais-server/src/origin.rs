//! A browser's `Origin` compared with this site: the web chat's socket and forms, and
//! the workspace's login form, ask the same question.

/// An origin as compared: lower case, no trailing `/`.
pub fn normalize(origin: &str) -> String {
    origin.trim_end_matches('/').to_ascii_lowercase()
}

/// Whether a normalized `origin` is this site: the Host the browser asked for, or the
/// public URL (a reverse proxy changes what Relais itself sees).
pub fn is_this_site(origin: &str, host: Option<&str>, public_url: Option<&str>) -> bool {
    let authority = origin.split_once("://").map_or("", |(_, a)| a);
    host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
        || public_url.is_some_and(|p| p.trim_end_matches('/').eq_ignore_ascii_case(origin))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_site_is_its_host_or_its_public_url() {
        let o = normalize("HTTP://Relais:8080/");
        assert_eq!(o, "http://relais:8080");
        assert!(is_this_site(&o, Some("relais:8080"), None));
        assert!(!is_this_site(&o, Some("relais:8081"), None));
        assert!(is_this_site(
            "https://support.acme.example",
            Some("10.0.0.2"),
            Some("https://support.acme.example/")
        ));
        assert!(!is_this_site(
            "https://evil.example",
            None,
            Some("https://support.acme.example")
        ));
    }
}
