//! Each typed validation failure, from a token crafted against the emulator.

use crate::common;

use std::time::Duration;

use jsonwebtoken::{EncodingKey, Header};
use scalekit_core::outcome::Challenge;
use scalekit_core::{
    AccessTokenClaims, Algorithm, AlgorithmSet, JwksOptions, Malformed, TokenValidator,
    ValidationError, ValidationOptions,
};
use serde_json::json;

use common::{b64, now};

async fn setup() -> (scalekit_emulator::Emulator, TokenValidator) {
    let emulator = common::emulator().await;
    let validator = common::validator(&emulator, JwksOptions::default());
    (emulator, validator)
}

async fn refused(validator: &TokenValidator, token: &str) -> ValidationError {
    validator
        .validate::<AccessTokenClaims>(token)
        .await
        .expect_err("the token must be refused")
}

#[tokio::test]
async fn a_valid_token_is_accepted_with_its_claims() {
    let (emulator, validator) = setup().await;
    let token = emulator
        .mint_access_token(json!({"permissions": ["admin:read"], "tenant": "acme"}))
        .unwrap();
    let claims: AccessTokenClaims = validator.validate(&token).await.unwrap();
    assert_eq!(
        claims.sub.as_deref(),
        Some(emulator.test_user().id.as_str())
    );
    assert_eq!(claims.iss, emulator.url());
    assert!(claims.aud.contains(emulator.client_id()));
    assert_eq!(claims.permissions, ["admin:read"]);
    assert_eq!(claims.custom["tenant"], "acme");
    assert_eq!(
        claims.oid.as_deref(),
        Some(emulator.test_user().organization_id.as_str())
    );
}

#[tokio::test]
async fn alg_none_is_refused() {
    let (emulator, validator) = setup().await;
    let claims = emulator.access_token_claims(json!({}));
    for alg in ["none", "None", "NONE"] {
        let header = json!({"alg": alg, "kid": emulator.active_kid()});
        let token = format!("{}.{}.", b64(header.to_string()), b64(claims.to_string()));
        assert_eq!(
            refused(&validator, &token).await,
            ValidationError::UnsupportedAlgorithm
        );
    }
}

#[tokio::test]
async fn hs256_signed_with_the_public_key_bytes_is_refused() {
    let (emulator, validator) = setup().await;
    let claims = emulator.access_token_claims(json!({}));
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(emulator.active_kid());
    let der = emulator.active_public_key_der();
    let jwk = serde_json::to_vec(&emulator.active_kid()).unwrap();
    for secret in [der.as_slice(), jwk.as_slice()] {
        let token =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
        assert_eq!(
            refused(&validator, &token).await,
            ValidationError::UnsupportedAlgorithm
        );
        // Even a caller that widens the allow-list to everything we verify
        // cannot let an HMAC token through.
        let wide = ValidationOptions::new(emulator.url()).algorithms(AlgorithmSet::all());
        assert_eq!(
            validator
                .validate_with::<AccessTokenClaims>(&token, &wide)
                .await
                .unwrap_err(),
            ValidationError::UnsupportedAlgorithm
        );
    }
}

#[tokio::test]
async fn an_unknown_kid_is_refused() {
    let (emulator, validator) = setup().await;
    let claims = emulator.access_token_claims(json!({}));
    let token = emulator
        .sign_with_header(&json!({"kid": "snk_000000000000000000"}), &claims)
        .unwrap();
    assert_eq!(
        refused(&validator, &token).await,
        ValidationError::UnknownKey {
            kid: Some("snk_000000000000000000".into())
        }
    );
}

#[tokio::test]
async fn a_tampered_payload_is_refused() {
    let (emulator, validator) = setup().await;
    let token = emulator
        .mint_access_token(json!({"roles": ["member"]}))
        .unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let forged = emulator.access_token_claims(json!({"roles": ["admin"]}));
    parts[1] = b64(forged.to_string());
    assert_eq!(
        refused(&validator, &parts.join(".")).await,
        ValidationError::BadSignature
    );

    // One flipped bit of the signature.
    let mut sig = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        token.rsplit('.').next().unwrap(),
    )
    .unwrap();
    sig[10] ^= 1;
    let (input, _) = token.rsplit_once('.').unwrap();
    let flipped = format!("{input}.{}", b64(sig));
    assert_eq!(
        refused(&validator, &flipped).await,
        ValidationError::BadSignature
    );
}

#[tokio::test]
async fn expiry_and_not_before_respect_the_leeway() {
    let (emulator, validator) = setup().await;
    let expired = emulator
        .mint_access_token(json!({"exp": now() - 120}))
        .unwrap();
    assert_eq!(
        refused(&validator, &expired).await,
        ValidationError::Expired
    );
    let within_leeway = emulator
        .mint_access_token(json!({"exp": now() - 30}))
        .unwrap();
    assert!(
        validator
            .validate::<AccessTokenClaims>(&within_leeway)
            .await
            .is_ok()
    );
    let strict = ValidationOptions::new(emulator.url()).leeway(Duration::ZERO);
    assert_eq!(
        validator
            .validate_with::<AccessTokenClaims>(&within_leeway, &strict)
            .await
            .unwrap_err(),
        ValidationError::Expired
    );

    let future = emulator
        .mint_access_token(json!({"nbf": now() + 300}))
        .unwrap();
    assert_eq!(
        refused(&validator, &future).await,
        ValidationError::NotYetValid
    );

    let no_exp = emulator.mint_access_token(json!({"exp": null})).unwrap();
    assert_eq!(
        refused(&validator, &no_exp).await,
        ValidationError::MissingClaim("exp")
    );
}

#[tokio::test]
async fn a_wrong_issuer_is_refused() {
    let (emulator, validator) = setup().await;
    let token = emulator
        .mint_access_token(json!({"iss": "https://evil.example"}))
        .unwrap();
    assert_eq!(
        refused(&validator, &token).await,
        ValidationError::WrongIssuer
    );
    // A trailing slash on either side does not matter.
    let slashed = emulator
        .mint_access_token(json!({"iss": format!("{}/", emulator.url())}))
        .unwrap();
    assert!(
        validator
            .validate::<AccessTokenClaims>(&slashed)
            .await
            .is_ok()
    );
    // A list of issuers (custom-domain moves).
    let moved = emulator
        .mint_access_token(json!({"iss": "https://auth.acme.example"}))
        .unwrap();
    let both = ValidationOptions::new(emulator.url())
        .also_issuer("https://auth.acme.example/")
        .audience(emulator.client_id());
    assert!(
        validator
            .validate_with::<AccessTokenClaims>(&moved, &both)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_wrong_audience_is_refused() {
    let (emulator, validator) = setup().await;
    let token = emulator.mint_access_token(json!({})).unwrap();
    let other = ValidationOptions::new(emulator.url()).audience("skc_someone_else");
    assert_eq!(
        validator
            .validate_with::<AccessTokenClaims>(&token, &other)
            .await
            .unwrap_err(),
        ValidationError::WrongAudience
    );
    let any_of = ValidationOptions::new(emulator.url())
        .audience("skc_someone_else")
        .audience(emulator.client_id());
    assert!(
        validator
            .validate_with::<AccessTokenClaims>(&token, &any_of)
            .await
            .is_ok()
    );
    let string_aud = emulator
        .mint_access_token(json!({"aud": "https://api.example"}))
        .unwrap();
    let api = ValidationOptions::new(emulator.url()).audience("https://api.example");
    assert!(
        validator
            .validate_with::<AccessTokenClaims>(&string_aud, &api)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_token_over_the_size_limit_is_refused() {
    let (emulator, validator) = setup().await;
    let token = emulator
        .mint_access_token(json!({"padding": "x".repeat(16 * 1024)}))
        .unwrap();
    assert!(token.len() > 16 * 1024);
    assert_eq!(
        refused(&validator, &token).await,
        ValidationError::Malformed(Malformed::TooLarge)
    );
}

#[tokio::test]
async fn a_non_json_payload_is_refused() {
    let (emulator, validator) = setup().await;
    let token = emulator.sign_raw_payload(b"this is not json").unwrap();
    assert_eq!(
        refused(&validator, &token).await,
        ValidationError::Malformed(Malformed::PayloadNotJson)
    );
    let wrong_shape = emulator
        .mint_access_token(json!({"roles": "admin"}))
        .unwrap();
    assert_eq!(
        refused(&validator, &wrong_shape).await,
        ValidationError::Malformed(Malformed::Claims)
    );
}

#[tokio::test]
async fn header_alg_must_fit_the_key_and_crit_is_refused() {
    let (emulator, validator) = setup().await;
    let claims = emulator.access_token_claims(json!({}));
    // The RS256 key cannot verify a token claiming PS256, even when PS256 is
    // allowed.
    let token = emulator
        .sign_with_header(&json!({"alg": "PS256"}), &claims)
        .unwrap();
    let ps = ValidationOptions::new(emulator.url())
        .audience(emulator.client_id())
        .algorithms(AlgorithmSet::from_iter([
            Algorithm::RS256,
            Algorithm::PS256,
        ]));
    assert_eq!(
        validator
            .validate_with::<AccessTokenClaims>(&token, &ps)
            .await
            .unwrap_err(),
        ValidationError::KeyAlgorithmMismatch
    );
    assert_eq!(
        refused(&validator, &token).await,
        ValidationError::UnsupportedAlgorithm
    );
    let crit = emulator
        .sign_with_header(&json!({"crit": ["exp"], "exp": 1}), &claims)
        .unwrap();
    assert_eq!(
        refused(&validator, &crit).await,
        ValidationError::UnsupportedCriticalHeader
    );
}

#[tokio::test]
async fn every_refusal_has_a_fixed_rfc6750_answer() {
    let (emulator, validator) = setup().await;
    let token = emulator
        .mint_access_token(json!({"exp": now() - 3600, "sub": "<script>"}))
        .unwrap();
    let err = refused(&validator, &token).await;
    let answer = err.outcome(&Challenge::new("api"));
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.header("www-authenticate"),
        Some(
            r#"Bearer realm="api", error="invalid_token", error_description="The access token has expired.""#
        )
    );
    assert_eq!(
        answer.body_json(),
        r#"{"error":"invalid_token","error_description":"The access token has expired."}"#
    );
}

#[tokio::test]
async fn every_single_character_mutation_is_refused_without_panicking() {
    let (emulator, validator) = setup().await;
    let token = emulator.mint_access_token(json!({})).unwrap();
    validator
        .validate::<AccessTokenClaims>(&token)
        .await
        .unwrap();
    let alphabet = b"Aa0_-.=+/ \x00";
    let bytes = token.as_bytes();
    let mut refused_count = 0;
    for i in 0..bytes.len() {
        for &c in alphabet {
            if bytes[i] == c {
                continue;
            }
            let mut mutated = bytes.to_vec();
            mutated[i] = c;
            let mutated = String::from_utf8(mutated).unwrap();
            let result = validator.validate::<AccessTokenClaims>(&mutated).await;
            assert!(result.is_err(), "mutation at {i} to {c:?} accepted");
            refused_count += 1;
        }
        // Truncation at every position.
        assert!(
            validator
                .validate::<AccessTokenClaims>(&token[..i])
                .await
                .is_err()
        );
    }
    assert!(refused_count > 5 * bytes.len());
}

#[tokio::test]
async fn an_id_token_validates_for_the_client_audience() {
    let (emulator, validator) = setup().await;
    let token = emulator
        .mint_id_token(json!({"nonce": "n-0S6_WzA2Mj"}))
        .unwrap();
    let options = ValidationOptions::new(emulator.url())
        .audience(emulator.client_id())
        .purpose(scalekit_core::TokenPurpose::Id);
    // As an access token, an ID token is refused whatever its audience.
    assert_eq!(
        validator
            .validate::<AccessTokenClaims>(&token)
            .await
            .unwrap_err(),
        ValidationError::WrongTokenType
    );
    let claims: scalekit_core::IdTokenClaims =
        validator.validate_with(&token, &options).await.unwrap();
    assert_eq!(claims.sub, emulator.test_user().id);
    assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
    assert_eq!(claims.email_verified, Some(true));
    assert_eq!(claims.nonce.as_deref(), Some("n-0S6_WzA2Mj"));
    assert!(claims.aud.contains(emulator.client_id()));
}

#[tokio::test]
async fn the_verified_token_cache_still_checks_everything_but_the_signature() {
    let emulator = common::emulator().await;
    let options = ValidationOptions::new(emulator.url())
        .audience(emulator.client_id())
        .leeway(Duration::ZERO);
    let validator = TokenValidator::new(
        common::cache(&emulator, JwksOptions::default()),
        options.clone(),
    )
    .with_verified_cache(1000, Duration::from_secs(60));
    let token = emulator
        .mint_access_token(json!({"exp": now() + 2}))
        .unwrap();
    for _ in 0..3 {
        validator
            .validate::<AccessTokenClaims>(&token)
            .await
            .unwrap();
    }
    // A cached token is still held to the options of each call.
    let other_aud = options.clone().only_audience("skc_someone_else");
    assert_eq!(
        validator
            .validate_with::<AccessTokenClaims>(&token, &other_aud)
            .await
            .unwrap_err(),
        ValidationError::WrongAudience
    );
    let no_rs256 = options
        .clone()
        .algorithms(AlgorithmSet::from_iter([Algorithm::PS256]));
    assert_eq!(
        validator
            .validate_with::<AccessTokenClaims>(&token, &no_rs256)
            .await
            .unwrap_err(),
        ValidationError::UnsupportedAlgorithm
    );
    // A tampered copy is a different token: verified, and refused.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = b64(emulator
        .access_token_claims(json!({"roles": ["admin"]}))
        .to_string());
    assert_eq!(
        validator
            .validate::<AccessTokenClaims>(&parts.join("."))
            .await
            .unwrap_err(),
        ValidationError::BadSignature
    );
    // Expiry is checked on every call.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        validator
            .validate::<AccessTokenClaims>(&token)
            .await
            .unwrap_err(),
        ValidationError::Expired
    );
}
