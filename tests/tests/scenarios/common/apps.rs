//! The axum full-stack example served on a free loopback port, with an
//! emulator that knows its redirect URIs.

use std::collections::BTreeMap;
use std::time::Duration;

use scalekit_emulator::{Emulator, EmulatorBuilder};

pub const SESSION_SECRET: &str = "fullstack-test-session-secret-32-bytes+";

/// Binds a port and returns the listener, its base URL, and an emulator
/// builder with that base's callback and home registered.
pub async fn bind() -> (tokio::net::TcpListener, String, EmulatorBuilder) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let builder = Emulator::builder()
        .redirect_uri(format!("{base}/auth/callback"))
        .post_logout_redirect_uri(format!("{base}/"));
    (listener, base, builder)
}

/// Serves `router` on `listener` in the background.
pub fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    })
}

/// The two web frameworks the full-stack example exists for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Axum,
    Actix,
}

impl Framework {
    /// The realm of the framework's full-stack example.
    pub fn realm(self) -> &'static str {
        match self {
            Framework::Axum => "axum-fullstack",
            Framework::Actix => "actix-fullstack",
        }
    }

    /// The realm of the framework's M2M example.
    pub fn m2m_realm(self) -> &'static str {
        match self {
            Framework::Axum => "axum-m2m",
            Framework::Actix => "actix-m2m",
        }
    }

    /// Serves the framework's full-stack example of `web` on `listener`,
    /// in the background.
    pub fn serve_fullstack(
        self,
        listener: tokio::net::TcpListener,
        web: scalekit_core::web::WebAuth,
    ) -> Server {
        match self {
            Framework::Axum => {
                let auth = scalekit_axum::ScalekitAuth::new(web);
                Server::Axum(serve(
                    listener,
                    scalekit_examples::axum_fullstack::app(&auth),
                ))
            }
            Framework::Actix => {
                let auth = scalekit_actix::ScalekitAuth::new(web);
                let routes = scalekit_examples::actix_fullstack::configure(&auth);
                Server::Actix(serve_actix(listener, auth, routes))
            }
        }
    }
}

/// A running server of either framework.
pub enum Server {
    Axum(tokio::task::JoinHandle<()>),
    Actix(actix_web::dev::ServerHandle),
}

/// A full-stack example served on a free loopback port with its emulator.
pub struct FullStack {
    pub framework: Framework,
    pub base: String,
    pub emulator: Emulator,
    /// The webhook verifier the application uses (its cost counter).
    pub webhooks: Option<scalekit_core::webhook::WebhookVerifier>,
    pub server: Server,
}

/// The full-stack example of `framework`, its `WebAuth` adjusted by
/// `customize` (trusted hosts, an after-login hook, ...).
pub async fn fullstack_app(
    framework: Framework,
    access_ttl: Option<Duration>,
    webhook_secret: Option<&str>,
    customize: impl FnOnce(scalekit_core::web::WebAuth) -> scalekit_core::web::WebAuth,
) -> FullStack {
    fullstack_app_on(
        framework,
        |builder| match access_ttl {
            Some(ttl) => builder.access_token_ttl(ttl),
            None => builder,
        },
        webhook_secret,
        customize,
    )
    .await
}

/// [`fullstack_app`] with its emulator configured by `emulator`.
pub async fn fullstack_app_on(
    framework: Framework,
    emulator: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder,
    webhook_secret: Option<&str>,
    customize: impl FnOnce(scalekit_core::web::WebAuth) -> scalekit_core::web::WebAuth,
) -> FullStack {
    let (listener, base, builder) = bind().await;
    let emulator = emulator(builder).start().await.unwrap();
    let config = scalekit_core::ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    let web = customize(
        scalekit_examples::fullstack::web_auth(
            config,
            &base,
            SESSION_SECRET,
            webhook_secret,
            None,
            framework.realm(),
        )
        .unwrap(),
    );
    let webhooks = web.webhook_verifier().cloned();
    let server = framework.serve_fullstack(listener, web);
    FullStack {
        framework,
        base,
        emulator,
        webhooks,
        server,
    }
}

/// Serves an actix-web application made of `configure` wrapped in `auth`'s
/// middleware on `listener`, in the background (two workers); stopped when
/// the handle is dropped with the test's runtime.
pub fn serve_actix<F>(
    listener: tokio::net::TcpListener,
    auth: scalekit_actix::ScalekitAuth,
    configure: F,
) -> actix_web::dev::ServerHandle
where
    F: Fn(&mut actix_web::web::ServiceConfig) + Clone + Send + 'static,
{
    let listener = listener.into_std().unwrap();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .configure(configure.clone())
            .wrap(auth.middleware())
    })
    .workers(2)
    .disable_signals()
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    handle
}

/// `GET {base}{path}` (a login route): the login-state cookie and the
/// authorization URL it redirects to.
pub async fn start_login(base: &str, path: &str) -> (String, url::Url) {
    let r = no_redirects()
        .get(format!("{base}{path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::FOUND);
    let cookie = r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    (cookie, authorize)
}

/// Signs in on the emulator's page as `user_id`: the callback URL, with
/// its `code` and `state`.
pub async fn authorize_as(emulator: &Emulator, authorize: &url::Url, user_id: &str) -> String {
    let mut form: Vec<(String, String)> = authorize
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("user_id".into(), user_id.to_owned()));
    let submitted = no_redirects()
        .post(format!("{}/oauth/authorize", emulator.url()))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), reqwest::StatusCode::FOUND);
    submitted.headers()["location"].to_str().unwrap().to_owned()
}

/// An HTTP client that follows no redirect.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in at `base` (its `/auth/login` and callback) as the emulator's
/// first user, through the hosted page's form; the `Cookie` header of the
/// new session.
pub async fn sign_in_first_user(emulator: &Emulator, base: &str) -> String {
    let (state, authorize) = start_login(base, "/auth/login").await;
    let user = emulator.users()[0].clone();
    let callback = authorize_as(emulator, &authorize, &user.id).await;
    let signed_in = no_redirects()
        .get(callback)
        .header("cookie", state)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), reqwest::StatusCode::FOUND, "{base}");
    let cookies: Vec<String> = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().split(';').next().unwrap().to_owned())
        .filter(|c| c.starts_with("sk_session"))
        .collect();
    assert!(!cookies.is_empty(), "{base}: a session cookie");
    cookies.join("; ")
}

/// Applies the `Set-Cookie` values of `response` to a browser's `jar`
/// (name to value): a cookie set is kept, one with `Max-Age=0` removed.
pub fn absorb_cookies(
    jar: &mut std::collections::BTreeMap<String, String>,
    response: &reqwest::Response,
) {
    for value in response.headers().get_all("set-cookie") {
        let value = value.to_str().unwrap();
        let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
        let (name, val) = pair.split_once('=').unwrap();
        if attributes.contains("Max-Age=0") {
            jar.remove(name);
        } else {
            jar.insert(name.to_owned(), val.to_owned());
        }
    }
}

/// A minimal browser: a cookie jar for the application, no automatic
/// redirects.
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: BTreeMap<String, String>,
    pub base: String,
}

impl Browser {
    pub fn new(app: &FullStack) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
            base: app.base.clone(),
        }
    }

    pub fn absorb(&mut self, response: &reqwest::Response) {
        absorb_cookies(&mut self.jar, response);
    }

    pub async fn get(&mut self, url: &str) -> reqwest::Response {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.base)
        } else {
            url.to_owned()
        };
        let mut request = self.http.get(&url);
        if url.starts_with(&self.base) && !self.jar.is_empty() {
            let cookie: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
            request = request.header("cookie", cookie.join("; "));
        }
        let response = request.send().await.unwrap();
        if url.starts_with(&self.base) {
            self.absorb(&response);
        }
        response
    }

    /// `PUT` of `body` (as `content_type`) to a path of the app, with the
    /// jar's cookies.
    pub async fn put(&mut self, path: &str, content_type: &str, body: &str) -> reqwest::Response {
        let cookie: Vec<String> = self.jar.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let response = self
            .http
            .put(format!("{}{path}", self.base))
            .header("cookie", cookie.join("; "))
            .header("content-type", content_type)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        self.absorb(&response);
        response
    }

    /// Follows redirects (applying cookies) until a non-redirect answer or
    /// the emulator's sign-in page.
    pub async fn follow(&mut self, mut response: reqwest::Response) -> reqwest::Response {
        while response.status() == reqwest::StatusCode::FOUND {
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            response = self.get(&location).await;
        }
        response
    }

    /// Starts a sign-in at `start` (a path of the app) and submits the
    /// hosted sign-in page with `fields` added to its form: the emulator's
    /// answer (a redirect to the callback), not followed.
    pub async fn submit_hosted_page(
        &mut self,
        app: &FullStack,
        start: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let first = self.get(start).await;
        let page = self.follow(first).await;
        assert_eq!(page.status(), 200);
        let mut form: Vec<(String, String)> = page
            .url()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.extend(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        self.http
            .post(format!("{}/oauth/authorize", app.emulator.url()))
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    /// Signs in as `email` starting from `start` (a path of the app);
    /// returns the final answer after the callback's redirect is followed.
    pub async fn sign_in(
        &mut self,
        app: &FullStack,
        start: &str,
        email: &str,
    ) -> reqwest::Response {
        let first = self.get(start).await;
        let page = self.follow(first).await;
        assert_eq!(page.status(), 200);
        let authorize_url = page.url().clone();
        let html = page.text().await.unwrap();
        assert!(html.contains(email));
        let user = app
            .emulator
            .users()
            .into_iter()
            .find(|u| u.email == email)
            .unwrap();
        let mut form: Vec<(String, String)> = authorize_url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("user_id".into(), user.id));
        let submitted = self
            .http
            .post(format!("{}/oauth/authorize", app.emulator.url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(submitted.status(), reqwest::StatusCode::FOUND);
        self.follow(submitted).await
    }
}

impl Browser {
    /// The `Cookie` header of the jar.
    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Posts `form` to `path` of the app, with the jar's cookies, as a page
    /// of `origin` would (its `Origin` header).
    pub async fn post_from(
        &mut self,
        origin: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("origin", origin)
            .form(form)
            .send()
            .await
            .unwrap();
        self.absorb(&response);
        response
    }

    /// Posts `form` to `path` as the app's own pages do.
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let origin = self.base.clone();
        self.post_from(&origin, path, form).await
    }

    /// Whether the jar holds a session cookie.
    pub fn signed_in(&self) -> bool {
        self.jar.keys().any(|k| k.starts_with("sk_session"))
    }
}
