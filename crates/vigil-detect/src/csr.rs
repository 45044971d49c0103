//! The subject of a Kubernetes CertificateSigningRequest, read out of the request object
//! of an audit event, for the `ka.req.csr.subject.cn` and `ka.req.csr.subject.orgs`
//! fields.
//!
//! A CSR's requested identity is not a plain field of the object: `spec.request` holds a
//! PEM-encoded PKCS#10 request, base64-encoded as JSON encodes bytes. A client certificate
//! signed for it authenticates as user = subject CN and groups = subject O, so a CSR for
//! `CN=system:node:…` or `O=system:masters` asks for a system identity, whoever sends it.
//! The request is decoded on demand (only the few rules that read these fields pay, and
//! only for CSR events, since their conditions test the resource first).
//!
//! Input is untrusted: the text is bounded before decoding, and anything that is not a
//! readable request simply has no subject values, so no rule on them matches.

use base64::Engine as _;
use serde_json::Value;
use std::ops::ControlFlow;
use x509_parser::asn1_rs::{Any, Tag};
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::prelude::FromDer;
use x509_parser::x509::AttributeTypeAndValue;

/// Longest `spec.request` decoded (base64 text). Real requests are 1-4 KiB; this leaves
/// room for large keys and many extensions.
pub const MAX_REQUEST_TEXT: usize = 64 << 10;

/// The names a CSR asks to be certified under.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// Every `CN` of the subject (Go's crypto/x509, which Kubernetes uses, keeps the last;
    /// all are given so none can hide behind another).
    pub common_names: Vec<String>,
    /// Every `O` of the subject: the groups a client certificate authenticates as.
    pub organizations: Vec<String>,
}

/// Why a `spec.request` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsrError {
    /// Longer than [`MAX_REQUEST_TEXT`].
    #[error("the request is longer than {MAX_REQUEST_TEXT} bytes")]
    TooLarge,
    /// Not base64.
    #[error("the request is not base64: {0}")]
    Base64(String),
    /// Not a PEM block, or a PEM block of another kind.
    #[error("the request is not a PEM certificate request: {0}")]
    Pem(String),
    /// Not a DER PKCS#10 request.
    #[error("the request is not a PKCS#10 certification request: {0}")]
    Der(String),
}

/// Reads the subject of `spec.request` (base64 of a PEM `CERTIFICATE REQUEST`; base64 of
/// bare DER is accepted too).
pub fn subject(request: &str) -> Result<Subject, CsrError> {
    if request.len() > MAX_REQUEST_TEXT {
        return Err(CsrError::TooLarge);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(request.trim())
        .map_err(|e| CsrError::Base64(e.to_string()))?;
    let der = if bytes.starts_with(b"-----BEGIN") {
        let (_, pem) =
            x509_parser::pem::parse_x509_pem(&bytes).map_err(|e| CsrError::Pem(e.to_string()))?;
        if !pem.label.ends_with("CERTIFICATE REQUEST") {
            return Err(CsrError::Pem(format!("a {} block", pem.label)));
        }
        pem.contents
    } else {
        bytes
    };
    let (_, csr) =
        X509CertificationRequest::from_der(&der).map_err(|e| CsrError::Der(e.to_string()))?;
    let name = &csr.certification_request_info.subject;
    Ok(Subject {
        common_names: name.iter_common_name().filter_map(text).collect(),
        organizations: name.iter_organization().filter_map(text).collect(),
    })
}

/// A name attribute as text, for every string type Go's crypto/x509 reads (so a name
/// written as a BMPString cannot slip past), or `None` for non-string values.
fn text(attr: &AttributeTypeAndValue<'_>) -> Option<String> {
    let value: &Any<'_> = attr.attr_value();
    match value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::NumericString
        | Tag::T61String
        | Tag::VisibleString
        | Tag::GeneralString => Some(String::from_utf8_lossy(value.data).into_owned()),
        Tag::BmpString => {
            let units = value.data.chunks_exact(2).map(|c| match c {
                [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                _ => 0,
            });
            Some(
                char::decode_utf16(units)
                    .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                    .collect(),
            )
        }
        _ => None,
    }
}

/// Calls `f` with each subject CN of the request at `request` (the `spec.request` string
/// of a CSR object); nothing when it is not a readable request. The shape of a computed
/// field step in [`crate::audit`].
pub fn common_names(
    request: &Value,
    f: &mut dyn FnMut(&str) -> ControlFlow<()>,
) -> ControlFlow<()> {
    each(request, f, |s| s.common_names)
}

/// Calls `f` with each subject O of the request at `request`, as [`common_names`].
pub fn organizations(
    request: &Value,
    f: &mut dyn FnMut(&str) -> ControlFlow<()>,
) -> ControlFlow<()> {
    each(request, f, |s| s.organizations)
}

fn each(
    request: &Value,
    f: &mut dyn FnMut(&str) -> ControlFlow<()>,
    pick: fn(Subject) -> Vec<String>,
) -> ControlFlow<()> {
    let Some(subject) = request.as_str().and_then(|r| subject(r).ok()) else {
        return ControlFlow::Continue(());
    };
    for name in pick(subject) {
        f(&name)?;
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `spec.request` as a client sends it: base64 of the PEM text.
    fn request(pem: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(pem)
    }

    fn fixture(name: &str) -> String {
        let path = format!("{}/tests/fixtures/csr/{name}", env!("CARGO_MANIFEST_DIR"));
        request(&std::fs::read_to_string(path).unwrap())
    }

    #[test]
    fn subjects_of_real_requests() {
        for (file, cn, orgs) in [
            ("node.pem", "system:node:worker-1", vec!["system:nodes"]),
            ("masters.pem", "backup-admin", vec!["system:masters"]),
            (
                "controller-manager.pem",
                "system:kube-controller-manager",
                vec![],
            ),
            ("user.pem", "alice", vec!["devs"]),
            // Written as BMPString (UTF-16), which Go reads as any other string.
            ("bmp-admin.pem", "system:admin", vec!["system:masters"]),
        ] {
            let s = subject(&fixture(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(s.common_names, [cn], "{file}");
            assert_eq!(s.organizations, orgs, "{file}");
        }
    }

    #[test]
    fn bare_der_is_read_too() {
        let pem = std::fs::read(format!(
            "{}/tests/fixtures/csr/masters.pem",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        let (_, block) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
        let der = base64::engine::general_purpose::STANDARD.encode(&block.contents);
        assert_eq!(subject(&der).unwrap().organizations, ["system:masters"]);
    }

    #[test]
    fn unreadable_requests_are_errors_and_have_no_names() {
        let cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
        for (text, want) in [
            ("!!not base64!!".to_string(), "not base64"),
            (request("hello"), "not a PKCS#10"),
            (request(cert), "not a PEM certificate request"),
            ("A".repeat(MAX_REQUEST_TEXT + 4), "longer than"),
            (
                request(
                    "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
                ),
                "not a PKCS#10",
            ),
        ] {
            let err = subject(&text).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        let mut seen = Vec::new();
        let _ = common_names(&Value::from(request("junk")), &mut |s| {
            seen.push(s.to_string());
            ControlFlow::Continue(())
        });
        let _ = organizations(&Value::from(7), &mut |s| {
            seen.push(s.to_string());
            ControlFlow::Continue(())
        });
        assert!(seen.is_empty());
        let _ = organizations(&Value::from(fixture("bmp-admin.pem")), &mut |s| {
            seen.push(s.to_string());
            ControlFlow::Break(())
        });
        assert_eq!(seen, ["system:masters"]);
    }
}
