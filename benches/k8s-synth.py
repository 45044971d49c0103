#!/usr/bin/env python3
"""Writes a Vigil cluster snapshot of N pods in the shapes a real API server returns.

    benches/k8s-synth.py PODS OUT.json [--naked]

The cluster: PODS/50 namespaces, each with 10 Deployments of 5 replicas (Deployment ->
ReplicaSet -> Pod, with ownerReferences as the controllers set them), a Service per
Deployment (one in ten a LoadBalancer, one in twenty behind an Ingress), ServiceAccounts,
a Role and RoleBinding per namespace, NetworkPolicies in half the namespaces, ConfigMaps
(keys only) and Secrets (metadata only) as `vigil k8s snapshot` stores them, plus cluster
RBAC and nodes. Pods carry what the API server adds: uid, resourceVersion,
creationTimestamp, the projected service-account token volume, tolerations, status with
conditions and container statuses. With --naked no pod has an owner, so every pod is
checked on its own (the worst case for the scan).
"""
import json, sys, uuid

pods_wanted = int(sys.argv[1])
out = sys.argv[2]
naked = "--naked" in sys.argv[3:]
rng_uuid = uuid.UUID(int=0)
counter = 0


def uid():
    global counter
    counter += 1
    return str(uuid.UUID(int=counter))


TS = "2026-11-20T08:15:42Z"


def meta(name, ns=None, labels=None, owner=None, annotations=None):
    m = {"name": name, "uid": uid(), "resourceVersion": str(100000 + counter), "creationTimestamp": TS}
    if ns:
        m["namespace"] = ns
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    if owner:
        m["ownerReferences"] = [{"apiVersion": owner[0], "kind": owner[1], "name": owner[2], "uid": owner[3],
                                 "controller": True, "blockOwnerDeletion": True}]
    return m


def containers(app, i):
    hardened = i % 3 == 0
    app_c = {
        "name": app,
        "image": f"registry.example.com/team-{i % 7}/{app}:1.{i % 20}.{i % 5}" + ("@sha256:" + "%064x" % i if hardened else ""),
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}},
        ] + ([{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}}] if i % 4 == 1 else []),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}} if i % 2 == 0 else {},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/app"},
            {"name": "kube-api-access", "readOnly": True, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
        ],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1,
                          "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"}, "timeoutSeconds": 1,
                           "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": ({"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                             "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True}
                            if hardened else ({"privileged": True} if i % 50 == 7 else {})),
    }
    sidecar = {
        "name": "envoy",
        "image": "docker.io/envoyproxy/envoy:v1.31.2",
        "imagePullPolicy": "IfNotPresent",
        "args": ["-c", "/etc/envoy/envoy.yaml"],
        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
    }
    return [app_c, sidecar]


def pod_spec(app, ns, i, sa):
    spec = {
        "volumes": [
            {"name": "config", "configMap": {"name": f"{app}-config", "defaultMode": 420}},
            {"name": "kube-api-access", "projected": {"sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ], "defaultMode": 420}},
        ] + ([{"name": "host", "hostPath": {"path": "/var/log", "type": ""}}] if i % 25 == 3 else []),
        "containers": containers(app, i),
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst",
        "serviceAccountName": sa,
        "serviceAccount": sa,
        "securityContext": ({"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}} if i % 3 == 0 else {}),
        "schedulerName": "default-scheduler",
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
        ],
        "priority": 0,
        "enableServiceLinks": True,
        "preemptionPolicy": "PreemptLowerPriority",
    }
    if i % 10 == 4:
        spec["automountServiceAccountToken"] = False
    return spec


items = []
namespaces = max(1, pods_wanted // 50)
pods = 0
nodes = max(3, pods_wanted // 100)
for n in range(nodes):
    items.append({"apiVersion": "v1", "kind": "Node", "metadata": meta(f"node-{n}", labels={"kubernetes.io/hostname": f"node-{n}", "node.kubernetes.io/instance-type": "m5.xlarge"}),
                  "spec": {"podCIDR": f"10.{n // 256}.{n % 256}.0/24", "providerID": f"aws:///eu-west-1a/i-{n:017x}"},
                  "status": {"nodeInfo": {"kubeletVersion": "v1.31.2-eks-7f9249a", "containerRuntimeVersion": "containerd://1.7.22", "osImage": "Amazon Linux 2023", "kernelVersion": "6.1.109"}}})
for k in range(namespaces):
    ns = f"team-{k}"
    labels = {"kubernetes.io/metadata.name": ns}
    if k % 3 == 0:
        labels["pod-security.kubernetes.io/enforce"] = "baseline"
    items.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, labels=labels), "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    items.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("default", ns)})
    items.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta("app", ns)})
    items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta("app", ns),
                  "rules": [{"apiGroups": [""], "resources": ["configmaps", "pods"], "verbs": ["get", "list", "watch"]},
                            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"], "resourceNames": ["app-tls"]}]})
    items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta("app", ns),
                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app"},
                  "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}]})
    if k % 2 == 0:
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("default-deny", ns),
                      "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}})
    for d in range(10):
        if pods >= pods_wanted:
            break
        i = k * 10 + d
        app = f"svc-{d}"
        sa = "app" if d % 2 else "default"
        tpl_labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/instance": f"{app}-{ns}"}
        dep_uid = uid()
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": dict(meta(app, ns, labels=tpl_labels, annotations={"deployment.kubernetes.io/revision": "3"}), uid=dep_uid),
               "spec": {"replicas": 5, "selector": {"matchLabels": tpl_labels},
                        "template": {"metadata": {"labels": tpl_labels}, "spec": pod_spec(app, ns, i, sa)},
                        "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
                        "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
               "status": {"observedGeneration": 3, "replicas": 5, "updatedReplicas": 5, "readyReplicas": 5, "availableReplicas": 5}}
        rs_name = f"{app}-{i:08x}"[:20]
        rs_uid = uid()
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": dict(meta(rs_name, ns, labels=dict(tpl_labels, **{"pod-template-hash": "5d8f7c9b6"}), owner=("apps/v1", "Deployment", app, dep_uid)), uid=rs_uid),
              "spec": {"replicas": 5, "selector": {"matchLabels": tpl_labels},
                       "template": {"metadata": {"labels": tpl_labels}, "spec": pod_spec(app, ns, i, sa)}},
              "status": {"replicas": 5, "fullyLabeledReplicas": 5, "readyReplicas": 5, "availableReplicas": 5, "observedGeneration": 1}}
        if not naked:
            items += [dep, rs]
        for r in range(5):
            if pods >= pods_wanted:
                break
            owner = None if naked else ("apps/v1", "ReplicaSet", rs_name, rs_uid)
            items.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": meta(f"{rs_name}-{r:05x}", ns, labels=dict(tpl_labels, **{"pod-template-hash": "5d8f7c9b6"}), owner=owner),
                          "spec": dict(pod_spec(app, ns, i, sa), nodeName=f"node-{(i * 5 + r) % nodes}"),
                          "status": {"phase": "Running", "hostIP": "10.0.1.17", "podIP": f"10.244.{r}.{i % 256}", "qosClass": "Burstable",
                                     "startTime": TS,
                                     "conditions": [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": TS}
                                                    for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")],
                                     "containerStatuses": [{"name": c, "ready": True, "restartCount": 0, "started": True,
                                                            "image": "registry.example.com/app:1", "imageID": "registry.example.com/app@sha256:" + "%064x" % i,
                                                            "containerID": "containerd://" + "%064x" % (i * 7 + r),
                                                            "state": {"running": {"startedAt": TS}}} for c in (app, "envoy")]}})
            pods += 1
        svc_type = "LoadBalancer" if d == 3 else "ClusterIP"
        items.append({"apiVersion": "v1", "kind": "Service", "metadata": meta(app, ns, labels=tpl_labels),
                      "spec": {"type": svc_type, "selector": tpl_labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}],
                               "clusterIP": f"172.20.{k % 256}.{d}", "sessionAffinity": "None"}})
        items.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(f"{app}-config", ns), "data": {"app.yaml": "", "features.json": ""}})
        items.append({"apiVersion": "v1", "kind": "Secret", "metadata": meta(f"{app}-db", ns)})
        if d == 5 and k % 2 == 0:
            items.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta(app, ns),
                          "spec": {"ingressClassName": "nginx", "rules": [{"host": f"{app}.{ns}.example.com", "http": {"paths": [
                              {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": app, "port": {"number": 80}}}}]}}]}})
# Cluster RBAC: a few aggregated and custom roles, and some risky bindings.
items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
              "metadata": meta("cluster-admin", labels={"kubernetes.io/bootstrapping": "rbac-defaults"}),
              "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]})
items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta("monitoring"),
              "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]}, "rules": []})
items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta("secret-reader", labels={"rbac.example.com/aggregate-to-monitoring": "true"}),
              "rules": [{"apiGroups": [""], "resources": ["secrets", "pods", "nodes"], "verbs": ["get", "list", "watch"]}]})
items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta("monitoring"),
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "monitoring"},
              "subjects": [{"kind": "ServiceAccount", "name": "prometheus", "namespace": "monitoring"}]})
items.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": meta("ci-admin"),
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
              "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": "team-1"}]})

doc = {"apiVersion": "vigil.dev/v1", "kind": "ClusterSnapshot",
       "cluster": {"name": "bench", "server": "https://10.0.0.1:6443",
                   "version": {"major": "1", "minor": "31+", "gitVersion": "v1.31.2-eks-7f9249a", "platform": "linux/amd64"}},
       "takenAt": TS, "partial": [], "items": items}
with open(out, "w") as f:
    json.dump(doc, f)
print(f"{out}: {pods} pods, {len(items)} objects", file=sys.stderr)
