//! The JWKS cache policy against the emulator: rotation, floods of unknown
//! kids, outages, cold starts and max age.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use scalekit_core::outcome::Challenge;
use scalekit_core::{AccessTokenClaims, JwksOptions, TokenValidator, ValidationError};
use scalekit_emulator::{EmulatorEndpoint, Fault, Rotation};
use serde_json::json;

async fn validate(
    validator: &TokenValidator,
    token: &str,
) -> Result<AccessTokenClaims, ValidationError> {
    validator.validate::<AccessTokenClaims>(token).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_costs_exactly_one_fetch_under_100_concurrent_validations() {
    let emulator = common::emulator().await;
    let validator = Arc::new(common::validator(&emulator, JwksOptions::default()));
    let old = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &old).await.unwrap();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 1);

    let new_kid = emulator.rotate_keys(Rotation::KeepOld).await.unwrap();
    let new = emulator.mint_access_token(json!({})).unwrap();
    assert!(new.len() > 10 && new_kid.starts_with("snk_"));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let (validator, token) = (validator.clone(), new.clone());
        tasks.spawn(async move { validate(&validator, &token).await });
    }
    while let Some(result) = tasks.join_next().await {
        result
            .unwrap()
            .expect("the token under the new kid validates");
    }
    assert_eq!(
        emulator.request_count(EmulatorEndpoint::Keys),
        2,
        "exactly one extra fetch"
    );
    // The old key stays published, so its tokens keep validating.
    validate(&validator, &old).await.unwrap();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_random_kids_within_one_cooldown_cause_at_most_one_fetch() {
    let emulator = common::emulator().await;
    let validator = Arc::new(common::validator(&emulator, JwksOptions::default()));
    validate(&validator, &emulator.mint_access_token(json!({})).unwrap())
        .await
        .unwrap();
    let before = emulator.request_count(EmulatorEndpoint::Keys);

    let claims = emulator.access_token_claims(json!({}));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..10_000u32 {
        let kid = format!(
            "snk_{:018}",
            u64::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15) % 10u64.pow(18)
        );
        let token = common::unsigned(&json!({"alg": "RS256", "kid": kid}), &claims);
        let validator = validator.clone();
        tasks.spawn(async move { validate(&validator, &token).await });
    }
    let mut unknown = 0;
    while let Some(result) = tasks.join_next().await {
        match result.unwrap() {
            Err(ValidationError::UnknownKey { .. }) => unknown += 1,
            other => panic!("expected an unknown key, got {other:?}"),
        }
    }
    assert_eq!(unknown, 10_000);
    let fetches = emulator.request_count(EmulatorEndpoint::Keys) - before;
    assert!(fetches <= 1, "{fetches} fetches for one cooldown");
}

#[tokio::test]
async fn cached_keys_survive_an_outage_of_every_kind() {
    let emulator = common::emulator().await;
    // Keys are due for refresh at once, so every validation below starts a
    // background fetch that fails.
    let options = JwksOptions::default()
        .max_age(Duration::ZERO)
        .min_age(Duration::ZERO)
        .failure_backoff(Duration::ZERO);
    let validator = common::validator(&emulator, options);
    let token = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &token).await.unwrap();

    for fault in [
        Fault::Status(500),
        Fault::Status(404),
        Fault::MalformedJson,
        Fault::DropConnection,
        Fault::Delay(Duration::from_secs(2)),
    ] {
        emulator.inject_fault(EmulatorEndpoint::Keys, fault.clone());
        let before = emulator.request_count(EmulatorEndpoint::Keys);
        for _ in 0..3 {
            validate(&validator, &token)
                .await
                .unwrap_or_else(|e| panic!("{fault:?}: cached keys must keep working: {e:?}"));
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(
            emulator.request_count(EmulatorEndpoint::Keys) > before,
            "{fault:?}: the background refresh was attempted"
        );
        emulator.clear_faults();
    }
}

#[tokio::test]
async fn a_cold_start_with_the_endpoint_down_is_keys_unavailable() {
    let emulator = common::emulator().await;
    let token = emulator.mint_access_token(json!({})).unwrap();
    for fault in [
        Fault::Status(500),
        Fault::DropConnection,
        Fault::MalformedJson,
        Fault::Delay(Duration::from_secs(2)),
    ] {
        emulator.inject_fault(EmulatorEndpoint::Keys, fault.clone());
        let validator = common::validator(&emulator, JwksOptions::default());
        let err = validate(&validator, &token).await.unwrap_err();
        assert_eq!(err, ValidationError::KeysUnavailable, "{fault:?}");
        let answer = err.outcome(&Challenge::new("api"));
        assert_eq!(answer.status, 503);
        assert!(answer.header("retry-after").is_some());
        // Within the failure backoff, callers fail fast without a new fetch.
        let before = emulator.request_count(EmulatorEndpoint::Keys);
        assert_eq!(
            validate(&validator, &token).await.unwrap_err(),
            ValidationError::KeysUnavailable
        );
        assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), before);
        emulator.clear_faults();
    }
    // Once the endpoint is back (and the backoff over), validation recovers.
    let validator = common::validator(
        &emulator,
        JwksOptions::default().failure_backoff(Duration::ZERO),
    );
    validate(&validator, &token).await.unwrap();
}

/// A token signed by a key the cache does not hold, while the key set
/// cannot be fetched: the key may be one the platform has rotated to, so
/// the answer is "unavailable" (`503`), not "unknown" (`401`), during the
/// refetch and the cooldown after it; once the endpoint answers again, the
/// new key is found.
#[tokio::test]
async fn a_new_key_that_cannot_be_fetched_is_unavailable_not_unknown() {
    let emulator = common::emulator().await;
    let validator = common::validator(
        &emulator,
        JwksOptions::default().cooldown(Duration::from_millis(300)),
    );
    let old = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &old).await.unwrap();
    emulator.rotate_keys(Rotation::KeepOld).await.unwrap();
    let new = emulator.mint_access_token(json!({})).unwrap();
    emulator.inject_fault(EmulatorEndpoint::Keys, Fault::Status(503));
    for _ in 0..2 {
        let err = validate(&validator, &new).await.unwrap_err();
        assert_eq!(err, ValidationError::KeysUnavailable);
        assert_eq!(err.outcome(&Challenge::new("api")).status, 503);
    }
    // The cached keys still serve the tokens they know.
    validate(&validator, &old).await.unwrap();
    emulator.clear_faults();
    tokio::time::sleep(Duration::from_millis(350)).await;
    validate(&validator, &new).await.unwrap();
    // A key id the platform never had, with the endpoint up: unknown.
    let forged = emulator
        .sign_with_header(
            &json!({"alg": "RS256", "kid": "snk_never"}),
            &emulator.access_token_claims(json!({})),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert!(matches!(
        validate(&validator, &forged).await.unwrap_err(),
        ValidationError::UnknownKey { .. }
    ));
}

#[tokio::test]
async fn a_routine_fetch_starts_no_cooldown() {
    let emulator = common::emulator().await;
    let validator = common::validator(&emulator, JwksOptions::default());
    validate(&validator, &emulator.mint_access_token(json!({})).unwrap())
        .await
        .unwrap();
    // Rotated seconds after start-up: picked up at once.
    emulator.rotate_keys(Rotation::WithdrawOld).await.unwrap();
    let new = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &new).await.unwrap();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 2);
    // That refetch did start a cooldown: a second rotation right away is not
    // fetched for until it ends.
    emulator.rotate_keys(Rotation::WithdrawOld).await.unwrap();
    let newer = emulator.mint_access_token(json!({})).unwrap();
    assert!(matches!(
        validate(&validator, &newer).await,
        Err(ValidationError::UnknownKey { .. })
    ));
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 2);
}

#[tokio::test]
async fn cache_control_max_age_bounds_the_age_and_withdrawn_keys_stop_working() {
    let emulator = common::emulator().await;
    emulator.set_keys_cache_control(Some("public, max-age=1"));
    let validator = common::validator(&emulator, JwksOptions::default().min_age(Duration::ZERO));
    let old = emulator.mint_access_token(json!({})).unwrap();
    validate(&validator, &old).await.unwrap();
    emulator.rotate_keys(Rotation::WithdrawOld).await.unwrap();

    // After 80 % of the one-second max age, a validation triggers a
    // background refresh; the old key then disappears from the cache.
    tokio::time::sleep(Duration::from_millis(900)).await;
    validate(&validator, &old).await.unwrap();
    let mut refused = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        if let Err(e) = validate(&validator, &old).await {
            refused = Some(e);
            break;
        }
    }
    assert!(
        matches!(refused, Some(ValidationError::UnknownKey { .. })),
        "{refused:?}"
    );
    // Start-up, the background refresh, and one refetch for the now unknown
    // kid (which starts the cooldown).
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 3);
    validate(&validator, &old).await.unwrap_err();
    assert_eq!(emulator.request_count(EmulatorEndpoint::Keys), 3);
}

#[tokio::test]
async fn a_response_over_the_size_limit_is_refused() {
    let emulator = common::emulator().await;
    let cache = common::cache(&emulator, JwksOptions::default().max_response_bytes(64));
    assert_eq!(
        cache.refresh().await,
        Err(scalekit_core::JwksFetchError::TooLarge)
    );
    let validator = TokenValidator::new(
        cache,
        scalekit_core::ValidationOptions::new(emulator.url()).audience(emulator.client_id()),
    );
    let token = emulator.mint_access_token(json!({})).unwrap();
    assert_eq!(
        validate(&validator, &token).await.unwrap_err(),
        ValidationError::KeysUnavailable
    );
    // With the default limit the same document is fine.
    let fine = common::cache(&emulator, JwksOptions::default());
    assert_eq!(fine.refresh().await, Ok(1));
}

#[tokio::test]
async fn keys_are_held_per_issuer() {
    let (a, b) = (common::emulator().await, common::emulator().await);
    let sources = scalekit_core::KeySource::per_issuer([
        (
            format!("{}/", a.url()),
            common::cache(&a, JwksOptions::default()).into(),
        ),
        (
            b.url().to_owned(),
            common::cache(&b, JwksOptions::default()).into(),
        ),
    ]);
    let options = scalekit_core::ValidationOptions::new(a.url())
        .also_issuer(b.url())
        .audience(a.client_id())
        .audience(b.client_id());
    let validator = TokenValidator::new(sources, options);
    validate(&validator, &a.mint_access_token(json!({})).unwrap())
        .await
        .unwrap();
    validate(&validator, &b.mint_access_token(json!({})).unwrap())
        .await
        .unwrap();
    assert_eq!(a.request_count(EmulatorEndpoint::Keys), 1);
    assert_eq!(b.request_count(EmulatorEndpoint::Keys), 1);
    // A token that names issuer B but is signed by A's key is looked up in
    // B's keys only, and refused.
    let forged = a.mint_access_token(json!({"iss": b.url()})).unwrap();
    assert!(matches!(
        validate(&validator, &forged).await,
        Err(ValidationError::UnknownKey { .. })
    ));
    // An issuer with no key source is refused before any fetch.
    let stranger = a
        .mint_access_token(json!({"iss": "https://stranger.example"}))
        .unwrap();
    assert_eq!(
        validate(&validator, &stranger).await.unwrap_err(),
        ValidationError::WrongIssuer
    );
}
