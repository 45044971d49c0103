//! RBAC risk, on effective permissions: each subject's grants through every binding
//! (aggregated ClusterRoles included, see [`crate::rbac`]), judged against the
//! permissions that let one escape a namespace or take the cluster (CIS 5.1).
//!
//! A finding is about a subject (the service account, user or group that holds the
//! permission) and its evidence names every binding → role → rule that grants it. The
//! roles and bindings the API server makes itself (label `kubernetes.io/bootstrapping:
//! rbac-defaults`) and the subjects it runs as (`system:` users and groups, service
//! accounts in `kube-system`) are left out, except that binding anything to the public
//! groups (`system:anonymous`, `system:unauthenticated`, `system:authenticated`) is always
//! reported.

use super::{CheckInfo, Context, Family, ev};
use crate::rbac::{Grant, Permissions, Scope, Subject};
use vigil_core::{Evidence, Finding, Severity};

/// Where a permission must hold to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// Cluster-wide (a ClusterRoleBinding).
    Cluster,
    /// Cluster-wide, or for a service account a namespace other than its own.
    OtherNamespace,
    /// Anywhere.
    Anywhere,
}

/// A risky permission: any of `perms` (verb, group, resource) held with `reach`.
struct Risk {
    info: CheckInfo,
    perms: &'static [(&'static str, &'static str, &'static str)],
    reach: Reach,
    /// Whether a rule limited to `resourceNames` still counts (impersonating one user or
    /// binding one role is enough).
    named_counts: bool,
}

const WORKLOADS: &[(&str, &str, &str)] = &[
    ("create", "", "pods"),
    ("create", "", "replicationcontrollers"),
    ("create", "apps", "deployments"),
    ("create", "apps", "daemonsets"),
    ("create", "apps", "statefulsets"),
    ("create", "apps", "replicasets"),
    ("create", "batch", "jobs"),
    ("create", "batch", "cronjobs"),
];

const RISKS: &[Risk] = &[
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-read-secrets",
            title: "Can read secrets cluster-wide",
            severity: Severity::High,
            remediation: "Grant get/list/watch on secrets only in the namespaces that need it (a RoleBinding), and with resourceNames where possible.",
            controls: &["CIS-5.1.2", "NSA-rbac", "MITRE-T1552.007"],
        },
        perms: &[
            ("get", "", "secrets"),
            ("list", "", "secrets"),
            ("watch", "", "secrets"),
        ],
        reach: Reach::Cluster,
        named_counts: false,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-create-workloads",
            title: "Can create pods or workloads beyond its own namespace",
            severity: Severity::High,
            remediation: "Bind pod and workload creation with RoleBindings in the subject's own namespace; whoever creates a pod can run it as any service account of that namespace.",
            controls: &["CIS-5.1.4", "NSA-rbac", "MITRE-T1610"],
        },
        perms: WORKLOADS,
        reach: Reach::OtherNamespace,
        named_counts: false,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-exec",
            title: "Can exec into or attach to pods beyond its own namespace",
            severity: Severity::High,
            remediation: "Remove pods/exec and pods/attach from the role, or bind it only in the subject's own namespace.",
            controls: &["NSA-rbac", "MITRE-T1609"],
        },
        perms: &[
            ("create", "", "pods/exec"),
            ("get", "", "pods/exec"),
            ("create", "", "pods/attach"),
            ("get", "", "pods/attach"),
        ],
        reach: Reach::OtherNamespace,
        named_counts: false,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-escalate-bind",
            title: "Can escalate or bind roles",
            severity: Severity::High,
            remediation: "Remove the escalate and bind verbs on roles and clusterroles; they let a subject grant itself permissions it does not hold.",
            controls: &["CIS-5.1.8", "NSA-rbac", "MITRE-T1098"],
        },
        perms: &[
            ("escalate", "rbac.authorization.k8s.io", "roles"),
            ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
            ("bind", "rbac.authorization.k8s.io", "roles"),
            ("bind", "rbac.authorization.k8s.io", "clusterroles"),
        ],
        reach: Reach::Anywhere,
        named_counts: true,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-impersonate",
            title: "Can impersonate users, groups or service accounts",
            severity: Severity::High,
            remediation: "Remove the impersonate verb; an impersonator acts with the rights of whoever it names.",
            controls: &["CIS-5.1.8", "NSA-rbac", "MITRE-T1078"],
        },
        perms: &[
            ("impersonate", "", "users"),
            ("impersonate", "", "groups"),
            ("impersonate", "", "serviceaccounts"),
            ("impersonate", "authentication.k8s.io", "userextras/scopes"),
            ("impersonate", "authentication.k8s.io", "uids"),
        ],
        reach: Reach::Anywhere,
        named_counts: true,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-nodes-proxy",
            title: "Can reach the kubelet API through nodes/proxy",
            severity: Severity::High,
            remediation: "Remove nodes/proxy; the kubelet API it opens runs commands in any pod on the node, unaudited.",
            controls: &["CIS-5.1.10", "NSA-rbac", "MITRE-T1609"],
        },
        perms: &[("get", "", "nodes/proxy"), ("create", "", "nodes/proxy")],
        reach: Reach::Cluster,
        named_counts: false,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-create-token",
            title: "Can create service account tokens",
            severity: Severity::High,
            remediation: "Remove create on serviceaccounts/token; a token for a service account is that account's permissions.",
            controls: &["CIS-5.1.13", "NSA-rbac", "MITRE-T1528"],
        },
        perms: &[("create", "", "serviceaccounts/token")],
        reach: Reach::Anywhere,
        named_counts: true,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-approve-csr",
            title: "Can approve certificate signing requests",
            severity: Severity::High,
            remediation: "Remove update on certificatesigningrequests/approval; an approver can issue itself a client certificate as any user, system:masters included.",
            controls: &["CIS-5.1.11", "NSA-rbac", "MITRE-T1649"],
        },
        perms: &[
            (
                "update",
                "certificates.k8s.io",
                "certificatesigningrequests/approval",
            ),
            (
                "patch",
                "certificates.k8s.io",
                "certificatesigningrequests/approval",
            ),
        ],
        reach: Reach::Cluster,
        named_counts: false,
    },
    Risk {
        info: CheckInfo {
            id: "K8S-rbac-modify-webhooks",
            title: "Can change admission webhook configurations",
            severity: Severity::High,
            remediation: "Remove write verbs on validating and mutating webhook configurations; whoever edits them can disable policy or rewrite every object sent to the API.",
            controls: &["CIS-5.1.12", "NSA-rbac", "MITRE-T1562"],
        },
        perms: &[
            (
                "create",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
            (
                "update",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
            (
                "patch",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
            (
                "delete",
                "admissionregistration.k8s.io",
                "validatingwebhookconfigurations",
            ),
            (
                "create",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
            (
                "update",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
            (
                "patch",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
            (
                "delete",
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
            ),
        ],
        reach: Reach::Cluster,
        named_counts: false,
    },
];

const WILDCARD: CheckInfo = CheckInfo {
    id: "K8S-rbac-wildcard",
    title: "Granted a wildcard (*) verb or resource",
    severity: Severity::Medium,
    remediation: "List the verbs and resources the subject needs; a wildcard also grants every resource and verb added later.",
    controls: &["CIS-5.1.3", "NSA-rbac", "MITRE-T1078"],
};
const CLUSTER_ADMIN: CheckInfo = CheckInfo {
    id: "K8S-rbac-cluster-admin",
    title: "Holds cluster-admin (every verb on every resource)",
    severity: Severity::Critical,
    remediation: "Replace the cluster-admin binding with a role listing what the subject needs; keep cluster-admin for break-glass accounts.",
    controls: &["CIS-5.1.1", "NSA-rbac", "MITRE-T1078"],
};
const ANONYMOUS: CheckInfo = CheckInfo {
    id: "K8S-rbac-anonymous",
    title: "Anonymous or unauthenticated callers are granted permissions",
    severity: Severity::Critical,
    remediation: "Delete the binding to system:anonymous / system:unauthenticated; anyone who can reach the API server holds what it grants.",
    controls: &["CIS-5.1.1", "NSA-rbac", "MITRE-T1078.001"],
};
const AUTHENTICATED: CheckInfo = CheckInfo {
    id: "K8S-rbac-all-authenticated",
    title: "Every authenticated caller is granted permissions",
    severity: Severity::High,
    remediation: "Bind the role to the users or groups that need it instead of system:authenticated, which on managed clusters can include any account of the cloud provider.",
    controls: &["NSA-rbac", "MITRE-T1078"],
};

/// The RBAC family.
pub struct Rbac;

impl Family for Rbac {
    fn name(&self) -> &'static str {
        "rbac"
    }

    fn checks(&self) -> Vec<&'static CheckInfo> {
        let mut all: Vec<&'static CheckInfo> = RISKS.iter().map(|r| &r.info).collect();
        all.extend([&WILDCARD, &CLUSTER_ADMIN, &ANONYMOUS, &AUTHENTICATED]);
        all
    }

    fn run(&self, ctx: &Context<'_>, out: &mut Vec<Finding>) {
        let perms = Permissions::resolve(ctx.inv);
        let cluster = ctx.inv.cluster.name.as_str();
        for (subject, grants) in perms.subjects() {
            let resource = subject.resource_ref(cluster);
            let who = subject.display_name();
            if subject.is_public_group() {
                let granted: Vec<&Grant> = grants.iter().filter(|g| !g.bootstrap).collect();
                if !granted.is_empty() {
                    let check = match subject {
                        Subject::Group { name } if name == "system:authenticated" => &AUTHENTICATED,
                        _ => &ANONYMOUS,
                    };
                    out.push(check.finding(
                        &resource,
                        format!("{who} is granted {}", roles_of(&granted)),
                        evidence(&granted),
                    ));
                }
                continue;
            }
            if subject.is_system() {
                continue;
            }
            let grants: Vec<&Grant> = grants.iter().filter(|g| !g.bootstrap).collect();
            if grants.is_empty() {
                continue;
            }
            let admin: Vec<&Grant> = grants
                .iter()
                .copied()
                .filter(|g| {
                    g.scope == Scope::Cluster
                        && is_all(&g.rule.verbs)
                        && is_all(&g.rule.resources)
                        && is_all(&g.rule.api_groups)
                        && g.rule.resource_names.is_empty()
                })
                .collect();
            if !admin.is_empty() {
                // Every other risk is implied; one finding says it all.
                out.push(CLUSTER_ADMIN.finding(
                    &resource,
                    format!("{who} holds cluster-admin through {}", roles_of(&admin)),
                    evidence(&admin),
                ));
                continue;
            }
            for risk in RISKS {
                let hits: Vec<&Grant> = grants
                    .iter()
                    .copied()
                    .filter(|g| reaches(risk.reach, subject, &g.scope))
                    .filter(|g| risk.named_counts || g.rule.resource_names.is_empty())
                    .filter(|g| {
                        risk.perms
                            .iter()
                            .any(|(v, grp, res)| g.rule.allows(v, grp, res))
                    })
                    .collect();
                if !hits.is_empty() {
                    out.push(risk.info.finding(
                        &resource,
                        format!("{who} {}", lower_first(risk.info.title)),
                        evidence(&hits),
                    ));
                }
            }
            let wild: Vec<&Grant> = grants
                .iter()
                .copied()
                .filter(|g| {
                    g.rule
                        .verbs
                        .iter()
                        .chain(&g.rule.resources)
                        .any(|v| v == "*")
                })
                .collect();
            if !wild.is_empty() {
                out.push(WILDCARD.finding(
                    &resource,
                    format!("{who} is granted a wildcard through {}", roles_of(&wild)),
                    evidence(&wild),
                ));
            }
        }
    }
}

/// `Can read` → `can read`, leaving the rest (`API`) alone.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

fn is_all(list: &[String]) -> bool {
    list.iter().any(|v| v == "*")
}

fn reaches(reach: Reach, subject: &Subject, scope: &Scope) -> bool {
    match (reach, scope) {
        (_, Scope::Cluster) | (Reach::Anywhere, _) => true,
        (Reach::Cluster, Scope::Namespace(_)) => false,
        (Reach::OtherNamespace, Scope::Namespace(ns)) => {
            matches!(subject, Subject::ServiceAccount { namespace, .. } if namespace != ns)
        }
    }
}

fn roles_of(grants: &[&Grant]) -> String {
    let mut roles: Vec<&str> = grants.iter().map(|g| g.role.as_str()).collect();
    roles.sort();
    roles.dedup();
    roles.join(", ")
}

fn evidence(grants: &[&Grant]) -> Vec<Evidence> {
    grants
        .iter()
        .map(|g| {
            let scope = match &g.scope {
                Scope::Cluster => "cluster-wide".to_string(),
                Scope::Namespace(ns) => format!("namespace {ns}"),
            };
            ev(g.path(), format!("{} ({scope})", g.rule.summary()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::{findings, fired};

    fn role(kind: &str, name: &str, ns: Option<&str>, rules: &str) -> String {
        let meta = match ns {
            Some(ns) => format!("{{name: {name}, namespace: {ns}}}"),
            None => format!("{{name: {name}}}"),
        };
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nrules: {rules}\n"
        )
    }

    fn binding(
        kind: &str,
        name: &str,
        ns: Option<&str>,
        role_kind: &str,
        role: &str,
        subjects: &str,
    ) -> String {
        let meta = match ns {
            Some(ns) => format!("{{name: {name}, namespace: {ns}}}"),
            None => format!("{{name: {name}}}"),
        };
        format!(
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: {kind}\nmetadata: {meta}\nroleRef: {{apiGroup: rbac.authorization.k8s.io, kind: {role_kind}, name: {role}}}\nsubjects: {subjects}\n"
        )
    }

    fn crb(name: &str, role_name: &str, rules: &str, subjects: &str) -> String {
        [
            role("ClusterRole", role_name, None, rules),
            binding(
                "ClusterRoleBinding",
                name,
                None,
                "ClusterRole",
                role_name,
                subjects,
            ),
        ]
        .join("---\n")
    }

    const SA: &str = "[{kind: ServiceAccount, name: app, namespace: shop}]";

    #[test]
    fn each_risky_permission_fires_and_a_harmless_one_does_not() {
        let cases = [
            (
                "[{apiGroups: [''], resources: [secrets], verbs: [list]}]",
                "K8S-rbac-read-secrets",
            ),
            (
                "[{apiGroups: [apps], resources: [deployments], verbs: [create]}]",
                "K8S-rbac-create-workloads",
            ),
            (
                "[{apiGroups: [''], resources: [pods/exec], verbs: [create]}]",
                "K8S-rbac-exec",
            ),
            (
                "[{apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [bind], resourceNames: [admin]}]",
                "K8S-rbac-escalate-bind",
            ),
            (
                "[{apiGroups: [''], resources: [users], verbs: [impersonate]}]",
                "K8S-rbac-impersonate",
            ),
            (
                "[{apiGroups: [''], resources: [nodes/proxy], verbs: [get]}]",
                "K8S-rbac-nodes-proxy",
            ),
            (
                "[{apiGroups: [''], resources: [serviceaccounts/token], verbs: [create]}]",
                "K8S-rbac-create-token",
            ),
            (
                "[{apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval], verbs: [update]}]",
                "K8S-rbac-approve-csr",
            ),
            (
                "[{apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [patch]}]",
                "K8S-rbac-modify-webhooks",
            ),
            (
                "[{apiGroups: [''], resources: ['*'], verbs: [get]}]",
                "K8S-rbac-wildcard",
            ),
        ];
        for (rules, want) in cases {
            let got = fired(&Rbac, &crb("b", "r", rules, SA));
            assert!(
                got.contains(&format!("{want} ServiceAccount shop/app")),
                "{rules}: {got:?}"
            );
        }
        let harmless = crb(
            "b",
            "r",
            "[{apiGroups: [''], resources: [pods, configmaps], verbs: [get, list, watch]}, {apiGroups: [''], resources: [secrets], verbs: [get], resourceNames: [tls]}]",
            SA,
        );
        assert_eq!(fired(&Rbac, &harmless), Vec::<String>::new());
    }

    #[test]
    fn namespace_scope_matters() {
        let rules = "[{apiGroups: [''], resources: [pods, secrets], verbs: [create, get, list]}]";
        // In its own namespace: fine. In another namespace: can create pods there.
        let own = [
            role("Role", "r", Some("shop"), rules),
            binding("RoleBinding", "b", Some("shop"), "Role", "r", SA),
        ]
        .join("---\n");
        assert_eq!(fired(&Rbac, &own), Vec::<String>::new());
        let other = [
            role("Role", "r", Some("billing"), rules),
            binding("RoleBinding", "b", Some("billing"), "Role", "r", SA),
        ]
        .join("---\n");
        assert_eq!(
            fired(&Rbac, &other),
            ["K8S-rbac-create-workloads ServiceAccount shop/app"]
        );
    }

    #[test]
    fn cluster_admin_public_groups_and_system_parts() {
        // cluster-admin implies every other risk: one finding, not eleven.
        let yaml = [
            crb("ops", "cluster-admin", "[{apiGroups: ['*'], resources: ['*'], verbs: ['*']}, {nonResourceURLs: ['*'], verbs: ['*']}]", "[{kind: User, name: alice}, {kind: Group, name: 'system:masters'}, {kind: ServiceAccount, name: ctrl, namespace: kube-system}]"),
            crb("public", "viewer", "[{apiGroups: [''], resources: [pods], verbs: [get]}]", "[{kind: Group, name: 'system:unauthenticated'}, {kind: Group, name: 'system:authenticated'}]"),
        ]
        .join("---\n");
        let got = fired(&Rbac, &yaml);
        assert_eq!(
            got,
            [
                "K8S-rbac-anonymous Group system:unauthenticated",
                "K8S-rbac-cluster-admin User alice",
                "K8S-rbac-all-authenticated Group system:authenticated",
            ]
        );
        let admin = findings(&Rbac, &yaml)
            .into_iter()
            .find(|f| f.check_id == "K8S-rbac-cluster-admin")
            .unwrap();
        assert_eq!(
            admin.evidence.first().unwrap().path,
            "ClusterRoleBinding ops -> ClusterRole cluster-admin rules[0]"
        );
    }

    #[test]
    fn bootstrap_roles_are_left_out() {
        let yaml = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:discovery, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
rules: [{nonResourceURLs: [/api, /version], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:discovery, labels: {kubernetes.io/bootstrapping: rbac-defaults}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:discovery}
subjects: [{kind: Group, name: system:authenticated}]
"#;
        assert_eq!(fired(&Rbac, yaml), Vec::<String>::new());
    }
}
