//! The workspace's words in the five languages of SPEC §9 (English, French, Italian,
//! Spanish, German), chosen per agent. A page asks `l.t("English text")`; the table
//! holds each text once per language, and a test reads every page's source so that a
//! text without its translations fails the build's tests instead of showing English.

/// A language of the workspace's pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
    It,
    Es,
    De,
}

impl Lang {
    pub const ALL: [Lang; 5] = [Lang::En, Lang::Fr, Lang::It, Lang::Es, Lang::De];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::It => "it",
            Lang::Es => "es",
            Lang::De => "de",
        }
    }

    /// The language's own name, for the language switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Fr => "Français",
            Lang::It => "Italiano",
            Lang::Es => "Español",
            Lang::De => "Deutsch",
        }
    }

    /// `fr`, `fr-CA`, `FR` → French; anything else → `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        let base = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == base)
    }

    /// The first language of an `Accept-Language` header that the pages speak.
    pub fn from_accept(header: Option<&str>) -> Lang {
        header
            .into_iter()
            .flat_map(|h| h.split(','))
            .filter_map(|part| Lang::parse(part.split(';').next().unwrap_or_default()))
            .next()
            .unwrap_or(Lang::En)
    }

    /// The page text `en` in this language (English when the table lacks it; the
    /// tests make sure it does not).
    pub fn t(self, en: &'static str) -> &'static str {
        if self == Lang::En {
            return en;
        }
        let col = self as usize;
        TABLE
            .iter()
            .find(|row| row[0] == en)
            .map_or(en, |row| row[col])
    }
}

use super::words::TABLE;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.t("…")` in the pages' sources.
    fn used() -> Vec<String> {
        // Every source file of the pages, so that a new page cannot be missed.
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .expect("the pages' sources")
                .flatten()
                .map(|e| e.path())
                .collect();
            entries.sort();
            for path in entries {
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && path
                        .file_name()
                        .is_some_and(|n| n != "words.rs" && n != "i18n.rs")
                {
                    out.push(std::fs::read_to_string(&path).expect("a source file"));
                }
            }
        }
        let mut sources = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web"),
            &mut sources,
        );
        assert!(sources.len() >= 18, "the scan found the pages' sources");
        let mut out = Vec::new();
        for src in &sources {
            let mut rest = src.as_str();
            // `.t("…")`, also as rustfmt splits it over lines.
            while let Some(at) = rest.find(".t(") {
                rest = rest[at + 3..].trim_start();
                let Some(text) = rest.strip_prefix('"') else {
                    continue;
                };
                let end = text.find('"').expect("a closed string");
                out.push(text[..end].to_owned());
                rest = &text[end..];
            }
        }
        out.sort();
        out.dedup();
        out
    }

    #[test]
    fn every_text_of_the_pages_is_translated() {
        let missing: Vec<String> = used()
            .into_iter()
            .filter(|en| !TABLE.iter().any(|row| row[0] == en))
            .collect();
        assert!(missing.is_empty(), "no translations for: {missing:#?}");
        assert!(used().len() > 50, "the scan found the pages' texts");
    }

    #[test]
    fn every_row_has_five_languages_and_is_there_once() {
        for row in TABLE {
            assert!(row.iter().all(|t| !t.trim().is_empty()), "{row:?}");
            // Placeholders survive translation.
            for p in ["{n}", "{name}", "{when}"] {
                let want = row[0].contains(p);
                assert!(row.iter().all(|t| t.contains(p) == want), "{p} in {row:?}");
            }
            assert_eq!(
                TABLE.iter().filter(|r| r[0] == row[0]).count(),
                1,
                "{row:?}"
            );
        }
    }

    #[test]
    fn languages_read_from_codes_and_headers() {
        assert_eq!(Lang::parse("fr-CA"), Some(Lang::Fr));
        assert_eq!(Lang::parse("DE"), Some(Lang::De));
        assert_eq!(Lang::parse("pt"), None);
        assert_eq!(
            Lang::from_accept(Some("pt-BR, it;q=0.8, en;q=0.5")),
            Lang::It
        );
        assert_eq!(Lang::from_accept(None), Lang::En);
        assert_eq!(Lang::Fr.t("Inbox"), "Boîte de réception");
        assert_eq!(Lang::En.t("Inbox"), "Inbox");
    }
}
