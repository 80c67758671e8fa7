//! What the in-process benches share: Ada's consent at the emulator's
//! hosted page.

use scalekit_emulator::Emulator;

/// Gives Ada's consent to the authorization request at `authorize` (the
/// `Location` of the application's `/auth/login`); the path and query of
/// the application's callback the emulator redirects to.
pub async fn consent(emulator: &Emulator, authorize: &str) -> String {
    let authorize = url::Url::parse(authorize).expect("authorize url");
    let ada = emulator
        .users()
        .into_iter()
        .find(|u| u.email == "ada@example.com")
        .expect("ada");
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("user_id".into(), ada.id.clone()));
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let consent = client
        .post(format!("{}/oauth/authorize", emulator.url()))
        .form(&form)
        .send()
        .await
        .expect("authorize");
    let callback = url::Url::parse(consent.headers()["location"].to_str().expect("location"))
        .expect("callback url");
    format!("{}?{}", callback.path(), callback.query().unwrap_or(""))
}
