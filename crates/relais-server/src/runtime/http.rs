//! Flow `http` steps, run outside any transaction: a client that refuses loopback,
//! private, link-local and metadata addresses (unless configured), also after DNS and on
//! redirects; per-call timeout, retries with backoff on network errors and 5xx, and the
//! same `Idempotency-Key` on every attempt.

use relais_core::decision::{HttpCall, HttpResult};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

/// Largest response body kept.
const MAX_BODY: usize = 1 << 20;

pub struct HttpRunner {
    client: reqwest::Client,
    reach: Reach,
}

/// True for addresses a flow must not reach by default.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_forbidden(IpAddr::V4(v4));
            }
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// Which private targets outbound calls (flow `http` steps, webhooks) may reach:
/// `[http] allow_private` (all of them) or `[http] allow` (exactly the listed ones).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reach {
    pub private: bool,
    pub allow: Vec<Target>,
}

/// A private target allowed by name or address, on one port or on any.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Lower-case name, or an address as `Ipv4Addr`/`Ipv6Addr` display it.
    host: String,
    port: Option<u16>,
}

/// A URL host in the form `Target` keeps.
fn host_key(host: &url::Host<&str>) -> String {
    match host {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => ip.to_string(),
    }
}

impl Target {
    /// `host`, `host:port`, `[v6]` or `[v6]:port`.
    pub fn parse(text: &str) -> Result<Target, String> {
        let (host, port) = match text.rsplit_once(':') {
            Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| format!("{text:?}: {p:?} is not a port"))?;
                (h, Some(port))
            }
            _ => (text, None),
        };
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .map(|h| format!("[{h}]"));
        let parsed = url::Host::parse(bare.as_deref().unwrap_or(host))
            .map_err(|e| format!("{text:?}: not a host name or address ({e})"))?;
        if host.is_empty() || host.contains('/') {
            return Err(format!("{text:?}: write a host, or host:port"));
        }
        Ok(Target {
            host: match &parsed {
                url::Host::Domain(d) => host_key(&url::Host::Domain(d.as_str())),
                url::Host::Ipv4(ip) => ip.to_string(),
                url::Host::Ipv6(ip) => ip.to_string(),
            },
            port,
        })
    }
}

impl Reach {
    /// Does the allow list name this host on this port?
    fn admits(&self, host: &str, port: Option<u16>) -> bool {
        self.allow
            .iter()
            .any(|t| t.host == host && (t.port.is_none() || t.port == port))
    }

    fn names(&self) -> Vec<String> {
        self.allow.iter().map(|t| t.host.clone()).collect()
    }
}

/// How names become addresses: the system resolver in production.
pub type Lookup = Arc<
    dyn Fn(String) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>
        + Send
        + Sync,
>;

fn system_lookup() -> Lookup {
    Arc::new(|host: String| {
        Box::pin(async move {
            Ok(tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    })
}

/// Resolves names, then drops forbidden addresses: a name that only points inside
/// fails, and every connection (each redirect, each retry) is checked again, so a
/// name whose answer changes between two lookups gains nothing. Names on the allow
/// list keep their private addresses; their ports are checked on the URL.
struct GuardedResolver {
    lookup: Lookup,
    allowed: Vec<String>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let allowed = self.allowed.contains(&host);
        let lookup = (self.lookup)(host.clone());
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = lookup
                .await?
                .into_iter()
                .filter(|ip| allowed || !is_forbidden(*ip))
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves only to private or loopback addresses, which flows may not call").into());
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

impl HttpRunner {
    pub fn new(reach: Reach) -> HttpRunner {
        HttpRunner::with_lookup(reach, system_lookup())
    }

    /// With names resolved by `lookup` (tests give their own answers).
    pub fn with_lookup(reach: Reach, lookup: Lookup) -> HttpRunner {
        let mut b =
            reqwest::Client::builder().user_agent(concat!("relais/", env!("CARGO_PKG_VERSION")));
        if reach.private {
            b = b.redirect(reqwest::redirect::Policy::limited(5));
        } else {
            let resolver = GuardedResolver {
                lookup,
                allowed: reach.names(),
            };
            let policy = reach.clone();
            b = b
                .dns_resolver(Arc::new(resolver))
                .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                    if attempt.previous().len() >= 5 {
                        return attempt.error("too many redirects");
                    }
                    match refusal(attempt.url(), &policy) {
                        Some(why) => attempt.error(why),
                        None => attempt.follow(),
                    }
                }));
        }
        let client = b.build().unwrap_or_else(|_| reqwest::Client::new());
        HttpRunner { client, reach }
    }

    /// Why `url` will never be called (a bad URL, a refused scheme, a refused address
    /// literal or port), or `None`. Names resolved later may still be refused by the
    /// resolver.
    pub fn refuses(&self, url: &str) -> Option<String> {
        match reqwest::Url::parse(url) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                if self.reach.private {
                    None
                } else {
                    refusal(&u, &self.reach)
                }
            }
            Ok(u) => Some(format!(
                "the scheme {:?} is not allowed (http or https)",
                u.scheme()
            )),
            Err(e) => Some(format!("bad URL: {e}")),
        }
    }

    /// Runs a call with its retries; never fails, the failure is the result.
    pub async fn run(&self, call: &HttpCall) -> HttpResult {
        let mut last = failed("not attempted".into());
        for attempt in 0..=call.retries {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 << attempt.min(5))).await;
            }
            match self.send_once(call).await {
                Ok(answer) => {
                    last = HttpResult::Response {
                        status: answer.status,
                        body: answer.body,
                    };
                    if answer.status < 500 {
                        return last;
                    }
                }
                Err(Refused(why)) => return failed(why),
                Err(Unreachable(why)) => last = failed(why),
            }
        }
        last
    }

    /// One attempt, with what the receiver said about when to come back.
    pub async fn send_once(&self, call: &HttpCall) -> Result<Answer, SendError> {
        if let Some(why) = self.refuses(&call.url) {
            return Err(Refused(why));
        }
        let url = reqwest::Url::parse(&call.url).map_err(|_| Refused("bad URL".into()))?;
        let method =
            reqwest::Method::from_bytes(call.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut req = self
            .client
            .request(method, url)
            .timeout(Duration::from_millis(call.timeout_ms.max(1) as u64))
            .header("Idempotency-Key", &call.idempotency_key);
        for (k, v) in &call.headers {
            req = req.header(k, v);
        }
        if let Some(body) = &call.body {
            req = req.body(body.clone());
        }
        let resp = req.send().await.map_err(|e| {
            let mut why = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                why = format!("{why}: {s}");
                src = s.source();
            }
            Unreachable(why)
        })?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = resp
            .bytes()
            .await
            .map_err(|e| Unreachable(format!("reading the body: {e}")))?;
        Ok(Answer {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body[..body.len().min(MAX_BODY)]).into_owned(),
        })
    }
}

/// A response to one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub status: u16,
    /// `Retry-After` in its seconds form (what Slack and most APIs send).
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// Why an attempt got no response.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Never sent: a refused address or scheme, a bad URL. Waiting will not help.
    Refused(String),
    /// Sent, or tried, and no response came (network error, timeout).
    Unreachable(String),
}
use SendError::{Refused, Unreachable};

fn failed(error: String) -> HttpResult {
    HttpResult::Failed { error }
}

/// Why a URL is refused before any lookup: a scheme other than http(s) (on a
/// redirect), a private address literal or a loopback name not on the allow list, or a
/// listed name on a port the list does not give it.
fn refusal(url: &reqwest::Url, reach: &Reach) -> Option<String> {
    if url.scheme() != "http" && url.scheme() != "https" {
        return Some(format!(
            "the scheme {:?} is not allowed (http or https)",
            url.scheme()
        ));
    }
    let host = url.host()?;
    let key = host_key(&host);
    let port = url.port_or_known_default();
    if reach.admits(&key, port) {
        return None;
    }
    if reach.allow.iter().any(|t| t.host == key) {
        return Some(format!(
            "{key} is allowed on other ports only, not {}",
            port.unwrap_or(0)
        ));
    }
    let ip: IpAddr = match host {
        url::Host::Ipv4(v4) => v4.into(),
        url::Host::Ipv6(v6) => v6.into(),
        url::Host::Domain(d)
            if d.eq_ignore_ascii_case("localhost")
                || d.to_ascii_lowercase().ends_with(".localhost") =>
        {
            return Some(format!("{d} is a loopback name, which flows may not call"));
        }
        url::Host::Domain(_) => return None,
    };
    is_forbidden(ip).then(|| {
        format!("{ip} is a private, loopback or link-local address, which flows may not call")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[tokio::test]
    async fn retries_5xx_with_the_same_idempotency_key_and_refuses_loopback_by_default() {
        let seen = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = seen.clone();
        let app = axum::Router::new().route(
            "/x",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let log = log.clone();
                async move {
                    let key = headers["idempotency-key"]
                        .to_str()
                        .unwrap_or_default()
                        .to_owned();
                    let mut l = log.lock().unwrap();
                    l.push(format!("{key} {body}"));
                    if l.len() < 3 {
                        (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            "busy".to_owned(),
                        )
                    } else {
                        (axum::http::StatusCode::OK, r#"{"ok":true}"#.to_owned())
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let call = HttpCall {
            method: "POST".into(),
            url: format!("http://{addr}/x"),
            headers: vec![],
            body: Some("{}".into()),
            timeout_ms: 2000,
            retries: 2,
            idempotency_key: "relais-1-1".into(),
        };
        let r = HttpRunner::new(Reach {
            private: true,
            ..Reach::default()
        })
        .run(&call)
        .await;
        assert_eq!(
            r,
            HttpResult::Response {
                status: 200,
                body: r#"{"ok":true}"#.into()
            }
        );
        assert_eq!(*seen.lock().unwrap(), vec!["relais-1-1 {}"; 3]);
        // The same call with the guard on never reaches the server.
        let r = HttpRunner::new(Reach::default()).run(&call).await;
        assert!(
            matches!(&r, HttpResult::Failed { error } if error.contains("may not call")),
            "{r:?}"
        );
        let r = HttpRunner::new(Reach::default())
            .run(&HttpCall {
                url: format!("http://localhost:{}/x", addr.port()),
                ..call.clone()
            })
            .await;
        assert!(matches!(&r, HttpResult::Failed { .. }), "{r:?}");
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn refuses_names_what_will_never_be_called() {
        let guarded = HttpRunner::new(Reach::default());
        assert!(
            guarded
                .refuses("http://127.0.0.1:9/x")
                .unwrap()
                .contains("may not call")
        );
        assert!(guarded.refuses("http://169.254.169.254/").is_some());
        assert!(
            guarded
                .refuses("ftp://example.com/")
                .unwrap()
                .contains("scheme")
        );
        assert!(guarded.refuses("not a url").unwrap().starts_with("bad URL"));
        assert_eq!(guarded.refuses("https://example.com/hook"), None);
        assert_eq!(
            HttpRunner::new(Reach {
                private: true,
                ..Reach::default()
            })
            .refuses("http://127.0.0.1:9/x"),
            None
        );
    }

    #[test]
    fn forbidden_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_forbidden(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_forbidden(ip.parse().unwrap()), "{ip}");
        }
    }
}
