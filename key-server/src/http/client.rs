//! Who is asking: the client address that limits and the audit are keyed on.
//!
//! Behind a TLS proxy every TCP peer is the proxy, so one attacker would
//! share a limit with everyone. The proxy's `X-Forwarded-For` / `Forwarded`
//! header names the real client, but anyone can send that header: it is
//! believed only when the TCP peer is one of `trusted_proxies`, and then the
//! client is the right-most hop that is not itself a trusted proxy (the
//! hops to its left were written by the client and prove nothing).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use ipnet::IpNet;

use super::AppState;

/// The client's address, as limits and the audit see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Without connection info (an in-process test calling the router)
        // every request is one unknown client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        Ok(ClientAddr(client_address(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        )))
    }
}

/// Whether the request came straight from one of `trusted_proxies` (the
/// TCP peer, not anything a header says): what a proxy's own headers, such
/// as the single-sign-on header, need before they are believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FromTrustedProxy(pub bool);

impl FromRequestParts<AppState> for FromTrustedProxy {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // No connection info (an in-process test): no proxy either.
        let trusted = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|info| is_trusted(&info.0.ip(), &state.settings.trusted_proxies));
        Ok(FromTrustedProxy(trusted))
    }
}

fn is_trusted(ip: &IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&canonical(*ip)))
}

/// The client behind `peer`, believing forwarding headers only from `trusted` proxies.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| is_trusted(ip, trusted);
    if !is_trusted(&peer) {
        return canonical(peer);
    }
    let hops = forwarded_hops(headers);
    // Right to left: the first hop that is not a trusted proxy is the client.
    hops.iter()
        .rev()
        .find(|hop| !is_trusted(hop))
        .or(hops.first())
        .copied()
        .map_or(canonical(peer), canonical)
}

/// An IPv4 address mapped into IPv6 is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The hops of `Forwarded` (RFC 7239) if present, else of `X-Forwarded-For`,
/// left to right. A hop that is not an address (`unknown`, an obfuscated
/// name, garbage) ends the list there: nothing to its left can be believed.
fn forwarded_hops(headers: &HeaderMap) -> Vec<IpAddr> {
    let forwarded: Vec<&str> = headers
        .get_all("forwarded")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let raw: Vec<String> = if forwarded.is_empty() {
        headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|hop| hop.trim().to_string())
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .map_or(String::new(), |(_, value)| value.trim().to_string())
            })
            .collect()
    };
    let mut hops = Vec::new();
    for hop in raw.iter().rev() {
        match parse_hop(hop) {
            Some(ip) => hops.push(ip),
            None => break,
        }
    }
    hops.reverse();
    hops
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `"[2001:db8::1]"`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok());
    }
    hop.parse::<SocketAddr>().ok().map(|addr| addr.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let spoofed = headers(&[("x-forwarded-for", "203.0.113.9")]);
        assert_eq!(
            client_address(ip("198.51.100.7"), &spoofed, &trusted),
            ip("198.51.100.7")
        );
        assert_eq!(
            client_address(ip("198.51.100.7"), &spoofed, &[]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        let trusted = [
            "10.0.0.0/8".parse().unwrap(),
            "192.0.2.10/32".parse().unwrap(),
        ];
        // The client wrote a fake first hop; the proxies appended the real one.
        let forwarded = headers(&[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.1.1.1")]);
        assert_eq!(
            client_address(ip("192.0.2.10"), &forwarded, &trusted),
            ip("203.0.113.9")
        );
        let rfc7239 = headers(&[(
            "forwarded",
            "for=1.2.3.4, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &rfc7239, &trusted),
            ip("2001:db8::7")
        );
        // No header: the proxy itself.
        assert_eq!(
            client_address(ip("10.0.0.1"), &HeaderMap::new(), &trusted),
            ip("10.0.0.1")
        );
        // Garbage to the right stops the walk: nothing left of it is believed.
        let junk = headers(&[("x-forwarded-for", "203.0.113.9, not-an-ip")]);
        assert_eq!(
            client_address(ip("10.0.0.1"), &junk, &trusted),
            ip("10.0.0.1")
        );
    }
}
