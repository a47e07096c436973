//! The site's edge, checked before routing: requests must name one of our hosts (from
//! `PUBLIC_URL`), state-changing requests must come from one of our origins, and the client's
//! address is read from `X-Forwarded-For` only when the request came through a trusted proxy
//! (`TRUSTED_PROXIES`).
//!
//! Pinning the host defeats DNS rebinding: a page on `attacker.example` whose name now points
//! at this server still sends `Host: attacker.example`, so its "same-origin" requests are
//! refused here. Health probes (`/healthz`, `/health`) answer whatever the host, because load
//! balancers send the target's address.

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use anyhow::Context;
use app::ssr::ClientIp;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use ipnet::IpNet;
use url::Url;

/// Where the site is, and which proxies may say who the client is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteConfig {
    /// The addresses users type, the first one canonical (links in mail, OIDC redirects).
    pub public_urls: Vec<Url>,
    /// Peers whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, CIDRs).
    pub trusted_proxies: Vec<IpNet>,
    /// The server listens on a loopback address only (not `0.0.0.0`).
    pub listens_locally: bool,
}

impl SiteConfig {
    /// Reads `PUBLIC_URL` (comma-separated; default `http://` + the listen address, plus
    /// `localhost` and `127.0.0.1` on that port when it listens on loopback or everywhere) and
    /// `TRUSTED_PROXIES`.
    pub fn from_env(site_addr: SocketAddr) -> anyhow::Result<Self> {
        let public_urls = match std::env::var("PUBLIC_URL")
            .ok()
            .filter(|v| !v.trim().is_empty())
        {
            Some(raw) => parse_public_urls(&raw)?,
            None => default_public_urls(site_addr),
        };
        let trusted_proxies = match std::env::var("TRUSTED_PROXIES") {
            Ok(raw) => parse_proxies(&raw)?,
            Err(_) => Vec::new(),
        };
        Ok(Self {
            public_urls,
            trusted_proxies,
            listens_locally: site_addr.ip().is_loopback(),
        })
    }

    /// The canonical public address.
    pub fn public_url(&self) -> &Url {
        &self.public_urls[0]
    }

    /// Whether nobody else can reach the site: it listens on loopback and every public address
    /// is on this machine (then `/metrics` may be open, and a secrets key may be made).
    pub fn is_local(&self) -> bool {
        self.listens_locally
            && self.public_urls.iter().all(|url| match url.host() {
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            })
    }
}

fn parse_public_urls(raw: &str) -> anyhow::Result<Vec<Url>> {
    let urls = raw
        .split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            Url::parse(part)
                .ok()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
                .with_context(|| {
                    format!(
                        "PUBLIC_URL must be http(s) URLs such as https://studio.school.org, not {part:?}"
                    )
                })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    anyhow::ensure!(!urls.is_empty(), "PUBLIC_URL names no address");
    Ok(urls)
}

fn default_public_urls(site_addr: SocketAddr) -> Vec<Url> {
    let port = site_addr.port();
    let ip = site_addr.ip();
    let mut hosts = Vec::new();
    if !ip.is_unspecified() {
        hosts.push(match ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => format!("[{v6}]"),
        });
    }
    if ip.is_loopback() || ip.is_unspecified() {
        for name in ["127.0.0.1", "localhost"] {
            if !hosts.iter().any(|h| h == name) {
                hosts.push(name.to_owned());
            }
        }
    }
    hosts
        .iter()
        .filter_map(|host| Url::parse(&format!("http://{host}:{port}/")).ok())
        .collect()
}

fn parse_proxies(raw: &str) -> anyhow::Result<Vec<IpNet>> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .with_context(|| {
                    format!("TRUSTED_PROXIES must be addresses or CIDRs such as 10.0.0.0/8, not {part:?}")
                })
        })
        .collect()
}

/// The checks, compiled from [`SiteConfig`] once.
#[derive(Debug, Clone)]
pub struct Edge {
    /// `host[:port]` as a `Host` header carries it, lower-case, default port left out.
    hosts: Vec<String>,
    /// `scheme://host[:port]` as an `Origin` header carries it.
    origins: Vec<String>,
    trusted_proxies: Vec<IpNet>,
    /// Paths answered whatever the host (health probes, and `/metrics` when token-protected).
    any_host_paths: Vec<&'static str>,
}

impl Edge {
    pub fn new(site: &SiteConfig, metrics_has_token: bool) -> Arc<Self> {
        let mut any_host_paths = vec!["/healthz", "/health"];
        if metrics_has_token {
            any_host_paths.push("/metrics");
        }
        Arc::new(Self {
            hosts: site.public_urls.iter().filter_map(host_of).collect(),
            origins: site
                .public_urls
                .iter()
                .map(|url| url.origin().ascii_serialization())
                .collect(),
            trusted_proxies: site.trusted_proxies.clone(),
            any_host_paths,
        })
    }

    fn is_our_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let host = host
            .strip_suffix(":80")
            .filter(|_| self.origins.iter().any(|o| o.starts_with("http://")))
            .or_else(|| {
                host.strip_suffix(":443")
                    .filter(|_| self.origins.iter().any(|o| o.starts_with("https://")))
            })
            .unwrap_or(&host);
        self.hosts.iter().any(|ours| ours == host)
    }

    fn is_our_origin(&self, origin: &str) -> bool {
        Url::parse(origin)
            .is_ok_and(|url| self.origins.contains(&url.origin().ascii_serialization()))
    }

    /// The client's address: the peer's, or where the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not one of our proxies. The list is read from the
    /// right (what our proxies appended) and stops at anything that is not an address: what
    /// lies left of that was written by the client and is not believed.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = canonical(peer?);
        if !self.is_trusted(client) {
            return Some(client);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        for hop in hops.into_iter().rev() {
            let Some(hop) = forwarded_address(hop) else {
                break;
            };
            client = hop;
            if !self.is_trusted(hop) {
                break;
            }
        }
        Some(client)
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }
}

/// One `X-Forwarded-For` entry as an address: `203.0.113.7`, `2001:db8::1`, with a port
/// (`203.0.113.7:4711`, `[2001:db8::1]:4711`) or in its IPv4-mapped form.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let bare = if let Some(rest) = entry.strip_prefix('[') {
        rest.split(']').next()?
    } else if entry.matches(':').count() == 1 {
        entry.split(':').next()?
    } else {
        entry
    };
    bare.parse().ok().map(canonical)
}

/// `::ffff:10.0.0.1` is `10.0.0.1` (dual-stack listeners report IPv4 peers so).
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn host_of(url: &Url) -> Option<String> {
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// The middleware: host, then client address, then origin for state-changing requests.
pub async fn guard(State(edge): State<Arc<Edge>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if !edge.any_host_paths.contains(&path) {
        let host = request
            .uri()
            .authority()
            .map(|a| a.as_str().to_owned())
            .or_else(|| {
                request
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            });
        if !host.as_deref().is_some_and(|host| edge.is_our_host(host)) {
            tracing::warn!(
                host = host.as_deref().unwrap_or("-"),
                "refused a request for another host"
            );
            return (
                StatusCode::BAD_REQUEST,
                "This server answers only at its own address (PUBLIC_URL).",
            )
                .into_response();
        }
    }

    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| canonical(info.0.ip()));
    if let Some(ip) = edge.client_ip(peer, request.headers()) {
        request.extensions_mut().insert(ClientIp(ip));
    }

    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !is_same_origin(&edge, request.headers()) {
        tracing::warn!(method = %request.method(), "refused a cross-site request");
        return (StatusCode::FORBIDDEN, "cross-site request refused").into_response();
    }
    next.run(request).await
}

/// Whether the request's `Origin` is one of ours, or (without `Origin`) `Sec-Fetch-Site`
/// says same-origin. Browsers send one or the other on every state-changing request and a
/// page's script can set neither; a request with neither is refused.
fn is_same_origin(edge: &Edge, headers: &HeaderMap) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return origin.to_str().is_ok_and(|o| edge.is_our_origin(o));
    }
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| site == "same-origin")
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn edge(urls: &str, proxies: &str) -> Arc<Edge> {
        Edge::new(
            &SiteConfig {
                public_urls: parse_public_urls(urls).unwrap(),
                trusted_proxies: parse_proxies(proxies).unwrap(),
                listens_locally: true,
            },
            false,
        )
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_our_hosts_are_ours_with_or_without_the_default_port() {
        let edge = edge("https://studio.school.org, http://127.0.0.1:3000", "");
        assert!(edge.is_our_host("studio.school.org"));
        assert!(edge.is_our_host("Studio.School.org:443"));
        assert!(edge.is_our_host("127.0.0.1:3000"));
        assert!(!edge.is_our_host("127.0.0.1"));
        assert!(!edge.is_our_host("attacker.example"));
        assert!(!edge.is_our_host("studio.school.org.attacker.example"));
        assert!(!edge.is_our_host("localhost:3000"));
    }

    #[test]
    fn our_origins_are_accepted_and_others_refused() {
        let edge = edge("https://studio.school.org", "");
        assert!(is_same_origin(
            &edge,
            &headers(&[("origin", "https://studio.school.org")])
        ));
        for origin in [
            "https://attacker.example",
            "http://studio.school.org",
            "https://studio.school.org.attacker.example",
            "null",
        ] {
            let mut map = HeaderMap::new();
            map.insert("origin", HeaderValue::from_str(origin).unwrap());
            assert!(!is_same_origin(&edge, &map), "{origin}");
        }
        assert!(is_same_origin(
            &edge,
            &headers(&[("sec-fetch-site", "same-origin")])
        ));
        assert!(!is_same_origin(
            &edge,
            &headers(&[("sec-fetch-site", "cross-site")])
        ));
        assert!(!is_same_origin(&edge, &HeaderMap::new()));
    }

    #[test]
    fn the_default_public_urls_are_the_listen_address_and_its_loopback_names() {
        let urls = default_public_urls("127.0.0.1:3000".parse().unwrap());
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(urls, ["http://127.0.0.1:3000/", "http://localhost:3000/"]);
        let urls = default_public_urls("0.0.0.0:8080".parse().unwrap());
        let urls: Vec<&str> = urls.iter().map(Url::as_str).collect();
        assert_eq!(urls, ["http://127.0.0.1:8080/", "http://localhost:8080/"]);
    }

    #[test]
    fn forwarded_addresses_count_only_through_trusted_proxies() {
        let edge = edge("http://localhost:3000", "10.0.0.0/8, 192.168.1.5");
        let xff = headers(&[("x-forwarded-for", "203.0.113.7, 10.0.0.2")]);
        let from = |ip: &str| Some(ip.parse::<IpAddr>().unwrap());
        // A stranger's claim is ignored.
        assert_eq!(
            edge.client_ip(from("198.51.100.1"), &xff),
            from("198.51.100.1")
        );
        // Through the trusted load balancer: the nearest untrusted hop.
        assert_eq!(edge.client_ip(from("10.0.0.9"), &xff), from("203.0.113.7"));
        assert_eq!(
            edge.client_ip(from("192.168.1.5"), &xff),
            from("203.0.113.7")
        );
        // What the client wrote before the proxy appended is not believed.
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7")]);
        assert_eq!(
            edge.client_ip(from("10.0.0.9"), &spoofed),
            from("203.0.113.7")
        );
        // Garbage from the proxy: the proxy itself.
        let garbage = headers(&[("x-forwarded-for", "not-an-ip")]);
        assert_eq!(edge.client_ip(from("10.0.0.9"), &garbage), from("10.0.0.9"));
        // Garbage the client wrote before the proxy's entry does not hide the client.
        let dirty = headers(&[("x-forwarded-for", "junk, 203.0.113.7")]);
        assert_eq!(
            edge.client_ip(from("10.0.0.9"), &dirty),
            from("203.0.113.7")
        );
        // Ports and IPv4-mapped addresses as proxies write them.
        let ported = headers(&[("x-forwarded-for", "[::ffff:203.0.113.8]:4711")]);
        assert_eq!(
            edge.client_ip(from("10.0.0.9"), &ported),
            from("203.0.113.8")
        );
        let ported = headers(&[("x-forwarded-for", "203.0.113.9:4711")]);
        assert_eq!(
            edge.client_ip(from("10.0.0.9"), &ported),
            from("203.0.113.9")
        );
        let mapped = headers(&[("x-forwarded-for", "::ffff:203.0.113.10")]);
        assert_eq!(
            edge.client_ip(from("10.0.0.9"), &mapped),
            from("203.0.113.10")
        );
        // No proxies configured: the peer, whatever it says.
        let none = super::Edge::new(
            &SiteConfig {
                public_urls: parse_public_urls("http://localhost:3000").unwrap(),
                trusted_proxies: Vec::new(),
                listens_locally: true,
            },
            false,
        );
        assert_eq!(none.client_ip(from("10.0.0.9"), &xff), from("10.0.0.9"));
    }

    #[test]
    fn bad_settings_are_named() {
        assert!(parse_public_urls("ftp://x").is_err());
        assert!(parse_public_urls(" , ").is_err());
        let err = parse_proxies("10.0.0.0/8, nonsense").unwrap_err();
        assert!(err.to_string().contains("TRUSTED_PROXIES"), "{err}");
    }
}
