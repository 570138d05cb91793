//! What a hostile client can make the server hold, in counted bytes: every byte the process
//! allocates is counted (a counting global allocator), and the clients are raw TCP writers
//! and readers with fixed buffers, so what grows is the server's. Each limit of `Config`
//! is attacked past its bound (issue "Nothing lost under real load", findings 4, 6, 10).
//! The tests run one at a time: the count is the whole process's.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{text, within, Server};
use futures_util::{FutureExt as _, SinkExt as _};
use peak_alloc::PeakAlloc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use ws_tether_server::{Config, Sessions};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// One test at a time, each on a runtime of its own that is gone (its memory freed) before
/// the next one starts: the count is the process's.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn alone(test: impl std::future::Future<Output = ()>) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(test);
    drop(runtime);
}

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// The bytes held now, and the peak since the last call.
fn held() -> usize {
    HEAP.current_usage()
}

fn peak_since_reset() -> usize {
    HEAP.peak_usage()
}

/// A WebSocket client by hand: the upgrade, then frames written from the caller's bytes
/// (masked with a zero key: the payload goes as is) and read into a fixed buffer.
struct Raw {
    tcp: TcpStream,
}

impl Raw {
    async fn connect(addr: SocketAddr) -> Raw {
        let mut tcp = within("connect", TcpStream::connect(addr)).await.unwrap();
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        // The response, byte by byte up to its blank line (nothing follows it unasked).
        let mut response = Vec::new();
        while !response.ends_with(b"\r\n\r\n") {
            response.push(within("the upgrade", tcp.read_u8()).await.unwrap());
        }
        assert!(response.starts_with(b"HTTP/1.1 101"), "{response:?}");
        Raw { tcp }
    }

    /// A frame's header: FIN, the opcode, the mask bit with a zero key, the length.
    fn header(opcode: u8, len: usize) -> Vec<u8> {
        let mut header = vec![0x80 | opcode];
        match len {
            0..=125 => header.push(0x80 | len as u8),
            126..=0xffff => {
                header.push(0x80 | 126);
                header.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                header.push(0x80 | 127);
                header.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        header.extend_from_slice(&[0; 4]);
        header
    }

    async fn frame(&mut self, opcode: u8, payload: &[u8]) -> std::io::Result<()> {
        self.tcp
            .write_all(&Raw::header(opcode, payload.len()))
            .await?;
        self.tcp.write_all(payload).await
    }

    async fn hello(&mut self) {
        self.frame(2, b"\x01hello").await.unwrap();
    }

    /// The first two bytes of the next frame from the server: (opcode, first payload byte
    /// or length), enough to tell a welcome (binary) from a close.
    async fn next_opcode(&mut self) -> u8 {
        let first = within("a frame", self.tcp.read_u8()).await.unwrap();
        first & 0x0f
    }

    /// Reads and throws away what the server sends, for `time`, into a fixed buffer.
    async fn drain_for(&mut self, time: Duration) {
        let mut buffer = vec![0u8; 64 * KIB];
        let _ = tokio::time::timeout(time, async {
            loop {
                match self.tcp.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
    }
}

/// Finding 4: a first frame announcing 15 MiB (no session yet, no credential) costs the
/// server no more than `max_message_bytes` (1 MiB by default): it is refused from its
/// header, whatever follows.
#[test]
fn an_oversized_first_frame_costs_at_most_the_message_limit() {
    alone(async {
        let server = Server::start(Sessions::new(Config::default()).unwrap()).await;
        let mut client = Raw::connect(server.addr).await;
        let spaces = vec![b' '; 64 * KIB];
        let base = held();
        HEAP.reset_peak_usage();
        let len = 15 * MIB;
        let _ = client.tcp.write_all(&Raw::header(2, len)).await;
        let _ = client.tcp.write_all(b"\x01hello").await;
        for _ in 0..(len / spaces.len()) {
            if client.tcp.write_all(&spaces).await.is_err() {
                break;
            }
        }
        client.drain_for(Duration::from_millis(200)).await;
        let grew = peak_since_reset().saturating_sub(base);
        println!("a 15 MiB first frame: the process held {grew} bytes more at most");
        assert!(
            grew <= Config::default().max_message_bytes,
            "a 15 MiB first frame made the process hold {grew} bytes more"
        );
    });
}

/// Finding 10: a flood of `hello`s holds at most `max_sessions` sessions, each a bounded
/// number of bytes; the ones refused (1013) leave nothing behind.
#[test]
fn a_hello_flood_holds_at_most_max_sessions_each_bounded() {
    alone(async {
        const MAX: usize = 50;
        /// What an idle session (its connection, task, record, buffers) may hold at most.
        const PER_SESSION: usize = 24 * KIB;
        let server =
            Server::start(Sessions::new(Config::default().max_sessions(MAX)).unwrap()).await;
        let base = held();
        let mut clients = Vec::new();
        let (mut welcomed, mut refused) = (0, 0);
        for _ in 0..4 * MAX {
            let mut client = Raw::connect(server.addr).await;
            client.hello().await;
            match client.next_opcode().await {
                2 => welcomed += 1,
                8 => refused += 1,
                other => panic!("opcode {other}"),
            }
            clients.push(client);
        }
        assert_eq!((welcomed, refused), (MAX, 3 * MAX));
        assert_eq!(server.sessions.running(), MAX);
        // The clients were answered in turn: the first MAX hold sessions, the rest were
        // refused and close their connections here.
        let refused = clients.split_off(MAX);
        drop(refused);
        let sessions = clients;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let grew = held().saturating_sub(base);
        println!(
            "{MAX} idle sessions hold {grew} bytes: {} per session",
            grew / MAX
        );
        assert!(
            grew <= MAX * PER_SESSION,
            "{MAX} sessions hold {grew} bytes, over {PER_SESSION} each"
        );
        drop(sessions);
    });
}

/// A client that reads everything and never acknowledges: what the server keeps for it is
/// bounded by `max_buffer_bytes` (the application's send waits), not by what it sends:
/// twice that with `MemoryStore`, whose record is a copy (the one a resume on another
/// connection replays from), plus the connection's write buffer.
#[test]
fn a_client_that_never_acknowledges_costs_at_most_the_replay_buffer() {
    alone(async {
        let max = MIB;
        let mut server =
            Server::start(Sessions::new(Config::default().max_buffer_bytes(max)).unwrap()).await;
        let mut client = Raw::connect(server.addr).await;
        client.hello().await;
        let (id, _) = server.started().await;
        let mut sink = server.take_sink(&id);
        let chunk = "x".repeat(16 * KIB);
        let base = held();
        HEAP.reset_peak_usage();
        let reading = tokio::spawn(async move {
            client.drain_for(Duration::from_secs(2)).await;
            client
        });
        // 4 MiB offered; the sends stop once 1 MiB waits for acknowledgement.
        let mut sent = 0;
        for _ in 0..256 {
            let mut send = sink.send(text(&chunk));
            let accepted = match (&mut send).now_or_never() {
                Some(result) => result.is_ok(),
                None => tokio::time::timeout(Duration::from_millis(300), send)
                    .await
                    .is_ok(),
            };
            if !accepted {
                break;
            }
            sent += 1;
        }
        let _client = reading.await.unwrap();
        let grew = peak_since_reset().saturating_sub(base);
        println!("{sent} messages of 16 KiB accepted; the process held {grew} bytes more at most");
        assert!(sent * 16 * KIB <= max + 16 * KIB, "{sent} accepted");
        assert!(
            grew <= 2 * max + 768 * KIB,
            "a client that never acknowledges made the process hold {grew} bytes more"
        );
    });
}

/// Finding 6: a client sending past the receive window while the application takes
/// nothing costs at most the window and a few messages (the one past it, the one being
/// read, the read's copy): it is closed with 1002.
#[test]
fn a_client_past_its_window_costs_at_most_the_window() {
    alone(async {
        let window = 256 * KIB;
        let message = 64 * KIB;
        let config = Config::default()
            .max_incoming_bytes(window)
            .max_message_bytes(message);
        let mut server = Server::start_gated(Sessions::new(config).unwrap()).await;
        let mut client = Raw::connect(server.addr).await;
        client.hello().await;
        assert_eq!(client.next_opcode().await, 2);
        server.started().await;
        let payload = vec![b' '; message];
        let base = held();
        HEAP.reset_peak_usage();
        // 6.4 MiB offered without waiting for any ack.
        for _ in 0..100 {
            if client.frame(1, &payload).await.is_err() {
                break;
            }
        }
        client.drain_for(Duration::from_millis(300)).await;
        let grew = peak_since_reset().saturating_sub(base);
        println!("past a {window}-byte window: the process held {grew} bytes more at most");
        assert!(
            grew <= window + 4 * message,
            "a client past its window made the process hold {grew} bytes more"
        );
    });
}
