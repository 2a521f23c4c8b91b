//! Server-side request forgery: the client behind flow `http` steps and webhooks, given
//! more than fifty ways to reach loopback, private and metadata addresses (literals in
//! every spelling, names that resolve inside, an answer that changes between lookups,
//! redirects, other schemes), reaches none of the canary listeners; the allow list
//! admits exactly the targets it lists.

use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use relais_core::decision::{HttpCall, HttpResult};
use relais_server::runtime::http::{HttpRunner, Lookup, Reach, Target};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A listener that counts every request it gets, on `ip`. `None` where the machine
/// cannot bind that address (no IPv6).
async fn canary(ip: &str, hits: Arc<AtomicUsize>) -> Option<SocketAddr> {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.ok()?;
    let addr = listener.local_addr().ok()?;
    let app = axum::Router::new().fallback(move || {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            "canary"
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Some(addr)
}

/// The allowed target: `/ok` answers, `/to?u=URL` redirects to URL.
async fn allowed_server(hits: Arc<AtomicUsize>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counted = hits.clone();
    let app = axum::Router::new()
        .route(
            "/ok",
            axum::routing::get(move || {
                let hits = counted.clone();
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    "fine"
                }
            }),
        )
        .route(
            "/to",
            axum::routing::get(|Query(q): Query<HashMap<String, String>>| async move {
                let to = q.get("u").cloned().unwrap_or_default();
                let mut resp = StatusCode::FOUND.into_response();
                resp.headers_mut()
                    .insert(header::LOCATION, HeaderValue::from_str(&to).unwrap());
                resp
            }),
        );
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

/// Answers the test's names as DNS would; `rebind.test` answers a public address the
/// first time and loopback afterwards.
fn lookup() -> Lookup {
    let rebinds = Arc::new(AtomicUsize::new(0));
    Arc::new(move |host: String| {
        let n = rebinds.clone();
        Box::pin(async move {
            let ips: Vec<&str> = match host.as_str() {
                "canary.test" | "orders.internal" => vec!["127.0.0.1"],
                "meta.test" => vec!["169.254.169.254"],
                "mixed.test" => vec!["127.0.0.1", "10.0.0.1", "192.168.1.1"],
                "v6.test" => vec!["::1"],
                "mapped.test" => vec!["::ffff:127.0.0.1"],
                "rebind.test" if n.fetch_add(1, Ordering::SeqCst) == 0 => vec!["192.0.2.1"],
                "rebind.test" => vec!["127.0.0.1"],
                _ => return Err(std::io::Error::other(format!("no such name {host}"))),
            };
            Ok(ips.iter().map(|s| s.parse::<IpAddr>().unwrap()).collect())
        })
    })
}

fn get(url: &str) -> HttpCall {
    HttpCall {
        method: "GET".into(),
        url: url.into(),
        headers: vec![],
        body: None,
        timeout_ms: 300,
        // A retry resolves the name again: `rebind.test` answers differently then.
        retries: u32::from(url.contains("rebind")),
        idempotency_key: "ssrf".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_vector_reaches_a_canary_and_the_allow_list_admits_exactly_its_targets() {
    let canary_hits = Arc::new(AtomicUsize::new(0));
    let c = canary("127.0.0.1", canary_hits.clone())
        .await
        .unwrap()
        .port();
    let c2 = canary("127.0.0.2", canary_hits.clone()).await.unwrap();
    let c6 = canary("::1", canary_hits.clone()).await;
    let allowed_hits = Arc::new(AtomicUsize::new(0));
    let a = allowed_server(allowed_hits.clone()).await.port();

    let reach = Reach {
        private: false,
        allow: vec![
            Target::parse(&format!("orders.internal:{a}")).unwrap(),
            Target::parse(&format!("127.0.0.1:{a}")).unwrap(),
        ],
    };
    let runner = HttpRunner::with_lookup(reach, lookup(), &relais_server::tls::default_tls());

    let mut targets: Vec<String> = [
        // Loopback in every spelling the URL standard accepts.
        "127.0.0.1",
        "127.1",
        "2130706433",
        "0x7f000001",
        "0177.0.0.1",
        "0x7f.0.0.1",
        "0x7f.1",
        "127.000.000.001",
        "127.0.0.1.",
        "%31%32%37.0.0.1",
        "１２７.０.０.１",
        "0.0.0.0",
        "0",
        "localhost",
        "LOCALHOST",
        "foo.localhost",
        "user:pw@127.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:1]",
        "[0:0:0:0:0:ffff:127.0.0.1]",
        "[::]",
        // Private, shared and link-local ranges.
        "10.0.0.1",
        "172.16.0.1",
        "192.168.0.1",
        "100.64.0.1",
        "[fd00::1]",
        "[fe80::1]",
        // Names that resolve inside, and one whose answer changes.
        "canary.test",
        "mixed.test",
        "mapped.test",
        "rebind.test",
        // A listed name on a port the list does not give it.
        "orders.internal",
    ]
    .iter()
    .map(|h| format!("http://{h}:{c}/"))
    .collect();
    targets.push(format!("http://{c2}/"));
    targets.push("http://169.254.169.254/latest/meta-data/".into());
    targets.push("http://meta.test/latest/meta-data/".into());
    if let Some(c6) = c6 {
        targets.push(format!("http://{c6}/"));
        targets.push(format!("http://v6.test:{}/", c6.port()));
    }
    // Redirects from an allowed target to everything else.
    let inside = [
        format!("http://127.0.0.1:{c}/"),
        format!("http://{c2}/"),
        format!("http://2130706433:{c}/"),
        format!("http://localhost:{c}/"),
        format!("http://[::ffff:127.0.0.1]:{c}/"),
        format!("http://canary.test:{c}/"),
        format!("http://orders.internal:{c}/"),
        "http://169.254.169.254/latest/meta-data/".into(),
        "file:///etc/passwd".into(),
        format!("gopher://127.0.0.1:{c}/"),
    ];
    for to in &inside {
        for from in [format!("127.0.0.1:{a}"), format!("orders.internal:{a}")] {
            targets.push(redirect(&format!("http://{from}/to"), to));
        }
    }
    // Other schemes.
    for url in [
        "file:///etc/passwd".to_owned(),
        format!("gopher://127.0.0.1:{c}/"),
        format!("ftp://127.0.0.1:{c}/"),
        format!("ws://127.0.0.1:{c}/"),
        "data:text/plain,hello".to_owned(),
    ] {
        targets.push(url);
    }

    assert!(targets.len() >= 50, "{} vectors", targets.len());
    for url in &targets {
        let r = runner.run(&get(url)).await;
        // Refused, or (a redirect to another scheme) handed back without following.
        let refused = match &r {
            HttpResult::Failed { .. } => true,
            HttpResult::Response { status, .. } => (300..400).contains(status),
        };
        assert!(refused, "{url} was not refused: {r:?}");
    }
    assert_eq!(
        canary_hits.load(Ordering::SeqCst),
        0,
        "{} vectors, a canary was reached",
        targets.len()
    );
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 0);

    // Exactly the listed targets get through: by name and by address, directly and
    // through a redirect between them.
    for url in [
        format!("http://orders.internal:{a}/ok"),
        format!("http://127.0.0.1:{a}/ok"),
        redirect(
            &format!("http://orders.internal:{a}/to"),
            &format!("http://127.0.0.1:{a}/ok"),
        ),
    ] {
        let r = runner.run(&get(&url)).await;
        assert_eq!(
            r,
            HttpResult::Response {
                status: 200,
                body: "fine".into()
            },
            "{url}"
        );
    }
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 3);
    assert_eq!(canary_hits.load(Ordering::SeqCst), 0);
}

#[test]
fn allow_list_entries_are_checked_and_named_in_errors() {
    for ok in [
        "orders.internal",
        "Orders.Internal:8080",
        "10.0.0.5",
        "10.0.0.5:443",
        "[fd00::5]:8080",
        "[fd00::5]",
    ] {
        assert!(Target::parse(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "orders.internal:http",
        "orders.internal:0",
        "a/b",
        "http://x",
    ] {
        assert!(Target::parse(bad).is_err(), "{bad:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("relais.toml"),
        "[http]\nallow = [\"orders.internal:8080\", \"orders.internal:99999\"]\n",
    )
    .unwrap();
    let err = relais_server::config::Settings::load(dir.path(), &[]).unwrap_err();
    assert!(err.to_string().contains("http.allow[1]"), "{err}");
}

/// `from?u=to`, for the allowed server's redirect route.
fn redirect(from: &str, to: &str) -> String {
    reqwest::Url::parse_with_params(from, &[("u", to)])
        .unwrap()
        .to_string()
}
