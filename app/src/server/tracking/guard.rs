//! Outbound safety for user-supplied URLs: only http and https, and never an address
//! inside the network Upcount runs in — loopback, private, link-local, CGNAT, multicast,
//! unspecified, reserved, for IPv4 and IPv6 (IPv4-mapped IPv6 too).
//!
//! The check happens before any connection: host names are resolved by [`GuardedResolver`]
//! and refused when any address is not public; IP literals in the URL (first hop and every
//! redirect) are checked by [`check_url`].

use std::{
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::Url;

use super::config::IpNet;

/// What may be reached.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Everything may be reached (`UPCOUNT_ALLOW_PRIVATE_TARGETS=true`).
    pub allow_private: bool,
    /// These may be reached even though they are not public (`UPCOUNT_ALLOWED_TARGETS`).
    pub allowed: Vec<IpNet>,
}

impl Policy {
    /// `Err` with the reason when `ip` may not be reached.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        if self.allow_private || self.allowed.iter().any(|net| net.contains(ip)) {
            return Ok(());
        }
        match classify(ip) {
            None => Ok(()),
            Some(class) => Err(format!("{ip} is a {class} address")),
        }
    }
}

/// Why an address is not public, or `None` when it is.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible addresses reach IPv4 hosts.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            classify_v6(v6)
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if let Some((_, what)) = METADATA_ADDRESSES.iter().find(|(known, _)| *known == ip) {
        return Some(what);
    }
    // The first class that applies, in this order.
    let classes = [
        (ip.is_unspecified() || a == 0, "unspecified (0.0.0.0/8)"),
        (ip.is_loopback(), "loopback"),
        (ip.is_private(), "private"),
        (ip.is_link_local(), "link-local (169.254.0.0/16)"),
        (
            a == 100 && (64..128).contains(&b),
            "carrier-grade NAT (100.64.0.0/10)",
        ),
        (ip.is_multicast(), "multicast"),
        (ip.is_broadcast(), "broadcast"),
        (ip.is_documentation(), "documentation"),
        (
            a == 192 && b == 0 && c == 0,
            "reserved (IETF protocol assignments)",
        ),
        (a == 198 && (b == 18 || b == 19), "reserved (benchmarking)"),
        (a >= 240, "reserved (240.0.0.0/4)"),
    ];
    classes
        .into_iter()
        .find_map(|(applies, class)| applies.then_some(class))
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let segments = ip.segments();
    if ip.is_unspecified() {
        Some("unspecified")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_multicast() {
        Some("multicast")
    } else if segments[0] & 0xfe00 == 0xfc00 {
        Some("private (unique local fc00::/7)")
    } else if segments[0] & 0xffc0 == 0xfe80 {
        Some("link-local (fe80::/10)")
    } else if segments[0] & 0xffc0 == 0xfec0 {
        Some("reserved (site-local fec0::/10)")
    } else if segments[0] == 0x2001 && segments[1] == 0x0db8 {
        Some("documentation")
    } else if segments[0..4] == [0, 0, 0, 0] && segments[4] == 0xffff && segments[5] == 0 {
        // IPv4-translated (::ffff:0:a.b.c.d).
        let embedded = Ipv4Addr::from(((segments[6] as u32) << 16) | segments[7] as u32);
        classify_v4(embedded).or(Some("reserved (IPv4-translated)"))
    } else if segments[0] == 0x0064 && segments[1] == 0xff9b && segments[2] == 0x0001 {
        Some("reserved (local-use NAT64 64:ff9b:1::/48)")
    } else if segments[0] == 0x2001 && segments[1] == 0x0000 {
        Some("reserved (Teredo 2001::/32)")
    } else if segments[0] == 0x0064 && segments[1] == 0xff9b {
        // NAT64 embeds an IPv4 address in the last 32 bits.
        let embedded = Ipv4Addr::from(((segments[6] as u32) << 16) | segments[7] as u32);
        classify_v4(embedded).or(None)
    } else if segments[0] == 0x0100 && segments[1..4] == [0, 0, 0] {
        Some("reserved (discard-only 100::/64)")
    } else if segments[0..6] == [0, 0, 0, 0, 0, 0] {
        // Deprecated IPv4-compatible addresses (::a.b.c.d).
        Some("reserved (IPv4-compatible)")
    } else if segments[0] == 0x2002 {
        // 6to4 embeds an IPv4 address in bits 16..48.
        let embedded = Ipv4Addr::from(((segments[1] as u32) << 16) | segments[2] as u32);
        classify_v4(embedded)
    } else {
        None
    }
}

/// Checks a URL before it is requested (first hop and redirects): the scheme, and the
/// host when it is an IP literal. Host names are checked when they are resolved.
pub fn check_url(policy: &Policy, url: &Url) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "only http and https URLs can be tracked, not {}:",
            url.scheme()
        ));
    }
    let literal = match url.host() {
        None => return Err("the URL has no host".to_string()),
        Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
        Some(url::Host::Domain(_)) => None,
    };
    if let Some(ip) = literal {
        policy.check_ip(ip)?;
    }
    check_port(policy, literal, url.port_or_known_default().unwrap_or(0))
}

/// Ports below 1024 other than 80 and 443 are other services' (SSH, SMTP, a database's
/// admin port…), unless the address (`literal`, when it is one) is one the operator
/// allowed.
fn check_port(policy: &Policy, literal: Option<IpAddr>, port: u16) -> Result<(), String> {
    let allowed = policy.allow_private
        || literal.is_some_and(|ip| policy.allowed.iter().any(|net| net.contains(ip)));
    if !(port == 80 || port == 443 || port >= 1024 || allowed) {
        return Err(format!(
            "port {port} is not allowed (only 80, 443 and 1024 to 65535)"
        ));
    }
    Ok(())
}

/// Opens a TCP connection to `host:port` (a Graphite sink) under the same rules as URLs:
/// the port checked, the name resolved and every address checked before connecting (one
/// address that may not be reached refuses the name), then the addresses tried in turn,
/// each within `timeout`. The error says why, a refusal starting with [`REFUSED`].
pub async fn connect_tcp(
    policy: &Policy,
    host: &str,
    port: u16,
    timeout: std::time::Duration,
) -> Result<tokio::net::TcpStream, String> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let literal = bare.parse::<IpAddr>().ok();
    check_port(policy, literal, port).map_err(|reason| format!("{REFUSED} {reason}"))?;
    let addresses: Vec<SocketAddr> = match literal {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => tokio::time::timeout(timeout, tokio::net::lookup_host((bare, port)))
            .await
            .map_err(|_| format!("resolving {bare} took longer than {timeout:?}"))?
            .map_err(|error| format!("could not resolve {bare}: {error}"))?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(format!("{bare} has no addresses"));
    }
    for address in &addresses {
        policy
            .check_ip(address.ip())
            .map_err(|reason| match literal {
                Some(_) => format!("{REFUSED} {reason}"),
                None => format!("{REFUSED} {bare} resolves to {reason}"),
            })?;
    }
    let mut last = String::new();
    for address in addresses {
        match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last = format!("could not connect to {address}: {error}"),
            Err(_) => last = format!("connecting to {address} took longer than {timeout:?}"),
        }
    }
    Err(last)
}

/// A client for user-supplied URLs, built on `builder`: host names resolve through
/// [`GuardedResolver`], and every redirect (at most 5) is checked by [`check_url`]; with
/// `same_origin_only`, a redirect leaving the first URL's origin is answered as the
/// redirect itself, not followed. Trackers of JSON APIs and alert webhooks go through it.
pub fn guarded_client(
    builder: reqwest::ClientBuilder,
    policy: &Arc<Policy>,
    same_origin_only: bool,
) -> Result<reqwest::Client, reqwest::Error> {
    let redirect_policy = policy.clone();
    builder
        .dns_resolver(Arc::new(GuardedResolver {
            policy: policy.clone(),
        }))
        .redirect(reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > 5 {
                return attempt.error("more than 5 redirects");
            }
            if same_origin_only
                && attempt
                    .previous()
                    .first()
                    .is_some_and(|first| first.origin() != attempt.url().origin())
            {
                return attempt.stop();
            }
            match check_url(&redirect_policy, attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(reason) => attempt.error(format!("{REFUSED} a redirect to {reason}")),
            }
        }))
        .build()
}

/// Cloud metadata services at addresses that are not private, refused by name.
const METADATA_ADDRESSES: [(Ipv4Addr, &str); 1] = [(
    Ipv4Addr::new(168, 63, 129, 16),
    "cloud metadata service (Azure's WireServer)",
)];

/// The marker at the start of every refusal, so that errors coming back through reqwest
/// can be told apart from other connection failures.
pub const REFUSED: &str = "refused to connect:";

/// The guard's refusal inside a failed request's error chain, from [`REFUSED`] on.
pub fn refusal(error: &reqwest::Error) -> Option<String> {
    let mut source: Option<&dyn std::error::Error> = Some(error);
    while let Some(current) = source {
        let text = current.to_string();
        if let Some(position) = text.find(REFUSED) {
            return Some(text[position..].to_string());
        }
        source = current.source();
    }
    None
}

/// A DNS resolver that refuses names resolving to any non-public address.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addresses.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            // One bad address refuses the name: the connector may try any of them.
            for address in &addresses {
                if let Err(reason) = policy.check_ip(address.ip()) {
                    return Err(format!("{REFUSED} {host} resolves to {reason}").into());
                }
            }
            let addrs: Addrs = Box::new(addresses.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::tracking::testing::assert_refused;

    fn refused(ip: &str) -> bool {
        Policy::default()
            .check_ip(ip.parse().expect("an address"))
            .is_err()
    }

    #[test]
    fn every_non_public_class_is_refused() {
        for ip in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.8",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "::ffff:0:7f00:1",
            "2001:0:4136:e378::1",
            "2002:a00:1::",
            "168.63.129.16",
            "::ffff:168.63.129.16",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
        ] {
            assert!(!refused(ip), "{ip} should pass");
        }
    }

    #[test]
    fn allowances() {
        let ip: IpAddr = "127.0.0.2".parse().expect("ip");
        let everything = Policy {
            allow_private: true,
            allowed: vec![],
        };
        assert!(everything.check_ip(ip).is_ok());
        let one = Policy {
            allow_private: false,
            allowed: vec!["127.0.0.2".parse().expect("net")],
        };
        assert!(one.check_ip(ip).is_ok());
        assert!(one.check_ip("127.0.0.1".parse().expect("ip")).is_err());
    }

    #[test]
    fn schemes_and_literals() {
        let policy = Policy::default();
        let check = |url: &str| check_url(&policy, &Url::parse(url).expect("url"));
        assert!(check("ftp://example.com/x").is_err());
        assert!(check("file:///etc/passwd").is_err());
        assert!(check("http://127.0.0.1:8080/").is_err());
        assert!(check("http://[::1]/").is_err());
        assert!(check("http://[::ffff:7f00:1]/").is_err());
        assert!(check("https://example.com/api").is_ok());
        // Ports: 80, 443 and 1024 and up.
        assert!(check("http://example.com:80/").is_ok());
        assert!(check("https://example.com:8443/").is_ok());
        assert_refused(
            check,
            &[
                "http://example.com:22/",
                "http://example.com:25/",
                "https://example.com:1023/",
                "http://1.1.1.1:6/",
            ],
            "port",
        );
        let allowed = Policy {
            allow_private: false,
            allowed: vec!["10.0.0.5".parse().expect("net")],
        };
        let url = Url::parse("http://10.0.0.5:25/").expect("url");
        assert!(
            check_url(&allowed, &url).is_ok(),
            "an allowed target, any port"
        );
        assert!(
            check("http://168.63.129.16/")
                .unwrap_err()
                .contains("metadata")
        );
    }

    #[tokio::test]
    async fn tcp_connections_are_checked_like_urls() {
        let timeout = std::time::Duration::from_secs(2);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a listener");
        let port = listener.local_addr().expect("an address").port();
        let strict = Policy::default();
        for (host, port, needle) in [
            ("127.0.0.1", port, "loopback"),
            ("localhost", port, "localhost resolves to"),
            ("[::1]", port, "loopback"),
            ("10.1.2.3", 2003, "private"),
            ("203.0.114.9", 25, "port 25 is not allowed"),
        ] {
            let error = connect_tcp(&strict, host, port, timeout)
                .await
                .expect_err(host);
            assert!(
                error.starts_with(REFUSED) && error.contains(needle),
                "{host}: {error}"
            );
        }
        let open = Policy {
            allow_private: true,
            allowed: Vec::new(),
        };
        assert!(connect_tcp(&open, "127.0.0.1", port, timeout).await.is_ok());
    }
}
