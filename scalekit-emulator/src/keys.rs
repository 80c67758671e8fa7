//! Signing keys of the emulated environment (RS256, `snk_…` kids).
//!
//! Tokens are signed by the `jsonwebtoken` crate, an implementation
//! independent of the verifier under test: every test that checks an
//! emulator token checks one made by other code than ours.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::EmulatorError;

/// One RSA signing key.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pair: RsaKeyPair,
    encoding: EncodingKey,
    pub(crate) published: bool,
}

impl SigningKey {
    pub(crate) fn generate() -> Result<Self, EmulatorError> {
        let pair =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| EmulatorError::KeyGeneration)?;
        let pkcs8 = pair.as_der().map_err(|_| EmulatorError::KeyGeneration)?;
        let pkcs1 = pkcs1_of_pkcs8(pkcs8.as_ref()).ok_or(EmulatorError::KeyGeneration)?;
        Ok(SigningKey {
            kid: crate::ids::id("snk"),
            encoding: EncodingKey::from_rsa_der(pkcs1),
            pair,
            published: true,
        })
    }

    /// The public JWK, as the platform publishes it.
    pub(crate) fn jwk(&self) -> Value {
        let public = self.pair.public_key();
        json!({
            "use": "sig",
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        })
    }

    /// The DER of the PKCS#1 `RSAPublicKey` (what some libraries take as an
    /// HMAC secret in key-confusion attacks).
    pub(crate) fn public_key_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Verifies an RS256 signature made by this key.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            self.pair.public_key().as_ref(),
        )
        .verify(message, signature)
        .is_ok()
    }

    /// The RS256 signature (base64url) of `signing_input`, by `jsonwebtoken`.
    fn sign(&self, signing_input: &str) -> Result<String, EmulatorError> {
        jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.encoding, Algorithm::RS256)
            .map_err(|_| EmulatorError::Signing)
    }
}

/// The `RSAPrivateKey` (PKCS#1) inside a PKCS#8 `PrivateKeyInfo`:
/// `SEQUENCE { INTEGER version, SEQUENCE algorithm, OCTET STRING key, … }`.
fn pkcs1_of_pkcs8(der: &[u8]) -> Option<&[u8]> {
    let (tag, info, _) = tlv(der)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, _, rest) = tlv(info)?;
    if tag != 0x02 {
        return None;
    }
    let (tag, _, rest) = tlv(rest)?;
    if tag != 0x30 {
        return None;
    }
    let (tag, key, _) = tlv(rest)?;
    (tag == 0x04).then_some(key)
}

/// One DER element: its tag, its content and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, after) = rest.split_at(count);
        rest = after;
        bytes.iter().fold(0usize, |n, &b| (n << 8) | usize::from(b))
    };
    if rest.len() < len {
        return None;
    }
    let (content, after) = rest.split_at(len);
    Some((tag, content, after))
}

/// Serializes and signs a JWT. With an empty `header` the token is made by
/// `jsonwebtoken::encode` (`alg: RS256`, `typ: JWT`, the key's `kid`);
/// otherwise `header` gets those three unless it sets them itself, and is
/// signed as given (RS256 whatever its `alg` says).
pub(crate) fn sign_jwt(
    key: &SigningKey,
    header: &Value,
    claims: &Value,
) -> Result<String, EmulatorError> {
    if header.as_object().is_some_and(serde_json::Map::is_empty) {
        let mut standard = Header::new(Algorithm::RS256);
        standard.kid = Some(key.kid.clone());
        return jsonwebtoken::encode(&standard, claims, &key.encoding)
            .map_err(|_| EmulatorError::Signing);
    }
    let mut header = header.clone();
    if let Some(map) = header.as_object_mut() {
        map.entry("alg").or_insert_with(|| json!("RS256"));
        map.entry("typ").or_insert_with(|| json!("JWT"));
        map.entry("kid").or_insert_with(|| json!(key.kid));
    }
    let header = serde_json::to_vec(&header).map_err(|_| EmulatorError::Signing)?;
    let claims = serde_json::to_vec(claims).map_err(|_| EmulatorError::Signing)?;
    sign_raw(key, &header, &claims)
}

/// Signs arbitrary header and payload bytes (the payload need not be JSON).
pub(crate) fn sign_raw(
    key: &SigningKey,
    header: &[u8],
    payload: &[u8],
) -> Result<String, EmulatorError> {
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let signature = key.sign(&signing_input)?;
    Ok(format!("{signing_input}.{signature}"))
}

/// Verifies a token signed by one of `keys` (published or not) and issued
/// by `issuer`, and returns its claims.
pub(crate) fn verify_own_token(keys: &[SigningKey], issuer: &str, token: &str) -> Option<Value> {
    let (input, signature) = token.rsplit_once('.')?;
    let (header, payload) = input.split_once('.')?;
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    let kid = header.get("kid")?.as_str()?;
    if header.get("alg")?.as_str()? != "RS256" {
        return None;
    }
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    if !keys
        .iter()
        .find(|k| k.kid == kid)
        .is_some_and(|k| k.verify(input.as_bytes(), &signature))
    {
        return None;
    }
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.get("iss")?.as_str()? == issuer).then_some(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_signed_by_jsonwebtoken_verifies_with_the_published_key() {
        let key = SigningKey::generate().unwrap();
        let token = sign_jwt(
            &key,
            &json!({}),
            &json!({"sub": "usr_1", "exp": 4_000_000_000u64}),
        )
        .unwrap();
        let (input, signature) = token.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert!(key.verify(input.as_bytes(), &signature));
        let header: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(input.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], key.kid.as_str());
        // A header of one's own is signed as given.
        let odd = sign_jwt(&key, &json!({"alg": "HS256", "x": 1}), &json!({})).unwrap();
        let (input, signature) = odd.rsplit_once('.').unwrap();
        assert!(key.verify(
            input.as_bytes(),
            &URL_SAFE_NO_PAD.decode(signature).unwrap()
        ));
    }

    #[test]
    fn own_tokens_verify_by_kid_and_issuer() {
        let key = SigningKey::generate().unwrap();
        let keys = [key];
        let claims = json!({"iss": "http://127.0.0.1:1", "sub": "usr_1"});
        let token = sign_jwt(&keys[0], &json!({}), &claims).unwrap();
        assert_eq!(
            verify_own_token(&keys, "http://127.0.0.1:1", &token),
            Some(claims)
        );
        // Another issuer, another key, a broken signature: refused.
        assert!(verify_own_token(&keys, "http://127.0.0.1:2", &token).is_none());
        assert!(verify_own_token(&[], "http://127.0.0.1:1", &token).is_none());
        let forged = format!("{}AAAA", token.trim_end_matches(|c| c != '.'));
        assert!(verify_own_token(&keys, "http://127.0.0.1:1", &forged).is_none());
    }

    #[test]
    fn malformed_der_is_refused() {
        assert!(pkcs1_of_pkcs8(&[]).is_none());
        assert!(pkcs1_of_pkcs8(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert!(pkcs1_of_pkcs8(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_none());
        assert!(pkcs1_of_pkcs8(&[0x04, 0x00]).is_none());
    }
}
