//! The soak driver of `scripts/soak`: one full-stack example (axum or
//! actix-web) run as its own process against an emulator in this one, under
//! mixed traffic for a while, with the platform misbehaving on a schedule.
//!
//! ```text
//! soak --framework axum|actix --app target/release/axum-fullstack [--seconds 600]
//! ```
//!
//! Environment (all optional): `SOAK_WORKERS` (bearer workers, default 4),
//! `SOAK_SESSIONS` (signed-in browsers, default 4), `SOAK_WEBHOOK_WORKERS`
//! (default 1), `SOAK_CYCLE_SECONDS` and `SOAK_OUTAGE_SECONDS` (the fault
//! schedule, below), `SOAK_ACCESS_TTL` (user access-token lifetime in
//! seconds, default 35: sessions refresh 30 s before expiry, so every ~5 s),
//! `SOAK_UNKNOWN_KID=1` (also send tokens with an unknown `kid`: each one
//! past the JWKS cooldown costs a key fetch and restarts the 30 s cooldown,
//! during which a freshly rotated key is refused too), `SOAK_LOG` (the
//! application's stderr, default `target/soak/<framework>.log`),
//! `SOAK_APP_LOG` (its `RUST_LOG`, default `warn`).
//!
//! Traffic:
//! - bearer workers: `/api/me` with valid tokens (a pool re-minted at each
//!   key rotation, and a freshly signed one per request), expired,
//!   foreign-audience, forged-signature, oversized (20 KB, signed and
//!   junk), malformed, duplicated `Authorization` headers, no token (and
//!   unknown-`kid` with `SOAK_UNKNOWN_KID=1`); `/api/admin` with and
//!   without `admin:read`; `/health`;
//! - browsers: sign in through `/auth/login`, the emulator's hosted page
//!   and `/auth/callback` (as `tests/tests/scenarios/common/apps.rs` does, no browser),
//!   then `/api/me`, `/dashboard`, `/api/preferences` (GET and PUT),
//!   `/api/admin`, `/`, bursts of three concurrent requests with one cookie,
//!   and `/auth/logout` after 40 to 160 s; cookies kept as a browser keeps
//!   them, so the sessions refresh through the token endpoint;
//! - webhooks: signed deliveries posted directly (valid, bad signature,
//!   stale timestamp, unsigned, over 1 MiB) and events emitted through the
//!   emulator's own delivery queue.
//!
//! Schedule, per cycle of P seconds (`SOAK_CYCLE_SECONDS`, default 90):
//! from 0.15 P on, for O seconds (`SOAK_OUTAGE_SECONDS`, default 45, at
//! most 0.75 P), `/keys` and `/oauth/token` fail (500, dropped connections,
//! 503, a 12 s delay, in turn). The outage outlasts the access tokens
//! (35 s), so the sessions' tokens expire during it and their requests get
//! the documented 503. The signing key rotates once per cycle: on even cycles
//! at 0.05 P with the old keys kept, on odd cycles in the middle of the
//! outage with the old keys withdrawn (rotations are thus more than the
//! JWKS cooldown, 30 s, apart).
//!
//! Besides the status counts, the report lists the answers that differ
//! from what each kind of request should get while the platform is healthy
//! and the keys have not rotated for 35 s ("off-expectation"): a signal to
//! look at, not a failure.
//!
//! A `503` with `Retry-After` is the documented answer while the platform
//! is down; any other `5xx` (or a `503` without `Retry-After`), or a
//! request the application did not answer, is unexpected and makes the
//! driver exit with status 1.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, HeaderMap, HeaderValue, RETRY_AFTER};
use scalekit_emulator::{Emulator, EmulatorEndpoint, Fault, Rotation, WebhookSender};
use serde_json::json;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// A webhook secret the application does not hold (bad signatures).
const FOREIGN_WEBHOOK_SECRET: &str = "whsec_c2VjcmV0LWtleS1vZi1hdC1sZWFzdC0yNC1ieXRlcw==";
/// 503s this long after an outage window still count as the outage's.
const OUTAGE_TAIL: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------- settings

struct Settings {
    framework: String,
    app: PathBuf,
    seconds: u64,
    workers: usize,
    sessions: usize,
    webhook_workers: usize,
    cycle: u64,
    outage: u64,
    access_ttl: u64,
    unknown_kid: bool,
    log: PathBuf,
}

fn env_number(name: &str) -> Result<Option<u64>, AnyError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => {
            Ok(Some(v.trim().parse().map_err(|_| {
                format!("{name} must be a number, not {v:?}")
            })?))
        }
        _ => Ok(None),
    }
}

fn settings() -> Result<Settings, AnyError> {
    let mut framework = None;
    let mut app = None;
    let mut seconds = 600;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--framework" => framework = Some(value),
            "--app" => app = Some(PathBuf::from(value)),
            "--seconds" => {
                seconds = value
                    .parse()
                    .map_err(|_| format!("--seconds: not a number: {value}"))?
            }
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    let framework = framework.ok_or("--framework axum|actix is required")?;
    if framework != "axum" && framework != "actix" {
        return Err(format!("unknown framework {framework:?} (axum or actix)").into());
    }
    let app = app.ok_or("--app <path of the example binary> is required")?;
    let seconds: u64 = seconds;
    let cycle = env_number("SOAK_CYCLE_SECONDS")?.unwrap_or(90).max(10);
    let outage = env_number("SOAK_OUTAGE_SECONDS")?
        .unwrap_or(45)
        .min(cycle * 3 / 4)
        .max(1);
    let log = std::env::var("SOAK_LOG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(format!("target/soak/{framework}.log")));
    Ok(Settings {
        framework,
        app,
        seconds: seconds.max(1),
        workers: env_number("SOAK_WORKERS")?.unwrap_or(4) as usize,
        sessions: env_number("SOAK_SESSIONS")?.unwrap_or(4) as usize,
        webhook_workers: env_number("SOAK_WEBHOOK_WORKERS")?.unwrap_or(1) as usize,
        cycle,
        outage,
        access_ttl: env_number("SOAK_ACCESS_TTL")?.unwrap_or(35).max(1),
        unknown_kid: env_number("SOAK_UNKNOWN_KID")?.unwrap_or(0) != 0,
        log,
    })
}

// ------------------------------------------------------------- small tools

/// xorshift64*: no dependency, good enough to pick traffic.
struct Rng(u64);

impl Rng {
    fn seeded(salt: u64) -> Rng {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng((nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// An index into `weights`, chosen in proportion to them.
    fn pick(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut at = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if at < u64::from(*w) {
                return i;
            }
            at -= u64::from(*w);
        }
        weights.len() - 1
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn free_port() -> Result<u16, AnyError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// The resident set of `pid` in KiB, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

// ------------------------------------------------------------- statistics

/// What one request to the application got.
enum Answer {
    Status {
        status: u16,
        retry_after: bool,
        headers: HeaderMap,
        body: String,
    },
    NoAnswer(String),
}

impl Answer {
    fn status(&self) -> Option<u16> {
        match self {
            Answer::Status { status, .. } => Some(*status),
            Answer::NoAnswer(_) => None,
        }
    }

    fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Answer::Status { headers, .. } => Some(headers),
            Answer::NoAnswer(_) => None,
        }
    }

    fn location(&self) -> Option<String> {
        self.headers()?
            .get("location")?
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

#[derive(Default)]
struct Tally {
    /// (traffic kind, status; 0 = no answer) → count.
    by_kind: BTreeMap<(&'static str, u16), u64>,
    by_status: BTreeMap<u16, u64>,
    requests: u64,
    unexpected: u64,
    unexpected_samples: Vec<String>,
    no_answer: u64,
    no_answer_samples: Vec<String>,
    documented_503_in_outage: u64,
    documented_503_elsewhere: u64,
    documented_503_elsewhere_samples: Vec<String>,
    /// Answers other than the kind's expected ones while the platform was
    /// healthy and the keys stable.
    off_expectation: BTreeMap<(&'static str, u16), u64>,
    off_expectation_samples: Vec<String>,
    /// Stretches of time (start s, end s, count) in which tokens that
    /// should be accepted (valid, with or without the scope) got `401`.
    valid_refused: Vec<(f64, f64, u64)>,
    /// Sessions the application ended (a `401` on an API route, or the
    /// dashboard sending the browser to sign in).
    session_end_samples: Vec<String>,
    latencies_us: Vec<u32>,
}

/// The statuses a kind of request should get while the platform is
/// healthy and the keys have not just rotated.
fn expected(kind: &str) -> &'static [u16] {
    match kind {
        "bearer valid (pooled) /api/me"
        | "bearer valid (fresh) /api/me"
        | "bearer admin:read /api/admin"
        | "anonymous /"
        | "/health"
        | "session /api/me"
        | "session /dashboard"
        | "session GET /api/preferences"
        | "session PUT /api/preferences"
        | "session /"
        | "session burst of 3 /api/me"
        | "webhook valid signature" => &[200],
        "session /api/admin" => &[200, 403],
        "bearer no scope /api/admin" => &[403],
        "bearer two Authorization headers" => &[400],
        "browser sign-in" | "session logout" => &[302],
        "webhook bad signature" | "webhook stale timestamp" | "webhook unsigned" => &[400, 401],
        "webhook body over 1 MiB" => &[413],
        // Expired, foreign audience, forged, unknown kid, oversized,
        // malformed, none.
        _ => &[401],
    }
}

/// The pseudo-status of a request whose connection the application closed
/// while its (oversized) body was still being sent: it answered early
/// (`413`) and stopped reading, which the client sees as a broken pipe.
const CLOSED_MID_BODY: u16 = 1;

fn closed_mid_body(kind: &str, err: &str) -> bool {
    kind == "webhook body over 1 MiB"
        && (err.contains("writing a body")
            || err.contains("Broken pipe")
            || err.contains("reset by peer"))
}

fn status_label(status: u16) -> String {
    match status {
        0 => "no answer".to_owned(),
        CLOSED_MID_BODY => "closed while the body was sent".to_owned(),
        s => s.to_string(),
    }
}

/// Keys count as just rotated for this long (the JWKS cooldown, 30 s,
/// and a margin).
const ROTATION_TAIL: Duration = Duration::from_secs(35);

struct Stats {
    tally: Mutex<Tally>,
    started: Instant,
    /// Milliseconds since `started` at which the last outage window ended;
    /// `u64::MAX` while one is open; 0 before the first.
    outage_end_ms: AtomicU64,
    /// Milliseconds since `started` of the last key rotation (`u64::MAX`
    /// before the first).
    rotation_ms: AtomicU64,
    outages: AtomicU64,
    rotations: AtomicU64,
    sign_ins: AtomicU64,
    sign_in_failures: AtomicU64,
    code_exchanges: AtomicU64,
    code_exchanges_in_outage: AtomicU64,
    /// Requests to `/keys` and `/oauth/token` while an outage window was
    /// open (all answered with the fault).
    keys_in_outage: AtomicU64,
    token_in_outage: AtomicU64,
    sessions_ended: AtomicU64,
    logouts: AtomicU64,
    webhooks_emitted: AtomicU64,
    emulator_page_errors: AtomicU64,
}

impl Stats {
    fn new() -> Stats {
        Stats {
            tally: Mutex::new(Tally::default()),
            started: Instant::now(),
            outage_end_ms: AtomicU64::new(0),
            rotation_ms: AtomicU64::new(u64::MAX),
            outages: AtomicU64::new(0),
            rotations: AtomicU64::new(0),
            sign_ins: AtomicU64::new(0),
            sign_in_failures: AtomicU64::new(0),
            code_exchanges: AtomicU64::new(0),
            code_exchanges_in_outage: AtomicU64::new(0),
            keys_in_outage: AtomicU64::new(0),
            token_in_outage: AtomicU64::new(0),
            sessions_ended: AtomicU64::new(0),
            logouts: AtomicU64::new(0),
            webhooks_emitted: AtomicU64::new(0),
            emulator_page_errors: AtomicU64::new(0),
        }
    }

    fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// Whether an outage window is open or ended less than
    /// [`OUTAGE_TAIL`] ago.
    fn near_outage(&self) -> bool {
        let end = self.outage_end_ms.load(Ordering::Relaxed);
        if end == u64::MAX {
            return true;
        }
        end != 0
            && (self.started.elapsed().as_millis() as u64) < end + OUTAGE_TAIL.as_millis() as u64
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Whether the key rotated less than [`ROTATION_TAIL`] ago.
    fn near_rotation(&self) -> bool {
        let at = self.rotation_ms.load(Ordering::Relaxed);
        at != u64::MAX && self.now_ms() < at + ROTATION_TAIL.as_millis() as u64
    }

    fn phase(&self) -> String {
        let outage = match self.outage_end_ms.load(Ordering::Relaxed) {
            u64::MAX => "outage window open",
            _ if self.near_outage() => "within 15 s after an outage window",
            _ => "platform healthy",
        };
        let rotation = match self.rotation_ms.load(Ordering::Relaxed) {
            u64::MAX => "no key rotation yet".to_owned(),
            at => format!(
                "last key rotation {:.1} s before",
                self.now_ms().saturating_sub(at) as f64 / 1000.0
            ),
        };
        format!("{outage}, {rotation}")
    }

    fn record(&self, kind: &'static str, what: &str, answer: &Answer, took: Duration) {
        let mut t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        t.requests += 1;
        t.latencies_us
            .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        let status = match answer {
            Answer::NoAnswer(err) if closed_mid_body(kind, err) => CLOSED_MID_BODY,
            _ => answer.status().unwrap_or(0),
        };
        *t.by_kind.entry((kind, status)).or_default() += 1;
        *t.by_status.entry(status).or_default() += 1;
        let at = self.elapsed_s();
        if status == 401 && kind.starts_with("bearer ") && !expected(kind).contains(&401) {
            match t.valid_refused.last_mut() {
                Some((_, end, n)) if at <= *end + 2.0 => {
                    *end = at;
                    *n += 1;
                }
                _ => t.valid_refused.push((at, at, 1)),
            }
        }
        if status > CLOSED_MID_BODY
            && !expected(kind).contains(&status)
            && !self.near_outage()
            && !self.near_rotation()
        {
            *t.off_expectation.entry((kind, status)).or_default() += 1;
            if t.off_expectation_samples.len() < 12 {
                let phase = self.phase();
                let body = match answer {
                    Answer::Status { body, .. } => body.chars().take(200).collect(),
                    Answer::NoAnswer(_) => String::new(),
                };
                t.off_expectation_samples.push(format!(
                    "t={at:.1}s [{kind}] {what} -> {status}; {phase}; body: {body}"
                ));
            }
        }
        match answer {
            Answer::NoAnswer(_) if status == CLOSED_MID_BODY => {}
            Answer::NoAnswer(err) => {
                t.no_answer += 1;
                if t.no_answer_samples.len() < 20 {
                    let phase = self.phase();
                    t.no_answer_samples.push(format!(
                        "t={at:.1}s [{kind}] {what}: no answer ({err}); {phase}"
                    ));
                }
            }
            Answer::Status {
                status,
                retry_after,
                body,
                ..
            } if *status >= 500 => {
                if *status == 503 && *retry_after {
                    if self.near_outage() {
                        t.documented_503_in_outage += 1;
                    } else {
                        t.documented_503_elsewhere += 1;
                        if t.documented_503_elsewhere_samples.len() < 10 {
                            t.documented_503_elsewhere_samples
                                .push(format!("t={at:.1}s [{kind}] {what}"));
                        }
                    }
                } else {
                    t.unexpected += 1;
                    if t.unexpected_samples.len() < 20 {
                        let phase = self.phase();
                        let body: String = body.chars().take(300).collect();
                        t.unexpected_samples.push(format!(
                            "t={at:.1}s [{kind}] {what} -> {status} (Retry-After: {}); {phase}; body: {body}",
                            if *retry_after { "yes" } else { "no" }
                        ));
                    }
                }
            }
            Answer::Status { .. } => {}
        }
    }

    fn snapshot(&self) -> (u64, u64, u64) {
        let t = self.tally.lock().unwrap_or_else(|e| e.into_inner());
        (t.requests, t.unexpected, t.no_answer)
    }
}

/// Sends `request`, reads the whole answer, and records it.
async fn send(
    stats: &Stats,
    kind: &'static str,
    what: &str,
    request: reqwest::RequestBuilder,
) -> Answer {
    let started = Instant::now();
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let retry_after = headers.contains_key(RETRY_AFTER);
            match response.text().await {
                Ok(body) => Answer::Status {
                    status,
                    retry_after,
                    headers,
                    body,
                },
                Err(err) => Answer::NoAnswer(format!("body: {err}")),
            }
        }
        Err(err) => Answer::NoAnswer(error_chain(&err)),
    };
    stats.record(kind, what, &answer, started.elapsed());
    answer
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

// ------------------------------------------------------------ the tokens

/// Tokens re-minted at each key rotation (signed by the active key).
struct Pool {
    valid: Vec<String>,
    admin: Vec<String>,
    expired: Vec<String>,
    foreign: Vec<String>,
    forged: Vec<String>,
    oversized: Vec<String>,
    unknown_kid: Vec<String>,
}

fn mint_pool(emulator: &Emulator) -> Result<Pool, AnyError> {
    let now = unix_now();
    let long = json!({"exp": now + 3600});
    let mut valid = Vec::new();
    for _ in 0..24 {
        valid.push(emulator.mint_access_token(long.clone())?);
    }
    let mut admin = Vec::new();
    for _ in 0..6 {
        admin.push(emulator.mint_access_token(
            json!({"exp": now + 3600, "permissions": ["admin:read"], "roles": ["admin"]}),
        )?);
    }
    let mut expired = Vec::new();
    for _ in 0..6 {
        expired
            .push(emulator.mint_access_token(
                json!({"iat": now - 900, "nbf": now - 900, "exp": now - 600}),
            )?);
    }
    let mut foreign = Vec::new();
    for _ in 0..6 {
        foreign.push(emulator.mint_access_token(
            json!({"exp": now + 3600, "aud": ["https://another-app.example"], "client_id": "skc_another"}),
        )?);
    }
    // Each valid token's signature swapped for its neighbour's: well formed,
    // a known kid, one RSA check each, refused.
    let forged = valid
        .iter()
        .zip(valid.iter().cycle().skip(1))
        .take(8)
        .filter_map(|(a, b)| {
            Some(format!(
                "{}.{}",
                a.rsplit_once('.')?.0,
                b.rsplit_once('.')?.1
            ))
        })
        .collect();
    // A signed token of ~20 KB (a 15 KB claim), and 20 KB of junk shaped
    // like a token.
    let padding = "x".repeat(15_000);
    let mut oversized =
        vec![emulator.mint_access_token(json!({"exp": now + 3600, "padding": padding}))?];
    oversized.push(format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{}",
        "A".repeat(16_000),
        "B".repeat(4_000)
    ));
    let unknown_kid = vec![emulator.sign_with_header(
        &json!({"kid": format!("kid_unknown_{now}")}),
        &emulator.access_token_claims(json!({"exp": now + 3600})),
    )?];
    Ok(Pool {
        valid,
        admin,
        expired,
        foreign,
        forged,
        oversized,
        unknown_kid,
    })
}

struct Shared {
    base: String,
    emulator: Emulator,
    http: reqwest::Client,
    stats: Stats,
    pool: RwLock<Arc<Pool>>,
    deadline: Instant,
    stop: AtomicBool,
    webhook_secret: String,
    user_ids: Vec<String>,
    unknown_kid: bool,
    /// A client that keeps no idle connection, for the oversized webhook
    /// bodies: the application answers 413 before reading them all and
    /// closes the connection, which must not go back to the shared pool.
    unpooled: reqwest::Client,
}

impl Shared {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed) && Instant::now() < self.deadline
    }

    fn pool(&self) -> Arc<Pool> {
        self.pool.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn remint(&self) {
        match mint_pool(&self.emulator) {
            Ok(pool) => *self.pool.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(pool),
            Err(err) => eprintln!("soak: re-minting the token pool failed: {err}"),
        }
    }
}

fn any(rng: &mut Rng, tokens: &[String]) -> String {
    tokens[rng.below(tokens.len() as u64) as usize].clone()
}

fn bearer(token: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("Bearer {token}"))
        .unwrap_or(HeaderValue::from_static("Bearer x"))
}

// --------------------------------------------------------- bearer workers

async fn bearer_worker(shared: Arc<Shared>, id: u64) {
    const KINDS: [(&str, u32); 14] = [
        ("bearer valid (pooled) /api/me", 30),
        ("bearer valid (fresh) /api/me", 6),
        ("bearer admin:read /api/admin", 5),
        ("bearer no scope /api/admin", 4),
        ("bearer expired", 8),
        ("bearer foreign audience", 8),
        ("bearer forged signature", 8),
        ("bearer unknown kid", 2),
        ("bearer oversized 20 KB", 4),
        ("bearer malformed", 3),
        ("bearer two Authorization headers", 2),
        ("anonymous /api/me", 3),
        ("anonymous /", 2),
        ("/health", 2),
    ];
    let weights: Vec<u32> = KINDS
        .iter()
        .map(|(kind, w)| {
            if *kind == "bearer unknown kid" && !shared.unknown_kid {
                0
            } else {
                *w
            }
        })
        .collect();
    let mut rng = Rng::seeded(id + 1);
    let base = &shared.base;
    while shared.running() {
        let pick = rng.pick(&weights);
        let kind = KINDS[pick].0;
        let pool = shared.pool();
        let me = format!("{base}/api/me");
        let (what, request) = match pick {
            0 => (
                "GET /api/me",
                shared
                    .http
                    .get(&me)
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.valid))),
            ),
            1 => {
                let token = shared
                    .emulator
                    .mint_access_token(json!({}))
                    .unwrap_or_default();
                (
                    "GET /api/me",
                    shared.http.get(&me).header(AUTHORIZATION, bearer(&token)),
                )
            }
            2 => (
                "GET /api/admin",
                shared
                    .http
                    .get(format!("{base}/api/admin"))
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.admin))),
            ),
            3 => (
                "GET /api/admin",
                shared
                    .http
                    .get(format!("{base}/api/admin"))
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.valid))),
            ),
            4 => (
                "GET /api/me",
                shared
                    .http
                    .get(&me)
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.expired))),
            ),
            5 => (
                "GET /api/me",
                shared
                    .http
                    .get(&me)
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.foreign))),
            ),
            6 => (
                "GET /api/me",
                shared
                    .http
                    .get(&me)
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.forged))),
            ),
            7 => (
                "GET /api/me",
                shared
                    .http
                    .get(&me)
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.unknown_kid))),
            ),
            8 => (
                "GET /api/me",
                shared
                    .http
                    .get(&me)
                    .header(AUTHORIZATION, bearer(&any(&mut rng, &pool.oversized))),
            ),
            9 => {
                let junk = [
                    "not-a-jwt",
                    "a.b",
                    "a.b.c.d",
                    "e30.e30.",
                    "....",
                    "eyJhbGciOiJub25lIn0.e30.",
                ];
                let token = junk[rng.below(junk.len() as u64) as usize];
                (
                    "GET /api/me",
                    shared.http.get(&me).header(AUTHORIZATION, bearer(token)),
                )
            }
            10 => {
                let mut headers = HeaderMap::new();
                headers.append(AUTHORIZATION, bearer(&any(&mut rng, &pool.valid)));
                headers.append(AUTHORIZATION, bearer(&any(&mut rng, &pool.valid)));
                ("GET /api/me", shared.http.get(&me).headers(headers))
            }
            11 => ("GET /api/me", shared.http.get(&me)),
            12 => ("GET /", shared.http.get(format!("{base}/"))),
            _ => ("GET /health", shared.http.get(format!("{base}/health"))),
        };
        send(&shared.stats, kind, what, request).await;
    }
}

// ---------------------------------------------------------------- browsers

/// The cookies a browser holds for the application.
#[derive(Default, Clone)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn apply(&mut self, headers: Option<&HeaderMap>) {
        let Some(headers) = headers else { return };
        for value in headers.get_all("set-cookie") {
            let Ok(value) = value.to_str() else { continue };
            let mut parts = value.split(';');
            let Some((name, val)) = parts.next().and_then(|p| p.split_once('=')) else {
                continue;
            };
            let removed = parts.any(|attr| {
                let attr = attr.trim().to_ascii_lowercase();
                attr == "max-age=0" || attr.starts_with("expires=thu, 01 jan 1970")
            });
            if removed || val.is_empty() {
                self.0.remove(name.trim());
            } else {
                self.0.insert(name.trim().to_owned(), val.trim().to_owned());
            }
        }
    }

    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn has_session(&self) -> bool {
        self.0.keys().any(|k| k.contains("sk_session"))
    }
}

/// Signs in as `user_id` through the login route, the emulator's hosted
/// page and the callback. `false` when the sign-in did not complete.
async fn sign_in(shared: &Shared, jar: &mut Jar, user_id: &str) -> bool {
    let stats = &shared.stats;
    let base = &shared.base;
    let login = send(
        stats,
        "browser sign-in",
        "GET /auth/login",
        shared.http.get(format!("{base}/auth/login")),
    )
    .await;
    jar.apply(login.headers());
    let Some(authorize) = login.location().and_then(|l| url::Url::parse(&l).ok()) else {
        stats.sign_in_failures.fetch_add(1, Ordering::Relaxed);
        return false;
    };
    // The hosted page (the emulator's, not the application's: not counted).
    let mut form: Vec<(String, String)> = authorize
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("user_id".into(), user_id.to_owned()));
    let callback = match shared
        .http
        .post(format!("{}/oauth/authorize", shared.emulator.url()))
        .form(&form)
        .send()
        .await
    {
        Ok(r) if r.status() == StatusCode::FOUND => r
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(str::to_owned),
        _ => None,
    };
    let Some(callback) = callback else {
        stats.emulator_page_errors.fetch_add(1, Ordering::Relaxed);
        stats.sign_in_failures.fetch_add(1, Ordering::Relaxed);
        return false;
    };
    stats.code_exchanges.fetch_add(1, Ordering::Relaxed);
    if stats.outage_end_ms.load(Ordering::Relaxed) == u64::MAX {
        stats
            .code_exchanges_in_outage
            .fetch_add(1, Ordering::Relaxed);
    }
    let answer = send(
        stats,
        "browser sign-in",
        "GET /auth/callback",
        shared.http.get(&callback).header(COOKIE, jar.header()),
    )
    .await;
    jar.apply(answer.headers());
    if answer.status() == Some(302) && jar.has_session() {
        stats.sign_ins.fetch_add(1, Ordering::Relaxed);
        true
    } else {
        stats.sign_in_failures.fetch_add(1, Ordering::Relaxed);
        false
    }
}

async fn browser(shared: Arc<Shared>, id: u64) {
    const ACTIONS: [(&str, u32); 8] = [
        ("session /api/me", 30),
        ("session /dashboard", 15),
        ("session GET /api/preferences", 8),
        ("session PUT /api/preferences", 5),
        ("session /api/admin", 5),
        ("session /", 5),
        ("session burst of 3 /api/me", 5),
        // Not picked at random: when the session's lifetime is over.
        ("session logout", 0),
    ];
    let weights: Vec<u32> = ACTIONS.iter().map(|(_, w)| *w).collect();
    let mut rng = Rng::seeded(1000 + id);
    let user = shared.user_ids[id as usize % shared.user_ids.len()].clone();
    let base = shared.base.clone();
    let mut jar = Jar::default();
    // Each session lasts 40 to 160 s (several refreshes), then signs out.
    let mut logout_at = Instant::now();
    while shared.running() {
        if !jar.has_session() {
            jar = Jar::default();
            if !sign_in(&shared, &mut jar, &user).await {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
            logout_at = Instant::now() + Duration::from_secs(40 + rng.below(121));
        }
        let pick = if Instant::now() >= logout_at {
            ACTIONS.len() - 1
        } else {
            rng.pick(&weights)
        };
        let kind = ACTIONS[pick].0;
        let cookie = jar.header();
        let get = |path: &str| {
            shared
                .http
                .get(format!("{base}{path}"))
                .header(COOKIE, cookie.clone())
        };
        let answers: Vec<(&str, Answer)> = match pick {
            0 => vec![(
                "/api/me",
                send(&shared.stats, kind, "GET /api/me", get("/api/me")).await,
            )],
            1 => vec![(
                "/dashboard",
                send(&shared.stats, kind, "GET /dashboard", get("/dashboard")).await,
            )],
            2 => vec![(
                "/api/preferences",
                send(
                    &shared.stats,
                    kind,
                    "GET /api/preferences",
                    get("/api/preferences"),
                )
                .await,
            )],
            3 => {
                let theme = if rng.below(2) == 0 { "dark" } else { "light" };
                let request = shared
                    .http
                    .put(format!("{base}/api/preferences"))
                    .header(COOKIE, cookie.clone())
                    .header(CONTENT_TYPE, "application/json")
                    .body(json!({ "theme": theme }).to_string());
                vec![(
                    "/api/preferences",
                    send(&shared.stats, kind, "PUT /api/preferences", request).await,
                )]
            }
            4 => vec![(
                "/api/admin",
                send(&shared.stats, kind, "GET /api/admin", get("/api/admin")).await,
            )],
            5 => vec![("/", send(&shared.stats, kind, "GET /", get("/")).await)],
            6 => {
                let (a, b, c) = tokio::join!(
                    send(&shared.stats, kind, "GET /api/me (burst)", get("/api/me")),
                    send(&shared.stats, kind, "GET /api/me (burst)", get("/api/me")),
                    send(&shared.stats, kind, "GET /api/me (burst)", get("/api/me")),
                );
                vec![("/api/me", a), ("/api/me", b), ("/api/me", c)]
            }
            _ => {
                let answer =
                    send(&shared.stats, kind, "GET /auth/logout", get("/auth/logout")).await;
                jar.apply(answer.headers());
                if answer.status() == Some(302) {
                    shared.stats.logouts.fetch_add(1, Ordering::Relaxed);
                    jar = Jar::default();
                }
                continue;
            }
        };
        let mut ended = false;
        for (path, answer) in &answers {
            jar.apply(answer.headers());
            // The session has ended when an API route says 401 or the
            // dashboard sends the browser to sign in.
            ended |= match answer.status() {
                Some(401) => path.starts_with("/api/"),
                Some(302) => answer.location().is_some_and(|l| l.contains("/auth/login")),
                _ => false,
            };
        }
        if ended {
            shared.stats.sessions_ended.fetch_add(1, Ordering::Relaxed);
            let stats = &shared.stats;
            let mut t = stats.tally.lock().unwrap_or_else(|e| e.into_inner());
            if t.session_end_samples.len() < 10 {
                let detail: Vec<String> = answers
                    .iter()
                    .map(|(path, a)| {
                        let challenge = a
                            .headers()
                            .and_then(|h| h.get("www-authenticate"))
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("");
                        let location = a.location().unwrap_or_default();
                        format!(
                            "{path} -> {} {challenge}{location}",
                            a.status().map_or("no answer".into(), |s| s.to_string())
                        )
                    })
                    .collect();
                let sample = format!(
                    "t={:.1}s [{kind}] {}; {}",
                    stats.elapsed_s(),
                    detail.join(", "),
                    stats.phase()
                );
                t.session_end_samples.push(sample);
            }
            drop(t);
            jar = Jar::default();
        }
        // A person's pace, roughly.
        tokio::time::sleep(Duration::from_millis(20 + rng.below(130))).await;
    }
}

// ---------------------------------------------------------------- webhooks

async fn webhook_worker(shared: Arc<Shared>, id: u64) {
    const KINDS: [(&str, u32); 5] = [
        ("webhook valid signature", 10),
        ("webhook bad signature", 5),
        ("webhook stale timestamp", 3),
        ("webhook unsigned", 2),
        ("webhook body over 1 MiB", 1),
    ];
    let weights: Vec<u32> = KINDS.iter().map(|(_, w)| *w).collect();
    let mut rng = Rng::seeded(5000 + id);
    let (Ok(ours), Ok(foreign)) = (
        WebhookSender::new(&shared.webhook_secret),
        WebhookSender::new(FOREIGN_WEBHOOK_SECRET),
    ) else {
        eprintln!("soak: cannot build webhook signers");
        return;
    };
    let url = format!("{}/webhooks/scalekit", shared.base);
    let org = shared.emulator.test_user().organization_id.clone();
    let mut last_emit = Instant::now();
    let mut n = 0u64;
    while shared.running() {
        // An event through the emulator's own delivery queue every 2 s
        // (delivered, and retried on failure, by the emulator).
        if last_emit.elapsed() >= Duration::from_secs(2) {
            last_emit = Instant::now();
            shared.emulator.emit_event(
                "organization.updated",
                "Organization",
                &org,
                json!({"id": org, "soak": n}),
            );
            shared
                .stats
                .webhooks_emitted
                .fetch_add(1, Ordering::Relaxed);
        }
        n += 1;
        let pick = rng.pick(&weights);
        let kind = KINDS[pick].0;
        let event = ours.event(
            "user.organization_membership_created",
            &org,
            json!({"n": n}),
        );
        let mut body = serde_json::to_vec(&event).unwrap_or_default();
        if pick == 4 {
            body.extend(std::iter::repeat_n(b' ', 1_100_000));
        }
        let webhook_id = format!("msg_soak_{id}_{n}");
        let now = unix_now();
        let (timestamp, signature) = match pick {
            1 => (now, foreign.signature(&webhook_id, now, &body)),
            2 => (now - 3600, ours.signature(&webhook_id, now - 3600, &body)),
            _ => (now, ours.signature(&webhook_id, now, &body)),
        };
        let client = if pick == 4 {
            &shared.unpooled
        } else {
            &shared.http
        };
        let mut request = client.post(&url).header(CONTENT_TYPE, "application/json");
        if pick != 3 {
            request = request
                .header("webhook-id", &webhook_id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature);
        }
        send(
            &shared.stats,
            kind,
            "POST /webhooks/scalekit",
            request.body(body),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(50 + rng.below(150))).await;
    }
}

// ---------------------------------------------------------------- schedule

/// Rotations and outage windows, cycle after cycle.
async fn schedule(shared: Arc<Shared>, cycle: Duration, outage: Duration) {
    let faults = [
        ("500", Fault::Status(500)),
        ("dropped connections", Fault::DropConnection),
        ("503", Fault::Status(503)),
        ("a 12 s delay", Fault::Delay(Duration::from_secs(12))),
    ];
    let start = shared.stats.started;
    let outage_start = cycle.mul_f64(0.15);
    let mut c = 0u32;
    // The counters of /keys and /oauth/token when the outage began.
    let mut at_outage_start = (0, 0);
    loop {
        let odd = c % 2 == 1;
        // (offset in the cycle, what): 0 rotate keeping the old keys,
        // 1 outage starts, 2 rotate withdrawing the old keys, 3 outage ends.
        let steps: Vec<(Duration, u8)> = if odd {
            vec![
                (outage_start, 1),
                (outage_start + outage / 2, 2),
                (outage_start + outage, 3),
            ]
        } else {
            vec![
                (cycle.mul_f64(0.05), 0),
                (outage_start, 1),
                (outage_start + outage, 3),
            ]
        };
        for (offset, step) in steps {
            let when = start + cycle * c + offset;
            if when >= shared.deadline || !shared.running() {
                // An outage still open lasts until the end of the run.
                if shared.stats.outage_end_ms.load(Ordering::Relaxed) == u64::MAX {
                    while shared.running() {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    end_outage(&shared, at_outage_start);
                }
                return;
            }
            tokio::time::sleep_until(when.into()).await;
            match step {
                0 => rotate(&shared, Rotation::KeepOld).await,
                1 => {
                    let (name, fault) = &faults[c as usize % faults.len()];
                    shared
                        .stats
                        .outage_end_ms
                        .store(u64::MAX, Ordering::Relaxed);
                    shared.stats.outages.fetch_add(1, Ordering::Relaxed);
                    at_outage_start = (
                        shared.emulator.request_count(EmulatorEndpoint::Keys),
                        shared.emulator.request_count(EmulatorEndpoint::Token),
                    );
                    shared
                        .emulator
                        .inject_fault(EmulatorEndpoint::Keys, fault.clone());
                    shared
                        .emulator
                        .inject_fault(EmulatorEndpoint::Token, fault.clone());
                    eprintln!(
                        "  t={:.0}s outage: /keys and /oauth/token answer {name} for {} s",
                        shared.stats.elapsed_s(),
                        outage.as_secs()
                    );
                }
                2 => rotate(&shared, Rotation::WithdrawOld).await,
                _ => end_outage(&shared, at_outage_start),
            }
        }
        c += 1;
    }
}

fn end_outage(shared: &Shared, (keys, token): (u64, u64)) {
    shared.emulator.clear_faults();
    let stats = &shared.stats;
    stats.keys_in_outage.fetch_add(
        shared.emulator.request_count(EmulatorEndpoint::Keys) - keys,
        Ordering::Relaxed,
    );
    stats.token_in_outage.fetch_add(
        shared.emulator.request_count(EmulatorEndpoint::Token) - token,
        Ordering::Relaxed,
    );
    stats.outage_end_ms.store(stats.now_ms(), Ordering::Relaxed);
    eprintln!("  t={:.0}s platform healthy again", stats.elapsed_s());
}

async fn rotate(shared: &Arc<Shared>, rotation: Rotation) {
    match shared.emulator.rotate_keys(rotation).await {
        Ok(kid) => {
            shared.stats.rotations.fetch_add(1, Ordering::Relaxed);
            let now = shared.stats.now_ms();
            shared.stats.rotation_ms.store(now, Ordering::Relaxed);
            let s = shared.clone();
            let _ = tokio::task::spawn_blocking(move || s.remint()).await;
            eprintln!(
                "  t={:.0}s key rotated ({}): {kid}",
                shared.stats.elapsed_s(),
                match rotation {
                    Rotation::KeepOld => "old keys kept",
                    Rotation::WithdrawOld => "old keys withdrawn",
                }
            );
        }
        Err(err) => eprintln!("soak: key rotation failed: {err}"),
    }
}

// ------------------------------------------------------------------- main

/// The application process; killed when dropped.
struct App(Child);

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_ready(http: &reqwest::Client, base: &str, app: &mut App) -> Result<(), AnyError> {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/health")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        if let Some(status) = app.0.try_wait()? {
            return Err(format!("the application exited at start: {status}").into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the application did not answer /health within 30 s".into())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() {
    match run().await {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(err) => {
            eprintln!("soak: {err}");
            std::process::exit(2);
        }
    }
}

async fn run() -> Result<bool, AnyError> {
    let settings = settings()?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let emulator = Emulator::builder()
        .redirect_uri(format!("{base}/auth/callback"))
        .post_logout_redirect_uri(format!("{base}/"))
        .initiate_login_uri(format!("{base}/auth/login"))
        .access_token_ttl(Duration::from_secs(settings.access_ttl))
        .webhook_url(format!("{base}/webhooks/scalekit"))
        .webhook_retry_delays(vec![
            Duration::from_secs(1),
            Duration::from_secs(2),
            Duration::from_secs(5),
        ])
        .start()
        .await?;
    let webhook_secret = emulator.webhook_secret().to_owned();

    if let Some(dir) = settings.log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let log = std::fs::File::create(&settings.log)?;
    let mut app = App(Command::new(&settings.app)
        .env_remove("REDIS_URL")
        .env_remove("SCALEKIT_ENV_URL")
        .env("SCALEKIT_ENVIRONMENT_URL", emulator.url())
        .env("SCALEKIT_CLIENT_ID", emulator.client_id())
        .env("SCALEKIT_CLIENT_SECRET", emulator.client_secret())
        .env("SCALEKIT_WEBHOOK_SECRET", &webhook_secret)
        .env(
            "SESSION_SECRET",
            "soak-session-secret-of-at-least-32-bytes!",
        )
        .env("PORT", port.to_string())
        .env("APP_BASE_URL", &base)
        .env(
            "RUST_LOG",
            std::env::var("SOAK_APP_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", settings.app.display()))?);
    let pid = app.0.id();

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()?;
    wait_ready(&http, &base, &mut app).await?;
    let rss_start = rss_kib(pid).unwrap_or(0);
    let user_ids: Vec<String> = emulator.users().into_iter().map(|u| u.id).collect();
    let pool = mint_pool(&emulator)?;
    emulator.reset_counters();

    println!(
        "soak {}-fullstack (pid {pid}) at {base}: {} s, {} bearer workers, {} browsers, {} webhook senders, \
         fault cycle {} s with {} s of outage, access tokens live {} s; application log: {}",
        settings.framework,
        settings.seconds,
        settings.workers,
        settings.sessions,
        settings.webhook_workers,
        settings.cycle,
        settings.outage,
        settings.access_ttl,
        settings.log.display()
    );
    let stats = Stats::new();
    let deadline = stats.started + Duration::from_secs(settings.seconds);
    let shared = Arc::new(Shared {
        base: base.clone(),
        emulator,
        http,
        stats,
        pool: RwLock::new(Arc::new(pool)),
        deadline,
        stop: AtomicBool::new(false),
        webhook_secret,
        user_ids,
        unknown_kid: settings.unknown_kid,
        unpooled: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(0)
            .build()?,
    });

    let mut tasks = Vec::new();
    for i in 0..settings.workers {
        tasks.push(tokio::spawn(bearer_worker(shared.clone(), i as u64)));
    }
    for i in 0..settings.sessions {
        tasks.push(tokio::spawn(browser(shared.clone(), i as u64)));
    }
    for i in 0..settings.webhook_workers {
        tasks.push(tokio::spawn(webhook_worker(shared.clone(), i as u64)));
    }
    let scheduler = tokio::spawn(schedule(
        shared.clone(),
        Duration::from_secs(settings.cycle),
        Duration::from_secs(settings.outage),
    ));

    // RSS samples and progress; stop early if the application dies or on
    // Ctrl-C.
    let mut rss_samples: Vec<(f64, u64)> = Vec::new();
    let mut died = None;
    let progress_every = Duration::from_secs(if settings.seconds > 120 { 60 } else { 15 });
    let mut next_progress = Instant::now() + progress_every;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    while shared.running() {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = &mut ctrl_c => {
                eprintln!("soak: interrupted: reporting what ran so far");
                shared.stop.store(true, Ordering::Relaxed);
            }
            _ = terminate.recv() => {
                eprintln!("soak: terminated: reporting what ran so far");
                shared.stop.store(true, Ordering::Relaxed);
            }
        }
        if let Some(status) = app.0.try_wait()? {
            died = Some(status.to_string());
            shared.stop.store(true, Ordering::Relaxed);
            break;
        }
        if let Some(kib) = rss_kib(pid) {
            rss_samples.push((shared.stats.elapsed_s(), kib));
        }
        if Instant::now() >= next_progress {
            next_progress += progress_every;
            let (requests, unexpected, no_answer) = shared.stats.snapshot();
            eprintln!(
                "  t={:.0}s {requests} requests, {unexpected} unexpected 5xx, {no_answer} unanswered, RSS {}",
                shared.stats.elapsed_s(),
                rss_samples.last().map_or("?".into(), |(_, k)| mib(*k)),
            );
        }
    }
    let stopped = Instant::now() < deadline;
    for task in tasks {
        let _ = task.await;
    }
    let _ = scheduler.await;
    shared.emulator.clear_faults();
    // Let the emulator's queue finish its last deliveries.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_end = rss_kib(pid).unwrap_or(0);
    let elapsed = shared.stats.elapsed_s();
    if died.is_none()
        && let Some(status) = app.0.try_wait()?
    {
        died = Some(status.to_string());
    }

    let stats = &shared.stats;
    let key_fetches = shared.emulator.request_count(EmulatorEndpoint::Keys);
    let token_requests = shared.emulator.request_count(EmulatorEndpoint::Token);
    let exchanges = stats.code_exchanges.load(Ordering::Relaxed);
    let deliveries = shared.emulator.webhook_deliveries();
    let delivered = deliveries
        .iter()
        .filter(|d| d.state == scalekit_emulator::DeliveryState::Delivered)
        .count();
    let delivery_5xx: Vec<_> = deliveries
        .iter()
        .filter(|d| d.last_status.is_some_and(|s| s >= 500))
        .collect();
    let mut tally = stats.tally.lock().unwrap_or_else(|e| e.into_inner());
    tally.latencies_us.sort_unstable();
    let lat = &tally.latencies_us;

    let mut out = String::new();
    let w = &mut out;
    use std::fmt::Write as _;
    let _ = writeln!(
        w,
        "\n== soak {}-fullstack: {elapsed:.0} s ==",
        settings.framework
    );
    let _ = writeln!(
        w,
        "requests: {} ({:.0}/s); latency p50 {:.2} ms, p99 {:.2} ms, max {:.0} ms",
        tally.requests,
        tally.requests as f64 / elapsed.max(1.0),
        percentile(lat, 0.50),
        percentile(lat, 0.99),
        percentile(lat, 1.0),
    );
    let statuses: Vec<String> = tally
        .by_status
        .iter()
        .map(|(s, n)| format!("{}: {n}", status_label(*s)))
        .collect();
    let _ = writeln!(w, "answers by status: {}", statuses.join(", "));
    let _ = writeln!(
        w,
        "5xx outside the documented 503 + Retry-After: {}",
        tally.unexpected
    );
    let _ = writeln!(w, "requests without an answer: {}", tally.no_answer);
    let _ = writeln!(
        w,
        "documented 503 + Retry-After: {} during or within 15 s after an outage window, {} elsewhere",
        tally.documented_503_in_outage, tally.documented_503_elsewhere
    );
    let peak = rss_samples.iter().map(|(_, k)| *k).max().unwrap_or(rss_end);
    let _ = writeln!(
        w,
        "application RSS: {} at start (idle, before traffic), {} at end, peak {}",
        mib(rss_start),
        mib(rss_end),
        mib(peak.max(rss_end))
    );
    if !rss_samples.is_empty() {
        let step = (rss_samples.len() / 10).max(1);
        let trend: Vec<String> = rss_samples
            .iter()
            .step_by(step)
            .map(|(t, k)| format!("{t:.0}s {:.1}", *k as f64 / 1024.0))
            .collect();
        let _ = writeln!(w, "  RSS trend (MiB): {}", trend.join(", "));
    }
    let _ = writeln!(
        w,
        "key fetches (GET /keys at the emulator): {key_fetches}; key rotations: {}; outage windows: {}",
        stats.rotations.load(Ordering::Relaxed),
        stats.outages.load(Ordering::Relaxed)
    );
    let keys_out = stats.keys_in_outage.load(Ordering::Relaxed);
    let token_out = stats.token_in_outage.load(Ordering::Relaxed);
    let exchanges_out = stats.code_exchanges_in_outage.load(Ordering::Relaxed);
    let _ = writeln!(
        w,
        "  of which {keys_out} during outage windows (failed by the fault), {} while healthy",
        key_fetches.saturating_sub(keys_out)
    );
    let _ = writeln!(
        w,
        "token endpoint: {token_requests} requests: {} session refreshes and {} code exchanges while healthy; \
         {token_out} during outage windows (failed by the fault: {} refresh attempts, {exchanges_out} code exchanges)",
        token_requests
            .saturating_sub(token_out)
            .saturating_sub(exchanges - exchanges_out),
        exchanges - exchanges_out,
        token_out.saturating_sub(exchanges_out),
    );
    let _ = writeln!(
        w,
        "browsers: {} sign-ins, {} failed sign-ins ({} of them at the emulator's hosted page), \
         {} sessions ended by the application, {} logouts",
        stats.sign_ins.load(Ordering::Relaxed),
        stats.sign_in_failures.load(Ordering::Relaxed),
        stats.emulator_page_errors.load(Ordering::Relaxed),
        stats.sessions_ended.load(Ordering::Relaxed),
        stats.logouts.load(Ordering::Relaxed),
    );
    let _ = writeln!(
        w,
        "emulator webhook queue: {} events emitted, {} deliveries, {delivered} delivered, {} last answered 5xx",
        stats.webhooks_emitted.load(Ordering::Relaxed),
        deliveries.len(),
        delivery_5xx.len()
    );
    let _ = writeln!(w, "answers by traffic kind:");
    let mut kinds: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for ((kind, status), n) in &tally.by_kind {
        kinds
            .entry(kind)
            .or_default()
            .push(format!("{}: {n}", status_label(*status)));
    }
    for (kind, counts) in kinds {
        let _ = writeln!(w, "  {kind:36} {}", counts.join(", "));
    }
    let off: Vec<String> = tally
        .off_expectation
        .iter()
        .map(|((kind, status), n)| format!("{kind} -> {status}: {n}"))
        .collect();
    let _ = writeln!(
        w,
        "off-expectation answers (platform healthy, keys stable for 35 s): {}",
        if off.is_empty() {
            "none".to_owned()
        } else {
            off.join("; ")
        }
    );
    for sample in &tally.off_expectation_samples {
        let _ = writeln!(w, "  e.g. {sample}");
    }
    if !tally.valid_refused.is_empty() {
        let stretches: Vec<String> = tally
            .valid_refused
            .iter()
            .map(|(from, to, n)| format!("{from:.0}-{to:.0} s ({n})"))
            .collect();
        let _ = writeln!(
            w,
            "valid bearer tokens answered 401, by stretch of time: {}",
            stretches.join(", ")
        );
    }
    for sample in &tally.session_end_samples {
        let _ = writeln!(w, "session ended: {sample}");
    }
    for sample in &tally.unexpected_samples {
        let _ = writeln!(w, "UNEXPECTED {sample}");
    }
    for sample in &tally.no_answer_samples {
        let _ = writeln!(w, "NO ANSWER {sample}");
    }
    for sample in &tally.documented_503_elsewhere_samples {
        let _ = writeln!(w, "503 away from an outage: {sample}");
    }
    for d in delivery_5xx.iter().take(10) {
        let _ = writeln!(
            w,
            "WEBHOOK DELIVERY {} ({}) last answered {:?}",
            d.number, d.event_type, d.last_status
        );
    }
    if let Some(status) = &died {
        let _ = writeln!(w, "THE APPLICATION EXITED: {status}");
    }
    if stopped && died.is_none() {
        let _ = writeln!(w, "(stopped before the end)");
    }
    let ok =
        tally.unexpected == 0 && tally.no_answer == 0 && died.is_none() && delivery_5xx.is_empty();
    let _ = writeln!(w, "result: {}", if ok { "PASS" } else { "FAIL" });
    print!("{out}");
    let _ = std::io::stdout().flush();
    drop(tally);
    drop(app);
    Ok(ok)
}
