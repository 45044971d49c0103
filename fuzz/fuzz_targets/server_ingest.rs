//! What clusters send to `vigil server`, as the ingest endpoints read it: a body
//! (optionally gzip or zstd, chosen by the first byte) decoded within a size limit, then
//! read as a sensor batch and checked for the token's cluster, or as an audit EventList.
//! Bodies come from anything that holds a cluster token, so no input may panic, and a
//! decompressed body may never outgrow the limit.

#![no_main]

use axum::body::Bytes;
use http::{HeaderMap, HeaderValue, header};
use libfuzzer_sys::fuzz_target;
use vigil_server::api::ingest::{audit_events, decoded, parse};
use vigil_server::ingest::SensorBatch;

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let mut headers = HeaderMap::new();
    match mode % 4 {
        1 => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        2 => {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("zstd"));
        }
        _ => {}
    }
    let Ok(bytes) = decoded(&headers, Bytes::copy_from_slice(body), LIMIT) else {
        return;
    };
    assert!(bytes.len() <= LIMIT);
    if mode & 4 == 0 {
        if let Ok(batch) = parse::<SensorBatch>(&bytes) {
            let _ = batch.into_batch("prod", 0);
        }
    } else {
        let _ = audit_events(&bytes, 0);
    }
});
