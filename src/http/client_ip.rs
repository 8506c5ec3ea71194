//! Who the client is: the TCP peer, unless the peer is a trusted proxy; then the
//! right-most address of `X-Forwarded-For` (else `Forwarded`) that is not itself
//! a trusted proxy. Untrusted peers cannot spoof their address with headers.
//!
//! Every address is made canonical first (an IPv4-mapped `::ffff:a.b.c.d`, which a
//! dual-stack listener reports for IPv4 peers, is `a.b.c.d`), so a proxy listed as
//! `127.0.0.1/32` is recognised behind `[::]:8080` and one client is one key.
//! (The key the limits count a client under is the guard's: `guard::client_ip`.)

use std::net::IpAddr;

use ipnet::IpNet;
use poem::http::HeaderMap;

/// The client's address.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = forwarded_for(headers);
    for hop in hops.iter().rev() {
        match hop.map(canonical) {
            Some(ip) if is_trusted(&ip) => continue,
            Some(ip) => return ip,
            // An unparseable or obfuscated hop: nothing to its left can be believed.
            None => break,
        }
    }
    peer
}

/// The address itself, with an IPv4-mapped IPv6 address turned into IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops of `X-Forwarded-For`, or else of `Forwarded` (`for=`), left to right;
/// `None` for a hop that is not an address.
pub fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !xff.is_empty() {
        return xff
            .iter()
            .flat_map(|v| v.split(','))
            .map(|h| parse_hop(h.trim()))
            .take(64)
            .collect();
    }
    headers
        .get_all("forwarded")
        .into_iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| parse_hop(v.trim().trim_matches('"')))
            })
        })
        .take(64)
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = hop.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                poem::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1")]);
        assert_eq!(client_ip(ip("203.0.113.9"), &h, &[]), ip("203.0.113.9"));
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.2.3")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted), ip("198.51.100.7"));
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("2001:db8::7"));
        let h = headers(&[("x-forwarded-for", "198.51.100.7:5555")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted), ip("198.51.100.7"));
    }

    #[test]
    fn garbage_or_missing_headers_fall_back_to_the_peer() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        for value in ["", "unknown", "not-an-ip, also bad", "_hidden"] {
            let h = headers(&[("x-forwarded-for", value)]);
            assert_eq!(
                client_ip(ip("10.0.0.1"), &h, &trusted),
                ip("10.0.0.1"),
                "{value:?}"
            );
        }
        assert_eq!(
            client_ip(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        let all_trusted = headers(&[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &all_trusted, &trusted), ip("10.0.0.1"));
    }

    #[test]
    fn ipv4_mapped_addresses_are_ipv4_before_any_comparison() {
        let trusted: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        let h = headers(&[("x-forwarded-for", "::ffff:198.51.100.7")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &h, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_ip(ip("::ffff:203.0.113.9"), &HeaderMap::new(), &[]),
            ip("203.0.113.9")
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_forwarded_header_never_panics_and_untrusted_peers_win(
                xff in "[ -~]{0,120}",
                forwarded in "[ -~]{0,120}",
                peer in any::<[u8; 4]>(),
            ) {
                let mut h = HeaderMap::new();
                if let Ok(v) = xff.parse() {
                    h.insert("x-forwarded-for", v);
                }
                if let Ok(v) = forwarded.parse() {
                    h.insert("forwarded", v);
                }
                let peer = IpAddr::from(peer);
                let _ = forwarded_for(&h);
                let trusted: Vec<IpNet> = vec!["0.0.0.0/0".parse().unwrap()];
                let _ = client_ip(peer, &h, &trusted);
                prop_assert_eq!(client_ip(peer, &h, &[]), peer);
            }
        }
    }
}
