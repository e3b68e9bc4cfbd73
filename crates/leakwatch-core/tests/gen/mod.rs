//! A generator of production-shaped memory series for judging the detector
//! on data it was never tuned on (`tests/heldout.rs`, `bench/detector/`).
//!
//! Every series is a function of its family and seed only (a small
//! SplitMix64 generator, no external crate), so the split between tuning
//! seeds and held-out seeds is fixed and anyone can regenerate the files.
//!
//! Shapes, all with random level, sampling interval (15, 30 or 60 s), length,
//! noise and phase (a daily cycle may begin anywhere, the trough included):
//! leaks (linear, stairs, accelerating ∝ t², slow under 4–6 % noise, under a
//! daily cycle, under a garbage collector's saw-tooth, restarted every 12–30 h
//! with or without the instance column) and things that are not leaks (flat,
//! daily cycles, saw-tooth, caches that fill, batch steps, mean-reverting
//! random walks, services restarted every 12–30 h that do not leak). Each
//! series may also be cropped: seen from 6, 12 or 18 hours into its life.

#![allow(dead_code)]

use std::f64::consts::PI;

pub const HOUR: f64 = 3600.0;
pub const DAY: f64 = 86_400.0;
pub const MB: f64 = 1024.0 * 1024.0;

/// SplitMix64: tiny, fast and good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5851_f42d_4c95_7f2d)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.f()
    }
    /// Log-uniform in [lo, hi].
    pub fn log_range(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + (hi.ln() - lo.ln()) * self.f()).exp()
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.f().max(1e-300);
        let u2 = self.f();
        (-2.0 * u1.ln()).sqrt() * (2.0 * PI * u2).cos()
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// One generated series with its label and the limit an SRE's alert rule
/// would compare against.
#[derive(Debug, Clone)]
pub struct Generated {
    pub family: &'static str,
    pub seed: u64,
    pub leak: bool,
    /// Hours cut from the start (0 when not cropped).
    pub cropped_h: f64,
    pub t_s: Vec<f64>,
    pub values: Vec<f64>,
    /// Instance number per row when the family knows its restarts.
    pub instance: Option<Vec<u64>>,
    /// The memory limit (container limit, OOM level) for `predict_linear`.
    pub limit: f64,
}

impl Generated {
    pub fn name(&self) -> String {
        if self.cropped_h > 0.0 {
            format!("{}-{}-from{}h", self.family, self.seed, self.cropped_h)
        } else {
            format!("{}-{}", self.family, self.seed)
        }
    }
    pub fn length_s(&self) -> f64 {
        self.t_s.last().copied().unwrap_or(0.0) - self.t_s.first().copied().unwrap_or(0.0)
    }
    /// The series seen from `hours` into its life, times kept as they are.
    pub fn cropped(&self, hours: f64) -> Option<Generated> {
        let t0 = self.t_s[0] + hours * HOUR;
        let skip = self.t_s.iter().position(|t| *t >= t0)?;
        let out = Generated {
            cropped_h: hours,
            t_s: self.t_s[skip..].to_vec(),
            values: self.values[skip..].to_vec(),
            instance: self.instance.as_ref().map(|i| i[skip..].to_vec()),
            ..self.clone()
        };
        (out.length_s() >= DAY).then_some(out)
    }
    /// The CSV `leakwatch analyze` reads.
    pub fn csv(&self) -> String {
        let mut s = String::from("t_s,rss_bytes");
        if self.instance.is_some() {
            s.push_str(",instance");
        }
        s.push('\n');
        for (i, (t, v)) in self.t_s.iter().zip(&self.values).enumerate() {
            s.push_str(&format!("{t:.0},{v:.0}"));
            if let Some(inst) = &self.instance {
                s.push_str(&format!(",{}", inst[i]));
            }
            s.push('\n');
        }
        s
    }
}

/// Every family: (name, label leak?).
pub const FAMILIES: &[(&str, bool)] = &[
    ("linear_leak", true),
    ("stairs_leak", true),
    ("accelerating_leak", true),
    ("slow_noisy_leak", true),
    ("leak_daily_cycle", true),
    ("leak_gc_sawtooth", true),
    ("restart_leak", true),
    ("restart_leak_id", true),
    ("flat", false),
    ("daily_cycle", false),
    ("gc_sawtooth", false),
    ("cache_plateau", false),
    ("batch_step", false),
    ("random_walk", false),
    ("restart_ok", false),
    ("restart_ok_id", false),
];

/// A daily cycle in [-1, 1]-ish: a fundamental plus a second harmonic, so
/// rises and falls need not be symmetric.
struct Cycle {
    phase: f64,
    second: f64,
    second_phase: f64,
}

impl Cycle {
    fn new(rng: &mut Rng) -> Cycle {
        Cycle {
            phase: rng.range(0.0, 2.0 * PI),
            second: rng.range(0.0, 0.3),
            second_phase: rng.range(0.0, 2.0 * PI),
        }
    }
    fn at(&self, t: f64) -> f64 {
        let x = 2.0 * PI * t / DAY + self.phase;
        (x.sin() + self.second * (2.0 * x + self.second_phase).sin()) / (1.0 + self.second)
    }
}

/// Sampling grid and noise shared by every family.
struct Frame {
    dt: f64,
    n: usize,
    noise: f64,
    /// Traffic bursts: short upward spikes.
    burst_p: f64,
}

impl Frame {
    fn new(rng: &mut Rng, days: (f64, f64)) -> Frame {
        let dt = rng.pick(&[15.0, 30.0, 30.0, 60.0]);
        let len = rng.range(days.0, days.1) * DAY;
        Frame {
            dt,
            n: (len / dt) as usize + 1,
            noise: rng.range(0.003, 0.025),
            burst_p: rng.range(0.0, 0.003),
        }
    }
}

/// Samples `f(t)` on the frame's grid with multiplicative noise and bursts.
fn sample(
    rng: &mut Rng,
    fr: &Frame,
    mut f: impl FnMut(f64, &mut Rng) -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let mut ts = Vec::with_capacity(fr.n);
    let mut vs = Vec::with_capacity(fr.n);
    let mut burst_left = 0u32;
    let mut burst = 0.0;
    for i in 0..fr.n {
        let t = i as f64 * fr.dt;
        let mut v = f(t, rng);
        if burst_left == 0 && rng.chance(fr.burst_p) {
            burst_left = 1 + (rng.next_u64() % 6) as u32;
            burst = rng.range(0.05, 0.2);
        }
        if burst_left > 0 {
            v *= 1.0 + burst;
            burst_left -= 1;
        }
        v *= 1.0 + fr.noise * rng.normal();
        ts.push(t);
        vs.push(v.max(0.0));
    }
    (ts, vs)
}

fn max_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Generates one series of `family` from `seed`.
pub fn generate(family: &'static str, seed: u64) -> Generated {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in family.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    let mut rng = Rng::new(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ h);
    let rng = &mut rng;
    let level = rng.log_range(80.0 * MB, 2048.0 * MB);
    // The limit an SRE would set: headroom over what the service normally uses.
    let headroom = rng.range(1.05, 1.5);
    // Leak rates as a fraction of the level per day.
    let leak_per_day = |rng: &mut Rng| rng.log_range(0.05, 0.6);
    let mut instance = None;
    let (leak, (t, v), limit) = match family {
        "flat" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let s = sample(rng, &fr, |_, _| level);
            let limit = max_of(&s.1) * headroom;
            (false, s, limit)
        }
        "linear_leak" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let r = leak_per_day(rng) * level / DAY;
            let s = sample(rng, &fr, |t, _| level + r * t);
            let limit = max_of(&s.1) * headroom;
            (true, s, limit)
        }
        "stairs_leak" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let r = leak_per_day(rng) * level / DAY;
            let period = rng.range(0.5, 4.0) * HOUR;
            let offset = rng.range(0.0, period);
            let s = sample(rng, &fr, |t, _| {
                level + r * period * ((t + offset) / period).floor()
            });
            let limit = max_of(&s.1) * headroom;
            (true, s, limit)
        }
        "accelerating_leak" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let len = fr.n as f64 * fr.dt;
            let total = rng.range(0.2, 1.5) * level;
            // Growth ∝ (t + t0)²: from standing still (t0 = 0) or already moving.
            let t0 = rng.range(0.0, 0.25) * len;
            let c = total / ((len + t0).powi(2) - t0.powi(2));
            let s = sample(rng, &fr, |t, _| level + c * ((t + t0).powi(2) - t0 * t0));
            let limit = max_of(&s.1) * headroom;
            (true, s, limit)
        }
        "slow_noisy_leak" => {
            let mut fr = Frame::new(rng, (2.0, 5.0));
            fr.noise = rng.range(0.04, 0.06);
            let len = fr.n as f64 * fr.dt;
            let rate = rng.range(0.1, 2.0) * MB / HOUR;
            // A small process (a sidecar, an agent): the leak must be able to
            // show above 4–6 % noise within the series at all.
            let base = rng.range(20.0, 150.0).min(rate * len / MB / 0.25) * MB;
            let s = sample(rng, &fr, |t, _| base + rate * t);
            let limit = max_of(&s.1) * headroom;
            (true, s, limit)
        }
        "daily_cycle" | "leak_daily_cycle" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let cycle = Cycle::new(rng);
            let amp = rng.range(0.05, 0.3) * level;
            let leaking = family == "leak_daily_cycle";
            let r = if leaking {
                leak_per_day(rng).max(0.1) * level / DAY
            } else {
                0.0
            };
            let s = sample(rng, &fr, |t, _| level + amp * cycle.at(t) + r * t);
            let limit = max_of(&s.1) * headroom;
            (leaking, s, limit)
        }
        "gc_sawtooth" | "leak_gc_sawtooth" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let period = rng.range(60.0, 1800.0).max(3.0 * fr.dt);
            let amp = rng.range(0.05, 0.35);
            let leaking = family == "leak_gc_sawtooth";
            let r = if leaking {
                leak_per_day(rng) * level / DAY
            } else {
                0.0
            };
            let mut next_gc = rng.range(0.0, period);
            let mut last_gc = next_gc - period;
            let s = sample(rng, &fr, |t, rng| {
                while t >= next_gc {
                    last_gc = next_gc;
                    next_gc += period * rng.range(0.7, 1.3);
                }
                let live = level + r * t;
                let phase = (t - last_gc) / (next_gc - last_gc);
                live * (1.0 + amp * phase)
            });
            let limit = max_of(&s.1) * headroom;
            (leaking, s, limit)
        }
        "cache_plateau" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let size = rng.range(0.2, 1.5) * level;
            let s = if rng.chance(0.5) {
                // Filling ever more slowly as hits grow.
                let tau = rng.log_range(0.3, 6.0) * HOUR;
                let t0 = rng.range(0.0, 1.5) * tau;
                sample(rng, &fr, |t, _| {
                    level + size * (1.0 - (-(t + t0) / tau).exp())
                })
            } else {
                // Filling at a constant rate until its bound, then turning over.
                let fill = rng.range(0.5, 10.0) * HOUR;
                let t0 = rng.range(0.0, 0.5) * fill;
                sample(rng, &fr, |t, _| level + size * ((t + t0) / fill).min(1.0))
            };
            let limit = max_of(&s.1) * headroom;
            (false, s, limit)
        }
        "batch_step" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let len = fr.n as f64 * fr.dt;
            let mut steps = vec![(rng.range(0.1, 0.8) * len, rng.range(0.15, 0.8) * level)];
            if rng.chance(0.3) {
                steps.push((rng.range(0.1, 0.9) * len, rng.range(0.1, 0.5) * level));
            }
            // Some batches free their data again a few hours later.
            let freed = rng.chance(0.3).then(|| rng.range(1.0, 6.0) * HOUR);
            let ramp = rng.range(300.0, 3600.0);
            let s = sample(rng, &fr, |t, _| {
                let mut v = level;
                for (at, size) in &steps {
                    let up = ((t - at) / ramp).clamp(0.0, 1.0);
                    let down = freed.map_or(0.0, |f| ((t - at - f) / ramp).clamp(0.0, 1.0));
                    v += size * (up - down);
                }
                v
            });
            let limit = max_of(&s.1) * headroom;
            (false, s, limit)
        }
        "random_walk" => {
            let fr = Frame::new(rng, (1.0, 5.0));
            let theta = rng.log_range(0.5, 6.0) * HOUR;
            let sd = rng.range(0.01, 0.06);
            let mut x = sd * rng.normal();
            let dt = fr.dt;
            let step = sd * (2.0 * dt / theta).sqrt();
            let s = sample(rng, &fr, |_, rng| {
                x += -x * dt / theta + step * rng.normal();
                level * (1.0 + x)
            });
            let limit = max_of(&s.1) * headroom;
            (false, s, limit)
        }
        "restart_leak" | "restart_leak_id" | "restart_ok" | "restart_ok_id" => {
            let fr = Frame::new(rng, (2.5, 6.0));
            let leaking = family.starts_with("restart_leak");
            let fresh = rng.range(0.2, 0.7) * level;
            let warm_tau = rng.log_range(300.0, 2.0 * HOUR);
            // With a leak the service is OOM-killed at its limit every 12–30 h
            // (the time varies with traffic); without, it is redeployed as often.
            let mean_life = rng.range(12.0, 30.0) * HOUR;
            let oom = level * rng.range(1.3, 2.5);
            let rate = (oom - level) / mean_life;
            let mut born = -rng.range(0.0, mean_life);
            let mut life_rate = rate * rng.range(0.8, 1.25);
            let mut life_len = rng.range(12.0, 30.0) * HOUR;
            let mut inst = 1u64;
            let mut insts = Vec::with_capacity(fr.n);
            let s = sample(rng, &fr, |t, rng| loop {
                let age = t - born;
                let v = fresh
                    + (level - fresh) * (1.0 - (-age / warm_tau).exp())
                    + if leaking { life_rate * age } else { 0.0 };
                let ended = if leaking { v >= oom } else { age >= life_len };
                if !ended {
                    insts.push(inst);
                    return v;
                }
                born = t;
                inst += 1;
                life_rate = rate * rng.range(0.8, 1.25);
                life_len = rng.range(12.0, 30.0) * HOUR;
            });
            if family.ends_with("_id") {
                instance = Some(insts);
            }
            let limit = if leaking {
                oom
            } else {
                max_of(&s.1) * headroom
            };
            (leaking, s, limit)
        }
        other => panic!("unknown family {other}"),
    };
    Generated {
        family,
        seed,
        leak,
        cropped_h: 0.0,
        t_s: t,
        values: v,
        instance,
        limit,
    }
}

/// The family's series for `seed`, and its view from 6, 12 or 18 hours in.
pub fn with_crop(family: &'static str, seed: u64) -> Vec<Generated> {
    let full = generate(family, seed);
    let hours = [6.0, 12.0, 18.0][(seed % 3) as usize];
    let crop = full.cropped(hours);
    std::iter::once(full).chain(crop).collect()
}

/// The corpus's naive rule: the last hour grew more than 50 MB/h (end minus
/// start of the trailing hour, scaled for shorter histories of at least 60 s).
pub fn naive_first_alert(t: &[f64], v: &[f64]) -> Option<f64> {
    let mut start = 0;
    for i in 0..t.len() {
        while t[i] - t[start] > HOUR {
            start += 1;
        }
        let span = t[i] - t[start];
        if span >= 60.0 && (v[i] - v[start]) / span * HOUR > 50e6 {
            return Some(t[i]);
        }
    }
    None
}

/// Prometheus' `predict_linear(mem[6h], 4h) > limit`, evaluated at every
/// sample once six hours of data exist (earlier, a two-point fit fires on
/// any noise): least squares over the trailing 6 h, extrapolated 4 h ahead.
pub fn predict_linear_first_alert(t: &[f64], v: &[f64], limit: f64) -> Option<f64> {
    const RANGE: f64 = 6.0 * HOUR;
    const AHEAD: f64 = 4.0 * HOUR;
    let origin = t.first().copied()?;
    let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    let mut start = 0;
    for i in 0..t.len() {
        let x = t[i] - origin;
        n += 1.0;
        sx += x;
        sy += v[i];
        sxx += x * x;
        sxy += x * v[i];
        while t[i] - t[start] > RANGE {
            let x0 = t[start] - origin;
            n -= 1.0;
            sx -= x0;
            sy -= v[start];
            sxx -= x0 * x0;
            sxy -= x0 * v[start];
            start += 1;
        }
        if t[i] - origin < RANGE || n < 2.0 {
            continue;
        }
        let den = n * sxx - sx * sx;
        if den <= 0.0 {
            continue;
        }
        let slope = (n * sxy - sx * sy) / den;
        let intercept = (sy - slope * sx) / n;
        if intercept + slope * (x + AHEAD) > limit {
            return Some(t[i]);
        }
    }
    None
}
