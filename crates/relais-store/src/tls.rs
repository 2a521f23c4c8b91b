//! TLS client settings, shared by the PostgreSQL client and the server's HTTP client:
//! one crypto backend (ring), Mozilla's root store compiled in (no dependency on the
//! host's certificate folder), plus the CA certificates a deployment names.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use std::sync::Arc;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// The chain up to a trusted root, and the host name (libpq `verify-full`; HTTPS).
    Full,
    /// The chain only, whatever name the certificate carries (libpq `verify-ca`).
    ChainOnly,
    /// Encrypted, nothing checked (libpq `require` and `prefer` without a CA file).
    EncryptOnly,
}

/// Why a TLS setting cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct TlsError(pub String);

fn provider() -> Arc<CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// The trusted roots: Mozilla's, and every certificate of `extra_ca_pem`.
pub fn roots(extra_ca_pem: Option<&[u8]>) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_ca_pem {
        let mut found = 0;
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            let cert = cert.map_err(|e| TlsError(format!("cannot read a PEM certificate: {e}")))?;
            store
                .add(cert)
                .map_err(|e| TlsError(format!("not a usable CA certificate: {e}")))?;
            found += 1;
        }
        if found == 0 {
            return Err(TlsError("no PEM certificate in the CA file".into()));
        }
    }
    Ok(store)
}

/// A client configuration trusting [`roots`], checking as much as `verify` says.
pub fn client_config(
    extra_ca_pem: Option<&[u8]>,
    verify: Verify,
) -> Result<ClientConfig, TlsError> {
    let roots = Arc::new(roots(extra_ca_pem)?);
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError(e.to_string()))?;
    let config = match verify {
        Verify::Full => builder.with_root_certificates(roots).with_no_client_auth(),
        Verify::ChainOnly | Verify::EncryptOnly => {
            let inner = WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| TlsError(e.to_string()))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Relaxed { inner, verify }))
                .with_no_client_auth()
        }
    };
    Ok(config)
}

/// The verifier of `ChainOnly` and `EncryptOnly`: WebPKI's, with the name check (or
/// every certificate check) waived. Handshake signatures are always verified.
#[derive(Debug)]
struct Relaxed {
    inner: Arc<WebPkiServerVerifier>,
    verify: Verify,
}

impl ServerCertVerifier for Relaxed {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.verify == Verify::EncryptOnly {
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mozilla_roots_are_built_in() {
        assert!(roots(None).unwrap().len() > 100);
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused() {
        assert!(roots(Some(b"not a certificate")).is_err());
        assert!(client_config(Some(b""), Verify::Full).is_err());
    }
}
