//! The actix-web full-stack example's application called in-process (no
//! sockets, no HTTP parsing), as `router` does for axum: what a protected
//! route costs on top of the unprotected `/health`.
//!
//! Run: `cargo bench -p scalekit-examples --bench actix_router`
//!
//! With `ROUTER_LOOP=<case>:<n>` (case: `health`, `bearer`,
//! `health-session`, `session`, `admin`) it calls one case `n` times
//! instead, for an instruction count that this machine's noise does not
//! move (see BENCHMARKS.md):
//!
//! ```sh
//! cargo bench -p scalekit-examples --bench actix_router --no-run
//! ROUTER_LOOP=session:1000 valgrind --tool=callgrind --toggle-collect='*drive*' target/release/deps/actix_router-<hash>
//! ```

mod common;

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{App, test, web};
use criterion::Criterion;
use scalekit_emulator::Emulator;
use scalekit_examples::actix_fullstack;

use common::BASE;

/// A request header carrying the credentials.
type Credentials = (HeaderName, HeaderValue);

fn header_str<B>(response: &ServiceResponse<B>, name: HeaderName) -> String {
    response
        .headers()
        .get(name)
        .expect("header")
        .to_str()
        .expect("header")
        .to_owned()
}

/// Signs Ada in through the application and the emulator; her session cookie.
async fn session_cookie<F, Fut, B>(call: &F, emulator: &Emulator) -> HeaderValue
where
    F: Fn(&str, &Credentials) -> Fut,
    Fut: Future<Output = ServiceResponse<B>>,
    B: MessageBody,
{
    let none = (header::USER_AGENT, HeaderValue::from_static("bench"));
    let login = call("/auth/login", &none).await;
    let state = header_str(&login, header::SET_COOKIE)
        .split(';')
        .next()
        .expect("state")
        .to_owned();
    let path = common::consent(emulator, &header_str(&login, header::LOCATION)).await;
    let cookie = (
        header::COOKIE,
        HeaderValue::from_str(&state).expect("state"),
    );
    let signed_in = call(&path, &cookie).await;
    let cookies: Vec<String> = signed_in
        .headers()
        .get_all(header::SET_COOKIE)
        .filter_map(|v| v.to_str().ok())
        .filter(|c| !c.contains("Max-Age=0"))
        .filter_map(|c| c.split(';').next())
        .map(str::to_owned)
        .collect();
    HeaderValue::from_str(&cookies.join("; ")).expect("session cookie")
}

/// The measured cases: the `ROUTER_LOOP` name, the criterion name, the
/// path, whether the credentials are the session cookie (else the bearer
/// header).
const CASES: [(&str, &str, &str, bool); 5] = [
    (
        "health",
        "/health (unprotected), bearer header",
        "/health",
        false,
    ),
    ("bearer", "/api/me, bearer", "/api/me", false),
    (
        "health-session",
        "/health (unprotected), session cookie",
        "/health",
        true,
    ),
    ("session", "/api/me, session", "/api/me", true),
    (
        "admin",
        "/api/admin (scope guard), session",
        "/api/admin",
        true,
    ),
];

/// The loop alone (`valgrind --toggle-collect='*drive*'` counts only this).
#[inline(never)]
fn drive<F, Fut, B>(
    system: &actix_web::rt::SystemRunner,
    call: &F,
    path: &str,
    header: &Credentials,
    n: u64,
) where
    F: Fn(&str, &Credentials) -> Fut,
    Fut: Future<Output = ServiceResponse<B>>,
    B: MessageBody,
{
    system.block_on(async {
        for _ in 0..n {
            let response = call(path, header).await;
            assert_eq!(response.status(), StatusCode::OK);
        }
    });
}

fn main() {
    let system = actix_web::rt::System::new();
    let tokio = tokio::runtime::Runtime::new().expect("runtime");
    let (emulator, auth, token) = tokio.block_on(async {
        let (emulator, config, token) = common::platform().await;
        let auth =
            actix_fullstack::auth(config, BASE, common::SESSION_SECRET, None, None).expect("auth");
        (emulator, auth, token)
    });
    // As the example's binary builds it: `/health` outside the middleware.
    let routes = actix_fullstack::configure(&auth);
    let app = system.block_on(test::init_service(
        App::new()
            .route("/health", web::get().to(|| async { "ok" }))
            .service(web::scope("").configure(routes).wrap(auth.middleware())),
    ));
    let call = |path: &str, header: &Credentials| {
        let request = test::TestRequest::get()
            .uri(path)
            .insert_header((header.0.clone(), header.1.clone()))
            .to_request();
        test::call_service(&app, request)
    };
    let bearer = (
        header::AUTHORIZATION,
        HeaderValue::from_str(&format!("Bearer {token}")).expect("bearer"),
    );
    let session = (
        header::COOKIE,
        system.block_on(session_cookie(&call, &emulator)),
    );
    let credentials = |is_session: bool| if is_session { &session } else { &bearer };
    for (_, _, path, is_session) in CASES {
        drive(&system, &call, path, credentials(is_session), 1);
    }
    if let Ok(spec) = std::env::var("ROUTER_LOOP") {
        let (case, n) = spec.split_once(':').expect("ROUTER_LOOP=<case>:<n>");
        let n: u64 = n.parse().expect("a count");
        let Some((_, _, path, is_session)) = CASES.into_iter().find(|c| c.0 == case) else {
            panic!("unknown case {case}");
        };
        drive(&system, &call, path, credentials(is_session), n);
        return;
    }
    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("actix-web application, in-process");
    for (_, name, path, is_session) in CASES {
        group.bench_function(name, |b| {
            b.iter(|| drive(&system, &call, path, credentials(is_session), 1));
        });
    }
    group.finish();
    criterion.final_summary();
    drop(tokio);
}
