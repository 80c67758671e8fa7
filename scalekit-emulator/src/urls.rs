//! URLs the emulator sends browsers to: a URI with query parameters added,
//! and the redirect there.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `uri` with extra query parameters.
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return uri.to_owned();
    }
    match url::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => uri.to_owned(),
    }
}

/// `302 Found` to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_owned())]).into_response()
}
