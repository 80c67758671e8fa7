//! The actix-web full-stack application of the examples contract
//! (DESIGN.md): the same routes, answers and HTML as the axum one.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use scalekit_actix::{
    AuthUser, MaybeAuthUser, Require, ScalekitAuth, ScalekitWebhook, SessionValue,
};
use scalekit_core::authz::{GrantKind, Match, Requirement};
use scalekit_core::web::SessionStoreUrl;
use scalekit_core::{ConfigError, ScalekitConfig};

use crate::fullstack::{self, JsonAnswer, Preferences};

/// Builds the auth of the application (sessions in the store
/// `session_store` names when given, else cookie-only).
pub fn auth(
    config: ScalekitConfig,
    base_url: &str,
    session_secret: &str,
    webhook_secret: Option<&str>,
    session_store: Option<&SessionStoreUrl>,
) -> Result<ScalekitAuth, ConfigError> {
    fullstack::web_auth(
        config,
        base_url,
        session_secret,
        webhook_secret,
        session_store,
        "actix-fullstack",
    )
    .map(ScalekitAuth::new)
}

/// The application's routes, for `App::configure`; wrap the `App` in
/// `auth.middleware()`.
pub fn configure(auth: &ScalekitAuth) -> impl Fn(&mut web::ServiceConfig) + Clone + 'static {
    let auth = auth.clone();
    let names = fullstack::OrganizationNames::new(auth.web());
    move |config| {
        let admin = Requirement::clause(GrantKind::ScopeOrPermission, Match::All, ["admin:read"]);
        config
            .route("/", web::get().to(home))
            .service(
                web::resource("/dashboard")
                    .wrap(auth.require_browser())
                    .route(web::get().to({
                        let auth = auth.clone();
                        let names = names.clone();
                        move |user: AuthUser| {
                            let expires = fullstack::session_expires_at(auth.web(), &user);
                            let names = names.clone();
                            async move {
                                let name = match user.organization_id() {
                                    Some(id) => names.name(id).await,
                                    None => None,
                                };
                                html(fullstack::dashboard(&user, expires, name.as_deref()))
                            }
                        }
                    })),
            )
            // The `AuthUser` argument is the guard: without a caller the
            // extractor answers 401 with the challenge, as `auth.require()`
            // does (used on the next resource), at no extra middleware.
            .route("/api/me", web::get().to(me))
            .service(
                web::resource("/api/preferences")
                    .wrap(auth.require())
                    .route(web::get().to(preferences))
                    .route(web::put().to(update_preferences)),
            )
            .service(
                web::resource("/api/admin")
                    .wrap(Require::new(admin))
                    .route(web::get().to(|| async { HttpResponse::Ok().json(fullstack::admin()) })),
            )
            .route("/webhooks/scalekit", web::post().to(webhook))
            .configure(auth.configure_routes());
    }
}

fn html(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::html())
        .body(body)
}

async fn home(MaybeAuthUser(user): MaybeAuthUser) -> HttpResponse {
    html(fullstack::home(user.as_deref()))
}

async fn me(user: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(fullstack::me(&user))
}

async fn preferences(prefs: SessionValue<Preferences>) -> HttpResponse {
    HttpResponse::Ok().json(fullstack::preferences(prefs.get()))
}

async fn update_preferences(
    mut prefs: SessionValue<Preferences>,
    request: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let next = match fullstack::update_preferences(prefs.get(), content_type, &body) {
        Ok(next) => next,
        Err(answer) => return json_answer(answer),
    };
    match prefs.set(next).await {
        Ok(()) => HttpResponse::Ok().json(fullstack::preferences(prefs.get())),
        Err(err) => json_answer(fullstack::preferences_not_saved(&err)),
    }
}

fn json_answer((status, body): JsonAnswer) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .json(body)
}

async fn webhook(ScalekitWebhook(event): ScalekitWebhook) -> HttpResponse {
    HttpResponse::Ok().json(fullstack::webhook_received(&event))
}
