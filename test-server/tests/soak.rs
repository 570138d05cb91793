//! The built `soak-server` binary against a real redis-server: counting in both modes,
//! pushing, a resume on a second process after SIGKILL, `/soak/close` and `/soak/reset`.

mod common;

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use common::{http_raw, within, HttpResponse};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

struct Redis {
    url: String,
    child: Child,
}

impl Redis {
    /// Sends `signal` (`STOP`, `CONT`) to the redis-server.
    async fn signal(&self, signal: &str) {
        let pid = self.child.id().unwrap().to_string();
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .await;
        assert!(status.unwrap().success());
    }
}

async fn redis() -> Redis {
    for _ in 0..5 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is not installed (scripts/setup installs it)");
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Redis {
                    url: format!("redis://127.0.0.1:{port}"),
                    child,
                };
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    panic!("redis-server did not start");
}

struct Soak {
    addr: SocketAddr,
    child: Child,
}

async fn soak(redis: &Redis, name: &str) -> Soak {
    let mut child = Command::new(env!("CARGO_BIN_EXE_soak-server"))
        .args(["--port", "0", "--redis", &redis.url, "--name", name])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let line = within("the listening line", async {
        BufReader::new(stdout)
            .lines()
            .next_line()
            .await
            .unwrap()
            .unwrap()
    })
    .await;
    let prefix = format!("soak-server {name} listening on http://");
    let addr = line
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();
    Soak { addr, child }
}

impl Soak {
    async fn request(&self, method: &str, target: &str) -> HttpResponse {
        let request = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        );
        http_raw(self.addr, &request).await
    }

    async fn stats(&self, client: &str) -> serde_json::Value {
        let response = self.request("GET", "/soak/stats").await;
        assert_eq!(response.status, 200, "{}", response.text());
        response.json()[client].clone()
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(addr: SocketAddr, path: &str) -> Ws {
    // Both routes alike: the resume protocol is negotiated by the first frames.
    let request = format!("ws://{addr}{path}").into_client_request().unwrap();
    within("connect", tokio_tungstenite::connect_async(request))
        .await
        .unwrap()
        .0
}

async fn control(ws: &mut Ws, text: &str) {
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(text.as_bytes());
    ws.send(Message::Binary(bytes.into())).await.unwrap();
}

/// The next data text, skipping control messages.
async fn next_text(ws: &mut Ws) -> String {
    loop {
        match within("a message", ws.next()).await {
            Some(Ok(Message::Text(text))) => return text.to_string(),
            Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text, got {other:?}"),
        }
    }
}

/// The next control message's text.
async fn next_control(ws: &mut Ws) -> String {
    loop {
        match within("a control message", ws.next()).await {
            Some(Ok(Message::Binary(bytes))) if bytes.first() == Some(&1) => {
                return String::from_utf8(bytes[1..].to_vec()).unwrap()
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a control message, got {other:?}"),
        }
    }
}

async fn wait_stats(
    soak: &Soak,
    client: &str,
    pred: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    within("the stats", async {
        loop {
            let stats = soak.stats(client).await;
            if pred(&stats) {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_mode_counts_gaps_duplicates_and_late_numbers_and_pushes_a_shared_counter() {
    let redis = redis().await;
    let a = soak(&redis, "A").await;
    let mut ws = connect(a.addr, "/soak/plain?client=p1").await;
    for n in ["1", "2", "4", "2", "x"] {
        ws.send(Message::Text(n.into())).await.unwrap();
    }
    let stats = wait_stats(&a, "p1", |s| s["received"] == 5).await;
    assert_eq!(stats["highest"], 4);
    assert_eq!(stats["lost"], 1, "{stats}");
    assert_eq!(stats["duplicates"], 1, "{stats}");
    assert_eq!(stats["invalid"], 1, "{stats}");
    ws.send(Message::Text("3".into())).await.unwrap();
    let stats = wait_stats(&a, "p1", |s| s["received"] == 6).await;
    assert_eq!(stats["reordered"], 1, "{stats}");
    assert_eq!(stats["lost"], 0, "{stats}");
    // Pushes: numbers from the client's counter, in order.
    let first: u64 = next_text(&mut ws).await.parse().unwrap();
    let second: u64 = next_text(&mut ws).await.parse().unwrap();
    assert_eq!(second, first + 1);
    // A second process continues the counter.
    let b = soak(&redis, "B").await;
    drop(ws);
    let mut ws = connect(b.addr, "/soak/plain?client=p1").await;
    let next: u64 = next_text(&mut ws).await.parse().unwrap();
    assert!(next > second, "{next} after {second}");
    // `/soak/close` closes it with the code asked for.
    let response = b.request("POST", "/soak/close?code=1001").await;
    assert_eq!(response.status, 200, "{}", response.text());
    loop {
        match within("the close", ws.next()).await {
            Some(Ok(Message::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), 1001);
                break;
            }
            Some(Ok(Message::Text(_))) => continue,
            other => panic!("expected a close, got {other:?}"),
        }
    }
    assert_eq!(b.request("POST", "/soak/close?code=4000").await.status, 400);
    assert_eq!(a.request("GET", "/soak/plain").await.status, 400);
    // Reset forgets the counts.
    assert_eq!(a.request("POST", "/soak/reset").await.status, 200);
    assert_eq!(a.stats("p1").await, serde_json::Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_mode_survives_a_killed_process_without_loss_or_duplicates() {
    let redis = redis().await;
    let mut a = soak(&redis, "A").await;
    let b = soak(&redis, "B").await;
    let mut ws = connect(a.addr, "/soak/resume?client=r1").await;
    control(&mut ws, "hello").await;
    let welcome = next_control(&mut ws).await;
    let id = welcome
        .strip_prefix("welcome new ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_owned();
    for n in 1..=3 {
        ws.send(Message::Text(n.to_string().into())).await.unwrap();
    }
    // The pushes are the session's sequence numbers.
    assert_eq!(next_text(&mut ws).await, "1");
    assert_eq!(next_text(&mut ws).await, "2");
    wait_stats(&a, "r1", |s| s["received"] == 3).await;
    // Make sure the server recorded 1..=3 (the ack), then kill it.
    control(&mut ws, "ping 2").await;
    loop {
        if next_control(&mut ws).await == "ack 3" {
            break;
        }
    }
    a.child.start_kill().unwrap();
    let _ = a.child.wait().await;
    drop(ws);

    let mut ws = connect(b.addr, "/soak/resume?client=r1").await;
    control(&mut ws, &format!("resume {id} 2")).await;
    let welcome = next_control(&mut ws).await;
    assert_eq!(welcome, format!("welcome resumed {id} 3 3 512"));
    // Pushes go on from 3 (recorded by A and replayed, or pushed by B).
    assert_eq!(next_text(&mut ws).await, "3");
    assert_eq!(next_text(&mut ws).await, "4");
    ws.send(Message::Text("4".into())).await.unwrap();
    let stats = wait_stats(&b, "r1", |s| s["received"] == 4).await;
    assert_eq!(stats["highest"], 4);
    assert_eq!(stats["lost"], 0, "{stats}");
    assert_eq!(stats["duplicates"], 0, "{stats}");
    assert_eq!(stats["redelivered"], 0, "{stats}");
    assert!(stats["pushed"].as_u64().unwrap() >= 4, "{stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_with_exit_closes_the_sessions_and_ends_the_process() {
    let redis = redis().await;
    let mut a = soak(&redis, "A").await;
    let mut ws = connect(a.addr, "/soak/resume?client=e1").await;
    control(&mut ws, "hello").await;
    next_control(&mut ws).await;
    let response = a.request("POST", "/soak/close?code=1000&exit=1").await;
    assert_eq!(response.status, 200, "{}", response.text());
    loop {
        match within("the close", ws.next()).await {
            Some(Ok(Message::Close(Some(close)))) => {
                assert_eq!(u16::from(close.code), 1000);
                break;
            }
            Some(Ok(_)) => continue,
            other => panic!("expected a close, got {other:?}"),
        }
    }
    let status = within("the exit", a.child.wait()).await.unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_closes_every_websocket_with_1001_then_exits() {
    let redis = redis().await;
    let mut a = soak(&redis, "A").await;
    let mut plain = connect(a.addr, "/soak/plain?client=t1").await;
    let mut resumable = connect(a.addr, "/soak/resume?client=t2").await;
    control(&mut resumable, "hello").await;
    next_control(&mut resumable).await;
    next_text(&mut plain).await;
    let pid = a.child.id().unwrap().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().await;
    assert!(killed.unwrap().success());
    for ws in [&mut plain, &mut resumable] {
        loop {
            match within("the close", ws.next()).await {
                Some(Ok(Message::Close(Some(close)))) => {
                    assert_eq!(u16::from(close.code), 1001);
                    break;
                }
                Some(Ok(_)) => continue,
                other => panic!("expected a close, got {other:?}"),
            }
        }
    }
    let status = within("the exit", a.child.wait()).await.unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counting_waits_out_a_stopped_redis_and_drops_nothing() {
    let redis = redis().await;
    let a = soak(&redis, "A").await;
    let mut plain = connect(a.addr, "/soak/plain?client=w1").await;
    let mut ws = connect(a.addr, "/soak/resume?client=w2").await;
    control(&mut ws, "hello").await;
    let welcome = next_control(&mut ws).await;
    let id = welcome
        .strip_prefix("welcome new ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_owned();
    // Redis stops answering (as after a SIGSTOP) while a message of each kind arrives.
    redis.signal("STOP").await;
    let resumed = redis.signal("CONT");
    plain.send(Message::Text("1".into())).await.unwrap();
    ws.send(Message::Text("1".into())).await.unwrap();
    // Longer than a Redis reply may take (500 ms): the first attempts to count time out.
    tokio::time::sleep(Duration::from_secs(2)).await;
    resumed.await;
    let stats = wait_stats(&a, "w1", |s| s["received"] == 1).await;
    assert_eq!(stats["highest"], 1, "{stats}");
    assert_eq!(stats["duplicates"], 0, "{stats}");
    // The session may have lost its connection to the store failure (1011): the client
    // resumes and sends again what the welcome does not cover.
    drop(ws);
    let mut ws = connect(a.addr, "/soak/resume?client=w2").await;
    control(&mut ws, &format!("resume {id} 0")).await;
    let welcome = next_control(&mut ws).await;
    let words: Vec<&str> = welcome.split(' ').collect();
    assert_eq!(words[..3], ["welcome", "resumed", id.as_str()], "{welcome}");
    if words[3] == "0" {
        ws.send(Message::Text("1".into())).await.unwrap();
    }
    let stats = wait_stats(&a, "w2", |s| s["received"] == 1).await;
    assert_eq!(stats["highest"], 1, "{stats}");
    assert_eq!(stats["duplicates"], 0, "{stats}");
    assert_eq!(stats["lost"], 0, "{stats}");
}
