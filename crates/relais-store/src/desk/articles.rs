//! Knowledge-base articles (SPEC §8): made on the pages or through the API, and copied
//! from the workspace's kb/*.md files when it loads.

use crate::model::*;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;

const COLUMNS: &str = "id, slug, title, language, tags, body, file, updated_at";

fn article_from(r: &crate::sql::Row) -> Result<Article> {
    Ok(Article {
        id: r.int(0)?,
        slug: r.text(1)?,
        title: r.text(2)?,
        language: r.text(3)?,
        tags: serde_json::from_value(r.json(4)?).unwrap_or_default(),
        body: r.text(5)?,
        file: r.opt_text(6)?,
        updated_at: Timestamp(r.int(7)?),
    })
}

pub(crate) fn articles(tx: &mut Tx<'_>) -> Result<Vec<Article>> {
    tx.c.query(
        &format!("SELECT {COLUMNS} FROM kb_articles ORDER BY slug"),
        &[],
    )?
    .iter()
    .map(article_from)
    .collect()
}

/// Creates (`id` None) or replaces an article. Slugs are unique.
pub(crate) fn save_article(
    tx: &mut Tx<'_>,
    id: Option<i64>,
    a: &NewArticle,
    now: Timestamp,
) -> Result<Article> {
    let taken =
        tx.c.query_opt(
            "SELECT id FROM kb_articles WHERE slug = $1",
            &[a.slug.as_str().into()],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    if taken.is_some() && taken != id {
        return Err(Error::AlreadyExists(format!("article {:?}", a.slug)));
    }
    let tags = serde_json::to_string(&a.tags)?;
    let r = match id {
        None => tx.c.query_one(
            &format!(
                "INSERT INTO kb_articles (slug, title, language, tags, body, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
            ),
            &[a.slug.as_str().into(), a.title.as_str().into(), a.language.as_str().into(), tags.as_str().into(), a.body.as_str().into(), now.0.into()],
        )?,
        Some(id) => tx
            .c
            .query_opt(
                &format!(
                    "UPDATE kb_articles SET slug = $1, title = $2, language = $3, tags = $4, body = $5, updated_at = $6 \
                     WHERE id = $7 RETURNING {COLUMNS}"
                ),
                &[a.slug.as_str().into(), a.title.as_str().into(), a.language.as_str().into(), tags.as_str().into(), a.body.as_str().into(), now.0.into(), id.into()],
            )?
            .ok_or_else(|| Error::NotFound(format!("article {id}")))?,
    };
    article_from(&r)
}

pub(crate) fn delete_article(tx: &mut Tx<'_>, id: i64) -> Result<bool> {
    Ok(tx
        .c
        .execute("DELETE FROM kb_articles WHERE id = $1", &[id.into()])?
        == 1)
}

/// kb/*.md → the table: an article whose file changed since it was last copied is
/// written again (an edit made on the page stays until then); the article of a file
/// that is gone is deleted. Returns how many were written and deleted.
pub(crate) fn sync_articles(
    tx: &mut Tx<'_>,
    files: &[ArticleFile],
    now: Timestamp,
) -> Result<(usize, usize)> {
    let mut written = 0;
    for f in files {
        let row = tx.c.query_opt(
            "SELECT id, file_hash FROM kb_articles WHERE slug = $1",
            &[f.article.slug.as_str().into()],
        )?;
        let (id, hash) = match row {
            Some(r) => (Some(r.int(0)?), r.opt_text(1)?),
            None => (None, None),
        };
        if hash.as_deref() == Some(f.hash.as_str()) {
            continue;
        }
        let a = save_article(tx, id, &f.article, now)?;
        tx.c.execute(
            "UPDATE kb_articles SET file = $1, file_hash = $2 WHERE id = $3",
            &[f.file.as_str().into(), f.hash.as_str().into(), a.id.into()],
        )?;
        written += 1;
    }
    let mut deleted = 0;
    for r in tx.c.query(
        "SELECT id, file FROM kb_articles WHERE file IS NOT NULL",
        &[],
    )? {
        let file = r.text(1)?;
        if !files.iter().any(|f| f.file == file) {
            deleted += usize::from(delete_article(tx, r.int(0)?)?);
        }
    }
    Ok((written, deleted))
}
