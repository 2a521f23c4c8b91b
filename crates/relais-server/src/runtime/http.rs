//! Flow `http` steps, run outside any transaction: a client that refuses loopback,
//! private, link-local and metadata addresses (unless configured), also after DNS and on
//! redirects; per-call timeout, retries with backoff on network errors and 5xx, and the
//! same `Idempotency-Key` on every attempt.

use super::reach::{GuardedResolver, system_lookup};
pub use super::reach::{Lookup, Reach, Target, is_forbidden};
use CallError::{Refused, Unreachable};
use relais_core::decision::{HttpCall, HttpResult};
use std::sync::Arc;
use std::time::Duration;

/// Largest response body kept.
const MAX_BODY: usize = 1 << 20;

pub struct HttpRunner {
    client: reqwest::Client,
    reach: Reach,
}

impl HttpRunner {
    /// Trusting Mozilla's roots.
    pub fn new(reach: Reach) -> HttpRunner {
        HttpRunner::with_lookup(reach, system_lookup(), &crate::tls::default_tls())
    }

    /// With the TLS roots of `[http] ca_file`.
    pub fn with_tls(reach: Reach, tls: &crate::tls::ClientTls) -> HttpRunner {
        HttpRunner::with_lookup(reach, system_lookup(), tls)
    }

    /// With names resolved by `lookup` (tests give their own answers).
    pub fn with_lookup(reach: Reach, lookup: Lookup, tls: &crate::tls::ClientTls) -> HttpRunner {
        let mut b = crate::tls::client_builder(tls);
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
                    match policy.refusal(attempt.url()) {
                        Some(why) => attempt.error(why),
                        None => attempt.follow(),
                    }
                }));
        }
        let client = b.build().unwrap_or_else(|_| crate::tls::client());
        HttpRunner { client, reach }
    }

    /// Why `url` will never be called (a bad URL, a refused scheme, a refused address
    /// literal or port), or `None`. Names resolved later may still be refused by the
    /// resolver.
    pub fn refuses(&self, url: &str) -> Option<String> {
        match reqwest::Url::parse(url) {
            Ok(u) => self.reach.refusal(&u),
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
    pub async fn send_once(&self, call: &HttpCall) -> Result<Answer, CallError> {
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
            .and_then(RetryAfter::parse);
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
    pub retry_after: Option<RetryAfter>,
    pub body: String,
}

/// A `Retry-After` header: seconds (what Slack and most APIs send) or an HTTP date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryAfter {
    Wait(relais_core::Duration),
    Until(relais_core::Timestamp),
}

impl RetryAfter {
    pub fn parse(value: &str) -> Option<RetryAfter> {
        let value = value.trim();
        if let Ok(secs) = value.parse::<i64>() {
            return Some(RetryAfter::Wait(relais_core::Duration::seconds(
                secs.clamp(0, 86_400),
            )));
        }
        let at = httpdate::parse_http_date(value).ok()?;
        let ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
        Some(RetryAfter::Until(relais_core::Timestamp(
            i64::try_from(ms).ok()?,
        )))
    }

    /// The instant it names, counting a wait from `now`.
    pub fn until(self, now: relais_core::Timestamp) -> relais_core::Timestamp {
        match self {
            RetryAfter::Wait(d) => now.plus(d),
            RetryAfter::Until(t) => t,
        }
    }
}

/// Why an attempt got no response.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// Never sent: a refused address or scheme, a bad URL. Waiting will not help.
    Refused(String),
    /// Sent, or tried, and no response came (network error, timeout).
    Unreachable(String),
}

fn failed(error: String) -> HttpResult {
    HttpResult::Failed { error }
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
    fn retry_after_in_seconds_or_as_a_date() {
        use relais_core::{Duration, Timestamp};
        let now = Timestamp(1_795_424_400_000);
        assert_eq!(
            RetryAfter::parse(" 30 ").map(|r| r.until(now)),
            Some(now.plus(Duration::seconds(30)))
        );
        // 2026-11-23 08:00:30 UTC.
        assert_eq!(
            RetryAfter::parse("Mon, 23 Nov 2026 08:00:30 GMT"),
            Some(RetryAfter::Until(Timestamp(1_795_420_830_000)))
        );
        assert_eq!(RetryAfter::parse("soon"), None);
        assert_eq!(RetryAfter::parse("-5"), Some(RetryAfter::Wait(Duration(0))));
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
}
