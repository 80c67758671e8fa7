//! [`RetryPolicy`]: how many times, and how long apart, a management call
//! is tried again after a `429`, a `503` or a connection failure.

use std::hash::BuildHasher;
use std::time::Duration;

/// When and how often a failed call is tried again.
///
/// `GET`, `PUT` and `DELETE` are tried again after `429 Too Many Requests`,
/// `503 Service Unavailable` or any connection failure. `POST` and `PATCH`
/// are tried again only when the platform cannot have acted on them: after
/// a `429` (refused before any work) or a failure to connect (the request
/// never left); never after a `503`, a timeout or a connection that broke
/// after the request was sent. Other `4xx`
/// answers are never retried. A `401` is answered separately: the cached
/// token is dropped and the call is repeated once with a new one.
///
/// The wait before retry *n* (1-based) is drawn between half and all of
/// `min(cap, base × 2ⁿ⁻¹)`; a `Retry-After: <seconds>` answer replaces it,
/// capped at `cap`.
///
/// ```
/// use std::time::Duration;
/// use scalekit_management::RetryPolicy;
///
/// let policy = RetryPolicy::default()
///     .max_attempts(3)
///     .base_delay(Duration::from_millis(50))
///     .max_delay(Duration::from_secs(2));
/// assert_eq!(policy.attempts(), 3);
/// assert!(policy.backoff(1) <= Duration::from_millis(50));
/// assert!(policy.backoff(10) <= Duration::from_secs(2));
/// assert_eq!(RetryPolicy::none().attempts(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base: Duration,
    cap: Duration,
}

impl Default for RetryPolicy {
    /// 5 attempts, 100 ms base delay, 5 s cap.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// One attempt: nothing is retried (the one re-authentication after a
    /// `401` still happens).
    pub fn none() -> Self {
        RetryPolicy::default().max_attempts(1)
    }

    /// Attempts in all, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; it doubles for each one after.
    pub fn base_delay(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// The longest wait between two attempts, `Retry-After` included.
    pub fn max_delay(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// Attempts in all.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The longest wait between two attempts.
    pub fn cap(&self) -> Duration {
        self.cap
    }

    /// The exponential delay before retry `retry` (1-based), without
    /// jitter: `min(cap, base × 2^(retry-1))`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.cap)
            .min(self.cap)
    }

    /// The wait before retry `retry`: `Retry-After` (capped) when the
    /// platform sent one, otherwise [`backoff`](Self::backoff) with jitter
    /// (between half and all of it).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        match retry_after {
            Some(after) => after.min(self.cap),
            None => jittered(self.backoff(retry), random_unit()),
        }
    }
}

/// `delay × (1 + unit) / 2`: between half and all of `delay`.
fn jittered(delay: Duration, unit: f64) -> Duration {
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        1.0
    };
    delay.mul_f64(0.5 + unit / 2.0)
}

/// A number in `[0, 1)` from the standard library's randomly keyed hasher
/// (fresh keys for each call) and the clock: enough to spread retries, not
/// meant for secrets.
fn random_unit() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let bits = std::collections::hash_map::RandomState::new().hash_one(nanos);
    // 53 random bits make an exactly representable fraction.
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// The delay a `Retry-After` header asks for: seconds, or an HTTP date
/// (RFC 9110 §10.2.3, in any of its three formats) from now, a date past
/// giving no delay. A negative or otherwise malformed value gives `None`
/// (the client then backs off on its own).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    parse_retry_after_at(value, std::time::SystemTime::now())
}

/// [`parse_retry_after`] as of `now`.
fn parse_retry_after_at(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Very long digit strings are clamped rather than refused.
        let seconds = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    let now = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .ok()?;
    Some(Duration::from_secs(at.saturating_sub(now)))
}

/// An HTTP date as Unix seconds: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37
/// GMT`), RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) or asctime (`Sun Nov
/// 6 08:49:37 1994`).
fn http_date(value: &str) -> Option<u64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month_of = |m: &str| MONTHS.iter().position(|x| *x == m).map(|i| i as u64 + 1);
    let words: Vec<&str> = value.split_whitespace().collect();
    let (day, month, year, time) = match words.as_slice() {
        // IMF-fixdate.
        [weekday, day, month, year, time, "GMT"] if weekday.ends_with(',') => (
            day.parse::<u64>().ok()?,
            month_of(month)?,
            year.parse::<u64>().ok()?,
            *time,
        ),
        // RFC 850: a two-digit year, in the century that puts it nearest.
        [weekday, date, time, "GMT"] if weekday.ends_with(',') => {
            let mut parts = date.split('-');
            let day = parts.next()?.parse::<u64>().ok()?;
            let month = month_of(parts.next()?)?;
            let short = parts.next()?;
            if short.len() != 2 || parts.next().is_some() {
                return None;
            }
            let short = short.parse::<u64>().ok()?;
            (
                day,
                month,
                if short < 70 {
                    2000 + short
                } else {
                    1900 + short
                },
                *time,
            )
        }
        // asctime.
        [_, month, day, time, year] => (
            day.parse::<u64>().ok()?,
            month_of(month)?,
            year.parse::<u64>().ok()?,
            *time,
        ),
        _ => return None,
    };
    let mut hms = time
        .split(':')
        .map(|p| (p.len() == 2).then(|| p.parse::<u64>().ok()).flatten());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if hms.next().is_some() || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 || year < 1970
    {
        return None;
    }
    Some(days_from_civil(year, month, day)? * 86_400 + h * 3600 + m * 60 + s)
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (H. Hinnant's `days_from_civil`), for years from 1970.
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let y = if month <= 2 {
        year.checked_sub(1)?
    } else {
        year
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_is_read_and_everything_else_ignored() {
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
        for bad in [
            "",
            " ",
            "-1",
            "1.5",
            "+3",
            "soon",
            "Wed, 21 Oct 2015 07:28 GMT",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "Wed, 21 Foo 2015 07:28:00 GMT",
            "Wed, 21 Oct 2015 07:28:00 PST",
        ] {
            assert_eq!(parse_retry_after(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_time_until_then() {
        // 2015-10-21T07:28:00Z.
        let at = 1_445_412_480;
        assert_eq!(http_date("Wed, 21 Oct 2015 07:28:00 GMT"), Some(at));
        assert_eq!(http_date("Wednesday, 21-Oct-15 07:28:00 GMT"), Some(at));
        assert_eq!(http_date("Wed Oct 21 07:28:00 2015"), Some(at));
        assert_eq!(http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            Some(951_825_600)
        );
        let now = std::time::UNIX_EPOCH + Duration::from_secs(at - 90);
        assert_eq!(
            parse_retry_after_at("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(90))
        );
        // A date past: no wait.
        let later = std::time::UNIX_EPOCH + Duration::from_secs(at + 5);
        assert_eq!(
            parse_retry_after_at("Wed, 21 Oct 2015 07:28:00 GMT", later),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(1));
        assert_eq!(policy.backoff(1), Duration::from_millis(100));
        assert_eq!(policy.backoff(2), Duration::from_millis(200));
        assert_eq!(policy.backoff(3), Duration::from_millis(400));
        assert_eq!(policy.backoff(4), Duration::from_millis(800));
        assert_eq!(policy.backoff(5), Duration::from_secs(1));
        assert_eq!(policy.backoff(40), Duration::from_secs(1));
        assert_eq!(policy.backoff(u32::MAX), Duration::from_secs(1));
        // A huge base never overflows.
        let huge = RetryPolicy::default()
            .base_delay(Duration::from_secs(u64::MAX / 2))
            .max_delay(Duration::from_secs(3));
        assert_eq!(huge.backoff(30), Duration::from_secs(3));
    }

    #[test]
    fn jittered_delays_stay_between_half_and_all_of_the_backoff() {
        let policy = RetryPolicy::default()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_secs(2));
        let mut seen = std::collections::HashSet::new();
        for retry in 1..=8 {
            let full = policy.backoff(retry);
            for _ in 0..200 {
                let d = policy.delay(retry, None);
                assert!(d >= full / 2 && d <= full, "{d:?} for {full:?}");
                seen.insert(d);
            }
        }
        assert!(seen.len() > 100, "the jitter varies: {}", seen.len());
        assert_eq!(
            jittered(Duration::from_secs(2), 0.0),
            Duration::from_secs(1)
        );
        assert_eq!(
            jittered(Duration::from_secs(2), 1.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            jittered(Duration::from_secs(2), f64::NAN),
            Duration::from_secs(2)
        );
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u));
        }
    }

    #[test]
    fn retry_after_replaces_the_backoff_up_to_the_cap() {
        let policy = RetryPolicy::default().max_delay(Duration::from_secs(5));
        assert_eq!(policy.delay(1, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(
            policy.delay(3, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn at_least_one_attempt() {
        assert_eq!(RetryPolicy::default().max_attempts(0).attempts(), 1);
        assert_eq!(RetryPolicy::none().attempts(), 1);
        assert_eq!(RetryPolicy::default().attempts(), 5);
    }
}
