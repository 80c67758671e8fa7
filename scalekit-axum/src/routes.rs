//! The auth router (login, callback, logout, passwordless sign-in,
//! protected-resource metadata): the core's table, each route handed to
//! the core with its query, headers, cookies and form body.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{Method, header};
use axum::response::Response;
use axum::routing::any;
use scalekit_core::session::RequestCookies;
use scalekit_core::web::adapter::{AuthRoute, RouteBody, RouteRequest};
use scalekit_core::web::{MAX_FORM_BYTES, WebAuth};

use crate::render;

async fn serve(web: &WebAuth, route: AuthRoute, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // Only a POST's body is read (every auth route that takes one takes a
    // form), up to the limit; `None` when longer (or broken off).
    let body = match parts.method == Method::POST {
        true => Some(axum::body::to_bytes(body, MAX_FORM_BYTES).await.ok()),
        false => None,
    };
    let headers = &parts.headers;
    let cookies =
        RequestCookies::parse_bytes(headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()));
    let body = match &body {
        None => RouteBody::None,
        Some(Some(bytes)) => RouteBody::Read(bytes),
        Some(None) => RouteBody::TooLong,
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (method, query) = (parts.method.as_str(), parts.uri.query().unwrap_or_default());
    let request = RouteRequest::new(method, query, header, cookies, body);
    render::web(web.serve_route(route, &request).await)
}

/// The auth routes, each for every method (the core answers `405` to the
/// ones a route does not take).
pub(crate) fn router<S: Clone + Send + Sync + 'static>(web: Arc<WebAuth>) -> Router<S> {
    let mut router = Router::new();
    for (path, route) in web.auth_routes() {
        let web = web.clone();
        let handler = move |request: Request| async move { serve(&web, route, request).await };
        router = router.route(&path, any(handler));
    }
    router
}
