//! Alpine's secdb (`secfixes` per package and release) to [`Advisory`] records.
//!
//! A secdb file says "package P was fixed for CVE C in version V" for one release and
//! repository. Each (CVE, package) becomes an affected entry `introduced 0, fixed V` in
//! ecosystem `Alpine:vX.Y`; the fix version `0` means the release was never affected.

use crate::model::{Advisory, Affected, Event, Range, RangeKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use vigil_core::VulnStatus;

/// The source name secdb advisories carry.
pub const SOURCE: &str = "alpine-secdb";

#[derive(Deserialize)]
struct SecDb {
    distroversion: String,
    #[serde(default)]
    packages: Vec<PackageEntry>,
}

#[derive(Deserialize)]
struct PackageEntry {
    pkg: Pkg,
}

#[derive(Deserialize)]
struct Pkg {
    name: String,
    #[serde(default)]
    secfixes: BTreeMap<String, Option<Vec<String>>>,
}

/// Parses one secdb YAML (or JSON) document into one advisory per vulnerability id.
pub fn parse(bytes: &[u8]) -> Result<Vec<Advisory>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| e.to_string())?;
    let db: SecDb = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let release = db.distroversion.trim();
    if !release.starts_with('v') || release.len() < 2 {
        return Err(format!("unexpected distroversion {release:?}"));
    }
    let ecosystem = format!("Alpine:{release}");
    let mut by_id: BTreeMap<String, Vec<Affected>> = BTreeMap::new();
    for PackageEntry { pkg } in db.packages {
        for (version, ids) in pkg.secfixes {
            // Entries read "CVE-2019-1 CVE-2019-2" or "CVE-2019-1 (reason)": take the ids.
            for id in ids
                .iter()
                .flatten()
                .flat_map(|line| line.split_whitespace())
            {
                if !id.contains('-') || id.starts_with('(') {
                    continue;
                }
                let affected = if version == "0" {
                    Affected {
                        ecosystem: ecosystem.clone(),
                        name: pkg.name.clone(),
                        ranges: Vec::new(),
                        versions: Vec::new(),
                        status: Some(VulnStatus::NotAffected),
                        severity: None,
                    }
                } else {
                    Affected {
                        ecosystem: ecosystem.clone(),
                        name: pkg.name.clone(),
                        ranges: vec![Range {
                            kind: RangeKind::Ecosystem,
                            events: vec![
                                Event::Introduced("0".into()),
                                Event::Fixed(version.clone()),
                            ],
                        }],
                        versions: Vec::new(),
                        status: None,
                        severity: None,
                    }
                };
                by_id.entry(id.to_owned()).or_default().push(affected);
            }
        }
    }
    Ok(by_id
        .into_iter()
        .map(|(id, affected)| Advisory {
            url: id
                .starts_with("CVE-")
                .then(|| format!("https://security.alpinelinux.org/vuln/{id}")),
            id,
            source: SOURCE.into(),
            aliases: Vec::new(),
            summary: String::new(),
            severity: None,
            cvss: Vec::new(),
            published: None,
            modified: None,
            affected,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secfixes_become_fixed_ranges_and_zero_means_not_affected() {
        let yaml = "distroversion: v3.11\nreponame: main\npackages:\n  - pkg:\n      name: musl\n      secfixes:\n        1.1.23-r2:\n          - CVE-2019-14697\n        0:\n          - CVE-2020-28928\n  - pkg:\n      name: xen\n      secfixes:\n        4.13.0-r1:\n          - CVE-2019-1 XSA-1\n";
        let advisories = parse(yaml.as_bytes()).unwrap();
        let ids: Vec<_> = advisories.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(
            ids,
            ["CVE-2019-1", "CVE-2019-14697", "CVE-2020-28928", "XSA-1"]
        );
        let musl = &advisories[1].affected[0];
        assert_eq!(musl.ecosystem, "Alpine:v3.11");
        assert_eq!(musl.ranges[0].events[1], Event::Fixed("1.1.23-r2".into()));
        assert_eq!(
            advisories[2].affected[0].status,
            Some(VulnStatus::NotAffected)
        );
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(parse(b"packages: 3").is_err());
        assert!(parse(b"distroversion: 3.11\npackages: []").is_err());
    }
}
