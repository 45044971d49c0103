//! Bearer-token authentication (`Authorization: Bearer TOKEN`), as the API server's
//! webhook kubeconfig (`users[].user.token`) and most in-cluster callers send it.
//!
//! Tokens are kept as SHA-256 digests and a presented token is hashed and compared with
//! every one of them without stopping early, so the time taken says nothing about how
//! close a guess was, nor about a token's length.

use anyhow::{Context, Result, bail};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The accepted tokens.
#[derive(Clone, Default)]
pub struct Tokens {
    digests: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} accepted)", self.digests.len())
    }
}

fn digest(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// Equality that looks at every byte.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y));
    std::hint::black_box(diff) == 0
}

impl Tokens {
    /// Accepts each of `tokens` (surrounding white space trimmed); empty ones are refused.
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Result<Tokens> {
        let mut digests = Vec::new();
        for t in tokens {
            let t = t.trim();
            if t.is_empty() {
                bail!("an empty token");
            }
            digests.push(digest(t.as_bytes()));
        }
        Ok(Tokens { digests })
    }

    /// Each non-empty line of `path` is a token, so a new token can be added before the
    /// old one is removed.
    pub fn from_file(path: &Path) -> Result<Tokens> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the token file {}", path.display()))?;
        let tokens = Tokens::new(text.lines().filter(|l| !l.trim().is_empty()))?;
        if tokens.is_empty() {
            bail!("the token file {} is empty", path.display());
        }
        Ok(tokens)
    }

    /// The token in environment variable `var`.
    pub fn from_env(var: &str) -> Result<Tokens> {
        let value = std::env::var(var)
            .with_context(|| format!("reading the token from the environment variable {var}"))?;
        if value.trim().is_empty() {
            bail!("the environment variable {var} is empty");
        }
        Tokens::new([value.as_str()])
    }

    /// True when no token is set (no authentication).
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// True when `token` is one of the accepted ones.
    pub fn accepts(&self, token: &str) -> bool {
        let presented = digest(token.as_bytes());
        self.digests
            .iter()
            .fold(false, |found, d| same(d, &presented) | found)
    }

    /// True when `headers` carry `Authorization: Bearer` with an accepted token.
    pub fn authorize(&self, headers: &HeaderMap) -> bool {
        headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .is_some_and(|(_, token)| self.accepts(token.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn bearer_tokens() {
        let tokens = Tokens::new(["s3cret", " next-one\n"]).unwrap();
        assert!(tokens.authorize(&headers("Bearer s3cret")));
        assert!(tokens.authorize(&headers("bearer next-one")));
        assert!(!tokens.authorize(&headers("Bearer s3cre")));
        assert!(!tokens.authorize(&headers("Basic s3cret")));
        assert!(!tokens.authorize(&headers("s3cret")));
        assert!(!tokens.authorize(&HeaderMap::new()));
        assert!(Tokens::new([" "]).is_err());
    }
}
