//! The axum full-stack example's router called in-process (no sockets, no
//! HTTP parsing): what a protected route costs on top of the unprotected
//! `/health`, in nanoseconds, with the machine's network stack out of the
//! figure. `scripts/bench-http` measures the same routes over HTTP.
//!
//! Run: `cargo bench -p scalekit-examples --bench router`
//!
//! With `ROUTER_LOOP=<case>:<n>` (case: `health`, `bearer`,
//! `health-session`, `session`, `admin`) it calls one case `n` times
//! instead, for an instruction count that this machine's noise does not
//! move (see BENCHMARKS.md):
//!
//! ```sh
//! cargo bench -p scalekit-examples --bench router --no-run
//! ROUTER_LOOP=bearer:1000 valgrind --tool=callgrind --toggle-collect='*drive*' target/release/deps/router-<hash>
//! ```
//!
//! With `ROUTER_THREADS=<k>` as well, `k` threads run the loop at once
//! (each on its own runtime, as a server's workers do) and it prints the
//! nanoseconds per request of each thread: what requests on several cores
//! cost each other (shared reference counts, shared cache lines), which an
//! instruction count does not show.

mod common;

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use criterion::{Criterion, criterion_group};
use scalekit_emulator::Emulator;
use scalekit_examples::axum_fullstack;
use tower::ServiceExt;

use common::BASE;

/// A request header carrying the credentials.
type Credentials = (HeaderName, HeaderValue);

fn request(path: &str, header: &Credentials) -> Request<Body> {
    let mut request = Request::get(path).body(Body::empty()).expect("request");
    request
        .headers_mut()
        .insert(header.0.clone(), header.1.clone());
    request
}

/// Signs Ada in through the router and the emulator; her session cookie.
async fn session_cookie(app: &axum::Router, emulator: &Emulator) -> HeaderValue {
    let none = (header::USER_AGENT, HeaderValue::from_static("bench"));
    let login = app
        .clone()
        .oneshot(request("/auth/login", &none))
        .await
        .expect("login");
    let state = login.headers()[header::SET_COOKIE]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("state")
        .to_owned();
    let path = common::consent(
        emulator,
        login.headers()[header::LOCATION]
            .to_str()
            .expect("location"),
    )
    .await;
    let cookie = (
        header::COOKIE,
        HeaderValue::from_str(&state).expect("state"),
    );
    let signed_in = app
        .clone()
        .oneshot(request(&path, &cookie))
        .await
        .expect("callback");
    let cookies: Vec<&str> = signed_in
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|c| !c.contains("Max-Age=0"))
        .filter_map(|c| c.split(';').next())
        .collect();
    HeaderValue::from_str(&cookies.join("; ")).expect("session cookie")
}

/// The example's router, signed in: the router, a bearer header, a session
/// cookie header; every case checked to answer 200 (the first call also
/// fetches the key set).
struct Setup {
    rt: tokio::runtime::Runtime,
    app: axum::Router,
    bearer: Credentials,
    session: Credentials,
    // Kept running for the key set and the sign-in.
    _emulator: Emulator,
}

fn setup() -> Setup {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (app, emulator, token) = rt.block_on(async {
        let (emulator, config, token) = common::platform().await;
        let auth =
            axum_fullstack::auth(config, BASE, common::SESSION_SECRET, None, None).expect("auth");
        (axum_fullstack::app(&auth), emulator, token)
    });
    let bearer = (
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).expect("bearer"),
    );
    let session = (header::COOKIE, rt.block_on(session_cookie(&app, &emulator)));
    let setup = Setup {
        rt,
        app,
        bearer,
        session,
        _emulator: emulator,
    };
    for (_, _, path, header) in cases(&setup) {
        let response = setup
            .rt
            .block_on(setup.app.clone().oneshot(request(path, header)))
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    setup
}

/// The measured cases: the `ROUTER_LOOP` name, the criterion name, the
/// path, the credentials.
fn cases(setup: &Setup) -> [(&'static str, &'static str, &'static str, &Credentials); 5] {
    [
        (
            "health",
            "/health (unprotected), bearer header",
            "/health",
            &setup.bearer,
        ),
        ("bearer", "/api/me, bearer", "/api/me", &setup.bearer),
        (
            "health-session",
            "/health (unprotected), session cookie",
            "/health",
            &setup.session,
        ),
        ("session", "/api/me, session", "/api/me", &setup.session),
        (
            "admin",
            "/api/admin (scope guard), session",
            "/api/admin",
            &setup.session,
        ),
    ]
}

/// `ROUTER_LOOP=<case>:<n>`: one case, `n` times.
fn run_loop(spec: &str) {
    let (case, n) = spec.split_once(':').expect("ROUTER_LOOP=<case>:<n>");
    let n: u64 = n.parse().expect("a count");
    let setup = setup();
    let Some((_, _, path, header)) = cases(&setup).into_iter().find(|c| c.0 == case) else {
        panic!("unknown case {case}");
    };
    let threads: u64 = std::env::var("ROUTER_THREADS").map_or(1, |k| k.parse().expect("a count"));
    if threads <= 1 {
        drive(&setup, path, header, n);
        return;
    }
    // Warm every thread's front first, then time the threads together.
    let start = std::sync::Barrier::new(usize::try_from(threads).expect("threads"));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (app, start) = (setup.app.clone(), &start);
            scope.spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(calls(&app, path, header, 100));
                start.wait();
                let began = std::time::Instant::now();
                rt.block_on(calls(&app, path, header, n));
                println!(
                    "{case}: {:.0} ns per request",
                    began.elapsed().as_nanos() as f64 / n as f64
                );
            });
        }
    });
}

async fn calls(app: &axum::Router, path: &str, header: &Credentials, n: u64) {
    for _ in 0..n {
        let response = app
            .clone()
            .oneshot(request(path, header))
            .await
            .expect("response");
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// The loop alone (`valgrind --toggle-collect='*drive*'` counts only this).
#[inline(never)]
fn drive(setup: &Setup, path: &str, header: &Credentials, n: u64) {
    setup.rt.block_on(calls(&setup.app, path, header, n));
}

fn bench(c: &mut Criterion) {
    let setup = setup();
    let mut group = c.benchmark_group("axum router, in-process");
    for (_, name, path, header) in cases(&setup) {
        group.bench_function(name, |b| {
            b.to_async(&setup.rt)
                .iter(|| setup.app.clone().oneshot(request(path, header)));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("ROUTER_LOOP") {
        run_loop(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
