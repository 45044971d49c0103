//! Ingest load: drives a real `vigil server serve` over loopback HTTP with sensor
//! batches at a fixed rate and reports the events per second it stored and the request
//! latency (p50, p99), the median of several runs; SQLite by default, PostgreSQL with
//! `--database URL`.
//!
//! ```text
//! cargo build --release -p vigil && cargo build --release -p vigil-server --example ingest_load
//! target/release/examples/ingest_load --vigil target/release/vigil \
//!     [--database postgres://…] [--runs 3] [--seconds 20] [--rate 40] [--events 500] \
//!     [--alerts 2] [--clients 8] [--port 18480]
//! ```
//!
//! Each run starts a fresh server on a fresh store (a new data directory; with
//! `--database`, the database's `public` schema dropped and made anew — use a database of
//! its own), makes a cluster token with `vigil server token create`, then sends
//! `rate × seconds` batches: batch k is due at `k / rate` seconds after the start (fixed
//! pacing) and is sent by the first of `clients` concurrent senders free at that moment.
//! A batch sent late (all senders busy) is counted in `late`; its latency is measured
//! from when it was sent. Bodies are made before the run starts, so making them costs
//! the measurement nothing. Only 127.0.0.1 is ever addressed.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

struct Options {
    vigil: String,
    database: Option<String>,
    runs: usize,
    seconds: u64,
    rate: u64,
    events: usize,
    alerts: usize,
    clients: usize,
    port: u16,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        vigil: "target/release/vigil".into(),
        database: None,
        runs: 3,
        seconds: 20,
        rate: 40,
        events: 500,
        alerts: 2,
        clients: 8,
        port: 18480,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let n = || value.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--vigil" => o.vigil = value.clone(),
            "--database" => o.database = Some(value.clone()),
            "--runs" => o.runs = n()? as usize,
            "--seconds" => o.seconds = n()?,
            "--rate" => o.rate = n()?.max(1),
            "--events" => o.events = n()? as usize,
            "--alerts" => o.alerts = n()? as usize,
            "--clients" => o.clients = n()?.max(1) as usize,
            "--port" => o.port = n()? as u16,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    Ok(o)
}

/// One batch: `events` exec events over 20 pods, and `alerts` shell alerts over 5 pods
/// (so repeats fold and incidents form, as on a real node).
fn batch(run: usize, k: usize, o: &Options, now_ms: i64) -> Vec<u8> {
    let time = |i: usize| vigil_server::store::rfc3339(now_ms + (k * 1000 + i) as i64);
    let events: Vec<serde_json::Value> = (0..o.events)
        .map(|i| {
            serde_json::json!({
                "kind": "exec", "time": time(i), "node": "node-1",
                "container_id": format!("c0ffee{:02}", i % 20),
                "k8s": {"namespace": "shop", "pod": format!("web-{}", i % 20)},
                "process": {"pid": 1000 + i, "ppid": 1, "uid": 0, "name": "curl",
                    "exe": "/usr/bin/curl",
                    "args": ["curl", "-s", format!("http://api.shop.svc/items/{i}")]}
            })
        })
        .collect();
    let alerts: Vec<serde_json::Value> = (0..o.alerts)
        .map(|i| {
            let pod = format!("web-{}", (k + i) % 5);
            serde_json::json!({
                "rule_id": "R-shell", "rule": "Terminal shell in container",
                "severity": "HIGH", "output": format!("shell in {pod}"),
                "dedup_key": "R-shell-key", "time": time(i), "mitre_tactic": "execution",
                "mitre_technique": "T1059",
                "evidence": [{"kind": "exec", "time": time(i), "node": "node-1",
                    "container_id": "c0ffee00", "k8s": {"namespace": "shop", "pod": pod},
                    "process": {"pid": 42, "name": "sh", "exe": "/bin/sh"}}]
            })
        })
        .collect();
    serde_json::json!({"batch_id": format!("run{run}-{k}"), "node": "node-1",
        "events": events, "alerts": alerts})
    .to_string()
    .into_bytes()
}

fn store_args(o: &Options, dir: &std::path::Path) -> Vec<String> {
    match &o.database {
        Some(url) => vec!["--database".into(), url.clone()],
        None => vec!["--data-dir".into(), dir.display().to_string()],
    }
}

fn reset_database(url: &str) -> Result<(), String> {
    let mut client = postgres::Client::connect(url, postgres::NoTls).map_err(|e| e.to_string())?;
    client
        .batch_execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        .map_err(|e| e.to_string())
}

fn start_server(o: &Options, dir: &std::path::Path) -> Result<(Child, String), String> {
    let out = Command::new(&o.vigil)
        .args(["server", "token"])
        .args(store_args(o, dir))
        .args(["create", "--cluster", "bench"])
        .output()
        .map_err(|e| format!("{}: {e}", o.vigil))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into());
    }
    let token = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let child = Command::new(&o.vigil)
        .args([
            "server",
            "serve",
            "--listen",
            &format!("127.0.0.1:{}", o.port),
        ])
        .args(store_args(o, dir))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .map_err(|e| e.to_string())?;
    Ok((child, token))
}

/// What one run measured.
struct Run {
    events_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    failed: usize,
    late: usize,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn run_once(o: Arc<Options>, run: usize) -> Result<Run, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (mut child, token) = start_server(&o, dir.path())?;
    let base = format!("http://127.0.0.1:{}", o.port);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(o.clients)
        .build()
        .map_err(|e| e.to_string())?;
    let up = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if up.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            return Err("the server did not start within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let total = (o.rate * o.seconds) as usize;
    let now_ms = vigil_server::ingest::now_ms();
    let bodies: Arc<Vec<Vec<u8>>> =
        Arc::new((0..total).map(|k| batch(run, k, &o, now_ms)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let period = Duration::from_secs_f64(1.0 / o.rate as f64);
    let mut senders = Vec::new();
    for _ in 0..o.clients {
        let (http, bodies, next, token, url) = (
            http.clone(),
            Arc::clone(&bodies),
            Arc::clone(&next),
            token.clone(),
            format!("{base}/api/v1/ingest/sensor"),
        );
        senders.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(k) else {
                    return seen;
                };
                let due = start + period * k as u32;
                let late = tokio::time::Instant::now() > due + Duration::from_millis(5);
                tokio::time::sleep_until(due).await;
                let sent = Instant::now();
                let answer = http
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                let events = match answer {
                    Ok(r) if r.status().is_success() => r
                        .bytes()
                        .await
                        .ok()
                        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                        .and_then(|v| v["events"].as_u64()),
                    _ => None,
                };
                seen.push((sent.elapsed(), events, late, Instant::now()));
            }
        }));
    }
    let began = start.into_std();
    let mut all = Vec::new();
    for s in senders {
        all.extend(s.await.map_err(|e| e.to_string())?);
    }
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let _ = child.wait();
    let end = all.iter().map(|s| s.3).max().unwrap_or(began);
    let stored: u64 = all.iter().filter_map(|s| s.1).sum();
    let mut ms: Vec<f64> = all.iter().map(|s| s.0.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    Ok(Run {
        events_per_s: stored as f64 / end.duration_since(began).as_secs_f64(),
        p50_ms: percentile(&ms, 0.50),
        p99_ms: percentile(&ms, 0.99),
        max_ms: ms.last().copied().unwrap_or(f64::NAN),
        failed: all.iter().filter(|s| s.1.is_none()).count(),
        late: all.iter().filter(|s| s.2).count(),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> Result<(), String> {
    let o = Arc::new(options()?);
    let store = if o.database.is_some() {
        "postgres"
    } else {
        "sqlite"
    };
    eprintln!(
        "ingest_load: {store}, {} runs of {} s at {} batches/s × {} events (+{} alerts), \
         {} senders: target {} events/s",
        o.runs,
        o.seconds,
        o.rate,
        o.events,
        o.alerts,
        o.clients,
        o.rate * o.events as u64
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut runs = Vec::new();
    for i in 0..o.runs {
        // The synchronous client runs a runtime of its own: not inside the load's.
        if let Some(url) = &o.database {
            reset_database(url)?;
        }
        let r = rt.block_on(run_once(Arc::clone(&o), i))?;
        println!(
            "run {}: {:.0} events/s, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {} failed, {} sent late",
            i + 1,
            r.events_per_s,
            r.p50_ms,
            r.p99_ms,
            r.max_ms,
            r.failed,
            r.late
        );
        runs.push(r);
    }
    println!(
        "median of {} runs ({store}): {:.0} events/s, p50 {:.1} ms, p99 {:.1} ms, {} failed",
        runs.len(),
        median(runs.iter().map(|r| r.events_per_s).collect()),
        median(runs.iter().map(|r| r.p50_ms).collect()),
        median(runs.iter().map(|r| r.p99_ms).collect()),
        runs.iter().map(|r| r.failed).sum::<usize>()
    );
    Ok(())
}
