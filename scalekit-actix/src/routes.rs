//! The auth routes (login, callback, logout, passwordless sign-in,
//! protected-resource metadata): the core's table, each route handed to
//! the core with its query, headers, cookies and form body.

use std::sync::Arc;

use actix_web::http::{Method, header};
use actix_web::{HttpRequest, web};
use scalekit_core::session::RequestCookies;
use scalekit_core::web::adapter::{AuthRoute, RouteBody, RouteRequest};
use scalekit_core::web::{MAX_FORM_BYTES, WebAuth};

use crate::extract::read_limited;
use crate::render;

async fn serve(
    web_auth: &WebAuth,
    route: AuthRoute,
    request: HttpRequest,
    mut payload: web::Payload,
) -> actix_web::HttpResponse {
    // Only a POST's body is read (every auth route that takes one takes a
    // form).
    let body = match request.method() == Method::POST {
        true => Some(read_limited(&mut payload, MAX_FORM_BYTES).await),
        false => None,
    };
    let headers = request.headers();
    let cookies =
        RequestCookies::parse_bytes(headers.get_all(header::COOKIE).map(|v| v.as_bytes()));
    let body = match &body {
        None => RouteBody::None,
        Some(Some(bytes)) => RouteBody::Read(bytes),
        Some(None) => RouteBody::TooLong,
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (method, query) = (request.method().as_str(), request.query_string());
    let request = RouteRequest::new(method, query, header, cookies, body);
    render::web(web_auth.serve_route(route, &request).await)
}

/// Registers the auth routes on `config`, for every method (the core
/// answers `405` to the ones a route does not take).
pub(crate) fn configure(web_auth: &Arc<WebAuth>, config: &mut web::ServiceConfig) {
    for (path, route) in web_auth.auth_routes() {
        let web_auth = web_auth.clone();
        config.route(
            &path,
            web::route().to(move |request: HttpRequest, payload: web::Payload| {
                let web_auth = web_auth.clone();
                async move { serve(&web_auth, route, request, payload).await }
            }),
        );
    }
}
