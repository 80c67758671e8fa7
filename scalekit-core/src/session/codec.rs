//! The sealed-cookie codec: AES-256-GCM with keys derived by HKDF-SHA256,
//! a versioned format with a key id, several secrets for rotation, the
//! cookie name as associated data, and chunking. Parsing `Cookie` headers
//! and rendering `Set-Cookie` are in `cookies.rs`.

use std::fmt;
use std::fmt::Write as _;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::hkdf;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::cookies::RequestCookies;
use crate::config::{ConfigError, ConfigProblem};

/// Format version of sealed values.
const VERSION: u8 = 1;
/// Shortest accepted secret, in bytes.
pub const MIN_SECRET_LEN: usize = 32;
/// Largest value of one cookie before the value is split into chunks.
pub const CHUNK_SIZE: usize = 3800;
/// Default cap on the number of chunks of one sealed value.
pub const DEFAULT_MAX_CHUNKS: usize = 6;
const KEY_ID_LEN: usize = 4;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// Why a sealed value could not be opened or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieError {
    /// Not base64url, or too short to be a sealed value.
    #[error("the cookie is malformed")]
    Malformed,
    /// A format version this library does not read.
    #[error("the cookie has an unknown format version")]
    UnknownVersion,
    /// Sealed under a key none of the configured secrets derives.
    #[error("the cookie was sealed with an unknown key")]
    UnknownKey,
    /// Authentication failed: tampered, truncated, or sealed for another
    /// cookie name.
    #[error("the cookie failed authentication")]
    Tampered,
    /// The plaintext is not a value of the expected type.
    #[error("the cookie content is invalid")]
    InvalidContent,
    /// The sealed value needs more chunks than allowed.
    #[error(
        "the session is too large for cookies ({size} bytes sealed, at most {max} fit): \
         use a server-side session store (memory or Redis)"
    )]
    TooLarge {
        /// Sealed size in bytes.
        size: usize,
        /// Largest size that fits.
        max: usize,
    },
    /// The system random source failed.
    #[error("the system random source failed")]
    Random,
    /// The value is older than its lifetime (a login state after 10 min).
    #[error("the cookie has expired")]
    Expired,
}

struct DerivedKey {
    id: [u8; KEY_ID_LEN],
    key: RandomizedNonceKey,
}

/// Seals and opens cookie values. The first secret seals; every secret
/// opens (rotation: put the new secret first, keep the old one until the
/// cookies it sealed have expired).
///
/// ```
/// use scalekit_core::session::CookieCodec;
///
/// let codec = CookieCodec::new(["a secret of at least thirty-two bytes!!"])?;
/// let sealed = codec.seal("sk_session", b"hello")?;
/// assert_eq!(codec.open("sk_session", &sealed)?, b"hello");
/// // Bound to the cookie name.
/// assert!(codec.open("other", &sealed).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CookieCodec {
    keys: Vec<DerivedKey>,
    max_chunks: usize,
}

impl fmt::Debug for CookieCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieCodec")
            .field("secrets", &self.keys.len())
            .field("max_chunks", &self.max_chunks)
            .finish()
    }
}

fn derive(secret: &[u8]) -> Result<DerivedKey, ConfigError> {
    let fail = || ConfigError::new("session secret", ConfigProblem::Empty);
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"scalekit-rs session cookies").extract(secret);
    let mut key = [0u8; 32];
    prk.expand(&[b"aes-256-gcm key"], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut key))
        .map_err(|_| fail())?;
    let mut id_bytes = [0u8; 32];
    prk.expand(&[b"key id"], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut id_bytes))
        .map_err(|_| fail())?;
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&id_bytes[..KEY_ID_LEN]);
    Ok(DerivedKey {
        id,
        key: RandomizedNonceKey::new(&AES_256_GCM, &key).map_err(|_| fail())?,
    })
}

impl CookieCodec {
    /// A codec over `secrets` (the first seals). Each must be at least 32
    /// bytes; fewer is a configuration error.
    pub fn new<I, S>(secrets: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<[u8]>,
    {
        let mut keys = Vec::new();
        for secret in secrets {
            let secret = secret.as_ref();
            if secret.len() < MIN_SECRET_LEN {
                return Err(ConfigError::new(
                    "session secret",
                    ConfigProblem::TooShort {
                        min: MIN_SECRET_LEN,
                    },
                ));
            }
            keys.push(derive(secret)?);
        }
        if keys.is_empty() {
            return Err(ConfigError::new("session secret", ConfigProblem::Missing));
        }
        Ok(CookieCodec {
            keys,
            max_chunks: DEFAULT_MAX_CHUNKS,
        })
    }

    /// Changes the cap on chunks per value (default 6, about 22 KB).
    pub fn max_chunks(mut self, chunks: usize) -> Self {
        self.max_chunks = chunks.max(1);
        self
    }

    /// Seals `plaintext` for the cookie `name`.
    pub fn seal(&self, name: &str, plaintext: &[u8]) -> Result<String, CookieError> {
        Ok(URL_SAFE_NO_PAD.encode(self.seal_bytes(name.as_bytes(), plaintext)?))
    }

    /// Opens a value sealed for the cookie `name`.
    pub fn open(&self, name: &str, sealed: &str) -> Result<Vec<u8>, CookieError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| CookieError::Malformed)?;
        self.open_bytes(name.as_bytes(), &bytes)
    }

    /// Seals `plaintext` bound to `associated_data` (what it must be opened
    /// with), in binary form: version, key id, nonce, ciphertext and tag.
    /// Cookies use the cookie name; server-side session records use their
    /// session id.
    pub fn seal_bytes(
        &self,
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CookieError> {
        let key = self.keys.first().ok_or(CookieError::UnknownKey)?;
        let mut in_out = plaintext.to_vec();
        let nonce = key
            .key
            .seal_in_place_append_tag(Aad::from(associated_data), &mut in_out)
            .map_err(|_| CookieError::Random)?;
        let mut out = Vec::with_capacity(HEADER_LEN + in_out.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Opens a value made by [`CookieCodec::seal_bytes`] with the same
    /// associated data.
    pub fn open_bytes(&self, associated_data: &[u8], bytes: &[u8]) -> Result<Vec<u8>, CookieError> {
        let (&version, rest) = bytes.split_first().ok_or(CookieError::Malformed)?;
        if version != VERSION {
            return Err(CookieError::UnknownVersion);
        }
        if rest.len() < KEY_ID_LEN + NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(CookieError::Malformed);
        }
        let (id, rest) = rest.split_at(KEY_ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let mut candidates = self.keys.iter().filter(|k| k.id == id).peekable();
        if candidates.peek().is_none() {
            return Err(CookieError::UnknownKey);
        }
        for key in candidates {
            let nonce =
                Nonce::try_assume_unique_for_key(nonce).map_err(|_| CookieError::Malformed)?;
            let mut in_out = ciphertext.to_vec();
            if let Ok(plain) = key
                .key
                .open_in_place(nonce, Aad::from(associated_data), &mut in_out)
            {
                let len = plain.len();
                in_out.truncate(len);
                return Ok(in_out);
            }
        }
        Err(CookieError::Tampered)
    }

    /// Seals and splits into cookie values: one value named `name` when it
    /// fits in [`CHUNK_SIZE`], else `name.0`, `name.1`, … Fails with
    /// [`CookieError::TooLarge`] beyond the chunk cap.
    pub fn seal_chunked(
        &self,
        name: &str,
        plaintext: &[u8],
    ) -> Result<Vec<(String, String)>, CookieError> {
        let sealed = self.seal(name, plaintext)?;
        if sealed.len() <= CHUNK_SIZE {
            return Ok(vec![(name.to_owned(), sealed)]);
        }
        let max = CHUNK_SIZE * self.max_chunks;
        if sealed.len() > max {
            return Err(CookieError::TooLarge {
                size: sealed.len(),
                max,
            });
        }
        // base64url is ASCII: every byte offset is a char boundary.
        Ok((0..sealed.len())
            .step_by(CHUNK_SIZE)
            .enumerate()
            .map(|(i, start)| {
                let end = (start + CHUNK_SIZE).min(sealed.len());
                (format!("{name}.{i}"), sealed[start..end].to_owned())
            })
            .collect())
    }

    /// The sealed value of cookie `name` as a request carries it: `name`
    /// itself, or the consecutive chunks `name.0`, `name.1`, … joined.
    /// `None` when there is no such cookie.
    pub fn sealed_value<'a>(
        &self,
        name: &str,
        cookies: &RequestCookies<'a>,
    ) -> Option<std::borrow::Cow<'a, str>> {
        if let Some(value) = cookies.get(name) {
            return Some(std::borrow::Cow::Borrowed(value));
        }
        let mut sealed = String::new();
        // `name.0`, `name.1`, … in one buffer.
        let mut chunk_name = String::with_capacity(name.len() + 4);
        for i in 0..self.max_chunks {
            chunk_name.clear();
            chunk_name.push_str(name);
            let _ = write!(chunk_name, ".{i}");
            match cookies.get(&chunk_name) {
                Some(chunk) => sealed.push_str(chunk),
                None => break,
            }
        }
        (!sealed.is_empty()).then_some(std::borrow::Cow::Owned(sealed))
    }

    /// Reassembles and opens the value of cookie `name` from request
    /// cookies: `name` itself, or the consecutive chunks `name.0`, `name.1`, …
    /// Returns `Ok(None)` when there is no such cookie.
    pub fn open_chunked(
        &self,
        name: &str,
        cookies: &RequestCookies<'_>,
    ) -> Result<Option<Vec<u8>>, CookieError> {
        match self.sealed_value(name, cookies) {
            Some(sealed) => self.open(name, &sealed).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn short_secrets_are_refused() {
        let err = CookieCodec::new(["short"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "session secret must be at least 32 bytes long"
        );
        assert!(CookieCodec::new(Vec::<&str>::new()).is_err());
    }

    #[test]
    fn nonces_differ() {
        let codec = CookieCodec::new([SECRET]).unwrap();
        assert_ne!(
            codec.seal("n", b"x").unwrap(),
            codec.seal("n", b"x").unwrap()
        );
    }
}
