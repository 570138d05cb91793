//! Connection and message counters, globally, per route and per `id`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;
use serde_json::{json, Value};

/// How many received messages are remembered per id.
pub const MAX_MESSAGES_PER_ID: usize = 10_000;

/// Counters shared by the global, per-route and per-id views.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct Counters {
    /// WebSocket connections ever accepted.
    pub opened: u64,
    /// WebSocket connections currently open.
    pub open: u64,
    /// Data messages received (heartbeat pings excluded).
    pub received: u64,
}

#[derive(Debug, Default)]
struct IdStats {
    counters: Counters,
    messages: VecDeque<String>,
    /// Bytes of `/flood` messages handed to the socket (a reader that stops reading
    /// stops this count once the TCP buffers are full).
    flooded: u64,
    /// `/resume` sessions started, and those the client ended (its `end`).
    sessions: u64,
    ended: u64,
    /// When each `/resume` handshake of this id arrived (Unix milliseconds, the last
    /// [`MAX_MESSAGES_PER_ID`]): the tests of a shared connection count its dials and time
    /// each new holder's first one.
    dials: VecDeque<u64>,
}

/// A received data message as recorded in the per-id message list.
#[derive(Debug, Clone, Copy)]
pub enum Received<'a> {
    /// A text message.
    Text(&'a str),
    /// A binary message of this many bytes.
    Binary(usize),
}

impl Received<'_> {
    fn describe(self) -> String {
        match self {
            Received::Text(t) => t.to_owned(),
            Received::Binary(n) => format!("<binary {n} bytes>"),
        }
    }
}

/// All statistics of one server.
#[derive(Debug)]
pub struct Stats {
    total: Counters,
    refused: u64,
    routes: BTreeMap<&'static str, Counters>,
    ids: HashMap<String, IdStats>,
}

impl Stats {
    /// Creates empty stats; `routes` are listed in the JSON even before use.
    pub fn new(routes: &[&'static str]) -> Self {
        Self {
            total: Counters::default(),
            refused: 0,
            routes: routes.iter().map(|r| (*r, Counters::default())).collect(),
            ids: HashMap::new(),
        }
    }

    /// Number of currently open WebSocket connections.
    pub fn open(&self) -> u64 {
        self.total.open
    }

    /// Records a handshake refused by a limit or `/control/refuse`.
    pub fn record_refused(&mut self) {
        self.refused += 1;
    }

    /// Records an accepted WebSocket connection.
    pub fn record_opened(&mut self, route: &'static str, id: Option<&str>) {
        for c in self.views(route, id) {
            c.opened += 1;
            c.open += 1;
        }
    }

    /// Records the end of a WebSocket connection.
    pub fn record_closed(&mut self, route: &'static str, id: Option<&str>) {
        for c in self.views(route, id) {
            c.open = c.open.saturating_sub(1);
        }
    }

    /// Records a received data message.
    pub fn record_message(&mut self, route: &'static str, id: Option<&str>, msg: Received<'_>) {
        for c in self.views(route, id) {
            c.received += 1;
        }
        if let Some(id) = id {
            let entry = self.ids.entry(id.to_owned()).or_default();
            if entry.messages.len() >= MAX_MESSAGES_PER_ID {
                entry.messages.pop_front();
            }
            entry.messages.push_back(msg.describe());
        }
    }

    /// Records `bytes` of a `/flood` message written to a connection tagged `id`.
    pub fn record_flooded(&mut self, id: &str, bytes: u64) {
        self.ids.entry(id.to_owned()).or_default().flooded += bytes;
    }

    /// Records a `/resume` session started for `id`.
    pub fn record_session(&mut self, id: &str) {
        self.ids.entry(id.to_owned()).or_default().sessions += 1;
    }

    /// Records a `/resume` handshake of `id` arriving at `unix_ms`.
    pub fn record_dial(&mut self, id: &str, unix_ms: u64) {
        let dials = &mut self.ids.entry(id.to_owned()).or_default().dials;
        if dials.len() == MAX_MESSAGES_PER_ID {
            dials.pop_front();
        }
        dials.push_back(unix_ms);
    }

    /// Records a `/resume` session of `id` that the client ended with `end` (the server
    /// then discards it).
    pub fn record_session_ended(&mut self, id: &str) {
        self.ids.entry(id.to_owned()).or_default().ended += 1;
    }

    /// Forgets per-id stats: of one id, or of all ids with `None`.
    ///
    /// Connections still open keep counting in `open` so the gauge stays right.
    pub fn reset(&mut self, id: Option<&str>) {
        let reset_one = |s: &mut IdStats| {
            s.counters.opened = 0;
            s.counters.received = 0;
            s.messages.clear();
            s.flooded = 0;
            s.sessions = 0;
            s.ended = 0;
            s.dials.clear();
        };
        match id {
            Some(id) => {
                if let Some(s) = self.ids.get_mut(id) {
                    reset_one(s);
                }
            }
            None => self.ids.values_mut().for_each(reset_one),
        }
        self.ids.retain(|_, s| s.counters.open > 0);
    }

    /// The `/stats` document.
    pub fn to_json(&self) -> Value {
        let routes: serde_json::Map<String, Value> = self
            .routes
            .iter()
            .map(|(r, c)| ((*r).to_owned(), json!(c)))
            .collect();
        json!({
            "opened": self.total.opened,
            "open": self.total.open,
            "received": self.total.received,
            "refused": self.refused,
            "routes": routes,
        })
    }

    /// The `/stats?id=X` document (zeros and no messages for an unknown id).
    pub fn id_json(&self, id: &str) -> Value {
        let empty = IdStats::default();
        let s = self.ids.get(id).unwrap_or(&empty);
        json!({
            "id": id,
            "opened": s.counters.opened,
            "open": s.counters.open,
            "received": s.counters.received,
            "messages": s.messages,
            "flooded": s.flooded,
            "sessions": s.sessions,
            "ended": s.ended,
            "dials": s.dials,
        })
    }

    /// The global, route and (if any) id counters a connection contributes to.
    fn views(&mut self, route: &'static str, id: Option<&str>) -> Vec<&mut Counters> {
        let mut out = vec![&mut self.total];
        out.push(self.routes.entry(route).or_default());
        if let Some(id) = id {
            out.push(&mut self.ids.entry(id.to_owned()).or_default().counters);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_globally_per_route_and_per_id() {
        let mut s = Stats::new(&["/echo", "/room"]);
        s.record_opened("/echo", Some("a"));
        s.record_message("/echo", Some("a"), Received::Text("hi"));
        s.record_message("/echo", Some("a"), Received::Binary(3));
        s.record_opened("/room", None);
        s.record_closed("/room", None);
        s.record_refused();
        let g = s.to_json();
        assert_eq!(g["opened"], 2);
        assert_eq!(g["open"], 1);
        assert_eq!(g["received"], 2);
        assert_eq!(g["refused"], 1);
        assert_eq!(
            g["routes"]["/echo"],
            json!({"opened":1,"open":1,"received":2})
        );
        assert_eq!(
            g["routes"]["/room"],
            json!({"opened":1,"open":0,"received":0})
        );
        let a = s.id_json("a");
        assert_eq!(
            a,
            json!({"id":"a","opened":1,"open":1,"received":2,"messages":["hi","<binary 3 bytes>"],"flooded":0,"sessions":0,"ended":0,"dials":[]})
        );
        assert_eq!(
            s.id_json("zz"),
            json!({"id":"zz","opened":0,"open":0,"received":0,"messages":[],"flooded":0,"sessions":0,"ended":0,"dials":[]})
        );
    }

    #[test]
    fn keeps_last_messages_and_resets() {
        let mut s = Stats::new(&[]);
        for i in 0..(MAX_MESSAGES_PER_ID + 5) {
            s.record_message("/echo", Some("x"), Received::Text(&i.to_string()));
        }
        let j = s.id_json("x");
        let msgs = j["messages"].as_array().unwrap();
        assert_eq!(msgs.len(), MAX_MESSAGES_PER_ID);
        assert_eq!(msgs[0], "5");
        s.record_opened("/echo", Some("x"));
        s.reset(Some("x"));
        assert_eq!(
            s.id_json("x"),
            json!({"id":"x","opened":0,"open":1,"received":0,"messages":[],"flooded":0,"sessions":0,"ended":0,"dials":[]})
        );
        s.record_flooded("x", 10);
        s.record_flooded("x", 5);
        assert_eq!(s.id_json("x")["flooded"], 15);
        s.record_session("x");
        s.record_session("x");
        s.record_session_ended("x");
        assert_eq!(
            (
                s.id_json("x")["sessions"].clone(),
                s.id_json("x")["ended"].clone()
            ),
            (json!(2), json!(1))
        );
        s.record_dial("x", 7);
        s.record_dial("x", 9);
        assert_eq!(s.id_json("x")["dials"], json!([7, 9]));
        s.record_closed("/echo", Some("x"));
        s.reset(None);
        assert_eq!(s.id_json("x")["open"], 0);
    }
}
