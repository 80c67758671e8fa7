//! The verified-token cache: a hit skips the signature check and nothing
//! else. Each test counts signature checks to tell hits from misses.

use crate::common;

use std::time::Duration;

use scalekit_core::{
    AccessTokenClaims, Algorithm, AlgorithmSet, JwksOptions, KeySource, TokenPurpose,
    TokenValidator, ValidationError, ValidationOptions,
};
use scalekit_emulator::{Emulator, Rotation};
use serde_json::json;

fn cached_validator(emulator: &Emulator, capacity: u64) -> TokenValidator {
    common::validator(emulator, JwksOptions::default())
        .with_verified_cache(capacity, Duration::from_secs(300))
}

async fn validate(validator: &TokenValidator, token: &str) -> Result<(), ValidationError> {
    validator
        .validate::<AccessTokenClaims>(token)
        .await
        .map(|_| ())
}

/// [`validate`] on a new thread (with its own front of the cache).
fn on_another_thread(validator: &TokenValidator, token: &str) -> Result<(), ValidationError> {
    let (validator, token) = (validator.clone(), token.to_owned());
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { validate(&validator, &token).await })
    })
    .join()
    .unwrap()
}

#[tokio::test]
async fn a_second_validation_is_a_hit_with_the_same_claims() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 100);
    let token = emulator
        .mint_access_token(json!({"permissions": ["a:b"], "tenant": "acme"}))
        .unwrap();
    let first = validator.validate_access(&token).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);
    let again = validator.validate_access(&token).await.unwrap();
    let typed: AccessTokenClaims = validator.validate(&token).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);
    assert!(std::sync::Arc::ptr_eq(&first.claims, &again.claims));
    assert_eq!(*again.claims, typed);
    let payload: serde_json::Value = serde_json::from_slice(&again.payload).unwrap();
    assert_eq!(payload["tenant"], "acme");
    assert!(std::sync::Arc::ptr_eq(&first.payload, &again.payload));
    assert_eq!(typed.permissions, ["a:b"]);
    // Off: every call checks the signature.
    let uncached = validator.clone().without_verified_cache();
    validate(&uncached, &token).await.unwrap();
    validate(&uncached, &token).await.unwrap();
    assert_eq!(uncached.signature_checks(), 3);
}

#[tokio::test]
async fn a_cached_token_is_refused_after_its_exp() {
    let emulator = common::emulator().await;
    let validator = common::validator(&emulator, JwksOptions::default())
        .with_options(
            ValidationOptions::new(emulator.url())
                .audience(emulator.client_id())
                .leeway(Duration::ZERO),
        )
        .with_verified_cache(100, Duration::from_secs(300));
    let token = emulator
        .mint_access_token(json!({"exp": common::now() + 1}))
        .unwrap();
    validate(&validator, &token).await.unwrap();
    validate(&validator, &token).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        validate(&validator, &token).await,
        Err(ValidationError::Expired)
    );
}

#[tokio::test]
async fn a_cached_token_is_refused_once_its_key_is_withdrawn() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 100);
    let token = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &token).await.unwrap();
    validate(&validator, &token).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);

    // Rotated and kept: the refetched key set holds another parsed copy of
    // the same key, so the token is verified again, once, and still valid.
    emulator.rotate_keys(Rotation::KeepOld).await.unwrap();
    let KeySource::Remote(cache) = validator.keys() else {
        panic!("a remote key source");
    };
    cache.refresh().await.unwrap();
    validate(&validator, &token).await.unwrap();
    validate(&validator, &token).await.unwrap();
    assert_eq!(validator.signature_checks(), 2);

    // Withdrawn: the entry is unusable as soon as the key set lacks the key.
    emulator.rotate_keys(Rotation::WithdrawOld).await.unwrap();
    cache.refresh().await.unwrap();
    assert!(matches!(
        validate(&validator, &token).await,
        Err(ValidationError::UnknownKey { .. })
    ));
    assert_eq!(validator.signature_checks(), 2);
}

#[tokio::test]
async fn static_and_per_issuer_key_sets_are_checked_on_a_hit() {
    let emulator = common::emulator().await;
    let jwks = reqwest::get(format!("{}/keys", emulator.url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let keys = scalekit_core::KeySet::from_jwks_json(&jwks).unwrap();
    let options = ValidationOptions::new(emulator.url()).audience(emulator.client_id());
    let validator = TokenValidator::new(keys, options.clone())
        .with_verified_cache(100, Duration::from_secs(300));
    let token = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &token).await.unwrap();
    validate(&validator, &token).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);
    // Per issuer, over the same keys: still a hit (the same parsed key).
    let per_issuer = TokenValidator::new(
        KeySource::per_issuer([(emulator.url(), validator.keys().clone())]),
        options,
    )
    .with_verified_cache(100, Duration::from_secs(300));
    validate(&per_issuer, &token).await.unwrap();
    validate(&per_issuer, &token).await.unwrap();
    assert_eq!(per_issuer.signature_checks(), 1);
}

#[tokio::test]
async fn a_cached_token_is_checked_against_each_configuration() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 100);
    let token = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &token).await.unwrap();
    let base = || ValidationOptions::new(emulator.url()).audience(emulator.client_id());
    let refused = |options: ValidationOptions| {
        let validator = validator.clone();
        let token = token.clone();
        async move {
            validator
                .validate_with::<AccessTokenClaims>(&token, &options)
                .await
                .unwrap_err()
        }
    };
    assert_eq!(
        refused(ValidationOptions::new(emulator.url()).only_audience("skc_other")).await,
        ValidationError::WrongAudience
    );
    assert_eq!(
        refused(ValidationOptions::new("https://other.example").audience(emulator.client_id()))
            .await,
        ValidationError::WrongIssuer
    );
    assert_eq!(
        refused(base().purpose(TokenPurpose::IdpInitiatedLogin)).await,
        ValidationError::WrongTokenType
    );
    assert_eq!(
        refused(base().algorithms(AlgorithmSet::from_iter([Algorithm::PS256]))).await,
        ValidationError::UnsupportedAlgorithm
    );
    // Every refusal above came from the cached entry.
    assert_eq!(validator.signature_checks(), 1);
    validate(&validator, &token).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);
}

#[tokio::test]
async fn ten_thousand_forged_tokens_do_not_evict_a_valid_one() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 100);
    let valid = emulator.mint_access_token(json!({})).unwrap();
    for _ in 0..3 {
        validate(&validator, &valid).await.unwrap();
    }
    assert_eq!(validator.signature_checks(), 1);
    // Forgeries with the real key id and distinct payloads: each reaches
    // the signature check and fails it.
    let (signing_input, signature) = valid.rsplit_once('.').unwrap();
    let header = signing_input.split('.').next().unwrap();
    for i in 0..10_000 {
        let claims = emulator.access_token_claims(json!({"jti": format!("forged-{i}")}));
        let forged = format!("{header}.{}.{signature}", common::b64(claims.to_string()));
        assert_eq!(
            validate(&validator, &forged).await,
            Err(ValidationError::BadSignature)
        );
    }
    assert_eq!(validator.signature_checks(), 10_001);
    assert_eq!(validator.verified_cache_entries(), 1);
    validate(&validator, &valid).await.unwrap();
    assert_eq!(
        validator.signature_checks(),
        10_001,
        "the valid token is still a hit"
    );
}

#[tokio::test]
async fn the_capacity_bound_holds_and_a_hot_token_stays() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 50);
    let hot = emulator.mint_access_token(json!({})).unwrap();
    for _ in 0..5 {
        validate(&validator, &hot).await.unwrap();
    }
    for i in 0..500 {
        let token = emulator
            .mint_access_token(json!({"jti": format!("tkn_{i}")}))
            .unwrap();
        validate(&validator, &token).await.unwrap();
        validate(&validator, &hot).await.unwrap();
    }
    let entries = validator.verified_cache_entries();
    assert!(entries <= 50, "{entries} entries");
    let checks = validator.signature_checks();
    assert_eq!(checks, 501, "the hot token was verified once");
}

/// A signed token that its claims refuse anyway (expired, for another
/// audience, another issuer) costs no signature check and no key fetch,
/// even with a key id nobody knows: a client that keeps sending its expired
/// token, or a flood of such tokens, cannot make the service do RSA work or
/// hit the platform's `/keys`.
#[tokio::test]
async fn tokens_refused_for_their_claims_cost_no_signature_check_or_key_fetch() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 100);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    validate(&validator, &emulator.mint_access_token(json!({})).unwrap())
        .await
        .unwrap();
    let (checks, fetches) = (
        validator.signature_checks(),
        emulator.request_count(scalekit_emulator::EmulatorEndpoint::Keys),
    );
    let claims = |overrides| emulator.access_token_claims(overrides);
    let unknown_kid = json!({"alg": "RS256", "kid": "snk_nobody_knows"});
    let refused = [
        (
            emulator
                .sign_claims(&claims(
                    json!({"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200}),
                ))
                .unwrap(),
            ValidationError::Expired,
        ),
        (
            emulator
                .sign_with_header(
                    &unknown_kid,
                    &claims(json!({"exp": now - 3600, "iat": now - 7200, "nbf": now - 7200})),
                )
                .unwrap(),
            ValidationError::Expired,
        ),
        (
            emulator
                .sign_with_header(&unknown_kid, &claims(json!({"aud": ["skc_someone_else"]})))
                .unwrap(),
            ValidationError::WrongAudience,
        ),
        (
            emulator
                .sign_with_header(
                    &unknown_kid,
                    &claims(json!({"iss": "https://evil.example"})),
                )
                .unwrap(),
            ValidationError::WrongIssuer,
        ),
    ];
    for (token, expected) in refused {
        for _ in 0..3 {
            assert_eq!(validate(&validator, &token).await, Err(expected.clone()));
        }
    }
    assert_eq!(validator.signature_checks(), checks);
    assert_eq!(
        emulator.request_count(scalekit_emulator::EmulatorEndpoint::Keys),
        fetches
    );
}

/// An entry lives at most the cache's maximum, also where it is served
/// from the calling thread's front of the cache (the hits below).
#[tokio::test]
async fn a_cached_token_is_verified_again_after_the_cache_maximum() {
    let emulator = common::emulator().await;
    let validator = common::validator(&emulator, JwksOptions::default())
        .with_verified_cache(100, Duration::from_secs(1));
    let token = emulator.mint_access_token(json!({})).unwrap();
    for _ in 0..3 {
        validate(&validator, &token).await.unwrap();
    }
    assert_eq!(validator.signature_checks(), 1);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    validate(&validator, &token).await.unwrap();
    validate(&validator, &token).await.unwrap();
    assert_eq!(
        validator.signature_checks(),
        2,
        "verified again, then a hit"
    );
}

/// Waits until just after the start of a second of the Unix clock (the
/// caches count whole seconds).
async fn at_the_start_of_a_second() {
    let into = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis();
    tokio::time::sleep(Duration::from_millis(u64::from(1000 - into) + 20)).await;
}

/// An entry is never served past the cache's maximum counted from its
/// first verification: its admission to the shared cache at its second
/// use does not give it a new lifetime, from the front or from the shared
/// cache.
#[tokio::test]
async fn an_entry_is_never_served_past_the_maximum_from_its_first_verification() {
    let emulator = common::emulator().await;
    let validator = common::validator(&emulator, JwksOptions::default())
        .with_verified_cache(100, Duration::from_secs(3));
    let token = emulator.mint_access_token(json!({})).unwrap();
    at_the_start_of_a_second().await;
    validate(&validator, &token).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The second use: a hit, which admits it to the shared cache.
    validate(&validator, &token).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);
    assert_eq!(validator.verified_cache_entries(), 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // 3.6 s after the first verification: verified again, on this thread
    // and (before this thread's new entry is shared) not served to
    // another from the old one.
    validate(&validator, &token).await.unwrap();
    assert_eq!(validator.signature_checks(), 2);
    on_another_thread(&validator, &token).unwrap();
    assert_eq!(validator.signature_checks(), 2, "the new entry is shared");
}

/// A token used once stays out of the shared cache (the verifying thread's
/// small front holds it); its second use admits it, on the same thread
/// from the front, on another thread by verifying it there once more.
/// After that, every thread finds it.
#[tokio::test]
async fn a_token_enters_the_shared_cache_at_its_second_use() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 100);
    for i in 0..20 {
        let token = emulator
            .mint_access_token(json!({"jti": format!("once_{i}")}))
            .unwrap();
        validate(&validator, &token).await.unwrap();
    }
    assert_eq!(validator.signature_checks(), 20);
    assert_eq!(validator.verified_cache_entries(), 0, "used once each");

    let twice = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &twice).await.unwrap();
    validate(&validator, &twice).await.unwrap();
    assert_eq!(validator.signature_checks(), 21);
    assert_eq!(validator.verified_cache_entries(), 1);

    // On other threads (each with its own front).
    on_another_thread(&validator, &twice).unwrap();
    assert_eq!(
        validator.signature_checks(),
        21,
        "found in the shared cache"
    );

    let elsewhere = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &elsewhere).await.unwrap();
    on_another_thread(&validator, &elsewhere).unwrap();
    assert_eq!(validator.signature_checks(), 23, "verified again there");
    assert_eq!(validator.verified_cache_entries(), 2);
    on_another_thread(&validator, &elsewhere).unwrap();
    assert_eq!(validator.signature_checks(), 23, "then shared");
}

/// A flood of distinct valid tokens, each used once, overwrites the
/// admission doorkeeper's slots and this thread's front but never the
/// shared cache: a token in use is found there by every thread, with no
/// second verification.
#[tokio::test]
async fn a_cached_token_survives_a_flood_of_other_valid_tokens() {
    let emulator = common::emulator().await;
    let validator = cached_validator(&emulator, 100);
    let popular = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &popular).await.unwrap();
    validate(&validator, &popular).await.unwrap();
    assert_eq!(validator.signature_checks(), 1);
    assert_eq!(validator.verified_cache_entries(), 1);

    // Distinct valid tokens, each used once, on this thread: they overwrite
    // the doorkeeper's slots (and this thread's front), never the shared
    // cache.
    for i in 0..3000 {
        let token = emulator
            .mint_access_token(json!({"jti": format!("flood_{i}")}))
            .unwrap();
        validate(&validator, &token).await.unwrap();
    }
    assert_eq!(validator.signature_checks(), 3001);
    assert_eq!(validator.verified_cache_entries(), 1, "used once each");

    for _ in 0..3 {
        on_another_thread(&validator, &popular).unwrap();
    }
    validate(&validator, &popular).await.unwrap();
    assert_eq!(validator.signature_checks(), 3001, "never verified again");
    assert_eq!(validator.verified_cache_entries(), 1);
}

/// What a web layer's gate makes of `authorization` now, without waiting
/// (`None`: the token must be verified first).
fn gate_now(
    web: &scalekit_core::web::WebAuth,
    authorization: &str,
) -> Option<scalekit_core::web::adapter::Gate> {
    let cookies = scalekit_core::session::RequestCookies::default();
    web.gate_now(
        scalekit_core::web::Mode::RequireApi,
        None,
        scalekit_core::web::adapter::AuthorizationHeaders::from(Some(authorization)),
        &cookies,
        "/api",
    )
    .map(|(gate, _)| gate)
}

/// What a web layer's gate makes of `authorization`, waiting if it must.
async fn gate(
    web: &scalekit_core::web::WebAuth,
    authorization: &str,
) -> scalekit_core::web::adapter::Gate {
    let cookies = scalekit_core::session::RequestCookies::default();
    web.gate(
        scalekit_core::web::Mode::RequireApi,
        None,
        scalekit_core::web::adapter::AuthorizationHeaders::from(Some(authorization)),
        &cookies,
        "/api",
    )
    .await
    .0
}

/// The caller a gate serves, or the status it answers with.
fn served(
    gate: scalekit_core::web::adapter::Gate,
) -> Result<std::sync::Arc<scalekit_core::web::Authenticated>, u16> {
    use scalekit_core::web::WebResponse;
    use scalekit_core::web::adapter::Gate;
    match gate {
        Gate::Serve(resolution) => Ok(resolution.caller().cloned().expect("a caller")),
        Gate::Answer(WebResponse::Error { outcome, .. }) => Err(outcome.status),
        Gate::Answer(other) => panic!("unexpected answer {other:?}"),
    }
}

/// A web layer's bearer caller from the cache is the thread's own (one
/// per thread and token, so that requests on different threads share no
/// reference count), and every check of a hit still runs on it: it is
/// refused after its `exp`, and once its key is withdrawn.
#[tokio::test]
async fn a_bearer_caller_is_the_threads_own_and_checked_on_every_request() {
    use scalekit_core::session::{CookieCodec, CookieSettings, SessionManager};
    use scalekit_core::web::WebAuth;
    use std::sync::Arc;

    let emulator = common::emulator().await;
    let config = scalekit_core::ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    let scalekit = scalekit_core::Scalekit::new(config)
        .unwrap()
        .with_validation_options(
            ValidationOptions::new(emulator.url())
                .audience(emulator.client_id())
                .leeway(Duration::ZERO),
        );
    let codec = CookieCodec::new(["0123456789abcdef0123456789abcdef"]).unwrap();
    let sessions = SessionManager::new(
        scalekit.clone(),
        codec,
        CookieSettings::for_base_url("http://localhost:3000"),
    );
    let web = Arc::new(WebAuth::new(scalekit, sessions, "http://localhost:3000"));
    let long = format!("Bearer {}", emulator.mint_access_token(json!({})).unwrap());
    let short = format!(
        "Bearer {}",
        emulator
            .mint_access_token(json!({"exp": common::now() + 1}))
            .unwrap()
    );
    let checks = || web.scalekit().validator().signature_checks();

    // First use: verified (the gate waits for it), then served at once.
    assert!(gate_now(&web, &long).is_none());
    let first = served(gate(&web, &long).await).unwrap();
    let again = served(gate_now(&web, &long).unwrap()).unwrap();
    let third = served(gate_now(&web, &long).unwrap()).unwrap();
    assert!(Arc::ptr_eq(&again, &third), "the thread's own caller");
    assert_eq!(again.subject(), first.subject());
    // Another thread: its own caller, the same shared claims, no check.
    let elsewhere = {
        let (web, long) = (web.clone(), long.clone());
        std::thread::spawn(move || served(gate_now(&web, &long).expect("a hit")).unwrap())
            .join()
            .unwrap()
    };
    assert!(!Arc::ptr_eq(&elsewhere, &again));
    assert!(Arc::ptr_eq(&elsewhere.claims, &again.claims));
    assert_eq!(checks(), 1);

    // Expired: the token and the thread's caller for it are refused.
    served(gate(&web, &short).await).unwrap();
    served(gate_now(&web, &short).unwrap()).unwrap();
    assert_eq!(checks(), 2);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(served(gate(&web, &short).await).unwrap_err(), 401);
    assert_eq!(checks(), 2, "refused for its claims, before the signature");
    let still = served(gate_now(&web, &long).unwrap()).unwrap();
    assert!(Arc::ptr_eq(&still, &again));

    // Its key withdrawn: not served from the thread's caller; verified
    // again, and refused.
    emulator.rotate_keys(Rotation::WithdrawOld).await.unwrap();
    let KeySource::Remote(cache) = web.scalekit().validator().keys() else {
        panic!("a remote key source");
    };
    cache.refresh().await.unwrap();
    assert!(gate_now(&web, &long).is_none());
    assert_eq!(served(gate(&web, &long).await).unwrap_err(), 401);
}
