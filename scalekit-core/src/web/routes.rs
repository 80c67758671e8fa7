//! The auth routes as one table and one entry point: an adapter mounts
//! every [`AuthRoute`] of [`WebAuth::auth_routes`] at its path and hands
//! each request to [`WebAuth::serve_route`]; which routes exist, what each
//! reads and how it answers is decided here, once, for every framework.

use std::collections::HashMap;

use super::{FormPost, RequestOrigin, WebAuth, WebResponse};
use crate::session::RequestCookies;

/// One of the routes the login router serves (see [`WebAuth::auth_routes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthRoute {
    /// `GET` the hosted login (and IdP-initiated login).
    Login,
    /// `GET` the platform's redirect back with a code.
    Callback,
    /// `GET` logout.
    Logout,
    /// `GET` the passwordless email form.
    PasswordlessForm,
    /// `POST` the email form: the code or link is sent.
    PasswordlessSend,
    /// `GET` a magic link.
    PasswordlessLink,
    /// `POST` a code.
    PasswordlessCode,
    /// `POST` a resend.
    PasswordlessResend,
    /// `GET` the RFC 9728 protected-resource metadata.
    ResourceMetadata,
}

impl AuthRoute {
    /// Whether the route takes a `POST` form (else a `GET`): an adapter
    /// reads its body up to [`MAX_FORM_BYTES`](super::MAX_FORM_BYTES).
    pub fn is_post(self) -> bool {
        matches!(
            self,
            AuthRoute::PasswordlessSend
                | AuthRoute::PasswordlessCode
                | AuthRoute::PasswordlessResend
        )
    }
}

/// The body of a request to an auth route, as the adapter read it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RouteBody<'a> {
    /// A `GET` (or `HEAD`): no body read.
    #[default]
    None,
    /// The whole body, within [`MAX_FORM_BYTES`](super::MAX_FORM_BYTES).
    Read(&'a [u8]),
    /// Longer than that, or broken off: not read to the end.
    TooLong,
}

/// A request to an auth route, as an adapter hands it to
/// [`WebAuth::serve_route`].
#[derive(Debug, Clone, Default)]
pub struct RouteRequest<'a> {
    query: &'a str,
    cookies: RequestCookies<'a>,
    origin: RequestOrigin<'a>,
    form: Option<FormPost<'a>>,
    head: bool,
}

impl<'a> RouteRequest<'a> {
    /// The request with its raw query string (without `?`), its headers
    /// read through `header` (by lowercase name; `None` when missing or
    /// not text), its cookies and its body.
    pub fn new(
        query: &'a str,
        header: impl Fn(&'static str) -> Option<&'a str>,
        cookies: RequestCookies<'a>,
        body: RouteBody<'a>,
    ) -> Self {
        let form = match body {
            RouteBody::None => None,
            RouteBody::Read(bytes) => Some(FormPost::new(bytes, &header)),
            RouteBody::TooLong => Some(FormPost::new(&[], &header).oversized()),
        };
        RouteRequest {
            query,
            cookies,
            origin: RequestOrigin {
                host: header("x-forwarded-host").or_else(|| header("host")),
                proto: header("x-forwarded-proto"),
            },
            form,
            head: false,
        }
    }

    /// The same request made with `HEAD` (a framework that answers `HEAD`
    /// with its `GET` route says so): refused, since a `GET` auth route
    /// acts (a link is used up, a code exchanged, a session ended).
    pub fn head(mut self) -> Self {
        self.head = true;
        self
    }

    fn params(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
}

impl WebAuth {
    /// The auth routes to mount, each at its path: login, callback, logout,
    /// the passwordless routes when on, the protected-resource metadata
    /// when this is a protected resource. Two routes may share a path (a
    /// `GET` and a `POST`).
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::WebAuth;
    /// use scalekit_core::web::adapter::AuthRoute;
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?;
    /// let routes = web.auth_routes();
    /// assert!(routes.contains(&("/auth/login".to_owned(), AuthRoute::Login)));
    /// assert!(!routes.iter().any(|(_, route)| route.is_post()), "passwordless is off");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn auth_routes(&self) -> Vec<(String, AuthRoute)> {
        let paths = self.auth_paths();
        let mut routes = vec![
            (paths.login.clone(), AuthRoute::Login),
            (paths.callback.clone(), AuthRoute::Callback),
            (paths.logout.clone(), AuthRoute::Logout),
        ];
        if let Some(paths) = self.passwordless_paths() {
            routes.extend([
                (paths.form.clone(), AuthRoute::PasswordlessForm),
                (paths.form, AuthRoute::PasswordlessSend),
                (paths.verify.clone(), AuthRoute::PasswordlessLink),
                (paths.verify, AuthRoute::PasswordlessCode),
                (paths.resend, AuthRoute::PasswordlessResend),
            ]);
        }
        for path in self.resource_metadata_paths() {
            routes.push((path, AuthRoute::ResourceMetadata));
        }
        routes
    }

    /// The answer of `route` to `request`.
    pub async fn serve_route(&self, route: AuthRoute, request: &RouteRequest<'_>) -> WebResponse {
        if request.head {
            return WebResponse::Custom {
                answer: super::Answer::new(405, "text/plain; charset=utf-8", "")
                    .header("Allow", if route.is_post() { "POST" } else { "GET" }),
                set_cookies: Vec::new(),
            };
        }
        let (cookies, origin) = (&request.cookies, &request.origin);
        let form = request.form.unwrap_or_default();
        match route {
            AuthRoute::Login => self.login(&request.params(), origin).await,
            AuthRoute::Callback => self.callback(&request.params(), cookies, origin).await,
            AuthRoute::Logout => self.logout(cookies, origin).await,
            AuthRoute::PasswordlessForm => self.passwordless_form(&request.params()),
            AuthRoute::PasswordlessSend => self.passwordless_send(&form, origin).await,
            AuthRoute::PasswordlessLink => {
                self.passwordless_verify_link(&request.params(), cookies)
                    .await
            }
            AuthRoute::PasswordlessCode => {
                self.passwordless_verify_code(&form, cookies, origin).await
            }
            AuthRoute::PasswordlessResend => self.passwordless_resend(&form, cookies, origin).await,
            AuthRoute::ResourceMetadata => {
                self.resource_metadata()
                    .unwrap_or_else(|| WebResponse::Custom {
                        answer: super::Answer::new(404, "text/plain; charset=utf-8", ""),
                        set_cookies: Vec::new(),
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(web: &WebAuth, route: AuthRoute, request: RouteRequest<'_>) -> crate::web::Answer {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime
            .block_on(web.serve_route(route, &request))
            .into_http()
    }

    #[test]
    fn a_head_request_is_refused_on_every_route() {
        let web = crate::web::test_web();
        for (_, route) in web.auth_routes() {
            let request =
                RouteRequest::new("", |_| None, RequestCookies::default(), RouteBody::None);
            let http = answer(&web, route, request.head());
            assert_eq!(http.status, 405, "{route:?}");
            assert!(http.headers.iter().all(|(name, _)| name != "set-cookie"));
        }
    }

    #[test]
    fn the_login_reads_the_query_and_an_unknown_origin_is_the_base_url() {
        let web = crate::web::test_web();
        let request = RouteRequest::new(
            "return_to=%2Fdashboard",
            |name| (name == "host").then_some("evil.example"),
            RequestCookies::default(),
            RouteBody::None,
        );
        let http = answer(&web, AuthRoute::Login, request);
        assert_eq!(http.status, 302);
        let location = &http
            .headers
            .iter()
            .find(|(name, _)| name == "location")
            .expect("a redirect")
            .1;
        assert!(!location.contains("evil.example"), "{location}");
        let state_cookie = http
            .headers
            .iter()
            .any(|(name, value)| name == "set-cookie" && !value.is_empty());
        assert!(state_cookie, "the login state is kept in a cookie");
    }

    #[test]
    fn a_form_too_long_is_refused_before_it_is_read() {
        let web = crate::web::test_web().passwordless(crate::web::PasswordlessLogin::default());
        let request = RouteRequest::new(
            "",
            |name| (name == "origin").then_some("https://app.example.com"),
            RequestCookies::default(),
            RouteBody::TooLong,
        );
        assert_eq!(
            answer(&web, AuthRoute::PasswordlessSend, request).status,
            413
        );
    }
}
