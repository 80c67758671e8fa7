//! The auth routes as one table and one entry point: an adapter mounts
//! every [`AuthRoute`] of [`WebAuth::auth_routes`] at its path and hands
//! each request to [`WebAuth::serve_route`]; which routes exist, what each
//! reads and how it answers is decided here, once, for every framework.

use std::collections::HashMap;

use super::{FormPost, RequestOrigin, WebAuth, WebResponse};
use crate::session::RequestCookies;

/// One of the paths the login router serves (see [`WebAuth::auth_routes`]).
/// An adapter hands it every request to that path, whatever the method:
/// [`WebAuth::serve_route`] answers the methods it takes and `405` to any
/// other, alike on every framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthRoute {
    /// `GET` the hosted login (and IdP-initiated login).
    Login,
    /// `GET` the platform's redirect back with a code.
    Callback,
    /// `GET` logout.
    Logout,
    /// `GET` the passwordless email form, `POST` it (the code or link is
    /// sent).
    Passwordless,
    /// `GET` a magic link, `POST` a code.
    PasswordlessVerify,
    /// `POST` a resend.
    PasswordlessResend,
    /// `GET` the RFC 9728 protected-resource metadata.
    ResourceMetadata,
}

impl AuthRoute {
    /// The methods the route takes, as an `Allow` header lists them.
    pub fn allow(self) -> &'static str {
        match self {
            AuthRoute::Passwordless | AuthRoute::PasswordlessVerify => "GET, POST",
            AuthRoute::PasswordlessResend => "POST",
            _ => "GET",
        }
    }
}

/// The body of a request to an auth route, as the adapter read it (a
/// `POST`'s, up to [`MAX_FORM_BYTES`](super::MAX_FORM_BYTES)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RouteBody<'a> {
    /// Not read (a request other than a `POST`).
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
    method: &'a str,
    query: &'a str,
    cookies: RequestCookies<'a>,
    origin: RequestOrigin<'a>,
    form: Option<FormPost<'a>>,
}

impl<'a> RouteRequest<'a> {
    /// The request with its method (`"GET"`, `"POST"`, …), its raw query
    /// string (without `?`), its headers read through `header` (by
    /// lowercase name; `None` when missing or not text), its cookies and
    /// its body.
    pub fn new(
        method: &'a str,
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
            method,
            query,
            cookies,
            origin: RequestOrigin {
                host: header("x-forwarded-host").or_else(|| header("host")),
                proto: header("x-forwarded-proto"),
            },
            form,
        }
    }

    fn params(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }
}

impl WebAuth {
    /// The auth routes to mount, each at its own path: login, callback,
    /// logout, the passwordless routes when on, the protected-resource
    /// metadata when this is a protected resource. Mount each for every
    /// method: [`WebAuth::serve_route`] refuses the ones it does not take.
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
    /// assert!(!routes.iter().any(|(_, route)| *route == AuthRoute::Passwordless), "off by default");
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
                (paths.form, AuthRoute::Passwordless),
                (paths.verify, AuthRoute::PasswordlessVerify),
                (paths.resend, AuthRoute::PasswordlessResend),
            ]);
        }
        for path in self.resource_metadata_paths() {
            routes.push((path, AuthRoute::ResourceMetadata));
        }
        routes
    }

    /// The answer of `route` to `request`: `405` with `Allow` for a method
    /// the route does not take (a `HEAD` too: a `GET` auth route acts, and
    /// a link preview must not use up a magic link or end a session).
    pub async fn serve_route(&self, route: AuthRoute, request: &RouteRequest<'_>) -> WebResponse {
        let (cookies, origin) = (&request.cookies, &request.origin);
        let form = request.form.unwrap_or_default();
        match (route, request.method) {
            (AuthRoute::Login, "GET") => self.login(&request.params(), origin).await,
            (AuthRoute::Callback, "GET") => self.callback(&request.params(), cookies, origin).await,
            (AuthRoute::Logout, "GET") => self.logout(cookies, origin).await,
            (AuthRoute::Passwordless, "GET") => self.passwordless_form(&request.params()),
            (AuthRoute::Passwordless, "POST") => self.passwordless_send(&form, origin).await,
            (AuthRoute::PasswordlessVerify, "GET") => {
                self.passwordless_verify_link(&request.params(), cookies)
                    .await
            }
            (AuthRoute::PasswordlessVerify, "POST") => {
                self.passwordless_verify_code(&form, cookies, origin).await
            }
            (AuthRoute::PasswordlessResend, "POST") => {
                self.passwordless_resend(&form, cookies, origin).await
            }
            (AuthRoute::ResourceMetadata, "GET") => self
                .resource_metadata()
                .unwrap_or_else(|| plain(404, Vec::new())),
            _ => plain(405, vec![("allow", route.allow())]),
        }
    }
}

/// An empty plain-text answer.
fn plain(status: u16, headers: Vec<(&'static str, &'static str)>) -> WebResponse {
    let answer = headers.into_iter().fold(
        super::Answer::new(status, "text/plain; charset=utf-8", ""),
        |answer, (name, value)| answer.header(name, value),
    );
    WebResponse::Custom {
        answer,
        set_cookies: Vec::new(),
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
    fn a_method_a_route_does_not_take_is_refused_on_every_route() {
        let web = crate::web::test_web().passwordless(crate::web::PasswordlessLogin::default());
        let routes = web.auth_routes();
        assert!(
            routes
                .iter()
                .any(|(_, r)| *r == AuthRoute::PasswordlessResend)
        );
        for (_, route) in routes {
            for method in ["HEAD", "PUT", "DELETE", "OPTIONS", "get"] {
                let request = RouteRequest::new(
                    method,
                    "",
                    |_| None,
                    RequestCookies::default(),
                    RouteBody::None,
                );
                let http = answer(&web, route, request);
                assert_eq!(http.status, 405, "{method} {route:?}");
                assert!(http.has("allow"), "{method} {route:?}");
                assert!(!http.has("set-cookie"));
            }
        }
        for route in [AuthRoute::Login, AuthRoute::Logout, AuthRoute::Callback] {
            let request = RouteRequest::new(
                "POST",
                "",
                |_| None,
                RequestCookies::default(),
                RouteBody::Read(b""),
            );
            assert_eq!(answer(&web, route, request).status, 405, "{route:?}");
        }
    }

    #[test]
    fn the_login_reads_the_query_and_an_unknown_origin_is_the_base_url() {
        let web = crate::web::test_web();
        let request = RouteRequest::new(
            "GET",
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
            "POST",
            "",
            |name| (name == "origin").then_some("https://app.example.com"),
            RequestCookies::default(),
            RouteBody::TooLong,
        );
        assert_eq!(answer(&web, AuthRoute::Passwordless, request).status, 413);
    }
}
