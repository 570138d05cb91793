//! Issue #21's targets for the resume server, each with the figure it is judged on and a
//! verdict. A target a figure can't show is left out rather than guessed.

use crate::client::Kind;
use crate::report::Numbers;

fn verdict(met: bool) -> String {
    if met { "met" } else { "missed" }.to_owned()
}

/// The targets, as `[target, goal, measured, verdict]`; `raw` is the baseline, `all` every
/// server measured, `herd` the herd's size as printed.
pub fn of(raw: &Numbers, all: &[(Kind, Numbers)], herd: &str) -> Vec<[String; 4]> {
    let mut targets = Vec::new();
    let find = |kind: Kind| all.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n);
    if let Some(m) = find(Kind::Memory) {
        let r = m.cpu_us / raw.cpu_us;
        targets.push([
            "server: MemoryStore CPU per message".into(),
            "≤ 1.3× raw axum".into(),
            format!("{r:.2}×"),
            verdict(r <= 1.3),
        ]);
    }
    if let Some(redis) = find(Kind::Redis) {
        let r = redis.cpu_us / raw.cpu_us;
        targets.push([
            "server: RedisStore server CPU per message".into(),
            "≤ 2× raw axum".into(),
            format!("{r:.2}×"),
            verdict(r <= 2.0),
        ]);
        // A round trip is a request the server waits for (a script call counts once, however
        // many commands it runs). An echo is two messages, one each way.
        let trips = redis.redis_requests.unwrap_or(f64::NAN);
        targets.push([
            "server: RedisStore Redis round trips (requests) per message".into(),
            "≤ 0.1".into(),
            format!("{:.2} ({trips:.2} per echo of two messages)", trips / 2.0),
            verdict(trips / 2.0 <= 0.1),
        ]);
    }
    let worst_idle = all
        .iter()
        .filter(|(k, _)| *k != Kind::Raw)
        .map(|(_, n)| n.idle_bytes)
        .fold(f64::NAN, f64::max);
    if !worst_idle.is_nan() {
        let over = (worst_idle - raw.idle_bytes) / 1024.0;
        targets.push([
            "server: idle session".into(),
            "≤ 8 KiB over raw axum".into(),
            format!("{over:+.1} KiB (worst store)"),
            verdict(over <= 8.0),
        ]);
    }
    if let Some((base50, base, base_slow)) = raw.herd_same {
        for (k, n) in all {
            for (where_, p) in [("same node", n.herd_same), ("another node", n.herd_other)] {
                if let (Kind::Memory | Kind::Redis, Some((p50, p99, _))) = (k, p) {
                    let r = p99 / base;
                    // A baseline whose own p99 is a SYN retransmit (a full listen backlog:
                    // 1 s) hides the difference the target is about.
                    let judged = if base_slow > 0 {
                        format!("not judged: {base_slow} plain reconnects waited for a SYN retransmit (over 1 s)")
                    } else {
                        verdict(r <= 2.0)
                    };
                    targets.push([
                        format!("server: {herd} resumes at once, p99, {}, {where_}", k.key()),
                        "≤ 2× a plain reconnect".into(),
                        format!("{r:.2}× (p50 {:.2}×)", p50 / base50),
                        judged,
                    ]);
                }
            }
        }
    }
    targets
}
