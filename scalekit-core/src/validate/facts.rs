//! The registered claims of a payload, read once ([`ClaimFacts`]), and
//! their checks under [`ValidationOptions`]: `exp`, `nbf`, issuer, token
//! kind and audience.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use serde::Deserialize;

use super::error::{Malformed, ValidationError};
use super::options::{TokenPurpose, ValidationOptions};
use crate::claims::StringOrList;

/// The clock of the claim checks: Unix seconds.
pub(super) fn now_secs() -> i64 {
    i64::try_from(crate::util::unix_time().as_secs()).unwrap_or(i64::MAX)
}

fn secs_i64(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

const HAS_SUB: u8 = 1;
const HAS_NONCE: u8 = 1 << 1;
const HAS_AT_HASH: u8 = 1 << 2;
const HAS_C_HASH: u8 = 1 << 3;
const HAS_AZP: u8 = 1 << 4;
const HAS_CLIENT_ID: u8 = 1 << 5;
const HAS_ORGANIZATION_ID: u8 = 1 << 6;
const HAS_CONNECTION_ID: u8 = 1 << 7;

/// What the claim checks need from a verified payload, read once: `exp`
/// and `nbf` as whole seconds (rounded towards refusal: `exp` down, `nbf`
/// up), the issuer, the audiences and which kind-marking claims are there.
#[derive(Debug, Default)]
pub(super) struct ClaimFacts {
    exp: Option<i64>,
    nbf: Option<i64>,
    pub(super) iss: Option<Box<str>>,
    aud: Option<Vec<String>>,
    present: u8,
    /// The cache lifetime of the entry, in seconds (set at insertion).
    pub(super) lifetime: AtomicU64,
}

impl ClaimFacts {
    /// Reads the registered claims of a verified payload.
    pub(super) fn parse(payload: &[u8]) -> Result<ClaimFacts, ValidationError> {
        #[derive(Deserialize)]
        struct Registered<'a> {
            #[serde(default)]
            exp: Option<f64>,
            #[serde(default)]
            nbf: Option<f64>,
            #[serde(default, borrow)]
            iss: Option<std::borrow::Cow<'a, str>>,
            #[serde(default)]
            aud: Option<StringOrList>,
            #[serde(default)]
            sub: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            nonce: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            at_hash: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            c_hash: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            azp: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            client_id: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            organization_id: Option<serde::de::IgnoredAny>,
            #[serde(default)]
            connection_id: Option<serde::de::IgnoredAny>,
        }
        // A claims set is a JSON object; anything else is refused before serde
        // gets a chance to read an array positionally.
        if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Malformed::PayloadNotJson.into());
        }
        let claims: Registered =
            serde_json::from_slice(payload).map_err(|e| match e.classify() {
                serde_json::error::Category::Data => Malformed::Claims,
                _ => Malformed::PayloadNotJson,
            })?;
        // `as` saturates (and JSON numbers are finite).
        let whole = |v: f64, up: bool| {
            if !v.is_finite() {
                i64::MIN
            } else if up {
                v.ceil() as i64
            } else {
                v.floor() as i64
            }
        };
        let flag = |present: bool, bit: u8| if present { bit } else { 0 };
        Ok(ClaimFacts {
            exp: claims.exp.map(|v| whole(v, false)),
            // A non-finite `nbf` is never reached.
            nbf: claims.nbf.map(|v| {
                if v.is_finite() {
                    whole(v, true)
                } else {
                    i64::MAX
                }
            }),
            iss: claims.iss.map(|iss| iss.as_ref().into()),
            aud: claims.aud.map(|aud| aud.as_slice().to_vec()),
            present: flag(claims.sub.is_some(), HAS_SUB)
                | flag(claims.nonce.is_some(), HAS_NONCE)
                | flag(claims.at_hash.is_some(), HAS_AT_HASH)
                | flag(claims.c_hash.is_some(), HAS_C_HASH)
                | flag(claims.azp.is_some(), HAS_AZP)
                | flag(claims.client_id.is_some(), HAS_CLIENT_ID)
                | flag(claims.organization_id.is_some(), HAS_ORGANIZATION_ID)
                | flag(claims.connection_id.is_some(), HAS_CONNECTION_ID),
            lifetime: AtomicU64::new(0),
        })
    }

    /// How long (whole seconds) a cache may keep these claims: at most
    /// `max`, and never past `exp` plus `leeway`.
    pub(super) fn lifetime_within(&self, max: Duration, leeway: Duration) -> u64 {
        let until_exp = self.exp.map_or(0, |exp| {
            exp.saturating_add(secs_i64(leeway))
                .saturating_sub(now_secs())
                .max(0)
        });
        u64::try_from(until_exp).unwrap_or(0).min(max.as_secs())
    }

    fn has(&self, bit: u8) -> bool {
        self.present & bit != 0
    }

    /// The registered-claim checks under `options` at `now` (Unix seconds).
    pub(super) fn check(
        &self,
        options: &ValidationOptions,
        now: i64,
    ) -> Result<(), ValidationError> {
        let leeway = secs_i64(options.leeway);
        let exp = self.exp.ok_or(ValidationError::MissingClaim("exp"))?;
        // `now` is whole seconds (rounded down): the token is valid while
        // the current time is before `exp` plus the leeway (RFC 7519 4.1.4).
        if now >= exp.saturating_add(leeway) {
            return Err(ValidationError::Expired);
        }
        if let Some(nbf) = self.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(ValidationError::NotYetValid);
        }
        let iss = self
            .iss
            .as_deref()
            .ok_or(ValidationError::MissingClaim("iss"))?;
        if !options.accepts_issuer(iss) {
            return Err(ValidationError::WrongIssuer);
        }
        let kind_ok = match options.purpose {
            TokenPurpose::Access => {
                self.has(HAS_SUB)
                    && !self.has(HAS_NONCE)
                    && !self.has(HAS_AT_HASH)
                    && !self.has(HAS_C_HASH)
                    && (!self.has(HAS_AZP) || self.has(HAS_CLIENT_ID))
            }
            TokenPurpose::Id => self.has(HAS_SUB),
            TokenPurpose::IdpInitiatedLogin => {
                !self.has(HAS_SUB)
                    && !self.has(HAS_NONCE)
                    && (self.has(HAS_ORGANIZATION_ID) || self.has(HAS_CONNECTION_ID))
            }
            TokenPurpose::Any => true,
        };
        if !kind_ok {
            return Err(ValidationError::WrongTokenType);
        }
        if options.checks_audience() {
            let aud = self.aud.as_deref().unwrap_or_default();
            if !options.accepts_audience(aud) {
                return Err(ValidationError::WrongAudience);
            }
        }
        Ok(())
    }
}

/// Checks the registered claims of a verified payload at `now` (Unix seconds).
#[cfg(test)]
fn check_claims(
    payload: &[u8],
    options: &ValidationOptions,
    now: i64,
) -> Result<(), ValidationError> {
    ClaimFacts::parse(payload)?.check(options, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> ValidationOptions {
        ValidationOptions::new("https://env.example/")
            .purpose(TokenPurpose::Any)
            .any_audience()
    }

    #[test]
    fn claim_checks() {
        let ok = br#"{"exp": 1000, "iss": "https://env.example"}"#;
        assert_eq!(check_claims(ok, &opts(), 900), Ok(()));
        assert_eq!(check_claims(ok, &opts(), 1059), Ok(()));
        assert_eq!(
            check_claims(ok, &opts(), 1060),
            Err(ValidationError::Expired)
        );
        let nbf = br#"{"exp": 5000, "nbf": 2000, "iss": "https://env.example/"}"#;
        assert_eq!(check_claims(nbf, &opts(), 1940), Ok(()));
        assert_eq!(
            check_claims(nbf, &opts(), 1939),
            Err(ValidationError::NotYetValid)
        );
        assert_eq!(
            check_claims(br#"{"iss": "https://env.example"}"#, &opts(), 0),
            Err(ValidationError::MissingClaim("exp"))
        );
        assert_eq!(
            check_claims(br#"{"exp": 10}"#, &opts(), 0),
            Err(ValidationError::MissingClaim("iss"))
        );
        assert_eq!(
            check_claims(br#"{"exp": 10, "iss": "https://other"}"#, &opts(), 0),
            Err(ValidationError::WrongIssuer)
        );
        assert_eq!(
            check_claims(br#"{"exp": "10", "iss": "x"}"#, &opts(), 0),
            Err(ValidationError::Malformed(Malformed::Claims))
        );
        assert_eq!(
            check_claims(b"[1]", &opts(), 0),
            Err(ValidationError::Malformed(Malformed::PayloadNotJson))
        );
    }

    #[test]
    fn audience_any_of() {
        let o = opts().audience("a").audience("b");
        let with = |aud: &str| {
            format!(r#"{{"exp": 10, "iss": "https://env.example", "aud": {aud}}}"#).into_bytes()
        };
        assert_eq!(check_claims(&with(r#""b""#), &o, 0), Ok(()));
        assert_eq!(check_claims(&with(r#"["x","a"]"#), &o, 0), Ok(()));
        assert_eq!(
            check_claims(&with(r#"["x"]"#), &o, 0),
            Err(ValidationError::WrongAudience)
        );
        assert_eq!(
            check_claims(br#"{"exp": 10, "iss": "https://env.example"}"#, &o, 0),
            Err(ValidationError::WrongAudience)
        );
        // No audience configured: nothing is accepted.
        let none = ValidationOptions::new("https://env.example").purpose(TokenPurpose::Any);
        assert_eq!(
            check_claims(&with(r#"["a"]"#), &none, 0),
            Err(ValidationError::WrongAudience)
        );
    }

    #[test]
    fn token_kinds() {
        let access = ValidationOptions::new("https://env.example").audience("skc_1");
        let claims = |extra: &str| {
            format!(r#"{{"exp": 10, "iss": "https://env.example", "aud": ["skc_1"]{extra}}}"#)
                .into_bytes()
        };
        let user = claims(r#", "sub": "usr_1", "client_id": "skc_1", "sid": "ses_1""#);
        assert_eq!(check_claims(&user, &access, 0), Ok(()));
        for id_token in [
            r#", "sub": "usr_1", "nonce": "n""#,
            r#", "sub": "usr_1", "at_hash": "h""#,
            r#", "sub": "usr_1", "c_hash": "h""#,
            r#", "sub": "usr_1", "azp": "skc_1""#,
            r#", "organization_id": "org_1", "connection_id": "conn_1""#,
        ] {
            assert_eq!(
                check_claims(&claims(id_token), &access, 0),
                Err(ValidationError::WrongTokenType),
                "{id_token}"
            );
        }
        let idp = ValidationOptions::new("https://env.example")
            .any_audience()
            .purpose(TokenPurpose::IdpInitiatedLogin);
        let login = br#"{"exp": 10, "iss": "https://env.example", "connection_id": "conn_1"}"#;
        assert_eq!(check_claims(login, &idp, 0), Ok(()));
        assert_eq!(
            check_claims(&user, &idp, 0),
            Err(ValidationError::WrongTokenType)
        );
        let id = ValidationOptions::new("https://env.example")
            .audience("skc_1")
            .purpose(TokenPurpose::Id);
        assert_eq!(
            check_claims(&claims(r#", "sub": "usr_1", "nonce": "n""#), &id, 0),
            Ok(())
        );
    }
}
