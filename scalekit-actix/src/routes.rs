//! The auth routes: login, callback, logout, protected-resource metadata.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use scalekit_core::session::RequestCookies;
use scalekit_core::web::{RequestOrigin, WebAuth};

use crate::render;

fn cookies(request: &HttpRequest) -> RequestCookies<'_> {
    RequestCookies::parse_bytes(
        request
            .headers()
            .get_all(header::COOKIE)
            .map(|v| v.as_bytes()),
    )
}

fn query(request: &HttpRequest) -> HashMap<String, String> {
    web::Query::<HashMap<String, String>>::from_query(request.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default()
}

/// The request's claimed origin; `WebAuth` ignores it unless the
/// application trusts forwarded hosts.
fn origin(request: &HttpRequest) -> RequestOrigin<'_> {
    let text = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    RequestOrigin {
        host: text("x-forwarded-host").or_else(|| text("host")),
        proto: text("x-forwarded-proto"),
    }
}

/// Registers the auth routes on `config`.
pub(crate) fn configure(web_auth: &Arc<WebAuth>, config: &mut web::ServiceConfig) {
    let paths = web_auth.auth_paths().clone();
    let login = web_auth.clone();
    config.route(
        &paths.login,
        web::get().to(move |request: HttpRequest| {
            let login = login.clone();
            async move { render::web(login.login(&query(&request), &origin(&request)).await) }
        }),
    );
    let callback = web_auth.clone();
    config.route(
        &paths.callback,
        web::get().to(move |request: HttpRequest| {
            let callback = callback.clone();
            async move {
                render::web(
                    callback
                        .callback(&query(&request), &cookies(&request), &origin(&request))
                        .await,
                )
            }
        }),
    );
    let logout = web_auth.clone();
    config.route(
        &paths.logout,
        web::get().to(move |request: HttpRequest| {
            let logout = logout.clone();
            async move { render::web(logout.logout(&cookies(&request), &origin(&request)).await) }
        }),
    );
    for path in web_auth.resource_metadata_paths() {
        let metadata = web_auth.clone();
        config.route(
            &path,
            web::get().to(move || {
                let metadata = metadata.clone();
                async move {
                    metadata
                        .resource_metadata()
                        .map(render::web)
                        .unwrap_or_else(|| HttpResponse::NotFound().finish())
                }
            }),
        );
    }
}
