//! The Settings page's values in force on this node: read at start and on reload
//! (another node may have changed them), changed by an admin through
//! [`Runtime::change_settings`] — checked, kept in the store, then used at once (the
//! store's lifecycle copy included).

use super::Runtime;
use crate::tunable::{self, Tunable};
use relais_core::Timestamp;
use relais_store::Store;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value the file's rules refuse: names the key.
    #[error(transparent)]
    Invalid(#[from] crate::config::Error),
    #[error(transparent)]
    Store(#[from] relais_store::Error),
}

/// The settings in force: the page's stored values laid over `base`. Stored values
/// that no longer pass (relais.toml changed under them) are set aside with a warning:
/// the file's hold, and the Settings page shows the page's values again to fix.
pub(super) async fn page_settings(
    store: &dyn Store,
    base: &toml::Table,
) -> Result<Tunable, relais_store::Error> {
    let stored = store
        .store_setting(tunable::NAME)
        .await?
        .unwrap_or_default();
    let page = match tunable::parse(&stored) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "the Settings page's values are unreadable; relais.toml's hold");
            toml::Table::new()
        }
    };
    let empty = toml::Table::new();
    match tunable::resolve(base, &page) {
        Ok(t) => Ok(t),
        Err(e) => {
            tracing::warn!(error = %e, "the Settings page's values no longer pass; relais.toml's hold");
            // The base passed when the server started.
            tunable::resolve(base, &empty).map_err(|e| relais_store::Error::Open(e.to_string()))
        }
    }
}

impl Runtime {
    /// The lifecycle, SLA and costs in force.
    pub fn tunable(&self) -> Arc<Tunable> {
        self.tunable
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// An admin's values from the Settings page (empty: relais.toml's again).
    pub async fn change_settings(
        &self,
        page: toml::Table,
        now: Timestamp,
    ) -> Result<Arc<Tunable>, SettingsError> {
        let t = Arc::new(tunable::resolve(&self.settings.tunable_base, &page)?);
        self.store
            .set_store_setting(tunable::NAME, &tunable::to_text(&page), now)
            .await?;
        self.use_tunable(t.clone());
        self.announce_change(now).await;
        Ok(t)
    }

    /// Reads the page's values again (on reload: another node may have changed them).
    pub async fn refresh_settings(&self) -> Result<(), relais_store::Error> {
        let t = page_settings(self.store.as_ref(), &self.settings.tunable_base).await?;
        self.use_tunable(Arc::new(t));
        Ok(())
    }

    fn use_tunable(&self, t: Arc<Tunable>) {
        self.store.configure(t.lifecycle.clone());
        *self.tunable.write().unwrap_or_else(|p| p.into_inner()) = t;
    }
}
