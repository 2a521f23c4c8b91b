//! The outbound HTTP client's TLS: rustls on ring, Mozilla's roots, and the CA file of
//! `[http] ca_file` (a private order API, a test CA). Every outbound client (flow `http`
//! steps, webhooks, channel providers) is built here, so they trust the same roots.

use relais_store::tls::{Verify, client_config};
use std::sync::{Arc, OnceLock};

pub type ClientTls = Arc<rustls::ClientConfig>;

/// Mozilla's roots, host names checked.
pub fn default_tls() -> ClientTls {
    static DEFAULT: OnceLock<ClientTls> = OnceLock::new();
    DEFAULT
        .get_or_init(|| {
            Arc::new(client_config(None, Verify::Full).expect("the built-in roots are valid"))
        })
        .clone()
}

/// Mozilla's roots plus the certificates of `ca_pem`.
pub fn with_ca(ca_pem: &[u8]) -> Result<ClientTls, String> {
    client_config(Some(ca_pem), Verify::Full)
        .map(Arc::new)
        .map_err(|e| e.to_string())
}

/// A reqwest builder speaking TLS with `tls`, with Relais's user agent.
pub fn client_builder(tls: &ClientTls) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")))
        .tls_backend_preconfigured(rustls::ClientConfig::clone(tls))
}

/// A client with the default roots (commands and tests that call Relais itself).
/// `reqwest::Client::new()` would panic: reqwest is built without a crypto provider of
/// its own, so every client must come through [`client_builder`].
pub fn client() -> reqwest::Client {
    client_builder(&default_tls())
        .build()
        .expect("a client with the built-in roots")
}
