//! The address of the client behind a request, for the throttles keyed by address.
//!
//! Behind a reverse proxy the TCP peer is the proxy, so every caller would share one address
//! (and one failed-authentication block). When the peer is one of `GRANTD_TRUSTED_PROXIES`, the
//! address comes from `X-Forwarded-For` instead: the right-most entry that is not itself a
//! trusted proxy, since every entry left of what a trusted proxy appended is whatever the
//! client chose to send. From any other peer the header is ignored. `Forwarded` (RFC 7239) is
//! not read: a proxy that writes only that header leaves the peer address in use.
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use actix_web::HttpRequest;
use ipnet::IpNet;

/// The peers whose `X-Forwarded-For` is believed: addresses and CIDR blocks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of IP addresses and CIDR blocks; empty = none.
    fn from_str(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| {
                item.parse::<IpNet>()
                    .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                    .map(|net| net.trunc())
                    .map_err(|_| format!("{item:?} is neither an IP address nor a CIDR block"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, address: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&address))
    }
}

/// The client's address: the TCP peer, or, when the peer is a trusted proxy, what the proxies
/// forwarded. `None` only for a request without a peer (not one served over TCP).
pub fn of(request: &HttpRequest, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = request.peer_addr()?.ip();
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok());
    Some(resolve(peer, forwarded, trusted))
}

fn resolve<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &TrustedProxies,
) -> IpAddr {
    let mut client = peer.to_canonical();
    if trusted.is_empty() || !trusted.contains(client) {
        return client;
    }
    // Several header lines are one list, in order (RFC 9110 §5.3).
    let hops: Vec<&str> = forwarded_for.flat_map(|line| line.split(',')).collect();
    for hop in hops.into_iter().rev() {
        let Some(address) = parse_hop(hop.trim()) else {
            // A trusted proxy that appends garbage is misconfigured: keep the last address
            // known to be real rather than trust anything further left.
            return client;
        };
        client = address;
        if !trusted.contains(client) {
            return client;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|address| address.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn proxies(list: &str) -> TrustedProxies {
        list.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let client = resolve(ip("10.0.0.1"), ["203.0.113.5"].into_iter(), &proxies(""));
        assert_eq!(client, ip("10.0.0.1"));
    }

    #[test]
    fn an_untrusted_peers_header_is_ignored() {
        let client = resolve(
            ip("192.0.2.1"),
            ["203.0.113.5"].into_iter(),
            &proxies("10.0.0.0/8"),
        );
        assert_eq!(client, ip("192.0.2.1"));
    }

    #[test]
    fn a_trusted_peer_forwards_the_right_most_untrusted_entry() {
        let client = resolve(
            ip("10.0.0.1"),
            ["6.6.6.6, 203.0.113.5", "10.0.0.2"].into_iter(),
            &proxies("10.0.0.0/8"),
        );
        assert_eq!(client, ip("203.0.113.5"));
    }

    #[test]
    fn a_trusted_peer_without_the_header_is_the_client() {
        let client = resolve(ip("10.0.0.1"), std::iter::empty(), &proxies("10.0.0.1"));
        assert_eq!(client, ip("10.0.0.1"));
    }

    #[test]
    fn an_unparsable_entry_stops_the_walk_at_the_last_real_address() {
        let client = resolve(
            ip("10.0.0.1"),
            ["203.0.113.5, unknown"].into_iter(),
            &proxies("10.0.0.1"),
        );
        assert_eq!(client, ip("10.0.0.1"));
    }

    #[test]
    fn entries_with_ports_and_mapped_ipv6_addresses_are_understood() {
        let trusted = proxies("127.0.0.1, ::1");
        assert_eq!(
            resolve(
                ip("::ffff:127.0.0.1"),
                ["203.0.113.5:4711"].into_iter(),
                &trusted
            ),
            ip("203.0.113.5")
        );
        assert_eq!(
            resolve(ip("::1"), ["[2001:db8::7]:443"].into_iter(), &trusted),
            ip("2001:db8::7")
        );
    }

    #[test]
    fn when_every_entry_is_trusted_the_left_most_is_the_client() {
        let client = resolve(
            ip("10.0.0.1"),
            ["10.0.0.3, 10.0.0.2"].into_iter(),
            &proxies("10.0.0.0/8"),
        );
        assert_eq!(client, ip("10.0.0.3"));
    }

    #[test]
    fn the_setting_takes_addresses_and_cidr_blocks() {
        let trusted = proxies(" 10.1.2.3/8 , 192.0.2.7, 2001:db8::/32 ");
        assert!(trusted.contains(ip("10.200.0.1")));
        assert!(trusted.contains(ip("192.0.2.7")));
        assert!(!trusted.contains(ip("192.0.2.8")));
        assert!(trusted.contains(ip("2001:db8::1")));
        assert!(proxies("").is_empty());
    }

    #[test]
    fn a_bad_entry_in_the_setting_is_named() {
        let error = "10.0.0.0/8, proxy.internal"
            .parse::<TrustedProxies>()
            .unwrap_err();
        assert!(error.contains("proxy.internal"), "{error}");
    }
}
