//! Knowledge-base articles of a workspace: `kb/*.md`, each a Markdown text under a YAML
//! front matter with `title`, `language` and optional `tags` (SPEC §12).

use crate::diag::Diags;
use crate::parse::MapReader;
use crate::yaml::{self, Node, Pos};

/// One article.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleDef {
    /// The file's name without `.md` (`kb/delivery-times.md` → `delivery-times`).
    pub id: String,
    pub title: String,
    pub language: String,
    pub tags: Vec<String>,
    /// The Markdown text after the front matter, trimmed.
    pub body: String,
    pub file: String,
}

/// Reads one `kb/*.md` file; findings carry the file's own line numbers.
pub fn parse(path: &str, text: &str, d: &mut Diags) -> Option<ArticleDef> {
    let id = path
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .trim_end_matches(".md")
        .to_owned();
    let (front, body) = front_matter(text, d)?;
    let root = match yaml::parse(front) {
        Ok(r) => r,
        Err(e) => {
            d.error(
                Pos {
                    line: e.pos.line + 1,
                    col: e.pos.col,
                },
                e.message,
            );
            return None;
        }
    };
    // Positions inside the front matter are one line down in the file.
    let mut inner = Diags::new(d.file.clone());
    let Some(mut r) = MapReader::new(&root, "the front matter", &mut inner) else {
        d.items.extend(inner.items);
        return None;
    };
    let title = r.required_str("title", &mut inner);
    let language = r.required_str("language", &mut inner);
    let tags = tags(&mut r, &mut inner);
    r.finish(&mut inner);
    if let Some(l) = &language
        && !crate::workspace::is_language(l)
    {
        let pos = root.get("language").map_or(root.pos, |n| n.pos);
        inner.error(
            pos,
            format!("{l:?} is not a language code (fr, en, it, es, de…)"),
        );
    }
    if body.is_empty() {
        inner.error(root.pos, "the article has no text under its front matter");
    }
    let ok = !inner.has_errors();
    for mut x in inner.items {
        x.pos.line += 1;
        d.items.push(x);
    }
    if !ok {
        return None;
    }
    Some(ArticleDef {
        id,
        title: title?,
        language: language?,
        tags,
        body,
        file: path.to_owned(),
    })
}

/// The front matter (the text between the two `---` lines, with its last line's end) and
/// the body under it, trimmed.
fn front_matter<'a>(text: &'a str, d: &mut Diags) -> Option<(&'a str, String)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let first = Pos { line: 1, col: 1 };
    let Some(rest) = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
    else {
        d.error(first, "an article starts with a front matter: a line `---`, then `title:` and `language:`, then `---`");
        return None;
    };
    let Some(end) = rest.find("\n---").filter(|i| {
        let after = &rest[i + 4..];
        after.is_empty() || after.starts_with('\n') || after.starts_with("\r\n")
    }) else {
        d.error(first, "the front matter is not closed by a line `---`");
        return None;
    };
    let front = &rest[..end + 1];
    let body = rest[end + 4..].trim().to_owned();
    Some((front, body))
}

/// The front matter's optional `tags`: a list (items other than texts left out).
fn tags(r: &mut MapReader, inner: &mut Diags) -> Vec<String> {
    match r.take("tags") {
        None => Vec::new(),
        Some(n) => match n.as_seq() {
            Some(list) => list
                .iter()
                .filter_map(Node::as_str)
                .map(str::to_owned)
                .collect(),
            None => {
                inner.error(n.pos, "`tags` must be a list, such as [delivery, orders]");
                Vec::new()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_article_with_its_front_matter() {
        let mut d = Diags::new("kb/delivery.md");
        let a = parse(
            "kb/delivery.md",
            "---\ntitle: Délais de livraison\nlanguage: fr\ntags: [livraison]\n---\n\nNous livrons en 3 à 5 jours.\n",
            &mut d,
        )
        .expect("valid");
        assert!(d.items.is_empty(), "{:?}", d.items);
        assert_eq!(a.id, "delivery");
        assert_eq!(a.title, "Délais de livraison");
        assert_eq!(a.tags, ["livraison"]);
        assert_eq!(a.body, "Nous livrons en 3 à 5 jours.");
    }

    #[test]
    fn mistakes_are_reported_at_their_line_in_the_file() {
        let mut d = Diags::new("kb/x.md");
        assert!(
            parse(
                "kb/x.md",
                "---\ntitle: X\nlanguage: French\ncolour: red\n---\nText\n",
                &mut d
            )
            .is_none()
        );
        let lines: Vec<(usize, &str)> = d
            .items
            .iter()
            .map(|x| (x.pos.line, x.message.as_str()))
            .collect();
        assert!(
            lines
                .iter()
                .any(|(l, m)| *l == 3 && m.contains("not a language code")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|(l, m)| *l == 4 && m.contains("colour")),
            "{lines:?}"
        );
        let mut d = Diags::new("kb/y.md");
        assert!(parse("kb/y.md", "Just text", &mut d).is_none());
        assert!(d.items[0].message.contains("front matter"));
    }
}
