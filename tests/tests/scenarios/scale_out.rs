//! Scale-out: two instances of each full-stack example (axum and actix-web)
//! behind one public URL, configured the examples' way (`ExampleEnv` from
//! the variables of the examples contract, the same `SESSION_SECRET`), on
//! each shared store with its real server: one Redis (`REDIS_URL`), a Redis
//! cluster (`REDIS_CLUSTER_URLS`) and PostgreSQL (`DATABASE_URL`). The
//! session of one instance works on the other, concurrent requests on a
//! stale session refresh it once across both, logout and
//! sign-out-everywhere are global, the store holds no readable token, the
//! store going away answers `503` quickly while bearer routes keep
//! working, and its return needs no restart. Without a store, cookie-only
//! instances that race each other on a refresh both get tokens (the
//! platform's grace window), and a refused refresh is final at once.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common;

use common::apps::{Framework, Server, authorize_as, no_redirects, start_login};
use common::stores::Backend;
use reqwest::StatusCode;
use scalekit_core::session::{SessionMode, SessionPolicy};
use scalekit_core::web::WebAuth;
use scalekit_emulator::{Emulator, EmulatorBuilder, EmulatorEndpoint, Fault};
use scalekit_examples::environment::ExampleEnv;
use serde_json::json;

const SESSION_SECRET: &str = "scale-out-test-session-secret-of-32-bytes+";
/// Access tokens of the shared-store scenarios: long enough for every step
/// between two refreshes on a loaded machine.
const STORE_ACCESS_TTL: Duration = Duration::from_secs(8);
const WEBHOOK_SECRET: &str = "whsec_c2NhbGUtb3V0LXdlYmhvb2stc2VjcmV0LTEyMzQ1Ng";

/// One instance of a full-stack example: its own address and its auth.
struct Instance {
    /// Where this instance listens (the public URL is the balancer's).
    addr: String,
    web: WebAuth,
    _server: Server,
}

/// A round-robin TCP balancer: each connection goes to the next backend.
struct Balancer {
    hits: Arc<[AtomicUsize; 2]>,
}

fn balance(listener: tokio::net::TcpListener, backends: [SocketAddr; 2]) -> Balancer {
    let hits: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let counted = hits.clone();
    tokio::spawn(async move {
        let next = AtomicUsize::new(0);
        while let Ok((mut inbound, _)) = listener.accept().await {
            let i = next.fetch_add(1, Ordering::Relaxed) % 2;
            counted[i].fetch_add(1, Ordering::Relaxed);
            let backend = backends[i];
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(backend).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    Balancer { hits }
}

/// Two instances of `fw`'s full-stack example behind a balancer, with one
/// emulator, one secret and one public base URL.
struct Cluster {
    emulator: Emulator,
    public: String,
    balancer: Balancer,
    a: Instance,
    b: Instance,
    /// The environment of the instances (to start another one).
    vars: HashMap<&'static str, String>,
}

struct Options {
    /// The variable naming the shared store, and its value.
    store: Option<(&'static str, String)>,
    access_ttl: Duration,
    refresh_grace: Option<Duration>,
    refresh_skew: Duration,
}

impl Options {
    fn shared(backend: &Backend) -> Self {
        Options {
            store: backend.variable(),
            access_ttl: STORE_ACCESS_TTL,
            refresh_grace: None,
            refresh_skew: Duration::ZERO,
        }
    }
}

async fn loopback() -> (tokio::net::TcpListener, SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// An instance built as the example binaries build it: `ExampleEnv` from
/// the contract's variables, then the example's auth and routes.
async fn instance(
    fw: Framework,
    listener: tokio::net::TcpListener,
    vars: &HashMap<&'static str, String>,
    skew: Duration,
) -> Instance {
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let env = ExampleEnv::from_lookup(|name| vars.get(name).cloned())
        .await
        .unwrap();
    assert!(env.emulator.is_none(), "the shared emulator is used");
    let named = ["REDIS_URL", "REDIS_CLUSTER_URLS", "DATABASE_URL"]
        .into_iter()
        .find(|name| vars.contains_key(name));
    assert_eq!(
        env.session_store.as_ref().map(|s| s.variable()),
        named,
        "the store of the environment"
    );
    let web = scalekit_examples::fullstack::web_auth(
        env.config.clone(),
        &env.base_url,
        &env.session_secret,
        env.webhook_secret.as_deref(),
        env.session_store.as_ref(),
        fw.realm(),
    )
    .unwrap()
    .session_policy(SessionPolicy::default().refresh_skew(skew));
    assert_eq!(
        web.sessions().mode() == SessionMode::ServerSide,
        env.session_store.is_some()
    );
    let server = fw.serve_fullstack(listener, web.clone());
    Instance {
        addr,
        web,
        _server: server,
    }
}

async fn cluster(fw: Framework, options: Options) -> Cluster {
    let (lb, lb_addr) = loopback().await;
    let (la, a_addr) = loopback().await;
    let (lb_b, b_addr) = loopback().await;
    let public = format!("http://{lb_addr}");
    let mut builder: EmulatorBuilder = Emulator::builder()
        .redirect_uri(format!("{public}/auth/callback"))
        .post_logout_redirect_uri(format!("{public}/"))
        .access_token_ttl(options.access_ttl);
    if let Some(grace) = options.refresh_grace {
        builder = builder.refresh_grace(grace);
    }
    let emulator = builder.start().await.unwrap();
    let mut vars: HashMap<&'static str, String> = HashMap::from([
        ("SCALEKIT_ENVIRONMENT_URL", emulator.url().to_owned()),
        ("SCALEKIT_CLIENT_ID", emulator.client_id().to_owned()),
        (
            "SCALEKIT_CLIENT_SECRET",
            emulator.client_secret().to_owned(),
        ),
        ("SCALEKIT_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ("APP_BASE_URL", public.clone()),
        ("SESSION_SECRET", SESSION_SECRET.to_owned()),
    ]);
    if let Some((name, value)) = &options.store {
        vars.insert(name, value.clone());
    }
    let a = instance(fw, la, &vars, options.refresh_skew).await;
    let b = instance(fw, lb_b, &vars, options.refresh_skew).await;
    let balancer = balance(lb, [a_addr, b_addr]);
    Cluster {
        emulator,
        public,
        balancer,
        a,
        b,
        vars,
    }
}

/// The `name=value` pairs a response sets (not the ones it clears).
fn set_cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .filter(|v| !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
        .collect()
}

/// Whether a response clears the session cookie.
fn clears_session(response: &reqwest::Response) -> bool {
    response.headers().get_all("set-cookie").iter().any(|v| {
        let v = v.to_str().unwrap();
        v.starts_with("sk_session") && v.contains("Max-Age=0")
    })
}

/// Signs in as `email` on `on` (login and callback sent to that instance);
/// the `Cookie` header of the new session.
async fn sign_in(c: &Cluster, on: &Instance, email: &str) -> String {
    let (state, authorize) = start_login(&on.addr, "/auth/login").await;
    let user = c
        .emulator
        .users()
        .into_iter()
        .find(|u| u.email == email)
        .unwrap();
    let callback = authorize_as(&c.emulator, &authorize, &user.id).await;
    let callback = callback.replace(&c.public, &on.addr);
    let r = no_redirects()
        .get(callback)
        .header("cookie", state)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "the sign-in completes");
    let cookies = set_cookies(&r);
    assert!(cookies.iter().any(|c| c.starts_with("sk_session")));
    cookies
        .into_iter()
        .filter(|c| c.starts_with("sk_session"))
        .collect::<Vec<_>>()
        .join("; ")
}

async fn get(url: String, cookie: Option<&str>, bearer: Option<&str>) -> reqwest::Response {
    let mut request = no_redirects().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn me(on: &Instance, cookie: &str) -> reqwest::Response {
    get(format!("{}/api/me", on.addr), Some(cookie), None).await
}

/// Waits until the session's access token (of `ttl`, issued `issued`) has
/// expired.
async fn until_expired(issued: Instant, ttl: Duration) {
    let expired = issued + ttl + Duration::from_millis(1100);
    tokio::time::sleep_until(expired.into()).await;
}

/// `GET {public}/api/me` `n` times at once, each on a new connection
/// through the balancer; their statuses.
async fn concurrently(c: &Cluster, n: usize, cookie: &str) -> Vec<StatusCode> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let request = http
            .get(format!("{}/api/me", c.public))
            .header("cookie", cookie.to_owned());
        tasks.spawn(async move { request.send().await.unwrap().status() });
    }
    let mut statuses = Vec::new();
    while let Some(status) = tasks.join_next().await {
        statuses.push(status.unwrap());
    }
    statuses
}

async fn two_instances_share_sessions(fw: Framework, mut store: Backend) {
    let c = cluster(fw, Options::shared(&store)).await;
    let ttl = STORE_ACCESS_TTL;

    // Signed in on the first instance, the session works on the second.
    let issued = Instant::now();
    let cookie = sign_in(&c, &c.a, "ada@example.com").await;
    let r = me(&c.b, &cookie).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["email"], "ada@example.com");
    let r = get(format!("{}/dashboard", c.b.addr), Some(&cookie), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("ada@example.com"));

    // A stale session, 40 concurrent requests spread over both instances
    // (the refresh slowed down so that they all wait for it): all 200,
    // exactly one refresh at the platform.
    until_expired(issued, ttl).await;
    let before = c.emulator.request_count(EmulatorEndpoint::Token);
    let hits_before = [0, 1].map(|i| c.balancer.hits[i].load(Ordering::Relaxed));
    c.emulator.inject_fault_times(
        EmulatorEndpoint::Token,
        Fault::Delay(Duration::from_millis(700)),
        1,
    );
    let statuses = concurrently(&c, 40, &cookie).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        before + 1,
        "exactly one refresh across both instances"
    );
    let hits = [0, 1].map(|i| c.balancer.hits[i].load(Ordering::Relaxed) - hits_before[i]);
    assert_eq!(hits, [20, 20], "spread over both instances");
    // The cookie is unchanged (it holds only the session id): both
    // instances serve the refreshed session, with no further refresh.
    for on in [&c.a, &c.b] {
        assert_eq!(me(on, &cookie).await.status(), StatusCode::OK);
    }
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        before + 1
    );

    // The store holds no readable token: no JWT, no email, no refresh token
    // in any value; the session is there, sealed.
    assert_eq!(store.records(), Some(1));
    let dump = store.dump();
    for (key, value) in &dump {
        let text = String::from_utf8_lossy(value);
        assert!(!text.contains("eyJ"), "{key} holds a JWT");
        assert!(!text.contains("ada@example.com"), "{key} holds the user");
        assert!(
            !text.contains("refresh"),
            "{key} holds readable session data"
        );
    }

    // Logout on the first instance: the replayed cookie gets 401 on the
    // second (and a redirect to login on a browser route).
    let r = get(format!("{}/auth/logout", c.a.addr), Some(&cookie), None).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(clears_session(&r));
    let r = me(&c.b, &cookie).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = get(format!("{}/dashboard", c.b.addr), Some(&cookie), None).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login")
    );

    // Sign out everywhere from one instance ends the user's sessions
    // signed in on either.
    let on_a = sign_in(&c, &c.a, "ada@example.com").await;
    let on_b = sign_in(&c, &c.b, "ada@example.com").await;
    let other = sign_in(&c, &c.b, "grace@globex.example").await;
    for cookie in [&on_a, &on_b, &other] {
        assert_eq!(me(&c.a, cookie).await.status(), StatusCode::OK);
    }
    let ada = c
        .emulator
        .users()
        .into_iter()
        .find(|u| u.email == "ada@example.com")
        .unwrap();
    assert_eq!(c.a.web.sessions().sign_out_everywhere(&ada.id).await, Ok(2));
    for on in [&c.a, &c.b] {
        for cookie in [&on_a, &on_b] {
            assert_eq!(me(on, cookie).await.status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(
            me(on, &other).await.status(),
            StatusCode::OK,
            "another user"
        );
    }

    // The store goes away: session requests answer 503 with Retry-After
    // within 5 s on both instances (a retry page on the browser route),
    // bearer routes keep answering 200.
    let session = sign_in(&c, &c.a, "ada@example.com").await;
    let bearer = c
        .emulator
        .mint_access_token(json!({"permissions": ["admin:read"]}))
        .unwrap();
    store.stop();
    for on in [&c.a, &c.b] {
        let started = Instant::now();
        let r = me(on, &session).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key("retry-after"));
        assert!(!clears_session(&r), "the session cookie is kept");
        let started = Instant::now();
        let r = get(format!("{}/dashboard", on.addr), Some(&session), None).await;
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.headers().contains_key("retry-after"));
        for path in ["/api/me", "/api/admin"] {
            let r = get(format!("{}{path}", on.addr), None, Some(&bearer)).await;
            assert_eq!(r.status(), StatusCode::OK, "bearer {path}");
        }
        // Pages that need no session still answer.
        let r = get(format!("{}/", on.addr), None, None).await;
        assert_eq!(r.status(), StatusCode::OK);
    }

    // The store is back: without restarting either instance, a new sign-in
    // works and its session is served by both.
    store.restart();
    let cookie = sign_in(&c, &c.a, "ada@example.com").await;
    for on in [&c.a, &c.b] {
        assert_eq!(me(on, &cookie).await.status(), StatusCode::OK);
    }
}

async fn a_refused_refresh_is_shared_across_instances(fw: Framework, store: Backend) {
    let c = cluster(fw, Options::shared(&store)).await;
    let issued = Instant::now();
    let cookie = sign_in(&c, &c.a, "ada@example.com").await;
    until_expired(issued, STORE_ACCESS_TTL).await;
    let before = c.emulator.request_count(EmulatorEndpoint::Token);
    // The platform refuses the refresh: one attempt, shared by the
    // requests waiting for it on either instance (the ones that come later
    // find the session removed); every request 401, the session gone.
    c.emulator
        .inject_fault_times(EmulatorEndpoint::Token, Fault::Status(400), 1);
    let statuses = concurrently(&c, 40, &cookie).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        before + 1,
        "one refresh attempt across both instances"
    );
    assert_eq!(store.records(), Some(0));
}

async fn without_redis_a_refused_refresh_is_one_attempt_for_concurrent_requests(fw: Framework) {
    let c = cluster(
        fw,
        Options {
            store: None,
            access_ttl: Duration::from_secs(20),
            refresh_grace: None,
            refresh_skew: Duration::from_secs(30),
        },
    )
    .await;
    let cookie = sign_in(&c, &c.a, "ada@example.com").await;
    let before = c.emulator.request_count(EmulatorEndpoint::Token);
    // Only the first refresh is refused: a request that tried again would
    // succeed. None does: the refusal is shared.
    c.emulator
        .inject_fault_times(EmulatorEndpoint::Token, Fault::Status(400), 1);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let url = c.a.addr.clone();
        let cookie = cookie.clone();
        tasks.spawn(async move {
            let on = format!("{url}/api/me");
            get(on, Some(&cookie), None).await.status()
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.unwrap(), StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        before + 1
    );
}

async fn cookie_only_instances_racing_on_one_session_both_serve_200(fw: Framework) {
    // No Redis: each instance refreshes on its own. The platform keeps the
    // previous refresh token valid for a moment after rotating it (the
    // emulator's default grace, as the platform's), so both get tokens.
    let c = cluster(
        fw,
        Options {
            store: None,
            access_ttl: Duration::from_secs(20),
            refresh_grace: None,
            // Tokens of 20 s are always due for a refresh.
            refresh_skew: Duration::from_secs(30),
        },
    )
    .await;
    let old = sign_in(&c, &c.a, "ada@example.com").await;
    let before = c.emulator.request_count(EmulatorEndpoint::Token);
    // Both instances, at once, with the same cookie.
    let (ra, rb) = tokio::join!(me(&c.a, &old), me(&c.b, &old));
    for r in [&ra, &rb] {
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            !set_cookies(r).is_empty(),
            "each sends its refreshed cookie"
        );
    }
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        before + 2,
        "one refresh per instance"
    );
    // Whichever cookie the browser keeps works on both instances.
    for r in [ra, rb] {
        let cookie = set_cookies(&r).join("; ");
        assert_eq!(me(&c.a, &cookie).await.status(), StatusCode::OK);
        assert_eq!(me(&c.b, &cookie).await.status(), StatusCode::OK);
    }
}

async fn a_refused_refresh_ends_a_cookie_only_session_on_the_first_request(fw: Framework) {
    // No grace: a refresh token used again after its rotation is refused
    // (invalid_grant), which is final.
    let ttl = Duration::from_secs(2);
    let c = cluster(
        fw,
        Options {
            store: None,
            access_ttl: ttl,
            refresh_grace: Some(Duration::ZERO),
            refresh_skew: Duration::ZERO,
        },
    )
    .await;
    let issued = Instant::now();
    let old = sign_in(&c, &c.a, "ada@example.com").await;
    until_expired(issued, ttl).await;
    let before = c.emulator.request_count(EmulatorEndpoint::Token);
    assert_eq!(me(&c.a, &old).await.status(), StatusCode::OK);
    // The old cookie on the other instance: refused by the platform, so
    // 401 at once, the cookie cleared, no 503 and no Retry-After.
    let r = me(&c.b, &old).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(r.headers().get("retry-after").is_none());
    assert!(clears_session(&r));
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        before + 2
    );
    // The refusal is remembered: the old cookie again costs no platform
    // call and is refused again.
    let r = me(&c.b, &old).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        before + 2
    );
}

async fn put_preferences(on: &Instance, cookie: &str, theme: &str) -> reqwest::Response {
    no_redirects()
        .put(format!("{}/api/preferences", on.addr))
        .header("cookie", cookie)
        .json(&json!({ "theme": theme }))
        .send()
        .await
        .unwrap()
}

async fn theme(on: &Instance, cookie: &str) -> serde_json::Value {
    let r = get(format!("{}/api/preferences", on.addr), Some(cookie), None).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<serde_json::Value>().await.unwrap()["preferences"]["theme"].clone()
}

async fn session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout(
    fw: Framework,
    store: Backend,
) {
    // Long enough for the steps before the expiry on a loaded machine.
    let ttl = Duration::from_secs(6);
    let c = cluster(
        fw,
        Options {
            access_ttl: ttl,
            ..Options::shared(&store)
        },
    )
    .await;

    // The after-login hook put the light theme in the session; a handler
    // on the other instance changes it.
    let issued = Instant::now();
    let cookie = sign_in(&c, &c.a, "ada@example.com").await;
    assert_eq!(theme(&c.b, &cookie).await, "light");
    let r = put_preferences(&c.b, &cookie, "dark").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        theme(&c.a, &cookie).await,
        "dark",
        "shared through the store"
    );
    // Sealed in the store: the data is not readable there.
    let dump = store.dump();
    assert!(!dump.is_empty());
    for (key, value) in &dump {
        assert!(!String::from_utf8_lossy(value).contains("dark"), "{key}");
    }

    // The access token expires: the next request refreshes the session
    // (one token call) and the data is still there.
    until_expired(issued, ttl).await;
    let refreshes = c.emulator.request_count(EmulatorEndpoint::Token);
    assert_eq!(theme(&c.a, &cookie).await, "dark");
    assert_eq!(
        c.emulator.request_count(EmulatorEndpoint::Token),
        refreshes + 1,
        "refreshed once"
    );

    // A restarted instance (new process state, same environment) reads it.
    let (listener, _) = loopback().await;
    let restarted = instance(fw, listener, &c.vars, Duration::ZERO).await;
    assert_eq!(theme(&restarted, &cookie).await, "dark");

    // Logout drops the session and its data; signing in again starts
    // afresh from the hook's data.
    let r = get(
        format!("{}/auth/logout", restarted.addr),
        Some(&cookie),
        None,
    )
    .await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(store.records(), Some(0));
    let r = get(format!("{}/api/preferences", c.b.addr), Some(&cookie), None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let cookie = sign_in(&c, &c.b, "ada@example.com").await;
    assert_eq!(theme(&c.a, &cookie).await, "light");
}

// Each shared-store scenario on one Redis, a Redis cluster and PostgreSQL.

async fn session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout_in_redis(
    fw: Framework,
) {
    session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout(fw, Backend::redis())
        .await
}

async fn session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout_in_a_redis_cluster(
    fw: Framework,
) {
    session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout(
        fw,
        Backend::redis_cluster(),
    )
    .await
}

async fn session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout_in_postgres(
    fw: Framework,
) {
    session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout(fw, Backend::postgres())
        .await
}

async fn two_instances_share_sessions_in_redis(fw: Framework) {
    two_instances_share_sessions(fw, Backend::redis()).await
}

async fn two_instances_share_sessions_in_a_redis_cluster(fw: Framework) {
    two_instances_share_sessions(fw, Backend::redis_cluster()).await
}

async fn two_instances_share_sessions_in_postgres(fw: Framework) {
    two_instances_share_sessions(fw, Backend::postgres()).await
}

async fn a_refused_refresh_is_shared_across_instances_in_redis(fw: Framework) {
    a_refused_refresh_is_shared_across_instances(fw, Backend::redis()).await
}

async fn a_refused_refresh_is_shared_across_instances_in_a_redis_cluster(fw: Framework) {
    a_refused_refresh_is_shared_across_instances(fw, Backend::redis_cluster()).await
}

async fn a_refused_refresh_is_shared_across_instances_in_postgres(fw: Framework) {
    a_refused_refresh_is_shared_across_instances(fw, Backend::postgres()).await
}

scenarios!(
    session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout_in_redis,
    session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout_in_a_redis_cluster,
    session_data_survives_a_refresh_and_a_restart_and_is_dropped_at_logout_in_postgres,
    two_instances_share_sessions_in_redis,
    two_instances_share_sessions_in_a_redis_cluster,
    two_instances_share_sessions_in_postgres,
    a_refused_refresh_is_shared_across_instances_in_redis,
    a_refused_refresh_is_shared_across_instances_in_a_redis_cluster,
    a_refused_refresh_is_shared_across_instances_in_postgres,
    without_redis_a_refused_refresh_is_one_attempt_for_concurrent_requests,
    cookie_only_instances_racing_on_one_session_both_serve_200,
    a_refused_refresh_ends_a_cookie_only_session_on_the_first_request,
);
