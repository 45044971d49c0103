//! The watched paths: which opens the kernel reports.
//!
//! The BPF side keeps them in a longest-prefix-match trie over path bytes, so an open is
//! filtered in the kernel with one lookup and unwatched opens (most of them) never reach
//! user space. A directory entry (ending in `/`) matches everything below it; a file
//! entry matches that path only, because its key includes the path's terminating NUL.
//!
//! Paths are matched as the process passed them: a relative path, `//` or `/./` inside
//! it, or a symlink is not resolved first (a later slice can add resolved paths).

use crate::wire::{PATH_KEY_SIZE, WATCH_PATH_MAX};

/// The paths watched when none are given: credentials, sudoers, SSH keys, the kubelet's
/// and service accounts' Kubernetes credentials, the preload list.
pub const DEFAULT_WATCHES: &[&str] = &[
    "/etc/shadow",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d/",
    "/etc/passwd",
    "/root/.ssh/",
    "/var/lib/kubelet/kubeconfig",
    "/etc/kubernetes/",
    "/var/run/secrets/kubernetes.io/",
    "/run/secrets/kubernetes.io/",
    "/etc/ld.so.preload",
];

/// A watched path that cannot go into the table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// Not starting with `/`.
    #[error("watched path {0:?} is not absolute")]
    NotAbsolute(String),
    /// Longer than the kernel compares.
    #[error("watched path {0:?} is longer than {max} bytes", max = WATCH_PATH_MAX - 1)]
    TooLong(String),
    /// With a NUL byte inside.
    #[error("watched path {0:?} contains a NUL byte")]
    Nul(String),
}

/// One entry of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The path as given.
    pub path: String,
    /// Everything below a directory (`true`, the path ends in `/`) or this path only.
    pub prefix: bool,
}

/// The watched paths, in the order given: an open event names its entry by index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchTable {
    entries: Vec<Watch>,
}

impl WatchTable {
    /// The table of [`DEFAULT_WATCHES`].
    pub fn defaults() -> WatchTable {
        WatchTable::new(DEFAULT_WATCHES.iter().copied()).unwrap_or_default()
    }

    /// A table of the given paths; duplicates are kept once.
    pub fn new<'a>(paths: impl IntoIterator<Item = &'a str>) -> Result<WatchTable, WatchError> {
        let mut entries: Vec<Watch> = Vec::new();
        for p in paths {
            if !p.starts_with('/') {
                return Err(WatchError::NotAbsolute(p.to_string()));
            }
            if p.contains('\0') {
                return Err(WatchError::Nul(p.to_string()));
            }
            // An exact entry's key holds the NUL as well.
            if p.len() + 1 > WATCH_PATH_MAX {
                return Err(WatchError::TooLong(p.to_string()));
            }
            if entries.iter().any(|e| e.path == p) {
                continue;
            }
            entries.push(Watch {
                path: p.to_string(),
                prefix: p.ends_with('/'),
            });
        }
        Ok(WatchTable { entries })
    }

    /// The entries, by index.
    pub fn entries(&self) -> &[Watch] {
        &self.entries
    }

    /// Entry `index` (an open event's `watch`).
    pub fn get(&self, index: u32) -> Option<&Watch> {
        self.entries.get(index as usize)
    }

    /// The LPM trie's (key, value) pairs: key = prefix length in bits (u32) and the path
    /// bytes (with the NUL for an exact entry), zero-padded; value = the entry's index.
    pub fn keys(&self) -> Vec<([u8; PATH_KEY_SIZE], [u8; 4])> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| (key(e), (i as u32).to_ne_bytes()))
            .collect()
    }
}

fn key(e: &Watch) -> [u8; PATH_KEY_SIZE] {
    let mut k = [0u8; PATH_KEY_SIZE];
    let bytes = e.path.as_bytes();
    // Entries were length-checked when the table was built; the NUL is the zero padding.
    let len = bytes.len().min(WATCH_PATH_MAX - 1) + usize::from(!e.prefix);
    let bits = (len as u32) * 8;
    for (dst, src) in k.iter_mut().zip(bits.to_ne_bytes()) {
        *dst = src;
    }
    for (dst, src) in k.iter_mut().skip(4).zip(bytes) {
        *dst = *src;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's longest-prefix match, done by hand over the keys.
    fn lookup(table: &WatchTable, path: &str) -> Option<u32> {
        let mut data = [0xAAu8; WATCH_PATH_MAX];
        data[..path.len()].copy_from_slice(path.as_bytes());
        data[path.len()] = 0;
        table
            .keys()
            .iter()
            .filter(|(k, _)| {
                let bits = u32::from_ne_bytes(k[..4].try_into().unwrap()) as usize;
                k[4..4 + bits / 8] == data[..bits / 8]
            })
            .max_by_key(|(k, _)| u32::from_ne_bytes(k[..4].try_into().unwrap()))
            .map(|(_, v)| u32::from_ne_bytes(*v))
    }

    #[test]
    fn exact_and_prefix() {
        let t = WatchTable::defaults();
        let idx = |p: &str| t.entries().iter().position(|e| e.path == p).unwrap() as u32;
        assert_eq!(lookup(&t, "/etc/shadow"), Some(idx("/etc/shadow")));
        assert_eq!(lookup(&t, "/etc/shadow-"), None);
        assert_eq!(lookup(&t, "/etc/shado"), None);
        assert_eq!(lookup(&t, "/etc/sudoers"), Some(idx("/etc/sudoers")));
        assert_eq!(
            lookup(&t, "/etc/sudoers.d/90-cloud"),
            Some(idx("/etc/sudoers.d/"))
        );
        assert_eq!(
            lookup(&t, "/root/.ssh/authorized_keys"),
            Some(idx("/root/.ssh/"))
        );
        assert_eq!(
            lookup(&t, "/var/run/secrets/kubernetes.io/serviceaccount/token"),
            Some(idx("/var/run/secrets/kubernetes.io/"))
        );
        assert_eq!(lookup(&t, "/etc/hosts"), None);
        assert_eq!(lookup(&t, "/root/.sshx"), None);
    }

    #[test]
    fn longest_prefix_wins() {
        let t =
            WatchTable::new(["/etc/", "/etc/kubernetes/", "/etc/kubernetes/admin.conf"]).unwrap();
        assert_eq!(lookup(&t, "/etc/hosts"), Some(0));
        assert_eq!(lookup(&t, "/etc/kubernetes/pki/ca.key"), Some(1));
        assert_eq!(lookup(&t, "/etc/kubernetes/admin.conf"), Some(2));
    }

    #[test]
    fn key_layout() {
        let t = WatchTable::new(["/etc/passwd", "/root/"]).unwrap();
        let keys = t.keys();
        assert_eq!(
            u32::from_ne_bytes(keys[0].0[..4].try_into().unwrap()),
            12 * 8
        );
        assert_eq!(&keys[0].0[4..16], b"/etc/passwd\0");
        assert_eq!(
            u32::from_ne_bytes(keys[1].0[..4].try_into().unwrap()),
            6 * 8
        );
        assert_eq!(keys[1].1, 1u32.to_ne_bytes());
    }

    #[test]
    fn rejects() {
        assert!(matches!(
            WatchTable::new(["etc/shadow"]),
            Err(WatchError::NotAbsolute(_))
        ));
        assert!(matches!(
            WatchTable::new(["/a\0b"]),
            Err(WatchError::Nul(_))
        ));
        let long = format!("/{}", "a".repeat(254));
        assert!(WatchTable::new([long.as_str()]).is_ok());
        let long = format!("/{}", "a".repeat(255));
        assert!(matches!(
            WatchTable::new([long.as_str()]),
            Err(WatchError::TooLong(_))
        ));
        assert_eq!(WatchTable::new(["/x", "/x"]).unwrap().entries().len(), 1);
    }
}
