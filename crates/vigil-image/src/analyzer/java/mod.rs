//! Java archives (`.jar`, `.war`, `.ear`, and the `.jpi`/`.hpi` Jenkins plugins, `.par`
//! and `.sar` variants), read in memory with the `zip` crate, with the archives nested in
//! them (`WEB-INF/lib/*.jar`, Spring Boot's `BOOT-INF/lib/*.jar`, the modules of an ear).
//!
//! Each archive is identified as Trivy's jar parser does offline, in this order:
//! 1. every `META-INF/maven/<group>/<artifact>/pom.properties` is a package
//!    `group:artifact` at `version`; shaded jars carry their dependencies' files too, and
//!    those are reported as well;
//! 2. when none of those files is the archive's own (its artifactId is the file name's or
//!    the manifest's `Implementation-Title`, or its version the manifest's, OSGi's `1.3.0`
//!    matching Maven's `1.3`, or it is the only one and the manifest names no version), `META-INF/MANIFEST.MF` names the archive (see [`manifest::Manifest::coords`])
//!    — with files from step 1 present, only when the manifest declares a version;
//! 3. the file name fills what the manifest lacks: `commons-lang3-3.12.0.jar` is
//!    `commons-lang3` at `3.12.0`, without a group (Trivy asks Maven Central for one;
//!    Vigil stays offline).
//!
//! An archive that names nothing (`app.jar` with only a `Main-Class`) is no package.
//! `Bundle-License` from the manifest goes to the archive's own package.

mod coords;
mod manifest;

use super::{AnalyzeError, Analyzer, FileInfo, Found};
use coords::Coords;
use manifest::Manifest;
use std::collections::HashSet;
use std::io::{Cursor, Read, Seek};
use vigil_core::{Ecosystem, Package};
use zip::ZipArchive;

/// Reads Java archives and the archives inside them.
pub struct JavaArchive {
    bounds: Bounds,
}

impl JavaArchive {
    /// The analyzer under `limits`: everything inflated out of one top-level archive (its
    /// entries and the archives nested in them, all held in memory while read) may total
    /// twice `--max-file-size`, the bound on what is read of one file. Compressed archives
    /// are seldom under half their inflated size, and a bomb stops at the budget.
    pub fn new(limits: &crate::Limits) -> JavaArchive {
        JavaArchive {
            bounds: Bounds {
                max_inflated: limits.max_file_bytes.saturating_mul(2),
                ..Bounds::DEFAULT
            },
        }
    }
}

/// File name extensions of Java archives, top-level and nested.
const EXTENSIONS: [&str; 7] = ["jar", "war", "ear", "jpi", "hpi", "par", "sar"];

impl Analyzer for JavaArchive {
    fn name(&self) -> &'static str {
        "java-archive"
    }

    fn version(&self) -> u32 {
        1
    }

    fn required(&self, file: &FileInfo<'_>) -> bool {
        is_archive(file.file_name())
    }

    fn analyze(&self, file: &FileInfo<'_>, content: &[u8]) -> Result<Found, AnalyzeError> {
        analyze_with(file, content, &self.bounds)
    }
}

/// Bounds on one top-level archive and everything nested in it, so that a zip bomb, a
/// deep nest or an archive of millions of entries costs bounded memory and time.
#[derive(Debug, Clone)]
struct Bounds {
    /// Most levels of archives inside the top-level one (an ear's war's jar is level 2).
    max_depth: u32,
    /// Most decompressed bytes read from all entries together. Nested archives are held in
    /// memory while read, so this also bounds the memory they take.
    max_inflated: u64,
    /// Most zip entries, counted over all nested archives.
    max_entries: u64,
    /// Largest `pom.properties` or `MANIFEST.MF` read (real ones are a few kilobytes).
    max_metadata: u64,
    /// Most packages reported from one top-level archive.
    max_packages: usize,
}

impl Bounds {
    const DEFAULT: Bounds = Bounds {
        max_depth: 4,
        max_inflated: 512 << 20,
        max_entries: 1_000_000,
        max_metadata: 1 << 20,
        max_packages: 50_000,
    };
}

fn analyze_with(
    file: &FileInfo<'_>,
    content: &[u8],
    bounds: &Bounds,
) -> Result<Found, AnalyzeError> {
    let mut walk = Walk {
        bounds,
        inflated: 0,
        entries: 0,
        seen: HashSet::new(),
        found: Found::default(),
        stopped: None,
    };
    let top = Level {
        path: format!("/{}", file.path.trim_start_matches('/')),
        file_name: file.file_name(),
        nested: false,
        depth: 0,
    };
    walk.archive(content, &top).map_err(AnalyzeError::new)?;
    if let Some(reason) = walk.stopped {
        walk.found.warnings.push(format!(
            "stopped reading the archive: {reason}; the packages listed are only those found before"
        ));
    }
    Ok(walk.found)
}

/// True for a file name with a Java archive extension.
fn is_archive(name: &str) -> bool {
    name.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e))
    })
}

/// One archive being read: where it is and how deep.
struct Level<'a> {
    /// Image path with a leading `/`, nested ones joined with `!/`
    /// (`/app/a.war!/WEB-INF/lib/b.jar`).
    path: String,
    /// The archive's own file name, for the file-name fallback.
    file_name: &'a str,
    /// False for the file the walk handed over (its packages keep an empty location, so
    /// the walk fills it in with the layer).
    nested: bool,
    depth: u32,
}

/// State shared by a top-level archive and all archives nested in it.
struct Walk<'b> {
    bounds: &'b Bounds,
    inflated: u64,
    entries: u64,
    /// (name, version) already reported from this top-level archive.
    seen: HashSet<(String, String)>,
    found: Found,
    /// Why reading stopped early, once a bound was reached.
    stopped: Option<String>,
}

/// Why an entry was not read.
enum ReadError {
    /// Larger than the per-entry cap.
    TooLarge,
    /// The decompression budget of the whole archive is spent.
    Budget,
    /// The zip crate could not read it (corrupt data, encryption, unsupported method).
    Zip(String),
}

impl Walk<'_> {
    /// Reads one archive and, recursively, those nested in it. An error means nothing in
    /// this archive could be read; problems with parts of it become warnings.
    fn archive(&mut self, bytes: &[u8], level: &Level<'_>) -> Result<(), String> {
        let mut zip = ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| format!("not a readable zip archive: {e}"))?;
        self.entries = self.entries.saturating_add(zip.len() as u64);
        if self.entries > self.bounds.max_entries {
            self.stop(format!(
                "more than {} zip entries in all (at {})",
                self.bounds.max_entries, level.path
            ));
            return Ok(());
        }
        let mut poms = Vec::new();
        let mut manifest_index = None;
        let mut nested = Vec::new();
        for i in 0..zip.len() {
            let name = match zip.name_for_index(i) {
                Some(Ok(name)) => name,
                _ => continue,
            };
            if name.ends_with('/') {
                continue;
            }
            if coords::is_pom_properties(&name) {
                poms.push((i, name.into_owned()));
            } else if name.eq_ignore_ascii_case("META-INF/MANIFEST.MF") {
                manifest_index = Some(i);
            } else if is_archive(name.rsplit('/').next().unwrap_or(&name)) {
                nested.push((i, name.into_owned()));
            }
        }

        let mut pom_coords = Vec::new();
        for (i, entry) in &poms {
            match self.read_text(&mut zip, *i) {
                Ok(text) => match coords::pom_properties(entry, &text) {
                    Ok(c) => pom_coords.push(c),
                    Err(reason) => self.warn(format!("{}!/{entry}: {reason}", level.path)),
                },
                Err(ReadError::Budget) => return Ok(()),
                Err(e) => self.warn_read(&level.path, entry, e),
            }
        }
        let manifest = match manifest_index {
            Some(i) => match self.read_text(&mut zip, i) {
                Ok(text) => Manifest::parse(&text),
                Err(ReadError::Budget) => return Ok(()),
                Err(e) => {
                    self.warn_read(&level.path, "META-INF/MANIFEST.MF", e);
                    Manifest::default()
                }
            },
            None => Manifest::default(),
        };
        self.identify(level, &pom_coords, &manifest);

        if !nested.is_empty() && level.depth >= self.bounds.max_depth {
            self.warn(format!(
                "{}: archives nested more than {} levels deep were not read ({})",
                level.path,
                self.bounds.max_depth,
                nested.len()
            ));
            return Ok(());
        }
        for (i, entry) in nested {
            if self.stopped.is_some() {
                break;
            }
            let bytes = match self.read_entry(&mut zip, i, self.bounds.max_inflated) {
                Ok(bytes) => bytes,
                Err(ReadError::Budget) => break,
                Err(e) => {
                    self.warn_read(&level.path, &entry, e);
                    continue;
                }
            };
            let inner = Level {
                path: format!("{}!/{entry}", level.path),
                file_name: entry.rsplit('/').next().unwrap_or(&entry),
                nested: true,
                depth: level.depth + 1,
            };
            if let Err(reason) = self.archive(&bytes, &inner) {
                self.warn(format!("{}: {reason}", inner.path));
            }
        }
        Ok(())
    }

    /// Adds the packages one archive names, in the order the module documentation gives.
    fn identify(&mut self, level: &Level<'_>, poms: &[Coords], manifest: &Manifest) {
        let file = coords::file_name(level.file_name);
        let manifest_version = manifest.version();
        let title = manifest.get("Implementation-Title");
        let own = poms
            .iter()
            .position(|p| {
                p.artifact == file.artifact && file.version.is_none_or(|v| v == p.version)
            })
            .or_else(|| poms.iter().position(|p| Some(p.artifact.as_str()) == title))
            .or_else(|| {
                let mv = manifest_version?;
                poms.iter()
                    .position(|p| coords::same_version(&p.version, mv))
            })
            .or_else(|| (poms.len() == 1 && manifest_version.is_none()).then_some(0));
        let licenses = manifest.licenses();
        for (i, c) in poms.iter().enumerate() {
            let own_licenses = if own == Some(i) {
                licenses.clone()
            } else {
                Vec::new()
            };
            self.add(level, c, own_licenses);
        }
        if own.is_some() || (!poms.is_empty() && manifest_version.is_none()) {
            return;
        }
        match manifest.coords(file) {
            Some(c) => self.add(level, &c, licenses),
            None => tracing::debug!(path = %level.path, "java archive names no package"),
        }
    }

    fn add(&mut self, level: &Level<'_>, c: &Coords, licenses: Vec<String>) {
        if self.stopped.is_some() {
            return;
        }
        let name = c.name();
        if !self.seen.insert((name.clone(), c.version.clone())) {
            return;
        }
        if self.found.packages.len() >= self.bounds.max_packages {
            self.stop(format!("more than {} packages", self.bounds.max_packages));
            return;
        }
        let location = if level.nested {
            level.path.as_str()
        } else {
            ""
        };
        let mut pkg = Package::new(
            Ecosystem::Maven,
            name,
            c.version.clone(),
            "java-archive",
            location,
        );
        pkg.licenses = licenses;
        self.found.packages.push(pkg);
    }

    /// Reads a metadata entry as text (lossy: coordinates are ASCII in practice).
    fn read_text<R: Read + Seek>(
        &mut self,
        zip: &mut ZipArchive<R>,
        index: usize,
    ) -> Result<String, ReadError> {
        let bytes = self.read_entry(zip, index, self.bounds.max_metadata)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Decompresses one entry, at most `cap` bytes and within the archive's budget. The
    /// size the entry declares is not trusted: the bytes actually produced are counted.
    fn read_entry<R: Read + Seek>(
        &mut self,
        zip: &mut ZipArchive<R>,
        index: usize,
        cap: u64,
    ) -> Result<Vec<u8>, ReadError> {
        let left = self.bounds.max_inflated.saturating_sub(self.inflated);
        let limit = cap.min(left);
        let entry = zip
            .by_index(index)
            .map_err(|e| ReadError::Zip(e.to_string()))?;
        if entry.size() > cap {
            return Err(ReadError::TooLarge);
        }
        if entry.size() > left {
            self.stop(self.budget_spent());
            return Err(ReadError::Budget);
        }
        let mut buf = Vec::new();
        let read = entry.take(limit.saturating_add(1)).read_to_end(&mut buf);
        self.inflated = self.inflated.saturating_add(buf.len() as u64);
        read.map_err(|e| ReadError::Zip(e.to_string()))?;
        if buf.len() as u64 > limit {
            if limit < cap {
                self.stop(self.budget_spent());
                return Err(ReadError::Budget);
            }
            return Err(ReadError::TooLarge);
        }
        Ok(buf)
    }

    fn budget_spent(&self) -> String {
        let n = self.bounds.max_inflated;
        if n.is_multiple_of(1 << 20) {
            format!("more than {} MiB decompressed", n >> 20)
        } else {
            format!("more than {} KiB decompressed", n >> 10)
        }
    }

    fn warn_read(&mut self, archive: &str, entry: &str, e: ReadError) {
        let reason = match e {
            ReadError::TooLarge => "too large; not read".to_string(),
            ReadError::Budget => return,
            ReadError::Zip(e) => format!("unreadable: {e}"),
        };
        self.warn(format!("{archive}!/{entry}: {reason}"));
    }

    fn warn(&mut self, message: String) {
        // Bounded like the packages: a hostile archive may hold a million broken entries.
        if self.found.warnings.len() < 100 {
            self.found.warnings.push(message);
        } else if self.found.warnings.len() == 100 {
            self.found
                .warnings
                .push("more problems in this archive were not listed".to_string());
        }
    }

    fn stop(&mut self, reason: String) {
        if self.stopped.is_none() {
            self.stopped = Some(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java() -> JavaArchive {
        JavaArchive::new(&crate::Limits::default())
    }
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    fn file(path: &str) -> FileInfo<'_> {
        FileInfo {
            path,
            size: 0,
            mode: 0o644,
        }
    }

    /// A zip with the given (name, content) entries, deflated.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        zip_with(CompressionMethod::Deflated, entries)
    }

    fn zip_with(method: CompressionMethod, entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(method);
        for (name, content) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(content).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    fn pom(g: &str, a: &str, v: &str) -> (String, Vec<u8>) {
        (
            format!("META-INF/maven/{g}/{a}/pom.properties"),
            format!("groupId={g}\nartifactId={a}\nversion={v}\n").into_bytes(),
        )
    }

    fn names(found: &Found) -> Vec<(String, String, String)> {
        found
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.location.path.clone()))
            .collect()
    }

    #[test]
    fn which_files() {
        let a = java();
        for p in [
            "app.jar",
            "opt/x.WAR",
            "a/b.ear",
            "p.hpi",
            "p.jpi",
            "x.sar",
            "x.par",
        ] {
            assert!(a.required(&file(p)), "{p}");
        }
        for p in ["jar", "a/.jar", "x.jar.sha1", "x.zip", "usr/lib/jar/x.txt"] {
            assert!(!a.required(&file(p)), "{p}");
        }
    }

    #[test]
    fn shaded_jar_reports_all_and_its_own_manifest_identity() {
        let (cglib, cglib_props) = pom("cglib", "cglib", "3.2.12");
        let jar = zip(&[
            (
                "META-INF/MANIFEST.MF",
                b"Bundle-License: Apache-2.0\nBundle-SymbolicName: com.google.inject\nBundle-Version: 4.2.3\n",
            ),
            (&cglib, &cglib_props),
        ]);
        let found = java()
            .analyze(&file("usr/share/java/guice.jar"), &jar)
            .unwrap();
        assert_eq!(
            names(&found),
            [
                ("cglib:cglib".into(), "3.2.12".into(), "/".into()),
                ("com.google.inject:guice".into(), "4.2.3".into(), "/".into()),
            ]
        );
        assert!(found.packages[0].licenses.is_empty());
        assert_eq!(found.packages[1].licenses, ["Apache-2.0"]);
        assert_eq!(
            found.packages[1].purl,
            "pkg:maven/com.google.inject/guice@4.2.3"
        );
    }

    #[test]
    fn own_pom_found_by_file_name_or_manifest_version() {
        let (own, own_props) = pom("org.apache.commons", "commons-lang3", "3.12.0");
        let (dep, dep_props) = pom("org.ow2.asm", "asm", "9.1");
        let manifest: &[u8] = b"Implementation-Title: Apache Commons Lang\nImplementation-Version: 3.12.0\nBundle-License: Apache-2.0\n";
        let jar = zip(&[
            ("META-INF/MANIFEST.MF", manifest),
            (&dep, &dep_props),
            (&own, &own_props),
        ]);
        for name in ["x/commons-lang3-3.12.0.jar", "x/renamed.jar"] {
            let found = java().analyze(&file(name), &jar).unwrap();
            let got: Vec<_> = found.packages.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(
                got,
                ["org.ow2.asm:asm", "org.apache.commons:commons-lang3"],
                "{name}"
            );
            assert_eq!(found.packages[1].licenses, ["Apache-2.0"]);
        }
        // Renamed, one pom.properties, no manifest version: that one is the archive.
        let single = zip(&[(&own, &own_props)]);
        let found = java().analyze(&file("app.jar"), &single).unwrap();
        assert_eq!(found.packages.len(), 1);
    }

    #[test]
    fn osgi_bundle_version_matches_the_pom() {
        // Debian's geronimo-annotation-1.3-spec.jar: pom version 1.3, Bundle-Version 1.3.0.
        let (p, props) = pom(
            "org.apache.geronimo.specs",
            "geronimo-annotation_1.3_spec",
            "1.3",
        );
        let jar = zip(&[
            (
                "META-INF/MANIFEST.MF",
                b"Bundle-SymbolicName: org.apache.geronimo.specs.geronimo-annotation_1.3\n _spec;singleton=true\nBundle-Version: 1.3.0\n",
            ),
            (&p, &props),
        ]);
        let found = java()
            .analyze(
                &file("usr/share/java/geronimo-annotation-1.3-spec.jar"),
                &jar,
            )
            .unwrap();
        assert_eq!(
            names(&found),
            [(
                "org.apache.geronimo.specs:geronimo-annotation_1.3_spec".into(),
                "1.3".into(),
                "/".into()
            )]
        );
    }

    #[test]
    fn file_name_fallback_and_nameless_archives() {
        let jar = zip(&[("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n")]);
        let found = java()
            .analyze(&file("lib/aopalliance-1.0.jar"), &jar)
            .unwrap();
        assert_eq!(
            names(&found),
            [("aopalliance".into(), "1.0".into(), "/".into())]
        );
        let found = java().analyze(&file("lib/app.jar"), &jar).unwrap();
        assert!(found.is_empty());
    }

    #[test]
    fn nested_archives_get_bang_paths_and_are_deduplicated() {
        let (a, a_props) = pom("org.slf4j", "slf4j-api", "1.7.32");
        let lib = zip(&[(&a, &a_props)]);
        let (w, w_props) = pom("com.example", "shop", "1.0");
        let war = zip(&[
            (&w, &w_props),
            ("WEB-INF/lib/slf4j-api-1.7.32.jar", &lib),
            ("WEB-INF/lib/copy-of-slf4j.jar", &lib),
        ]);
        let ear = zip(&[("shop.war", &war), ("lib/slf4j-api.jar", &lib)]);
        let found = java().analyze(&file("srv/app.ear"), &ear).unwrap();
        assert_eq!(
            names(&found),
            [
                (
                    "com.example:shop".into(),
                    "1.0".into(),
                    "/srv/app.ear!/shop.war".into()
                ),
                (
                    "org.slf4j:slf4j-api".into(),
                    "1.7.32".into(),
                    "/srv/app.ear!/shop.war!/WEB-INF/lib/slf4j-api-1.7.32.jar".into()
                ),
            ]
        );
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    }

    /// Six archives, each inside the next, each with its own pom.properties.
    fn russian_doll(levels: usize) -> Vec<u8> {
        let mut inner: Option<Vec<u8>> = None;
        for level in (0..levels).rev() {
            let (p, props) = pom("doll", &format!("level{level}"), "1");
            let mut entries: Vec<(&str, &[u8])> = vec![(&p, &props)];
            if let Some(bytes) = &inner {
                entries.push(("lib/inner.jar", bytes));
            }
            inner = Some(zip(&entries));
        }
        inner.unwrap()
    }

    #[test]
    fn nesting_stops_at_the_depth_limit_with_a_warning() {
        let found = java().analyze(&file("doll.jar"), &russian_doll(7)).unwrap();
        let got: Vec<_> = found.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            got,
            [
                "doll:level0",
                "doll:level1",
                "doll:level2",
                "doll:level3",
                "doll:level4"
            ]
        );
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(
            found.warnings[0].contains("nested more than 4 levels deep were not read (1)"),
            "{:?}",
            found.warnings
        );
    }

    #[test]
    fn decompression_budget_stops_a_bomb_and_says_so() {
        // A nested jar holding 64 KiB of stored zeros deflates to a few hundred bytes in
        // the outer one; ten of them exceed a 256 KiB budget.
        let zeros = vec![0u8; 64 << 10];
        let bomb = zip_with(CompressionMethod::Stored, &[("padding.bin", &zeros)]);
        let (p, props) = pom("real", "first", "1");
        let mut entries: Vec<(String, Vec<u8>)> = vec![(p, props)];
        for i in 0..10 {
            entries.push((format!("BOOT-INF/lib/bomb{i}.jar"), bomb.clone()));
        }
        let refs: Vec<(&str, &[u8])> = entries
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        let outer = zip(&refs);
        assert!(outer.len() < 20 << 10);
        // The budget is twice --max-file-size: 128 KiB read per file, 256 KiB inflated.
        let limits = crate::Limits {
            max_file_bytes: 128 << 10,
            ..crate::Limits::default()
        };
        let found = JavaArchive::new(&limits)
            .analyze(&file("bomb.jar"), &outer)
            .unwrap();
        assert_eq!(found.packages.len(), 1);
        assert_eq!(found.warnings.len(), 1, "{:?}", found.warnings);
        assert!(found.warnings[0].contains("more than 256 KiB decompressed"));
        assert!(found.warnings[0].contains("only those found before"));
        // Under the default limits the same archive is read whole.
        let found = java().analyze(&file("bomb.jar"), &outer).unwrap();
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    }

    #[test]
    fn lying_sizes_and_entry_counts_are_bounded() {
        // A metadata entry larger than the cap is skipped with a warning.
        let big = vec![b'#'; 2 << 20];
        let (p, _) = pom("a", "b", "1");
        let jar = zip(&[(&p, &big)]);
        let found = java().analyze(&file("x.jar"), &jar).unwrap();
        assert!(found.packages.is_empty());
        assert!(
            found.warnings[0].contains("too large"),
            "{:?}",
            found.warnings
        );

        let many: Vec<(String, Vec<u8>)> = (0..50).map(|i| (format!("f{i}"), Vec::new())).collect();
        let refs: Vec<(&str, &[u8])> = many
            .iter()
            .map(|(n, c)| (n.as_str(), c.as_slice()))
            .collect();
        let jar = zip(&refs);
        let bounds = Bounds {
            max_entries: 10,
            ..Bounds::DEFAULT
        };
        let found = analyze_with(&file("x.jar"), &jar, &bounds).unwrap();
        assert!(found.warnings[0].contains("more than 10 zip entries"));
    }

    #[test]
    fn corrupt_archives_are_errors_or_warnings_never_panics() {
        assert!(java().analyze(&file("x.jar"), b"").is_err());
        assert!(
            java()
                .analyze(&file("x.jar"), b"PK\x03\x04garbage")
                .is_err()
        );
        // A broken nested archive is a warning naming it; the rest is still read.
        let (p, props) = pom("a", "b", "1");
        let jar = zip(&[(&p, &props), ("WEB-INF/lib/broken.jar", b"not a zip")]);
        let found = java().analyze(&file("w.war"), &jar).unwrap();
        assert_eq!(found.packages.len(), 1);
        assert!(
            found.warnings[0].starts_with("/w.war!/WEB-INF/lib/broken.jar: not a readable zip"),
            "{:?}",
            found.warnings
        );
        // Every truncation and many single-byte corruptions of a nested archive.
        let doll = russian_doll(3);
        for cut in 0..doll.len() {
            let _ = java().analyze(&file("d.jar"), &doll[..cut]);
        }
        for i in (0..doll.len()).step_by(3) {
            let mut bad = doll.clone();
            bad[i] ^= 0x5a;
            let _ = java().analyze(&file("d.jar"), &bad);
        }
    }
}
