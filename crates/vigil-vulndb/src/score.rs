//! CVSS base scores, computed from the vector with RustSec's `cvss` crate (never copied
//! from the record, which may disagree with its own vector), and the severity they give.

use std::str::FromStr;
use vigil_core::{Cvss, Severity};

/// Scores one vector; `None` for a vector that does not parse (CVSS v2 included: its
/// scale does not map onto today's severities).
pub fn score(vector: &str, source: &str) -> Option<Cvss> {
    let parsed = cvss::Cvss::from_str(vector.trim()).ok()?;
    let version = match parsed {
        cvss::Cvss::CvssV30(_) => "3.0",
        cvss::Cvss::CvssV31(_) => "3.1",
        cvss::Cvss::CvssV40(_) => "4.0",
        _ => return None,
    };
    Some(Cvss {
        version: version.into(),
        vector: vector.trim().into(),
        score: parsed.score(),
        source: source.into(),
    })
}

/// The qualitative rating of a base score (the same bands in CVSS v3.1 and v4.0).
pub fn severity(score: f64) -> Severity {
    match score {
        s if s >= 9.0 => Severity::Critical,
        s if s >= 7.0 => Severity::High,
        s if s >= 4.0 => Severity::Medium,
        s if s > 0.0 => Severity::Low,
        _ => Severity::Informational,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_come_from_the_vector() {
        // Values from FIRST's calculators for these vectors.
        let v31 = score("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "nvd").unwrap();
        assert_eq!((v31.version.as_str(), v31.score), ("3.1", 9.8));
        let v30 = score("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", "").unwrap();
        assert_eq!(v30.score, 6.1);
        let v40 = score(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "",
        )
        .unwrap();
        assert_eq!((v40.version.as_str(), v40.score), ("4.0", 9.3));
        assert!(score("AV:N/AC:L/Au:N/C:P/I:P/A:P", "").is_none());
        assert!(score("CVSS:3.1/garbage", "").is_none());
        assert_eq!(severity(9.8), Severity::Critical);
        assert_eq!(severity(6.1), Severity::Medium);
        assert_eq!(severity(0.0), Severity::Informational);
    }
}
