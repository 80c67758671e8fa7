//! Cookies on the wire: the request's `Cookie` headers parsed
//! ([`RequestCookies`]), and the session's `Set-Cookie` values rendered
//! under its [`CookieSettings`] (names, `__Host-` prefix, attributes,
//! chunk families).

use std::fmt;
use std::time::Duration;

/// The cookies of a request, parsed from its `Cookie` header(s).
///
/// ```
/// use scalekit_core::session::RequestCookies;
///
/// let cookies = RequestCookies::parse(["a=1; sk_session=xyz", "b=2"]);
/// assert_eq!(cookies.get("sk_session"), Some("xyz"));
/// assert_eq!(cookies.get("b"), Some("2"));
/// assert_eq!(cookies.get("c"), None);
/// ```
///
/// Its `Debug` lists the cookie names only: values are sealed sessions or
/// other applications' secrets.
#[derive(Clone, Default)]
pub struct RequestCookies<'a> {
    pairs: Vec<(&'a str, &'a str)>,
}

impl fmt::Debug for RequestCookies<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestCookies")
            .field(
                "names",
                &self.pairs.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl<'a> RequestCookies<'a> {
    /// Parses `Cookie` header values.
    pub fn parse<I>(headers: I) -> Self
    where
        I: IntoIterator<Item = &'a str>,
    {
        let mut pairs = Vec::new();
        for header in headers {
            Self::push_pairs(&mut pairs, header);
        }
        RequestCookies { pairs }
    }

    /// Parses `Cookie` header values as HTTP libraries hold them (bytes).
    /// A header that is not UTF-8 as a whole still gives its pairs that
    /// are; nothing is refused for bytes the cookies of this library never
    /// hold (a sealed value that is not base64url does not open anyway).
    /// Cheaper than checking each header with `HeaderValue::to_str`, which
    /// reads a session cookie of several kilobytes byte by byte: the UTF-8
    /// check runs with SIMD (`simdutf8`), then `;` and `=` are found with
    /// `memchr`.
    ///
    /// ```
    /// use scalekit_core::session::RequestCookies;
    ///
    /// let cookies = RequestCookies::parse_bytes([&b"a=1; b=\"2\"; bad=\xff; c=3"[..]]);
    /// assert_eq!(cookies.get("b"), Some("2"));
    /// assert_eq!(cookies.get("c"), Some("3"));
    /// assert_eq!(cookies.get("bad"), None);
    /// ```
    pub fn parse_bytes<I>(headers: I) -> Self
    where
        I: IntoIterator<Item = &'a [u8]>,
    {
        let mut pairs = Vec::new();
        for header in headers {
            match simdutf8::basic::from_utf8(header) {
                Ok(text) => Self::push_pairs(&mut pairs, text),
                Err(_) => {
                    for part in header.split(|b| *b == b';') {
                        if let Ok(text) = std::str::from_utf8(part) {
                            Self::push_pairs(&mut pairs, text);
                        }
                    }
                }
            }
        }
        RequestCookies { pairs }
    }

    fn push_pairs(pairs: &mut Vec<(&'a str, &'a str)>, header: &'a str) {
        // `;` and `=` found with SIMD (a session cookie is kilobytes long);
        // both are ASCII, so every cut is on a character boundary.
        let ends = memchr::memchr_iter(b';', header.as_bytes()).chain([header.len()]);
        let mut start = 0;
        for end in ends {
            let part = header.get(start..end).unwrap_or_default();
            start = end + 1;
            let split = memchr::memchr(b'=', part.as_bytes())
                .and_then(|eq| Some((part.get(..eq)?, part.get(eq + 1..)?)));
            if let Some((name, value)) = split {
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                pairs.push((name.trim(), value));
            }
        }
    }

    /// The first cookie named `name`.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Names of the cookies that are `name` or a chunk of it.
    pub fn family(&self, name: &str) -> Vec<&'a str> {
        self.pairs
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| {
                *n == name
                    || n.strip_prefix(name)
                        .and_then(|rest| rest.strip_prefix('.'))
                        .is_some_and(|i| !i.is_empty() && i.bytes().all(|b| b.is_ascii_digit()))
            })
            .collect()
    }
}

/// `SameSite` attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `Lax` (the default: survives the redirect back from the platform).
    Lax,
    /// `Strict`.
    Strict,
    /// `None` (requires `Secure`).
    None,
}

/// Attributes of the cookies a session writes.
///
/// Cookie names: when a cookie is sent `Secure`, with no `Domain` and with
/// `Path=/` (the default on https), its name carries the `__Host-` prefix
/// (`__Host-sk_session`, `__Host-sk_oauth_state`, `__Host-sk_session.0` …):
/// browsers then refuse such a cookie unless it was set by this very host
/// over https, so a sibling subdomain cannot plant or overwrite it. On
/// plain-http localhost the names stay `sk_session` and `sk_oauth_state`.
///
/// ```
/// use std::time::Duration;
/// use scalekit_core::session::CookieSettings;
///
/// let settings = CookieSettings::for_base_url("https://app.example.com");
/// assert_eq!(settings.session_cookie_name(), "__Host-sk_session");
/// assert_eq!(
///     settings.set_cookie("__Host-sk_session", "v", Some(Duration::from_secs(60))),
///     "__Host-sk_session=v; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=60"
/// );
/// let local = CookieSettings::for_base_url("http://localhost:3000");
/// assert_eq!(local.session_cookie_name(), "sk_session");
/// assert!(!local.set_cookie("sk_session", "v", None).contains("Secure"));
/// // A shared Domain drops the prefix.
/// let shared = CookieSettings { domain: Some("example.com".into()), ..settings };
/// assert_eq!(shared.session_cookie_name(), "sk_session");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieSettings {
    /// Base name of the session cookie (default `sk_session`); see
    /// [`CookieSettings::session_cookie_name`] for the name actually sent.
    pub name: String,
    /// `Domain` attribute (default none: host-only).
    ///
    /// Setting it shares the cookies with every subdomain of that domain
    /// (which can then also plant or overwrite them), and drops the
    /// `__Host-` prefix from their names, since browsers refuse `__Host-`
    /// cookies that carry a `Domain`. Leave it unset unless several
    /// subdomains must share one session.
    pub domain: Option<String>,
    /// `Path` (default `/`). Any other path also drops the `__Host-` prefix.
    pub path: String,
    /// `Secure` (default on, off only for a plain-http localhost base URL).
    pub secure: bool,
    /// `SameSite` (default `Lax`).
    pub same_site: SameSite,
}

/// Why [`CookieSettings`] cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CookieSettingsError {
    /// The cookie name is not an RFC 6265 token.
    #[error("the cookie name must be a token (letters, digits and !#$%&'*+-.^_`|~)")]
    Name,
    /// The path does not start with `/` or holds `;`, a space or a
    /// control character.
    #[error("the cookie path must start with / and hold no ';', space or control character")]
    Path,
    /// The domain is not a host name.
    #[error("the cookie domain must be a host name")]
    Domain,
}

/// An RFC 6265 cookie name: an RFC 7230 token.
fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An RFC 6265 `cookie-octet` (what our sealed, base64url values are made of).
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

fn is_cookie_path(path: &str) -> bool {
    path.starts_with('/') && path.bytes().all(|b| (0x21..0x7f).contains(&b) && b != b';')
}

fn is_cookie_domain(domain: &str) -> bool {
    let host = domain.strip_prefix('.').unwrap_or(domain);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// The name prefix of cookies bound to this host over https.
const HOST_PREFIX: &str = "__Host-";

impl CookieSettings {
    /// Defaults for an application served at `base_url`: `Secure` unless it
    /// is plain-http localhost (a loopback host), and so `__Host-` names
    /// unless it is.
    pub fn for_base_url(base_url: &str) -> Self {
        let insecure_local = url::Url::parse(base_url)
            .map(|u| u.scheme() == "http" && crate::config::is_loopback_host(&u))
            .unwrap_or(false);
        CookieSettings {
            name: "sk_session".into(),
            domain: None,
            path: "/".into(),
            secure: !insecure_local,
            same_site: SameSite::Lax,
        }
    }

    /// Whether cookies are sent with `Secure` (always with `SameSite=None`).
    pub fn sends_secure(&self) -> bool {
        self.secure || self.same_site == SameSite::None
    }

    /// Whether cookie names carry the `__Host-` prefix: `Secure`, no
    /// `Domain`, `Path=/`.
    pub fn host_prefixed(&self) -> bool {
        self.sends_secure() && self.domain.is_none() && self.path == "/"
    }

    /// The name a cookie called `base` has on the wire: `__Host-{base}` when
    /// [`host_prefixed`](CookieSettings::host_prefixed), else `base`.
    pub fn cookie_name(&self, base: &str) -> String {
        if self.host_prefixed() && !base.starts_with(HOST_PREFIX) {
            format!("{HOST_PREFIX}{base}")
        } else {
            base.to_owned()
        }
    }

    /// The session cookie's name on the wire (its chunks add `.0`, `.1` …).
    pub fn session_cookie_name(&self) -> String {
        self.cookie_name(&self.name)
    }

    /// Checks the settings: the cookie name is an RFC 6265 token, the
    /// path starts with `/` and holds no `;`, space or control character,
    /// and the domain is a host name (letters, digits, `-` and `.`).
    ///
    /// ```
    /// use scalekit_core::session::{CookieSettings, CookieSettingsError};
    ///
    /// let settings = CookieSettings::for_base_url("https://app.example.com");
    /// assert_eq!(settings.validate(), Ok(()));
    /// let bad = CookieSettings { domain: Some("example.com; Secure".into()), ..settings.clone() };
    /// assert_eq!(bad.validate(), Err(CookieSettingsError::Domain));
    /// let bad = CookieSettings { name: "a session".into(), ..settings };
    /// assert_eq!(bad.validate(), Err(CookieSettingsError::Name));
    /// ```
    pub fn validate(&self) -> Result<(), CookieSettingsError> {
        if !is_cookie_name(&self.name) {
            return Err(CookieSettingsError::Name);
        }
        if !is_cookie_path(&self.path) {
            return Err(CookieSettingsError::Path);
        }
        if let Some(domain) = &self.domain
            && !is_cookie_domain(domain)
        {
            return Err(CookieSettingsError::Domain);
        }
        Ok(())
    }

    /// A `Set-Cookie` value, rendered by the `cookie` crate: `HttpOnly`
    /// always, `Max-Age` when given. A name that is not an RFC 6265 token
    /// gives no cookie at all (an empty string, which adapters skip), and
    /// a path or domain that fails [`CookieSettings::validate`] is left
    /// out (the narrower, host-only scope) rather than rendered: no
    /// setting can add attributes of its own to the header.
    pub fn set_cookie(&self, name: &str, value: &str, max_age: Option<Duration>) -> String {
        self.build(name, value, max_age)
            .map(|cookie| cookie.to_string())
            .unwrap_or_default()
    }

    fn build<'c>(
        &self,
        name: &'c str,
        value: &'c str,
        max_age: Option<Duration>,
    ) -> Option<cookie::Cookie<'c>> {
        if !is_cookie_name(name) || !value.bytes().all(is_cookie_octet) {
            tracing::error!("cookie not set: invalid name or value");
            return None;
        }
        let mut cookie = cookie::Cookie::new(name, value);
        if is_cookie_path(&self.path) {
            cookie.set_path(self.path.clone());
        } else {
            tracing::error!("invalid cookie path left out");
        }
        if let Some(domain) = &self.domain {
            if is_cookie_domain(domain) {
                cookie.set_domain(domain.clone());
            } else {
                tracing::error!("invalid cookie domain left out");
            }
        }
        if let Some(age) = max_age {
            let seconds = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
            cookie.set_max_age(cookie::time::Duration::seconds(seconds));
        }
        cookie.set_http_only(true);
        cookie.set_secure(self.sends_secure());
        cookie.set_same_site(match self.same_site {
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::None => cookie::SameSite::None,
        });
        Some(cookie)
    }

    /// A `Set-Cookie` value that deletes cookie `name` (empty value,
    /// `Max-Age=0`, `Expires` in 1970).
    pub fn removal(&self, name: &str) -> String {
        match self.build(name, "", Some(Duration::ZERO)) {
            Some(mut cookie) => {
                cookie.set_expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
                cookie.to_string()
            }
            None => String::new(),
        }
    }

    /// The `Set-Cookie` values that write `chunks` (from
    /// [`CookieCodec::seal_chunked`](super::CookieCodec::seal_chunked))
    /// and delete every other cookie of the
    /// family `name` the request carried (chunks left from a larger value,
    /// or the unchunked cookie when the value is now chunked).
    pub fn write_family(
        &self,
        name: &str,
        chunks: &[(String, String)],
        max_age: Option<Duration>,
        request: &RequestCookies<'_>,
    ) -> Vec<String> {
        let mut out: Vec<String> = chunks
            .iter()
            .map(|(n, v)| self.set_cookie(n, v, max_age))
            .collect();
        for stale in request.family(name) {
            if !chunks.iter().any(|(n, _)| n == stale) {
                out.push(self.removal(stale));
            }
        }
        out
    }

    /// The `Set-Cookie` values that delete every cookie of the family `name`
    /// the request carried.
    pub fn clear_family(&self, name: &str, request: &RequestCookies<'_>) -> Vec<String> {
        let mut names = request.family(name);
        if names.is_empty() {
            names.push(name);
        }
        names.into_iter().map(|n| self.removal(n)).collect()
    }
}

/// The names of `Set-Cookie` values, for `Debug` (their values are
/// sealed).
pub(crate) fn cookie_names(set_cookies: &[String]) -> Vec<&str> {
    set_cookies
        .iter()
        .map(|c| c.split_once('=').map_or("?", |(name, _)| name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_family() {
        let cookies = RequestCookies::parse(["s=1; s.0=a; s.1=b; s.x=c; s.=d; sx=e"]);
        assert_eq!(cookies.family("s"), ["s", "s.0", "s.1"]);
    }
}
