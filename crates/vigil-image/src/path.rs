//! Paths inside an image: normalized so that none can name anything outside the root.

/// Normalizes a path from a tar header or a link target to the form the walk uses:
/// relative to the image root, no leading `/` or `./`, no empty, `.` or `..` components.
///
/// `..` at the root stays at the root, as it does in a chroot, so a hostile entry such as
/// `../../etc/passwd` becomes `etc/passwd` inside the image and never escapes it.
/// Returns an empty string for the root itself.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Resolves a link target relative to the folder holding the link (`dir`), or to the
/// root when the target is absolute. The result is normalized.
pub fn join_link(dir: &str, target: &str) -> String {
    if target.starts_with('/') || dir.is_empty() {
        normalize(target)
    } else {
        normalize(&format!("{dir}/{target}"))
    }
}

/// The folder part of a normalized path (`""` for top-level entries).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map(|(d, _)| d).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_leaves_the_root() {
        assert_eq!(normalize("./etc//os-release"), "etc/os-release");
        assert_eq!(normalize("/../../etc/passwd"), "etc/passwd");
        assert_eq!(normalize("a/b/../../../c"), "c");
        assert_eq!(normalize("."), "");
        assert_eq!(
            join_link("etc", "../usr/lib/os-release"),
            "usr/lib/os-release"
        );
        assert_eq!(join_link("usr/bin", "/../../bin/sh"), "bin/sh");
        assert_eq!(join_link("", "x"), "x");
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }
}
