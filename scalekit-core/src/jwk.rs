//! JSON Web Keys: parsing a JWKS document into verification keys, with the
//! acceptance rules of the project (see `DESIGN.md`, "JWKS policy").
//!
//! Keys are parsed once, when a key set is built, into ready-to-use
//! verification keys; nothing is parsed per request.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

use crate::algorithm::Algorithm;

/// Why a key of a JWKS was not accepted.
///
/// A refused key is left out of the [`KeySet`]; the others are still usable,
/// so one odd key cannot take every token down with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyRejection {
    /// The key is not a JSON object of the JWK shape.
    #[error("the key is not a valid JWK object")]
    Malformed,
    /// `kty` is missing or names a type this library does not verify with.
    #[error("unsupported key type")]
    UnsupportedKeyType,
    /// A symmetric (`oct`) key: never accepted from a key set.
    #[error("symmetric keys are never accepted from a key set")]
    SymmetricKey,
    /// `use` is present and is not `sig`.
    #[error("the key is not meant for signatures")]
    WrongUse,
    /// `key_ops` is present and does not allow `verify`.
    #[error("the key's operations do not include verification")]
    WrongKeyOps,
    /// `alg` is present and names no supported signature algorithm.
    #[error("the key names an unsupported algorithm")]
    UnsupportedAlgorithm,
    /// `alg` does not fit the key type or curve.
    #[error("the key's algorithm does not fit its type")]
    AlgorithmMismatch,
    /// The key carries private parameters (`d`, `p`, `q`, …).
    #[error("the key carries private key material")]
    PrivateKeyMaterial,
    /// RSA modulus shorter than 2048 bits (or longer than 8192).
    #[error("RSA key size out of range")]
    RsaKeySize,
    /// RSA public exponent not odd or smaller than 3.
    #[error("invalid RSA public exponent")]
    RsaExponent,
    /// The RSA modulus has the ROCA (CVE-2017-15361) fingerprint.
    #[error("RSA key has the ROCA weakness")]
    RocaVulnerable,
    /// Unsupported elliptic curve (only P-256, P-384 and Ed25519 are).
    #[error("unsupported curve")]
    UnsupportedCurve,
    /// The public key value is not a valid key (bad encoding, point not on
    /// the curve, wrong length).
    #[error("invalid public key value")]
    InvalidKey,
    /// Another key of the set has the same `kid`: both are refused.
    #[error("duplicate key id")]
    DuplicateKid,
}

/// What kind of public key a [`VerifyingKey`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// An RSA key with its modulus size in bits.
    Rsa {
        /// Modulus size in bits.
        bits: usize,
    },
    /// An ECDSA key on P-256.
    P256,
    /// An ECDSA key on P-384.
    P384,
    /// An Ed25519 key.
    Ed25519,
}

impl KeyKind {
    /// Whether a token signed with `alg` can be verified by a key of this kind.
    pub fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyKind::Rsa { .. } => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            KeyKind::P256 => alg == ES256,
            KeyKind::P384 => alg == ES384,
            KeyKind::Ed25519 => alg == EdDSA,
        }
    }
}

/// One public key, parsed once into verification keys for every algorithm
/// that fits its type.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<Arc<str>>,
    kind: KeyKind,
    declared_alg: Option<Algorithm>,
    parsed: [Option<ParsedPublicKey>; Algorithm::ALL.len()],
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("kind", &self.kind)
            .field("alg", &self.declared_alg)
            .finish()
    }
}

/// The raw JWK fields this library reads. Unknown fields are ignored.
#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    // Private parameters: their presence is a reason to refuse the key.
    d: Option<serde_json::Value>,
    p: Option<serde_json::Value>,
    q: Option<serde_json::Value>,
    dp: Option<serde_json::Value>,
    dq: Option<serde_json::Value>,
    qi: Option<serde_json::Value>,
    oth: Option<serde_json::Value>,
    k: Option<serde_json::Value>,
}

impl VerifyingKey {
    /// Parses one JWK (a JSON object) under the acceptance rules.
    ///
    /// ```
    /// use scalekit_core::jwk::{KeyRejection, VerifyingKey};
    ///
    /// let oct = serde_json::json!({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"});
    /// assert_eq!(VerifyingKey::from_jwk(&oct).unwrap_err(), KeyRejection::SymmetricKey);
    /// ```
    pub fn from_jwk(jwk: &serde_json::Value) -> Result<VerifyingKey, KeyRejection> {
        // A JWK is a JSON object; serde would read an array positionally.
        if !jwk.is_object() {
            return Err(KeyRejection::Malformed);
        }
        let raw = RawJwk::deserialize(jwk).map_err(|_| KeyRejection::Malformed)?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawJwk) -> Result<VerifyingKey, KeyRejection> {
        let kty = raw.kty.as_deref().ok_or(KeyRejection::UnsupportedKeyType)?;
        if kty == "oct" || raw.k.is_some() {
            return Err(KeyRejection::SymmetricKey);
        }
        if let Some(u) = raw.use_.as_deref()
            && u != "sig"
        {
            return Err(KeyRejection::WrongUse);
        }
        if let Some(ops) = &raw.key_ops
            && !ops.iter().any(|o| o == "verify")
        {
            return Err(KeyRejection::WrongKeyOps);
        }
        if raw.d.is_some()
            || raw.p.is_some()
            || raw.q.is_some()
            || raw.dp.is_some()
            || raw.dq.is_some()
            || raw.qi.is_some()
            || raw.oth.is_some()
        {
            return Err(KeyRejection::PrivateKeyMaterial);
        }
        let declared_alg = match raw.alg.as_deref() {
            None => None,
            Some(a) => Some(
                a.parse::<Algorithm>()
                    .map_err(|_| KeyRejection::UnsupportedAlgorithm)?,
            ),
        };

        let mut parsed: [Option<ParsedPublicKey>; Algorithm::ALL.len()] = Default::default();
        let kind = match kty {
            "RSA" => {
                let n = strip_leading_zeros(decode_b64(raw.n.as_deref())?);
                let e = strip_leading_zeros(decode_b64(raw.e.as_deref())?);
                let bits = rsa_bits(&n);
                if !(2048..=8192).contains(&bits) {
                    return Err(KeyRejection::RsaKeySize);
                }
                if !rsa_exponent_ok(&e) {
                    return Err(KeyRejection::RsaExponent);
                }
                if roca_fingerprint(&n) {
                    return Err(KeyRejection::RocaVulnerable);
                }
                let kind = KeyKind::Rsa { bits };
                check_declared(kind, declared_alg)?;
                let components = RsaPublicKeyComponents { n: &n, e: &e };
                let usable = |a: &Algorithm| declared_alg.map_or(kind.fits(*a), |d| d == *a);
                for alg in Algorithm::ALL.into_iter().filter(usable) {
                    let key = components
                        .to_parsed_public_key(rsa_params(alg))
                        .map_err(|_| KeyRejection::InvalidKey)?;
                    parsed[alg.index()] = Some(key);
                }
                kind
            }
            "EC" => {
                let (kind, alg, size, verifier): (
                    _,
                    _,
                    _,
                    &'static dyn signature::VerificationAlgorithm,
                ) = match raw.crv.as_deref() {
                    Some("P-256") => (
                        KeyKind::P256,
                        Algorithm::ES256,
                        32,
                        &signature::ECDSA_P256_SHA256_FIXED,
                    ),
                    Some("P-384") => (
                        KeyKind::P384,
                        Algorithm::ES384,
                        48,
                        &signature::ECDSA_P384_SHA384_FIXED,
                    ),
                    _ => return Err(KeyRejection::UnsupportedCurve),
                };
                check_declared(kind, declared_alg)?;
                let x = decode_b64(raw.x.as_deref())?;
                let y = decode_b64(raw.y.as_deref())?;
                if x.len() != size || y.len() != size {
                    return Err(KeyRejection::InvalidKey);
                }
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let key =
                    ParsedPublicKey::new(verifier, &point).map_err(|_| KeyRejection::InvalidKey)?;
                parsed[alg.index()] = Some(key);
                kind
            }
            "OKP" => {
                if raw.crv.as_deref() != Some("Ed25519") {
                    return Err(KeyRejection::UnsupportedCurve);
                }
                let kind = KeyKind::Ed25519;
                check_declared(kind, declared_alg)?;
                let x = decode_b64(raw.x.as_deref())?;
                if x.len() != 32 {
                    return Err(KeyRejection::InvalidKey);
                }
                let key = ParsedPublicKey::new(&signature::ED25519, &x)
                    .map_err(|_| KeyRejection::InvalidKey)?;
                parsed[Algorithm::EdDSA.index()] = Some(key);
                kind
            }
            _ => return Err(KeyRejection::UnsupportedKeyType),
        };
        Ok(VerifyingKey {
            kid: raw.kid.map(Arc::from),
            kind,
            declared_alg,
            parsed,
        })
    }

    /// The key id (`kid`), when the JWK has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The kind of key.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The `alg` the JWK declares, if any.
    pub fn declared_algorithm(&self) -> Option<Algorithm> {
        self.declared_alg
    }

    /// Whether a token signed with `alg` may be verified with this key: the
    /// key's declared `alg` when it has one, else any algorithm of its type.
    pub fn accepts(&self, alg: Algorithm) -> bool {
        self.declared_alg
            .map_or(self.kind.fits(alg), |declared| declared == alg)
    }

    /// Verifies `signature` over `message` with `alg`.
    ///
    /// Returns [`SignatureError::AlgorithmMismatch`] when the key does not
    /// [accept](VerifyingKey::accepts) `alg` (an RSA key never verifies an
    /// `ES256` token; a key declaring `PS512` never verifies `RS256`), and
    /// [`SignatureError::Invalid`] when the signature is wrong.
    pub fn verify(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), SignatureError> {
        let key = self.parsed[alg.index()]
            .as_ref()
            .ok_or(SignatureError::AlgorithmMismatch)?;
        key.verify_sig(message, signature)
            .map_err(|_| SignatureError::Invalid)
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The algorithm does not fit the key.
    #[error("the algorithm does not fit the key")]
    AlgorithmMismatch,
    /// The signature is wrong.
    #[error("invalid signature")]
    Invalid,
}

fn check_declared(kind: KeyKind, declared: Option<Algorithm>) -> Result<(), KeyRejection> {
    match declared {
        Some(alg) if !kind.fits(alg) => Err(KeyRejection::AlgorithmMismatch),
        _ => Ok(()),
    }
}

fn rsa_params(alg: Algorithm) -> &'static signature::RsaParameters {
    match alg {
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn decode_b64(value: Option<&str>) -> Result<Vec<u8>, KeyRejection> {
    let value = value.ok_or(KeyRejection::InvalidKey)?;
    URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| KeyRejection::InvalidKey)
}

fn strip_leading_zeros(mut bytes: Vec<u8>) -> Vec<u8> {
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    bytes.drain(..zeros);
    bytes
}

fn rsa_bits(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(first) => n.len() * 8 - first.leading_zeros() as usize,
    }
}

fn rsa_exponent_ok(e: &[u8]) -> bool {
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    let at_least_three = e.len() > 1 || e.first().is_some_and(|b| *b >= 3);
    e.len() <= 8 && odd && at_least_three
}

/// Detects the ROCA fingerprint (CVE-2017-15361): moduli produced by the
/// vulnerable Infineon generator are, modulo every small prime of the list,
/// inside the subgroup generated by 65537. A random modulus passes that test
/// for all primes only with negligible probability.
fn roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n
            .iter()
            .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % p);
        let generator = 65537 % p;
        let mut element = 1u32;
        for _ in 0..p {
            if element == residue {
                return true;
            }
            element = element * generator % p;
        }
        false
    })
}

/// Why a JWKS document as a whole could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwksParseError {
    /// The document is not JSON.
    #[error("the key set is not valid JSON")]
    NotJson,
    /// The document has no `keys` array.
    #[error("the key set has no \"keys\" array")]
    NoKeysArray,
}

/// A parsed key set: the accepted keys, indexed by `kid`, and the refused
/// ones with the reason.
///
/// Build it from JWKS JSON for air-gapped use (a static key set) or let a
/// [`JwksCache`](crate::JwksCache) fetch it.
///
/// ```
/// use scalekit_core::KeySet;
///
/// let set = KeySet::from_jwks_json(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"h"}]}"#).unwrap();
/// assert!(set.is_empty());
/// assert_eq!(set.rejected().len(), 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    /// Hashed with seeded foldhash: looked up on every request (a cached
    /// token's key still in the set), and a set holds a handful of keys.
    by_kid: HashMap<Arc<str>, Arc<VerifyingKey>, foldhash::fast::RandomState>,
    without_kid: Vec<Arc<VerifyingKey>>,
    rejected: Vec<RejectedKey>,
}

/// A key the parser refused, with its `kid` (when it had one) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedKey {
    /// The refused key's `kid`.
    pub kid: Option<String>,
    /// Why it was refused.
    pub reason: KeyRejection,
}

impl KeySet {
    /// Parses a JWKS document (`{"keys":[…]}`).
    ///
    /// Keys that break the acceptance rules are left out and listed by
    /// [`KeySet::rejected`]; keys sharing a `kid` are all refused.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<KeySet, JwksParseError> {
        #[derive(Deserialize)]
        struct Doc {
            keys: Option<Vec<serde_json::Value>>,
        }
        let doc: Doc = serde_json::from_slice(bytes).map_err(|_| JwksParseError::NotJson)?;
        // A JWK Set is a JSON object; serde would read an array positionally.
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(JwksParseError::NoKeysArray);
        }
        let keys = doc.keys.ok_or(JwksParseError::NoKeysArray)?;
        Ok(Self::from_jwks(&keys))
    }

    /// Builds a key set from already-decoded JWK objects.
    pub fn from_jwks(keys: &[serde_json::Value]) -> KeySet {
        let mut set = KeySet::default();
        let mut kid_counts: HashMap<&str, usize> = HashMap::new();
        for key in keys {
            if let Some(kid) = key.get("kid").and_then(|k| k.as_str()) {
                *kid_counts.entry(kid).or_default() += 1;
            }
        }
        for key in keys {
            let kid = key
                .get("kid")
                .and_then(|k| k.as_str())
                .map(ToOwned::to_owned);
            if let Some(k) = kid.as_deref()
                && kid_counts.get(k).copied().unwrap_or(0) > 1
            {
                set.rejected.push(RejectedKey {
                    kid,
                    reason: KeyRejection::DuplicateKid,
                });
                continue;
            }
            match VerifyingKey::from_jwk(key) {
                Ok(parsed) => {
                    let parsed = Arc::new(parsed);
                    match &parsed.kid {
                        Some(kid) => {
                            set.by_kid.insert(kid.clone(), parsed);
                        }
                        None => set.without_kid.push(parsed),
                    }
                }
                Err(reason) => set.rejected.push(RejectedKey { kid, reason }),
            }
        }
        set
    }

    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        self.by_kid.get(kid)
    }

    /// The key for a token header: by `kid` when it has one; without a `kid`,
    /// the only key of the set that fits `alg` (several candidates is
    /// ambiguous and gives `None`).
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<&Arc<VerifyingKey>> {
        match kid {
            Some(kid) => self.get(kid),
            None => {
                let mut candidates = self
                    .by_kid
                    .values()
                    .chain(self.without_kid.iter())
                    .filter(|k| k.accepts(alg));
                let first = candidates.next()?;
                candidates.next().is_none().then_some(first)
            }
        }
    }

    /// Number of accepted keys.
    pub fn len(&self) -> usize {
        self.by_kid.len() + self.without_kid.len()
    }

    /// Whether no key was accepted.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `kid`s of the accepted keys.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.by_kid.keys().map(|k| &**k)
    }

    /// The keys the parser refused, with the reason.
    pub fn rejected(&self) -> &[RejectedKey] {
        &self.rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponent_rules() {
        assert!(rsa_exponent_ok(&[1, 0, 1]));
        assert!(rsa_exponent_ok(&[3]));
        assert!(!rsa_exponent_ok(&[1]));
        assert!(!rsa_exponent_ok(&[2]));
        assert!(!rsa_exponent_ok(&[]));
        assert!(!rsa_exponent_ok(&[1, 0, 0]));
    }

    #[test]
    fn bit_length() {
        assert_eq!(rsa_bits(&[0x01, 0, 0]), 17);
        assert_eq!(rsa_bits(&[0x80; 256]), 2048);
        assert_eq!(rsa_bits(&[]), 0);
    }

    #[test]
    fn roca_rejects_a_product_of_the_generator() {
        // 65537^k for small k is in the subgroup for every prime by
        // construction; a value such as 65537^3 has the fingerprint.
        let v: u128 = 65537u128.pow(3);
        let bytes = v.to_be_bytes();
        assert!(roca_fingerprint(&bytes));
        // 3 is 0 modulo 3, and 0 is in no multiplicative subgroup.
        assert!(!roca_fingerprint(&[3]));
        // A modulus divisible by a small prime never has the fingerprint.
        assert!(!roca_fingerprint(&[0x01, 0x00, 0x05]));
    }

    #[test]
    fn non_objects_are_malformed() {
        assert_eq!(
            VerifyingKey::from_jwk(&serde_json::json!("x")).unwrap_err(),
            KeyRejection::Malformed
        );
        assert_eq!(
            VerifyingKey::from_jwk(&serde_json::json!({"kty": "RSA"})).unwrap_err(),
            KeyRejection::InvalidKey
        );
    }

    #[test]
    fn not_a_jwks() {
        assert_eq!(
            KeySet::from_jwks_json(b"{").unwrap_err(),
            JwksParseError::NotJson
        );
        assert_eq!(
            KeySet::from_jwks_json(b"{}").unwrap_err(),
            JwksParseError::NoKeysArray
        );
    }
}
