#!/usr/bin/env python3
"""Writes N Kubernetes audit events as gzip JSON lines, in the mix real clusters log.

    benches/audit-synth.py N OUT.jsonl.gz

About 90% controllers and kubelets reading (get/list/watch on leases, pods, configmaps,
endpoints, nodes), 8% writes by controllers (lease renewals, status updates), and 2% user
activity (kubectl get/create, a few exec sessions), each event at Metadata or Request level
with the fields the API server writes. RequestReceived copies are not included (audit
policies usually omit that stage).
"""
import gzip, json, random, sys

n, out = int(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
controllers = [
    ("system:kube-controller-manager", ["system:authenticated"], "kube-controller-manager/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election"),
    ("system:kube-scheduler", ["system:authenticated"], "kube-scheduler/v1.31.2 (linux/amd64) kubernetes/5864a46/leader-election"),
    ("system:serviceaccount:kube-system:coredns", ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"], "coredns/v1.11.3 (linux/amd64) kubernetes/$Format"),
] + [(f"system:node:node-{i}", ["system:nodes", "system:authenticated"], "kubelet/v1.31.2 (linux/amd64) kubernetes/5864a46") for i in range(20)]
reads = [("leases", "kube-node-lease", "coordination.k8s.io"), ("pods", "shop", ""), ("configmaps", "kube-system", ""),
         ("endpointslices", "shop", "discovery.k8s.io"), ("nodes", None, ""), ("secrets", "shop", "")]
users = [("alice@example.com", ["devs", "system:authenticated"]), ("bob@example.com", ["ops", "system:authenticated"])]


def event(i, user, groups, ua, verb, resource, ns, group, name=None, sub=None, code=200, req=None):
    path = ("/apis/" + group + "/v1" if group else "/api/v1") + (f"/namespaces/{ns}" if ns else "") + f"/{resource}" + (f"/{name}" if name else "") + (f"/{sub}" if sub else "")
    if verb in ("list", "watch"):
        path += "?resourceVersion=48213&timeout=7m12s" + ("&watch=true" if verb == "watch" else "")
    obj = {"resource": resource, "apiVersion": "v1"}
    if group:
        obj["apiGroup"] = group
    if ns:
        obj["namespace"] = ns
    if name:
        obj["name"] = name
    if sub:
        obj["subresource"] = sub
    e = {"kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Request" if req else "Metadata",
         "auditID": "%08x-%04x-4%03x-8%03x-%012x" % (i, i % 65536, i % 4096, (i * 7) % 4096, i * 13),
         "stage": "ResponseComplete", "requestURI": path, "verb": verb,
         "user": {"username": user, "groups": groups}, "sourceIPs": ["10.0.%d.%d" % (i % 256, (i * 3) % 256)],
         "userAgent": ua, "objectRef": obj, "responseStatus": {"metadata": {}, "code": code},
         "requestReceivedTimestamp": "2026-11-29T12:%02d:%02d.%06dZ" % ((i // 60000) % 60, (i // 1000) % 60, i % 1000000),
         "stageTimestamp": "2026-11-29T12:%02d:%02d.%06dZ" % ((i // 60000) % 60, (i // 1000) % 60, (i + 37) % 1000000),
         "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"system:node\" of ClusterRole \"system:node\" to Group \"system:nodes\""}}
    if req:
        e["requestObject"] = req
    return e


with gzip.open(out, "wt", compresslevel=6) as f:
    for i in range(n):
        r = rng.random()
        if r < 0.90:
            user, groups, ua = rng.choice(controllers)
            res, ns, grp = rng.choice(reads)
            verb = rng.choice(["get", "get", "list", "watch"])
            e = event(i, user, groups, ua, verb, res, ns, grp, name=("node-%d" % (i % 20)) if verb == "get" else None)
        elif r < 0.98:
            user, groups, ua = rng.choice(controllers)
            e = event(i, user, groups, ua, rng.choice(["update", "patch"]), "leases", "kube-node-lease", "coordination.k8s.io", name="node-%d" % (i % 20))
        else:
            user, groups = rng.choice(users)
            k = rng.random()
            if k < 0.5:
                e = event(i, user, groups, "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46", "get", "pods", "shop", "", name="web-%d" % (i % 9))
            elif k < 0.9:
                e = event(i, user, groups, "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46", "create", "pods", "shop", "", code=201,
                          req={"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "dbg-%d" % i},
                               "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "securityContext": {"privileged": i % 50 == 0}}]}})
            else:
                e = event(i, user, groups, "kubectl/v1.31.2 (linux/amd64) kubernetes/5864a46", "create", "pods", "shop", "", name="web-0", sub="exec", code=101)
        f.write(json.dumps(e, separators=(",", ":")))
        f.write("\n")
print(f"{out}: {n} events", file=sys.stderr)
