//! The key under which the rate limits count a client: an IPv4 address itself,
//! an IPv6 address's /64 network. One subscriber usually holds a whole /64, so
//! counting single addresses would let it walk around them. Who the client is
//! (trusted proxies, `X-Forwarded-For`) is `http::client_ip`'s.

use std::net::{IpAddr, Ipv6Addr};

use crate::http::client_ip::canonical;

/// The key under which an address is counted: an IPv4 address itself, an IPv6
/// address's /64 network.
pub fn address_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv4_mapped_addresses_are_one_key_with_their_ipv4() {
        assert_eq!(
            address_key(ip("::ffff:203.0.113.9")),
            address_key(ip("203.0.113.9"))
        );
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            address_key(ip("2001:db8:1:2:ffff:1:2:3"))
        );
        assert_eq!(address_key(ip("2001:db8:1:2::9")), "2001:db8:1:2::/64");
        assert_ne!(
            address_key(ip("2001:db8:1:2::1")),
            address_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_key(ip("192.0.2.1")), "192.0.2.1");
    }
}
