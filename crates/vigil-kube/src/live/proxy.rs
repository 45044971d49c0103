//! Which HTTP proxy, if any, carries the requests to the API server.
//!
//! The rules are kubectl's (client-go): a `proxy-url` on the kubeconfig cluster wins;
//! otherwise `HTTPS_PROXY` (for an `https://` server) or `HTTP_PROXY` (for `http://`),
//! upper or lower case, unless `NO_PROXY` matches the API server's host; `localhost` and
//! loopback addresses are never proxied.
//!
//! kube 5 reads `HTTPS_PROXY` itself but tests `NO_PROXY` against the proxy's own address
//! instead of the API server's, so an excluded server would still be proxied; Vigil
//! therefore decides here and sets the client's proxy itself.

use std::net::IpAddr;

/// The proxy for `server` (an API server URL): `cluster_proxy` from the kubeconfig, or
/// the one the environment `env` (a variable lookup) names.
pub fn proxy_for(
    server: &http::Uri,
    cluster_proxy: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    if let Some(p) = cluster_proxy.filter(|p| !p.trim().is_empty()) {
        return Some(p.to_string());
    }
    let proxy = if server.scheme_str() == Some("http") {
        nonempty(env("HTTP_PROXY")).or_else(|| nonempty(env("http_proxy")))
    } else {
        nonempty(env("HTTPS_PROXY")).or_else(|| nonempty(env("https_proxy")))
    }?;
    let host = server.host()?.trim_start_matches('[').trim_end_matches(']');
    let port = server
        .port_u16()
        .unwrap_or(if server.scheme_str() == Some("http") {
            80
        } else {
            443
        });
    if host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    {
        return None;
    }
    let no_proxy = nonempty(env("NO_PROXY"))
        .or_else(|| nonempty(env("no_proxy")))
        .unwrap_or_default();
    if no_proxy
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .any(|entry| no_proxy_matches(entry, host, port))
    {
        return None;
    }
    Some(proxy)
}

/// One `NO_PROXY` entry against a host: `*`, an IP, a CIDR, `host`, `.suffix`,
/// `*.suffix`, each with an optional `:port` (Go's `httpproxy` rules).
fn no_proxy_matches(entry: &str, host: &str, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    let ip = host.parse::<IpAddr>().ok();
    if let Some((net, bits)) = entry.split_once('/') {
        return match (net.parse::<IpAddr>(), bits.parse::<u32>(), ip) {
            (Ok(net), Ok(bits), Some(ip)) => in_cidr(ip, net, bits),
            _ => false,
        };
    }
    if let Ok(e) = entry
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
    {
        return ip == Some(e);
    }
    let (name, entry_port) = match entry.rsplit_once(':') {
        Some((n, p)) => match p.parse::<u16>() {
            Ok(p) => (n, Some(p)),
            Err(_) => return false,
        },
        None => (entry, None),
    };
    if entry_port.is_some_and(|p| p != port) {
        return false;
    }
    let name = name.strip_prefix('*').unwrap_or(name).to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    if let Some(suffix) = name.strip_prefix('.') {
        host.ends_with(&format!(".{suffix}"))
    } else {
        host == name || host.ends_with(&format!(".{name}"))
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn proxy(server: &str, cluster: Option<&str>, vars: &[(&str, &str)]) -> Option<String> {
        proxy_for(&server.parse().unwrap(), cluster, &env(vars))
    }

    #[test]
    fn kubeconfig_proxy_url_wins_over_the_environment() {
        let vars = [("HTTPS_PROXY", "http://env:3128"), ("NO_PROXY", "*")];
        assert_eq!(
            proxy("https://api.example.com", Some("http://kc:3128"), &vars).as_deref(),
            Some("http://kc:3128")
        );
    }

    #[test]
    fn https_proxy_applies_unless_no_proxy_names_the_api_server() {
        let vars = [
            ("HTTPS_PROXY", "http://proxy:3128"),
            (
                "NO_PROXY",
                "internal.example, 10.0.0.0/8,.corp.example,api.other:6443,192.168.1.5",
            ),
        ];
        let p = |s| proxy(s, None, &vars);
        assert_eq!(
            p("https://api.example.com").as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(p("https://internal.example"), None);
        assert_eq!(p("https://k8s.internal.example:6443"), None);
        assert_eq!(p("https://10.3.4.5:6443"), None);
        assert_eq!(
            p("https://11.3.4.5:6443").as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(p("https://a.corp.example"), None);
        assert_eq!(
            p("https://corp.example").as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(p("https://api.other:6443"), None);
        assert_eq!(
            p("https://api.other:443").as_deref(),
            Some("http://proxy:3128")
        );
        assert_eq!(p("https://192.168.1.5"), None);
        // Loopback is never proxied, and http:// servers look at HTTP_PROXY.
        assert_eq!(p("https://127.0.0.1:6443"), None);
        assert_eq!(p("https://localhost:6443"), None);
        assert_eq!(p("http://api.example.com"), None);
        assert_eq!(
            proxy(
                "http://api.example.com",
                None,
                &[("http_proxy", "http://p:1")]
            )
            .as_deref(),
            Some("http://p:1")
        );
        assert_eq!(proxy("https://api.example.com", None, &[]), None);
    }
}
