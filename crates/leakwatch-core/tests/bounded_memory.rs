//! leakwatch must not leak: the detector's live heap stays flat however
//! long it runs. A counting global allocator measures live bytes directly.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use leakwatch_core::{DetectorConfig, Resource, ResourceSet};

struct Counting;
// Per thread, so tests running in parallel do not see each other's memory.
thread_local! {
    /// Live heap bytes allocated by this thread.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    /// Allocation calls (alloc and realloc) made by this thread while counting.
    static CALLS: Cell<isize> = const { Cell::new(0) };
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn live_add(delta: isize) {
    // try_with: the allocator also runs while thread-locals are torn down.
    let _ = LIVE.try_with(|l| l.set(l.get() + delta));
}

fn note_call() {
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = CALLS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

fn live() -> isize {
    LIVE.with(|l| l.get())
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        live_add(layout.size() as isize);
        note_call();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        live_add(-(layout.size() as isize));
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        live_add(new_size as isize - layout.size() as isize);
        note_call();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_week_of_samples_keeps_the_heap_flat() {
    let resources = [
        Resource::RssBytes,
        Resource::AnonBytes,
        Resource::Threads,
        Resource::Fds,
    ];
    let mut set = ResourceSet::new(&resources, &DetectorConfig::for_interval(1.0));
    let mut feed = |from: u64, to: u64| {
        for i in from..to {
            let t = i as f64;
            let wobble = ((t * 0.37).sin() + 1.0) * 1e6;
            set.push(Resource::RssBytes, t, 200e6 + 50.0 * t + wobble);
            set.push(Resource::AnonBytes, t, 100e6 + wobble);
            set.push(Resource::Threads, t, 12.0);
            set.push(Resource::Fds, t, 40.0 + (i % 7) as f64);
        }
    };
    feed(0, 86_400);
    let after_a_day = live();
    feed(86_400, 7 * 86_400);
    let after_a_week = live();
    let grew = after_a_week - after_a_day;
    // Only the evidence text of the latest judgement may differ in length.
    assert!(
        grew.abs() < 4096,
        "live heap grew by {grew} bytes between day 1 and day 7"
    );
    assert!(
        after_a_week < 512 * 1024,
        "{after_a_week} live bytes for 4 detectors"
    );
}

/// The hot path: once its buffers have grown, feeding a sample (and the
/// judgements it triggers) allocates nothing at all.
#[test]
fn pushing_samples_allocates_nothing_in_steady_state() {
    let resources = [Resource::RssBytes, Resource::Threads];
    let mut set = ResourceSet::new(&resources, &DetectorConfig::for_interval(0.25));
    let mut t = 0.0;
    let mut feed = |set: &mut ResourceSet, n: usize| {
        for i in 0..n {
            t += 0.25;
            let saw = (i % 400) as f64 * 1e5;
            set.push(Resource::RssBytes, t, 50e6 + 2e3 * t + saw);
            set.push(Resource::Threads, t, 8.0 + (i % 3) as f64);
        }
    };
    feed(&mut set, 20_000);
    COUNTING.with(|c| c.set(true));
    feed(&mut set, 200_000);
    COUNTING.with(|c| c.set(false));
    let calls = CALLS.with(|n| n.get());
    assert_eq!(calls, 0, "{calls} allocations while feeding 400,000 values");
    assert_eq!(set.report().verdict, leakwatch_core::Verdict::Leak);
}
