//! The compact JWS: split, decoded and its header checked
//! ([`DecodedJws`]), then its signature verified with a key
//! ([`verify_jws`]). No claim is looked at here.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use super::error::{Malformed, ValidationError};
use super::options::DEFAULT_MAX_TOKEN_BYTES;
use crate::algorithm::{Algorithm, AlgorithmSet};
use crate::jwk::{KeySet, SignatureError, VerifyingKey};

pub(super) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A compact JWS split and decoded, its header checked, not yet verified.
#[derive(Debug)]
pub struct DecodedJws<'t> {
    alg: Algorithm,
    pub(super) kid: Option<String>,
    signing_input: &'t str,
    pub(super) payload: Vec<u8>,
    signature: Vec<u8>,
}

impl<'t> DecodedJws<'t> {
    /// Splits and decodes `token`, checking its size, its structure and its
    /// header against the allow-list.
    pub fn decode(
        token: &'t str,
        algorithms: AlgorithmSet,
        max_token_bytes: usize,
    ) -> Result<Self, ValidationError> {
        if token.len() > max_token_bytes {
            return Err(Malformed::TooLarge.into());
        }
        let (signing_input, signature_b64) = token.rsplit_once('.').ok_or(Malformed::NotCompact)?;
        let (header_b64, payload_b64) =
            signing_input.split_once('.').ok_or(Malformed::NotCompact)?;
        if payload_b64.contains('.') {
            return Err(Malformed::NotCompact.into());
        }

        #[derive(Deserialize)]
        struct Header {
            alg: String,
            #[serde(default)]
            kid: Option<String>,
            #[serde(default)]
            crit: Option<serde::de::IgnoredAny>,
        }
        let header_bytes = b64(header_b64)?;
        // A JOSE header is a JSON object; serde would read an array positionally.
        if header_bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(Malformed::Header.into());
        }
        // JSON text is UTF-8, and serde_json does not check the members it skips.
        let header_text = std::str::from_utf8(&header_bytes).map_err(|_| Malformed::Header)?;
        let header: Header = serde_json::from_str(header_text).map_err(|_| Malformed::Header)?;
        let alg: Algorithm = header
            .alg
            .parse()
            .map_err(|_| ValidationError::UnsupportedAlgorithm)?;
        if !algorithms.contains(alg) {
            return Err(ValidationError::UnsupportedAlgorithm);
        }
        if header.crit.is_some() {
            return Err(ValidationError::UnsupportedCriticalHeader);
        }
        Ok(DecodedJws {
            alg,
            kid: header.kid,
            signing_input,
            payload: b64(payload_b64)?,
            signature: b64(signature_b64)?,
        })
    }

    /// The header's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The header's `kid`.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Verifies the signature with `key` and returns the payload bytes.
    pub fn verify(self, key: &VerifyingKey) -> Result<Vec<u8>, ValidationError> {
        key.verify(self.alg, self.signing_input.as_bytes(), &self.signature)
            .map_err(|e| match e {
                SignatureError::AlgorithmMismatch => ValidationError::KeyAlgorithmMismatch,
                SignatureError::Invalid => ValidationError::BadSignature,
            })?;
        Ok(self.payload)
    }
}

pub(super) fn b64(part: &str) -> Result<Vec<u8>, Malformed> {
    URL_SAFE_NO_PAD.decode(part).map_err(|_| Malformed::Base64)
}

/// Verifies a compact JWS against a key set and returns its payload bytes:
/// the key-and-signature path alone, with no claim checks.
///
/// ```
/// use scalekit_core::{AlgorithmSet, KeySet, ValidationError, verify_jws};
///
/// let keys = KeySet::default();
/// let err = verify_jws("eyJhbGciOiJub25lIn0.e30.", &keys, AlgorithmSet::all()).unwrap_err();
/// assert_eq!(err, ValidationError::UnsupportedAlgorithm);
/// ```
pub fn verify_jws(
    token: &str,
    keys: &KeySet,
    algorithms: AlgorithmSet,
) -> Result<Vec<u8>, ValidationError> {
    let jws = DecodedJws::decode(token, algorithms, DEFAULT_MAX_TOKEN_BYTES)?;
    let key = keys
        .find(jws.kid(), jws.algorithm())
        .ok_or_else(|| ValidationError::UnknownKey {
            kid: jws.kid().map(|k| truncate(k, 128).to_owned()),
        })?;
    jws.verify(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure() {
        let all = AlgorithmSet::all();
        let err = |t: &str| DecodedJws::decode(t, all, 100).unwrap_err();
        assert_eq!(err("a.b"), Malformed::NotCompact.into());
        assert_eq!(err("a.b.c.d"), Malformed::NotCompact.into());
        assert_eq!(err(&"a".repeat(101)), Malformed::TooLarge.into());
        assert_eq!(err("!!.e30.AA"), Malformed::Base64.into());
        // {"alg":"RS256","crit":["b64"]}
        assert_eq!(
            err("eyJhbGciOiJSUzI1NiIsImNyaXQiOlsiYjY0Il19.e30.AA"),
            ValidationError::UnsupportedCriticalHeader
        );
        // {"typ":"JWT"}: no alg
        assert_eq!(err("eyJ0eXAiOiJKV1QifQ.e30.AA"), Malformed::Header.into());
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate("ééé", 3), "é");
        assert_eq!(truncate("abc", 8), "abc");
    }
}
