//! TLS where Relais is a client: outbound HTTPS (flow `http` steps, webhooks and
//! providers share one client setup) and PostgreSQL, against local TLS servers whose
//! certificates come from a test CA made here. A certificate from another CA, or for
//! another name, is refused.

use relais_core::decision::{HttpCall, HttpResult};
use relais_server::config::{Database, Settings};
use relais_server::runtime::http::{HttpRunner, Reach};
use relais_store::Pipeline;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

/// A CA, and a server certificate it signed for `names`.
pub(super) struct TestPki {
    pub ca_pem: String,
    server_cert: CertificateDer<'static>,
    server_key: PrivatePkcs8KeyDer<'static>,
}

pub(super) fn pki(names: &[&str]) -> TestPki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Relais test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    TestPki {
        ca_pem: ca_cert.pem(),
        server_cert: cert.der().clone(),
        server_key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

pub(super) fn acceptor(p: &TestPki) -> TlsAcceptor {
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![p.server_cert.clone()],
        PrivateKeyDer::Pkcs8(p.server_key.clone_key()),
    )
    .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// An HTTPS server on loopback answering every request with a small JSON body;
/// counts the requests that got through the handshake.
async fn https_server(p: &TestPki, served: Arc<AtomicUsize>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = acceptor(p);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, served) = (acceptor.clone(), served.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                // One request, read up to its blank line (GETs have no body).
                let mut buf = Vec::new();
                let mut chunk = [0u8; 1024];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                served.fetch_add(1, Ordering::SeqCst);
                let body = r#"{"status":"shipped"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn get(url: &str) -> HttpCall {
    HttpCall {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: None,
        timeout_ms: 5_000,
        retries: 0,
        idempotency_key: "tls".into(),
    }
}

fn open_reach() -> Reach {
    Reach {
        private: true,
        allow: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_calls_trust_the_configured_ca_and_refuse_other_certificates() {
    let good = pki(&["localhost"]);
    let served = Arc::new(AtomicUsize::new(0));
    let port = https_server(&good, served.clone()).await;
    let url = format!("https://localhost:{port}/orders/42");

    // `[http] ca_file` names the test CA: the call goes through.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ca.pem"), &good.ca_pem).unwrap();
    let settings = Settings::from_sources(
        Some("[http]\nca_file = \"ca.pem\"\nallow_private = true\n"),
        "relais.toml",
        &[],
        dir.path(),
    )
    .unwrap();
    let runner = HttpRunner::with_tls(settings.http_reach.clone(), &settings.http_tls);
    match runner.run(&get(&url)).await {
        HttpResult::Response { status, body } => {
            assert_eq!(status, 200);
            assert!(body.contains("shipped"));
        }
        other => panic!("the call through the test CA failed: {other:?}"),
    }
    assert_eq!(served.load(Ordering::SeqCst), 1);

    // Mozilla's roots alone do not know the test CA.
    let plain = HttpRunner::new(open_reach());
    match plain.run(&get(&url)).await {
        HttpResult::Failed { error } => assert!(!error.is_empty()),
        other => panic!("an unknown CA was trusted: {other:?}"),
    }

    // Another CA's certificate is refused, and so is a certificate for another name.
    let other = pki(&["localhost"]);
    let other_port = https_server(&other, served.clone()).await;
    let wrong_name = pki(&["orders.example"]);
    std::fs::write(
        dir.path().join("both.pem"),
        format!("{}{}", good.ca_pem, wrong_name.ca_pem),
    )
    .unwrap();
    let wrong_name_port = https_server(&wrong_name, served.clone()).await;
    let both =
        relais_server::tls::with_ca(&std::fs::read(dir.path().join("both.pem")).unwrap()).unwrap();
    let runner = HttpRunner::with_tls(open_reach(), &both);
    for port in [other_port, wrong_name_port] {
        let r = runner
            .run(&get(&format!("https://localhost:{port}/orders/42")))
            .await;
        assert!(matches!(r, HttpResult::Failed { .. }), "port {port}: {r:?}");
    }
    assert_eq!(
        served.load(Ordering::SeqCst),
        1,
        "no request went past a refused handshake"
    );
}

#[test]
fn a_ca_file_that_cannot_be_used_names_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    for file in ["missing.pem", "junk.pem"] {
        let err = Settings::from_sources(
            Some(&format!("[http]\nca_file = \"{file}\"\n")),
            "relais.toml",
            &[],
            dir.path(),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("http.ca_file") && err.contains(file), "{err}");
    }
    let s = Settings::from_sources(
        Some("[database]\nurl = \"postgres://u@db/x?sslmode=verify-full\"\nca_file = \"db-ca.pem\"\n"),
        "relais.toml",
        &[],
        dir.path(),
    )
    .unwrap();
    match s.database {
        Database::Postgres { ca_file, .. } => {
            assert_eq!(ca_file, Some(dir.path().join("db-ca.pem")));
        }
        Database::Sqlite { .. } => panic!("not PostgreSQL"),
    }
}

/// A TLS front for the test PostgreSQL server, as a managed database has: it answers
/// the client's SSLRequest with `S`, runs the TLS handshake with its certificate, then
/// relays the plain protocol to `backend`. Counts completed handshakes.
async fn pg_tls_front(p: &TestPki, backend: String, handshakes: Arc<AtomicUsize>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = acceptor(p);
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, backend, handshakes) =
                (acceptor.clone(), backend.clone(), handshakes.clone());
            tokio::spawn(async move {
                let mut request = [0u8; 8];
                if tcp.read_exact(&mut request).await.is_err() {
                    return;
                }
                // Length 8, code 80877103: the SSLRequest.
                if request != [0, 0, 0, 8, 4, 210, 22, 47] {
                    return;
                }
                if tcp.write_all(b"S").await.is_err() {
                    return;
                }
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                handshakes.fetch_add(1, Ordering::SeqCst);
                let Ok(mut db) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut db).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_speaks_tls_with_verify_full_and_refuses_a_wrong_certificate() {
    let Ok(url) = std::env::var("RELAIS_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but RELAIS_TEST_POSTGRES_URL is not set"
        );
        eprintln!("skipped: set RELAIS_TEST_POSTGRES_URL");
        return;
    };
    let parsed = url::Url::parse(&url).unwrap();
    let backend = format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    );
    let user = parsed.username();
    let db = parsed.path().trim_start_matches('/');
    let good = pki(&["localhost"]);
    let handshakes = Arc::new(AtomicUsize::new(0));
    let port = pg_tls_front(&good, backend.clone(), handshakes.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &good.ca_pem).unwrap();
    let open = |url: String, ca_file: Option<std::path::PathBuf>| {
        relais_store::postgres::open(relais_store::postgres::PostgresOptions {
            url,
            schema: Some(format!("relais_tls_{}", std::process::id())),
            max_connections: 2,
            ca_file,
        })
    };

    // verify-full with the CA in the URL: connected (the migrations ran) through TLS.
    let store = open(
        format!(
            "postgres://{user}@localhost:{port}/{db}?sslmode=verify-full&sslrootcert={}",
            ca.display()
        ),
        None,
    )
    .await
    .expect("verify-full through the test CA");
    assert!(store.last_event_id().await.is_ok());
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
    drop(store);

    // The same with the CA from `[database] ca_file`.
    let before = handshakes.load(Ordering::SeqCst);
    open(
        format!("postgres://{user}@localhost:{port}/{db}?sslmode=verify-full"),
        Some(ca.clone()),
    )
    .await
    .expect("verify-full through ca_file");
    assert!(handshakes.load(Ordering::SeqCst) > before);

    // Without the CA, the certificate is not trusted: refused before any query.
    let err = open(
        format!("postgres://{user}@localhost:{port}/{db}?sslmode=verify-full"),
        None,
    )
    .await
    .err()
    .expect("an unknown CA must be refused")
    .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    // verify-full checks the name: the certificate is for localhost, not 127.0.0.1.
    let err = open(
        format!("postgres://{user}@127.0.0.1:{port}/{db}?sslmode=verify-full"),
        Some(ca.clone()),
    )
    .await
    .err()
    .expect("a certificate for another name must be refused")
    .to_string();
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // …which verify-ca does not.
    open(
        format!("postgres://{user}@127.0.0.1:{port}/{db}?sslmode=verify-ca"),
        Some(ca),
    )
    .await
    .expect("verify-ca checks the chain only");

    // Clean up the schema the migrations made.
    let schema = format!("relais_tls_{}", std::process::id());
    std::thread::spawn(move || {
        if let Ok(mut c) = ::postgres::Client::connect(&url, ::postgres::NoTls) {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    })
    .join()
    .unwrap();
}
