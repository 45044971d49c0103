//! How bad a finding is, on the scale every Vigil report uses.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The severity scale shared by vulnerability matches, posture findings and alerts.
///
/// Ordered from least to most severe so that `max()` picks the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    /// The source gave no usable severity.
    Unknown,
    /// Worth knowing, no action expected.
    Informational,
    /// Low impact or hard to exploit.
    Low,
    /// Moderate impact.
    Medium,
    /// Serious impact; fix soon.
    High,
    /// Fix now.
    Critical,
}

impl Severity {
    /// Every severity, most severe first (the order reports list them in).
    pub const ALL: [Severity; 6] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
        Severity::Unknown,
    ];

    /// The upper-case name used in reports and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "CRITICAL",
            Severity::High => "HIGH",
            Severity::Medium => "MEDIUM",
            Severity::Low => "LOW",
            Severity::Informational => "INFORMATIONAL",
            Severity::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the known severity names.
#[derive(Debug, thiserror::Error)]
#[error("unknown severity {0:?} (expected critical, high, medium, low, informational or unknown)")]
pub struct ParseSeverityError(String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "critical" => Ok(Severity::Critical),
            "high" | "important" => Ok(Severity::High),
            "medium" | "moderate" => Ok(Severity::Medium),
            "low" => Ok(Severity::Low),
            "informational" | "info" | "negligible" => Ok(Severity::Informational),
            "unknown" => Ok(Severity::Unknown),
            _ => Err(ParseSeverityError(s.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_from_unknown_to_critical() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Low > Severity::Informational);
        assert!(Severity::Informational > Severity::Unknown);
    }

    #[test]
    fn parses_vendor_words() {
        assert_eq!("Important".parse::<Severity>().ok(), Some(Severity::High));
        assert_eq!("moderate".parse::<Severity>().ok(), Some(Severity::Medium));
        assert!("severe".parse::<Severity>().is_err());
    }

    #[test]
    fn round_trips_through_json() {
        let json = serde_json::to_string(&Severity::Critical).unwrap_or_default();
        assert_eq!(json, "\"CRITICAL\"");
    }
}
