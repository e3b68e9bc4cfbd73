//! Memoized unwinds from a hook's entry.
//!
//! Programs allocate from a few hot call paths over and over, and unwinding
//! the same dozen frames each time was half of the tracer's cost. An unwind
//! started at the hook's caller is a pure function of the caller's return
//! address, sp and bp, the stack bounds, the registered modules, and the
//! stack words it reads. So a thread keeps, per recent call path, the stack
//! words its result depended on; when they all still hold the same values
//! the stack id is reused after a few loads and compares per frame.
//!
//! Not every word read matters: frames pop callee-saved registers that hold
//! the program's data (a loop counter in rbx or rbp), and those change on
//! every call. While recording, each frame step is therefore replayed with
//! each word it read (and its incoming bp) perturbed: a word that changes
//! the step's return address, stack pointer, outcome or later reads is
//! needed; one that only changes the restored bp matters only if a later
//! step's result depends on bp (a frame-pointer frame); the rest (popped
//! rbx, r12...) are ignored. framehop tracks only ip, sp and bp, so these
//! are all the ways a word can influence the unwind.

use framehop::x86_64::UnwindRegsX86_64;
use framehop::{FrameAddress, Unwinder};

use crate::unwind::{Cache, Fast, MAX_FRAMES};

/// Memoized call paths per thread: sets of WAYS entries. Several paths
/// often share a key (callers of one function at the same depth), so a set
/// holds a few of them.
const SETS: usize = 16;
const WAYS: usize = 4;
/// Most needed words one memoized unwind may have.
const WORDS: usize = 128;
/// Most words an unwind may read while being recorded.
const RECORDED: usize = 384;
/// Most reads one frame step may make and still be analysed.
const STEP_READS: usize = 16;
/// Flips high bits: any address computed from a perturbed word leaves the
/// stack, so a dependence always shows.
const POISON: u64 = 0x5A5A_5A00_0000_0000;

/// Everything an unwind from a hook entry depends on besides stack words.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Return address into the caller, read at the entry sp.
    ra: u64,
    /// The entry sp (pointing at `ra`) and the caller's bp.
    sp: u64,
    bp: u64,
    /// The thread's stack top (reads are bounded by it).
    top: u64,
    /// The unwinder in use (replaced when modules change).
    unwinder: usize,
}

impl Key {
    /// The key of an unwind from a hook entry `(sp, bp)` on the thread's
    /// `stack`, or None when there is no fast unwinder or sp is not on it.
    #[inline(always)]
    pub fn new(fast: &Fast, stack: (u64, u64), (sp, bp): (u64, u64)) -> Option<Key> {
        if sp < stack.0 || sp.checked_add(8).is_none_or(|e| e > stack.1) {
            return None;
        }
        // SAFETY: sp lies inside this thread's own mapped stack.
        let ra = unsafe { (sp as *const u64).read() };
        if ra <= 1 {
            return None;
        }
        Some(Key {
            ra,
            sp,
            bp,
            top: stack.1,
            unwinder: fast as *const Fast as usize,
        })
    }

    #[inline(always)]
    fn set(&self) -> usize {
        let h = (self.ra ^ self.sp.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 58) as usize & (SETS - 1)
    }
}

#[derive(Clone, Copy)]
struct Entry {
    key: Key,
    /// Whether the result depends on the caller's bp (else `key.bp` is not
    /// compared).
    bp_matters: bool,
    stack_id: u32,
    nwords: u32,
    words: [(u64, u64); WORDS],
}

/// What the unwind being recorded read, and which of it mattered.
struct Recording {
    n: usize,
    words: [(u64, u64); RECORDED],
    needed: [bool; RECORDED],
    bp_matters: bool,
    /// False when the unwind read too much to be analysed or stored.
    usable: bool,
}

/// Which values the current bp may come from: the caller's bp and/or
/// recorded words.
#[derive(Clone, Copy)]
struct Provenance {
    entry: bool,
    words: [u64; RECORDED / 64],
}

impl Provenance {
    const NONE: Provenance = Provenance {
        entry: false,
        words: [0; RECORDED / 64],
    };

    fn add(&mut self, i: usize) {
        self.words[i / 64] |= 1 << (i % 64);
    }
}

/// A thread's memo. Zeroed memory is a valid, empty memo (no key has a
/// return address of 0), so it is allocated with `alloc_zeroed` and its
/// untouched pages cost nothing.
pub struct Memo {
    entries: [[Entry; WAYS]; SETS],
    /// Per set, the way replaced next.
    victim: [u8; SETS],
    rec: Recording,
    hits: u32,
    misses: u32,
    /// Totals for `LEAKWATCH_STATS=1`.
    pub total_hits: u64,
    pub total_misses: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Next(u64),
    End,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Perturb {
    Nothing,
    Bp,
    Word(usize),
}

/// One frame step, with the addresses it tried and the words it read.
struct Step {
    outcome: Outcome,
    regs: UnwindRegsX86_64,
    tried: [u64; STEP_READS],
    ntried: usize,
    read: [(u64, u64); STEP_READS],
    nread: usize,
    overflow: bool,
}

impl Step {
    /// Whether `other` differs in anything but the restored bp.
    fn differs(&self, other: &Step) -> bool {
        self.outcome != other.outcome
            || self.regs.sp() != other.regs.sp()
            || self.ntried != other.ntried
            || self.tried[..self.ntried] != other.tried[..other.ntried]
            || other.overflow
    }
}

struct Frames<'a> {
    fast: &'a Fast,
    cache: &'a mut Cache,
    lo: u64,
    top: u64,
}

impl Frames<'_> {
    /// Unwinds one frame from `before`, perturbing one input if asked.
    fn step(&mut self, address: FrameAddress, before: UnwindRegsX86_64, perturb: Perturb) -> Step {
        let mut s = Step {
            outcome: Outcome::Fail,
            regs: before,
            tried: [0; STEP_READS],
            ntried: 0,
            read: [(0, 0); STEP_READS],
            nread: 0,
            overflow: false,
        };
        if perturb == Perturb::Bp {
            s.regs.set_bp(before.bp() ^ POISON);
        }
        let (lo, top) = (self.lo, self.top);
        let mut regs = s.regs;
        let result = {
            let mut read = |addr: u64| -> Result<u64, ()> {
                if s.ntried == STEP_READS {
                    s.overflow = true;
                    return Err(());
                }
                s.tried[s.ntried] = addr;
                s.ntried += 1;
                if addr < lo || addr.checked_add(8).is_none_or(|e| e > top) {
                    return Err(());
                }
                // SAFETY: inside [entry sp, stack top) of this thread's stack.
                let value = unsafe { (addr as *const u64).read() };
                let k = s.nread;
                s.read[k] = (addr, value);
                s.nread += 1;
                Ok(if perturb == Perturb::Word(k) {
                    value ^ POISON
                } else {
                    value
                })
            };
            self.fast
                .unwind_frame(address, &mut regs, self.cache, &mut read)
        };
        s.regs = regs;
        s.outcome = match result {
            Ok(Some(ra)) => Outcome::Next(ra),
            Ok(None) => Outcome::End,
            Err(_) => Outcome::Fail,
        };
        s
    }
}

impl Memo {
    /// Forgets every call path (a forked child restarts stack ids).
    pub fn clear(&mut self) {
        for e in self.entries.iter_mut().flatten() {
            e.key.ra = 0;
        }
    }

    /// The stack id memoized for `key`, if every word its unwind depended
    /// on still holds the same value.
    #[inline(always)]
    pub fn lookup(&mut self, key: &Key) -> Option<u32> {
        for e in &self.entries[key.set()] {
            let same = e.key.ra == key.ra
                && e.key.sp == key.sp
                && e.key.top == key.top
                && e.key.unwinder == key.unwinder
                && (!e.bp_matters || e.key.bp == key.bp);
            if same
                && e.words[..e.nwords as usize].iter().all(|&(addr, value)| {
                    // SAFETY: recorded words lie in [sp, top) of this
                    // thread's stack, and sp and top are part of the key.
                    unsafe { (addr as *const u64).read() == value }
                })
            {
                self.hits = self.hits.wrapping_add(1);
                self.total_hits += 1;
                return Some(e.stack_id);
            }
        }
        self.total_misses += 1;
        None
    }

    /// Whether the next miss should be recorded: always while the memo
    /// pays off, one miss in eight while it mostly misses (a program with
    /// more hot call paths than entries), so its cost stays bounded.
    #[inline(always)]
    pub fn should_record(&mut self) -> bool {
        self.misses = self.misses.wrapping_add(1);
        if self.misses >= 1 << 16 {
            self.misses /= 2;
            self.hits /= 2;
        }
        self.hits >= self.misses || self.misses.is_multiple_of(8)
    }

    /// Unwinds from `key`'s caller into `ips` and records what the result
    /// depends on; returns the number of frames. Follow with `commit`.
    pub fn record(
        &mut self,
        fast: &Fast,
        cache: &mut Cache,
        key: &Key,
        ips: &mut [usize; MAX_FRAMES],
    ) -> usize {
        let rec = &mut self.rec;
        rec.n = 0;
        rec.bp_matters = false;
        rec.usable = true;
        let mut frames = Frames {
            fast,
            cache,
            lo: key.sp,
            top: key.top,
        };
        ips[0] = key.ra as usize;
        let mut n = 1;
        let mut regs = UnwindRegsX86_64::new(key.ra, key.sp + 8, key.bp);
        let mut address = FrameAddress::from_return_address(key.ra);
        let mut bp_from = Provenance {
            entry: true,
            ..Provenance::NONE
        };
        while let Some(addr) = address {
            if n == MAX_FRAMES {
                break;
            }
            let base = frames.step(addr, regs, Perturb::Nothing);
            if base.overflow || rec.n + base.nread > RECORDED {
                rec.usable = false;
            }
            if rec.usable {
                let with_bp = frames.step(addr, regs, Perturb::Bp);
                if base.differs(&with_bp) {
                    rec.bp_matters |= bp_from.entry;
                    for (i, needed) in rec.needed[..rec.n].iter_mut().enumerate() {
                        if bp_from.words[i / 64] & (1 << (i % 64)) != 0 {
                            *needed = true;
                        }
                    }
                }
                let mut next_from = if with_bp.regs.bp() != base.regs.bp() {
                    bp_from
                } else {
                    Provenance::NONE
                };
                for k in 0..base.nread {
                    let i = rec.n + k;
                    let p = frames.step(addr, regs, Perturb::Word(k));
                    rec.needed[i] = base.differs(&p);
                    if !rec.needed[i] && p.regs.bp() != base.regs.bp() {
                        next_from.add(i);
                    }
                    rec.words[i] = base.read[k];
                }
                rec.n += base.nread;
                bp_from = next_from;
            }
            match base.outcome {
                Outcome::Next(ra) => {
                    ips[n] = ra as usize;
                    n += 1;
                    regs = base.regs;
                    address = FrameAddress::from_return_address(ra);
                }
                Outcome::End | Outcome::Fail => break,
            }
        }
        n
    }

    /// Remembers the unwind just recorded for `key` under `stack_id`.
    pub fn commit(&mut self, key: &Key, stack_id: u32) {
        let rec = &self.rec;
        if !rec.usable {
            return;
        }
        let set = key.set();
        let way = self.victim[set] as usize % WAYS;
        self.victim[set] = ((way + 1) % WAYS) as u8;
        let e = &mut self.entries[set][way];
        let mut nwords = 0;
        for (i, &word) in rec.words[..rec.n].iter().enumerate() {
            if rec.needed[i] {
                if nwords == WORDS {
                    e.key.ra = 0;
                    return;
                }
                e.words[nwords] = word;
                nwords += 1;
            }
        }
        e.key = *key;
        e.bp_matters = rec.bp_matters;
        e.stack_id = stack_id;
        e.nwords = nwords as u32;
    }
}
