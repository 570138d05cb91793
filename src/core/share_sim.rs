//! A simulated origin for the cross-tab tests: tabs (each a [`Tab`] with its timers), a
//! BroadcastChannel (posts reach each tab in the order they were made, each tab at its own
//! pace; a frozen tab's wait), a Web Lock
//! (granted in request order, released by a crash at once), and a server speaking the
//! resume protocol with the core's own codec. Virtual clock; nothing real.

use crate::core::backoff::Rng;
use crate::core::machine::{Action, ConnId, ConnectionEvent, Time, Timer};
use crate::core::policy::{Config, Heartbeat};
use crate::core::resume::{LostReason, Resume};
use crate::core::share::{Output, ShareTimer, Sharing, Tab};
use crate::core::share_post::{Post, TabId};
use crate::{CloseInfo, Message};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

#[path = "share_sim_server.rs"]
mod server;
pub(super) use server::Server;

/// A post in flight: its maker, its number among all posts, its bytes.
type Posted = (TabId, u64, Vec<u8>);

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub(super) fn text(s: &str) -> Message {
    Message::Text(s.to_owned())
}

pub(super) fn resume_cfg() -> Config {
    Config {
        resume: Some(Resume::default()),
        heartbeat: Some(Heartbeat::new(
            Duration::from_secs(5),
            Duration::from_secs(5),
        )),
        ..Config::default()
    }
}

pub(super) struct SimTab {
    pub tab: Tab,
    pub alive: bool,
    pub frozen: bool,
    timers: HashMap<ShareTimer, Time>,
    mtimers: HashMap<Timer, Time>,
    pub delivered: Vec<Message>,
    pub events: Vec<ConnectionEvent>,
    /// Sends the tab accepted, in order.
    pub sent: Vec<Message>,
    /// What this tab's application was told was lost.
    pub lost: Vec<Message>,
    /// Server messages it was told it missed, by how many had been delivered then.
    pub skips: Vec<(usize, Option<u64>)>,
}

/// One WebSocket connection between a tab's machine and the server.
pub(super) struct Conn {
    pub tab: TabId,
    pub id: ConnId,
    pub opened: bool,
    pub c2s: VecDeque<Message>,
    pub s2c: VecDeque<Message>,
}

pub(super) struct World {
    pub now: Time,
    pub rng: Rng,
    pub cfg: Config,
    pub sharing: Sharing,
    pub tabs: BTreeMap<TabId, SimTab>,
    next_tab: TabId,
    /// Posts in flight, per receiver (keyed `(0, receiver)`), in the order they were made.
    /// Each post with its maker and its number among all posts.
    channel: BTreeMap<(TabId, TabId), VecDeque<Posted>>,
    posted: u64,
    pub lock: Option<TabId>,
    /// Whether the lock's holder was told.
    granted: bool,
    lock_queue: VecDeque<TabId>,
    pub conns: Vec<Conn>,
    pub server: Server,
    pub takeovers: u64,
    pub max_conns: usize,
    /// A tab whose posts are slow (a loaded machine): they wait in `late` until
    /// `release_late`, while the lock and everything else move on.
    pub slow: Option<TabId>,
    late: Vec<(TabId, Posted)>,
}

impl World {
    pub fn new(cfg: Config, sharing: Sharing, seed: u64) -> World {
        World {
            now: Duration::ZERO,
            rng: Rng::new(seed),
            cfg,
            sharing,
            tabs: BTreeMap::new(),
            next_tab: 1,
            channel: BTreeMap::new(),
            posted: 0,
            lock: None,
            granted: false,
            lock_queue: VecDeque::new(),
            conns: Vec::new(),
            server: Server::default(),
            takeovers: 0,
            max_conns: 0,
            slow: None,
            late: Vec::new(),
        }
    }

    /// A tab opens its socket.
    pub fn open_tab(&mut self) -> TabId {
        let id = self.next_tab;
        self.next_tab += 1;
        let tab = Tab::new(id, self.cfg.clone(), self.sharing, id, self.now);
        let sim = SimTab {
            tab,
            alive: true,
            frozen: false,
            timers: HashMap::new(),
            mtimers: HashMap::new(),
            delivered: Vec::new(),
            events: Vec::new(),
            sent: Vec::new(),
            lost: Vec::new(),
            skips: Vec::new(),
        };
        self.tabs.insert(id, sim);
        self.drain(id);
        id
    }

    pub fn live(&self) -> Vec<TabId> {
        (self.tabs.iter())
            .filter(|(_, t)| t.alive)
            .map(|(id, _)| *id)
            .collect()
    }

    pub fn holder(&self) -> Option<TabId> {
        self.live()
            .into_iter()
            .find(|id| self.tabs[id].tab.is_holder())
    }

    /// Carries out tab `id`'s outputs.
    pub fn drain(&mut self, id: TabId) {
        let now = self.now;
        while let Some(output) = self.tabs.get_mut(&id).and_then(|t| t.tab.poll()) {
            let t = self.tabs.get_mut(&id).expect("tab");
            match output {
                Output::Post(bytes) => {
                    self.posted += 1;
                    let posted = (id, self.posted, bytes);
                    for other in self.tabs.keys().filter(|o| **o != id) {
                        if self.slow == Some(id) {
                            self.late.push((*other, posted.clone()));
                            continue;
                        }
                        // One queue per receiver: posts arrive in the order they were made
                        // (a BroadcastChannel's messages are relayed by one browser process).
                        let q = self.channel.entry((0, *other)).or_default();
                        q.push_back(posted.clone());
                    }
                }
                Output::Deliver(m) => t.delivered.push(m),
                Output::Emit(e) => {
                    if let ConnectionEvent::SessionLost {
                        unconfirmed,
                        missed,
                        ..
                    } = &e
                    {
                        t.lost.extend(unconfirmed.iter().cloned());
                        t.skips.push((t.delivered.len(), *missed));
                    }
                    t.events.push(e);
                }
                Output::SetTimer { timer, after } => {
                    t.timers.insert(timer, now + after);
                }
                Output::CancelTimer(timer) => {
                    t.timers.remove(&timer);
                }
                Output::RequestLock => {
                    if !self.lock_queue.contains(&id) && self.lock != Some(id) {
                        self.lock_queue.push_back(id);
                    }
                }
                Output::ReleaseLock => {
                    self.lock_queue.retain(|q| *q != id);
                    if self.lock == Some(id) {
                        self.lock = None;
                    }
                }
                Output::Holder(h) => {
                    self.takeovers += u64::from(h == id);
                    if h == id
                        && (traced(id) || std::env::var("SHARE_TRACE").is_ok_and(|v| v == "holds"))
                    {
                        let x = &t.tab;
                        eprintln!(
                            "{now:?} tab {id} holds: term {} recv {} floor {} start {} mirror {}+{} server recv {}",
                            x.term, x.recv, x.floor, x.start, x.mirror.acked, x.mirror.entries.len(), self.server.recv
                        );
                    }
                }
                Output::Socket(action) => self.socket_action(id, action),
            }
        }
        self.grant_lock();
    }

    fn socket_action(&mut self, tab: TabId, action: Action) {
        let now = self.now;
        match action {
            Action::Dial { id } => {
                self.conns.push(Conn {
                    tab,
                    id,
                    opened: false,
                    c2s: VecDeque::new(),
                    s2c: VecDeque::new(),
                });
                self.input(tab, move |m, _| m.socket_created(id));
            }
            Action::Write { id, message } => {
                let conn = self.conns.iter_mut().find(|c| c.tab == tab && c.id == id);
                let conn = conn.expect("a write to a socket that exists");
                assert!(conn.opened, "a write before open");
                conn.c2s.push_back(message);
            }
            Action::CloseSocket { id, .. } | Action::StartClose { id, .. } => {
                let user = matches!(action, Action::StartClose { .. });
                // What was written reaches the server before the close.
                if let Some(i) = self.conns.iter().position(|c| c.tab == tab && c.id == id) {
                    while let Some(f) = self.conns[i].c2s.pop_front() {
                        self.server_frame(i, f);
                    }
                    self.close_conn(tab, id);
                }
                if user {
                    let close = CloseInfo {
                        code: 1000,
                        reason: String::new(),
                        was_clean: true,
                    };
                    self.input(tab, move |m, now| m.on_close(id, close, now));
                }
            }
            Action::SetTimer { timer, after } => {
                self.tabs
                    .get_mut(&tab)
                    .expect("tab")
                    .mtimers
                    .insert(timer, now + after);
            }
            Action::CancelTimer(timer) => {
                self.tabs.get_mut(&tab).expect("tab").mtimers.remove(&timer);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    /// Feeds tab `tab`'s machine.
    pub fn input(&mut self, tab: TabId, f: impl FnOnce(&mut crate::core::machine::Machine, Time)) {
        let now = self.now;
        if let Some(t) = self.tabs.get_mut(&tab).filter(|t| t.alive) {
            t.tab.socket(now, f);
        }
        self.drain(tab);
    }

    fn grant_lock(&mut self) {
        while self.lock.is_none() {
            let Some(next) = self.lock_queue.pop_front() else {
                break;
            };
            if self.tabs.get(&next).is_some_and(|t| t.alive) {
                self.lock = Some(next);
                self.granted = false;
            }
        }
        // A frozen tab's grant waits until it runs again.
        if let Some(next) = self.lock.filter(|id| !self.granted && self.runnable(*id)) {
            self.granted = true;
            let now = self.now;
            self.tabs
                .get_mut(&next)
                .expect("tab")
                .tab
                .lock_acquired(now);
            self.drain(next);
        }
    }

    /// Forgets a connection; the server detaches it (its session stays).
    fn close_conn(&mut self, tab: TabId, id: ConnId) {
        self.conns.retain(|c| !(c.tab == tab && c.id == id));
        if self.server.conn == Some((tab, id)) {
            self.server.conn = None;
        }
    }

    pub fn tab_send(&mut self, id: TabId) {
        let t = self.tabs.get_mut(&id).expect("tab");
        let m = text(&format!("t{id}-{}", t.sent.len() + 1));
        if t.tab.send(m.clone()).is_ok() {
            t.sent.push(m);
        }
        self.drain(id);
    }

    fn runnable(&self, id: TabId) -> bool {
        self.tabs.get(&id).is_some_and(|t| t.alive && !t.frozen)
    }

    /// Delivers one post in flight to a tab that runs; `false` if none.
    pub fn deliver_post(&mut self) -> bool {
        let ready: Vec<(TabId, TabId)> = (self.channel.iter())
            .filter(|((_, to), q)| !q.is_empty() && self.runnable(*to))
            .map(|(k, _)| *k)
            .collect();
        if ready.is_empty() {
            return false;
        }
        let key = ready[(self.rng.next_f64() * ready.len() as f64) as usize % ready.len()];
        let (_, _, bytes) = self
            .channel
            .get_mut(&key)
            .and_then(VecDeque::pop_front)
            .expect("post");
        let now = self.now;
        if traced(key.1) {
            eprintln!("{now:?} tab {} <- {:?}", key.1, decode(&bytes));
        }
        let t = self.tabs.get_mut(&key.1).expect("tab");
        t.tab.on_post(&bytes, now).expect("a readable post");
        self.drain(key.1);
        true
    }

    /// Moves one frame of the network, either way; `false` if none could move.
    pub fn network(&mut self) -> bool {
        // Open what was dialled.
        if let Some(i) = self
            .conns
            .iter()
            .position(|c| !c.opened && self.runnable(c.tab))
        {
            self.conns[i].opened = true;
            let (tab, id) = (self.conns[i].tab, self.conns[i].id);
            self.input(tab, move |m, now| m.on_open(id, String::new(), now));
            return true;
        }
        let up: Vec<usize> = (0..self.conns.len())
            .filter(|i| !self.conns[*i].c2s.is_empty())
            .collect();
        let down: Vec<usize> = (0..self.conns.len())
            .filter(|i| !self.conns[*i].s2c.is_empty() && self.runnable(self.conns[*i].tab))
            .collect();
        let pick =
            |rng: &mut Rng, v: &[usize]| v[(rng.next_f64() * v.len() as f64) as usize % v.len()];
        match (up.is_empty(), down.is_empty()) {
            (true, true) => false,
            (false, d) if d || self.rng.next_f64() < 0.5 => {
                let i = pick(&mut self.rng, &up);
                let f = self.conns[i].c2s.pop_front().expect("frame");
                self.server_frame(i, f);
                true
            }
            _ => {
                let i = pick(&mut self.rng, &down);
                let f = self.conns[i].s2c.pop_front().expect("frame");
                let (tab, id) = (self.conns[i].tab, self.conns[i].id);
                self.input(tab, move |m, now| m.on_message(id, f, now));
                true
            }
        }
    }

    /// Lets `d` pass, firing the timers of the tabs that run. A post reaches a tab that
    /// runs within the step (a BroadcastChannel's latency is far below 10 ms).
    pub fn advance(&mut self, d: Duration) {
        while self.deliver_post() {}
        self.grant_lock();
        let target = self.now + d;
        loop {
            let due = (self.tabs.iter())
                .filter(|(_, t)| t.alive && !t.frozen)
                .flat_map(|(id, t)| {
                    let share = t.timers.iter().map(move |(k, at)| (*at, *id, Err(*k)));
                    let machine = t.mtimers.iter().map(move |(k, at)| (*at, *id, Ok(*k)));
                    share.chain(machine)
                })
                .filter(|(at, ..)| *at <= target)
                .min_by_key(|(at, id, k)| (*at, *id, k.map(Timer::index).map_err(|t| t as usize)));
            let Some((at, id, timer)) = due else {
                break;
            };
            self.now = self.now.max(at);
            let now = self.now;
            let t = self.tabs.get_mut(&id).expect("tab");
            match timer {
                Ok(timer) => {
                    t.mtimers.remove(&timer);
                    self.input(id, move |m, now| m.on_timer(timer, now));
                }
                Err(timer) => {
                    t.timers.remove(&timer);
                    t.tab.on_timer(timer, now);
                    self.drain(id);
                }
            }
        }
        self.now = target;
        self.max_conns = self.max_conns.max(self.conns.len());
    }

    /// The tab's page dies without a word: its lock goes, its connection drops (what it
    /// wrote may or may not have reached the server), its unread posts are gone.
    pub fn crash(&mut self, id: TabId) {
        let t = self.tabs.get_mut(&id).expect("tab");
        t.alive = false;
        self.channel.retain(|(_, to), _| *to != id);
        let mine: Vec<usize> = (0..self.conns.len())
            .filter(|i| self.conns[*i].tab == id)
            .collect();
        for i in mine.into_iter().rev() {
            let keep = (self.rng.next_f64() * (self.conns[i].c2s.len() + 1) as f64) as usize;
            for _ in 0..keep {
                let f = self.conns[i].c2s.pop_front().expect("frame");
                self.server_frame(i, f);
            }
            let cid = self.conns[i].id;
            self.close_conn(id, cid);
        }
        self.lock_queue.retain(|q| *q != id);
        if self.lock == Some(id) {
            self.lock = None;
            self.grant_lock();
        }
    }

    /// As [`World::crash`], and the tab's newest posts not delivered yet die with it (still in
    /// its renderer when it died: lost for every receiver alike), while what it wrote to its
    /// socket may have gone out: a browser's network process sends a frame on its own.
    pub fn crash_losing_posts(&mut self, id: TabId) {
        let mut mine: Vec<u64> = (self.channel.values().flatten())
            .filter(|(from, ..)| *from == id)
            .map(|(_, serial, _)| *serial)
            .collect();
        mine.sort_unstable();
        mine.dedup();
        let lose = (self.rng.next_f64() * (mine.len() + 1) as f64) as usize;
        let from = mine.len() - lose.min(mine.len());
        if let Some(&cut) = mine.get(from) {
            for q in self.channel.values_mut() {
                q.retain(|(maker, serial, _)| *maker != id || *serial < cut);
            }
        }
        self.crash(id);
    }

    /// The user closes the tab's socket (the page stays).
    pub fn close(&mut self, id: TabId) {
        let now = self.now;
        self.tabs
            .get_mut(&id)
            .expect("tab")
            .tab
            .close(1000, "", now);
        self.drain(id);
        self.tabs.get_mut(&id).expect("tab").alive = false;
        self.channel.retain(|(_, to), _| *to != id);
        self.lock_queue.retain(|q| *q != id);
        if self.lock == Some(id) {
            self.lock = None;
            self.grant_lock();
        }
    }

    /// Drops every post waiting for tab `id` (a page that came back from the back/forward
    /// cache, say): it must notice the gap.
    pub fn lose_posts_to(&mut self, id: TabId) {
        self.channel.retain(|(_, to), _| *to != id);
    }

    /// The slow tab's posts arrive (after whatever is in flight), in the order it made them.
    pub fn release_late(&mut self) {
        self.slow = None;
        for (to, posted) in std::mem::take(&mut self.late) {
            self.channel.entry((0, to)).or_default().push_back(posted);
        }
    }

    /// The posts waiting for tab `id`, decoded.
    pub fn waiting_for(&self, id: TabId) -> Vec<Post> {
        (self.channel.get(&(0, id)).into_iter().flatten())
            .map(|(_, _, bytes)| decode(bytes))
            .collect()
    }

    /// Delivers the next post waiting for tab `id` (if it runs); `false` if none.
    pub fn deliver_to(&mut self, id: TabId) -> bool {
        let Some((_, _, bytes)) = (self.runnable(id))
            .then(|| self.channel.get_mut(&(0, id)).and_then(VecDeque::pop_front))
            .flatten()
        else {
            return false;
        };
        let now = self.now;
        let t = self.tabs.get_mut(&id).expect("tab");
        t.tab.on_post(&bytes, now).expect("a readable post");
        self.drain(id);
        true
    }

    /// Moves every post and frame in flight, without letting time pass.
    pub fn flush(&mut self) {
        while self.deliver_post() || self.network() {}
    }

    /// Opens `n` tabs and lets them settle: the first holds an open connection.
    pub fn start(cfg: Config, sharing: Sharing, n: usize) -> World {
        let mut w = World::new(cfg, sharing, 7);
        for _ in 0..n {
            w.open_tab();
        }
        w.settle();
        assert!(w.holder().is_some() && w.conns.iter().any(|c| c.opened));
        w
    }

    /// The first live tab that does not hold.
    pub fn follower(&self) -> TabId {
        let holder = self.holder();
        self.live()
            .into_iter()
            .find(|id| Some(*id) != holder)
            .expect("a follower")
    }

    /// Drops the server messages waiting for tab `id` (posts a tab never got: it must find
    /// the gap and catch up, or be told).
    pub fn lose_deliveries_to(&mut self, id: TabId) {
        if let Some(q) = self.channel.get_mut(&(0, id)) {
            q.retain(|(_, _, bytes)| !matches!(decode(bytes), Post::Deliver { .. }));
        }
    }

    /// Runs everything in flight, and the clock, until quiet.
    pub fn settle(&mut self) {
        // Quiet for a whole second (timers that move nothing, heartbeats aside).
        let mut quiet = 0;
        for _ in 0..600 {
            let mut moved = 0;
            while self.deliver_post() || self.network() {
                moved += 1;
                assert!(moved < 1_000_000, "never quiet");
            }
            self.advance(ms(100));
            let busy = self.channel.values().any(|q| !q.is_empty())
                || (self.conns.iter()).any(|c| !c.opened || !c.c2s.is_empty() || !c.s2c.is_empty());
            let unconfirmed = (self.tabs.values())
                .filter(|t| t.alive)
                .any(|t| t.tab.unconfirmed().0 > 0);
            quiet = match !busy && !unconfirmed && moved == 0 {
                true => quiet + 1,
                false => 0,
            };
            if quiet >= 10 {
                return;
            }
        }
    }
}

/// Whether to print what tab `id` receives and when it takes over: `SHARE_TRACE=<id>`.
fn traced(id: TabId) -> bool {
    std::env::var("SHARE_TRACE").is_ok_and(|v| v == id.to_string())
}

/// `s7` -> 7.
pub(super) fn server_number(m: &Message) -> u64 {
    m.as_text()
        .and_then(|t| t.strip_prefix('s'))
        .and_then(|n| n.parse().ok())
        .expect("s<n>")
}

pub(super) fn lost_reasons(events: &[ConnectionEvent]) -> Vec<(LostReason, Option<u64>)> {
    (events.iter())
        .filter_map(|e| match e {
            ConnectionEvent::SessionLost { reason, missed, .. } => Some((reason.clone(), *missed)),
            _ => None,
        })
        .collect()
}

/// The posts in `bytes`, decoded (for assertions).
pub(super) fn decode(bytes: &[u8]) -> Post {
    Post::decode(bytes).expect("a readable post")
}
