//! Which source addresses an import may reach (SSRF). Loopback, private, shared
//! (CGNAT), link-local (cloud metadata at 169.254.169.254 and fd00:ec2::254 included),
//! unique-local, multicast and unspecified addresses are refused unless the operator
//! allows private sources (`--import-allow-private`) or names networks
//! (`--import-allow-net`). The check runs on the addresses
//! a host name resolves to, on every redirect hop, and again inside the HTTP client's
//! resolver, so a name that re-resolves elsewhere between check and connect (DNS
//! rebinding) still cannot reach them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use upgate_proto::net::Cidr;

/// Why an address is refused, for the user's error message; `None` when allowed.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refusal_v4(v4),
            None => refusal_v6(v6),
        },
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if a == 0 || ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("reserved")
    } else {
        None
    }
}

fn refusal_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() || ip.is_multicast() {
        Some("reserved")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if first & 0xfe00 == 0xfc00 {
        Some("unique-local (private)")
    } else if let Some(v4) = ip.to_ipv4() {
        // IPv4-compatible (::a.b.c.d) and NAT64 forms reach IPv4 addresses.
        refusal_v4(v4)
    } else {
        None
    }
}

/// Which addresses are allowed beyond public ones: all (`--import-allow-private`) or
/// some networks (`--import-allow-net CIDR`, an on-premises source).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub allow_private: bool,
    pub allow_nets: Vec<Cidr>,
}

impl Policy {
    /// Why `ip` is refused under this policy, if it is.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow_private || self.allow_nets.iter().any(|n| n.contains(ip)) {
            return None;
        }
        refusal(ip)
    }

    /// The address refused among `addrs`, if any, with why.
    pub fn first_refused(&self, addrs: &[SocketAddr]) -> Option<(IpAddr, &'static str)> {
        addrs
            .iter()
            .find_map(|a| self.refusal(a.ip()).map(|why| (a.ip(), why)))
    }
}

/// The HTTP client's resolver: resolves with the system and refuses a name when any of
/// its addresses is refused by the policy.
pub struct GuardedResolver {
    pub policy: Policy,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some((ip, why)) = policy.first_refused(&addrs) {
                return Err(format!("{host} resolves to {ip}, a {why} address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::refusal;

    fn refused(s: &str) -> bool {
        refusal(s.parse().unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))).is_some()
    }

    #[test]
    fn allowed_networks() {
        let p = super::Policy {
            allow_private: false,
            allow_nets: vec![
                super::Cidr::parse("127.0.0.2").expect("net"),
                super::Cidr::parse("10.8.0.0/16").expect("net"),
            ],
        };
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap_or([0, 0, 0, 0].into());
        assert!(p.refusal(ip("127.0.0.2")).is_none());
        assert!(p.refusal(ip("127.0.0.1")).is_some());
        assert!(p.refusal(ip("10.8.200.1")).is_none());
        assert!(p.refusal(ip("10.9.0.1")).is_some());
        assert!(p.refusal(ip("::ffff:10.8.0.1")).is_none());
    }

    #[test]
    fn private_and_special_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::7f00:1",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
        for ip in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
            "1.1.1.1",
        ] {
            assert!(!refused(ip), "{ip} must be allowed");
        }
    }
}
