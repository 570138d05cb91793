//! The figures as the table issue #21 shows them: absolute values, ratios to raw axum, the
//! issue's targets with a verdict, and notes on anything measured differently. The same
//! rows go to the terminal and, in the `BENCHJSON` line, to scripts/bench-report.mjs, which
//! puts them in bench/results and the README.

use hdrhistogram::Histogram;
use serde_json::{json, Value};

use crate::client::Kind;
use crate::{herd, idle, procfs, targets, throughput};

/// Everything one run measured.
#[derive(Debug)]
pub struct Results {
    load: throughput::Load,
    sessions: usize,
    herd_clients: usize,
    notes: Vec<String>,
    /// The echo load, per server.
    pub throughput: Vec<(Kind, throughput::Figures)>,
    /// Idle sessions, per server.
    pub idle: Vec<(Kind, idle::Figures)>,
    /// Reconnect herds, per server: the same node, then (Redis) another one.
    pub herd: Vec<(Kind, Vec<herd::Figures>)>,
}

/// The rendered figures.
#[derive(Debug)]
pub struct Report {
    setup: String,
    columns: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    targets: Vec<[String; 4]>,
    notes: Vec<String>,
    servers: Value,
}

/// Per server, the numbers the rows are made of.
#[derive(Debug, Default, Clone, Copy)]
pub struct Numbers {
    pub echoes_per_s: f64,
    pub busy: f64,
    pub load_busy: f64,
    pub others: [f64; 2],
    pub cpu_us: f64,
    pub redis_cpu_us: Option<f64>,
    pub redis_commands: Option<f64>,
    pub redis_requests: Option<f64>,
    pub redis_reads: Option<f64>,
    pub rtt_p50_ms: f64,
    pub rtt_p99_ms: f64,
    pub idle_bytes: f64,
    pub redis_idle_bytes: Option<f64>,
    pub herd_same: Option<(f64, f64, u64)>,
    pub herd_other: Option<(f64, f64, u64)>,
}

fn ms(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

fn ratio(x: f64, base: f64) -> String {
    if base > 0.0 {
        format!("{:.1}×", x / base)
    } else {
        "–".to_owned()
    }
}

fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Results {
    /// No figures yet.
    pub fn new(
        load: throughput::Load,
        sessions: usize,
        herd_clients: usize,
        notes: Vec<String>,
    ) -> Results {
        Results {
            load,
            sessions,
            herd_clients,
            notes,
            throughput: vec![],
            idle: vec![],
            herd: vec![],
        }
    }

    fn numbers(&self, kind: Kind) -> Numbers {
        let mut n = Numbers::default();
        let tck = procfs::ticks_per_second() as f64;
        if let Some((_, t)) = self.throughput.iter().find(|(k, _)| *k == kind) {
            let echoes = t.echoes.max(1) as f64;
            n.echoes_per_s = t.echoes as f64 / t.seconds;
            n.busy = t.server_cpu / t.seconds;
            n.load_busy = t.load_cpu / t.seconds;
            n.others = t.others_cpu.map(|c| c / t.seconds);
            n.cpu_us = t.server_cpu * 1e6 / echoes;
            n.redis_cpu_us = t.redis.map(|r| r.cpu_ticks as f64 / tck * 1e6 / echoes);
            n.redis_commands = t.redis.map(|r| r.commands as f64 / echoes);
            n.redis_requests = n.redis_commands.zip(t.request_share).map(|(c, s)| c * s);
            n.redis_reads = t.redis.map(|r| r.reads as f64 / echoes);
            n.rtt_p50_ms = ms(&t.rtt, 0.5);
            n.rtt_p99_ms = ms(&t.rtt, 0.99);
        }
        if let Some((_, i)) = self.idle.iter().find(|(k, _)| *k == kind) {
            let sessions = i.sessions.max(1) as f64;
            n.idle_bytes = i.rss_growth as f64 / sessions;
            n.redis_idle_bytes = i.redis_growth.map(|b| b as f64 / sessions);
        }
        if let Some((_, h)) = self.herd.iter().find(|(k, _)| *k == kind) {
            // Those over a second waited for a SYN retransmit (a full listen backlog).
            let pair = |f: &herd::Figures| {
                let slow = f.welcome.count_between(1_000_000, u64::MAX);
                (ms(&f.welcome, 0.5), ms(&f.welcome, 0.99), slow)
            };
            n.herd_same = h.first().map(pair);
            n.herd_other = h.get(1).map(pair);
        }
        n
    }

    /// Renders the table, the targets and the notes.
    pub fn report(&self) -> Report {
        let kinds: Vec<Kind> = self.throughput.iter().map(|(k, _)| *k).collect();
        let raw = self.numbers(Kind::Raw);
        let all: Vec<(Kind, Numbers)> = kinds.iter().map(|&k| (k, self.numbers(k))).collect();
        let mut rows = Vec::new();
        let mut row = |label: String, cell: &dyn Fn(Kind, &Numbers) -> String| {
            let mut r = vec![label];
            r.extend(all.iter().map(|(k, n)| cell(*k, n)));
            rows.push(r);
        };
        let conns = thousands(self.load.connections as f64);
        row(format!("echoes/s, {conns} connections"), &|k, n| match k {
            Kind::Raw => thousands(n.echoes_per_s),
            _ => format!(
                "{} ({})",
                thousands(n.echoes_per_s),
                ratio(n.echoes_per_s, raw.echoes_per_s)
            ),
        });
        row(
            "core 0: server / others, core 1: load generator / others".into(),
            &|_, n| {
                let pct = |x: f64| format!("{:.0} %", x * 100.0);
                format!(
                    "{} / {}, {} / {}",
                    pct(n.busy),
                    pct(n.others[0]),
                    pct(n.load_busy),
                    pct(n.others[1])
                )
            },
        );
        row(
            "server CPU µs per echo (+ Redis)".into(),
            &|k, n| match (k, n.redis_cpu_us) {
                (Kind::Raw, _) => format!("{:.1}", n.cpu_us),
                (_, None) => format!("{:.1} ({})", n.cpu_us, ratio(n.cpu_us, raw.cpu_us)),
                (_, Some(r)) => format!(
                    "{:.1} + {r:.1} ({} server, {} with Redis)",
                    n.cpu_us,
                    ratio(n.cpu_us, raw.cpu_us),
                    ratio(n.cpu_us + r, raw.cpu_us)
                ),
            },
        );
        row(
            format!("RTT p50 / p99, {conns} connections"),
            &|k, n| match k {
                Kind::Raw => format!("{:.1} / {:.1} ms", n.rtt_p50_ms, n.rtt_p99_ms),
                _ => format!(
                    "{:.1} / {:.1} ms ({} / {})",
                    n.rtt_p50_ms,
                    n.rtt_p99_ms,
                    ratio(n.rtt_p50_ms, raw.rtt_p50_ms),
                    ratio(n.rtt_p99_ms, raw.rtt_p99_ms)
                ),
            },
        );
        row(
            "Redis per echo: commands / requests / reads".into(),
            &|_, n| {
                let f = |x: Option<f64>| x.map_or("?".to_owned(), |x| format!("{x:.2}"));
                match n.redis_commands {
                    Some(_) => format!(
                        "{} / {} / {}",
                        f(n.redis_commands),
                        f(n.redis_requests),
                        f(n.redis_reads)
                    ),
                    None => "–".into(),
                }
            },
        );
        row(
            format!(
                "RSS per idle session, {} sessions",
                thousands(self.sessions as f64)
            ),
            &|k, n| {
                let kib = n.idle_bytes / 1024.0;
                let mut cell = match k {
                    Kind::Raw => format!("{kib:.1} KiB"),
                    _ => format!(
                        "{kib:.1} KiB ({:+.1} KiB over raw)",
                        kib - raw.idle_bytes / 1024.0
                    ),
                };
                if let Some(b) = n.redis_idle_bytes {
                    cell.push_str(&format!(" + {b:.0} B in Redis"));
                }
                cell
            },
        );
        let herd = thousands(self.herd_clients as f64);
        type Herd = Option<(f64, f64, u64)>;
        let herd_cell = |pick: fn(&Numbers) -> Herd| {
            move |k: Kind, n: &Numbers| {
                let Some((p50, p99, slow)) = pick(n) else {
                    return if k == Kind::Memory {
                        "– (one process)".into()
                    } else {
                        "–".into()
                    };
                };
                let mut cell = format!("{p50:.0} / {p99:.0} ms");
                match (k, raw.herd_same) {
                    (Kind::Raw, _) => cell.push_str(" (plain reconnect)"),
                    (_, Some((_, base, _))) => {
                        cell.push_str(&format!(" (p99 {})", ratio(p99, base)))
                    }
                    _ => {}
                }
                if slow > 0 {
                    cell.push_str(&format!(", {slow} over 1 s"));
                }
                cell
            }
        };
        row(
            format!("{herd} clients back at once: welcome p50 / p99, same node"),
            &herd_cell(|n| n.herd_same),
        );
        row("same, on another node".into(), &herd_cell(|n| n.herd_other));

        let targets = targets::of(&raw, &all, &herd);

        let mut notes = self.notes.clone();
        for (k, t) in &self.throughput {
            if t.failed > 0 {
                notes.push(format!(
                    "{}: {} of {} echo connections failed: {}",
                    k.key(),
                    t.failed,
                    t.connections,
                    t.first_error.as_deref().unwrap_or("?")
                ));
            }
        }
        for (k, i) in &self.idle {
            if i.failed > 0 {
                notes.push(format!(
                    "{}: {} idle sessions failed to open (figure over the {} that did)",
                    k.key(),
                    i.failed,
                    i.sessions
                ));
            }
        }
        for (k, hs) in &self.herd {
            for h in hs.iter().filter(|h| h.failed > 0) {
                notes.push(format!(
                    "{}: {} of {} clients did not come back: {}",
                    k.key(),
                    h.failed,
                    h.clients,
                    h.first_error.as_deref().unwrap_or("?")
                ));
            }
        }
        let servers: serde_json::Map<String, Value> = all
            .iter()
            .map(|(k, n)| {
                (
                    k.key().to_owned(),
                    json!({
                        "echoes_per_s": n.echoes_per_s,
                        "server_busy": n.busy,
                        "cpu_us_per_echo": n.cpu_us,
                        "redis_cpu_us_per_echo": n.redis_cpu_us,
                        "redis_commands_per_echo": n.redis_commands,
                        "redis_requests_per_echo": n.redis_requests,
                    "redis_reads_per_echo": n.redis_reads,
                        "rtt_p50_ms": n.rtt_p50_ms,
                        "rtt_p99_ms": n.rtt_p99_ms,
                        "idle_rss_bytes_per_session": n.idle_bytes,
                        "idle_redis_bytes_per_session": n.redis_idle_bytes,
                        "herd_same_node": n.herd_same.map(|(p50, p99, slow)| json!({"p50_ms": p50, "p99_ms": p99, "over_1s": slow})),
                        "herd_other_node": n.herd_other.map(|(p50, p99, slow)| json!({"p50_ms": p50, "p99_ms": p99, "over_1s": slow})),
                        "load_busy": n.load_busy,
                        "others_busy_core0": n.others[0],
                        "others_busy_core1": n.others[1],
                    }),
                )
            })
            .collect();
        let setup = format!(
            "Each server is its own process with a current-thread tokio runtime, pinned to core 0 (taskset); \
             the load generator runs on one thread on core 1; redis-server is not pinned. \
             {} connections each keep {} text messages of {} bytes in flight, every echo checked; \
             {:.0} s of warm-up, {:.0} s measured. Idle memory: RSS growth of a fresh server process after \
             {} connected sessions (raw: open sockets), divided by them. Core use: share of each core in the measured window (\"others\": every other process, \
             redis-server included, and interrupts). Herd: {} clients with a session \
             (one message each way, all acknowledged) lose their connections, and 1 s later all come back at \
             the same instant; timed from that instant to the welcome (raw: to the open socket); \"another node\" \
             is a second server process on the same Redis. Redis per echo: commands executed (those inside \
             scripts included, from INFO commandstats), requests (commands sent by a client, a script call \
             counting once: the share of a 0.3 s MONITOR sample after the window) and reads (Redis's read \
             events, INFO stats: requests arriving together, pipelined, count once).",
            thousands(self.load.connections as f64),
            throughput::IN_FLIGHT,
            throughput::MESSAGE_BYTES,
            self.load.warmup.as_secs_f64(),
            self.load.measure.as_secs_f64(),
            thousands(self.sessions as f64),
            herd,
        );
        Report {
            setup,
            columns: kinds
                .iter()
                .map(|k| match k {
                    Kind::Raw => "raw axum WebSocket",
                    Kind::Memory => "ws-tether-server, MemoryStore",
                    Kind::Redis => "ws-tether-server, RedisStore",
                })
                .collect(),
            rows,
            targets,
            notes,
            servers: Value::Object(servers),
        }
    }
}

impl Report {
    /// The table, then the notes, as markdown.
    pub fn markdown(&self) -> String {
        let mut md = format!(
            "{}\n\n| | {} |\n|---|{}\n",
            self.setup,
            self.columns.join(" | "),
            "---|".repeat(self.columns.len())
        );
        for r in &self.rows {
            md.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        if !self.targets.is_empty() {
            md.push_str("\n| target | goal | measured | verdict |\n|---|---|---|---|\n");
            for t in &self.targets {
                md.push_str(&format!("| {} |\n", t.join(" | ")));
            }
        }
        for n in &self.notes {
            md.push_str(&format!("\nNote: {n}\n"));
        }
        md
    }

    /// The `BENCHJSON` object (one line).
    pub fn json(&self) -> String {
        json!({
            "figure": "server",
            "title": "server: raw axum, ws-tether-server with MemoryStore and RedisStore",
            "setup": self.setup,
            "columns": self.columns,
            "rows": self.rows,
            "targets": self.targets,
            "notes": self.notes,
            "servers": self.servers,
        })
        .to_string()
    }
}
