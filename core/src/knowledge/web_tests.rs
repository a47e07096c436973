//! The fetch guard: an address corpus in every notation, names resolving to private
//! addresses, redirects into the private network, and the limits.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;

use super::web::{FetchError, FetchPolicy, check_url, fetch, is_public};

#[test]
fn only_public_addresses_pass() {
    let private = [
        "0.0.0.0",
        "0.1.2.3",
        "10.0.0.1",
        "100.64.0.1",
        "100.127.255.254",
        "127.0.0.1",
        "127.255.0.9",
        "169.254.169.254",
        "172.16.0.1",
        "172.31.255.255",
        "192.0.0.8",
        "192.0.2.1",
        "192.168.1.1",
        "198.18.0.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "64:ff9b::10.0.0.1",
        "64:ff9b::7f00:1",
        "2002:a00:1::",
        "2002:7f00:1::",
        "fc00::1",
        "fd00:ec2::254",
        "fe80::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "100::1",
    ];
    for address in private {
        let ip: IpAddr = address.parse().unwrap();
        assert!(!is_public(ip), "{address} must be refused");
    }
    let public = [
        "1.1.1.1",
        "8.8.8.8",
        "93.184.216.34",
        "100.63.255.255",
        "100.128.0.1",
        "172.32.0.1",
        "192.169.0.1",
        "2606:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::",
    ];
    for address in public {
        let ip: IpAddr = address.parse().unwrap();
        assert!(is_public(ip), "{address} must pass");
    }
}

#[test]
fn urls_are_refused_in_every_notation_of_a_private_address() {
    let policy = FetchPolicy::default_limits();
    let refused = [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f000001/",
        "http://0x7f.0.0.1/",
        "http://0177.0.0.1/",
        "http://017700000001/",
        "http://127.1/",
        "http://127.0.1/",
        "http://0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://[fd00:ec2::254]/",
        "http://10.0.0.1:8080/admin",
        "http://192.168.0.1/",
        "http://100.64.1.1/",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "http://user:secret@example.com/",
    ];
    for address in refused {
        let url = Url::parse(address).unwrap();
        assert!(
            matches!(check_url(&url, &policy), Err(FetchError::Refused(_))),
            "{address} must be refused"
        );
    }
    for address in [
        "https://example.com/page",
        "http://93.184.216.34/",
        "https://[2606:4700::1111]/",
    ] {
        assert_eq!(
            check_url(&Url::parse(address).unwrap(), &policy),
            Ok(()),
            "{address}"
        );
    }
    // An intranet the administrator allowed.
    let intranet = FetchPolicy {
        allow: vec!["10.20.0.0/16".parse().unwrap()],
        ..FetchPolicy::default_limits()
    };
    assert_eq!(
        check_url(&Url::parse("http://10.20.3.4/").unwrap(), &intranet),
        Ok(())
    );
    assert!(check_url(&Url::parse("http://10.21.3.4/").unwrap(), &intranet).is_err());
}

/// A tiny web server on loopback answering each path with a canned response; it records the
/// paths asked for.
pub(super) struct Site {
    port: u16,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Site {
    pub(super) async fn start(pages: HashMap<&'static str, String>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let log = asked.clone();
        let pages = Arc::new(pages);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (pages, log) = (pages.clone(), log.clone());
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                            return;
                        }
                        head.push(byte[0]);
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    log.lock().unwrap().push(path.clone());
                    let response = pages.get(path.as_str()).cloned().unwrap_or_else(|| {
                        "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_owned()
                    });
                    let _ = socket.write_all(response.as_bytes()).await;
                });
            }
        });
        Self { port, asked }
    }

    pub(super) fn url(&self, path: &str) -> Url {
        Url::parse(&format!("http://127.0.0.1:{}{path}", self.port)).unwrap()
    }

    fn asked(&self) -> Vec<String> {
        self.asked.lock().unwrap().clone()
    }
}

pub(super) fn ok(content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn redirect(to: &str) -> String {
    format!(
        "HTTP/1.1 302 Found\r\nlocation: {to}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
}

/// The test site on loopback is allowed; everything else private is not.
pub(super) fn site_policy() -> FetchPolicy {
    FetchPolicy {
        allow: vec!["127.0.0.1/32".parse().unwrap()],
        max_bytes: 1000,
        timeout: Duration::from_secs(5),
    }
}

#[tokio::test]
async fn names_resolving_to_private_addresses_are_never_contacted() {
    let site = Site::start(HashMap::from([("/", ok("text/html", "<p>secret</p>"))])).await;
    let by_name = Url::parse(&format!("http://localhost:{}/", site.port)).unwrap();
    let refused = fetch(&by_name, &FetchPolicy::default_limits())
        .await
        .unwrap_err();
    assert!(matches!(refused, FetchError::Refused(_)), "{refused:?}");
    assert!(
        site.asked().is_empty(),
        "nothing reached the private server"
    );
}

#[tokio::test]
async fn redirects_are_checked_at_every_hop() {
    let port_probe = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let inner_port = port_probe.local_addr().unwrap().port();
    drop(port_probe);
    let site = Site::start(HashMap::from([
        (
            "/page",
            ok(
                "text/html; charset=utf-8",
                "<h1>Tides</h1><p>The moon pulls the sea.</p>",
            ),
        ),
        ("/moved", redirect("/page")),
        (
            "/to-loopback-v6",
            redirect(&format!("http://[::1]:{inner_port}/")),
        ),
        (
            "/to-metadata",
            redirect("http://169.254.169.254/latest/meta-data/"),
        ),
        ("/to-decimal", redirect("http://2130706434/")),
        ("/to-file", redirect("file:///etc/passwd")),
        ("/loop", redirect("/loop")),
        ("/big", ok("text/plain", &"a".repeat(1001))),
    ]))
    .await;
    let policy = site_policy();

    let page = fetch(&site.url("/moved"), &policy).await.unwrap();
    assert_eq!(page.url.path(), "/page");
    assert_eq!(page.content_type.as_deref(), Some("text/html"));
    assert_eq!(page.file_name(), "page.html");
    assert!(String::from_utf8_lossy(&page.body).contains("The moon pulls the sea."));

    for hop in ["/to-loopback-v6", "/to-metadata", "/to-decimal", "/to-file"] {
        let err = fetch(&site.url(hop), &policy).await.unwrap_err();
        assert!(matches!(err, FetchError::Refused(_)), "{hop}: {err:?}");
    }
    let err = fetch(&site.url("/loop"), &policy).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Unavailable(ref m) if m.contains("redirects")),
        "{err:?}"
    );
    let err = fetch(&site.url("/big"), &policy).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Unavailable(ref m) if m.contains("larger")),
        "{err:?}"
    );
    let err = fetch(&site.url("/missing"), &policy).await.unwrap_err();
    assert!(
        matches!(err, FetchError::Unavailable(ref m) if m.contains("404")),
        "{err:?}"
    );
}
