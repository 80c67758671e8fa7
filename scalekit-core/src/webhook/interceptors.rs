//! Interceptors: the platform's request ([`InterceptorRequest`]) and the
//! application's decision ([`InterceptorResponse`]).

use serde::{Deserialize, Deserializer, Serialize};

/// Where an interceptor is called from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TriggerPoint {
    /// `PRE_SIGNUP`.
    PreSignup,
    /// `PRE_SESSION_CREATION`.
    PreSessionCreation,
    /// `PRE_USER_INVITATION`.
    PreUserInvitation,
    /// `PRE_M2M_TOKEN_CREATION`.
    PreM2mTokenCreation,
    /// Any other trigger point, as sent.
    Other(String),
}

impl<'de> Deserialize<'de> for TriggerPoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(match &*name {
            "PRE_SIGNUP" => TriggerPoint::PreSignup,
            "PRE_SESSION_CREATION" => TriggerPoint::PreSessionCreation,
            "PRE_USER_INVITATION" => TriggerPoint::PreUserInvitation,
            "PRE_M2M_TOKEN_CREATION" => TriggerPoint::PreM2mTokenCreation,
            other => TriggerPoint::Other(other.to_owned()),
        })
    }
}

/// An interceptor request.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct InterceptorRequest {
    /// The interceptor's display name.
    #[serde(default)]
    pub display_name: Option<String>,
    /// Where it is called from.
    pub trigger_point: TriggerPoint,
    /// Context of the call.
    #[serde(default)]
    pub interceptor_context: serde_json::Value,
    /// The data to decide on.
    #[serde(default)]
    pub data: serde_json::Value,
}

/// ALLOW or DENY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Decision {
    /// Let the operation proceed.
    Allow,
    /// Stop it.
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct DenyError {
    message: String,
}

/// An interceptor's answer, always sent with HTTP 200.
///
/// ```
/// use scalekit_core::webhook::InterceptorResponse;
///
/// assert_eq!(InterceptorResponse::allow().to_json(), r#"{"decision":"ALLOW"}"#);
/// assert_eq!(
///     InterceptorResponse::deny("Sign-ups are closed").to_json(),
///     r#"{"decision":"DENY","error":{"message":"Sign-ups are closed"}}"#
/// );
/// let with_claims = InterceptorResponse::allow().response(serde_json::json!({"claims": {"tier": "gold"}}));
/// assert_eq!(with_claims.to_json(), r#"{"decision":"ALLOW","response":{"claims":{"tier":"gold"}}}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InterceptorResponse {
    decision: Decision,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<DenyError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<serde_json::Value>,
}

impl InterceptorResponse {
    /// ALLOW.
    pub fn allow() -> Self {
        InterceptorResponse {
            decision: Decision::Allow,
            error: None,
            response: None,
        }
    }

    /// DENY with a message shown to the user.
    pub fn deny(message: impl Into<String>) -> Self {
        InterceptorResponse {
            decision: Decision::Deny,
            error: Some(DenyError {
                message: message.into(),
            }),
            response: None,
        }
    }

    /// Adds a `response` object (claims to add, for example).
    pub fn response(mut self, response: serde_json::Value) -> Self {
        self.response = Some(response);
        self
    }

    /// The decision.
    pub fn decision(&self) -> Decision {
        self.decision
    }

    /// The JSON body.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from(r#"{"decision":"DENY"}"#))
    }

    /// The HTTP status: always 200.
    pub fn status(&self) -> u16 {
        200
    }
}
