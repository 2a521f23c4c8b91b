//! Immutable flow versions: every distinct source of a flow that was ever loaded gets
//! the next version number, so a run that started on version N can still find it after
//! a reload or a restart.

use crate::Result;
use crate::model::{FlowSource, FlowVersion};
use crate::sql::ConnExt;
use crate::tx::Tx;
use relais_core::Timestamp;

impl Tx<'_> {
    fn latest_flow_version(&mut self, flow: &str) -> Result<Option<(i64, String)>> {
        let r = self.c.query_opt(
            "SELECT version, hash FROM flow_versions WHERE flow = $1 ORDER BY version DESC LIMIT 1",
            &[flow.into()],
        )?;
        r.map(|r| Ok((r.int(0)?, r.text(1)?))).transpose()
    }

    pub fn flow_versions(&mut self, with_source: bool) -> Result<Vec<FlowVersion>> {
        let rows = self.c.query(
            "SELECT flow, version, hash, path, created_at, source FROM flow_versions ORDER BY flow, version",
            &[],
        )?;
        rows.iter()
            .map(|r| {
                Ok(FlowVersion {
                    flow: r.text(0)?,
                    version: r.int(1)?,
                    hash: r.text(2)?,
                    path: r.text(3)?,
                    created_at: Timestamp(r.int(4)?),
                    source: if with_source { Some(r.text(5)?) } else { None },
                })
            })
            .collect()
    }
}

/// Records the loaded sources: a flow whose source changed (by hash) gets a new version.
/// Returns the current version of each given flow.
pub(crate) fn publish(
    tx: &mut Tx<'_>,
    sources: &[FlowSource],
    now: Timestamp,
) -> Result<Vec<(String, i64)>> {
    let mut current = Vec::with_capacity(sources.len());
    for s in sources {
        let version = match tx.latest_flow_version(&s.flow)? {
            Some((v, hash)) if hash == s.hash => v,
            latest => {
                let v = latest.map_or(1, |(v, _)| v + 1);
                tx.c.execute(
                    "INSERT INTO flow_versions (flow, version, hash, path, source, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &[
                        s.flow.as_str().into(),
                        v.into(),
                        s.hash.as_str().into(),
                        s.path.as_str().into(),
                        s.source.as_str().into(),
                        now.0.into(),
                    ],
                )?;
                v
            }
        };
        current.push((s.flow.clone(), version));
    }
    Ok(current)
}
