//! Where a validator gets its verification keys: [`KeySource`], a fixed
//! key set, a cached remote JWKS or one source per issuer.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use super::error::{Malformed, ValidationError};
use super::jws::truncate;
use super::options::normalize_issuer;
use crate::algorithm::Algorithm;
use crate::jwk::{KeySet, VerifyingKey};
use crate::jwks::{JwksCache, KeyLookupError};

/// Where a validator gets its verification keys.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A fixed key set (air-gapped use, tests).
    Static(Arc<KeySet>),
    /// A remote JWKS, cached.
    Remote(JwksCache),
    /// One source per issuer (compared without trailing slash): the token's
    /// `iss` picks the source, and a token from an issuer not in the map is
    /// refused as [`ValidationError::WrongIssuer`].
    PerIssuer(Arc<HashMap<String, KeySource>>),
}

impl From<KeySet> for KeySource {
    fn from(set: KeySet) -> Self {
        KeySource::Static(Arc::new(set))
    }
}

impl From<JwksCache> for KeySource {
    fn from(cache: JwksCache) -> Self {
        KeySource::Remote(cache)
    }
}

impl KeySource {
    /// Keys per issuer.
    pub fn per_issuer<I, S>(sources: I) -> Self
    where
        I: IntoIterator<Item = (S, KeySource)>,
        S: AsRef<str>,
    {
        KeySource::PerIssuer(Arc::new(
            sources
                .into_iter()
                .map(|(iss, src)| (normalize_issuer(iss.as_ref()).to_owned(), src))
                .collect(),
        ))
    }

    /// Fetches every remote key set now (see
    /// `JwksCache::refetch_for_platform_token`): for a token the platform
    /// has just issued with a key the cache does not hold yet.
    pub(crate) async fn refetch_for_platform_token(&self) {
        match self {
            KeySource::Static(_) => {}
            KeySource::Remote(cache) => cache.refetch_for_platform_token().await,
            KeySource::PerIssuer(map) => {
                for source in map.values() {
                    Box::pin(source.refetch_for_platform_token()).await;
                }
            }
        }
    }

    pub(super) fn resolve<'a>(&'a self, payload: &[u8]) -> Result<&'a KeySource, ValidationError> {
        match self {
            KeySource::PerIssuer(map) => {
                #[derive(Deserialize)]
                struct Iss {
                    iss: Option<String>,
                }
                let iss: Iss =
                    serde_json::from_slice(payload).map_err(|_| Malformed::PayloadNotJson)?;
                let iss = iss.iss.ok_or(ValidationError::MissingClaim("iss"))?;
                let source = map
                    .get(normalize_issuer(&iss))
                    .ok_or(ValidationError::WrongIssuer)?;
                match source {
                    KeySource::PerIssuer(_) => Err(ValidationError::WrongIssuer),
                    other => Ok(other),
                }
            }
            other => Ok(other),
        }
    }

    /// Whether the key set of `iss` still holds exactly `key` for
    /// (`kid`, `alg`): a verified-token cache entry is usable only while the
    /// key that signed it has not left the key set.
    pub(super) fn holds(
        &self,
        iss: Option<&str>,
        kid: Option<&str>,
        alg: Algorithm,
        key: &Arc<VerifyingKey>,
    ) -> bool {
        match self {
            KeySource::Static(set) => set.find(kid, alg).is_some_and(|k| Arc::ptr_eq(k, key)),
            KeySource::Remote(cache) => cache.holds(kid, alg, key),
            KeySource::PerIssuer(map) => match iss.and_then(|iss| map.get(normalize_issuer(iss))) {
                Some(KeySource::PerIssuer(_)) | None => false,
                Some(source) => source.holds(None, kid, alg, key),
            },
        }
    }

    pub(super) async fn key(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, ValidationError> {
        let unknown = || ValidationError::UnknownKey {
            kid: kid.map(|k| truncate(k, 128).to_owned()),
        };
        match self {
            KeySource::Static(set) => set.find(kid, alg).cloned().ok_or_else(unknown),
            KeySource::Remote(cache) => cache.key(kid, alg).await.map_err(|e| match e {
                KeyLookupError::Unknown => unknown(),
                KeyLookupError::Unavailable => ValidationError::KeysUnavailable,
            }),
            KeySource::PerIssuer(_) => Err(ValidationError::WrongIssuer),
        }
    }
}
