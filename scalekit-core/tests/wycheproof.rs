//! Wycheproof JWK and JWS vectors (`tests/data/wycheproof/`, committed with
//! their licence and provenance) against the JWKS parser and the
//! key-and-signature path.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scalekit_core::jwk::KeyRejection;
use scalekit_core::{Algorithm, AlgorithmSet, KeySet, ValidationError, verify_jws};
use serde::Deserialize;

#[derive(Deserialize)]
struct File {
    #[serde(rename = "testGroups")]
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    comment: String,
    private: Option<serde_json::Value>,
    public: Option<serde_json::Value>,
    tests: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    #[serde(rename = "tcId")]
    id: u32,
    comment: String,
    jws: String,
    result: String,
}

fn load(name: &str) -> File {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/wycheproof")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid Wycheproof JSON")
}

/// The `alg` of a compact JWS header, when it has one we can read.
fn header_alg(jws: &str) -> Option<String> {
    let header = URL_SAFE_NO_PAD.decode(jws.split('.').next()?).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&header).ok()?;
    value.get("alg")?.as_str().map(str::to_owned)
}

fn as_key_set(keys: &serde_json::Value) -> KeySet {
    if keys.get("keys").is_some() {
        KeySet::from_jwks_json(keys.to_string().as_bytes()).expect("a JWKS document")
    } else {
        KeySet::from_jwks(std::slice::from_ref(keys))
    }
}

#[test]
fn json_web_key_vectors() {
    let file = load("json_web_key_test.json");
    // The reason each key-level invalid vector must be refused for.
    let expected_rejection: BTreeMap<u32, KeyRejection> = [
        (6, KeyRejection::WrongUse),
        (7, KeyRejection::RocaVulnerable),
        (8, KeyRejection::RsaKeySize),
        (9, KeyRejection::RsaExponent),
        (19, KeyRejection::UnsupportedAlgorithm),
        (20, KeyRejection::UnsupportedAlgorithm),
        (21, KeyRejection::WrongUse),
        (22, KeyRejection::InvalidKey),
        (23, KeyRejection::AlgorithmMismatch),
        (24, KeyRejection::InvalidKey),
        (25, KeyRejection::SymmetricKey),
        (26, KeyRejection::SymmetricKey),
    ]
    .into_iter()
    .collect();

    let (mut accepted, mut refused, mut symmetric_by_policy) = (0, 0, 0);
    for group in &file.groups {
        let keys = group
            .public
            .as_ref()
            .or(group.private.as_ref())
            .expect("a key set");
        let set = as_key_set(keys);
        for case in &group.tests {
            let result = verify_jws(&case.jws, &set, AlgorithmSet::all());
            let label = format!("tcId {} ({}, {})", case.id, group.comment, case.comment);
            if let Some(reason) = expected_rejection.get(&case.id) {
                assert!(
                    set.rejected().iter().any(|r| r.reason == *reason),
                    "{label}: expected the key refused as {reason:?}, got {:?}",
                    set.rejected()
                );
            }
            match case.result.as_str() {
                "valid" => {
                    let only_symmetric = set.is_empty()
                        && !set.rejected().is_empty()
                        && set
                            .rejected()
                            .iter()
                            .all(|r| r.reason == KeyRejection::SymmetricKey);
                    if only_symmetric {
                        // Policy (DESIGN.md): symmetric keys are never
                        // accepted from a key set, so HMAC vectors are
                        // refused with that precise reason.
                        assert_eq!(
                            result,
                            Err(ValidationError::UnsupportedAlgorithm),
                            "{label}"
                        );
                        symmetric_by_policy += 1;
                    } else {
                        assert!(result.is_ok(), "{label}: valid vector refused: {result:?}");
                        accepted += 1;
                    }
                }
                _ => {
                    assert!(result.is_err(), "{label}: invalid vector accepted");
                    refused += 1;
                }
            }
        }
    }
    assert_eq!(accepted + refused + symmetric_by_policy, 26);
    assert_eq!(accepted, 1, "the one valid asymmetric key set");
    assert_eq!(symmetric_by_policy, 4);
}

#[test]
fn json_web_signature_vectors() {
    let file = load("json_web_signature_test.json");
    let mut stats: BTreeMap<String, (u32, u32)> = BTreeMap::new();
    let mut skipped_unsupported_valid = 0;
    const CONTRADICTING: [u32; 2] = [346, 350];
    let mut contradicting = 0;
    for group in &file.groups {
        let set = match &group.public {
            Some(public) => as_key_set(public),
            // HMAC groups carry only a secret key: no key set of ours holds
            // one, so every vector is refused.
            None => KeySet::default(),
        };
        for case in &group.tests {
            let label = format!("tcId {} ({}, {})", case.id, group.comment, case.comment);
            let alg = header_alg(&case.jws).unwrap_or_default();
            let supported = alg.parse::<Algorithm>().is_ok();
            let result = verify_jws(&case.jws, &set, AlgorithmSet::all());
            let entry = stats.entry(alg.clone()).or_default();
            match (case.result.as_str(), supported) {
                ("valid", true) if CONTRADICTING.contains(&case.id) => {
                    // These sign with PS384 under a key that declares PS256;
                    // tcIds 331-340 ("WrongPrimitive") mark the same relation
                    // invalid (PS256 under a key declaring PS512). We follow
                    // the strict rule: a declared key `alg` is binding.
                    assert_eq!(
                        result,
                        Err(ValidationError::KeyAlgorithmMismatch),
                        "{label}"
                    );
                    contradicting += 1;
                }
                ("valid", true) => {
                    let payload = result.unwrap_or_else(|e| panic!("{label}: refused: {e:?}"));
                    let expected = URL_SAFE_NO_PAD
                        .decode(case.jws.split('.').nth(1).unwrap_or_default())
                        .expect("payload base64");
                    assert_eq!(payload, expected, "{label}");
                    entry.0 += 1;
                }
                ("valid", false) => {
                    // HS256 and ES512 are not algorithms this library verifies.
                    assert!(result.is_err(), "{label}");
                    skipped_unsupported_valid += 1;
                }
                _ => {
                    assert!(result.is_err(), "{label}: invalid vector accepted");
                    entry.1 += 1;
                }
            }
        }
    }
    let total: u32 = stats.values().map(|(a, r)| a + r).sum();
    assert_eq!(total + skipped_unsupported_valid + contradicting, 401);
    assert_eq!(contradicting, 2);
    // Spot-check that the families we support were exercised both ways.
    for alg in ["RS256", "PS256", "PS512", "ES256"] {
        let (accepted, refused) = stats.get(alg).copied().unwrap_or_default();
        assert!(
            accepted > 0 && refused > 0,
            "{alg}: {accepted} accepted, {refused} refused"
        );
    }
    assert!(
        stats["RS256"].1 >= 213,
        "all modified-padding RS256 vectors refused"
    );
}
