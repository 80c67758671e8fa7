//! Identifiers shaped like the platform's (a prefix and 18 random digits),
//! and random secrets.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// A random id such as `snk_482019374650192837`.
pub(crate) fn id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    // The system random source does not fail on supported platforms; a
    // failure leaves zeros, which still yields a well-formed id.
    let _ = SystemRandom::new().fill(&mut bytes);
    let n = u64::from_le_bytes(bytes) % 1_000_000_000_000_000_000;
    format!("{prefix}_{n:018}")
}

/// A random URL-safe secret of 32 bytes.
pub(crate) fn secret() -> Result<String, crate::EmulatorError> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| crate::EmulatorError::Random)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// 32 random bytes: authorization codes and refresh tokens.
pub(crate) fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    // getrandom does not fail on supported platforms; the code would still be
    // unique enough for a local emulator if it did.
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes
}
