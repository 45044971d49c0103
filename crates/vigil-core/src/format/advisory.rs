//! What the vulnerability formats say about an advisory identifier: who publishes it and
//! where to read it, from the identifier's prefix.

/// The publisher of `id` and the web page of the advisory, when the prefix names a
/// database whose pages are addressed by id. Unknown prefixes give the prefix itself
/// (`ALSA-2024:1234` -> `ALSA`) and no page.
pub(crate) fn source(id: &str) -> (String, Option<String>) {
    let prefix = id.split(['-', ':']).next().unwrap_or(id);
    let (name, base) = match prefix.to_ascii_uppercase().as_str() {
        "CVE" => ("NVD", Some("https://nvd.nist.gov/vuln/detail/")),
        "GHSA" => (
            "GitHub Advisory Database",
            Some("https://github.com/advisories/"),
        ),
        "DSA" | "DLA" | "TEMP" => (
            "Debian Security Tracker",
            Some("https://security-tracker.debian.org/tracker/"),
        ),
        "PYSEC" | "RUSTSEC" | "GO" | "OSV" | "GSD" | "MAL" | "RSEC" | "PSF" | "BIT" => {
            ("OSV", Some("https://osv.dev/vulnerability/"))
        }
        _ => ("", None),
    };
    let name = if name.is_empty() {
        if prefix.is_empty() { id } else { prefix }.to_string()
    } else {
        name.to_string()
    };
    (name, base.map(|b| format!("{b}{id}")))
}

/// The page to read about a finding: its own URL, else the one its id implies.
pub(crate) fn url(id: &str, own: Option<&str>) -> Option<String> {
    own.filter(|u| !u.trim().is_empty())
        .map(str::to_string)
        .or_else(|| source(id).1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_by_prefix() {
        assert_eq!(
            source("CVE-2024-0727"),
            (
                "NVD".to_string(),
                Some("https://nvd.nist.gov/vuln/detail/CVE-2024-0727".to_string())
            )
        );
        assert_eq!(source("GHSA-xxxx-yyyy-zzzz").0, "GitHub Advisory Database");
        assert_eq!(
            source("RUSTSEC-2023-0001").1.as_deref(),
            Some("https://osv.dev/vulnerability/RUSTSEC-2023-0001")
        );
        assert_eq!(source("ALSA-2024:1234"), ("ALSA".to_string(), None));
        assert_eq!(
            url("CVE-1", Some("https://example.com/a")).as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(url("X-1", Some(" ")), None);
    }
}
