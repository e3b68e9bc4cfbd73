//! Incremental unwinding: each thread remembers its previous stack frame
//! by frame, and a new capture re-unwinds only the frames that changed.
//!
//! Consecutive allocations of a thread share most of their stack: only the
//! frames near the top differ. So the memo keeps the last unwind as a list
//! of frames, outermost first (the outer part stays at the same positions
//! from one capture to the next, so nothing is copied), each with the
//! registers it was unwound from, the stack words its unwind step read,
//! and the ring's stack node of the frames from the outermost down to it. A new capture
//! unwinds from the hook's caller; whenever a frame has the same return
//! address and stack pointer as a remembered one, the remembered step is
//! reused if every word it read still holds the same value (and its frame
//! pointer is the same, when the step depends on it): an unwind step is a
//! pure function of those, the unwinder's rules and the stack bounds, which
//! are part of the memo's identity. A step whose words changed (a frame
//! that returned and was called again) is re-executed, and the matching
//! goes on above it. So the CFI rules run only for frames that changed;
//! the frames that did not cost a few loads and compares each. Stacks are
//! written into the ring as a tree of nodes (a frame and the node of its
//! caller), so only the frames above the lowest change get new nodes, and
//! an allocation names the node of its innermost frame: nothing per event
//! grows with the depth but those loads and compares.
//!
//! Which steps depend on the frame pointer is seen when a step is
//! executed: framehop's x86-64 rules read the stack relative to sp, except
//! the frame-pointer rule, which reads [bp] and [bp + 8]. A step either
//! restores the caller's frame
//! pointer from a word it read (the saved bp) or passes it through, and the
//! frame pointer is carried along the reused steps accordingly, so each
//! step that depends on it is checked against its true value.
//!
//! Memory is keyed by stack addresses and return addresses as they are, no
//! table indexed by them: the cost does not depend on where the loader
//! put the modules.

use framehop::x86_64::UnwindRegsX86_64;
use framehop::{FrameAddress, Unwinder};

use crate::ring::{path_hash, Ring, PATH_ROOT};
use crate::unwind::{Cache, Fast, MAX_FRAMES};

/// Frames remembered (stacks deeper than this are unwound in full each
/// time, keeping their innermost MAX_FRAMES).
const DEPTH: usize = 512;
/// Words one step may read and still be remembered.
const STEP_WORDS: usize = 4;
/// Marks a `refs` entry naming a frame in `fresh`.
const NEW: u16 = 0x8000;

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
    /// `stack`, or None when sp is not on it.
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
}

#[derive(Clone, Copy, PartialEq, Eq, Default)]
enum Outcome {
    /// The caller's return address.
    Next(u64),
    #[default]
    End,
    Fail,
}

/// One remembered frame and the step that unwound it to its caller.
#[derive(Clone, Copy, Default)]
struct Frame {
    ip: u64,
    sp: u64,
    bp: u64,
    /// The ring's stack node of this frame (it and the frames below it).
    node: u32,
    /// `ring::path_hash` of this frame's ip and its callers'.
    path: u64,
    outcome: Outcome,
    /// The caller's registers (valid with `Outcome::Next`).
    next_sp: u64,
    next_bp: u64,
    /// Whether the step's result depends on `bp`.
    uses_bp: bool,
    /// Whether the step passes bp through (else it restores it).
    keeps_bp: bool,
    /// The stack words the step read (address, value).
    nwords: u8,
    words: [(u64, u64); STEP_WORDS],
}

/// A thread's memo. Zeroed memory is a valid, empty memo, so it is
/// allocated with `alloc_zeroed` and its untouched pages cost nothing.
pub struct Memo {
    /// The previous stack, outermost frame first: `frames[..len]`.
    frames: [Frame; DEPTH],
    len: usize,
    /// Identity of what the frames were unwound with, and whether their
    /// nodes are unwritten ids (`Ring::memo_node`).
    top: u64,
    unwinder: usize,
    shadow: bool,
    /// Return addresses `(lo, hi]` at which the walk stops (that frame is
    /// the outermost kept): CPython's eval loop, see `python::unwind_stop`.
    stop: (u64, u64),
    /// Frames executed afresh by the capture in progress (and remembered
    /// ones being moved).
    fresh: [Frame; DEPTH],
    /// The capture in progress, innermost first: a remembered frame's
    /// index, or NEW | an index into `fresh`.
    refs: [u16; DEPTH],
    /// The words the remembered steps read, frame after frame from the
    /// outermost (frame `pos`'s end at `check_end[pos]`): the outer frames
    /// of a capture are checked in one tight loop over them.
    checks: [(u64, u64); DEPTH * STEP_WORDS],
    check_end: [u16; DEPTH],
    /// The lowest address among the checks of frames `..=pos`: compared
    /// once with the capture's entry sp instead of per word.
    check_min: [u64; DEPTH],
    /// Remembered frames `..reusable` all have steps that can be reused.
    reusable: usize,
    /// Totals for `LEAKWATCH_STATS=1`: frames reused and frames unwound.
    pub total_hits: u64,
    pub total_misses: u64,
}

/// Where unwinding stands: the current frame's registers.
#[derive(Clone, Copy)]
struct Regs {
    ip: u64,
    sp: u64,
    bp: u64,
}

impl Memo {
    /// Forgets the remembered stack.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Executes the unwind step of the frame at `at` into `f` (all but
    /// its node), noting how it depends on bp. Written in place: a Frame
    /// returned by value was copied with memcpy twice per step.
    #[inline(always)]
    fn exec(fast: &Fast, cache: &mut Cache, lo: u64, top: u64, at: Regs, f: &mut Frame) {
        let mut tried = [0u64; STEP_WORDS];
        let (mut ntried, mut nwords, mut overflow) = (0usize, 0usize, false);
        let mut regs = UnwindRegsX86_64::new(at.ip, at.sp, at.bp);
        let outcome = match FrameAddress::from_return_address(at.ip) {
            None => Outcome::Fail,
            Some(address) => {
                let words = &mut f.words;
                let mut read = |addr: u64| -> Result<u64, ()> {
                    if ntried == STEP_WORDS {
                        overflow = true;
                        return Err(());
                    }
                    tried[ntried] = addr;
                    ntried += 1;
                    if addr < lo || addr.checked_add(8).is_none_or(|e| e > top) {
                        return Err(());
                    }
                    // SAFETY: inside [entry sp, stack top) of this thread's stack.
                    let value = unsafe { (addr as *const u64).read() };
                    words[nwords] = (addr, value);
                    nwords += 1;
                    Ok(value)
                };
                match fast.unwind_frame(address, &mut regs, cache.way(at.ip), &mut read) {
                    Ok(Some(ra)) => Outcome::Next(ra),
                    Ok(None) => Outcome::End,
                    Err(_) => Outcome::Fail,
                }
            }
        };
        // framehop's x86-64 rules address the stack from sp, except the
        // frame-pointer rule, which reads [bp] and [bp + 8]: a step that
        // read there depends on bp. (A step that failed is never reused.)
        let uses_bp = tried[..ntried]
            .iter()
            .any(|&a| a == at.bp || a == at.bp.wrapping_add(8));
        // The caller's bp is either restored from a word the step read (the
        // return address and the saved bp: two words) or passed through.
        let out = regs.bp();
        let restored = nwords >= 2 && f.words[..nwords].iter().any(|w| w.1 == out);
        let keeps_bp = !restored && out == at.bp;
        f.ip = at.ip;
        f.sp = at.sp;
        f.bp = at.bp;
        f.outcome = outcome;
        f.next_sp = regs.sp();
        f.next_bp = out;
        f.uses_bp = uses_bp;
        f.keeps_bp = keeps_bp;
        // Too many reads to remember, or a bp neither restored nor kept:
        // never reused.
        f.nwords = if overflow || (!restored && !keeps_bp) {
            u8::MAX
        } else {
            nwords as u8
        };
    }

    /// Unwinds from `key`'s caller. Returns the ring's stack node of its
    /// innermost frame, writing the nodes that are new into `ring`, or
    /// with `shadow` an unwritten id for it (`Ring::memo_node`), and
    /// whether the node returned is written.
    pub fn capture(
        &mut self,
        fast: &Fast,
        cache: &mut Cache,
        key: &Key,
        ring: &mut Ring,
        shadow: bool,
        stop: (u64, u64),
    ) -> (u32, bool) {
        if self.top != key.top
            || self.unwinder != key.unwinder
            || self.shadow != shadow
            || self.stop != stop
        {
            self.len = 0;
            self.top = key.top;
            self.unwinder = key.unwinder;
            self.shadow = shadow;
            self.stop = stop;
        }
        let (lo, top) = (key.sp, key.top);
        let mut cur = Regs {
            ip: key.ra,
            sp: key.sp + 8,
            bp: key.bp,
        };
        // Walk outward. Each frame is either a remembered one (same return
        // address and stack pointer: reused if its step still holds, else
        // executed again in place) or new (executed into `fresh`).
        // Remembered frames are outermost first, so their stack pointers
        // decrease with the index: `j` follows `cur.sp` down the list.
        let mut n = 0usize;
        let mut nnew = 0usize;
        let mut j = self.len;
        // Remembered frames kept in place as a whole (the fast path), and
        // the lowest one re-executed in place (its checks are stale).
        let mut kept = 0usize;
        let mut stale = DEPTH;
        let mut tried_fast = false;
        let truncated = loop {
            if n == DEPTH {
                break true;
            }
            while j > 0 && self.frames[j - 1].sp < cur.sp {
                j -= 1;
            }
            let remembered = j > 0 && {
                let f = &self.frames[j - 1];
                f.sp == cur.sp && f.ip == cur.ip
            };
            if remembered && !tried_fast {
                // The first remembered frame met: if it is reached with
                // the same registers and every word its step and its
                // callers' steps read holds, the unwind from here on is
                // the remembered one (each step is a pure function of
                // those), so all of them are kept as they are.
                tried_fast = true;
                let c = j - 1;
                if c < self.reusable
                    && n + c < DEPTH
                    && self.frames[c].bp == cur.bp
                    && self.words_hold(c, lo)
                {
                    self.total_hits += c as u64 + 1;
                    kept = c + 1;
                    n += kept;
                    break false;
                }
            }
            let outward = if remembered {
                let c = j - 1;
                if valid(&self.frames[c], lo, cur.bp) {
                    self.total_hits += 1;
                } else {
                    // Its node stays: the same frame under the same callers.
                    self.total_misses += 1;
                    Memo::exec(fast, cache, lo, top, cur, &mut self.frames[c]);
                    stale = stale.min(c);
                }
                self.refs[n] = c as u16;
                next_with_bp(&self.frames[c], cur.bp)
            } else {
                self.total_misses += 1;
                Memo::exec(fast, cache, lo, top, cur, &mut self.fresh[nnew]);
                self.refs[n] = NEW | nnew as u16;
                nnew += 1;
                next(&self.fresh[nnew - 1])
            };
            n += 1;
            // Where the walk stops is a function of the return address
            // alone, so a remembered stack ends there too and the frames a
            // reuse keeps are the ones this walk would find.
            if crate::python::is_eval(cur.ip, stop.0, stop.1) {
                break false;
            }
            match outward {
                Some(next) => cur = next,
                None => break false,
            }
        };
        if truncated {
            // Deeper than remembered: its innermost frames as a chain of
            // nodes, nothing kept.
            let mut ips = [0usize; MAX_FRAMES];
            let k = n.min(MAX_FRAMES);
            for (t, ip) in ips[..k].iter_mut().enumerate() {
                *ip = self.ip_of(self.refs[t]) as usize;
            }
            self.len = 0;
            self.reusable = 0;
            return (ring.new_chain(&ips[..k]), true);
        }
        self.assemble(kept, n, nnew, stale, ring);
        (self.frames[n - 1].node, !shadow)
    }

    /// Whether every word read by the steps of remembered frames `..=c`
    /// still holds.
    #[inline]
    fn words_hold(&self, c: usize, lo: u64) -> bool {
        // Below the entry sp is dead stack, as in `valid`.
        if self.check_min[c] < lo {
            return false;
        }
        // Without a branch per word: the words differ from what was read
        // if any XOR is non-zero (four chains for the loads to overlap).
        let checks = &self.checks[..usize::from(self.check_end[c])];
        let mut quads = checks.chunks_exact(4);
        let mut diff = [0u64; 4];
        // SAFETY: remembered reads lay in this thread's stack (its top is
        // part of the memo's identity), at or above this capture's entry
        // sp (checked above).
        let word = |addr: u64| unsafe { (addr as *const u64).read() };
        for q in &mut quads {
            for (d, &(addr, value)) in diff.iter_mut().zip(q) {
                *d |= word(addr) ^ value;
            }
        }
        for &(addr, value) in quads.remainder() {
            diff[0] |= word(addr) ^ value;
        }
        (diff[0] | diff[1] | diff[2] | diff[3]) == 0
    }

    /// The return addresses of the stack the last capture found, outermost
    /// first (none after a capture deeper than the memo); returns how many
    /// were written into `out`.
    pub fn ips_outermost(&self, out: &mut [u64]) -> usize {
        let n = self.len.min(out.len());
        for (o, f) in out.iter_mut().zip(&self.frames[..n]) {
            *o = f.ip;
        }
        n
    }

    /// The return address of a frame named in `refs`.
    #[inline]
    fn ip_of(&self, r: u16) -> u64 {
        if r & NEW != 0 {
            self.fresh[(r & !NEW) as usize].ip
        } else {
            self.frames[r as usize].ip
        }
    }

    /// Lays the new stack out outermost first: frames `..kept` are the
    /// remembered ones in place, then `refs[..n - kept]`, innermost first.
    /// Remembered frames already at their new position stay; the
    /// others are staged in `fresh` (after the new frames) and written
    /// back; from the lowest position that changed up, each frame gets a
    /// new node (its callers changed). Frames from there or from `stale`
    /// (re-executed in place) up get their checks again.
    fn assemble(&mut self, kept: usize, n: usize, nnew: usize, stale: usize, ring: &mut Ring) {
        // Position of refs[t] is n - 1 - t.
        let mut lowest = n;
        for pos in kept..n {
            if self.refs[n - 1 - pos] != pos as u16 {
                lowest = pos;
                break;
            }
        }
        let mut staged = nnew;
        for pos in lowest..n {
            let t = n - 1 - pos;
            let r = self.refs[t];
            if r & NEW == 0 && r as usize != pos {
                self.fresh[staged] = self.frames[r as usize];
                self.refs[t] = NEW | staged as u16;
                staged += 1;
            }
        }
        let (mut parent, mut parent_ip, mut path) = if lowest > 0 {
            let f = &self.frames[lowest - 1];
            (Some(f.node), f.ip, f.path)
        } else {
            (None, 0, PATH_ROOT)
        };
        // The frames in place and their cache slots loading, all at once;
        // then the node lookups, each needing its caller's node.
        for pos in lowest..n {
            let r = self.refs[n - 1 - pos];
            if r & NEW != 0 {
                self.frames[pos] = self.fresh[(r & !NEW) as usize];
            }
            path = path_hash(path, self.frames[pos].ip);
            self.frames[pos].path = path;
            ring.prefetch_memo_node(self.shadow, path);
        }
        for pos in lowest..n {
            let f = &self.frames[pos];
            let (ip, path) = (f.ip, f.path);
            let node = ring.memo_node(self.shadow, path, parent, ip, parent_ip);
            self.frames[pos].node = node;
            parent = Some(node);
            parent_ip = ip;
        }
        self.len = n;
        let from = lowest.min(stale);
        let (mut k, mut low) = match from {
            0 => (0, u64::MAX),
            _ => (
                usize::from(self.check_end[from - 1]),
                self.check_min[from - 1],
            ),
        };
        for pos in from..n {
            let f = &self.frames[pos];
            if f.nwords != u8::MAX {
                let words = &f.words[..usize::from(f.nwords)];
                self.checks[k..k + words.len()].copy_from_slice(words);
                k += words.len();
                low = words.iter().fold(low, |m, &(addr, _)| m.min(addr));
            }
            self.check_end[pos] = k as u16;
            self.check_min[pos] = low;
        }
        if self.reusable >= from {
            let mut r = from;
            while r < n && self.frames[r].nwords != u8::MAX {
                r += 1;
            }
            self.reusable = r;
        }
    }
}

/// The caller's registers after frame `f`'s step, if it has a caller.
#[inline]
fn next(f: &Frame) -> Option<Regs> {
    next_with_bp(f, f.bp)
}

/// Same, for a step reached with frame pointer `bp` (which it passes on
/// when it does not restore one).
#[inline]
fn next_with_bp(f: &Frame, bp: u64) -> Option<Regs> {
    match f.outcome {
        Outcome::Next(ra) if ra > 1 => Some(Regs {
            ip: ra,
            sp: f.next_sp,
            bp: if f.keeps_bp { bp } else { f.next_bp },
        }),
        _ => None,
    }
}

/// Whether a remembered step still holds when reached with frame pointer
/// `bp`: the words it read hold the same values, and the frame pointer is
/// the same if the step depends on it.
#[inline]
fn valid(f: &Frame, lo: u64, bp: u64) -> bool {
    if f.nwords == u8::MAX || (f.uses_bp && f.bp != bp) {
        return false;
    }
    f.words[..f.nwords as usize].iter().all(|&(addr, value)| {
        // SAFETY: remembered reads lay in this thread's stack, at or above
        // the entry sp of their capture; checked against this capture's
        // entry sp (below it is dead stack, not read).
        addr >= lo && unsafe { (addr as *const u64).read() } == value
    })
}
