//! The auth router: login, callback, logout, passwordless sign-in,
//! protected-resource metadata.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Query;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use scalekit_core::session::RequestCookies;
use scalekit_core::web::{FormPost, MAX_FORM_BYTES, RequestOrigin, WebAuth};

use crate::render;

fn cookies(headers: &HeaderMap) -> RequestCookies<'_> {
    RequestCookies::parse_bytes(headers.get_all(header::COOKIE).iter().map(|v| v.as_bytes()))
}

type Params = Query<HashMap<String, String>>;

/// The request's claimed origin; `WebAuth` ignores it unless the
/// application trusts forwarded hosts.
fn origin(headers: &HeaderMap) -> RequestOrigin<'_> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    RequestOrigin {
        host: text("x-forwarded-host").or_else(|| text("host")),
        proto: text("x-forwarded-proto"),
    }
}

/// A form body read up to [`MAX_FORM_BYTES`]; `None` when longer (or
/// broken off).
async fn form_body(body: Body) -> Option<Bytes> {
    axum::body::to_bytes(body, MAX_FORM_BYTES).await.ok()
}

/// A posted form and the headers that say where it came from.
fn form<'a>(headers: &'a HeaderMap, body: &'a Option<Bytes>) -> FormPost<'a> {
    let post = FormPost::new(body.as_deref().unwrap_or_default(), |name| {
        headers.get(name).and_then(|v| v.to_str().ok())
    });
    if body.is_some() {
        post
    } else {
        post.oversized()
    }
}

pub(crate) fn router<S: Clone + Send + Sync + 'static>(web: Arc<WebAuth>) -> Router<S> {
    let paths = web.auth_paths().clone();
    let (login, callback, logout) = (web.clone(), web.clone(), web.clone());
    let mut router = Router::new()
        .route(
            &paths.login,
            get(move |Query(q): Params, headers: HeaderMap| async move {
                render::web(login.login(&q, &origin(&headers)).await)
            }),
        )
        .route(
            &paths.callback,
            get(move |Query(q): Params, headers: HeaderMap| async move {
                render::web(
                    callback
                        .callback(&q, &cookies(&headers), &origin(&headers))
                        .await,
                )
            }),
        )
        .route(
            &paths.logout,
            get(move |headers: HeaderMap| async move {
                render::web(logout.logout(&cookies(&headers), &origin(&headers)).await)
            }),
        );
    if let Some(paths) = web.passwordless_paths() {
        let (page, send, code, link, resend) = (
            web.clone(),
            web.clone(),
            web.clone(),
            web.clone(),
            web.clone(),
        );
        router = router
            .route(
                &paths.form,
                get(move |Query(q): Params| async move { render::web(page.passwordless_form(&q)) })
                    .post(move |headers: HeaderMap, body: Body| async move {
                        let body = form_body(body).await;
                        render::web(
                            send.passwordless_send(&form(&headers, &body), &origin(&headers))
                                .await,
                        )
                    }),
            )
            .route(
                &paths.verify,
                get(move |Query(q): Params, headers: HeaderMap| async move {
                    render::web(link.passwordless_verify_link(&q, &cookies(&headers)).await)
                })
                // A HEAD (which axum would answer with the GET handler)
                // must not use up a magic link: refused (actix-web routes
                // only GET there).
                .head(|| async { axum::http::StatusCode::METHOD_NOT_ALLOWED })
                .post(move |headers: HeaderMap, body: Body| async move {
                    let body = form_body(body).await;
                    render::web(
                        code.passwordless_verify_code(
                            &form(&headers, &body),
                            &cookies(&headers),
                            &origin(&headers),
                        )
                        .await,
                    )
                }),
            )
            .route(
                &paths.resend,
                axum::routing::post(move |headers: HeaderMap, body: Body| async move {
                    let body = form_body(body).await;
                    render::web(
                        resend
                            .passwordless_resend(
                                &form(&headers, &body),
                                &cookies(&headers),
                                &origin(&headers),
                            )
                            .await,
                    )
                }),
            );
    }
    for path in web.resource_metadata_paths() {
        let metadata = web.clone();
        router = router.route(
            &path,
            get(move || async move {
                metadata
                    .resource_metadata()
                    .map(render::web)
                    .unwrap_or_else(|| {
                        // As actix-web answers: no resource, no document.
                        let mut response = Response::new(axum::body::Body::empty());
                        *response.status_mut() = axum::http::StatusCode::NOT_FOUND;
                        response
                    })
            }),
        );
    }
    router
}
