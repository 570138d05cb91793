//! The built binary: listening line on stdout, serving, and clean exit on
//! SIGTERM / SIGINT.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Extracts the port like the scripts do: `listening on http://[^:]+:(\d+)`.
fn port_from_line(line: &str) -> Option<u16> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    let colon = rest.find(':')?;
    if colon == 0 {
        return None;
    }
    let digits: String = rest[colon + 1..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

fn spawn_server(args: &[&str]) -> (Server, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_test-server"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn test-server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = match rx.recv_timeout(WAIT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("no listening line within {WAIT:?}");
        }
    };
    let port = port_from_line(&line).unwrap_or_else(|| panic!("bad line {line:?}"));
    (Server { child, port }, line)
}

fn http_get(port: u16, target: &str) -> String {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(WAIT)).unwrap();
    write!(tcp, "GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    tcp.read_to_string(&mut out).unwrap();
    out
}

fn wait_exit(server: &mut Server) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(server: &Server, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &server.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn prints_listening_line_and_serves() {
    let (server, line) = spawn_server(&["--port", "0"]);
    assert_eq!(
        line.trim_end(),
        format!("test-server listening on http://127.0.0.1:{}", server.port)
    );
    assert_ne!(server.port, 0);
    let resp = http_get(server.port, "/stats");
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(resp.contains("\"refused\":0"), "{resp}");
}

#[test]
fn sigterm_and_sigint_exit_zero() {
    for sig in ["-TERM", "-INT"] {
        let (mut server, _) = spawn_server(&["--port", "0", "--max-connections", "3"]);
        // Serve one request first so the runtime is fully up.
        assert!(http_get(server.port, "/stats").contains("200 OK"));
        signal(&server, sig);
        let status = wait_exit(&mut server);
        assert!(status.success(), "{sig}: exit status {status:?}");
        // No longer accepting.
        assert!(TcpStream::connect(("127.0.0.1", server.port)).is_err());
    }
}

#[test]
fn bad_flags_fail() {
    let out = Command::new(env!("CARGO_BIN_EXE_test-server"))
        .args(["--port", "notaport"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}

#[test]
fn port_regex_equivalent() {
    assert_eq!(
        port_from_line("test-server listening on http://127.0.0.1:8787\n"),
        Some(8787)
    );
    assert_eq!(port_from_line("nothing"), None);
}
