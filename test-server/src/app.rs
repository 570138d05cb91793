//! The router: every route's path and method, the plain HTTP routes (`/stats`,
//! `/control/*`), the static directories and the headers every response carries.
//! WebSocket sessions are in [`crate::ws`] and [`crate::garbage`].

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::routes::WS_ROUTES;
use crate::state::State as Shared;
use crate::{garbage, ws};

/// Longest window accepted by `/control/refuse` and `/control/mute-pings`: one day.
pub const MAX_WINDOW_MS: u64 = 86_400_000;

/// A `text/plain` response; a newline is appended to the message.
pub fn text(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, format!("{message}\n")).into_response()
}

/// The whole application for a server with `state`.
pub fn router(state: Arc<Shared>) -> Router {
    let mut app = Router::new()
        .route("/stats", get(stats).post(stats))
        .route(crate::resume::PATH, get(crate::resume::handle))
        .route(crate::chat::PATH, get(crate::chat::handle))
        .route("/control/drop-all", get(drop_all).post(drop_all))
        .route("/control/restart", get(restart).post(restart))
        .route("/control/refuse", get(refuse).post(refuse))
        .route("/control/mute-pings", get(mute_pings).post(mute_pings))
        .route("/control/reset", get(reset).post(reset))
        .route(
            "/control/{*rest}",
            get(unknown_control).post(unknown_control),
        );
    for &path in WS_ROUTES {
        app = if path == "/garbage" {
            app.route(path, get(garbage::handle))
        } else {
            app.route(
                path,
                get(move |s, q, h, l, u| ws::handle(path, s, q, h, l, u)),
            )
        };
    }
    // Unset directories answer 404 (a missing `--pkg` is not looked up under `--www`).
    app = match &state.config.pkg {
        Some(dir) => app.nest_service("/pkg", static_dir(dir)),
        None => app.route("/pkg/{*rest}", get(not_found)),
    };
    app = match &state.config.www {
        Some(dir) => app.fallback_service(static_dir(dir)),
        None => app.fallback(not_found),
    };
    app.with_state(state)
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods([Method::GET, Method::POST, Method::HEAD, Method::OPTIONS])
                .allow_headers(Any)
                .max_age(Duration::from_secs(86_400)),
        )
        // The tests restart servers and rebuild pages between runs: nothing is cached.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        // One request per connection, as the tests' raw HTTP clients read a response
        // to its end (hyper closes after a response that says so). Not on a 101, whose
        // `Connection: upgrade` is already there.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONNECTION,
            HeaderValue::from_static("close"),
        ))
}

/// A directory served as is: `dir/` and `dir` answer `dir/index.html`.
fn static_dir(dir: &std::path::Path) -> ServeDir {
    ServeDir::new(dir).redirect_to_trailing_slash(false)
}

async fn not_found() -> Response {
    text(StatusCode::NOT_FOUND, "not found")
}

async fn unknown_control() -> Response {
    text(
        StatusCode::NOT_FOUND,
        "unknown control route: use drop-all, refuse, mute-pings or reset",
    )
}

/// Query of `/stats` and the control routes.
#[derive(Debug, Deserialize)]
struct ControlQuery {
    /// Limits the route to connections opened with this `id`.
    id: Option<String>,
    /// A window in milliseconds (`/control/refuse`, `/control/mute-pings`).
    ms: Option<String>,
}

async fn stats(State(state): State<Arc<Shared>>, Query(q): Query<ControlQuery>) -> Response {
    let stats = state.stats();
    let doc = match q.id.as_deref() {
        Some(id) => stats.id_json(id),
        None => stats.to_json(),
    };
    Json(doc).into_response()
}

async fn drop_all(State(state): State<Arc<Shared>>, Query(q): Query<ControlQuery>) -> Response {
    // `?id=X` drops only the connections opened with that id.
    let n = state.drop_all(q.id.as_deref());
    tracing::info!(dropped = n, "control: drop-all");
    Json(json!({ "dropped": n })).into_response()
}

/// The `ms` window of `/control/refuse` and `/control/mute-pings`, or the 400 message.
fn window_ms(q: &ControlQuery) -> Result<u64, String> {
    q.ms.as_deref()
        .and_then(|raw| raw.trim().parse::<u64>().ok())
        .filter(|ms| *ms <= MAX_WINDOW_MS)
        .ok_or_else(|| {
            format!("bad query parameter ms: must be an integer from 0 to {MAX_WINDOW_MS} (milliseconds)")
        })
}

async fn refuse(State(state): State<Arc<Shared>>, Query(q): Query<ControlQuery>) -> Response {
    match window_ms(&q) {
        Ok(ms) => {
            state.refuse_for(ms);
            tracing::info!(ms, "control: refusing handshakes");
            Json(json!({ "refusing_ms": ms })).into_response()
        }
        Err(msg) => text(StatusCode::BAD_REQUEST, msg),
    }
}

/// As a restarting server: every connection closed (1012, the resume sessions stay) and
/// handshakes refused for `ms`.
async fn restart(State(state): State<Arc<Shared>>, Query(q): Query<ControlQuery>) -> Response {
    match window_ms(&q) {
        Ok(ms) => {
            state.refuse_for(ms);
            let dropped = state.drop_all(None);
            tracing::info!(ms, "control: restart");
            Json(json!({ "restarting_ms": ms, "dropped": dropped })).into_response()
        }
        Err(msg) => text(StatusCode::BAD_REQUEST, msg),
    }
}

async fn mute_pings(State(state): State<Arc<Shared>>, Query(q): Query<ControlQuery>) -> Response {
    match window_ms(&q) {
        Ok(ms) => {
            state.mute_pings_for(ms);
            tracing::info!(ms, "control: muting heartbeat pings");
            Json(json!({ "muted_ms": ms })).into_response()
        }
        Err(msg) => text(StatusCode::BAD_REQUEST, msg),
    }
}

async fn reset(State(state): State<Arc<Shared>>, Query(q): Query<ControlQuery>) -> Response {
    let id = q.id.as_deref();
    state.stats().reset(id);
    Json(json!({ "reset": id.unwrap_or("*") })).into_response()
}
