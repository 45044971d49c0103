//! `META-INF/MANIFEST.MF`: the identity an archive declares when it has no
//! `pom.properties` of its own, and its `Bundle-License`.

use super::coords::{Coords, FileName};

/// The main section of a manifest: (attribute, value) pairs in order.
#[derive(Debug, Default)]
pub(super) struct Manifest {
    attributes: Vec<(String, String)>,
}

/// Most attributes kept from one manifest; real ones have a few dozen.
const MAX_ATTRIBUTES: usize = 1_000;

impl Manifest {
    /// Parses the main section (it ends at the first blank line). Lines are wrapped at 72
    /// bytes, a continuation line starting with one space, so wrapped values are joined
    /// without adding anything.
    pub fn parse(text: &str) -> Manifest {
        let mut attributes: Vec<(String, String)> = Vec::new();
        for line in super::super::lines(text) {
            if line.is_empty() {
                break;
            }
            if let Some(more) = line.strip_prefix(' ') {
                if let Some((_, value)) = attributes.last_mut() {
                    value.push_str(more);
                }
            } else if let Some((key, value)) = line.split_once(':') {
                if attributes.len() >= MAX_ATTRIBUTES {
                    break;
                }
                let value = value.strip_prefix(' ').unwrap_or(value);
                attributes.push((key.trim().to_string(), value.to_string()));
            }
        }
        Manifest { attributes }
    }

    /// The trimmed value of an attribute (names are case-insensitive), if not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The version the archive declares: `Implementation-Version`, else `Bundle-Version`.
    pub fn version(&self) -> Option<&str> {
        self.get("Implementation-Version")
            .or_else(|| self.get("Bundle-Version"))
    }

    /// `Bundle-SymbolicName` without its directives (`com.x.y;singleton:=true`).
    fn symbolic_name(&self) -> Option<&str> {
        self.get("Bundle-SymbolicName")
            .and_then(|s| s.split(';').next())
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// The archive's coordinates from the manifest, gaps filled from the file name:
    /// - version: `Implementation-Version`, `Bundle-Version`, the file name's version;
    /// - artifact: `Implementation-Title` when it is one word (titles are often prose:
    ///   "Apache Commons Lang"), the file name, the last part of `Bundle-SymbolicName`;
    /// - group: `Implementation-Vendor-Id`, else `Bundle-SymbolicName`, without its last
    ///   part when that part is the end of the artifact (`org.apache.commons.lang3` for
    ///   `commons-lang3` gives `org.apache.commons`). OSGi names do not map onto Maven
    ///   groups reliably; this is a best guess, as in Trivy and Syft.
    ///
    /// `None` without an artifact and a version.
    pub fn coords(&self, file: FileName<'_>) -> Option<Coords> {
        let version = self.version().or(file.version)?;
        let symbolic = self.symbolic_name();
        let artifact = self
            .get("Implementation-Title")
            .filter(|t| !t.contains(char::is_whitespace))
            .or(Some(file.artifact).filter(|a| !a.is_empty()))
            .or_else(|| symbolic.map(|s| s.rsplit('.').next().unwrap_or(s)))?;
        let group = self
            .get("Implementation-Vendor-Id")
            .map(str::to_string)
            .or_else(|| {
                let s = symbolic?;
                Some(match s.rsplit_once('.') {
                    Some((prefix, last)) if artifact != last && artifact.ends_with(last) => {
                        prefix.to_string()
                    }
                    _ => s.to_string(),
                })
            });
        Some(Coords {
            group,
            artifact: artifact.to_string(),
            version: version.to_string(),
        })
    }

    /// Licenses from `Bundle-License`: comma-separated clauses `name;param=...` whose name
    /// is an SPDX id or a URL. A value with prose in it ("Apache License, Version 2.0")
    /// is kept whole rather than cut at its commas.
    pub fn licenses(&self) -> Vec<String> {
        let Some(value) = self.get("Bundle-License") else {
            return Vec::new();
        };
        let names: Vec<&str> = split_clauses(value)
            .into_iter()
            .map(|clause| clause.split(';').next().unwrap_or(clause).trim())
            .filter(|n| !n.is_empty())
            .collect();
        if names.iter().any(|n| n.contains(char::is_whitespace)) {
            let first = value.split(';').next().unwrap_or(value).trim();
            return vec![first.to_string()];
        }
        names.into_iter().map(str::to_string).collect()
    }
}

/// Splits at commas outside double quotes (parameters may quote URLs with commas).
fn split_clauses(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.extend(value.get(start..i));
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(value.get(start..));
    out
}

#[cfg(test)]
mod tests {
    use super::super::coords::file_name;
    use super::*;

    // The start of Debian's guice.jar manifest (libguice-java 4.2.3).
    const GUICE: &str = "Manifest-Version: 1.0\r\nCreated-By: Apache Maven 3.6.3\r\n\
Bundle-Description: Guice is a lightweight dependency injection framewor\r\n k for Java 6 and above\r\n\
Bundle-License: http://www.apache.org/licenses/LICENSE-2.0.txt\r\nBundle-Name: guice\r\n\
Bundle-SymbolicName: com.google.inject\r\nBundle-Version: 4.2.3\r\n\r\nName: com/x/\r\nImplementation-Version: 9\r\n";

    #[test]
    fn main_section_with_continuations() {
        let m = Manifest::parse(GUICE);
        assert_eq!(
            m.get("bundle-description"),
            Some("Guice is a lightweight dependency injection framework for Java 6 and above")
        );
        // Per-entry sections after the blank line are not the archive's attributes.
        assert_eq!(m.version(), Some("4.2.3"));
        assert_eq!(
            m.licenses(),
            ["http://www.apache.org/licenses/LICENSE-2.0.txt"]
        );
        let c = m.coords(file_name("guice.jar"));
        assert_eq!(
            c.map(|c| (c.name(), c.version)),
            Some(("com.google.inject:guice".into(), "4.2.3".into()))
        );
    }

    #[test]
    fn identity_order() {
        // Implementation-* win; the vendor id is the group.
        let m = Manifest::parse(
            "Implementation-Title: commons-io\nImplementation-Version: 2.11.0\nImplementation-Vendor-Id: commons-io\nBundle-SymbolicName: org.apache.commons.io\nBundle-Version: 9\n",
        );
        let c = m.coords(file_name("x-1.0.jar"));
        assert_eq!(
            c.map(|c| (c.name(), c.version)),
            Some(("commons-io:commons-io".into(), "2.11.0".into()))
        );
        // A prose title gives way to the file name; the symbolic name's last part is
        // dropped when the artifact ends with it.
        let m = Manifest::parse(
            "Implementation-Title: Apache Commons Lang\nBundle-SymbolicName: org.apache.commons.lang3;singleton:=true\nBundle-Version: 3.12.0\n",
        );
        let c = m.coords(file_name("commons-lang3.jar"));
        assert_eq!(
            c.map(|c| c.name()).as_deref(),
            Some("org.apache.commons:commons-lang3")
        );
        // Nothing but a file name: no group.
        let m = Manifest::parse("Manifest-Version: 1.0\nCreated-By: 17 (Debian)\n");
        let c = m.coords(file_name("aopalliance-1.0.jar"));
        assert_eq!(
            c.map(|c| (c.name(), c.version)),
            Some(("aopalliance".into(), "1.0".into()))
        );
        assert_eq!(m.coords(file_name("app.jar")), None);
    }

    #[test]
    fn license_forms() {
        let l = |v: &str| Manifest::parse(&format!("Bundle-License: {v}\n")).licenses();
        assert_eq!(
            l("Apache-2.0;link=\"https://a/b,c\", MIT"),
            ["Apache-2.0", "MIT"]
        );
        assert_eq!(
            l("Apache License, Version 2.0"),
            ["Apache License, Version 2.0"]
        );
        assert!(l("").is_empty());
    }
}
