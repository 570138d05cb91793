//! Figures, not assertions about speed: `npm run bench` runs these (ignored in `npm test`).
//! Each workload runs on the browser's WebSocket from plain JS (the baseline), gloo-net,
//! our `WebSocket` and our `ReconnectingWebSocket`, in alternating order, and reports
//! medians and ratios to raw JS. Every figure prints a `BENCH` line for people and a
//! `BENCHJSON` line that scripts/bench-report.mjs turns into bench/results.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::{SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket as GlooSocket, Message as GlooMessage, State};
use std::time::Duration;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use ws_tether::{
    Backoff, ConnectionEvent as Ev, ExponentialBackoff, Heartbeat, Message, ReconnectingWebSocket,
    WebSocket,
};

wasm_bindgen_test_configure!(run_in_browser);

const ROUNDS: usize = 7;

#[wasm_bindgen(inline_js = r#"
export function raw_throughput(url, n, size, binary) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const payload = binary ? new Uint8Array(size) : 'x'.repeat(size);
    let got = 0, t0 = 0;
    ws.onopen = () => { t0 = performance.now(); for (let i = 0; i < n; i++) ws.send(payload); };
    ws.onmessage = () => {
      if (++got === n) { const t = performance.now() - t0; ws.onclose = () => resolve(t); ws.close(); }
    };
    ws.onerror = () => reject(new Error('raw socket error'));
  });
}
export function raw_latency(url, n, size) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const payload = 'x'.repeat(size);
    const samples = new Float64Array(n);
    let i = 0, t0 = 0;
    ws.onopen = () => { t0 = performance.now(); ws.send(payload); };
    ws.onmessage = () => {
      const t = performance.now();
      samples[i++] = t - t0;
      if (i === n) { ws.onclose = () => resolve(samples); ws.close(); return; }
      t0 = performance.now();
      ws.send(payload);
    };
    ws.onerror = () => reject(new Error('raw socket error'));
  });
}
// The reconnect loop of the memory figure in plain JS: reopen on every close. Calls
// `at(opens)` (which may return a promise) at each open; resolves after `n` opens.
export function raw_reconnect_cycles(url, n, at) {
  return new Promise((resolve) => {
    let opens = 0;
    const dial = () => {
      const ws = new WebSocket(url);
      let measured = Promise.resolve();
      ws.onopen = () => { opens++; measured = Promise.resolve(at(opens)); };
      ws.onclose = async () => { await measured; if (opens >= n) resolve(); else dial(); };
    };
    dial();
  });
}
export function collect_garbage() {
  if (typeof globalThis.gc === 'function') { globalThis.gc(); return true; }
  return false;
}
export function js_heap_bytes() {
  return performance.memory ? performance.memory.usedJSHeapSize : -1;
}
export function sleep_unclamped(ms) {
  // A timer set from a timer's own task, over and over, is clamped to 4 ms after a few
  // rounds: start each one from a message task instead, so every consumer sleeps `ms`.
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); setTimeout(resolve, ms); };
    channel.port2.postMessage(null);
  });
}
"#)]
extern "C" {
    fn raw_throughput(url: &str, n: u32, size: u32, binary: bool) -> js_sys::Promise;
    fn raw_latency(url: &str, n: u32, size: u32) -> js_sys::Promise;
    fn raw_reconnect_cycles(url: &str, n: u32, at: &js_sys::Function) -> js_sys::Promise;
    fn collect_garbage() -> bool;
    fn js_heap_bytes() -> f64;
    fn sleep_unclamped(ms: u32) -> js_sys::Promise;
}

fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .expect("performance")
        .now()
}

fn log(line: &str) {
    web_sys::console::log_1(&line.into());
}

fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn percentile(samples: &[f64], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let i = ((s.len() as f64 - 1.0) * p).round() as usize;
    s[i]
}

fn json_array(xs: &[f64]) -> String {
    let items: Vec<String> = xs.iter().map(|x| format!("{x:.3}")).collect();
    format!("[{}]", items.join(","))
}

/// The four sockets under test, in the order they are reported.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Imp {
    Raw,
    Gloo,
    Single,
    Reconnecting,
}

const IMPS: [Imp; 4] = [Imp::Raw, Imp::Gloo, Imp::Single, Imp::Reconnecting];

impl Imp {
    fn key(self) -> &'static str {
        match self {
            Imp::Raw => "raw",
            Imp::Gloo => "gloo",
            Imp::Single => "single",
            Imp::Reconnecting => "reconnecting",
        }
    }
}

/// Round `r` runs the sockets rotated by `r`, reversed on odd rounds, so none is always
/// first or always after the same one.
fn order(round: usize) -> Vec<Imp> {
    let mut o: Vec<Imp> = (0..IMPS.len())
        .map(|i| IMPS[(i + round) % IMPS.len()])
        .collect();
    if round % 2 == 1 {
        o.reverse();
    }
    o
}

/// Prints the medians per socket and their ratios to raw JS.
fn report_vs_raw(figure: &str, title: &str, unit: &str, per: &[(Imp, Vec<f64>)], extra: &str) {
    let med = |imp: Imp| median(&per.iter().find(|(i, _)| *i == imp).unwrap().1);
    let raw = med(Imp::Raw);
    let mut parts = Vec::new();
    let mut json = Vec::new();
    for (imp, samples) in per {
        let m = median(samples);
        parts.push(format!("{} {m:.2} ({:.3}x)", imp.key(), m / raw));
        json.push(format!(
            r#""{}":{{"median":{m:.4},"ratio":{:.4},"samples":{}}}"#,
            imp.key(),
            m / raw,
            json_array(samples)
        ));
    }
    log(&format!(
        "BENCH {title}: median {unit} over {ROUNDS} rounds: {}",
        parts.join(", ")
    ));
    log(&format!(
        r#"BENCHJSON {{"figure":"{figure}","title":"{title}","unit":"{unit}","rounds":{ROUNDS}{extra},"results":{{{}}}}}"#,
        json.join(",")
    ));
}

fn payload(size: usize, binary: bool) -> (Message, GlooMessage) {
    if binary {
        (
            Message::Binary(vec![7u8; size]),
            GlooMessage::Bytes(vec![7u8; size]),
        )
    } else {
        let s = "x".repeat(size);
        (Message::Text(s.clone()), GlooMessage::Text(s))
    }
}

async fn open_gloo(url: &str) -> GlooSocket {
    let ws = GlooSocket::open(url).expect("gloo-net open");
    within(5000, "gloo-net open", async {
        while !matches!(ws.state(), State::Open) {
            sleep(1).await;
        }
    })
    .await;
    ws
}

async fn open_reconnecting(url: &str) -> (ReconnectingWebSocket, ws_tether::ConnectionEvents) {
    let ws = ReconnectingWebSocket::builder(url).open().unwrap();
    let mut events = ws.events();
    next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
    (ws, events)
}

/// Milliseconds to send `n` messages of `size` bytes and receive all their echoes.
async fn throughput(imp: Imp, n: u32, size: usize, binary: bool) -> f64 {
    let url = ws_url("/echo");
    let (msg, gmsg) = payload(size, binary);
    let limit = 120_000;
    match imp {
        Imp::Raw => {
            let t = JsFuture::from(raw_throughput(&url, n, size as u32, binary))
                .await
                .expect("raw throughput");
            t.as_f64().unwrap()
        }
        Imp::Gloo => {
            let ws = open_gloo(&url).await;
            let (mut tx, mut rx) = ws.split();
            let t0 = perf_now();
            let send = async {
                for _ in 0..n {
                    tx.feed(gmsg.clone()).await.unwrap();
                }
                tx.flush().await.unwrap();
            };
            let recv = async {
                for _ in 0..n {
                    rx.next().await.unwrap().unwrap();
                }
            };
            within(limit, "gloo echoes", futures::future::join(send, recv)).await;
            perf_now() - t0
        }
        Imp::Single => {
            let ws = WebSocket::connect(url).await.unwrap();
            let (mut tx, mut rx) = ws.split();
            let t0 = perf_now();
            let send = async {
                for _ in 0..n {
                    tx.feed(msg.clone()).await.unwrap();
                }
                tx.flush().await.unwrap();
            };
            let recv = async {
                for _ in 0..n {
                    rx.next().await.unwrap().unwrap();
                }
            };
            within(limit, "echoes", futures::future::join(send, recv)).await;
            perf_now() - t0
        }
        Imp::Reconnecting => {
            let (mut ws, _events) = open_reconnecting(&url).await;
            let t0 = perf_now();
            for _ in 0..n {
                let _ = ws.send(msg.clone()).unwrap();
            }
            within(limit, "echoes", async {
                for _ in 0..n {
                    ws.next().await.unwrap();
                }
            })
            .await;
            let t = perf_now() - t0;
            ws.close();
            t
        }
    }
}

/// Round-trip times in ms of `n` sequential 32-byte text echoes.
async fn latency(imp: Imp, n: u32) -> Vec<f64> {
    let url = ws_url("/echo");
    let size = 32;
    let (msg, gmsg) = payload(size, false);
    let mut samples = Vec::with_capacity(n as usize);
    match imp {
        Imp::Raw => {
            let v = JsFuture::from(raw_latency(&url, n, size as u32))
                .await
                .expect("raw latency");
            samples = js_sys::Float64Array::from(v).to_vec();
        }
        Imp::Gloo => {
            let mut ws = open_gloo(&url).await;
            for _ in 0..n {
                let t0 = perf_now();
                ws.send(gmsg.clone()).await.unwrap();
                ws.next().await.unwrap().unwrap();
                samples.push(perf_now() - t0);
            }
        }
        Imp::Single => {
            let mut ws = WebSocket::connect(url).await.unwrap();
            for _ in 0..n {
                let t0 = perf_now();
                ws.send(msg.clone()).await.unwrap();
                ws.next().await.unwrap().unwrap();
                samples.push(perf_now() - t0);
            }
        }
        Imp::Reconnecting => {
            let (mut ws, _events) = open_reconnecting(&url).await;
            for _ in 0..n {
                let t0 = perf_now();
                let _ = ws.send(msg.clone()).unwrap();
                ws.next().await.unwrap();
                samples.push(perf_now() - t0);
            }
            ws.close();
        }
    }
    samples
}

async fn bench_throughput(figure: &str, title: &str, n: u32, size: usize, binary: bool) {
    let mut per: Vec<(Imp, Vec<f64>)> = IMPS.iter().map(|i| (*i, Vec::new())).collect();
    // One untimed warm-up of each, so no socket pays for the page's first JIT.
    for imp in IMPS {
        throughput(imp, n / 10, size, binary).await;
    }
    for round in 0..ROUNDS {
        for imp in order(round) {
            let t = throughput(imp, n, size, binary).await;
            per.iter_mut().find(|(i, _)| *i == imp).unwrap().1.push(t);
            sleep(20).await;
        }
    }
    let extra = format!(r#","messages":{n},"bytes":{size}"#);
    report_vs_raw(figure, title, "ms", &per, &extra);
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_throughput_text() {
    bench_throughput(
        "throughput_text",
        "throughput, 20,000 x 32 B text",
        20_000,
        32,
        false,
    )
    .await;
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_throughput_binary() {
    bench_throughput(
        "throughput_binary",
        "throughput, 2,000 x 64 KiB binary",
        2_000,
        64 * 1024,
        true,
    )
    .await;
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_latency() {
    let n = 2_000;
    let mut p50: Vec<(Imp, Vec<f64>)> = IMPS.iter().map(|i| (*i, Vec::new())).collect();
    let mut p99 = p50.clone();
    for imp in IMPS {
        latency(imp, 200).await;
    }
    for round in 0..ROUNDS {
        for imp in order(round) {
            let s = latency(imp, n).await;
            p50.iter_mut()
                .find(|(i, _)| *i == imp)
                .unwrap()
                .1
                .push(percentile(&s, 0.5));
            p99.iter_mut()
                .find(|(i, _)| *i == imp)
                .unwrap()
                .1
                .push(percentile(&s, 0.99));
            sleep(20).await;
        }
    }
    let extra = r#","round_trips":2000"#;
    report_vs_raw(
        "latency_p50",
        "latency p50, 2,000 round trips",
        "ms",
        &p50,
        extra,
    );
    report_vs_raw(
        "latency_p99",
        "latency p99, 2,000 round trips",
        "ms",
        &p99,
        extra,
    );
}

/// Forces a collection when Chromium exposes `gc` (webdriver.json passes --expose-gc).
async fn settle() -> bool {
    sleep(200).await;
    let forced = collect_garbage();
    sleep(50).await;
    collect_garbage();
    forced
}

fn wasm_memory_bytes() -> f64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    memory
        .buffer()
        .unchecked_into::<js_sys::ArrayBuffer>()
        .byte_length() as f64
}

/// Wasm memory and JS heap after `cycles[i]` reconnects, for each `i`, on our
/// `ReconnectingWebSocket`.
async fn ours_reconnect_memory(cycles: &[u32]) -> Vec<(f64, f64)> {
    let id = unique_id("bench-mem");
    let ws = ReconnectingWebSocket::builder(ws_url(&format!("/drop?after=0&id={id}")))
        .backoff(Backoff::custom(|_| Some(Duration::ZERO)))
        .heartbeat(Heartbeat::new(
            Duration::from_secs(5),
            Duration::from_secs(5),
        ))
        .open()
        .unwrap();
    let mut events = ws.events();
    let mut opens = 0;
    let mut out = Vec::new();
    let last = *cycles.last().unwrap();
    while opens < last {
        let ev = within(20000, "cycles", events.next())
            .await
            .expect("events ended");
        if matches!(ev, Ev::Open { .. }) {
            opens += 1;
            if cycles.contains(&opens) {
                settle().await;
                out.push((wasm_memory_bytes(), js_heap_bytes()));
            }
        }
    }
    drop(events);
    ws.close();
    drop(ws);
    out
}

/// The same reconnect loop in plain JS: the browser's own heap drift.
async fn raw_reconnect_memory(cycles: &[u32]) -> Vec<(f64, f64)> {
    let id = unique_id("bench-mem-raw");
    let marks: Vec<u32> = cycles.to_vec();
    let out = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let sink = out.clone();
    let at = Closure::<dyn FnMut(u32) -> js_sys::Promise>::new(move |opens: u32| {
        if !marks.contains(&opens) {
            return js_sys::Promise::resolve(&JsValue::UNDEFINED);
        }
        let sink = sink.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            settle().await;
            sink.borrow_mut()
                .push((wasm_memory_bytes(), js_heap_bytes()));
            Ok(JsValue::UNDEFINED)
        })
    });
    let url = ws_url(&format!("/drop?after=0&id={id}"));
    let last = *cycles.last().unwrap();
    within(
        120_000,
        "raw cycles",
        JsFuture::from(raw_reconnect_cycles(
            &url,
            last,
            at.as_ref().unchecked_ref(),
        )),
    )
    .await
    .expect("raw cycles");
    drop(at);
    let v = out.borrow().clone();
    v
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_memory_over_reconnects() {
    let cycles = [10, 100, 500, 1000];
    let forced = settle().await;
    // Raw JS first, then ours, then raw JS again: the second raw pass shows the drift of a
    // page that has already run everything once.
    let raw1 = raw_reconnect_memory(&cycles).await;
    let ours = ours_reconnect_memory(&cycles).await;
    let raw2 = raw_reconnect_memory(&cycles).await;
    let fmt = |v: &[(f64, f64)], pick: fn(&(f64, f64)) -> f64| {
        let items: Vec<String> = v.iter().map(|p| format!("{:.0}", pick(p))).collect();
        format!("[{}]", items.join(","))
    };
    let growth = |v: &[(f64, f64)]| (v[v.len() - 1].0 - v[0].0, v[v.len() - 1].1 - v[0].1);
    let (ow, oh) = growth(&ours);
    let (_, r1h) = growth(&raw1);
    let (_, r2h) = growth(&raw2);
    log(&format!(
        "BENCH memory after 1,000 vs 10 reconnect cycles: ours wasm linear memory {:.0} -> {:.0} B ({ow:+.0}), JS heap {oh:+.0} B; raw JS loop JS heap {r1h:+.0} B (first pass), {r2h:+.0} B (second pass){}",
        ours[0].0,
        ours[ours.len() - 1].0,
        if forced { "; after a forced GC" } else { "; no forced GC (gc not exposed)" }
    ));
    log(&format!(
        r#"BENCHJSON {{"figure":"memory","unit":"bytes","cycles":{cycles:?},"forced_gc":{forced},"wasm":{},"js_heap":{},"raw_js_heap_first":{},"raw_js_heap_second":{}}}"#,
        fmt(&ours, |p| p.0),
        fmt(&ours, |p| p.1),
        fmt(&raw1, |p| p.1),
        fmt(&raw2, |p| p.1),
    ));
}

fn report_vs_bound(figure: &str, name: &str, samples: Vec<f64>, bound_name: &str, bound: f64) {
    let m = median(&samples);
    let lo = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = samples.iter().copied().fold(0.0, f64::max);
    log(&format!(
        "BENCH {name}: median {m:.0} ms, min {lo:.0}, max {hi:.0} over {} rounds; {bound_name} {bound:.0} ms (median/{bound_name} = {:.2})",
        samples.len(),
        m / bound
    ));
    log(&format!(
        r#"BENCHJSON {{"figure":"{figure}","title":"{name}","unit":"ms","median":{m:.1},"bound_name":"{bound_name}","bound":{bound:.0},"ratio":{:.4},"samples":{}}}"#,
        m / bound,
        json_array(&samples)
    ));
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_recovery_after_refusal() {
    let max = Duration::from_millis(500);
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        let ws = ReconnectingWebSocket::builder(ws_url("/echo"))
            .backoff(
                ExponentialBackoff::new()
                    .min(Duration::from_millis(100))
                    .max(max),
            )
            .open()
            .unwrap();
        let mut events = ws.events();
        next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
        get_json("/control/refuse?ms=1000").await;
        let accepting_again = now_ms() + 1000.0;
        get_json("/control/drop-all").await;
        next_event(&mut events, 10000, "reopen", |e| {
            matches!(e, Ev::Open { .. })
        })
        .await;
        samples.push((now_ms() - accepting_again).max(0.0));
        ws.close();
    }
    report_vs_bound(
        "recovery",
        "recovery (server accepting again -> open)",
        samples,
        "backoff slot",
        max.as_millis() as f64,
    );
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_dead_peer_detection() {
    let hb = Heartbeat::new(Duration::from_millis(500), Duration::from_millis(500));
    let mut samples = Vec::new();
    for _ in 0..ROUNDS {
        let ws = ReconnectingWebSocket::builder(ws_url("/silent?hold=5"))
            .heartbeat(hb.clone())
            .open()
            .unwrap();
        let mut events = ws.events();
        next_event(&mut events, 5000, "open", |e| matches!(e, Ev::Open { .. })).await;
        let last_inbound = now_ms();
        next_event(&mut events, 5000, "dead", |e| {
            matches!(e, Ev::Reconnecting { .. })
        })
        .await;
        samples.push(now_ms() - last_inbound);
        ws.close();
    }
    let bound = (hb.interval() + hb.timeout()).as_millis() as f64;
    report_vs_bound(
        "dead_peer",
        "dead-peer detection (last inbound -> declared dead)",
        samples,
        "interval+timeout",
        bound,
    );
}

/// One flood of `n` x `size` bytes read by a consumer that sleeps `delay_ms` per message:
/// (whether it read through `WebSocketStream`, ms taken, peak wasm memory and JS heap growth
/// over the start). Wasm memory is sampled after every message; the JS heap every 256
/// messages, after a forced collection where Chromium exposes `gc`, so that it counts what
/// is held rather than garbage not collected yet.
async fn slow_consumer(
    backpressure: bool,
    n: u64,
    size: u64,
    delay_ms: u32,
) -> (bool, f64, f64, f64) {
    settle().await;
    let (wasm0, heap0) = (wasm_memory_bytes(), js_heap_bytes());
    let id = unique_id("bench-bp");
    let url = ws_url(&format!("/flood?n={n}&size={size}&binary=1&id={id}"));
    let t0 = perf_now();
    let mut ws = WebSocket::builder(url)
        .receive_backpressure(backpressure)
        .connect()
        .await
        .unwrap();
    let (mut wasm, mut heap) = (wasm0, heap0);
    for i in 0..n {
        match within(60000, "flood", ws.next()).await {
            Some(Ok(Message::Binary(b))) => assert!(b.starts_with(format!("{i}:").as_bytes())),
            other => panic!("message {i}: {other:?}"),
        }
        wasm = wasm.max(wasm_memory_bytes());
        if i % 256 == 255 {
            collect_garbage();
            heap = heap.max(js_heap_bytes());
        }
        let _ = JsFuture::from(sleep_unclamped(delay_ms)).await;
    }
    let ms = perf_now() - t0;
    let stream = ws.reads_with_backpressure();
    ws.close();
    (stream, ms, wasm - wasm0, heap - heap0)
}

#[wasm_bindgen_test]
#[ignore = "benchmark: run with npm run bench"]
async fn bench_receive_backpressure() {
    let (n, size, delay) = (4096, 64 * 1024, 1);
    // With it first: wasm memory never shrinks, so a run after the other would start high.
    let (stream, with_ms, with_wasm, with_heap) = slow_consumer(true, n, size, delay).await;
    let (_, without_ms, without_wasm, without_heap) = slow_consumer(false, n, size, delay).await;
    let mib = |b: f64| b / (1024.0 * 1024.0);
    log(&format!(
        "BENCH receive backpressure, {n} x {} KiB binary to a consumer sleeping {delay} ms per message: with it{} peak growth wasm {:.1} MiB + JS heap {:.1} MiB in {with_ms:.0} ms; without it wasm {:.1} MiB + JS heap {:.1} MiB in {without_ms:.0} ms",
        size / 1024,
        if stream { "" } else { " (no WebSocketStream here: the WebSocket path)" },
        mib(with_wasm),
        mib(with_heap),
        mib(without_wasm),
        mib(without_heap),
    ));
    log(&format!(
        r#"BENCHJSON {{"figure":"receive-backpressure","title":"receive backpressure, {n} x {} KiB binary, consumer sleeping {delay} ms per message","n":{n},"size":{size},"delay_ms":{delay},"stream":{stream},"results":{{"with":{{"ms":{with_ms:.0},"peak_wasm_growth":{with_wasm:.0},"peak_js_heap_growth":{with_heap:.0}}},"without":{{"ms":{without_ms:.0},"peak_wasm_growth":{without_wasm:.0},"peak_js_heap_growth":{without_heap:.0}}}}}}}"#,
        size / 1024,
    ));
}
