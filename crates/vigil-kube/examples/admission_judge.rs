//! Profiles admission judging without the HTTP server: loads Gatekeeper policies from a
//! folder, reads AdmissionReview files, judges them in a loop and prints the mean time per
//! request, the slowest reviews, then the latency distribution with `THREADS` threads
//! (default 2) judging at once, each sleeping `PACE_US` microseconds between requests
//! (default 0; a paced run shows what idle gaps between requests cost).
//!
//! `cargo run --release -p vigil-kube --example admission_judge -- POLICIES REVIEWS [ROUNDS]`
//! (`benches/admission.sh` writes both folders under target/bench/admission).

use std::sync::Arc;
use std::time::{Duration, Instant};
use vigil_kube::admission::gatekeeper::{self, ClusterData};
use vigil_kube::admission::{Policy, PolicySet, Request};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: admission_judge POLICIES REVIEWS [ROUNDS]";
    let policies = args.next().ok_or(usage)?;
    let reviews = args.next().ok_or(usage)?;
    let rounds: usize = args.next().map_or(Ok(200), |r| r.parse())?;
    let objects = vigil_kube::manifest::load(policies.as_ref(), &vigil_kube::Limits::default())?;
    let library = gatekeeper::load(
        &objects,
        Arc::new(ClusterData::default()),
        Duration::from_secs(1),
    );
    for e in &library.errors {
        eprintln!("not loaded: {e}");
    }
    let policies: Vec<Box<dyn Policy>> = library
        .constraints
        .into_iter()
        .map(|c| Box::new(c) as Box<dyn Policy>)
        .collect();
    let mut bodies = Vec::new();
    for entry in std::fs::read_dir(&reviews)? {
        bodies.push(std::fs::read(entry?.path())?);
    }
    bodies.sort();
    // Each policy's share: its time over every review, and parsing the reviews alone.
    let requests: Vec<Request> = bodies
        .iter()
        .map(|b| Request::from_review(b))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    for _ in 0..rounds {
        for body in &bodies {
            let request = Request::from_review(body)?;
            std::hint::black_box(request.rego_review());
        }
    }
    let mut shares = vec![(
        started.elapsed(),
        "(parsing and converting the review)".to_string(),
    )];
    for policy in &policies {
        let started = Instant::now();
        for _ in 0..rounds {
            for request in &requests {
                let _ = std::hint::black_box(policy.evaluate(request));
            }
        }
        shares.push((started.elapsed(), policy.name().to_string()));
    }
    shares.sort();
    let per_request = |d: Duration| d / (rounds * bodies.len()) as u32;
    for (d, name) in shares.iter().rev().take(8) {
        println!("{:>12?} per request  {name}", per_request(*d));
    }
    let mut set = PolicySet::new();
    set.extend(policies);
    let started = Instant::now();
    let mut violations = 0usize;
    for _ in 0..rounds {
        for body in &bodies {
            let request = Request::from_review(body)?;
            violations += set.decide(&request).violations.len();
        }
    }
    let n = rounds * bodies.len();
    let per = started.elapsed() / n as u32;
    println!("{n} requests, {violations} violations, {per:?} per request");
    // The slowest reviews, and the slowest policies on them.
    let mut each: Vec<(Duration, usize)> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let t = Instant::now();
            for _ in 0..20 {
                if let Ok(request) = Request::from_review(body) {
                    set.decide(&request);
                }
            }
            (t.elapsed() / 20, i)
        })
        .collect();
    each.sort();
    for (t, i) in each.iter().rev().take(5) {
        println!("review {i}: {t:?}");
    }
    // The latency distribution with two threads judging at once, as the server's workers do.
    let threads: usize = std::env::var("THREADS").map_or(2, |t| t.parse().unwrap_or(2));
    let set = &set;
    let bodies = &bodies;
    let mut all: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(move || {
                    let mut times = Vec::new();
                    let pace: u64 = std::env::var("PACE_US").map_or(0, |p| p.parse().unwrap_or(0));
                    for _ in 0..rounds {
                        for body in bodies {
                            if pace > 0 {
                                std::thread::sleep(Duration::from_micros(pace));
                            }
                            let t = Instant::now();
                            if let Ok(request) = Request::from_review(body) {
                                set.decide(&request);
                            }
                            times.push(t.elapsed());
                        }
                    }
                    times
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
    println!(
        "{threads} threads: p50 {:?} p90 {:?} p99 {:?} p99.9 {:?} max {:?}",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(0.999),
        all[all.len() - 1]
    );
    Ok(())
}
