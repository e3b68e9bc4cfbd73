//! Agent restart: stop the agent and start it again on the same store; the
//! history and the detectors' state are kept, so a leak found before the
//! stop is still a leak on the first tick after it, with no new warm-up.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use leakwatch_agent::agent::{Agent, AgentEvent, AgentOptions, Observation};
use leakwatch_agent::store::{Store, StoreConfig};
use leakwatch_core::{DetectorConfig, LeakState, Resource};

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const LEAKY_PY: &str = "import time\nkeep = []\ni = 0\nwhile True:\n    keep.append('a' * 100_000 + str(i))\n    i += 1\n    time.sleep(0.02)\n";

fn read(pid: u32) -> Vec<(Resource, f64)> {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).unwrap();
    let rss: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .count();
    vec![
        (Resource::RssBytes, rss * 4096.0),
        (Resource::Threads, threads as f64),
    ]
}

fn opts() -> AgentOptions {
    let mut detector = DetectorConfig::for_interval(0.1);
    detector.min_duration_s = 5.0;
    AgentOptions {
        detector,
        ..AgentOptions::default()
    }
}

fn now_s() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn stopping_and_starting_the_agent_keeps_history_and_detector_state() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("history.db");
    let prog = Killed(
        Command::new("python3")
            .args(["-c", LEAKY_PY])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = prog.0.id();
    let instance = format!("pid {pid}");
    let mut events = Vec::new();

    // First run: watch until the leak is found.
    let mut agent = Agent::new(
        opts(),
        None,
        None,
        Some(Store::open(&db, StoreConfig::default()).unwrap()),
    );
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        assert!(Instant::now() < deadline, "no leak found in the first run");
        let values = read(pid);
        let obs = Observation {
            key: "leaky-service",
            kind: "process",
            instance: &instance,
            values: &values,
            memory_limit: None,
            limits: &[],
            oom_kill_counter: None,
        };
        agent.observe(now_s(), &obs, &mut events).unwrap();
        agent.tick_done(now_s()).unwrap();
        let set = agent.detectors("leaky-service").unwrap();
        if set.detector(Resource::RssBytes).unwrap().state() == LeakState::Leak {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        events[0],
        AgentEvent::Started {
            key: "leaky-service".into(),
            resumed: false
        }
    );
    let before = agent
        .detectors("leaky-service")
        .unwrap()
        .detector(Resource::RssBytes)
        .unwrap()
        .clone();
    let rows_before = {
        let store = agent.store().unwrap();
        let id = store.target("leaky-service", "process").unwrap().id;
        store.history(id).unwrap().len()
    };
    assert_eq!(rows_before as u64, before.samples());
    agent.shutdown(Duration::from_secs(1)).unwrap();

    // The agent is down for a while; the program goes on leaking.
    std::thread::sleep(Duration::from_secs(2));

    // Second run on the same store.
    events.clear();
    let mut agent = Agent::new(
        opts(),
        None,
        None,
        Some(Store::open(&db, StoreConfig::default()).unwrap()),
    );
    let values = read(pid);
    let obs = Observation {
        key: "leaky-service",
        kind: "process",
        instance: &instance,
        values: &values,
        memory_limit: None,
        limits: &[],
        oom_kill_counter: None,
    };
    agent.observe(now_s(), &obs, &mut events).unwrap();
    agent.tick_done(now_s()).unwrap();
    assert_eq!(
        events[0],
        AgentEvent::Started {
            key: "leaky-service".into(),
            resumed: true
        }
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::Restarted { .. })),
        "same instance: resumed, not restarted: {events:?}"
    );
    let after = agent
        .detectors("leaky-service")
        .unwrap()
        .detector(Resource::RssBytes)
        .unwrap();
    assert_eq!(after.samples(), before.samples() + 1);
    assert_eq!(after.state(), LeakState::Leak, "{:?}", after.assessment());
    assert_eq!(after.first_alert_s(), before.first_alert_s());
    let store = agent.store().unwrap();
    let id = store.target("leaky-service", "process").unwrap().id;
    let history = store.history(id).unwrap();
    assert_eq!(history.len(), rows_before + 1);
    // Threads were kept too, not just the resource that leaked.
    assert!(history.iter().all(|r| r.mean(Resource::Threads).is_some()));
    drop(prog);
}
