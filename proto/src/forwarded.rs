//! The client's address behind trusted proxies: `Forwarded` (RFC 7239, `for=`) or else
//! `X-Forwarded-For`, read from the right — the nearest hop first — skipping proxies
//! the operator trusts; the first address that is not one of them is the client.
//! Headers from a peer that is not a trusted proxy are ignored (anyone can send them).

use std::net::IpAddr;

use crate::net::Cidr;

/// The client's address for a request from `peer` carrying these headers (every value
/// of each, in order).
pub fn client_ip(
    peer: IpAddr,
    forwarded: &[&str],
    x_forwarded_for: &[&str],
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = if !forwarded.is_empty() {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(forwarded_for)
            .collect()
    } else {
        x_forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(|h| parse_node(h.trim()))
            .collect()
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop {
            // An unparsable hop (a name, "unknown", garbage): stop at the last known one.
            None => break,
            Some(ip) => {
                client = ip;
                if !is_trusted(ip) {
                    break;
                }
            }
        }
    }
    client
}

/// The `for=` of one `Forwarded` element.
fn forwarded_for(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("for")
            .then(|| parse_node(v.trim().trim_matches('"')))
            .flatten()
    })
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `[2001:db8::1]:80`,
/// `2001:db8::1`.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|n| Cidr::parse(n).unwrap()).collect()
    }

    #[test]
    fn only_trusted_peers_are_believed() {
        let t = nets(&["10.0.0.0/8"]);
        // Untrusted peer: its header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &[], &["1.2.3.4"], &t),
            ip("203.0.113.9")
        );
        // Trusted peer: the rightmost untrusted hop.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &[],
                &["6.6.6.6, 198.51.100.7, 10.0.0.9"],
                &t
            ),
            ip("198.51.100.7"),
            "a client-supplied 6.6.6.6 to the left is not believed"
        );
        // Several header lines, ports, brackets.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &[], &["198.51.100.7:4711", "10.1.1.1"], &t),
            ip("198.51.100.7")
        );
        // Only trusted hops: the leftmost.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &[], &["10.3.3.3"], &t),
            ip("10.3.3.3")
        );
        // Garbage stops the walk at the last good hop.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &[], &["198.51.100.7, evil, 10.0.0.5"], &t),
            ip("10.0.0.5")
        );
        // No header: the peer.
        assert_eq!(client_ip(ip("10.0.0.2"), &[], &[], &t), ip("10.0.0.2"));
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for() {
        let t = nets(&["10.0.0.0/8", "fd00::/8"]);
        let fwd = [r#"for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711""#];
        assert_eq!(
            client_ip(ip("fd00::1"), &fwd, &["1.1.1.1"], &t),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["For=192.0.2.43, for=10.2.2.2"], &[], &t),
            ip("192.0.2.43")
        );
        assert_eq!(
            client_ip(ip("10.0.0.1"), &["for=unknown"], &[], &t),
            ip("10.0.0.1")
        );
    }
}
