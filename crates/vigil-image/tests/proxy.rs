//! `HTTP(S)_PROXY` and `NO_PROXY` are honoured. A separate test binary, since it changes
//! the process environment.
#![allow(unsafe_code)] // set_var is unsafe in edition 2024; this binary runs one test.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use vigil_core::Ecosystem;
use vigil_image::SourceOptions;
use vigil_image::build::{Entry, LayerSpec, write_oci_layout};
use vigil_image::layer::Compression;

/// A forward proxy for plain HTTP: reads the first request's head to find the origin,
/// connects to it (loopback only) and pipes bytes both ways. Counts the requests it saw.
fn start_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(AtomicUsize::new(0));
    let counter = seen.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let counter = counter.clone();
            std::thread::spawn(move || {
                let _ = serve(client, &counter);
            });
        }
    });
    (addr, seen)
}

fn serve(client: TcpStream, counter: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut first = String::new();
    reader.read_line(&mut first)?;
    // `GET http://127.0.0.1:5000/v2/ HTTP/1.1`
    let url = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_string();
    assert!(
        host.starts_with("127.0.0.1:"),
        "the proxy only forwards to loopback: {first}"
    );
    counter.fetch_add(1, Ordering::SeqCst);
    let mut upstream = TcpStream::connect(&host)?;
    upstream.write_all(first.as_bytes())?;
    let buffered = reader.buffer().to_vec();
    upstream.write_all(&buffered)?;
    let mut up_read = upstream.try_clone()?;
    let mut down = client.try_clone()?;
    std::thread::spawn(move || std::io::copy(&mut up_read, &mut down));
    let mut client_rest = reader.into_inner();
    std::io::copy(&mut client_rest, &mut upstream)?;
    Ok(())
}

#[test]
fn proxies_from_the_environment() {
    let Some(env) = common::services() else {
        return;
    };
    let reg = &env["VIGIL_TEST_REGISTRY"];
    let dir = tempfile::tempdir().unwrap();
    let layers = [LayerSpec {
        entries: vec![Entry::File(
            "var/lib/dpkg/status".into(),
            b"Package: proxied\nStatus: install ok installed\nVersion: 1\n\n".to_vec(),
            0o644,
        )],
        compression: Compression::Gzip,
    }];
    write_oci_layout(dir.path(), "t", &layers).unwrap();
    let src = format!("oci:{}:t", dir.path().display());
    let dst = format!("docker://{reg}/vigil/proxied:1");
    common::skopeo(&["copy", "--quiet", "--dest-tls-verify=false", &src, &dst]);

    let (proxy, seen) = start_proxy();
    // SAFETY of the environment change: this test binary has this single test.
    unsafe {
        std::env::set_var("HTTP_PROXY", format!("http://{proxy}"));
        std::env::set_var("HTTPS_PROXY", format!("http://{proxy}"));
        std::env::remove_var("NO_PROXY");
    }
    let target = format!("{reg}/vigil/proxied:1");
    let inv = vigil_image::sbom(&target, &SourceOptions::default()).unwrap();
    assert_eq!(common::names(&inv, Ecosystem::Deb), ["proxied@1"]);
    let through_proxy = seen.load(Ordering::SeqCst);
    assert!(through_proxy > 0, "no request went through the proxy");

    unsafe { std::env::set_var("NO_PROXY", "127.0.0.1") };
    let inv = vigil_image::sbom(&target, &SourceOptions::default()).unwrap();
    assert_eq!(common::names(&inv, Ecosystem::Deb), ["proxied@1"]);
    assert_eq!(
        seen.load(Ordering::SeqCst),
        through_proxy,
        "NO_PROXY was ignored"
    );
}
