//! Metrics and spans, seen from the outside: a `metrics` recorder and a
//! `tracing` subscriber installed by the application see the counters move
//! and the spans close with their fields, for both frameworks; no span or
//! event carries a token, a session cookie or a secret.
//!
//! A binary of its own, beside the scenarios it shares `common` with: the
//! recorder and the subscriber it installs are the process's.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use common::apps::{Framework, authorize_as, fullstack_app, no_redirects, start_login};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use scalekit_core::telemetry;
use scalekit_core::test_util::TestSigner;
use scalekit_core::{JwksCache, JwksOptions, TokenValidator, ValidationError, ValidationOptions};
use serde_json::json;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::layer::{Context, SubscriberExt};

/// A closed span: its name and fields.
#[derive(Debug, Clone)]
struct Closed {
    name: &'static str,
    fields: HashMap<String, String>,
}

#[derive(Default)]
struct Captured {
    open: HashMap<u64, Closed>,
    closed: Vec<Closed>,
    /// Every field value of every event, as text.
    events: Vec<String>,
}

fn captured() -> &'static Mutex<Captured> {
    static CAPTURED: OnceLock<Mutex<Captured>> = OnceLock::new();
    CAPTURED.get_or_init(Mutex::default)
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Keeps every span of the process with its fields, and every event's text.
struct Capture;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = HashMap::new();
        attrs.record(&mut Fields(&mut fields));
        let span = Closed {
            name: attrs.metadata().name(),
            fields,
        };
        let mut all = captured().lock().unwrap();
        all.open.insert(id.into_u64(), span);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        let mut all = captured().lock().unwrap();
        if let Some(span) = all.open.get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = HashMap::new();
        event.record(&mut Fields(&mut fields));
        let mut all = captured().lock().unwrap();
        all.events.extend(fields.into_values());
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let mut all = captured().lock().unwrap();
        if let Some(span) = all.open.remove(&id.into_u64()) {
            all.closed.push(span);
        }
    }
}

/// The recorder and the subscriber of this test binary, installed once.
fn install() -> &'static Snapshotter {
    static SNAPSHOTTER: OnceLock<Snapshotter> = OnceLock::new();
    SNAPSHOTTER.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder
            .install()
            .expect("the only recorder of this binary");
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Capture))
            .expect("the only subscriber of this binary");
        telemetry::describe_metrics();
        snapshotter
    })
}

/// The value of a counter (`name` with the `label` = `value` pair), 0
/// before its first increment.
fn counter(snapshotter: &Snapshotter, name: &str, label: Option<(&str, &str)>) -> u64 {
    snapshot(snapshotter)
        .into_iter()
        .filter(|(key, _)| key.0 == name)
        .filter(|(key, _)| match label {
            Some((k, v)) => key.1.iter().any(|(lk, lv)| lk == k && lv == v),
            None => true,
        })
        .map(|(_, value)| value)
        .sum()
}

/// How many samples a histogram has received so far.
fn histogram_samples(snapshotter: &Snapshotter, name: &str) -> u64 {
    counter(snapshotter, name, None)
}

type Series = (String, Vec<(String, String)>);

/// Every counter's value, and every histogram's number of samples, since
/// the recorder was installed (a snapshot drains the recorder: the values
/// are accumulated here).
fn snapshot(snapshotter: &Snapshotter) -> HashMap<Series, u64> {
    static SAMPLES: OnceLock<Mutex<HashMap<Series, u64>>> = OnceLock::new();
    let mut samples = SAMPLES.get_or_init(Mutex::default).lock().unwrap();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let series: Series = (
            key.key().name().to_owned(),
            key.key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
        );
        let moved = match value {
            DebugValue::Counter(n) => n,
            DebugValue::Histogram(values) => values.len() as u64,
            DebugValue::Gauge(_) => 0,
        };
        *samples.entry(series).or_default() += moved;
    }
    samples.clone()
}

/// Cookie pairs (`name=value`) set by `response`, removals left out.
fn cookies_set(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.contains("Max-Age=0"))
        .filter_map(|v| v.split(';').next().map(str::to_owned))
        .collect()
}

async fn counters_and_spans_move(fw: Framework) {
    let metrics = install();
    let get = |name, label| counter(metrics, name, Some(label));
    let before = [
        get(telemetry::TOKEN_VALIDATIONS, ("outcome", "valid")),
        get(telemetry::TOKEN_VALIDATIONS, ("outcome", "malformed")),
        get(telemetry::VERIFIED_CACHE_LOOKUPS, ("result", "hit")),
        get(telemetry::VERIFIED_CACHE_LOOKUPS, ("result", "miss")),
        get(telemetry::JWKS_FETCHES, ("outcome", "ok")),
        get(telemetry::SESSION_REFRESHES, ("outcome", "refreshed")),
        get(telemetry::CALLBACKS, ("outcome", "signed_in")),
    ];
    let refresh_samples = histogram_samples(metrics, telemetry::SESSION_REFRESH_DURATION);

    // Access tokens of 20 s are always within the 30 s refresh skew: the
    // first session request refreshes.
    let app = fullstack_app(fw, Some(Duration::from_secs(20)), None, |web| web).await;
    let http = no_redirects();
    let me = format!("{}/api/me", app.base);

    // A bearer token three times (verified; its second use may land on
    // another worker thread, which verifies it once more and admits it to
    // the shared cache; the third is a hit on any thread), and garbage.
    let token = app.emulator.mint_access_token(json!({})).unwrap();
    for _ in 0..3 {
        let r = http.get(&me).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = http.get(&me).bearer_auth("garbage").send().await.unwrap();
    assert_eq!(r.status(), 401);

    // Sign in, use the session (refreshed), sign out.
    let (state_cookie, authorize) = start_login(&app.base, "/auth/login").await;
    let user_id = app.emulator.test_user().id.clone();
    let callback = authorize_as(&app.emulator, &authorize, &user_id).await;
    let r = http
        .get(&callback)
        .header("cookie", &state_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let mut jar = cookies_set(&r);
    assert!(!jar.is_empty());
    let r = http
        .get(&me)
        .header("cookie", jar.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let refreshed = cookies_set(&r);
    assert!(!refreshed.is_empty(), "the refreshed session's cookie");
    jar = refreshed;
    let r = http
        .get(format!("{}/auth/logout", app.base))
        .header("cookie", jar.join("; "))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);

    let after = [
        get(telemetry::TOKEN_VALIDATIONS, ("outcome", "valid")),
        get(telemetry::TOKEN_VALIDATIONS, ("outcome", "malformed")),
        get(telemetry::VERIFIED_CACHE_LOOKUPS, ("result", "hit")),
        get(telemetry::VERIFIED_CACHE_LOOKUPS, ("result", "miss")),
        get(telemetry::JWKS_FETCHES, ("outcome", "ok")),
        get(telemetry::SESSION_REFRESHES, ("outcome", "refreshed")),
        get(telemetry::CALLBACKS, ("outcome", "signed_in")),
    ];
    let names = [
        "valid validations",
        "malformed tokens",
        "cache hits",
        "cache misses",
        "JWKS fetches",
        "refreshes",
        "sign-ins",
    ];
    for ((name, before), after) in names.iter().zip(before).zip(after) {
        assert!(after > before, "{fw:?}: {name} moved ({before} -> {after})");
    }
    assert!(
        histogram_samples(metrics, telemetry::SESSION_REFRESH_DURATION) > refresh_samples,
        "a refresh duration"
    );

    // The spans closed with the fields an operator filters on.
    let session_cookie_values: Vec<String> = jar
        .iter()
        .filter_map(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
        .collect();
    let all = captured().lock().unwrap();
    let spans = |name: &str| -> Vec<Closed> {
        all.closed
            .iter()
            .filter(|s| s.name == name)
            .cloned()
            .collect()
    };
    let field = |s: &Closed, f: &str| s.fields.get(f).cloned().unwrap_or_default();
    assert!(
        spans("scalekit.authenticate")
            .iter()
            .any(|s| field(s, "via") == "bearer" && field(s, "outcome") == "authenticated"),
        "a bearer caller resolved"
    );
    assert!(
        spans("scalekit.authenticate")
            .iter()
            .any(|s| field(s, "outcome") == "malformed"),
        "a malformed bearer token refused"
    );
    assert!(spans("scalekit.authenticate").iter().any(|s| {
        field(s, "via") == "session"
            && field(s, "user_id") == user_id
            && field(s, "session").len() == 16
    }));
    assert!(
        spans("scalekit.refresh")
            .iter()
            .any(|s| field(s, "outcome") == "refreshed" && field(s, "user_id") == user_id)
    );
    assert!(
        spans("scalekit.callback")
            .iter()
            .any(|s| field(s, "outcome") == "signed_in" && field(s, "session").len() == 16)
    );
    assert!(
        spans("scalekit.logout")
            .iter()
            .any(|s| field(s, "outcome") == "ended" && field(s, "user_id") == user_id)
    );
    assert!(
        spans("scalekit.jwks_fetch")
            .iter()
            .any(|s| field(s, "outcome") == "ok" && field(s, "url").ends_with("/keys"))
    );
    // No token, cookie or secret in any span field or event.
    let mut texts: Vec<&String> = all.events.iter().collect();
    texts.extend(all.closed.iter().flat_map(|s| s.fields.values()));
    let secrets = [
        token.as_str(),
        app.emulator.client_secret(),
        common::apps::SESSION_SECRET,
    ];
    for text in texts {
        for secret in secrets
            .iter()
            .copied()
            .chain(session_cookie_values.iter().map(String::as_str))
        {
            assert!(!text.contains(secret), "a secret in {text:?}");
        }
    }
}

/// Each passwordless step closes a `scalekit.passwordless` span with its
/// step and outcome; no code, link token or auth request id is in any
/// span or event.
async fn passwordless_steps_are_spanned(fw: Framework) {
    install();
    let app = fullstack_app(fw, None, None, |web| web).await;
    let http = no_redirects();
    let sent = http
        .post(format!("{}/auth/passwordless", app.base))
        .header("origin", &app.base)
        .form(&[("email", "ada@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let state = cookies_set(&sent).join("; ");
    let email = app.emulator.outbox()[0].clone();
    let code = email.code.clone().unwrap();
    let signed_in = http
        .post(format!("{}/auth/passwordless/verify", app.base))
        .header("origin", &app.base)
        .header("cookie", &state)
        .form(&[("code", code.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 302);
    let all = captured().lock().unwrap();
    let passwordless: Vec<&Closed> = all
        .closed
        .iter()
        .filter(|s| s.name == "scalekit.passwordless")
        .collect();
    let field = |s: &Closed, f: &str| s.fields.get(f).cloned().unwrap_or_default();
    assert!(
        passwordless
            .iter()
            .any(|s| field(s, "step") == "send" && field(s, "outcome") == "sent")
    );
    assert!(passwordless.iter().any(|s| {
        field(s, "step") == "verify_code"
            && field(s, "outcome") == "signed_in"
            && field(s, "user_id") == "ada@example.com"
            && field(s, "session").len() == 16
    }));
    let link_token = email
        .link
        .as_deref()
        .and_then(|l| l.split_once("link_token="))
        .map(|(_, t)| t.to_owned())
        .unwrap();
    let mut texts: Vec<&String> = all.events.iter().collect();
    texts.extend(all.closed.iter().flat_map(|s| s.fields.values()));
    for text in texts {
        for secret in [
            code.as_str(),
            link_token.as_str(),
            email.auth_request_id.as_str(),
        ] {
            assert!(!text.contains(secret), "a secret in {text:?}");
        }
    }
}

scenarios!(counters_and_spans_move, passwordless_steps_are_spanned);

#[tokio::test]
async fn a_failed_jwks_fetch_is_counted_and_spanned() {
    let metrics = install();
    let errors = counter(metrics, telemetry::JWKS_FETCHES, Some(("outcome", "error")));
    let unavailable = counter(
        metrics,
        telemetry::TOKEN_VALIDATIONS,
        Some(("outcome", "keys_unavailable")),
    );
    let fetches = histogram_samples(metrics, telemetry::JWKS_FETCH_DURATION);
    // Nothing listens on port 1.
    let cache = JwksCache::builder("http://127.0.0.1:1/keys")
        .options(JwksOptions::default().fetch_timeout(Duration::from_secs(2)))
        .build()
        .unwrap();
    let signer = TestSigner::new("https://acme.scalekit.dev", "skc_1").unwrap();
    let validator = TokenValidator::new(
        cache,
        ValidationOptions::new("https://acme.scalekit.dev").audience("skc_1"),
    );
    let token = signer.access_token("usr_1", json!({})).unwrap();
    assert_eq!(
        validator.validate_access(&token).await.unwrap_err(),
        ValidationError::KeysUnavailable
    );
    assert!(counter(metrics, telemetry::JWKS_FETCHES, Some(("outcome", "error"))) > errors);
    assert!(
        counter(
            metrics,
            telemetry::TOKEN_VALIDATIONS,
            Some(("outcome", "keys_unavailable"))
        ) > unavailable
    );
    assert!(histogram_samples(metrics, telemetry::JWKS_FETCH_DURATION) > fetches);
    let all = captured().lock().unwrap();
    assert!(all.closed.iter().any(|s| {
        s.name == "scalekit.jwks_fetch"
            && s.fields.get("outcome").map(String::as_str) == Some("error")
            && s.fields
                .get("url")
                .is_some_and(|u| u.contains("127.0.0.1:1"))
    }));
}
