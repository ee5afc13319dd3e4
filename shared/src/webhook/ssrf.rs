//! The SSRF guard: a webhook URL is a request our network makes on an admin's behalf, so it may
//! only reach the public internet. Only `https://` URLs; every address the host resolves to must
//! be public (not loopback, private, link-local, CGNAT, unspecified, broadcast, multicast,
//! documentation, reserved or a cloud metadata address, nor an IPv4-mapped, -compatible or
//! NAT64 form of one). Checked when an endpoint is registered or changed, and again at every
//! delivery, where the request goes to the very address checked (no second resolution a
//! rebinding DNS server could answer differently).
//!
//! Tests and the local runner opt in to loopback (`http://127.0.0.1:…` receivers) with
//! `NEXUS_WEBHOOK_ALLOW_LOOPBACK=true`; the deployed template never sets it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::http::Uri;

/// Why a URL or an address is refused: a short sentence, safe to show the admin and to store as
/// a delivery's `last_error` (it names no resolved address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long a registration or a delivery waits for DNS.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

/// Why `ip` may not be reached, or `None` when it is a public address. `allow_loopback` lets
/// loopback through (and only loopback).
pub fn refused(ip: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4, allow_loopback),
        IpAddr::V6(v6) => refused_v6(v6, allow_loopback),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn refused_v4(ip: Ipv4Addr, allow_loopback: bool) -> Option<&'static str> {
    let table: [([u8; 4], u32, &'static str); 17] = [
        ([169, 254, 169, 254], 32, "a cloud metadata address"),
        ([127, 0, 0, 0], 8, "a loopback address"),
        ([0, 0, 0, 0], 8, "an unspecified address"),
        ([10, 0, 0, 0], 8, "a private address"),
        ([172, 16, 0, 0], 12, "a private address"),
        ([192, 168, 0, 0], 16, "a private address"),
        ([169, 254, 0, 0], 16, "a link-local address"),
        ([100, 64, 0, 0], 10, "a shared (CGNAT) address"),
        ([255, 255, 255, 255], 32, "the broadcast address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([192, 0, 0, 0], 24, "a reserved address"),
        ([198, 18, 0, 0], 15, "a reserved address"),
        ([240, 0, 0, 0], 4, "a reserved address"),
        ([192, 88, 99, 0], 24, "a reserved address"),
    ];
    let (_, _, reason) = table.into_iter().find(|(net, prefix, _)| in_v4(ip, *net, *prefix))?;
    (!(allow_loopback && ip.is_loopback())).then_some(reason)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u128::MAX << (128 - prefix) };
    u128::from(ip) & mask == u128::from(net) & mask
}

fn refused_v6(ip: Ipv6Addr, allow_loopback: bool) -> Option<&'static str> {
    if ip == Ipv6Addr::LOCALHOST {
        return (!allow_loopback).then_some("a loopback address");
    }
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    // IPv4 inside IPv6: mapped (::ffff:a.b.c.d), the deprecated compatible form (::a.b.c.d), and
    // the NAT64 prefix (64:ff9b::/96), which a NAT64 gateway turns into that IPv4 address.
    let octets = ip.octets();
    let embedded =
        if octets[..10].iter().all(|b| *b == 0) && (octets[10..12] == [0xff, 0xff] || octets[10..12] == [0, 0]) {
            Some(Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]))
        } else if in_v6(ip, Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96) {
            Some(Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]))
        } else {
            None
        };
    if let Some(v4) = embedded {
        return refused_v4(v4, allow_loopback);
    }
    let table: [(Ipv6Addr, u32, &'static str); 8] = [
        (Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), 128, "a cloud metadata address"),
        (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "a private address"),
        (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "a link-local address"),
        (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "a private address"),
        (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "a multicast address"),
        (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, "a documentation address"),
        (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, "a documentation address"),
        (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "a reserved address"),
    ];
    table.into_iter().find(|(net, prefix, _)| in_v6(ip, *net, *prefix)).map(|(_, _, reason)| reason)
}

/// A webhook URL, parsed: where to connect and what to ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub https: bool,
    /// The host as written, without IPv6 brackets: the TLS server name and the `Host` header.
    pub host: String,
    pub port: u16,
    /// `host[:port]` as written, for the `Host` header.
    pub authority: String,
    pub path_and_query: String,
}

/// Parses `url`: absolute, `https://` (or `http://` when loopback is allowed), a host, no user
/// name or password, no fragment.
pub fn parse(url: &str, allow_loopback: bool) -> Result<Target, Refusal> {
    let invalid = || Refusal("must be an absolute https:// URL".into());
    if url.len() > 2000 || url.contains('#') || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid());
    }
    let uri: Uri = url.parse().map_err(|_| invalid())?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") if allow_loopback => false,
        Some("http") => return Err(Refusal("must use https://".into())),
        _ => return Err(invalid()),
    };
    let authority = uri.authority().ok_or_else(invalid)?;
    if authority.as_str().contains('@') {
        return Err(Refusal("must not carry a user name or password".into()));
    }
    let host = authority.host().trim_start_matches('[').trim_end_matches(']').to_string();
    if host.is_empty() {
        return Err(invalid());
    }
    Ok(Target {
        https,
        port: authority.port_u16().unwrap_or(if https { 443 } else { 80 }),
        authority: authority.as_str().to_string(),
        path_and_query: uri.path_and_query().map(|p| p.as_str()).unwrap_or("/").to_string(),
        host,
    })
}

/// Resolves `target` and checks every address; the addresses to connect to, in order. A host
/// with any refused address is refused (a name that also resolves inside is not ours to call);
/// plain `http://` only ever reaches loopback.
pub async fn resolve(target: &Target, allow_loopback: bool) -> Result<Vec<SocketAddr>, Refusal> {
    let lookup = tokio::net::lookup_host((target.host.as_str(), target.port));
    let addrs: Vec<SocketAddr> = match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
        Ok(Ok(addrs)) => addrs.collect(),
        Ok(Err(_)) | Err(_) => return Err(Refusal("host does not resolve".into())),
    };
    if addrs.is_empty() {
        return Err(Refusal("host does not resolve".into()));
    }
    for addr in &addrs {
        if let Some(reason) = refused(addr.ip(), allow_loopback) {
            return Err(Refusal(format!("host resolves to {reason}")));
        }
        if !target.https && !is_loopback(addr.ip()) {
            return Err(Refusal("must use https://".into()));
        }
    }
    Ok(addrs)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

/// [`parse`] then [`resolve`]: what registration and every delivery check.
pub async fn check(url: &str, allow_loopback: bool) -> Result<(Target, Vec<SocketAddr>), Refusal> {
    let target = parse(url, allow_loopback)?;
    let addrs = resolve(&target, allow_loopback).await?;
    Ok((target, addrs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_non_public_address_is_refused_with_its_reason() {
        let cases: &[(&str, Option<&str>)] = &[
            ("93.184.215.14", None),
            ("8.8.8.8", None),
            ("2606:4700::1111", None),
            ("127.0.0.1", Some("a loopback address")),
            ("127.255.0.9", Some("a loopback address")),
            ("::1", Some("a loopback address")),
            ("0.0.0.0", Some("an unspecified address")),
            ("::", Some("an unspecified address")),
            ("10.1.2.3", Some("a private address")),
            ("172.16.0.1", Some("a private address")),
            ("172.31.255.255", Some("a private address")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("a private address")),
            ("fc00::1", Some("a private address")),
            ("fd12:3456::1", Some("a private address")),
            ("169.254.1.1", Some("a link-local address")),
            ("fe80::1", Some("a link-local address")),
            ("febf::1", Some("a link-local address")),
            ("100.64.0.1", Some("a shared (CGNAT) address")),
            ("100.127.255.254", Some("a shared (CGNAT) address")),
            ("100.128.0.1", None),
            ("255.255.255.255", Some("the broadcast address")),
            ("224.0.0.1", Some("a multicast address")),
            ("239.255.255.250", Some("a multicast address")),
            ("ff02::1", Some("a multicast address")),
            ("192.0.2.10", Some("a documentation address")),
            ("198.51.100.7", Some("a documentation address")),
            ("203.0.113.5", Some("a documentation address")),
            ("2001:db8::1", Some("a documentation address")),
            ("169.254.169.254", Some("a cloud metadata address")),
            ("fd00:ec2::254", Some("a cloud metadata address")),
            ("240.0.0.1", Some("a reserved address")),
            // IPv4 inside IPv6 is judged as the IPv4 address it reaches.
            ("::ffff:127.0.0.1", Some("a loopback address")),
            ("::ffff:10.0.0.1", Some("a private address")),
            ("::ffff:169.254.169.254", Some("a cloud metadata address")),
            ("::ffff:93.184.215.14", None),
            ("::10.0.0.1", Some("a private address")),
            ("64:ff9b::a9fe:a9fe", Some("a cloud metadata address")),
            ("64:ff9b::808:808", None),
        ];
        for (ip, expected) in cases {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(refused(ip, false), *expected, "{ip}");
        }
    }

    #[test]
    fn the_loopback_opt_in_lets_loopback_through_and_nothing_else() {
        for ip in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(refused(ip.parse().unwrap(), true), None, "{ip}");
        }
        for ip in ["10.0.0.1", "169.254.169.254", "fd00:ec2::254", "0.0.0.0", "192.168.0.1"] {
            assert!(refused(ip.parse().unwrap(), true).is_some(), "{ip}");
        }
    }

    #[test]
    fn only_absolute_https_urls_without_credentials_parse() {
        let target = parse("https://hooks.example.com/nexus?x=1", false).unwrap();
        assert_eq!(
            target,
            Target {
                https: true,
                host: "hooks.example.com".into(),
                port: 443,
                authority: "hooks.example.com".into(),
                path_and_query: "/nexus?x=1".into()
            }
        );
        assert_eq!(parse("https://[2606:4700::1111]:8443", false).unwrap().host, "2606:4700::1111");
        assert_eq!(parse("https://[2606:4700::1111]:8443", false).unwrap().port, 8443);
        assert_eq!(parse("http://hooks.example.com/", false).unwrap_err().0, "must use https://");
        for bad in ["ftp://x.example/", "hooks.example.com", "/relative", "https://", "https://a b/", "https://x/#frag"]
        {
            assert!(parse(bad, false).is_err(), "{bad}");
        }
        assert!(parse("https://user:pw@hooks.example.com/", false).unwrap_err().0.contains("password"));
        assert!(parse(&format!("https://x.example/{}", "a".repeat(2000)), false).is_err());
        assert!(!parse("http://127.0.0.1:9000/hook", true).unwrap().https);
    }

    #[tokio::test]
    async fn literal_addresses_are_checked_without_dns_and_http_reaches_only_loopback() {
        let refused_with = async |url: &str, allow: bool| check(url, allow).await.err().map(|r| r.0);
        assert_eq!(
            refused_with("https://127.0.0.1/", false).await.as_deref(),
            Some("host resolves to a loopback address")
        );
        assert_eq!(
            refused_with("https://169.254.169.254/latest/meta-data", true).await.as_deref(),
            Some("host resolves to a cloud metadata address")
        );
        assert_eq!(
            refused_with("https://[::ffff:10.0.0.1]/", false).await.as_deref(),
            Some("host resolves to a private address")
        );
        assert_eq!(refused_with("http://127.0.0.1:9/", false).await.as_deref(), Some("must use https://"));
        assert_eq!(refused_with("http://93.184.215.14/", true).await.as_deref(), Some("must use https://"));
        assert_eq!(refused_with("http://127.0.0.1:9/", true).await, None);
        assert_eq!(refused_with("https://93.184.215.14/", false).await, None);
        // `localhost` resolves through /etc/hosts: still loopback.
        assert!(refused_with("https://localhost/", false).await.unwrap().contains("loopback"));
    }
}
