//! The merged view of all layers: which paths exist in the final filesystem and which
//! analyzer results still stand once upper layers have overwritten and deleted files.

use crate::analyzer::Found;
use crate::layer::{FileResult, LayerScan, Node, Pending};
use crate::path;
use std::collections::BTreeMap;

/// A node of the final filesystem with the layer that wrote it.
#[derive(Debug, Clone)]
pub struct Placed {
    /// Index of the layer that last wrote the path.
    pub layer: usize,
    /// What is there.
    pub node: Node,
}

/// An analyzer result that survived the merge.
#[derive(Debug, Clone)]
pub struct Standing {
    /// Index of the layer the file came from.
    pub layer: usize,
    /// Index of the analyzer.
    pub analyzer: usize,
    /// What it found.
    pub found: Found,
}

/// The final filesystem, built by applying layers from the base up, overlayfs-style.
#[derive(Debug, Default)]
pub struct Merged {
    /// Every path of the final filesystem.
    pub nodes: BTreeMap<String, Placed>,
    /// Analyzer results per path.
    pub results: BTreeMap<String, Vec<Standing>>,
    /// Files skipped by the walk: path -> (layer, analyzer name, message).
    pub skipped: BTreeMap<String, (usize, String, String)>,
}

impl Merged {
    /// Applies one layer on top of those applied before it. Returns its pending link reads.
    pub fn apply(&mut self, layer: usize, scan: LayerScan) -> Vec<Pending> {
        // Whiteouts and opaque markers hide what lower layers had; entries of this same
        // layer are added afterwards, so they are never hidden by their own layer.
        for dir in &scan.opaque_dirs {
            self.remove_below(dir);
        }
        for gone in &scan.whiteouts {
            self.remove_path(gone);
            self.remove_below(gone);
        }
        let fresh = self.nodes.is_empty() && self.results.is_empty() && self.skipped.is_empty();
        if scan.distinct && fresh {
            // Nothing to replace or hide: the map is built in one go.
            self.nodes = scan
                .nodes
                .into_iter()
                .map(|(path, node)| (path, Placed { layer, node }))
                .collect();
        } else {
            for (path, node) in scan.nodes {
                if node != Node::Dir {
                    // A file or link replacing a lower folder hides everything under it.
                    self.remove_below(&path);
                }
                self.results.remove(&path);
                self.skipped.remove(&path);
                self.nodes.insert(path, Placed { layer, node });
            }
        }
        for FileResult {
            path,
            analyzer,
            found,
        } in scan.results
        {
            self.results.entry(path).or_default().push(Standing {
                layer,
                analyzer,
                found,
            });
        }
        for (path, analyzer, message) in scan.skipped {
            self.skipped.insert(path, (layer, analyzer, message));
        }
        scan.pending
    }

    /// Adds results fetched after the merge (link targets read again).
    pub fn add_results(&mut self, layer: usize, results: Vec<FileResult>) {
        for FileResult {
            path,
            analyzer,
            found,
        } in results
        {
            self.results.entry(path).or_default().push(Standing {
                layer,
                analyzer,
                found,
            });
        }
    }

    fn remove_path(&mut self, path: &str) {
        self.nodes.remove(path);
        self.results.remove(path);
        self.skipped.remove(path);
    }

    /// Removes everything strictly below folder `dir` (`""` is the root).
    fn remove_below(&mut self, dir: &str) {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        remove_prefixed(&mut self.nodes, &prefix);
        remove_prefixed(&mut self.results, &prefix);
        remove_prefixed(&mut self.skipped, &prefix);
    }

    /// Resolves `path` through symbolic links, never leaving the image root. Returns the
    /// final path if it exists, `None` for dangling links and loops (more than
    /// `max_hops` links followed).
    pub fn resolve(&self, path: &str, max_hops: u32) -> Option<String> {
        let mut hops = 0;
        let mut done: Vec<String> = Vec::new();
        let mut todo: Vec<String> = path::normalize(path)
            .split('/')
            .rev()
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        while let Some(part) = todo.pop() {
            if part == ".." {
                done.pop();
                continue;
            }
            if part == "." || part.is_empty() {
                continue;
            }
            done.push(part);
            let current = done.join("/");
            match self.nodes.get(&current).map(|p| &p.node) {
                Some(Node::Symlink(target)) => {
                    hops += 1;
                    if hops > max_hops {
                        return None;
                    }
                    done.pop();
                    if target.starts_with('/') {
                        done.clear();
                    }
                    todo.extend(target.split('/').rev().map(str::to_string));
                }
                Some(_) => {}
                // Tars need not list parent folders: a missing middle component is an
                // implied folder; a missing last one means the path does not exist.
                None if todo.iter().any(|p| !p.is_empty() && p != ".") => {}
                None => return None,
            }
        }
        let resolved = done.join("/");
        self.nodes.contains_key(&resolved).then_some(resolved)
    }
}

fn remove_prefixed<V>(map: &mut BTreeMap<String, V>, prefix: &str) {
    if prefix.is_empty() {
        map.clear();
        return;
    }
    let doomed: Vec<String> = map
        .range::<str, _>((
            std::ops::Bound::Included(prefix),
            std::ops::Bound::Unbounded,
        ))
        .take_while(|(k, _)| k.starts_with(prefix))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Node {
        Node::File {
            size: 1,
            mode: 0o644,
        }
    }

    fn scan(nodes: &[(&str, Node)]) -> LayerScan {
        LayerScan {
            nodes: nodes
                .iter()
                .map(|(p, n)| (p.to_string(), n.clone()))
                .collect(),
            ..LayerScan::default()
        }
    }

    #[test]
    fn whiteouts_and_opaque_dirs_hide_lower_layers_only() {
        let mut m = Merged::default();
        m.apply(
            0,
            scan(&[
                ("a", Node::Dir),
                ("a/x", file()),
                ("b", file()),
                ("c", Node::Dir),
                ("c/y", file()),
            ]),
        );
        let mut upper = scan(&[("a", Node::Dir), ("a/new", file())]);
        upper.opaque_dirs.push("a".into());
        upper.whiteouts.push("b".into());
        upper.whiteouts.push("c".into());
        m.apply(1, upper);
        let paths: Vec<&str> = m.nodes.keys().map(String::as_str).collect();
        assert_eq!(paths, ["a", "a/new"]);
    }

    #[test]
    fn a_file_over_a_folder_hides_its_content() {
        let mut m = Merged::default();
        m.apply(0, scan(&[("d", Node::Dir), ("d/f", file())]));
        m.apply(1, scan(&[("d", file())]));
        assert_eq!(m.nodes.keys().collect::<Vec<_>>(), ["d"]);
        assert_eq!(m.nodes.get("d").map(|p| p.layer), Some(1));
    }

    #[test]
    fn resolves_links_inside_the_root() {
        let mut m = Merged::default();
        m.apply(
            0,
            scan(&[
                ("usr", Node::Dir),
                ("usr/lib", Node::Dir),
                ("usr/lib/os-release", file()),
                ("etc", Node::Dir),
                (
                    "etc/os-release",
                    Node::Symlink("../usr/lib/os-release".into()),
                ),
                (
                    "etc/abs",
                    Node::Symlink("/../../../usr/lib/os-release".into()),
                ),
                ("lib", Node::Symlink("usr/lib".into())),
                ("loop1", Node::Symlink("loop2".into())),
                ("loop2", Node::Symlink("/loop1".into())),
                ("dangling", Node::Symlink("/nowhere".into())),
            ]),
        );
        assert_eq!(
            m.resolve("etc/os-release", 40).as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            m.resolve("etc/abs", 40).as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(
            m.resolve("lib/os-release", 40).as_deref(),
            Some("usr/lib/os-release")
        );
        assert_eq!(m.resolve("loop1", 40), None);
        assert_eq!(m.resolve("dangling", 40), None);
    }
}
