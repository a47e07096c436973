//! Fetching web pages for URL items, without letting a user's address reach inside the
//! network: only http(s); no address that is private, loopback, link-local (cloud metadata),
//! shared, multicast or reserved, whether written as an IP (in any notation the URL standard
//! reads: `2130706433`, `0x7f.1`, `[::ffff:127.0.0.1]`) or reached through a name. Names are
//! checked by the resolver the client connects with, so every redirect and every connection is
//! checked, and a name cannot resolve to a public address for the check and a private one for
//! the connection. Redirects are followed by hand (at most [`MAX_REDIRECTS`]), each address
//! checked again. Bodies are cut at a size limit, the whole fetch at a time limit.

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use futures::StreamExt;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The address is not one we fetch; the text says why.
    #[error("{0}")]
    Refused(String),
    /// The page cannot be had as it is (not found, gone, too large): trying again will not help.
    #[error("{0}")]
    Unavailable(String),
    /// The page could not be fetched (network, server error, time); might work later.
    #[error("{0}")]
    Failed(String),
}

/// Where a fetch may go, beyond the public internet.
#[derive(Debug, Clone, Default)]
pub struct FetchPolicy {
    /// Addresses allowed although private (an intranet; `KNOWLEDGE_FETCH_ALLOW`, comma-
    /// separated CIDRs such as `10.20.0.0/16`).
    pub allow: Vec<ipnet::IpNet>,
    /// Largest body read, in bytes.
    pub max_bytes: u64,
    /// The whole fetch, redirects included.
    pub timeout: Duration,
}

impl FetchPolicy {
    /// 20 MB in 30 seconds, public addresses only.
    pub fn default_limits() -> Self {
        Self {
            allow: Vec::new(),
            max_bytes: 20 * 1000 * 1000,
            timeout: Duration::from_secs(30),
        }
    }

    fn allows(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allow.iter().any(|net| net.contains(&ip))
    }
}

/// False for every address that is not on the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, 192.0.0.0/24.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, 198.18.0.0/15.
        || (a == 198 && (b == 18 || b == 19))
        // Reserved, 240.0.0.0/4.
        || a >= 240;
    !blocked
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    // Addresses that carry an IPv4 address are judged by it.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) forms.
    if (segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0]) || (segments[..6] == [0, 0, 0, 0, 0, 0]) {
        let v4 = Ipv4Addr::new(
            (segments[6] >> 8) as u8,
            segments[6] as u8,
            (segments[7] >> 8) as u8,
            segments[7] as u8,
        );
        return !ip.is_unspecified() && !ip.is_loopback() && is_public_v4(v4);
    }
    // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits.
    if segments[0] == 0x2002 {
        let v4 = Ipv4Addr::new(
            (segments[1] >> 8) as u8,
            segments[1] as u8,
            (segments[2] >> 8) as u8,
            segments[2] as u8,
        );
        return is_public_v4(v4);
    }
    let blocked = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local (fc00::/7, AWS's fd00:ec2::254 metadata among them).
        || (segments[0] & 0xfe00) == 0xfc00
        // Link-local (fe80::/10) and the old site-local (fec0::/10).
        || (segments[0] & 0xffc0) == 0xfe80
        || (segments[0] & 0xffc0) == 0xfec0
        // Documentation (2001:db8::/32) and discard (100::/64).
        || (segments[0] == 0x2001 && segments[1] == 0x0db8)
        || (segments[..4] == [0x100, 0, 0, 0]);
    !blocked
}

/// Checks a URL before anything is sent: scheme, no credentials, and an IP host must be
/// allowed. Names are checked when resolved.
pub fn check_url(url: &Url, policy: &FetchPolicy) -> Result<(), FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::Refused(
            "Only http and https addresses can be added.".into(),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(FetchError::Refused(
            "Addresses with a user name or password cannot be added.".into(),
        ));
    }
    let ip = match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(Host::Domain(_)) => return Ok(()),
        None => return Err(FetchError::Refused("The address has no host.".into())),
    };
    if policy.allows(ip) {
        Ok(())
    } else {
        Err(private_address())
    }
}

fn private_address() -> FetchError {
    FetchError::Refused(
        "That address is on a private network; only public web pages can be added.".into(),
    )
}

/// Resolves names with the system resolver and keeps only allowed addresses; a name with
/// none left fails.
struct GuardedResolver {
    policy: Arc<FetchPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|addr| policy.allows(addr.ip()))
                .collect();
            if allowed.is_empty() {
                let reason: Box<dyn std::error::Error + Send + Sync> = if found.is_empty() {
                    format!("{host} has no address").into()
                } else {
                    Box::new(private_address())
                };
                return Err(reason);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// A fetched page or file.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it was found in the end (after redirects).
    pub url: Url,
    /// The `Content-Type` sent, without parameters, lower-cased.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Fetched {
    /// A file name that tells the extractor what this is: the URL's last path segment when
    /// it has an extension, else one from the content type.
    pub fn file_name(&self) -> String {
        let last = self
            .url
            .path_segments()
            .and_then(|mut s| s.next_back())
            .unwrap_or_default();
        if last.contains('.') {
            return last.to_owned();
        }
        let extension = match self.content_type.as_deref() {
            Some("text/html" | "application/xhtml+xml") => "html",
            Some("application/pdf") => "pdf",
            Some("text/markdown") => "md",
            Some("text/csv") => "csv",
            Some("application/json") => "json",
            _ => "txt",
        };
        format!("page.{extension}")
    }
}

/// Fetches `url` under `policy`.
pub async fn fetch(url: &Url, policy: &FetchPolicy) -> Result<Fetched, FetchError> {
    let policy = Arc::new(policy.clone());
    let client = reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            policy: policy.clone(),
        }))
        // A proxy would resolve names itself, out of the guard's sight.
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .user_agent(concat!(
            "AIStudio/",
            env!("CARGO_PKG_VERSION"),
            " (knowledge fetch)"
        ))
        .build()
        .map_err(|err| FetchError::Failed(format!("could not set up the fetch: {err}")))?;
    tokio::time::timeout(
        policy.timeout,
        fetch_following(&client, url.clone(), &policy),
    )
    .await
    .map_err(|_| {
        FetchError::Failed(format!(
            "the page took longer than {} seconds",
            policy.timeout.as_secs()
        ))
    })?
}

async fn fetch_following(
    client: &reqwest::Client,
    mut url: Url,
    policy: &FetchPolicy,
) -> Result<Fetched, FetchError> {
    for _ in 0..=MAX_REDIRECTS {
        check_url(&url, policy)?;
        let response = client
            .get(url.clone())
            .header(
                reqwest::header::ACCEPT,
                "text/html,application/xhtml+xml,application/pdf,text/plain;q=0.9,*/*;q=0.5",
            )
            .send()
            .await
            .map_err(|err| request_error(&err))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    FetchError::Failed(format!("a redirect ({status}) without a location"))
                })?;
            url = url.join(location).map_err(|_| {
                FetchError::Failed(format!("a redirect to a bad address: {location}"))
            })?;
            continue;
        }
        if status.is_client_error() {
            return Err(FetchError::Unavailable(format!(
                "the site answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(FetchError::Failed(format!("the site answered {status}")));
        }
        if response
            .content_length()
            .is_some_and(|len| len > policy.max_bytes)
        {
            return Err(too_large(policy));
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        let final_url = response.url().clone();
        let mut body = Vec::new();
        let mut stream = response.bytes_stream();
        while let Some(piece) = stream.next().await {
            let piece = piece.map_err(|err| request_error(&err))?;
            if body.len() as u64 + piece.len() as u64 > policy.max_bytes {
                return Err(too_large(policy));
            }
            body.extend_from_slice(&piece);
        }
        return Ok(Fetched {
            url: final_url,
            content_type,
            body,
        });
    }
    Err(FetchError::Unavailable(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

fn too_large(policy: &FetchPolicy) -> FetchError {
    FetchError::Unavailable(format!(
        "the page is larger than {} MB",
        policy.max_bytes / 1_000_000
    ))
}

/// The guard's refusal when it is the cause, else a plain failure.
fn request_error(err: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<FetchError>() {
            return refused.clone();
        }
        source = cause.source();
    }
    if err.is_timeout() {
        FetchError::Failed("the site did not answer in time".into())
    } else if err.is_connect() {
        FetchError::Failed("could not connect to the site".into())
    } else {
        FetchError::Failed(format!("the fetch failed: {err}"))
    }
}
