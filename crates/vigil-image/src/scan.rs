//! The image pipeline: layers are walked in parallel, merged in order, and the surviving
//! analyzer results become one [`Inventory`].

use crate::analyzer::{self, Analyzer};
use crate::error::ImageError;
use crate::layer::{LayerScan, Node, Pending, Walker};
use crate::limits::Limits;
use crate::merge::Merged;
use crate::source::ImageSource;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use vigil_core::{Ecosystem, Inventory, OsInfo, Package, Warning};

/// Reads every layer of `source` and returns the inventory of the final filesystem.
pub fn inventory(source: &dyn ImageSource, limits: &Limits) -> Result<Inventory, ImageError> {
    let analyzers = analyzer::with_limits(limits);
    let walker = Walker {
        analyzers: &analyzers,
        limits,
        total: Arc::new(AtomicU64::new(0)),
    };
    let scans = scan_layers(source, &walker)?;
    let mut merged = Merged::default();
    let mut pending: Vec<(usize, Pending)> = Vec::new();
    for (index, scan) in scans.into_iter().enumerate() {
        pending.extend(merged.apply(index, scan).into_iter().map(|p| (index, p)));
    }
    pending.extend(symlinked_wants(&merged, &analyzers, limits));
    fetch_pending(source, &walker, &mut merged, pending)?;
    Ok(build(source, &analyzers, merged))
}

/// Walks the layers on up to `available_parallelism` threads; results come back in order.
fn scan_layers(
    source: &dyn ImageSource,
    walker: &Walker<'_>,
) -> Result<Vec<LayerScan>, ImageError> {
    let count = source.meta().layers.len();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(count)
        .max(1);
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<LayerScan, ImageError>>>> =
        Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let started = std::time::Instant::now();
                    let result = source.scan_layer(i, walker);
                    if let (Ok(scan), Some(desc)) = (&result, source.meta().layers.get(i)) {
                        tracing::debug!(
                            layer = %desc.name,
                            entries = scan.nodes.len(),
                            analyzed = scan.results.len(),
                            elapsed_ms = started.elapsed().as_millis() as u64,
                            "layer read"
                        );
                    }
                    let failed = result.is_err();
                    if let Ok(mut slots) = slots.lock()
                        && let Some(slot) = slots.get_mut(i)
                    {
                        *slot = Some(result);
                    }
                    if failed {
                        // Stop handing out layers; the first error is reported.
                        next.store(count, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let slots = slots.into_inner().unwrap_or_default();
    let mut scans = Vec::with_capacity(count);
    for (i, slot) in slots.into_iter().enumerate() {
        match slot {
            Some(Ok(scan)) => scans.push(scan),
            Some(Err(e)) => return Err(e),
            None => {
                return Err(ImageError::CorruptLayer {
                    layer: format!("#{i}"),
                    reason: "not read because an earlier layer failed".into(),
                });
            }
        }
    }
    Ok(scans)
}

/// Symbolic links an analyzer wants whose target it did not read: the target's bytes are
/// fetched and analyzed under the link's path. (Targets the analyzer also wants, such as
/// both os-release paths, are already covered.)
fn symlinked_wants(
    merged: &Merged,
    analyzers: &[Box<dyn Analyzer>],
    limits: &Limits,
) -> Vec<(usize, Pending)> {
    let mut out = Vec::new();
    for (path, placed) in &merged.nodes {
        if !matches!(placed.node, Node::Symlink(_)) {
            continue;
        }
        let Some(target) = merged.resolve(path, limits.max_symlink_hops) else {
            continue;
        };
        let Some(found_at) = merged.nodes.get(&target) else {
            continue;
        };
        let Node::File { size, mode } = found_at.node else {
            continue;
        };
        let info = analyzer::FileInfo { path, size, mode };
        let done: HashSet<usize> = merged
            .results
            .get(&target)
            .map(|r| r.iter().map(|s| s.analyzer).collect())
            .unwrap_or_default();
        for (i, a) in analyzers.iter().enumerate() {
            if a.required(&info) && !done.contains(&i) {
                out.push((
                    found_at.layer,
                    Pending {
                        source: target.clone(),
                        path: path.clone(),
                        analyzer: i,
                    },
                ));
            }
        }
    }
    out
}

/// Reads each layer that holds wanted link targets once more.
fn fetch_pending(
    source: &dyn ImageSource,
    walker: &Walker<'_>,
    merged: &mut Merged,
    pending: Vec<(usize, Pending)>,
) -> Result<(), ImageError> {
    let mut by_layer: BTreeMap<usize, Vec<Pending>> = BTreeMap::new();
    for (layer, p) in pending {
        // A link that a later layer replaced or deleted no longer matters.
        if merged.nodes.contains_key(&p.path) {
            by_layer.entry(layer).or_default().push(p);
        }
    }
    for (layer, wanted) in by_layer {
        tracing::debug!(
            layer,
            files = wanted.len(),
            "reading layer again for linked files"
        );
        let results = source.fetch(layer, walker, &wanted)?;
        merged.add_results(layer, results);
    }
    Ok(())
}

/// Turns the merged results into the inventory.
fn build(source: &dyn ImageSource, analyzers: &[Box<dyn Analyzer>], merged: Merged) -> Inventory {
    let meta = source.meta();
    let layer_digest = |i: usize| {
        meta.layers
            .get(i)
            .map(|l| l.info.digest.clone())
            .filter(|d| !d.is_empty())
    };
    let mut os_by_path: BTreeMap<String, OsInfo> = BTreeMap::new();
    let mut packages: Vec<Package> = Vec::new();
    let mut declared: Vec<Package> = Vec::new();
    let mut owned: HashSet<String> = HashSet::new();
    let mut licenses: HashMap<String, Vec<String>> = HashMap::new();
    let mut warnings: Vec<Warning> = Vec::new();
    for (path, standing) in merged.results {
        for s in standing {
            let name = analyzers.get(s.analyzer).map(|a| a.name()).unwrap_or("?");
            let found = s.found;
            if let Some(os) = found.os {
                os_by_path.insert(path.clone(), os);
            }
            for mut p in found.packages {
                if p.location.path.is_empty() || p.location.path == "/" {
                    p.location.path = format!("/{path}");
                }
                p.location.layer = layer_digest(s.layer);
                if analyzers.get(s.analyzer).is_some_and(|a| a.lock_file()) {
                    declared.push(p);
                } else {
                    packages.push(p);
                }
            }
            owned.extend(found.owned_files);
            for (pkg, l) in found.licenses {
                licenses.insert(pkg, l);
            }
            for message in found.warnings {
                warnings.push(Warning {
                    path: format!("/{path}"),
                    source: name.to_string(),
                    message,
                });
            }
        }
    }
    for (path, (_, source, message)) in merged.skipped {
        warnings.push(Warning {
            path: if path.is_empty() {
                path
            } else {
                format!("/{path}")
            },
            source,
            message,
        });
    }
    // Lock-file entries add what is declared but not installed (or not installed where
    // Vigil can see it); a package that is also installed is reported once, installed.
    let installed: HashSet<(Ecosystem, String)> = packages
        .iter()
        .map(|p| (p.ecosystem, unqualified(&p.purl).to_string()))
        .collect();
    packages.extend(
        declared
            .into_iter()
            .filter(|p| !installed.contains(&(p.ecosystem, unqualified(&p.purl).to_string()))),
    );
    let os = crate::analyzer::OS_RELEASE_PATHS
        .iter()
        .find_map(|p| os_by_path.get(*p).cloned());
    // Language packages the OS package manager installed are reported once, as OS
    // packages (as Trivy does): their files are in the dpkg/apk/rpm file lists.
    packages.retain(|p| {
        p.ecosystem.is_os() || {
            let path = p.location.path.as_str();
            !(owned.contains(path) || owned.contains(crate::path::parent(path)))
        }
    });
    for p in packages.iter_mut().filter(|p| p.ecosystem.is_os()) {
        if p.licenses.is_empty()
            && let Some(l) = licenses.get(&p.name)
        {
            p.licenses = l.clone();
        }
        p.purl = os_purl(p, os.as_ref());
    }
    packages.sort_by(|a, b| a.key().cmp(&b.key()));
    packages.dedup_by(|a, b| a.key() == b.key());
    let complete = warnings.is_empty();
    Inventory {
        schema_version: vigil_core::INVENTORY_SCHEMA_VERSION,
        target: meta.target.clone(),
        manifest_digest: meta.manifest_digest.clone(),
        image_id: meta.image_id.clone(),
        platform: meta.platform.clone(),
        os,
        layers: meta
            .layers
            .iter()
            .filter(|l| !l.info.digest.is_empty())
            .map(|l| l.info.clone())
            .collect(),
        packages,
        warnings,
        complete,
    }
}

/// A purl without its qualifiers and subpath: the package's identity.
fn unqualified(purl: &str) -> &str {
    purl.split(['?', '#']).next().unwrap_or(purl)
}

/// The purl of an OS package, with the distribution as namespace and qualifier. RPM
/// epochs go in the `epoch` qualifier, as the purl spec asks; deb versions keep theirs.
fn os_purl(p: &Package, os: Option<&OsInfo>) -> String {
    let namespace = match (p.ecosystem, os) {
        // purl names Red Hat's namespace `redhat`, not os-release's `rhel`.
        (_, Some(os)) if os.id == "rhel" => "redhat".into(),
        (_, Some(os)) => os.id.clone(),
        (Ecosystem::Deb, None) => "debian".into(),
        (Ecosystem::Apk, None) => "alpine".into(),
        _ => "unknown".into(),
    };
    let distro = os.map(OsInfo::purl_distro).unwrap_or_default();
    let arch = p.arch.clone().unwrap_or_default();
    let mut qualifiers: Vec<(&str, &str)> =
        vec![("arch", arch.as_str()), ("distro", distro.as_str())];
    let mut version = p.version.as_str();
    if p.ecosystem == Ecosystem::Rpm
        && let Some((epoch, rest)) = p.version.split_once(':')
        && epoch.bytes().all(|b| b.is_ascii_digit())
    {
        qualifiers.push(("epoch", epoch));
        version = rest;
    }
    if let Some(src) = &p.source
        && src.name != p.name
    {
        qualifiers.push(("upstream", src.name.as_str()));
    }
    vigil_core::package::purl(p.ecosystem, &p.name, version, Some(&namespace), &qualifiers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_purls_carry_the_epoch_as_a_qualifier() {
        let mut p = Package::new(Ecosystem::Rpm, "openssl-libs", "1:3.0.7-24.el9", "rpm", "");
        p.arch = Some("x86_64".into());
        p.source = Some(vigil_core::SourcePackage {
            name: "openssl".into(),
            version: "1:3.0.7-24.el9".into(),
        });
        let os = OsInfo {
            id: "rhel".into(),
            version_id: "9.3".into(),
            ..OsInfo::default()
        };
        assert_eq!(
            os_purl(&p, Some(&os)),
            "pkg:rpm/redhat/openssl-libs@3.0.7-24.el9?arch=x86_64&distro=rhel-9.3&epoch=1&upstream=openssl"
        );
    }
}
