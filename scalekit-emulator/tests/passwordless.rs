//! Passwordless email on the emulator, driven with plain HTTP: the three
//! routes, their limits, the outbox, same-browser enforcement and the
//! email types.

use std::time::Duration;

use reqwest::StatusCode;
use scalekit_emulator::{Emulator, PasswordlessType};
use serde_json::{Value, json};

const MAGIC: &str = "http://localhost:3000/auth/passwordless/verify";

struct Platform {
    emulator: Emulator,
    http: reqwest::Client,
    token: String,
}

impl Platform {
    async fn start(kind: PasswordlessType, same_browser: bool) -> Platform {
        let emulator = Emulator::builder()
            .passwordless_type(kind)
            .passwordless_same_browser(same_browser)
            .start()
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            emulator.client_id(),
            emulator.client_secret()
        );
        let answer: Value = http
            .post(format!("{}/oauth/token", emulator.url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = answer["access_token"].as_str().unwrap().to_owned();
        Platform {
            emulator,
            http,
            token,
        }
    }

    async fn call(&self, verb: &str, body: Value) -> (StatusCode, Value) {
        let answer = self
            .http
            .post(format!(
                "{}/api/v1/passwordless/email/{verb}",
                self.emulator.url()
            ))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (answer.status(), answer.json().await.unwrap())
    }

    async fn send(&self, email: &str) -> (StatusCode, Value) {
        self.call(
            "send",
            json!({"email": email, "template": "SIGNIN", "magiclink_auth_uri": MAGIC, "state": "st_1"}),
        )
        .await
    }

    async fn outbox(&self) -> Vec<Value> {
        self.http
            .get(format!("{}/outbox.json", self.emulator.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn link_token(link: &str) -> String {
    link.split_once("link_token=").unwrap().1.to_owned()
}

#[tokio::test]
async fn a_code_verifies_once_and_hands_back_the_state() {
    let p = Platform::start(PasswordlessType::LinkOtp, false).await;
    let (status, sent) = p.send("ada@example.com").await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["passwordless_type"], "LINK_OTP");
    assert_eq!(sent["expires_in"], 300);
    assert!(sent["expires_at"].as_str().unwrap().parse::<u64>().is_ok());
    let id = sent["auth_request_id"].as_str().unwrap();
    let outbox = p.outbox().await;
    assert_eq!(outbox.len(), 1);
    let email = &outbox[0];
    assert_eq!(email["to"], "ada@example.com");
    assert_eq!(email["template"], "SIGNIN");
    assert_eq!(email["auth_request_id"], id);
    assert!(email["sent_at"].as_u64().is_some());
    assert!(
        email["link"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{MAGIC}?link_token="))
    );
    let code = email["code"].as_str().unwrap();
    let (status, verified) = p
        .call("verify", json!({"code": code, "auth_request_id": id}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        verified,
        json!({"email": "ada@example.com", "state": "st_1", "template": "SIGNIN", "passwordless_type": "LINK_OTP"})
    );
    let (status, _) = p
        .call("verify", json!({"code": code, "auth_request_id": id}))
        .await;
    assert_eq!(status, 404, "used");
}

#[tokio::test]
async fn five_wrong_codes_then_the_request_is_dead() {
    let p = Platform::start(PasswordlessType::Otp, false).await;
    let (_, sent) = p.send("ada@example.com").await;
    let id = sent["auth_request_id"].as_str().unwrap();
    let code = p.outbox().await[0]["code"].as_str().unwrap().to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (0..5).rev() {
        let (status, error) = p
            .call("verify", json!({"code": wrong, "auth_request_id": id}))
            .await;
        assert_eq!(status, 400);
        assert_eq!(error["code"], "INVALID_ARGUMENT");
        assert_eq!(
            error["details"][0]["metadata"]["attempts_remaining"],
            left.to_string()
        );
    }
    // Dead from the fifth wrong code on: no resend revives it.
    let (status, _) = p.call("resend", json!({"auth_request_id": id})).await;
    assert_eq!(status, 404);
    let (status, error) = p
        .call("verify", json!({"code": code, "auth_request_id": id}))
        .await;
    assert_eq!(status, 429, "{error}");
    assert_eq!(error["code"], "RESOURCE_EXHAUSTED");
}

#[tokio::test]
async fn two_emails_a_minute_per_address_resends_included() {
    let p = Platform::start(PasswordlessType::LinkOtp, false).await;
    let (_, sent) = p.send("Ada@Example.com").await;
    let id = sent["auth_request_id"].as_str().unwrap();
    let first_code = p.outbox().await[0]["code"].clone();
    let (status, resent) = p.call("resend", json!({"auth_request_id": id})).await;
    assert_eq!(status, 200);
    assert_eq!(resent["auth_request_id"], id);
    let outbox = p.outbox().await;
    assert_eq!(outbox.len(), 2);
    assert_ne!(outbox[0]["code"], first_code, "newest first, a new code");
    let (status, error) = p.send("ada@example.com").await;
    assert_eq!(status, 429, "the address, whatever its case");
    assert_eq!(error["code"], "RESOURCE_EXHAUSTED");
    let (status, _) = p.call("resend", json!({"auth_request_id": id})).await;
    assert_eq!(status, 429);
    assert_eq!(p.send("grace@example.com").await.0, 200);
    // The old code no longer works; the new one does.
    let (status, _) = p
        .call("verify", json!({"code": first_code, "auth_request_id": id}))
        .await;
    assert_eq!(status, 400);
    let (status, _) = p
        .call(
            "verify",
            json!({"code": outbox[0]["code"], "auth_request_id": id}),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn links_need_their_auth_request_under_same_browser_enforcement() {
    let p = Platform::start(PasswordlessType::Link, true).await;
    let (_, sent) = p.send("ada@example.com").await;
    assert_eq!(sent["passwordless_type"], "LINK");
    let id = sent["auth_request_id"].as_str().unwrap().to_owned();
    let email = &p.outbox().await[0];
    assert_eq!(email["code"], Value::Null, "a link only");
    let token = link_token(email["link"].as_str().unwrap());
    let (status, error) = p.call("verify", json!({"link_token": token})).await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("same browser"));
    let (status, _) = p
        .call(
            "verify",
            json!({"link_token": token, "auth_request_id": "passwordless_other"}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, verified) = p
        .call(
            "verify",
            json!({"link_token": token, "auth_request_id": id}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(verified["email"], "ada@example.com");
    // Without enforcement the token alone verifies.
    p.emulator.set_passwordless_same_browser(false);
    assert!(!p.emulator.passwordless_same_browser());
    p.send("grace@example.com").await;
    let token = link_token(p.outbox().await[0]["link"].as_str().unwrap());
    let (status, verified) = p.call("verify", json!({"link_token": token})).await;
    assert_eq!(status, 200);
    assert_eq!(verified["email"], "grace@example.com");
}

#[tokio::test]
async fn sends_are_checked_and_requests_expire() {
    let p = Platform::start(PasswordlessType::LinkOtp, false).await;
    for (body, field) in [
        (
            json!({"email": "not-an-address", "magiclink_auth_uri": MAGIC}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "magiclink_auth_uri": MAGIC, "template": "LOGIN"}),
            "template",
        ),
        (
            json!({"email": "a@example.com", "magiclink_auth_uri": MAGIC, "template_variables": {"otp": "1"}}),
            "template_variables",
        ),
        (json!({"email": "a@example.com"}), "magiclink_auth_uri"),
        (
            json!({"email": "a@example.com", "magiclink_auth_uri": MAGIC, "expires_in": 0}),
            "expires_in",
        ),
    ] {
        let (status, error) = p.call("send", body).await;
        assert_eq!(status, 400, "{field}");
        assert_eq!(
            error["details"][0]["validation_error_info"]["field_violations"][0]["field"],
            field
        );
    }
    assert!(p.outbox().await.is_empty());
    let (_, sent) = p
        .call(
            "send",
            json!({"email": "a@example.com", "magiclink_auth_uri": MAGIC, "expires_in": 1, "template": "SIGNUP"}),
        )
        .await;
    let id = sent["auth_request_id"].as_str().unwrap();
    let code = p.outbox().await[0]["code"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, error) = p
        .call("verify", json!({"code": code, "auth_request_id": id}))
        .await;
    assert_eq!(status, 400);
    assert!(error["message"].as_str().unwrap().contains("expired"));
    // Every call needs the management token.
    let anonymous = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/passwordless/email/send",
            p.emulator.url()
        ))
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn the_outbox_page_lists_the_newest_first() {
    let p = Platform::start(PasswordlessType::Otp, false).await;
    assert_eq!(p.emulator.passwordless_type(), PasswordlessType::Otp);
    let empty = reqwest::get(format!("{}/outbox", p.emulator.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(empty.contains("id=\"empty\""));
    p.send("first@example.com").await;
    p.emulator.set_passwordless_type(PasswordlessType::LinkOtp);
    p.send("second@example.com").await;
    let page = reqwest::get(format!("{}/outbox", p.emulator.url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let (first, second) = (
        page.find("first@example.com").unwrap(),
        page.find("second@example.com").unwrap(),
    );
    assert!(second < first, "newest first");
    assert!(page.contains("class=\"link\""));
    let outbox = p.emulator.outbox();
    assert_eq!(outbox[0].to, "second@example.com");
    assert!(outbox[0].link.is_some() && outbox[1].link.is_none());
}
