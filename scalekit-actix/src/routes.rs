//! The auth routes: login, callback, logout, passwordless sign-in,
//! protected-resource metadata.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use scalekit_core::session::RequestCookies;
use scalekit_core::web::{FormPost, MAX_FORM_BYTES, RequestOrigin, WebAuth};

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

/// A form body read up to [`MAX_FORM_BYTES`]; `None` when longer (or
/// broken off).
async fn form_body(mut payload: web::Payload) -> Option<Vec<u8>> {
    use futures_util::StreamExt as _;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.ok()?;
        if body.len().saturating_add(chunk.len()) > MAX_FORM_BYTES {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// A posted form and the headers that say where it came from.
fn form<'a>(request: &'a HttpRequest, body: &'a Option<Vec<u8>>) -> FormPost<'a> {
    let post = FormPost::new(body.as_deref().unwrap_or_default(), |name| {
        request.headers().get(name).and_then(|v| v.to_str().ok())
    });
    if body.is_some() {
        post
    } else {
        post.oversized()
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
    if let Some(paths) = web_auth.passwordless_paths() {
        let (page, send) = (web_auth.clone(), web_auth.clone());
        config.route(
            &paths.form,
            web::get().to(move |request: HttpRequest| {
                let page = page.clone();
                async move { render::web(page.passwordless_form(&query(&request))) }
            }),
        );
        config.route(
            &paths.form,
            web::post().to(move |request: HttpRequest, payload: web::Payload| {
                let send = send.clone();
                async move {
                    let body = form_body(payload).await;
                    render::web(
                        send.passwordless_send(&form(&request, &body), &origin(&request))
                            .await,
                    )
                }
            }),
        );
        let (link, code) = (web_auth.clone(), web_auth.clone());
        config.route(
            &paths.verify,
            web::get().to(move |request: HttpRequest| {
                let link = link.clone();
                async move {
                    render::web(
                        link.passwordless_verify_link(&query(&request), &cookies(&request))
                            .await,
                    )
                }
            }),
        );
        config.route(
            &paths.verify,
            web::post().to(move |request: HttpRequest, payload: web::Payload| {
                let code = code.clone();
                async move {
                    let body = form_body(payload).await;
                    render::web(
                        code.passwordless_verify_code(
                            &form(&request, &body),
                            &cookies(&request),
                            &origin(&request),
                        )
                        .await,
                    )
                }
            }),
        );
        let resend = web_auth.clone();
        config.route(
            &paths.resend,
            web::post().to(move |request: HttpRequest, payload: web::Payload| {
                let resend = resend.clone();
                async move {
                    let body = form_body(payload).await;
                    render::web(
                        resend
                            .passwordless_resend(
                                &form(&request, &body),
                                &cookies(&request),
                                &origin(&request),
                            )
                            .await,
                    )
                }
            }),
        );
    }
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
