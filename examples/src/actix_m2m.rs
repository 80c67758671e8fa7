//! An actix-web M2M API: bearer tokens and scopes only (no sessions, no
//! login); the same answers as the axum one.

use actix_web::{HttpResponse, web};
use scalekit_actix::{AuthUser, RequireScopes, ScalekitAuth};
use scalekit_core::ScalekitConfig;

use crate::m2m;
pub use crate::m2m::api_audience;

/// The auth of the API (see [`m2m::web_auth`]).
pub fn auth(config: ScalekitConfig, base_url: &str) -> Result<ScalekitAuth, crate::Error> {
    m2m::web_auth(config, base_url, "actix-m2m").map(ScalekitAuth::new)
}

/// The API's routes, for `App::configure`; wrap the `App` in
/// `auth.middleware()`. `/health` is open, `/api/reports` needs
/// `reports:read`, `POST /api/deploy` needs `deploy:write`.
pub fn configure(auth: &ScalekitAuth) -> impl Fn(&mut web::ServiceConfig) + Clone + 'static {
    let auth = auth.clone();
    move |config| {
        config
            .service(
                web::scope("/api")
                    .wrap(auth.require())
                    .service(
                        web::resource("/reports")
                            .wrap(RequireScopes::all(["reports:read"]))
                            .route(web::get().to(|caller: AuthUser| async move {
                                HttpResponse::Ok().json(m2m::reports(&caller))
                            })),
                    )
                    .service(
                        web::resource("/deploy")
                            .wrap(RequireScopes::all(["deploy:write"]))
                            .route(web::post().to(|caller: AuthUser| async move {
                                HttpResponse::Ok().json(m2m::deploy(&caller))
                            })),
                    ),
            )
            .route("/health", web::get().to(|| async { "ok" }));
    }
}
