//! The claims of Scalekit tokens (PROTOCOL.md §6–§7) and the granted scope set.

use std::collections::BTreeSet;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

/// Custom claims: everything in a token this library has no field for.
pub type CustomClaims = serde_json::Map<String, serde_json::Value>;

/// A claim that may be a single string or an array of strings (`aud`, `scp`).
///
/// ```
/// use scalekit_core::claims::StringOrList;
///
/// let one: StringOrList = serde_json::from_str(r#""skc_1""#).unwrap();
/// let many: StringOrList = serde_json::from_str(r#"["skc_1","api"]"#).unwrap();
/// assert_eq!(one.as_slice(), ["skc_1"]);
/// assert!(many.contains("api"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StringOrList(pub Vec<String>);

impl StringOrList {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    /// Whether `value` is one of the values.
    pub fn contains(&self, value: &str) -> bool {
        self.0.iter().any(|v| v == value)
    }

    /// Whether there is no value.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for StringOrList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> de::Visitor<'de> for Visitor {
            type Value = StringOrList;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrList(vec![v.to_owned()]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(StringOrList::default())
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(1).min(64));
                while let Some(v) = seq.next_element::<String>()? {
                    out.push(v);
                }
                Ok(StringOrList(out))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The granted scopes of a token: the union of the `scopes` array, the
/// space-separated `scope` string and the `scp` claim (PROTOCOL.md §7).
///
/// ```
/// use scalekit_core::ScopeSet;
///
/// let granted = ScopeSet::from_iter(["org:*", "read"]);
/// assert!(granted.grants("org:users:read"));
/// assert!(granted.grants("read"));
/// assert!(!granted.grants("org"));
/// assert!(!granted.grants("write"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScopeSet(BTreeSet<String>);

impl ScopeSet {
    /// Whether `required` is granted, exactly or through a wildcard.
    ///
    /// A granted `a:b:*` grants `a:b:c` and `a:b:c:d` (a `*` segment stands
    /// for one or more trailing segments) but not `a:b` itself.
    pub fn grants(&self, required: &str) -> bool {
        self.0.contains(required) || self.0.iter().any(|g| wildcard_grants(g, required))
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// Number of scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no scope is granted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every scope of a space-separated list.
    pub fn extend_space_separated(&mut self, list: &str) {
        self.0
            .extend(list.split(' ').filter(|s| !s.is_empty()).map(str::to_owned));
    }
}

impl<S: Into<String>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        ScopeSet(
            iter.into_iter()
                .map(Into::into)
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }
}

/// `granted` ends in a `*` segment and its prefix matches the leading
/// segments of `required`, with at least one segment left over.
pub(crate) fn wildcard_grants(granted: &str, required: &str) -> bool {
    if granted == "*" {
        return !required.is_empty();
    }
    let Some(prefix) = granted.strip_suffix(":*") else {
        return false;
    };
    required
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix(':'))
        .is_some_and(|rest| !rest.is_empty())
}

/// The claims of a Scalekit access token, for users and for M2M clients
/// (PROTOCOL.md §7). Claims without a field land in [`AccessTokenClaims::custom`].
///
/// ```
/// use scalekit_core::AccessTokenClaims;
///
/// let claims: AccessTokenClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://acme.scalekit.dev", "sub": "m2morg_1", "client_id": "m2morg_1",
///     "exp": 2000000000, "oid": "org_1", "scopes": ["deploy:write"], "scope": "read",
///     "tenant_tier": "gold"
/// })).unwrap();
/// assert!(claims.scopes().grants("deploy:write"));
/// assert!(claims.scopes().grants("read"));
/// assert_eq!(claims.custom["tenant_tier"], "gold");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AccessTokenClaims {
    /// Issuer: the environment URL.
    pub iss: String,
    /// Subject: a user id (`usr_…`) or, for M2M tokens, the client id.
    #[serde(default)]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub aud: StringOrList,
    /// The client the token was issued to.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Session id (`ses_…`), user tokens only.
    #[serde(default)]
    pub sid: Option<String>,
    /// Token id (`tkn_…`).
    #[serde(default)]
    pub jti: Option<String>,
    /// Issued at (Unix seconds).
    #[serde(default)]
    pub iat: Option<i64>,
    /// Not before (Unix seconds).
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Role names.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub roles: Vec<String>,
    /// Permissions.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub permissions: Vec<String>,
    /// Organization id.
    #[serde(default)]
    pub oid: Option<String>,
    /// External organization id.
    #[serde(default)]
    pub xoid: Option<String>,
    /// External user id.
    #[serde(default)]
    pub xuid: Option<String>,
    /// The `scopes` array (M2M tokens).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub scopes: Vec<String>,
    /// The space-separated `scope` string.
    #[serde(default)]
    pub scope: Option<String>,
    /// The `scp` claim (string or array).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub scp: StringOrList,
    /// Every other claim.
    #[serde(flatten)]
    pub custom: CustomClaims,
}

impl AccessTokenClaims {
    /// The granted scopes: the union of `scopes`, `scope` and `scp`.
    pub fn scopes(&self) -> ScopeSet {
        self.granted_scopes().collect()
    }

    /// The granted scopes as sent, borrowed: `scopes`, `scp`, then `scope`
    /// split on spaces; unsorted, possibly repeated, never empty (what
    /// [`AccessTokenClaims::scopes`] collects into a set).
    pub fn granted_scopes(&self) -> impl Iterator<Item = &str> {
        self.scopes
            .iter()
            .chain(self.scp.0.iter())
            .map(String::as_str)
            .chain(self.scope.iter().flat_map(|s| s.split(' ')))
            .filter(|s| !s.is_empty())
    }

    /// The organization: `oid`, else `xoid`.
    pub fn organization_id(&self) -> Option<&str> {
        self.oid.as_deref().or(self.xoid.as_deref())
    }

    /// Whether this is a machine-to-machine token (issued to a client, with
    /// no user session).
    pub fn is_m2m(&self) -> bool {
        self.sid.is_none()
            && self.client_id.is_some()
            && self.sub.as_deref() == self.client_id.as_deref()
    }
}

/// The claims of a Scalekit ID token (PROTOCOL.md §7).
///
/// ```
/// use scalekit_core::IdTokenClaims;
///
/// let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://acme.scalekit.dev", "aud": ["skc_1"], "sub": "usr_1", "exp": 2000000000,
///     "email": "ada@example.com", "email_verified": true
/// })).unwrap();
/// assert_eq!(claims.email.as_deref(), Some("ada@example.com"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// Issuer.
    pub iss: String,
    /// Audience (contains the client id).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub aud: StringOrList,
    /// Authorized party.
    #[serde(default)]
    pub azp: Option<String>,
    /// The user id (`usr_…`).
    pub sub: String,
    /// Organization id.
    #[serde(default)]
    pub oid: Option<String>,
    /// Session id.
    #[serde(default)]
    pub sid: Option<String>,
    /// Authentication methods.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub amr: Vec<String>,
    /// Access token hash.
    #[serde(default)]
    pub at_hash: Option<String>,
    /// Code hash.
    #[serde(default)]
    pub c_hash: Option<String>,
    /// The nonce sent in the authorization request.
    #[serde(default)]
    pub nonce: Option<String>,
    /// Issued at.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Expiry.
    pub exp: i64,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the email address is verified.
    #[serde(default)]
    pub email_verified: Option<bool>,
    /// Full name.
    #[serde(default)]
    pub name: Option<String>,
    /// Given name.
    #[serde(default)]
    pub given_name: Option<String>,
    /// Family name.
    #[serde(default)]
    pub family_name: Option<String>,
    /// Preferred username.
    #[serde(default)]
    pub preferred_username: Option<String>,
    /// Locale.
    #[serde(default)]
    pub locale: Option<String>,
    /// Picture URL.
    #[serde(default)]
    pub picture: Option<String>,
    /// Role names.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub roles: Vec<String>,
    /// Linked identities, as sent.
    #[serde(default)]
    pub identities: Option<serde_json::Value>,
    /// Every other claim.
    #[serde(flatten)]
    pub custom: CustomClaims,
}

impl IdTokenClaims {
    /// The connection the user signed in through: `amr[0]` (the platform's
    /// `amr` holds the connection id, `["conn_…"]`).
    ///
    /// ```
    /// use scalekit_core::IdTokenClaims;
    ///
    /// let claims: IdTokenClaims = serde_json::from_value(serde_json::json!({
    ///     "iss": "https://acme.scalekit.dev", "sub": "usr_1", "exp": 2000000000,
    ///     "amr": ["conn_17576372041941092"]
    /// })).unwrap();
    /// assert_eq!(claims.connection_id(), Some("conn_17576372041941092"));
    /// ```
    pub fn connection_id(&self) -> Option<&str> {
        self.amr.first().map(String::as_str)
    }
}

/// The claims of an `idp_initiated_login` token (PROTOCOL.md §6).
///
/// ```
/// use scalekit_core::IdpInitiatedLoginClaims;
///
/// let claims: IdpInitiatedLoginClaims = serde_json::from_value(serde_json::json!({
///     "iss": "https://acme.scalekit.dev", "exp": 2000000000,
///     "organization_id": "org_1", "connection_id": "conn_1", "login_hint": "ada@example.com"
/// })).unwrap();
/// assert_eq!(claims.connection_id.as_deref(), Some("conn_1"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IdpInitiatedLoginClaims {
    /// Issuer.
    pub iss: String,
    /// Organization id.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// Connection id.
    #[serde(default)]
    pub connection_id: Option<String>,
    /// The user's email, as a login hint.
    #[serde(default)]
    pub login_hint: Option<String>,
    /// Relay state set at the identity provider (not a CSRF state).
    #[serde(default)]
    pub relay_state: Option<String>,
    /// Issued at.
    #[serde(default)]
    pub iat: Option<i64>,
    /// Not before.
    #[serde(default)]
    pub nbf: Option<i64>,
    /// Expiry.
    pub exp: i64,
    /// Every other claim.
    #[serde(flatten)]
    pub custom: CustomClaims,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_grants("a:*", "a:b"));
        assert!(wildcard_grants("a:*", "a:b:c"));
        assert!(wildcard_grants("a:b:*", "a:b:c"));
        assert!(!wildcard_grants("a:b:*", "a:b"));
        assert!(!wildcard_grants("a:*", "a"));
        assert!(!wildcard_grants("a:*", "ab:c"));
        assert!(!wildcard_grants("a:*", "a:"));
        assert!(!wildcard_grants("a:b", "a:b"));
        assert!(wildcard_grants("*", "anything:at:all"));
    }

    #[test]
    fn scope_union_of_three_claims() {
        let claims: AccessTokenClaims = serde_json::from_value(serde_json::json!({
            "iss": "i", "exp": 1, "scopes": ["a"], "scope": "b  c", "scp": "d"
        }))
        .unwrap();
        let got: Vec<_> = claims.scopes().iter().map(str::to_owned).collect();
        assert_eq!(got, ["a", "b", "c", "d"]);
    }

    #[test]
    fn null_lists_are_empty() {
        let claims: AccessTokenClaims = serde_json::from_value(serde_json::json!({
            "iss": "i", "exp": 1, "roles": null, "aud": null
        }))
        .unwrap();
        assert!(claims.roles.is_empty());
        assert!(claims.aud.is_empty());
    }
}
