//! Message templates made on the Templates page or through the API; the workspace adds
//! them to templates.yaml's when it loads.

use crate::model::*;
use crate::sql::ConnExt;
use crate::tx::Tx;
use crate::{Error, Result};
use relais_core::Timestamp;

const COLUMNS: &str = "id, name, language, category, body, buttons";

fn template_from(r: &crate::sql::Row) -> Result<StoredTemplate> {
    Ok(StoredTemplate {
        id: r.int(0)?,
        name: r.text(1)?,
        language: r.text(2)?,
        category: r.text(3)?,
        body: r.text(4)?,
        buttons: serde_json::from_value(r.json(5)?).unwrap_or_default(),
    })
}

pub(crate) fn templates(tx: &mut Tx<'_>) -> Result<Vec<StoredTemplate>> {
    tx.c.query(
        &format!("SELECT {COLUMNS} FROM message_templates ORDER BY name, language"),
        &[],
    )?
    .iter()
    .map(template_from)
    .collect()
}

/// Creates (`id` None) or replaces a template; (name, language) is unique.
pub(crate) fn save_template(
    tx: &mut Tx<'_>,
    id: Option<i64>,
    t: &StoredTemplate,
    now: Timestamp,
) -> Result<StoredTemplate> {
    let taken =
        tx.c.query_opt(
            "SELECT id FROM message_templates WHERE name = $1 AND language = $2",
            &[t.name.as_str().into(), t.language.as_str().into()],
        )?
        .map(|r| r.int(0))
        .transpose()?;
    if taken.is_some() && taken != id {
        return Err(Error::AlreadyExists(format!(
            "template {:?} in {:?}",
            t.name, t.language
        )));
    }
    let buttons = serde_json::to_string(&t.buttons)?;
    let args = |extra: Vec<crate::sql::Val>| {
        let mut v: Vec<crate::sql::Val> = vec![
            t.name.as_str().into(),
            t.language.as_str().into(),
            t.category.as_str().into(),
            t.body.as_str().into(),
            buttons.as_str().into(),
            now.0.into(),
        ];
        v.extend(extra);
        v
    };
    let r = match id {
        None => tx.c.query_one(
            &format!(
                "INSERT INTO message_templates (name, language, category, body, buttons, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING {COLUMNS}"
            ),
            &args(Vec::new()),
        )?,
        Some(id) => tx
            .c
            .query_opt(
                &format!(
                    "UPDATE message_templates SET name = $1, language = $2, category = $3, body = $4, buttons = $5, \
                     updated_at = $6 WHERE id = $7 RETURNING {COLUMNS}"
                ),
                &args(vec![id.into()]),
            )?
            .ok_or_else(|| Error::NotFound(format!("template {id}")))?,
    };
    template_from(&r)
}

pub(crate) fn delete_template(tx: &mut Tx<'_>, id: i64) -> Result<bool> {
    Ok(tx
        .c
        .execute("DELETE FROM message_templates WHERE id = $1", &[id.into()])?
        == 1)
}
