//! The writer's big tables, as flat open-addressing arrays with linear
//! probing whose entries hold their keys: a lookup costs one cache miss
//! (hashbrown's control bytes and buckets cost two), and the stack tree and
//! the class table of a deep-stacked program hold millions of entries.
//! They grow with `try_reserve` (the program may be out of memory) and
//! never shrink, as the maps they replace.
//!
//! Self-contained (no `crate::` paths): `tests/tables.rs` includes this
//! file to run its unit tests, as the library's own harness would link the
//! malloc hooks into itself.

/// A table could not grow: the allocator is out of memory.
#[derive(Debug)]
pub struct NoRoom;

/// The multiplier of Fibonacci hashing; the high bits of the product are
/// taken (a table's size is a power of two).
const K: u64 = 0x9E37_79B9_7F4A_7C15;
/// Smallest size once something is inserted (entries).
const MIN_SIZE: usize = 1 << 12;

/// An entry of `Index`. `value == VACANT`: a free entry.
#[derive(Clone, Copy)]
struct IndexEntry {
    b: u64,
    a: u32,
    value: u32,
}

const VACANT: u32 = u32::MAX;

/// An insert-only map from `(u32, u64)` to `u32` (never `u32::MAX`): the
/// stack tree's (caller's node, frame) to node, and (stack, size) to
/// class. Entries are 16 bytes.
#[derive(Default)]
pub struct Index {
    entries: Vec<IndexEntry>,
    len: usize,
}

impl Index {
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    fn home(&self, a: u32, b: u64) -> usize {
        let h = (b ^ u64::from(a).rotate_left(29)).wrapping_mul(K);
        (h >> (64 - self.entries.len().trailing_zeros())) as usize
    }

    /// The value of `(a, b)`: `Ok` if it was there, else `Err(value)`
    /// once inserted with `value`.
    #[inline]
    pub fn get_or_insert(
        &mut self,
        a: u32,
        b: u64,
        value: u32,
    ) -> Result<Result<u32, u32>, NoRoom> {
        // At most 5/8 full: probes stay short.
        if (self.len + 1) * 8 > self.entries.len() * 5 {
            self.grow()?;
        }
        let mask = self.entries.len() - 1;
        let mut i = self.home(a, b);
        loop {
            let e = &mut self.entries[i];
            if e.value == VACANT {
                *e = IndexEntry { b, a, value };
                self.len += 1;
                return Ok(Err(value));
            }
            if e.b == b && e.a == a {
                return Ok(Ok(e.value));
            }
            i = (i + 1) & mask;
        }
    }

    /// Starts loading the cache line where `(a, b)` would be (a hint).
    #[inline]
    pub fn prefetch(&self, a: u32, b: u64) {
        if self.entries.is_empty() {
            return;
        }
        let e = &self.entries[self.home(a, b)];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: prefetching has no architectural effect and never faults.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                (e as *const IndexEntry).cast(),
            )
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = e;
    }

    /// Inserts `(a, b)`, which the caller knows is not there.
    #[inline]
    pub fn insert_new(&mut self, a: u32, b: u64, value: u32) -> Result<(), NoRoom> {
        if (self.len + 1) * 8 > self.entries.len() * 5 {
            self.grow()?;
        }
        let mask = self.entries.len() - 1;
        let mut i = self.home(a, b);
        while self.entries[i].value != VACANT {
            i = (i + 1) & mask;
        }
        self.entries[i] = IndexEntry { b, a, value };
        self.len += 1;
        Ok(())
    }

    fn grow(&mut self) -> Result<(), NoRoom> {
        let size = (self.entries.len() * 2).max(MIN_SIZE);
        let mut entries = Vec::new();
        entries.try_reserve_exact(size).map_err(|_| NoRoom)?;
        entries.resize(
            size,
            IndexEntry {
                b: 0,
                a: 0,
                value: VACANT,
            },
        );
        let old = core::mem::replace(&mut self.entries, entries);
        let mask = size - 1;
        for e in old.into_iter().filter(|e| e.value != VACANT) {
            let mut i = self.home(e.a, e.b);
            while self.entries[i].value != VACANT {
                i = (i + 1) & mask;
            }
            self.entries[i] = e;
        }
        Ok(())
    }
}

/// A map from a live block's address (never 0: the hooks record no null
/// block) to its packed class and slot. Removal shifts the entries after
/// it back (no tombstones: the table sees an insert and a remove per
/// block, millions of them, and hashbrown's tombstones forced rehashes).
#[derive(Default)]
pub struct Live {
    /// (address, value); address 0: a free entry.
    entries: Vec<(u64, u64)>,
    len: usize,
}

impl Live {
    pub fn len(&self) -> usize {
        self.len
    }

    /// A 1 KiB block of addresses maps to 64 consecutive entries (16
    /// bytes of address each), blocks are spread by hash: the blocks a
    /// program allocates or frees together share cache lines here too
    /// (CPython job: 4 % less CPU than a hash of the whole address), and
    /// glibc's 32-byte minimum spacing fills at most half of a run.
    /// Allocators with 8- or 16-byte classes can fill a run and spill into
    /// the next: longer probes over sequential memory, still correct.
    #[inline]
    fn home(&self, key: u64) -> usize {
        let bits = self.entries.len().trailing_zeros();
        let block = ((key >> 10).wrapping_mul(K) >> (64 - bits + 6)) as usize;
        ((block << 6) | ((key >> 4) & 63) as usize) & (self.entries.len() - 1)
    }

    /// Starts loading the cache line where `key` would be (a hint: no
    /// effect on the table).
    #[inline]
    pub fn prefetch(&self, key: u64) {
        if self.entries.is_empty() {
            return;
        }
        if let Some(e) = self.entries.get(self.home(key)) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: prefetching has no architectural effect and never
            // faults; the pointer is into `entries` anyway.
            unsafe {
                core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(
                    (e as *const (u64, u64)).cast(),
                )
            };
            #[cfg(not(target_arch = "x86_64"))]
            let _ = e;
        }
    }

    /// Room for `n` entries without growing.
    pub fn reserve(&mut self, n: usize) -> Result<(), NoRoom> {
        while n * 2 > self.entries.len() {
            self.grow()?;
        }
        Ok(())
    }

    /// Inserts `key`; returns the value it replaces. Key 0 (which the
    /// hooks never record) is not kept.
    #[inline]
    pub fn insert(&mut self, key: u64, value: u64) -> Result<Option<u64>, NoRoom> {
        if key == 0 {
            return Ok(None);
        }
        // At most half full.
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow()?;
        }
        let mask = self.entries.len() - 1;
        let mut i = self.home(key);
        loop {
            let e = &mut self.entries[i];
            if e.0 == 0 {
                *e = (key, value);
                self.len += 1;
                return Ok(None);
            }
            if e.0 == key {
                return Ok(Some(core::mem::replace(&mut e.1, value)));
            }
            i = (i + 1) & mask;
        }
    }

    /// Removes `key`; returns its value.
    #[inline]
    pub fn remove(&mut self, key: u64) -> Option<u64> {
        if self.len == 0 || key == 0 {
            return None;
        }
        let mask = self.entries.len() - 1;
        let mut i = self.home(key);
        loop {
            let e = self.entries[i];
            if e.0 == 0 {
                return None;
            }
            if e.0 == key {
                break;
            }
            i = (i + 1) & mask;
        }
        let value = self.entries[i].1;
        // Backward shift: an entry after the hole moves into it unless its
        // home lies after the hole (cyclically), where a lookup for it
        // would not pass the hole.
        let (mut hole, mut j) = (i, i);
        loop {
            j = (j + 1) & mask;
            let e = self.entries[j];
            if e.0 == 0 {
                break;
            }
            let home = self.home(e.0);
            if (j.wrapping_sub(home) & mask) >= (j.wrapping_sub(hole) & mask) {
                self.entries[hole] = e;
                hole = j;
            }
        }
        self.entries[hole] = (0, 0);
        self.len -= 1;
        Some(value)
    }

    fn grow(&mut self) -> Result<(), NoRoom> {
        let size = (self.entries.len() * 2).max(MIN_SIZE);
        let mut entries = Vec::new();
        entries.try_reserve_exact(size).map_err(|_| NoRoom)?;
        entries.resize(size, (0, 0));
        let old = core::mem::replace(&mut self.entries, entries);
        let mask = size - 1;
        for e in old.into_iter().filter(|e| e.0 != 0) {
            let mut i = self.home(e.0);
            while self.entries[i].0 != 0 {
                i = (i + 1) & mask;
            }
            self.entries[i] = e;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn ok<T>(r: Result<T, NoRoom>) -> T {
        r.expect("room")
    }

    #[test]
    fn index_finds_what_it_inserted_across_growth() {
        let mut t = Index::default();
        for n in 0..50_000u32 {
            let (a, b) = (n % 97, u64::from(n) * 0x1000 + 0x40_0000);
            assert!(matches!(ok(t.get_or_insert(a, b, n)), Err(v) if v == n));
        }
        assert_eq!(t.len(), 50_000);
        for n in 0..50_000u32 {
            let (a, b) = (n % 97, u64::from(n) * 0x1000 + 0x40_0000);
            assert!(matches!(ok(t.get_or_insert(a, b, 7)), Ok(v) if v == n));
        }
        // The same b under another a is another key.
        assert!(matches!(ok(t.get_or_insert(1000, 0x40_0000, 9)), Err(9)));
        // Keys inserted as known-new are found like the others.
        for n in 0..20_000u32 {
            ok(t.insert_new(5000 + n, u64::from(n), n + 1));
        }
        for n in 0..20_000u32 {
            assert!(matches!(ok(t.get_or_insert(5000 + n, u64::from(n), 0)), Ok(v) if v == n + 1));
        }
        assert_eq!(t.len(), 70_001);
    }

    #[test]
    fn live_matches_a_hash_map_through_inserts_and_removes() {
        // 8 and 16: allocators whose blocks fill (or overfill) a run.
        for spacing in [8, 16, 48] {
            live_matches_a_hash_map(spacing);
        }
    }

    fn live_matches_a_hash_map(spacing: u64) {
        let mut t = Live::default();
        let mut m = HashMap::new();
        // Addresses reused and freed in a mixed order, with clusters
        // (nearby addresses) that make probe chains wrap and shift.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for step in 0..400_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = 0x10 + (x % 5_000) * spacing;
            if x.is_multiple_of(3) {
                assert_eq!(t.remove(key), m.remove(&key), "step {step}");
            } else {
                assert_eq!(ok(t.insert(key, step)), m.insert(key, step), "step {step}");
            }
            assert_eq!(t.len(), m.len());
        }
        for (&k, &v) in &m {
            assert_eq!(t.remove(k), Some(v));
        }
        assert_eq!(t.len(), 0);
        assert_eq!(t.remove(0x10), None);
        assert_eq!(t.remove(0), None);
    }

    #[test]
    fn live_reserve_keeps_room() {
        let mut t = Live::default();
        ok(t.reserve(10_000));
        let size = t.entries.len();
        for k in 1..=10_000u64 {
            ok(t.insert(k * 16, k));
        }
        assert_eq!(t.entries.len(), size);
    }
}
