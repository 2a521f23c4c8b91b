//! Reloading a running server's workspace (`relais reload`, SIGHUP, `POST
//! /api/v1/reload`): the folder is read and checked again; only a workspace that passes
//! replaces the loaded one. Runs in progress keep their flow version.

use super::Runtime;
use crate::config::Settings;
use crate::workspace::{self, LoadError};
use std::path::PathBuf;

/// Where a server's workspace lives, and the settings it started with (`relais.toml`
/// is read at start only: changing it needs a restart; the Settings page's values are
/// read again on reload).
#[derive(Debug, Clone)]
pub struct Home {
    pub dir: PathBuf,
    pub settings: Settings,
}

/// What a successful reload loaded.
#[derive(Debug, Clone)]
pub struct Reloaded {
    pub versions: Vec<(String, i64)>,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("this server has no workspace folder to reload")]
    NoWorkspace,
    #[error(transparent)]
    Load(#[from] LoadError),
}

impl Runtime {
    pub async fn reload(&self) -> Result<Reloaded, ReloadError> {
        let (Some(home), Some(flows)) = (&self.home, &self.flows) else {
            return Err(ReloadError::NoWorkspace);
        };
        let _one_at_a_time = self.reloading.lock().await;
        let sources = workspace::read(&home.dir).map_err(LoadError::Read)?;
        let v = workspace::load_versioned(
            self.store.as_ref(),
            &sources,
            &home.settings,
            self.clock.now(),
        )
        .await?;
        flows.replace(v.loaded);
        self.reload_channels()
            .await
            .map_err(|e| ReloadError::Load(LoadError::Store(e)))?;
        self.refresh_settings()
            .await
            .map_err(|e| ReloadError::Load(LoadError::Store(e)))?;
        tracing::info!(flows = v.versions.len(), "workspace reloaded");
        Ok(Reloaded {
            versions: v.versions,
            warnings: v.warnings.iter().map(ToString::to_string).collect(),
        })
    }
}
