//! API tokens: who may write which cluster's data, and who may read it all.
//!
//! A token is 256 random bits shown once when it is created; the server keeps only its
//! SHA-256 digest and looks a presented token up by that digest. The token carries all
//! the entropy, so the lookup's timing says nothing useful about a guess (the scheme
//! GitHub and most API servers use for personal access tokens).

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// Every token starts with this, so scanners for leaked secrets can recognise it.
pub const TOKEN_PREFIX: &str = "vigil_";

/// What a token lets its holder do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// Reads everything through the API and the dashboard; writes nothing.
    Admin,
    /// Writes the named cluster's data (sensor batches, audit events, scan results) and
    /// nothing else.
    Cluster(String),
}

impl Role {
    /// `admin` or `cluster`, as stored.
    pub fn kind(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Cluster(_) => "cluster",
        }
    }
}

/// The holder of a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The token's name (for logs and `token list`).
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A freshly made token: the secret to hand out once, and the digest to store.
pub struct NewToken {
    /// `vigil_` and 43 base64url characters.
    pub secret: String,
    /// SHA-256 of `secret`.
    pub digest: [u8; 32],
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewToken({})", hex::encode(&self.digest[..4]))
    }
}

/// The operating system could not give random bytes.
#[derive(Debug, thiserror::Error)]
#[error("no random bytes from the operating system: {0}")]
pub struct RandomError(String);

impl NewToken {
    /// A new random token.
    pub fn generate() -> Result<NewToken, RandomError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
        let secret = format!(
            "{TOKEN_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let digest = digest(&secret);
        Ok(NewToken { secret, digest })
    }
}

/// The digest a presented token is looked up by (surrounding white space ignored).
pub fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// The token of an `Authorization: Bearer TOKEN` header, if there is one.
pub fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_prefixed_and_hashed() {
        let a = NewToken::generate().unwrap();
        let b = NewToken::generate().unwrap();
        assert_ne!(a.secret, b.secret);
        assert!(a.secret.starts_with(TOKEN_PREFIX));
        assert_eq!(a.secret.len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(digest(&a.secret), a.digest);
        assert_eq!(digest(&format!(" {}\n", a.secret)), a.digest);
        assert!(!format!("{a:?}").contains(&a.secret));
    }

    #[test]
    fn bearer_header() {
        let mut h = http::HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert(http::header::AUTHORIZATION, "Bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(http::header::AUTHORIZATION, "bearer  abc ".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(http::header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
        h.insert(http::header::AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
