//! The Redis store sends a write once more when its connection drops. A
//! conditional write whose answer was lost (Redis ran it, then the
//! connection dropped) must not be taken for a conflict by its repetition:
//! `update_session_data(|n| n + 1)` would then read the session back and add
//! 1 a second time. A relay between the store and a real `redis-server`
//! forwards the write and closes the connection before its answer.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scalekit_core::session::{
    CookieCodec, CookieSettings, RedisStore, RequestCookies, Session, SessionData, SessionError,
    SessionManager, SessionStore, StoreError,
};
use scalekit_core::web::{Authenticated, WebAuth};
use scalekit_emulator::Emulator;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use common::flow::{CALLBACK, HOME, logged_in, scalekit};
use common::redis::RedisServer;

const SECRET: &str = "test-session-secret-of-at-least-32-bytes";
const BASE_URL: &str = "http://localhost:3000";

/// What the relay does once the armed write has run: tell the test, then
/// wait for its go before closing the connection (to let another writer
/// in between the write and its repetition).
struct Pause {
    ran: oneshot::Sender<()>,
    go: oneshot::Receiver<()>,
}

#[derive(Default)]
struct RelayState {
    /// The next script call loses its answer.
    armed: AtomicBool,
    /// How many answers were lost.
    lost: AtomicUsize,
    pause: Mutex<Option<Pause>>,
}

/// A TCP relay on 127.0.0.1 in front of a Redis. Once armed, the next
/// script call (`EVALSHA`) is forwarded and run by Redis, and then the
/// client's connection is closed instead of the answer being forwarded.
struct Relay {
    port: u16,
    state: Arc<RelayState>,
}

impl Relay {
    async fn start(redis_port: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(RelayState::default());
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", redis_port)).await {
                        let _ = relay(client, server, &state).await;
                    }
                });
            }
        });
        Relay { port, state }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The next conditional write loses its answer.
    fn arm(&self) {
        self.state.armed.store(true, Ordering::SeqCst);
    }

    /// Like [`Relay::arm`], and holds the connection between the write
    /// and the loss of its answer until the test says go.
    fn arm_with_pause(&self) -> (oneshot::Receiver<()>, oneshot::Sender<()>) {
        let (ran, ran_rx) = oneshot::channel();
        let (go_tx, go) = oneshot::channel();
        *self.state.pause.lock().unwrap() = Some(Pause { ran, go });
        self.arm();
        (ran_rx, go_tx)
    }

    fn lost(&self) -> usize {
        self.state.lost.load(Ordering::SeqCst)
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Pipes one connection; returns when either side closes, or after an
/// armed write has lost its answer (dropping both sides).
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    state: &RelayState,
) -> std::io::Result<()> {
    let (mut up, mut down) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        tokio::select! {
            read = client.read(&mut up) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                server.write_all(&up[..n]).await?;
                if !(state.armed.load(Ordering::SeqCst) && contains(&up[..n], b"EVALSHA")) {
                    continue;
                }
                // Redis has answered: the script has run.
                let m = server.read(&mut down).await?;
                if m == 0 {
                    return Ok(());
                }
                if down[..m].starts_with(b"-NOSCRIPT") {
                    // Not run (the script is loaded next): still armed.
                    client.write_all(&down[..m]).await?;
                    continue;
                }
                state.armed.store(false, Ordering::SeqCst);
                state.lost.fetch_add(1, Ordering::SeqCst);
                let pause = state.pause.lock().unwrap().take();
                if let Some(Pause { ran, go }) = pause {
                    let _ = ran.send(());
                    let _ = go.await;
                }
                // Closing without the answer.
                return Ok(());
            }
            read = server.read(&mut down) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                client.write_all(&down[..n]).await?;
            }
        }
    }
}

fn manager(emulator: &Emulator, store: Arc<dyn SessionStore>) -> SessionManager {
    SessionManager::new(
        scalekit(emulator, Duration::from_secs(5)),
        CookieCodec::new([SECRET]).unwrap(),
        CookieSettings::for_base_url(BASE_URL),
    )
    .store(store)
}

async fn emulator() -> Emulator {
    Emulator::builder()
        .redirect_uri(CALLBACK)
        .post_logout_redirect_uri(HOME)
        .start()
        .await
        .unwrap()
}

/// The `Cookie` header a browser sends back after these `Set-Cookie`s.
fn cookie_header(set_cookies: &[String]) -> String {
    set_cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter(|pair| !pair.ends_with('='))
        .collect::<Vec<_>>()
        .join("; ")
}

fn cookies(header: &str) -> RequestCookies<'_> {
    RequestCookies::parse([header])
}

/// Two application instances on one Redis: `web` (and its manager `m`)
/// through the relay, `other` directly; a signed-in session and its
/// cookie.
struct Setup {
    _redis: RedisServer,
    _emulator: Emulator,
    relay: Relay,
    m: SessionManager,
    web: WebAuth,
    other: SessionManager,
    session: Session,
    cookie: String,
}

async fn setup() -> Setup {
    let redis = RedisServer::start();
    let relay = Relay::start(redis.port).await;
    let emulator = emulator().await;
    let m = manager(
        &emulator,
        Arc::new(RedisStore::connect(&relay.url()).await.unwrap()),
    );
    let other = manager(
        &emulator,
        Arc::new(RedisStore::connect(&redis.url()).await.unwrap()),
    );
    let web = WebAuth::new(m.scalekit().clone(), m.clone(), BASE_URL);
    let auth = logged_in(
        &emulator,
        m.scalekit(),
        &["openid", "email", "offline_access"],
        "ada@example.com",
    )
    .await;
    let (session, set) = m.start(&auth, &RequestCookies::default()).await.unwrap();
    Setup {
        _redis: redis,
        _emulator: emulator,
        relay,
        m,
        web,
        other,
        session,
        cookie: cookie_header(&set),
    }
}

impl Setup {
    /// The request's caller, as the auth layer resolves it.
    async fn caller(&self) -> Authenticated {
        self.web
            .authenticate(None, &cookies(&self.cookie))
            .await
            .0
            .caller()
            .map(|caller| Authenticated::clone(caller))
            .expect("a session caller")
    }

    /// The counter in the session's data, as another instance reads it.
    async fn counter(&self) -> Option<u32> {
        self.other
            .load(&cookies(&self.cookie))
            .await
            .unwrap()
            .expect("the session")
            .data_as::<u32>()
            .unwrap()
    }

    /// The stored version of the session.
    async fn version(&self) -> u64 {
        self.other
            .load(&cookies(&self.cookie))
            .await
            .unwrap()
            .expect("the session")
            .version
    }
}

/// Adds `by` to the counter; counts how many times the change ran.
fn add(
    by: u32,
    runs: &AtomicUsize,
) -> impl FnMut(
    Option<&SessionData>,
) -> Result<Option<SessionData>, scalekit_core::session::SessionDataError>
+ '_ {
    move |current| {
        runs.fetch_add(1, Ordering::SeqCst);
        let n = current.map_or(Ok(0), SessionData::decode::<u32>)?;
        SessionData::encode(&(n + by)).map(Some)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conditional_write_whose_answer_was_lost_is_not_applied_twice() {
    let s = setup().await;
    let caller = s.caller().await;
    let before = s.version().await;

    // The write runs in Redis, its answer is lost, the store sends it once
    // more on a new connection: a success, applied once.
    s.relay.arm();
    let runs = AtomicUsize::new(0);
    s.web
        .update_session_data(&caller, add(1, &runs), &cookies(&s.cookie))
        .await
        .expect("the write is reported written, not a conflict");
    assert_eq!(s.relay.lost(), 1, "the answer of the write was lost");
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the change ran once");
    assert_eq!(s.counter().await, Some(1), "applied once");
    assert_eq!(s.version().await, before + 1, "one version further");

    // A genuinely concurrent write (another writer from the same snapshot,
    // the version before the update) is still a conflict: with its answer
    // delivered...
    let mut stale = s.session.clone();
    assert_eq!(stale.version, before);
    stale.data = Some(SessionData::encode(&100u32).unwrap());
    assert_eq!(
        s.m.write(&mut stale.clone(), &cookies(&s.cookie))
            .await
            .unwrap_err(),
        SessionError::Store(StoreError::Conflict)
    );
    // ... and with its answer lost and the write repeated.
    s.relay.arm();
    assert_eq!(
        s.m.write(&mut stale, &cookies(&s.cookie))
            .await
            .unwrap_err(),
        SessionError::Store(StoreError::Conflict)
    );
    assert_eq!(s.relay.lost(), 2);
    assert_eq!(
        s.counter().await,
        Some(1),
        "nothing written by the conflicts"
    );
    assert_eq!(s.version().await, before + 1);

    // The same request updates again: its session carries the version its
    // recognised write made, the current one, so no conflict.
    let runs = AtomicUsize::new(0);
    s.web
        .update_session_data(&caller, add(1, &runs), &cookies(&s.cookie))
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(s.counter().await, Some(2));

    // An update from the stale snapshot meets the conflict, reads the
    // session again and adds to it.
    let runs = AtomicUsize::new(0);
    s.m.update_data(&s.session, add(1, &runs), &cookies(&s.cookie))
        .await
        .unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "ran again after the conflict"
    );
    assert_eq!(s.counter().await, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_recognised_after_another_instance_wrote_in_between() {
    let s = setup().await;
    let caller = s.caller().await;
    let before = s.version().await;

    // This instance's write runs; before its repetition, another instance
    // updates the session (from the session as it is now).
    let (ran, go) = s.relay.arm_with_pause();
    let runs = AtomicUsize::new(0);
    let request = cookies(&s.cookie);
    let update = s.web.update_session_data(&caller, add(1, &runs), &request);
    let other_instance = async {
        ran.await.unwrap();
        let current = s.other.load(&cookies(&s.cookie)).await.unwrap().unwrap();
        assert_eq!(current.data_as::<u32>().unwrap(), Some(1));
        let other_runs = AtomicUsize::new(0);
        s.other
            .update_data(&current, add(10, &other_runs), &cookies(&s.cookie))
            .await
            .unwrap();
        assert_eq!(other_runs.load(Ordering::SeqCst), 1);
        go.send(()).unwrap();
    };
    let (updated, ()) = tokio::join!(update, other_instance);
    updated.expect("the repeated write is recognised as written");
    assert_eq!(s.relay.lost(), 1);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the change ran once");
    assert_eq!(s.counter().await, Some(11), "1 once, then 10");
    assert_eq!(s.version().await, before + 2);

    // The store answers the version that write made, not the later one.
    let store = RedisStore::connect(&s.relay.url()).await.unwrap();
    let stored = store.load(&s.session.id).await.unwrap().unwrap();
    s.relay.arm();
    assert_eq!(
        store
            .replace(
                &s.session.id,
                &s.session.user.id,
                stored.version,
                &stored.sealed,
                Duration::from_secs(60),
            )
            .await,
        Ok(Some(stored.version + 1)),
        "a store-level write whose answer is lost is written once"
    );
    assert_eq!(s.relay.lost(), 2);
    assert_eq!(s.version().await, before + 3);
    assert_eq!(s.counter().await, Some(11));
}
