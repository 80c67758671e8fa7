//! MCP servers end to end: the `axum-mcp` example (rmcp's streamable HTTP
//! server behind our layer), the emulator as its OAuth authorization server
//! (PROTOCOL.md §10), and rmcp's own client with its OAuth support.
//! axum only: the examples have no actix-web MCP application.

use std::collections::HashMap;

use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::auth::{AuthClient, AuthorizationManager, AuthorizationRequest, OAuthState};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use scalekit_emulator::{Emulator, McpServer, McpServerInfo};
use scalekit_examples::axum_mcp;
use serde_json::{Value, json};

/// Where the client's browser would be sent back (nothing listens: the
/// test reads the redirect's `Location`).
const REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

struct Served {
    emulator: Emulator,
    base: String,
    /// `{base}/mcp`: the resource and the URL clients connect to.
    resource: String,
    server: McpServerInfo,
    /// Another MCP server of the same environment.
    other: McpServerInfo,
    http: reqwest::Client,
}

async fn serve() -> Served {
    serve_with(Emulator::builder()).await
}

async fn serve_with(builder: scalekit_emulator::EmulatorBuilder) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let emulator = builder
        .mcp_server(axum_mcp::emulated_server(&base))
        .mcp_server(McpServer::new("http://127.0.0.1:9/other-mcp").scopes(axum_mcp::SCOPES))
        .start()
        .await
        .unwrap();
    let servers = emulator.mcp_servers();
    let (server, other) = (servers[0].clone(), servers[1].clone());
    let config = scalekit_core::ScalekitConfig::new(
        emulator.url(),
        emulator.client_id(),
        emulator.client_secret(),
    )
    .unwrap();
    let auth = axum_mcp::auth(config, &base, &server.id).unwrap();
    let app = axum_mcp::app(&auth, &base);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served {
        resource: axum_mcp::resource_id(&base),
        emulator,
        base,
        server,
        other,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    }
}

fn www(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

fn query_of(location: &str) -> HashMap<String, String> {
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The hidden fields of the sign-in form, as a browser would submit them.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .map(|rest| {
            let name = rest
                .split("name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            let value = rest
                .split("value=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            (name.to_owned(), unescape(value))
        })
        .collect()
}

impl Served {
    /// Opens the sign-in page of `authorize_url` and submits it as the
    /// seeded user; returns the page and the redirect's `Location`.
    async fn sign_in(&self, authorize_url: &str) -> (String, String) {
        let page = self.http.get(authorize_url).send().await.unwrap();
        assert_eq!(page.status(), 200, "{authorize_url}");
        let html = page.text().await.unwrap();
        let mut form = hidden_fields(&html);
        form.push(("user_id".into(), self.emulator.test_user().id.clone()));
        let response = self
            .http
            .post(format!("{}/oauth/authorize", self.emulator.url()))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302);
        let location = response.headers()["location"].to_str().unwrap().to_owned();
        (html, location)
    }

    /// Registers a client at the server's registration endpoint.
    async fn register(&self, metadata: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/register", self.server.authorization_server))
            .json(&metadata)
            .send()
            .await
            .unwrap()
    }

    async fn public_client(&self) -> String {
        let r = self
            .register(json!({
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
                "client_name": "test client",
            }))
            .await;
        assert_eq!(r.status(), 201);
        let body: Value = r.json().await.unwrap();
        body["client_id"].as_str().unwrap().to_owned()
    }

    fn authorize_url(&self, client_id: &str, extra: &[(&str, &str)]) -> String {
        let mut url = url::Url::parse(&format!("{}/oauth/authorize", self.emulator.url())).unwrap();
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", REDIRECT_URI)
                .append_pair("state", "st4te");
            for (k, v) in extra {
                q.append_pair(k, v);
            }
        }
        url.to_string()
    }

    async fn token(&self, form: &[(&str, &str)]) -> reqwest::Response {
        self.http
            .post(format!("{}/oauth/token", self.emulator.url()))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Calls `/mcp` with a raw JSON-RPC `tools/call`.
    async fn raw_call(&self, token: Option<&str>, tool: &str) -> reqwest::Response {
        let mut request = self
            .http
            .post(&self.resource)
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": tool}}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap()
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource", self.base)
    }

    /// An rmcp client with a fixed bearer token.
    async fn connect_with(
        &self,
        token: &str,
    ) -> Result<RunningService<RoleClient, ()>, rmcp::service::ClientInitializeError> {
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.resource.clone()).auth_header(token),
        );
        ().serve(transport).await
    }
}

const PKCE_VERIFIER: &str = "a-verifier-of-at-least-forty-three-characters-0123456789";

fn pkce_challenge(verifier: &str) -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

#[test]
fn the_pkce_challenge_is_rfc_7636s() {
    // RFC 7636 appendix B.
    assert_eq!(
        pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
        "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rmcp_client_discovers_registers_signs_in_and_calls_whoami() {
    let s = serve().await;

    // Without credentials the server answers 401 naming its metadata.
    let manager = AuthorizationManager::new(s.resource.as_str())
        .await
        .unwrap();
    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(reqwest::Client::new(), manager),
        StreamableHttpClientTransportConfig::with_uri(s.resource.clone()),
    );
    let refused = ().serve(transport).await.unwrap_err();
    let challenge = refused
        .auth_challenge()
        .expect("a 401 challenge")
        .to_owned();
    assert_eq!(
        challenge,
        format!(
            r#"Bearer realm="mcp", resource_metadata="{}""#,
            s.metadata_url()
        )
    );

    // Discovery from the challenge, registration, PKCE authorization URL.
    let mut oauth = OAuthState::new(s.resource.as_str(), None).await.unwrap();
    oauth
        .start_authorization(
            AuthorizationRequest::new(REDIRECT_URI)
                .with_client_name("scalekit-rs end-to-end test")
                .with_challenge(challenge),
        )
        .await
        .unwrap();
    let authorize_url = oauth.get_authorization_url().await.unwrap();
    assert!(authorize_url.starts_with(&format!("{}/oauth/authorize?", s.emulator.url())));
    let asked = query_of(&authorize_url);
    assert_eq!(asked["resource"], s.resource);
    assert_eq!(asked["code_challenge_method"], "S256");
    assert_eq!(asked["scope"], "mcp:tools mcp:admin offline_access");

    // The hosted page names the server and the scopes, and carries every
    // parameter through its form.
    let (page, location) = s.sign_in(&authorize_url).await;
    assert!(page.contains(&format!(
        "<strong id=\"mcp-server\">{}</strong>",
        axum_mcp::SERVER_NAME
    )));
    assert!(page.contains("<strong id=\"mcp-client\">scalekit-rs end-to-end test</strong>"));
    for scope in ["mcp:tools", "mcp:admin", "offline_access"] {
        assert!(
            page.contains(&format!("<li class=\"scope\">{scope}</li>")),
            "{scope}"
        );
    }
    let carried: HashMap<String, String> = hidden_fields(&page).into_iter().collect();
    for name in [
        "resource",
        "scope",
        "code_challenge",
        "code_challenge_method",
        "state",
        "client_id",
        "redirect_uri",
    ] {
        assert_eq!(carried.get(name), asked.get(name), "{name}");
    }
    assert!(location.starts_with(REDIRECT_URI), "{location}");
    assert_eq!(query_of(&location)["iss"], s.server.authorization_server);

    // Code exchange (public client, code_verifier, resource).
    oauth.handle_callback_url(&location).await.unwrap();
    let (client_id, credentials) = oauth.get_credentials().await.unwrap();
    let credentials = serde_json::to_value(credentials.unwrap()).unwrap();
    assert!(
        credentials["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("rt_")
    );
    let claims = s.emulator_claims(credentials["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], s.server.authorization_server);
    assert_eq!(claims["aud"], json!([s.resource, s.server.id]));
    assert_eq!(claims["client_id"], client_id);
    assert_eq!(claims["scope"], "mcp:tools mcp:admin offline_access");

    // initialize, tools/list, tools/call whoami — with the token.
    let OAuthState::Authorized(manager) = oauth else {
        panic!("the client is authorized after the callback");
    };
    let transport = StreamableHttpClientTransport::with_client(
        AuthClient::new(reqwest::Client::new(), manager),
        StreamableHttpClientTransportConfig::with_uri(s.resource.clone()),
    );
    let client = ().serve(transport).await.unwrap();
    let tools: Vec<String> = client
        .list_all_tools()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name.into_owned())
        .collect();
    assert_eq!(tools.len(), 2);
    assert!(tools.contains(&"whoami".to_owned()) && tools.contains(&"admin_report".to_owned()));
    let whoami = tool_json(&client, "whoami").await;
    assert_eq!(whoami["sub"], s.emulator.test_user().id);
    assert_eq!(whoami["client_id"], client_id);
    assert_eq!(
        whoami["scopes"],
        json!(["mcp:admin", "mcp:tools", "offline_access"])
    );
    let report = tool_json(&client, "admin_report").await;
    assert_eq!(report["requested_by"], s.emulator.test_user().id);
    client.cancel().await.unwrap();
}

async fn tool_json(client: &RunningService<RoleClient, ()>, name: &'static str) -> Value {
    let result = client
        .call_tool(CallToolRequestParams::new(name))
        .await
        .unwrap();
    let result = serde_json::to_value(result).unwrap();
    assert_ne!(result["isError"], json!(true), "{result}");
    serde_json::from_str(result["content"][0]["text"].as_str().unwrap()).unwrap()
}

impl Served {
    /// The claims of a token (its signature is checked by the server under
    /// test, not here).
    fn emulator_claims(&self, token: &str) -> Value {
        use base64::Engine as _;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    }
}

#[tokio::test]
async fn metadata_names_the_authorization_server_at_every_form() {
    let s = serve().await;
    for path in ["", "/mcp"] {
        let doc: Value = s
            .http
            .get(format!("{}{path}", s.metadata_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(doc["resource"], s.resource);
        assert_eq!(
            doc["authorization_servers"],
            json!([s.server.authorization_server])
        );
        assert_eq!(doc["scopes_supported"], json!(["mcp:tools", "mcp:admin"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
    let env = s.emulator.url();
    assert_eq!(
        s.server.authorization_server,
        format!("{env}/resources/{}", s.server.id)
    );
    assert!(s.server.id.starts_with("res_"));
    let forms = [
        format!(
            "{}/.well-known/oauth-authorization-server",
            s.server.authorization_server
        ),
        format!(
            "{env}/.well-known/oauth-authorization-server/resources/{}",
            s.server.id
        ),
    ];
    for url in forms {
        let r = s.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        let doc: Value = r.json().await.unwrap();
        assert_eq!(doc["issuer"], s.server.authorization_server);
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{env}/oauth/authorize")
        );
        assert_eq!(doc["token_endpoint"], format!("{env}/oauth/token"));
        assert_eq!(doc["jwks_uri"], format!("{env}/keys"));
        assert_eq!(
            doc["registration_endpoint"],
            format!("{}/register", s.server.authorization_server)
        );
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(
            doc["scopes_supported"],
            json!(["mcp:tools", "mcp:admin", "offline_access"])
        );
        assert_eq!(
            doc["grant_types_supported"],
            json!(["authorization_code", "refresh_token", "client_credentials"])
        );
        assert!(
            doc["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("none"))
        );
    }
    let r = s
        .http
        .get(format!(
            "{env}/resources/res_000/.well-known/oauth-authorization-server"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn registration_answers_as_rfc_7591_says() {
    let s = serve().await;
    // A public client: no secret, the method echoed; unknown fields ignored.
    let r = s
        .register(json!({
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "public",
            "application_type": "native",
            "software_id": "ignored",
        }))
        .await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_endpoint_auth_method"], "none");
    assert!(body.get("client_secret").is_none());
    assert_eq!(body["redirect_uris"], json!([REDIRECT_URI]));
    // No method: RFC 7591's default, client_secret_basic, with a secret.
    let r = s.register(json!({"redirect_uris": [REDIRECT_URI]})).await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_endpoint_auth_method"], "client_secret_basic");
    assert!(!body["client_secret"].as_str().unwrap().is_empty());
    assert_eq!(body["grant_types"], json!(["authorization_code"]));

    let refusals = [
        (
            json!({"token_endpoint_auth_method": "none"}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://client.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["https://client.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": [REDIRECT_URI], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": REDIRECT_URI}),
            "invalid_client_metadata",
        ),
        (json!(["not", "an", "object"]), "invalid_client_metadata"),
    ];
    for (metadata, error) in refusals {
        let r = s.register(metadata.clone()).await;
        assert_eq!(r.status(), 400, "{metadata}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], error, "{metadata}");
    }
}

#[tokio::test]
async fn the_emulator_refuses_requests_without_pkce_or_for_another_resource() {
    let s = serve().await;
    let client_id = s.public_client().await;
    let challenge = pkce_challenge(PKCE_VERIFIER);
    let resource = s.resource.clone();
    let refused = |extra: Vec<(&'static str, String)>, error: &'static str| {
        let s = &s;
        let client_id = client_id.clone();
        async move {
            let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = s
                .http
                .get(s.authorize_url(&client_id, &extra))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 302, "{extra:?}");
            let q = query_of(r.headers()["location"].to_str().unwrap());
            assert_eq!(q["error"], error, "{extra:?}");
            assert_eq!(q["state"], "st4te");
            assert_eq!(q["iss"], s.server.authorization_server);
        }
    };
    // No code challenge.
    refused(vec![("resource", resource.clone())], "invalid_request").await;
    // A challenge that is not S256.
    refused(
        vec![
            ("resource", resource.clone()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "plain".into()),
        ],
        "invalid_request",
    )
    .await;
    let pkce = || {
        vec![
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ]
    };
    // No resource, another server's resource, a near miss.
    refused(pkce(), "invalid_target").await;
    for other in [s.other.resource.clone(), format!("{resource}/")] {
        let mut extra = pkce();
        extra.push(("resource", other));
        refused(extra, "invalid_target").await;
    }
    // An unregistered redirect URI is not redirected to.
    let url = s
        .authorize_url(&client_id, &[])
        .replace("callback", "elsewhere");
    let r = s.http.get(url).send().await.unwrap();
    assert_eq!(r.status(), 400);

    // A good request; then the token request with the wrong verifier.
    let mut extra = pkce();
    extra.push(("resource", resource.clone()));
    extra.push(("scope", "mcp:tools".into()));
    let extra: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (page, location) = s.sign_in(&s.authorize_url(&client_id, &extra)).await;
    assert!(page.contains("<li class=\"scope\">mcp:tools</li>"));
    assert!(!page.contains("<li class=\"scope\">mcp:admin</li>"));
    let code = query_of(&location)["code"].clone();
    let exchange = |verifier: &'static str, code: String| {
        let s = &s;
        let client_id = client_id.clone();
        let resource = resource.clone();
        async move {
            s.token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", &client_id),
                ("code_verifier", verifier),
                ("resource", &resource),
            ])
            .await
        }
    };
    let r = exchange(
        "another-verifier-of-at-least-forty-three-characters-0",
        code.clone(),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
    // The code died with that attempt.
    let r = exchange(PKCE_VERIFIER, code).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // Once more, with the right verifier: a token for mcp:tools only, and
    // no refresh token (offline_access was not asked for).
    let (_, location) = s.sign_in(&s.authorize_url(&client_id, &extra)).await;
    let r = exchange(PKCE_VERIFIER, query_of(&location)["code"].clone()).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "mcp:tools");
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn refresh_tokens_rotate_and_agents_use_client_credentials() {
    let s = serve().await;
    let client_id = s.public_client().await;
    let challenge = pkce_challenge(PKCE_VERIFIER);
    let url = s.authorize_url(
        &client_id,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &s.resource),
            ("scope", "mcp:tools offline_access"),
            ("prompt", "consent"),
        ],
    );
    let (_, location) = s.sign_in(&url).await;
    let code = query_of(&location)["code"].clone();
    let r = s
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT_URI),
            ("client_id", &client_id),
            ("code_verifier", PKCE_VERIFIER),
            ("resource", &s.resource),
        ])
        .await;
    let body: Value = r.json().await.unwrap();
    let first = body["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let s = &s;
        let client_id = client_id.clone();
        async move {
            s.token(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &token),
                ("client_id", &client_id),
                ("resource", &s.resource),
            ])
            .await
        }
    };
    let r = refresh(first.clone()).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let second = body["refresh_token"].as_str().unwrap();
    assert_ne!(second, first);
    let access = body["access_token"].as_str().unwrap();
    let whoami_client = s.connect_with(access).await.unwrap();
    assert_eq!(
        tool_json(&whoami_client, "whoami").await["sub"],
        s.emulator.test_user().id
    );
    whoami_client.cancel().await.unwrap();
    // The rotated token is dead.
    let r = refresh(first).await;
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");

    // An agent: a confidential client with the client_credentials grant.
    let r = s
        .register(json!({
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
            "client_name": "agent",
        }))
        .await;
    assert_eq!(r.status(), 201);
    let agent: Value = r.json().await.unwrap();
    let (id, secret) = (
        agent["client_id"].as_str().unwrap(),
        agent["client_secret"].as_str().unwrap(),
    );
    let r = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", "wrong"),
        ])
        .await;
    assert_eq!(r.status(), 401);
    let r = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", "mcp:tools"),
            ("resource", &s.resource),
        ])
        .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "mcp:tools");
    let agent_client = s
        .connect_with(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    let whoami = tool_json(&agent_client, "whoami").await;
    assert_eq!(whoami["sub"], id);
    assert_eq!(whoami["scopes"], json!(["mcp:tools"]));
    agent_client.cancel().await.unwrap();
    // A public client may not use client_credentials.
    let r = s
        .token(&[
            ("grant_type", "client_credentials"),
            ("client_id", &client_id),
        ])
        .await;
    assert_eq!(
        r.json::<Value>().await.unwrap()["error"],
        "unauthorized_client"
    );
}

#[tokio::test]
async fn the_server_accepts_only_its_own_tokens_and_enforces_tool_scopes() {
    let s = serve().await;
    let metadata = s.metadata_url();
    let invalid = |description: &str| {
        format!(
            r#"Bearer realm="mcp", resource_metadata="{metadata}", error="invalid_token", error_description="{description}""#
        )
    };
    let r = s.raw_call(None, "whoami").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        www(&r),
        format!(r#"Bearer realm="mcp", resource_metadata="{metadata}""#)
    );

    // A token issued for another MCP server of the same environment.
    let other = s
        .emulator
        .mint_mcp_access_token(&s.other.resource, json!({}))
        .unwrap();
    let r = s.raw_call(Some(&other), "whoami").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        www(&r),
        invalid("The access token was issued by an unexpected issuer.")
    );
    // … even when it names this server's resource: its issuer is another
    // server's authorization server.
    let other = s
        .emulator
        .mint_mcp_access_token(&s.other.resource, json!({"aud": [s.resource]}))
        .unwrap();
    assert_eq!(s.raw_call(Some(&other), "whoami").await.status(), 401);
    // An environment user token (for the application client).
    let user = s
        .emulator
        .mint_access_token(json!({"scope": "mcp:tools"}))
        .unwrap();
    let r = s.raw_call(Some(&user), "whoami").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        www(&r),
        invalid("The access token is not meant for this audience.")
    );
    // An ID token, even one for this resource and issuer.
    let id_token = s
        .emulator
        .mint_id_token(json!({
            "iss": s.server.authorization_server,
            "aud": [s.resource],
            "scope": "mcp:tools",
        }))
        .unwrap();
    let r = s.raw_call(Some(&id_token), "whoami").await;
    assert_eq!(r.status(), 401);
    assert!(www(&r).starts_with(&format!(
        r#"Bearer realm="mcp", resource_metadata="{metadata}", error="invalid_token""#
    )));

    // This server's token without mcp:tools: 403 on anything.
    let none = s
        .emulator
        .mint_mcp_access_token(&s.resource, json!({"scope": "offline_access"}))
        .unwrap();
    let r = s.raw_call(Some(&none), "whoami").await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).contains(r#"error="insufficient_scope""#));
    assert!(www(&r).ends_with(r#"scope="mcp:tools""#));
    // With mcp:tools but not mcp:admin: the narrower tool is refused with
    // the scope to step up to, whoami works.
    let tools_only = s
        .emulator
        .mint_mcp_access_token(&s.resource, json!({"scope": "mcp:tools"}))
        .unwrap();
    let r = s.raw_call(Some(&tools_only), "admin_report").await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).starts_with(&format!(
        r#"Bearer realm="mcp", resource_metadata="{metadata}", error="insufficient_scope""#
    )));
    assert!(www(&r).ends_with(r#"scope="mcp:admin""#));
    let r = s
        .http
        .post(&s.resource)
        .bearer_auth(&tools_only)
        .header("accept", "application/json, text/event-stream")
        .json(&json!([
            {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami"}},
            {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "admin_report"}},
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "a batch is checked call by call");
    let client = s.connect_with(&tools_only).await.unwrap();
    assert_eq!(
        tool_json(&client, "whoami").await["sub"],
        s.emulator.test_user().id
    );
    assert!(
        client
            .call_tool(CallToolRequestParams::new("admin_report"))
            .await
            .is_err()
    );
    client.cancel().await.unwrap();

    // The environment's issuer and the bare res_… audience are this
    // server's too (PROTOCOL.md §10).
    let env_issued = s
        .emulator
        .mint_mcp_access_token(
            &s.resource,
            json!({"iss": s.emulator.url(), "aud": [s.server.id]}),
        )
        .unwrap();
    let client = s.connect_with(&env_issued).await.unwrap();
    let report = tool_json(&client, "admin_report").await;
    assert_eq!(report["requested_by"], s.emulator.test_user().id);
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rmcp_client_refreshes_its_token_with_offline_access() {
    // Tokens that live 6 s: the client refreshes them itself (it does so
    // once less than half their lifetime is left: after 4 s, at most 2 s
    // are left, `exp` being whole seconds).
    let s =
        serve_with(Emulator::builder().access_token_ttl(std::time::Duration::from_secs(6))).await;
    let challenge = www(&s.raw_call(None, "whoami").await);
    let mut oauth = OAuthState::new(s.resource.as_str(), None).await.unwrap();
    oauth
        .start_authorization(AuthorizationRequest::new(REDIRECT_URI).with_challenge(challenge))
        .await
        .unwrap();
    let authorize_url = oauth.get_authorization_url().await.unwrap();
    let (_, location) = s.sign_in(&authorize_url).await;
    oauth.handle_callback_url(&location).await.unwrap();
    let OAuthState::Authorized(manager) = oauth else {
        panic!("the client is authorized after the callback");
    };
    let first = manager.get_access_token().await.unwrap();
    let auth_client = AuthClient::new(reqwest::Client::new(), manager);
    let transport = StreamableHttpClientTransport::with_client(
        auth_client.clone(),
        StreamableHttpClientTransportConfig::with_uri(s.resource.clone()),
    );
    let client = ().serve(transport).await.unwrap();
    let token_requests = s
        .emulator
        .request_count(scalekit_emulator::EmulatorEndpoint::Token);
    tokio::time::sleep(std::time::Duration::from_millis(4000)).await;
    let whoami = tool_json(&client, "whoami").await;
    assert_eq!(whoami["sub"], s.emulator.test_user().id);
    assert!(
        s.emulator
            .request_count(scalekit_emulator::EmulatorEndpoint::Token)
            > token_requests,
        "the client refreshed its token"
    );
    // The refreshed token is another one, for the same server and scopes.
    let second = auth_client.get_access_token().await.unwrap();
    assert_ne!(second, first);
    let claims = s.emulator_claims(&second);
    assert_eq!(claims["aud"], json!([s.resource, s.server.id]));
    assert_eq!(claims["scope"], "mcp:tools mcp:admin offline_access");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn the_sign_in_page_escapes_what_a_client_registered() {
    let s = serve().await;
    let r = s
        .register(json!({
            "redirect_uris": [REDIRECT_URI],
            "token_endpoint_auth_method": "none",
            "client_name": "<script>alert('x')</script>",
        }))
        .await;
    let client_id = r.json::<Value>().await.unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let challenge = pkce_challenge(PKCE_VERIFIER);
    let url = s.authorize_url(
        &client_id,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
            ("resource", &s.resource),
            ("scope", "mcp:tools"),
            ("login_hint", "\"><script>"),
        ],
    );
    let html = s.http.get(url).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains("<script>"));
    assert!(html.contains("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"));
}
