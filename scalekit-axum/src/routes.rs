//! The auth router: login, callback, logout, protected-resource metadata.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use axum::routing::get;
use scalekit_core::session::RequestCookies;
use scalekit_core::web::WebAuth;

use crate::render;

fn cookies(headers: &HeaderMap) -> RequestCookies<'_> {
    RequestCookies::parse(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

type Params = Query<HashMap<String, String>>;

pub(crate) fn router<S: Clone + Send + Sync + 'static>(web: Arc<WebAuth>) -> Router<S> {
    let paths = web.auth_paths().clone();
    let (login, callback, logout) = (web.clone(), web.clone(), web.clone());
    let mut router = Router::new()
        .route(
            &paths.login,
            get(move |Query(q): Params| async move { render::web(login.login(&q)) }),
        )
        .route(
            &paths.callback,
            get(move |Query(q): Params, headers: HeaderMap| async move {
                render::web(callback.callback(&q, &cookies(&headers)).await)
            }),
        )
        .route(
            &paths.logout,
            get(move |headers: HeaderMap| async move {
                render::web(logout.logout(&cookies(&headers)).await)
            }),
        );
    if web.resource_metadata().is_some() {
        let metadata = web.clone();
        router = router.route(
            &paths.resource_metadata,
            get(move || async move {
                metadata
                    .resource_metadata()
                    .map(render::web)
                    .unwrap_or_else(|| Response::new(axum::body::Body::empty()))
            }),
        );
    }
    router
}
