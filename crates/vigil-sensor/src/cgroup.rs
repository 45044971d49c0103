//! Container ids from cgroup paths (`/proc/PID/cgroup`).
//!
//! Each runtime names the cgroup of a container after its id: containerd's CRI plugin
//! `cri-containerd-<id>.scope` (systemd driver) or `/kubepods/.../<id>` (cgroupfs driver),
//! CRI-O `crio-<id>.scope`, Docker `docker-<id>.scope` or `/docker/<id>`, Podman
//! `libpod-<id>.scope` (and `libpod-conmon-<id>.scope` for its monitor, which is not in
//! the container). An id is 64 lowercase hex digits.

/// The container id in one cgroup path, if the path is a container's.
pub fn container_id_from_path(path: &str) -> Option<&str> {
    // The innermost component that names a container wins (nested cgroups under a
    // container's scope, such as podman's `/container` leaf, are still in it).
    let mut found = None;
    let mut parent_is_runtime = false;
    for comp in path.split('/') {
        if let Some(id) = scope_id(comp) {
            found = Some(id);
        } else if parent_is_runtime && is_id(comp) {
            // cgroupfs driver: /docker/<id>, /kubepods/burstable/pod<uid>/<id>, /libpod_parent/libpod-<id>
            found = Some(comp);
        }
        parent_is_runtime = matches!(comp, "docker" | "lxc" | "machine.slice" | "libpod_parent")
            || comp.starts_with("pod")
            || comp.starts_with("kubepods");
    }
    found
}

/// `<prefix>-<id>.scope` for the runtimes' prefixes.
fn scope_id(comp: &str) -> Option<&str> {
    if comp.starts_with("libpod-conmon-") {
        return None;
    }
    let rest = comp.strip_suffix(".scope").unwrap_or(comp);
    for prefix in [
        "cri-containerd-",
        "crio-",
        "docker-",
        "libpod-",
        "containerd-",
    ] {
        if let Some(id) = rest.strip_prefix(prefix)
            && is_id(id)
        {
            return Some(id);
        }
    }
    None
}

fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The container id in a `/proc/PID/cgroup` file: the first hierarchy whose path names
/// one (cgroup v2's `0::` line, or any v1 controller's on a hybrid or v1 host).
pub fn container_id_from_cgroup_file(text: &str) -> Option<&str> {
    text.lines()
        .filter_map(|line| line.splitn(3, ':').nth(2))
        .find_map(container_id_from_path)
}

/// The cgroup v2 path in a `/proc/PID/cgroup` file (its `0::` line).
pub fn unified_path(text: &str) -> Option<&str> {
    text.lines().find_map(|line| line.strip_prefix("0::"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3f2a9c1b5e7d4f60a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718";

    #[test]
    fn runtime_layouts() {
        let cases = [
            format!(
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234_5678.slice/cri-containerd-{ID}.scope"
            ),
            format!(
                "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/crio-{ID}.scope"
            ),
            format!("/system.slice/docker-{ID}.scope"),
            format!("/docker/{ID}"),
            format!("/machine.slice/libpod-{ID}.scope"),
            format!("/machine.slice/libpod-{ID}.scope/container"),
            format!("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope"),
            format!("/kubepods/burstable/pod0f5c2b1e-1111-2222-3333-444455556666/{ID}"),
            format!("/libpod_parent/libpod-{ID}"),
        ];
        for c in &cases {
            assert_eq!(container_id_from_path(c), Some(ID), "{c}");
        }
    }

    #[test]
    fn not_containers() {
        for c in [
            "/",
            "/user.slice/user-1000.slice/session-2.scope",
            "/system.slice/containerd.service",
            "/system.slice/docker.service",
            &format!("/machine.slice/libpod-conmon-{ID}.scope"),
            "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice",
            "/docker/notanid",
            &format!("/system.slice/docker-{}.scope", &ID[..63]),
            &format!("/system.slice/docker-{}.scope", ID.to_uppercase()),
            "/process_api/b04496fe496f44935207b42b287a6c21",
        ] {
            assert_eq!(container_id_from_path(c), None, "{c}");
        }
    }

    #[test]
    fn proc_files() {
        let v2 = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(container_id_from_cgroup_file(&v2), Some(ID));
        assert_eq!(
            unified_path(&v2),
            Some(format!("/system.slice/docker-{ID}.scope").as_str())
        );
        let hybrid =
            format!("9:name=systemd:/\n4:memory:/machine.slice/libpod-{ID}.scope\n1:cpu:/\n0::/\n");
        assert_eq!(container_id_from_cgroup_file(&hybrid), Some(ID));
        assert_eq!(unified_path(&hybrid), Some("/"));
        assert_eq!(container_id_from_cgroup_file("0::/\n"), None);
        assert_eq!(container_id_from_cgroup_file("garbage\n::\n"), None);
    }
}
