//! Small helpers that every layer may use: the clock, deadlines, redacted
//! `Debug` output and header-safe text. They import nothing of the crate.

/// Time since the Unix epoch (zero if the clock is before it).
pub(crate) fn unix_time() -> std::time::Duration {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
}

/// `start + d`, saturating at about thirty years after `start`: durations
/// from configuration never overflow an `Instant`.
pub(crate) fn saturating_instant(
    start: std::time::Instant,
    d: std::time::Duration,
) -> std::time::Instant {
    const FAR: std::time::Duration = std::time::Duration::from_secs(30 * 365 * 24 * 3600);
    start
        .checked_add(d.min(FAR))
        .or_else(|| start.checked_add(std::time::Duration::from_secs(24 * 3600)))
        .unwrap_or(start)
}

/// `Some("***")` for a set secret, for `Debug` output.
pub(crate) fn redact<T>(value: &Option<T>) -> Option<&'static str> {
    value.as_ref().map(|_| "***")
}

/// Appends `c` to `out`, percent-encoded (its UTF-8 bytes) unless it is
/// ASCII: header values are ASCII.
pub(crate) fn push_ascii(out: &mut String, c: char) {
    if c.is_ascii() {
        out.push(c);
        return;
    }
    let mut buf = [0u8; 4];
    for b in c.encode_utf8(&mut buf).bytes() {
        out.push('%');
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 0x0f)]));
    }
}

/// A count of work done (signature checks, MACs), shared by clones, kept
/// for tests (feature `test-util`); without the feature it counts nothing
/// and costs nothing.
#[derive(Debug, Clone, Default)]
pub(crate) struct TestCounter(
    #[cfg(feature = "test-util")] std::sync::Arc<std::sync::atomic::AtomicU64>,
);

impl TestCounter {
    /// Counts one.
    #[inline]
    pub(crate) fn add(&self) {
        #[cfg(feature = "test-util")]
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// The count so far.
    #[cfg(feature = "test-util")]
    pub(crate) fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}
