//! IP addresses and CIDR networks, for the `netmatch` operator (`ka.sourceips netmatch
//! (threat_intel_ips)`): a value matches when it is an IP address equal to a listed
//! address or inside a listed network, as Falco's `fd.net = 10.0.0.0/8` does for runtime
//! events.
//!
//! A threat-intelligence list can hold tens of thousands of entries, and every audit event
//! carries one to a few source addresses, so a [`NetSet`] keeps one hash set of network
//! addresses per prefix length present: a lookup masks the address once per distinct
//! length (at most 33 for IPv4, 129 for IPv6) instead of comparing with every entry.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

/// An IP network: an address with its prefix length (`/32` or `/128` for one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Net {
    /// The network address, host bits cleared; IPv4-mapped IPv6 addresses become IPv4.
    pub addr: IpAddr,
    /// The prefix length.
    pub prefix: u8,
}

/// Why a text is not an address or a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an IP address or a CIDR network (e.g. 203.0.113.7 or 198.51.100.0/24)")]
pub struct NetError {
    /// The text.
    pub text: String,
}

impl Net {
    /// Parses `203.0.113.7`, `198.51.100.0/24`, `2001:db8::1` or `2001:db8::/32`. Host
    /// bits set under the prefix (`198.51.100.7/24`) are cleared, as feeds often write
    /// networks that way.
    pub fn parse(text: &str) -> Result<Net, NetError> {
        let err = || NetError {
            text: text.to_string(),
        };
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => {
                // Digits only: `u8::from_str` would take a leading `+`.
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err());
                }
                (a, Some(p.parse::<u8>().map_err(|_| err())?))
            }
            None => (text, None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| err())?);
        let max = bits(addr);
        let prefix = match prefix {
            // An IPv4-mapped IPv6 network (`::ffff:10.0.0.0/104`) counts its prefix in
            // IPv6 bits; as IPv4 it loses the 96 mapped bits.
            Some(p) if text.contains(':') && addr.is_ipv4() => p.checked_sub(96).ok_or_else(err)?,
            Some(p) => p,
            None => max,
        };
        if prefix > max {
            return Err(err());
        }
        Ok(Net {
            addr: mask(addr, prefix),
            prefix,
        })
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:203.0.113.7`) as IPv4, so both spellings match.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

fn bits(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// `addr` with every bit past `prefix` cleared.
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let m = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4((u32::from(a) & m).into())
        }
        IpAddr::V6(a) => {
            let m = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6((u128::from(a) & m).into())
        }
    }
}

/// A set of addresses and networks, asked whether an address is in any of them.
#[derive(Debug, Clone, Default)]
pub struct NetSet {
    /// Prefix length → network addresses of that length, IPv4 and IPv6 apart.
    v4: BTreeMap<u8, HashSet<IpAddr>>,
    v6: BTreeMap<u8, HashSet<IpAddr>>,
}

impl NetSet {
    /// Adds a network.
    pub fn insert(&mut self, net: Net) {
        let by_len = if net.addr.is_ipv4() {
            &mut self.v4
        } else {
            &mut self.v6
        };
        by_len.entry(net.prefix).or_default().insert(net.addr);
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// True when `addr` equals a listed address or lies in a listed network.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        let by_len = if addr.is_ipv4() { &self.v4 } else { &self.v6 };
        by_len
            .iter()
            .any(|(&prefix, nets)| nets.contains(&mask(addr, prefix)))
    }

    /// [`NetSet::contains`] for text; text that is not an IP address is in no network.
    pub fn contains_text(&self, text: &str) -> bool {
        // The shipped threat-intelligence list is empty: every event pays nothing then.
        !self.is_empty()
            && text
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|addr| self.contains(addr))
    }
}

impl FromIterator<Net> for NetSet {
    fn from_iter<I: IntoIterator<Item = Net>>(iter: I) -> NetSet {
        let mut set = NetSet::default();
        for net in iter {
            set.insert(net);
        }
        set
    }
}

/// Reads a threat-intelligence list: one address or CIDR network per line, `#` starting
/// a comment (a whole line or the rest of one), blank lines skipped. Returns the entries
/// as written (for a rules list) or the 1-based line and error of the first bad one.
pub fn parse_list(text: &str) -> Result<Vec<String>, (usize, NetError)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().unwrap_or_default().trim();
        if entry.is_empty() {
            continue;
        }
        Net::parse(entry).map_err(|e| (i + 1, e))?;
        out.push(entry.to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(items: &[&str]) -> NetSet {
        items.iter().map(|s| Net::parse(s).unwrap()).collect()
    }

    #[test]
    fn addresses_and_networks() {
        let s = set(&[
            "203.0.113.7",
            "198.51.100.77/24",
            "10.0.0.0/8",
            "2001:db8:aa::/48",
            "::ffff:192.0.2.0/120",
        ]);
        for (ip, want) in [
            ("203.0.113.7", true),
            ("203.0.113.8", false),
            ("198.51.100.1", true),
            ("198.51.101.1", false),
            ("10.255.0.1", true),
            ("11.0.0.1", false),
            ("2001:db8:aa:1::5", true),
            ("2001:db8:ab::5", false),
            ("::ffff:203.0.113.7", true),
            ("192.0.2.200", true),
            ("not-an-ip", false),
            ("", false),
        ] {
            assert_eq!(s.contains_text(ip), want, "{ip}");
        }
        assert!(set(&["0.0.0.0/0"]).contains_text("8.8.8.8"));
        assert!(!set(&["0.0.0.0/0"]).contains_text("::1"));
        assert!(NetSet::default().is_empty());
        assert!(!NetSet::default().contains_text("203.0.113.7"));
    }

    #[test]
    fn bad_entries_are_errors() {
        for bad in [
            "203.0.113.300",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "2001:db8::/129",
            "::ffff:10.0.0.0/90",
            "evil.example.com",
            "10.0.0.0/8/8",
        ] {
            assert!(Net::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Net::parse("198.51.100.77/24").unwrap(),
            Net {
                addr: "198.51.100.0".parse().unwrap(),
                prefix: 24
            }
        );
    }

    #[test]
    fn lists_with_comments() {
        let text =
            "# feed of 2026-11-29\n203.0.113.7\n\n198.51.100.0/24   # scanner\n  2001:db8::/32\n";
        assert_eq!(
            parse_list(text).unwrap(),
            ["203.0.113.7", "198.51.100.0/24", "2001:db8::/32"]
        );
        let (line, e) = parse_list("203.0.113.7\nbad.host\n").unwrap_err();
        assert_eq!(line, 2);
        assert!(e.to_string().contains("\"bad.host\""));
        assert!(parse_list("# nothing\n\n").unwrap().is_empty());
    }
}
