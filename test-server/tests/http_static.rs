//! Plain HTTP: static files, common headers, CORS preflight, error statuses.

mod common;

use common::*;

fn assert_common_headers(resp: &HttpResponse) {
    assert_eq!(resp.header("access-control-allow-origin"), Some("*"));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("connection"), Some("close"));
    let len: usize = resp
        .header("content-length")
        .expect("content-length")
        .parse()
        .unwrap();
    assert_eq!(len, resp.body.len());
}

async fn static_server() -> std::net::SocketAddr {
    let root = temp_dir("static");
    let www = root.join("www");
    let pkg = root.join("pkg");
    std::fs::create_dir_all(www.join("sub")).unwrap();
    std::fs::create_dir_all(pkg.join("snippets")).unwrap();
    std::fs::write(www.join("index.html"), "<h1>index</h1>").unwrap();
    std::fs::write(www.join("sub/index.html"), "<p>sub</p>").unwrap();
    std::fs::write(www.join("style.css"), "body{}").unwrap();
    std::fs::write(pkg.join("app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(pkg.join("app.js"), "export default 1;").unwrap();
    std::fs::write(pkg.join("app.d.ts"), "export {};").unwrap();
    std::fs::write(pkg.join("snippets/x.mjs"), "export {};").unwrap();
    std::fs::write(root.join("secret.txt"), "secret").unwrap();
    start(Config {
        www: Some(www),
        pkg: Some(pkg),
        ..Config::default()
    })
    .await
}

#[tokio::test]
async fn serves_www_and_pkg_with_content_types() {
    let addr = static_server().await;
    // Content types are tower-http's (mime_guess): what the browser tests need is a
    // JavaScript type for modules and application/wasm for the wasm.
    for (target, ctype, body) in [
        ("/", "text/html", &b"<h1>index</h1>"[..]),
        ("/index.html", "text/html", b"<h1>index</h1>"),
        ("/sub/", "text/html", b"<p>sub</p>"),
        ("/sub", "text/html", b"<p>sub</p>"),
        ("/style.css", "text/css", b"body{}"),
        ("/pkg/app_bg.wasm", "application/wasm", b"\0asm\x01\0\0\0"),
        ("/pkg/app.js", "text/javascript", b"export default 1;"),
        (
            "/pkg/snippets/x.mjs",
            "application/javascript",
            b"export {};",
        ),
    ] {
        let resp = http(addr, "GET", target).await;
        assert_eq!(resp.status, 200, "{target}");
        assert_eq!(resp.header("content-type"), Some(ctype), "{target}");
        assert_eq!(resp.body, body, "{target}");
        assert_common_headers(&resp);
    }
    let dts = http(addr, "GET", "/pkg/app.d.ts").await;
    assert_eq!((dts.status, &dts.body[..]), (200, &b"export {};"[..]));
    let head = http(addr, "HEAD", "/pkg/app.js").await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("17"));
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn missing_files_are_404_and_traversal_is_rejected() {
    let addr = static_server().await;
    for target in ["/nope.html", "/pkg/missing.js", "/pkg/"] {
        let resp = http(addr, "GET", target).await;
        assert_eq!(resp.status, 404, "{target}");
        assert_common_headers(&resp);
    }
    for target in [
        "/pkg/../secret.txt",
        "/../secret.txt",
        "/pkg/%2e%2e/secret.txt",
        "/sub/..%2f..%2fsecret.txt",
        "/pkg/..\\secret.txt",
    ] {
        // tower-http's ServeDir answers a path that leaves its root as a missing file.
        let resp = http(addr, "GET", target).await;
        assert_eq!(resp.status, 404, "{target}");
        assert!(!resp.text().contains("secret\n") && resp.text() != "secret");
        assert_common_headers(&resp);
    }
}

#[tokio::test]
async fn without_directories_everything_else_is_404() {
    let addr = start_default().await;
    for target in ["/", "/pkg/app.js", "/index.html"] {
        let resp = http(addr, "GET", target).await;
        assert_eq!(resp.status, 404, "{target}");
        assert_common_headers(&resp);
    }
}

#[tokio::test]
async fn stats_and_control_have_cors_and_json() {
    let addr = start_default().await;
    let resp = http(addr, "GET", "/stats").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_common_headers(&resp);
    let v = resp.json();
    for key in ["opened", "open", "received", "refused"] {
        assert_eq!(v[key], 0, "{key}");
    }
    assert_eq!(v["routes"].as_object().unwrap().len(), 9);

    // POST with a body is accepted and the body ignored.
    let resp = http_raw(
        addr,
        "POST /control/drop-all HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.json(), serde_json::json!({"dropped": 0}));
    assert_common_headers(&resp);

    let resp = http(addr, "GET", "/control/mute-pings?ms=-1").await;
    assert_eq!(resp.status, 400);
    assert_common_headers(&resp);
    let resp = http(addr, "GET", "/control/whatever").await;
    assert_eq!(resp.status, 404);
}

#[tokio::test]
async fn options_preflight_is_answered() {
    let addr = start_default().await;
    for target in ["*", "/stats", "/control/drop-all"] {
        // tower-http's CorsLayer answers a preflight 200 with an empty body.
        let resp = http(addr, "OPTIONS", target).await;
        assert_eq!(resp.status, 200, "{target}");
        assert!(resp.body.is_empty());
        assert!(resp
            .header("access-control-allow-methods")
            .unwrap()
            .contains("GET"));
        assert_common_headers(&resp);
    }
}

#[tokio::test]
async fn websocket_routes_without_upgrade_and_bad_requests() {
    let addr = start_default().await;
    let resp = http(addr, "GET", "/echo").await;
    assert_eq!(resp.status, 426);
    assert_common_headers(&resp);
    let resp = http(addr, "GET", "/reject?status=451").await;
    assert_eq!(resp.status, 451);
    let resp = http(addr, "GET", "/reject?status=200").await;
    assert_eq!(resp.status, 400);
    assert!(resp.text().contains("400 to 599"), "{}", resp.text());

    // hyper answers what it cannot parse itself, before any route or header layer.
    let resp = http_raw(addr, "NONSENSE\r\n\r\n").await;
    assert_eq!(resp.status, 400);
    let huge = format!("GET / HTTP/1.1\r\nX-Big: {}\r\n\r\n", "a".repeat(20_000));
    let resp = http_raw(addr, &huge).await;
    assert_eq!(resp.status, 431);
    let resp = http(addr, "DELETE", "/stats").await;
    assert_eq!(resp.status, 405);

    // An upgrade with a wrong version is refused.
    let resp = http_raw(
        addr,
        "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await;
    assert_eq!(resp.status, 426);
    assert_eq!(resp.header("sec-websocket-version"), Some("13"));
}
