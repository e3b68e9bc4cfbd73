//! A snapshot's V8 object ids with a class signature each: membership ("was
//! this object in BASE?") and the same-process check, for millions of ids.
//!
//! V8 numbers heap objects with odd ids from a counter that only moves when
//! a snapshot (or allocation tracking) first sees an object, so a process's
//! odd ids are nearly dense: the largest is about twice the number of
//! objects ever seen. They are then kept in a table indexed by `id / 2`
//! (no sorting, one memory access per look-up, and no more memory than a
//! sorted list of ids and signatures). Sparse odd ids (say, after a long
//! allocation-tracking session) fall back to a sorted list, as do the few
//! even ids (embedder nodes, derived from addresses).

/// Signature stored for a present id; real signatures are never 0.
const ABSENT: u32 = 0;

#[derive(Debug, Clone, Default)]
pub struct IdIndex {
    odd: Odd,
    /// Even ids, sorted, with their signatures (emptied by [`Self::drop_signatures`]).
    even: Vec<u32>,
    even_sigs: Vec<u32>,
    /// Largest odd id, 0 if none.
    max_odd: u32,
}

#[derive(Debug, Clone, Default)]
enum Odd {
    #[default]
    Empty,
    /// Signature of odd id `2 * slot + 1`, or [`ABSENT`].
    Table(Vec<u32>),
    /// Presence of odd id `2 * slot + 1` (a table whose signatures were dropped).
    Bits(Vec<u64>),
    /// Sorted ids and their signatures (emptied when dropped).
    Sorted(Vec<u32>, Vec<u32>),
}

/// A signature as stored: never [`ABSENT`].
pub fn stored_sig(sig: u32) -> u32 {
    sig.max(1)
}

impl IdIndex {
    /// Indexes `(id, signature)` pairs; `pairs` is called twice (once to
    /// size the index, once to fill it) and must yield the same pairs.
    pub fn build<I: Iterator<Item = (u32, u32)>>(pairs: impl Fn() -> I) -> Self {
        let (mut odd_count, mut even_count, mut max_odd) = (0usize, 0usize, 0u32);
        for (id, _) in pairs() {
            if id % 2 == 1 {
                odd_count += 1;
                max_odd = max_odd.max(id);
            } else {
                even_count += 1;
            }
        }
        let mut even: Vec<u64> = Vec::with_capacity(even_count);
        let slots = max_odd as usize / 2 + 1;
        let dense = odd_count > 0 && slots <= 2 * odd_count + 4096;
        let mut table = vec![ABSENT; if dense { slots } else { 0 }];
        let mut sorted: Vec<u64> = Vec::with_capacity(if dense { 0 } else { odd_count });
        for (id, sig) in pairs() {
            let sig = stored_sig(sig);
            if id.is_multiple_of(2) {
                even.push((id as u64) << 32 | sig as u64);
            } else if dense {
                table[id as usize / 2] = sig;
            } else {
                sorted.push((id as u64) << 32 | sig as u64);
            }
        }
        let unzip = |mut v: Vec<u64>| -> (Vec<u32>, Vec<u32>) {
            v.sort_unstable();
            v.into_iter().map(|k| ((k >> 32) as u32, k as u32)).unzip()
        };
        let (even, even_sigs) = unzip(even);
        let odd = if odd_count == 0 {
            Odd::Empty
        } else if dense {
            Odd::Table(table)
        } else {
            let (ids, sigs) = unzip(sorted);
            Odd::Sorted(ids, sigs)
        };
        IdIndex {
            odd,
            even,
            even_sigs,
            max_odd,
        }
    }

    pub fn contains(&self, id: u32) -> bool {
        if id.is_multiple_of(2) {
            return self.even.binary_search(&id).is_ok();
        }
        let slot = id as usize / 2;
        match &self.odd {
            Odd::Empty => false,
            Odd::Table(t) => t.get(slot).is_some_and(|&s| s != ABSENT),
            Odd::Bits(b) => b.get(slot / 64).is_some_and(|w| w >> (slot % 64) & 1 == 1),
            Odd::Sorted(ids, _) => ids.binary_search(&id).is_ok(),
        }
    }

    /// The id's signature, if present and not dropped.
    pub fn sig_of(&self, id: u32) -> Option<u32> {
        if id.is_multiple_of(2) {
            let i = self.even.binary_search(&id).ok()?;
            return self.even_sigs.get(i).copied();
        }
        match &self.odd {
            Odd::Table(t) => t.get(id as usize / 2).copied().filter(|&s| s != ABSENT),
            Odd::Sorted(ids, sigs) => sigs.get(ids.binary_search(&id).ok()?).copied(),
            Odd::Empty | Odd::Bits(_) => None,
        }
    }

    /// Largest odd id, 0 if none.
    pub fn max_odd(&self) -> u32 {
        self.max_odd
    }

    /// The odd ids with their signatures, in increasing order (none once dropped).
    pub fn odd_pairs(&self) -> Box<dyn Iterator<Item = (u32, u32)> + '_> {
        match &self.odd {
            Odd::Table(t) => Box::new(
                t.iter()
                    .enumerate()
                    .filter(|(_, &s)| s != ABSENT)
                    .map(|(slot, &s)| (2 * slot as u32 + 1, s)),
            ),
            Odd::Sorted(ids, sigs) => Box::new(ids.iter().copied().zip(sigs.iter().copied())),
            Odd::Empty | Odd::Bits(_) => Box::new(std::iter::empty()),
        }
    }

    /// Keeps only membership: a table shrinks to one bit per slot.
    pub fn drop_signatures(&mut self) {
        self.even_sigs = Vec::new();
        match &mut self.odd {
            Odd::Table(t) => {
                let mut bits = vec![0u64; t.len().div_ceil(64)];
                for (slot, &s) in t.iter().enumerate() {
                    if s != ABSENT {
                        bits[slot / 64] |= 1 << (slot % 64);
                    }
                }
                self.odd = Odd::Bits(bits);
            }
            Odd::Sorted(_, sigs) => *sigs = Vec::new(),
            Odd::Empty | Odd::Bits(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pairs: &[(u32, u32)]) {
        let mut idx = IdIndex::build(|| pairs.iter().copied());
        let max = pairs
            .iter()
            .map(|p| p.0)
            .filter(|id| id % 2 == 1)
            .max()
            .unwrap_or(0);
        assert_eq!(idx.max_odd(), max);
        let mut odd: Vec<(u32, u32)> = pairs
            .iter()
            .filter(|p| p.0 % 2 == 1)
            .map(|&(i, s)| (i, stored_sig(s)))
            .collect();
        odd.sort_unstable();
        assert_eq!(idx.odd_pairs().collect::<Vec<_>>(), odd);
        let probes: Vec<u32> = (0..max.saturating_add(70).min(5000))
            .chain([u32::MAX, u32::MAX - 1, 1 << 30, (1 << 30) + 1])
            .collect();
        for &id in &probes {
            let want = pairs.iter().find(|p| p.0 == id);
            assert_eq!(idx.contains(id), want.is_some(), "id {id}");
            assert_eq!(idx.sig_of(id), want.map(|p| stored_sig(p.1)), "id {id}");
        }
        idx.drop_signatures();
        for &id in &probes {
            let want = pairs.iter().find(|p| p.0 == id);
            assert_eq!(idx.contains(id), want.is_some(), "id {id} after the drop");
            assert_eq!(idx.sig_of(id), None);
        }
    }

    #[test]
    fn dense_ids_use_a_table() {
        let pairs: Vec<(u32, u32)> = (0..3000u32)
            .filter(|i| i % 3 != 0)
            .map(|i| (2 * i + 1, i * 7))
            .chain([(4, 9), (1 << 31, 0)])
            .collect();
        let idx = IdIndex::build(|| pairs.iter().copied());
        assert!(matches!(idx.odd, Odd::Table(_)));
        check(&pairs);
    }

    #[test]
    fn sparse_ids_use_a_sorted_list() {
        let pairs: Vec<(u32, u32)> = (0..50u32)
            .map(|i| ((i * 100_001) | 1, i))
            .chain([(2, 3), (1 << 30, 1), (u32::MAX, 5)])
            .collect();
        let idx = IdIndex::build(|| pairs.iter().copied());
        assert!(matches!(idx.odd, Odd::Sorted(..)));
        check(&pairs);
    }

    #[test]
    fn no_odd_ids() {
        check(&[]);
        check(&[(2, 1), (8, 0)]);
    }
}
