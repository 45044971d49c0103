//! Maven coordinates from `pom.properties` and from archive file names.

/// A Maven artifact: `group:artifact` at `version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Coords {
    /// `groupId`; `None` when only a file name or a bare manifest named the archive.
    pub group: Option<String>,
    /// `artifactId`.
    pub artifact: String,
    /// `version`.
    pub version: String,
}

impl Coords {
    /// The package name Vigil reports: `group:artifact`, or `artifact` without a group.
    pub fn name(&self) -> String {
        match &self.group {
            Some(g) => format!("{g}:{}", self.artifact),
            None => self.artifact.clone(),
        }
    }
}

/// True for `META-INF/maven/<group>/<artifact>/pom.properties`, the file the Maven archiver
/// writes into every artifact it builds (and that shading copies along).
pub(super) fn is_pom_properties(entry: &str) -> bool {
    entry
        .strip_prefix("META-INF/maven/")
        .and_then(|rest| rest.strip_suffix("/pom.properties"))
        .is_some_and(|ga| ga.split('/').count() == 2)
}

/// Reads `groupId`, `artifactId` and `version` from a `pom.properties` file. The folder
/// names (`META-INF/maven/<group>/<artifact>/`) stand in for a missing group or artifact;
/// the version has no such fallback.
pub(super) fn pom_properties(entry: &str, text: &str) -> Result<Coords, String> {
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in super::super::lines(text) {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        // java.util.Properties: the key ends at the first `=`, `:` or blank.
        let Some(end) = line.find(['=', ':', ' ', '\t']) else {
            continue;
        };
        let (key, rest) = line.split_at(end);
        let value = rest
            .trim_start_matches([' ', '\t'])
            .trim_start_matches(['=', ':'])
            .trim();
        if value.is_empty() {
            continue;
        }
        match key {
            "groupId" => group = Some(value.to_string()),
            "artifactId" => artifact = Some(value.to_string()),
            "version" => version = Some(value.to_string()),
            _ => {}
        }
    }
    let mut dirs = entry
        .strip_prefix("META-INF/maven/")
        .unwrap_or_default()
        .split('/');
    let (dir_group, dir_artifact) = (dirs.next(), dirs.next());
    let group = group.or_else(|| dir_group.filter(|g| !g.is_empty()).map(str::to_string));
    let artifact = artifact.or_else(|| dir_artifact.filter(|a| !a.is_empty()).map(str::to_string));
    match (group, artifact, version) {
        (Some(group), Some(artifact), Some(version)) => Ok(Coords {
            group: Some(group),
            artifact,
            version,
        }),
        (_, _, None) => Err("no version".to_string()),
        _ => Err("no groupId or artifactId".to_string()),
    }
}

/// What an archive's file name says: `commons-lang3-3.12.0.jar` is artifact
/// `commons-lang3` at version `3.12.0`; `guice.jar` (Debian drops versions) is `guice`
/// without a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileName<'a> {
    /// The name without the version and extension.
    pub artifact: &'a str,
    /// The version, when the name carries one.
    pub version: Option<&'a str>,
}

/// Splits a file name as Trivy's pattern `^(.*[^-])-(\d\S*)\.jar$` does: the version starts
/// at the last `-` that a digit follows (`guava-31.1-jre.jar` is `guava` at `31.1-jre`,
/// `log4j-1.2-api-2.17.1.jar` is `log4j-1.2-api` at `2.17.1`).
pub(super) fn file_name(name: &str) -> FileName<'_> {
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    let split = stem.rmatch_indices('-').map(|(i, _)| i).find(|&i| {
        i > 0
            && stem
                .get(i + 1..)
                .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    });
    match split.and_then(|i| Some((stem.get(..i)?, stem.get(i + 1..)?))) {
        Some((artifact, version)) if !artifact.ends_with('-') => FileName {
            artifact,
            version: Some(version),
        },
        _ => FileName {
            artifact: stem,
            version: None,
        },
    }
}

/// True when two versions are the same as Maven writes them or as the bundle plugin
/// rewrites them for OSGi manifests (`1.3` is `1.3.0`, `31.1-jre` is `31.1.0.jre`).
pub(super) fn same_version(a: &str, b: &str) -> bool {
    a == b || osgi(a) == osgi(b)
}

/// The OSGi form `major.minor.micro[.qualifier]` of a Maven version.
fn osgi(version: &str) -> String {
    let mut numbers: Vec<u64> = Vec::new();
    let mut rest = version;
    while numbers.len() < 3 {
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let Some(n) = rest.get(..end).and_then(|d| d.parse().ok()) else {
            break;
        };
        numbers.push(n);
        rest = rest.get(end..).unwrap_or_default();
        match rest.strip_prefix('.') {
            Some(r) if r.starts_with(|c: char| c.is_ascii_digit()) => rest = r,
            _ => break,
        }
    }
    numbers.resize(3, 0);
    let qualifier = rest.trim_start_matches(['.', '-', '_']);
    let mut out = format!(
        "{}.{}.{}",
        numbers.first().unwrap_or(&0),
        numbers.get(1).unwrap_or(&0),
        numbers.get(2).unwrap_or(&0)
    );
    if !qualifier.is_empty() {
        out.push('.');
        out.push_str(qualifier);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pom_properties_forms() {
        let entry = "META-INF/maven/org.apache.commons/commons-lang3/pom.properties";
        assert!(is_pom_properties(entry));
        assert!(!is_pom_properties("META-INF/maven/x/pom.properties"));
        assert!(!is_pom_properties("WEB-INF/classes/pom.properties"));
        let c = pom_properties(
            entry,
            "#Generated by Maven\n#Fri Oct 01\nartifactId=commons-lang3\ngroupId = org.apache.commons\r\nversion: 3.12.0\n",
        );
        assert_eq!(
            c.as_ref().map(Coords::name).as_deref(),
            Ok("org.apache.commons:commons-lang3")
        );
        assert_eq!(c.map(|c| c.version).as_deref(), Ok("3.12.0"));
        // The folder names stand in for missing keys; a missing version does not.
        let dirs = pom_properties(entry, "version=1.0\n");
        assert_eq!(
            dirs.map(|c| c.name()).as_deref(),
            Ok("org.apache.commons:commons-lang3")
        );
        assert!(pom_properties(entry, "groupId=a\nartifactId=b\n").is_err());
        assert!(pom_properties(entry, "version=\n").is_err());
    }

    #[test]
    fn osgi_versions() {
        assert!(same_version("1.3", "1.3.0"));
        assert!(same_version("31.1-jre", "31.1.0.jre"));
        assert!(same_version("2.0-SNAPSHOT", "2.0.0.SNAPSHOT"));
        assert!(same_version("4.2.3", "4.2.3"));
        assert!(!same_version("3.2.12", "4.2.3"));
        assert!(!same_version("1.3", "1.3.1"));
        assert!(same_version("x", "x"));
    }

    #[test]
    fn file_names() {
        let f = |n| {
            let f = file_name(n);
            (f.artifact, f.version)
        };
        assert_eq!(
            f("commons-lang3-3.12.0.jar"),
            ("commons-lang3", Some("3.12.0"))
        );
        assert_eq!(f("guava-31.1-jre.jar"), ("guava", Some("31.1-jre")));
        assert_eq!(
            f("log4j-1.2-api-2.17.1.jar"),
            ("log4j-1.2-api", Some("2.17.1"))
        );
        assert_eq!(
            f("spring-core-5.3.4-SNAPSHOT.jar"),
            ("spring-core", Some("5.3.4-SNAPSHOT"))
        );
        assert_eq!(f("jsr305-0.1~+svn49.jar"), ("jsr305", Some("0.1~+svn49")));
        assert_eq!(f("guice.jar"), ("guice", None));
        assert_eq!(f("-1.0.jar"), ("-1.0", None));
        assert_eq!(f("a--1.0.jar"), ("a--1.0", None));
        assert_eq!(f("noext"), ("noext", None));
    }
}
