//! Where outbound calls (flow `http` steps, webhooks) may go: never to loopback,
//! private, link-local or metadata addresses, whether written as an address, reached
//! through a name or through a redirect; except the targets `[http] allow` lists, or
//! all of them with `[http] allow_private`.

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

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

    pub(super) fn names(&self) -> Vec<String> {
        self.allow.iter().map(|t| t.host.clone()).collect()
    }
}

/// How names become addresses: the system resolver in production.
pub type Lookup = Arc<
    dyn Fn(String) -> futures_util::future::BoxFuture<'static, std::io::Result<Vec<IpAddr>>>
        + Send
        + Sync,
>;

pub(super) fn system_lookup() -> Lookup {
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
pub(super) struct GuardedResolver {
    pub lookup: Lookup,
    pub allowed: Vec<String>,
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

impl Reach {
    /// Why a URL is refused before any lookup: a scheme other than http(s); unless
    /// every private address is allowed, a private address literal or a loopback name
    /// not on the allow list, or a listed name on a port the list does not give it.
    pub(super) fn refusal(&self, url: &reqwest::Url) -> Option<String> {
        if url.scheme() != "http" && url.scheme() != "https" {
            return Some(format!(
                "the scheme {:?} is not allowed (http or https)",
                url.scheme()
            ));
        }
        if self.private {
            return None;
        }
        let host = url.host()?;
        let key = host_key(&host);
        let port = url.port_or_known_default();
        if self.admits(&key, port) {
            return None;
        }
        if self.allow.iter().any(|t| t.host == key) {
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
