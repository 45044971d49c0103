//! What the lock-file analyzers share: collecting packages with their dev flag, capped
//! warnings, lenient serde field types (one odd record becomes a warning, not a failed
//! file) and the YAML parser settings.

use super::Found;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;
use vigil_core::{Ecosystem, Package};

/// Most packages kept from one lock file (real ones hold a few thousand).
pub(crate) const MAX_PACKAGES: usize = 200_000;
/// Most warnings kept from one file; the rest are counted in a last one.
const MAX_WARNINGS: usize = 50;

/// Packages found in one lock file, one per (name, version): a package is dev-only when
/// every occurrence of it is (npm nests the same version at several places).
pub(crate) struct Collector {
    ecosystem: Ecosystem,
    found_by: &'static str,
    /// name -> version -> dev
    seen: BTreeMap<String, BTreeMap<String, bool>>,
    count: usize,
    cap: usize,
    warnings: Vec<String>,
    dropped_warnings: usize,
    over_cap: usize,
}

impl Collector {
    pub(crate) fn new(ecosystem: Ecosystem, found_by: &'static str) -> Collector {
        Collector {
            ecosystem,
            found_by,
            seen: BTreeMap::new(),
            count: 0,
            cap: MAX_PACKAGES,
            warnings: Vec::new(),
            dropped_warnings: 0,
            over_cap: 0,
        }
    }

    /// Records a package; an empty name or version is a warning naming `place` (built only
    /// then: lock files hold many thousands of packages).
    pub(crate) fn add(&mut self, place: &dyn Fn() -> String, name: &str, version: &str, dev: bool) {
        let (name, version) = (name.trim(), version.trim());
        if name.is_empty() || version.is_empty() {
            self.warn(format!("{}: no package name or version", place()));
            return;
        }
        if let Some(d) = self.seen.get_mut(name).and_then(|v| v.get_mut(version)) {
            *d = *d && dev;
            return;
        }
        if self.count >= self.cap {
            self.over_cap += 1;
            return;
        }
        self.count += 1;
        self.seen
            .entry(name.to_string())
            .or_default()
            .insert(version.to_string(), dev);
    }

    /// Records a problem that makes the answer partial.
    pub(crate) fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.dropped_warnings += 1;
        }
    }

    /// The packages (sorted by name and version) and the warnings.
    pub(crate) fn finish(mut self) -> Found {
        if self.dropped_warnings > 0 {
            self.warnings
                .push(format!("{} more problems not shown", self.dropped_warnings));
        }
        if self.over_cap > 0 {
            self.warnings.push(format!(
                "more than {} packages; {} left out",
                self.cap, self.over_cap
            ));
        }
        let mut packages = Vec::with_capacity(self.count);
        for (name, versions) in self.seen {
            for (version, dev) in versions {
                let mut p = Package::new(self.ecosystem, name.clone(), version, self.found_by, "");
                p.dev = dev;
                packages.push(p);
            }
        }
        Found {
            packages,
            warnings: self.warnings,
            ..Found::default()
        }
    }
}

/// True if any folder of `path` is `node_modules`: lock files there belong to installed
/// dependencies (their own development locks), not to the application, and Trivy skips
/// them too.
pub(crate) fn under_node_modules(path: &str) -> bool {
    path.split('/').rev().skip(1).any(|c| c == "node_modules")
}

/// Parser settings for YAML lock files. The budget grows with the input (every node and
/// event needs at least one byte of it), so a large real lock file fits while aliases,
/// anchors and nesting stay bounded.
pub(crate) fn yaml_options(input_len: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = budget.max_events.max(input_len.saturating_add(64));
    budget.max_nodes = budget.max_nodes.max(input_len.saturating_add(64));
    budget.max_total_scalar_bytes = budget.max_total_scalar_bytes.max(input_len);
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// A scalar read as text whatever its type; anything else (a map, a list) is `None`.
///
/// Used for every string field of a lock-file record so that one record of the wrong shape
/// is reported on its own instead of failing the whole file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub Option<String>);

impl Text {
    pub(crate) fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Text, A::Error> {
                while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Text, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// A boolean that is `true` only when the file says `true`; any other value is `false`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Flag, D::Error> {
        let t = Text::deserialize(d)?;
        Ok(Flag(t.as_deref() == Some("true")))
    }
}

/// A record that should be a map: read as `T` when it is one, kept as [`Lenient::Bad`]
/// (to be reported) when it is a scalar or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lenient<T> {
    /// The record as expected.
    Ok(T),
    /// What was found instead of a map.
    Bad(&'static str),
}

impl<T> Default for Lenient<T> {
    fn default() -> Self {
        Lenient::Bad("nothing")
    }
}

impl<T> Lenient<T> {
    pub(crate) fn ok(&self) -> Option<&T> {
        match self {
            Lenient::Ok(t) => Some(t),
            Lenient::Bad(_) => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Lenient<T>, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Lenient<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(m)).map(Lenient::Ok)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Lenient<T>, A::Error> {
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Lenient::Bad("a list"))
            }
            fn visit_str<E>(self, _: &str) -> Result<Lenient<T>, E> {
                Ok(Lenient::Bad("a string"))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lenient<T>, E> {
                Ok(Lenient::Bad("a boolean"))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Lenient<T>, E> {
                Ok(Lenient::Bad("a number"))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Lenient<T>, E> {
                Ok(Lenient::Bad("a number"))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lenient<T>, E> {
                Ok(Lenient::Bad("a number"))
            }
            fn visit_unit<E>(self) -> Result<Lenient<T>, E> {
                Ok(Lenient::Bad("null"))
            }
            fn visit_none<E>(self) -> Result<Lenient<T>, E> {
                Ok(Lenient::Bad("null"))
            }
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

/// A map of name to scalar (`dependencies` of lock records), lenient in its values.
pub(crate) type TextMap = Lenient<BTreeMap<String, Text>>;

/// The entries of a [`TextMap`] that are strings; empty when it is not a map.
pub(crate) fn text_entries(map: &TextMap) -> impl Iterator<Item = (&str, &str)> {
    map.ok()
        .into_iter()
        .flat_map(|m| m.iter())
        .filter_map(|(k, v)| Some((k.as_str(), v.as_deref()?)))
}

/// Test helper: a file description.
#[cfg(test)]
pub(crate) fn file(path: &str) -> super::FileInfo<'_> {
    super::FileInfo {
        path,
        size: 0,
        mode: 0o644,
    }
}

/// Test helper: `name@version` of the packages, `+dev` marking dev ones.
#[cfg(test)]
pub(crate) fn summary(found: &Found) -> Vec<String> {
    found
        .packages
        .iter()
        .map(|p| {
            format!(
                "{}@{}{}",
                p.name,
                p.version,
                if p.dev { "+dev" } else { "" }
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collector_merges_dev_and_caps() {
        let mut c = Collector::new(Ecosystem::Npm, "t");
        c.add(&|| "a".into(), "ms", "2.1.3", true);
        c.add(&|| "b".into(), "ms", "2.1.3", false);
        c.add(&|| "c".into(), "debug", "4.3.4", true);
        c.add(&|| "d".into(), "", "1", false);
        let found = c.finish();
        assert_eq!(summary(&found), ["debug@4.3.4+dev", "ms@2.1.3"]);
        assert_eq!(found.warnings, ["d: no package name or version"]);
    }

    #[test]
    fn collector_cap_is_reported() {
        let mut c = Collector::new(Ecosystem::Pypi, "t");
        c.cap = 2;
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            c.add(&|| format!("{i}"), name, "1", false);
        }
        c.add(&|| "again".into(), "a", "1", false);
        for i in 0..60 {
            c.warn(format!("w{i}"));
        }
        let found = c.finish();
        assert_eq!(summary(&found), ["a@1", "b@1"]);
        assert_eq!(found.warnings.len(), MAX_WARNINGS + 2);
        assert_eq!(
            found.warnings[MAX_WARNINGS..],
            [
                "10 more problems not shown",
                "more than 2 packages; 2 left out"
            ]
        );
    }

    #[test]
    fn node_modules_paths() {
        assert!(under_node_modules("app/node_modules/x/package-lock.json"));
        assert!(!under_node_modules("app/package-lock.json"));
        assert!(!under_node_modules("node_modules"));
    }

    #[test]
    fn lenient_types() {
        #[derive(serde::Deserialize)]
        struct R {
            a: Text,
            b: Flag,
            c: Lenient<BTreeMap<String, Text>>,
        }
        let r: R = serde_json::from_str(r#"{"a":{"x":[1]},"b":"yes","c":[1,2]}"#).unwrap();
        assert_eq!(
            (r.a, r.b, r.c),
            (Text(None), Flag(false), Lenient::Bad("a list"))
        );
        let r: R = serde_json::from_str(r#"{"a":1.5,"b":true,"c":{"k":"v"}}"#).unwrap();
        assert_eq!(r.a.as_deref(), Some("1.5"));
        assert!(r.b.0);
        assert_eq!(text_entries(&r.c).collect::<Vec<_>>(), [("k", "v")]);
    }
}
