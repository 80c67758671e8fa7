//! Signing keys of the emulated environment (RS256, `snk_…` kids).

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::EmulatorError;

/// One RSA signing key.
pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pair: RsaKeyPair,
    pub(crate) published: bool,
}

impl SigningKey {
    pub(crate) fn generate() -> Result<Self, EmulatorError> {
        let pair =
            RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| EmulatorError::KeyGeneration)?;
        Ok(SigningKey {
            kid: crate::ids::id("snk"),
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

    /// Signs `header.payload` (both already base64url) with RS256.
    pub(crate) fn sign(&self, signing_input: &str) -> Result<String, EmulatorError> {
        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| EmulatorError::Signing)?;
        Ok(URL_SAFE_NO_PAD.encode(signature))
    }
}

/// Serializes and signs a JWT: `header` gets `alg: RS256` and the key's `kid`
/// unless it sets them itself.
pub(crate) fn sign_jwt(
    key: &SigningKey,
    header: &Value,
    claims: &Value,
) -> Result<String, EmulatorError> {
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
