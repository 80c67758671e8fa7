//! Per-thread fronts of shared caches: the entries a thread found last,
//! direct-mapped by hash, read without the shared cache's bookkeeping (an
//! atomic frequency record, a lookup under a lock-free map's guards).
//!
//! A front only ever holds entries its shared cache handed out or took in;
//! a hit is checked by the caller exactly as a shared-cache hit is (the
//! whole key compared, every validity check run), and is refused past the
//! deadline the entry was given, so a front never answers differently from
//! its shared cache. One hit in [`FRONT_TOUCH_EVERY`] is reported to the
//! caller, which then reads the shared cache too, so that a hot entry keeps
//! its frequency in the shared cache's admission policy.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Entries of each thread's front of one kind of cache.
pub(crate) const FRONT_SLOTS: usize = 64;
/// One front hit in this many also reads the shared cache.
pub(crate) const FRONT_TOUCH_EVERY: u32 = 16;

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

/// A new shared cache's identity in the fronts (clones of a cache, which
/// share its entries, share it).
pub(crate) fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

/// One thread's front of the caches of one entry type.
pub(crate) struct Front<V> {
    slots: Vec<Option<Slot<V>>>,
    hits: u32,
}

/// A value one thread made from a front entry, kept in the entry's slot
/// and dropped with it: the thread's later hits hand it out again, so that
/// they share no reference count with the other threads' hits.
pub(crate) type Local = Arc<dyn Any + Send + Sync>;

/// An entry of cache `owner` under `hash`, served until `until` (Unix
/// seconds).
struct Slot<V> {
    owner: u64,
    hash: u64,
    until: i64,
    entry: Arc<V>,
    local: Option<Local>,
}

impl<V> Default for Front<V> {
    fn default() -> Self {
        Front {
            slots: (0..FRONT_SLOTS).map(|_| None).collect(),
            hits: 0,
        }
    }
}

impl<V> Front<V> {
    fn slot(hash: u64) -> usize {
        usize::try_from(hash % FRONT_SLOTS as u64).unwrap_or(0)
    }

    /// Runs `f` on the entry of cache `owner` under `hash` if `matches`
    /// accepts it and `now` (Unix seconds) is before its deadline, with the
    /// value this thread keeps with it ([`Local`]; `f` may set it): `f`'s
    /// result, and whether this hit should also read the shared cache.
    fn visit<R>(
        &mut self,
        owner: u64,
        hash: u64,
        now: i64,
        matches: impl FnOnce(&V) -> bool,
        f: impl FnOnce(&Arc<V>, &mut Option<Local>) -> R,
    ) -> Option<(R, bool)> {
        let found = match self.slots.get_mut(Self::slot(hash)) {
            Some(Some(slot))
                if slot.owner == owner
                    && slot.hash == hash
                    && now < slot.until
                    && matches(&slot.entry) =>
            {
                f(&slot.entry, &mut slot.local)
            }
            _ => return None,
        };
        self.hits = self.hits.wrapping_add(1);
        Some((found, self.hits.is_multiple_of(FRONT_TOUCH_EVERY)))
    }

    /// Keeps `entry` of cache `owner` under `hash` until `until` (Unix
    /// seconds), in place of whatever had its slot.
    pub(crate) fn put(&mut self, owner: u64, hash: u64, until: i64, entry: Arc<V>) {
        if let Some(slot) = self.slots.get_mut(Self::slot(hash)) {
            *slot = Some(Slot {
                owner,
                hash,
                until,
                entry,
                local: None,
            });
        }
    }

    /// Forgets the entry of cache `owner` under `hash`, if this front has it.
    pub(crate) fn remove(&mut self, owner: u64, hash: u64) {
        if let Some(slot) = self.slots.get_mut(Self::slot(hash))
            && matches!(slot, Some(s) if s.owner == owner && s.hash == hash)
        {
            *slot = None;
        }
    }
}

/// Runs `f` on this thread's front in `key` (nothing when the thread is
/// being torn down or the front is in use further up the stack).
pub(crate) fn with<V: 'static, R>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Front<V>>>,
    f: impl FnOnce(&mut Front<V>) -> R,
) -> Option<R> {
    key.try_with(|front| Some(f(&mut *front.try_borrow_mut().ok()?)))
        .ok()
        .flatten()
}

/// The shared cache whose entries a front holds.
type Shared<V> = moka::sync::Cache<u64, Arc<V>, foldhash::fast::RandomState>;

/// Runs `f` on the entry under `hash` that `matches` in this thread's
/// front in `key`, with the value the thread keeps with it ([`Local`]);
/// `None` when the front does not hold it. One hit in
/// [`FRONT_TOUCH_EVERY`] also reads the `shared` cache, so that the entry
/// keeps its frequency there.
pub(crate) fn visit<V: Send + Sync + 'static, R>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Front<V>>>,
    shared: &Shared<V>,
    (owner, hash, now): (u64, u64, i64),
    matches: impl FnOnce(&V) -> bool,
    f: impl FnOnce(&Arc<V>, &mut Option<Local>) -> R,
) -> Option<R> {
    let (found, touch) = with(key, |front| front.visit(owner, hash, now, matches, f)).flatten()?;
    if touch {
        let _ = shared.get(&hash);
    }
    Some(found)
}

/// The entry under `hash` that `matches`: from this thread's front in
/// `key`, else from the `shared` cache (then kept in the front until the
/// deadline `until` gives it). Neither serves an entry at or past that
/// deadline, whatever the shared cache's own expiry. `true` with an entry
/// the front answered.
pub(crate) fn lookup<V: Send + Sync + 'static>(
    key: &'static std::thread::LocalKey<std::cell::RefCell<Front<V>>>,
    shared: &Shared<V>,
    (owner, hash, now): (u64, u64, i64),
    matches: impl Fn(&V) -> bool,
    until: impl FnOnce(&V) -> i64,
) -> Option<(Arc<V>, bool)> {
    if let Some(entry) = visit(key, shared, (owner, hash, now), &matches, |e, _| e.clone()) {
        return Some((entry, true));
    }
    let entry = shared.get(&hash)?;
    if !matches(&entry) {
        return None;
    }
    let deadline = until(&entry);
    if now >= deadline {
        return None;
    }
    with(key, |f| f.put(owner, hash, deadline, entry.clone()));
    Some((entry, false))
}
