//! `vigil server` as clusters and people meet it: a child process over HTTPS with tokens
//! made by `vigil server token`, data sent the way sensors, the audit webhook and
//! scanners send it, `kill -9` in the middle of ingest, and the dashboard in headless
//! Chromium against the real server.

mod common;

use common::{WAIT, certs, https_client, lines, listening_url, terminate};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;

fn vigil(data: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("VIGIL_DATA_DIR", data)
        .output()
        .unwrap()
}

/// A token made by `vigil server token create ARGS`.
fn token(data: &Path, args: &[&str]) -> String {
    let mut all = vec!["server", "token", "create"];
    all.extend_from_slice(args);
    let out = vigil(data, &all);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

struct Server {
    child: Child,
    url: String,
    _stderr: Receiver<String>,
}

impl Server {
    fn start(data: &Path, args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["server", "serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .env("VIGIL_DATA_DIR", data)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = lines(child.stderr.take().unwrap());
        let url = listening_url(&stderr);
        Server {
            child,
            url,
            _stderr: stderr,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn send(
    client: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> reqwest::Result<(u16, Value)> {
    let res = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()?;
    let status = res.status().as_u16();
    Ok((status, res.json().unwrap_or(Value::Null)))
}

fn read(client: &reqwest::blocking::Client, url: &str, token: &str) -> Value {
    let res = client.get(url).bearer_auth(token).send().unwrap();
    assert_eq!(res.status().as_u16(), 200, "{url}");
    res.json().unwrap()
}

fn exec_event(node: &str, pod: &str, time: &str) -> Value {
    json!({"kind": "exec", "time": time, "node": node, "container_id": "4f1c2a9e7b3d",
           "k8s": {"namespace": "shop", "pod": pod},
           "process": {"pid": 4242, "ppid": 4200, "name": "xmrig", "exe": "/tmp/xmrig", "uid": 0,
                       "parent": {"name": "sh", "exe": "/bin/sh"}},
           "exec": {"filename": "/tmp/xmrig", "args": ["/tmp/xmrig", "-o", "stratum+tcp://pool:3333"]}})
}

/// Everything the dashboard shows: a sensor batch with an incident's alerts, an image
/// report and a posture scan.
fn ingest_demo_data(client: &reqwest::blocking::Client, base: &str, cluster: &str) {
    let now = time::OffsetDateTime::now_utc();
    let at = |mins: i64| {
        (now - time::Duration::minutes(mins))
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let ev = exec_event("node-1", "web-7d4b9", &at(5));
    let batch = json!({"batch_id": "node-1-1", "node": "node-1", "events": [ev.clone()], "alerts": [
        {"rule_id": "RT-shell", "rule": "Terminal shell in container", "severity": "MEDIUM",
         "output": "A shell was spawned in a container (pod=shop/web-7d4b9)", "dedup_key": "sh",
         "time": at(6), "evidence": [ev.clone()], "mitre_tactic": "execution", "mitre_technique": "T1059"},
        {"rule_id": "RT-miner", "rule": "Crypto miner launched", "severity": "CRITICAL",
         "output": "A crypto miner ran (exe=/tmp/xmrig pod=shop/web-7d4b9)", "dedup_key": "xmrig",
         "description": "A process known as a crypto-currency miner started.",
         "remediation": "Kill the pod and find how the binary got in.",
         "time": at(5), "evidence": [ev], "mitre_tactic": "impact", "mitre_technique": "T1496"}
    ]});
    let (s, body) = send(
        client,
        &format!("{base}api/v1/ingest/sensor"),
        cluster,
        &batch,
    )
    .unwrap();
    assert_eq!(s, 200, "{body}");
    let image = json!({"schema_version": 1,
        "inventory": {"schema_version": 1, "complete": true,
            "target": {"kind": "registry", "reference": "registry:127.0.0.1:5000/shop/web:1.4", "name": "shop/web:1.4"},
            "manifest_digest": "sha256:5c3e0f3a7d6b9c1e2f4a8b0d6e1c3f5a7b9d0e2f4c6a8b1d3e5f7a9c0b2d4e6f",
            "os": {"id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12"},
            "packages": []},
        "matches": [{"package": {"ecosystem": "deb", "name": "openssl", "version": "3.0.11-1~deb12u1",
                     "purl": "pkg:deb/debian/openssl@3.0.11-1~deb12u1"},
                     "id": "CVE-2024-5535", "severity": "CRITICAL", "status": "fixed",
                     "fixed_versions": ["3.0.14-1~deb12u1"], "sources": ["debian-tracker"],
                     "title": "SSL_select_next_proto buffer overread"}],
        "database": {"sources": ["debian-tracker"]}});
    let (s, body) = send(
        client,
        &format!("{base}api/v1/ingest/images"),
        cluster,
        &image,
    )
    .unwrap();
    assert_eq!(s, 200, "{body}");
    let scan = json!({"schema_version": 1, "target": {"source": "cluster", "name": "prod", "objects": 42},
        "findings": [{"id": "f1", "check_id": "PSS-baseline-host-namespaces", "severity": "HIGH",
            "title": "Pod shares the host network", "remediation": "Set hostNetwork to false.",
            "controls": ["PSS:baseline"],
            "resource": {"api_version": "v1", "kind": "Pod", "namespace": "shop", "name": "web-7d4b9"},
            "evidence": [{"path": "spec.hostNetwork", "value": "true"}]}],
        "attack_paths": [{"id": "ap1", "title": "Internet to node through shop/web", "severity": "CRITICAL",
            "risk": 9.1, "steps": [{"resource": {"api_version": "v1", "kind": "Service", "namespace": "shop", "name": "web"},
                                    "description": "exposed by a LoadBalancer"}]}]});
    let (s, body) = send(
        client,
        &format!("{base}api/v1/ingest/posture"),
        cluster,
        &scan,
    )
    .unwrap();
    assert_eq!(s, 200, "{body}");
}

#[test]
fn server_over_https_with_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = certs(dir.path());
    let admin = token(&data, &["--admin"]);
    let prod = token(&data, &["--cluster", "prod"]);
    assert!(prod.starts_with("vigil_") && prod != admin);
    // A second token of the same name is refused; bad names too.
    let out = vigil(&data, &["server", "token", "create", "--cluster", "prod"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("exists already"));
    let out = vigil(&data, &["server", "token", "create", "--cluster", "../etc"]);
    assert!(!out.status.success());
    let list = vigil(&data, &["server", "token", "list"]);
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(
        list.contains("admin\tadmin") && list.contains("prod\tcluster\tprod"),
        "{list}"
    );
    assert!(!list.contains(&prod), "secrets are never listed");

    let cert = c.cert.to_str().unwrap();
    let key = c.key.to_str().unwrap();
    let server = Server::start(&data, &["--tls-cert", cert, "--tls-key", key]);
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let client = https_client(&c.ca);
    ingest_demo_data(&client, &server.url, &prod);
    let overview = read(&client, &format!("{}api/v1/overview", server.url), &admin);
    assert_eq!(overview["alerts"]["critical"], 1, "{overview}");
    assert_eq!(overview["images"], 1);
    assert_eq!(overview["active_incidents"], 1);
    let incidents = read(&client, &format!("{}api/v1/incidents", server.url), &admin);
    assert_eq!(incidents["items"][0]["alert_count"], 2, "{incidents}");
    assert_eq!(incidents["items"][0]["subject"], "pod:shop/web-7d4b9");

    // Revoked: refused from the next request on.
    let out = vigil(&data, &["server", "token", "revoke", "prod"]);
    assert!(out.status.success());
    let (s, _) = send(
        &client,
        &format!("{}api/v1/ingest/sensor", server.url),
        &prod,
        &json!({"batch_id": "x"}),
    )
    .unwrap();
    assert_eq!(s, 401);
    let mut server = server;
    assert!(terminate(&mut server.child).success());
}

/// `vigil image --server` and `vigil k8s scan --server` send their reports with the
/// cluster's token (gzip-compressed); a refused token is a clear error.
#[test]
fn scanners_send_their_results_to_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = token(&data, &["--admin"]);
    let prod = token(&data, &["--cluster", "prod"]);
    let token_file = dir.path().join("prod.token");
    std::fs::write(&token_file, format!("{prod}\n")).unwrap();
    let server = Server::start(&data, &[]);
    let base = server.url.trim_end_matches('/').to_string();
    let run = |args: &[&str], token: &str| {
        Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .env("VIGIL_TOKEN", token)
            .env("VIGIL_SERVER", &base)
            .output()
            .unwrap()
    };
    let layout = dir.path().join("layout");
    let db = dir.path().join("vulndb.sqlite");
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo");
    let out = run(
        &[
            "demo",
            "--keep",
            layout.to_str().unwrap(),
            "--format",
            "json",
        ],
        &prod,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(
        &[
            "db",
            "import",
            "--db",
            db.to_str().unwrap(),
            demo.join("advisories").to_str().unwrap(),
        ],
        &prod,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let target = format!("oci:{}:demo", layout.display());
    let out = run(
        &[
            "image",
            &target,
            "--db",
            db.to_str().unwrap(),
            "--format",
            "json",
        ],
        &prod,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("report sent to the server"));
    let manifests = demo.join("cluster.yaml");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "k8s",
            "scan",
            "-f",
            manifests.to_str().unwrap(),
            "--format",
            "json",
            "--server",
            &base,
        ])
        .arg("--token-file")
        .arg(&token_file)
        .env_remove("VIGIL_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let client = reqwest::blocking::Client::new();
    let overview = read(&client, &format!("{}api/v1/overview", server.url), &admin);
    assert_eq!(overview["images"], 1, "{overview}");
    assert!(
        overview["findings"]["critical"].as_u64().unwrap() > 0,
        "{overview}"
    );
    let clusters = read(&client, &format!("{}api/v1/clusters", server.url), &admin);
    assert_eq!(clusters[0]["name"], "prod");

    let out = run(
        &["image", &target, "--db", db.to_str().unwrap()],
        "vigil_wrong",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused it (401)"), "{err}");
}

/// `--client-ca`: a client without a certificate from that CA is turned away in the TLS
/// handshake; one with a certificate still needs its token.
#[test]
fn mutual_tls_turns_away_clients_without_a_certificate() {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let c = certs(dir.path());
    let prod = token(&data, &["--cluster", "prod"]);
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vigil clients CA");
    let clients_ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["sensor.prod".to_string()]).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "sensor.prod");
    let client_cert = client_params.signed_by(&client_key, &clients_ca).unwrap();
    let ca_file = dir.path().join("clients-ca.pem");
    std::fs::write(&ca_file, clients_ca.pem()).unwrap();

    let server = Server::start(
        &data,
        &[
            "--tls-cert",
            c.cert.to_str().unwrap(),
            "--tls-key",
            c.key.to_str().unwrap(),
            "--client-ca",
            ca_file.to_str().unwrap(),
        ],
    );
    let url = format!("{}api/v1/ingest/sensor", server.url);
    let batch = json!({"batch_id": "m1", "events": []});
    let anonymous = https_client(&c.ca);
    assert!(
        send(&anonymous, &url, &prod, &batch).is_err(),
        "no client certificate"
    );
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&c.ca).unwrap()).unwrap();
    let identity = reqwest::Identity::from_pem(
        format!("{}{}", client_cert.pem(), client_key.serialize_pem()).as_bytes(),
    )
    .unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([ca])
        .identity(identity)
        .timeout(WAIT)
        .build()
        .unwrap();
    let (status, body) = send(&client, &url, &prod, &batch).unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, _) = send(&client, &url, "vigil_wrong", &batch).unwrap();
    assert_eq!(status, 401, "the token is still checked");
}

/// `kill -9` while batches stream in: after a restart, every batch the server had
/// acknowledged is there (sending it again answers "duplicate"), and nothing is stored
/// twice.
#[test]
fn kill_9_during_ingest_loses_no_acknowledged_batch() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = token(&data, &["--admin"]);
    let prod = token(&data, &["--cluster", "prod"]);
    let mut server = Server::start(&data, &[]);
    let client = reqwest::blocking::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap();
    let batch = |n: usize| {
        let events: Vec<Value> = (0..200)
            .map(|i| {
                exec_event(
                    &format!("node-{n}"),
                    &format!("p{i}"),
                    "2026-11-29T12:00:00Z",
                )
            })
            .collect();
        json!({"batch_id": format!("b-{n}"), "events": events})
    };
    let url = format!("{}api/v1/ingest/sensor", server.url);
    let pid = server.child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .unwrap();
    });
    let mut acked = Vec::new();
    let mut n = 0;
    loop {
        match send(&client, &url, &prod, &batch(n)) {
            Ok((200, _)) => acked.push(n),
            Ok((status, body)) => panic!("batch {n}: {status} {body}"),
            Err(_) => break,
        }
        n += 1;
        assert!(n < 100_000, "the server was never killed");
    }
    killer.join().unwrap();
    let _ = server.child.wait();
    assert!(
        acked.len() >= 2,
        "too few batches before the kill: {}",
        acked.len()
    );

    let restarted = Server::start(&data, &[]);
    let url = format!("{}api/v1/ingest/sensor", restarted.url);
    for &n in &acked {
        let (s, answer) = send(&client, &url, &prod, &batch(n)).unwrap();
        assert_eq!(s, 200);
        assert_eq!(
            answer["duplicate"], true,
            "acknowledged batch b-{n} was lost"
        );
    }
    // The batch in flight at the kill may or may not have been committed; sending it
    // again stores it at most once.
    let (s, _) = send(&client, &url, &prod, &batch(n)).unwrap();
    assert_eq!(s, 200);
    let events = read(
        &client,
        &format!("{}api/v1/events?limit=1", restarted.url),
        &admin,
    );
    assert_eq!(
        events["total"],
        (acked.len() as u64 + 1) * 200,
        "{}",
        acked.len()
    );
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok())
}

/// The page at `url` after its scripts ran, as Chromium sees it.
fn rendered(browser: &str, url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{browser}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_dashboard_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED: no Chromium here (Debian package `chromium`; scripts/test installs it)"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let admin = token(&data, &["--admin"]);
    let prod = token(&data, &["--cluster", "prod"]);
    let server = Server::start(&data, &[]);
    let client = reqwest::blocking::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap();
    ingest_demo_data(&client, &server.url, &prod);

    let page = rendered(browser, &format!("{}#token={admin}", server.url));
    assert!(page.contains("data-loaded=\"overview\""), "{page}");
    for text in [
        "Crypto miner launched",
        "pod:shop/web-7d4b9",
        "Alerts over the last 24 hours",
        "Vulnerabilities by severity",
    ] {
        assert!(page.contains(text), "overview lacks {text:?}:\n{page}");
    }
    assert!(!page.contains(&admin), "the token must leave the URL");

    let alerts = read(
        &client,
        &format!("{}api/v1/alerts?kind=RT-miner", server.url),
        &admin,
    );
    let id = alerts["items"][0]["id"].as_i64().unwrap();
    let page = rendered(
        browser,
        &format!("{}#/alerts/{id}?token={admin}", server.url),
    );
    assert!(page.contains("data-loaded=\"alert\""), "{page}");
    for text in [
        "Kill the pod and find how the binary got in.",
        "xmrig (4242) /tmp/xmrig",
        "sh /bin/sh",
        "T1496",
    ] {
        assert!(page.contains(text), "alert page lacks {text:?}:\n{page}");
    }

    let page = rendered(
        browser,
        &format!("{}#/images?q=web&token={admin}", server.url),
    );
    assert!(page.contains("shop/web:1.4"), "{page}");
    let page = rendered(browser, &format!("{}#/posture?token={admin}", server.url));
    assert!(
        page.contains("Internet to node through shop/web")
            && page.contains("Pod shares the host network"),
        "{page}"
    );
    let page = rendered(
        browser,
        &format!("{}#/alerts?severity=critical&token={admin}", server.url),
    );
    assert!(page.contains("Crypto miner launched"), "{page}");
    assert!(
        !page.contains("Terminal shell in container"),
        "the filter applies: {page}"
    );

    // A wrong token gets the sign-in form, not data.
    let page = rendered(browser, &format!("{}#token=vigil_wrong", server.url));
    assert!(page.contains("That token was refused."), "{page}");
    assert!(!page.contains("Crypto miner launched"));
}

/// `vigil up` on a fresh data dir: the printed link's token reads a first page with real
/// data (the demo image's vulnerabilities, the demo cluster's findings and attack paths,
/// and, as root, the sensor's events); a second `vigil up` prints the same link and
/// stores the demo scans again in place of the first.
#[test]
fn vigil_up_shows_real_data_on_its_first_page() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("up");
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = lines(child.stdout.take().unwrap());
        let stderr = lines(child.stderr.take().unwrap());
        let line = stdout.recv_timeout(WAIT).expect("the dashboard line");
        let link = line
            .strip_prefix("Vigil is up. Dashboard: ")
            .unwrap_or_else(|| panic!("{line}"))
            .to_string();
        (child, link, stderr)
    };
    let (mut child, link, stderr) = start();
    let (base, token) = link.split_once("#token=").unwrap();
    let client = reqwest::blocking::Client::builder()
        .timeout(WAIT)
        .build()
        .unwrap();
    let overview = read(&client, &format!("{base}api/v1/overview"), token);
    assert_eq!(overview["images"], 1, "{overview}");
    assert!(
        overview["vulnerabilities"]["critical"].as_u64().unwrap() >= 1,
        "{overview}"
    );
    assert!(
        overview["findings"]["critical"].as_u64().unwrap() >= 1,
        "{overview}"
    );
    let posture = read(&client, &format!("{base}api/v1/posture"), token);
    assert!(
        !posture[0]["attack_paths"].as_array().unwrap().is_empty(),
        "{posture}"
    );
    let as_root = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(2) == Some("0"));
    if as_root && Path::new("/sys/kernel/btf/vmlinux").exists() {
        // The sensor stores what processes do on this host within a second or two.
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let _ = Command::new("/bin/true").status();
            let events = read(
                &client,
                &format!("{base}api/v1/events?kind=exec&limit=1"),
                token,
            );
            if events["total"].as_u64().unwrap() > 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no sensor events: {:?}",
                stderr.try_iter().collect::<Vec<_>>()
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    } else {
        eprintln!("not root or no BTF: the sensor part of `vigil up` is not checked here");
    }
    if let Some(browser) = chromium() {
        let page = rendered(browser, &link);
        assert!(page.contains("data-loaded=\"overview\""), "{page}");
        assert!(page.contains("Images scanned"), "{page}");
    }
    assert!(terminate(&mut child).success());

    let (mut again, link2, _) = start();
    assert_eq!(
        link2.split_once("#token=").unwrap().1,
        token,
        "the same token each time"
    );
    let (base2, _) = link2.split_once("#token=").unwrap();
    let images = read(&client, &format!("{base2}api/v1/images"), token);
    assert_eq!(
        images["total"], 1,
        "the demo image is stored once: {images}"
    );
    assert!(terminate(&mut again).success());
}
