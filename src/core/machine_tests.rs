//! Tests of the reconnect state machine, driven by a simulated driver with a virtual clock.
//!
//! `Sim` plays the browser driver: it carries out the machine's actions (timers, sockets)
//! and checks on every step that the machine never has two sockets live, never dials after
//! the user's `close()`, and only writes to the socket that is open.

use super::*;
use crate::core::backoff::{Backoff, ExponentialBackoff, Jitter};
use crate::core::policy::{ClosePolicy, Heartbeat};
use crate::core::queue::Overflow;
use crate::core::resume::Resume;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

const PING: &str = "\u{1}ping:";
const PONG: &str = "\u{1}pong:";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn text(s: &str) -> Message {
    Message::Text(s.to_owned())
}

/// Ties between timers due at the same instant are broken in this (arbitrary, fixed) order.
fn timer_rank(timer: Timer) -> u8 {
    match timer {
        Timer::Retry => 0,
        Timer::ConnectTimeout => 1,
        Timer::Heartbeat => 2,
        Timer::Ack => 3,
        Timer::AckTimeout => 4,
    }
}

/// A simulated driver around the machine.
struct Sim {
    m: Machine,
    now: Time,
    /// Pending timers and when they are due.
    timers: HashMap<Timer, Time>,
    /// Sockets dialled and neither closed by the machine nor reported closed by the sim.
    live: Vec<ConnId>,
    /// Sockets the sim reported open while they were live.
    opened: HashSet<ConnId>,
    dialled: Vec<ConnId>,
    /// Every action, in order.
    log: Vec<Action>,
    events: Vec<ConnectionEvent>,
    delivered: Vec<Message>,
    writes: HashMap<ConnId, Vec<Message>>,
    user_closed: bool,
    /// Whether a dial creates its socket at once (a fixed URL) or waits for `create`
    /// (a URL provider that hasn't answered).
    create_on_dial: bool,
    /// Sockets the driver created (a dial whose provider hasn't answered has none yet).
    created: HashSet<ConnId>,
    /// Sockets whose handshake hook was started, and the messages handed to hooks.
    handshakes: Vec<ConnId>,
    to_hook: Vec<Message>,
}

impl Sim {
    fn new(cfg: Config, seed: u64) -> Sim {
        let now = Duration::ZERO;
        let mut sim = Sim {
            m: Machine::new(cfg, seed, now),
            now,
            timers: HashMap::new(),
            live: Vec::new(),
            opened: HashSet::new(),
            dialled: Vec::new(),
            log: Vec::new(),
            events: Vec::new(),
            delivered: Vec::new(),
            writes: HashMap::new(),
            user_closed: false,
            create_on_dial: true,
            created: HashSet::new(),
            handshakes: Vec::new(),
            to_hook: Vec::new(),
        };
        sim.drain();
        sim
    }

    /// A sim whose dials wait for `create` (the URL provider's answer).
    fn with_provider(cfg: Config, seed: u64) -> Sim {
        let mut sim = Sim::new(cfg, seed);
        sim.create_on_dial = false;
        // The first dial already happened (and created its socket) in `new`; dial again.
        sim.m = Machine::new(sim.m.cfg.clone(), seed, sim.now);
        sim.live.clear();
        sim.created.clear();
        sim.dialled.clear();
        sim.log.clear();
        sim.events.clear();
        sim.timers.clear();
        sim.drain();
        sim
    }

    /// The URL provider answered: the driver creates socket `id`.
    fn create(&mut self, id: ConnId) -> Vec<Action> {
        if self.m.is_dialing(id) {
            self.created.insert(id);
        }
        self.input(|m, _| m.socket_created(id))
    }

    /// Carries out the machine's pending actions and checks the per-step invariants.
    fn drain(&mut self) -> Vec<Action> {
        let mut out = Vec::new();
        while let Some(action) = self.m.poll_action() {
            match &action {
                Action::Dial { id } => {
                    assert!(!self.user_closed, "Dial {id} after the user's close()");
                    assert!(
                        self.live.is_empty(),
                        "Dial {id} while {:?} is still live",
                        self.live
                    );
                    assert!(!self.dialled.contains(id), "socket id {id} reused");
                    self.live.push(*id);
                    self.dialled.push(*id);
                    if self.create_on_dial {
                        self.m.socket_created(*id);
                        self.created.insert(*id);
                    }
                }
                Action::Write { id, message } => {
                    assert!(
                        self.live.contains(id) && self.opened.contains(id),
                        "Write to socket {id}, which is not open (live {:?})",
                        self.live
                    );
                    self.writes.entry(*id).or_default().push(message.clone());
                }
                Action::StartClose { id, .. } => {
                    assert!(self.live.contains(id), "StartClose {id}, which is not live");
                }
                Action::CloseSocket { id, .. } => {
                    assert!(
                        self.live.contains(id),
                        "CloseSocket {id}, which is not live"
                    );
                    self.live.retain(|live| live != id);
                }
                Action::SetTimer { timer, after } => {
                    assert!(
                        *after <= MAX_TIMER,
                        "{timer:?} set for {after:?}, beyond what a browser keeps"
                    );
                    self.timers.insert(*timer, self.now.saturating_add(*after));
                }
                Action::CancelTimer(timer) => {
                    self.timers.remove(timer);
                }
                Action::Emit(event) => {
                    if matches!(
                        event,
                        ConnectionEvent::Closed {
                            reason: StopReason::UserClosed,
                            ..
                        }
                    ) {
                        self.user_closed = true;
                    }
                    self.events.push(event.clone());
                }
                Action::Deliver(message) => self.delivered.push(message.clone()),
                Action::Handshake { id } => {
                    assert!(
                        self.opened.contains(id),
                        "a handshake on socket {id}, not open"
                    );
                    self.handshakes.push(*id);
                }
                Action::ToHandshake { id, message } => {
                    assert_eq!(self.handshakes.last(), Some(id), "a message for no hook");
                    self.to_hook.push(message.clone());
                }
            }
            self.log.push(action.clone());
            out.push(action);
        }
        // With resume the machine also writes the greeting while handshaking and `end` just
        // before closing: still to the one socket it holds.
        let open = match self.m.phase {
            Phase::Handshaking { id } | Phase::Closing { id } if self.m.resumes() => Some(id),
            _ => self.m.open_socket(),
        };
        for (i, action) in out.iter().enumerate() {
            if let Action::Write { id, .. } = action {
                // A last word (`end`) written just before the socket is closed in the same
                // step is fine.
                let closed_after = out[i..]
                    .iter()
                    .any(|a| matches!(a, Action::CloseSocket { id: closed, .. } if closed == id));
                if closed_after {
                    continue;
                }
                assert_eq!(
                    Some(*id),
                    open,
                    "Write to socket {id}, but the open socket is {open:?}"
                );
            }
        }
        // What the driver holds matches what the machine believes it holds.
        let expected: Vec<ConnId> = match self.m.phase {
            Phase::Connecting { id }
            | Phase::Handshaking { id }
            | Phase::Open { id, .. }
            | Phase::Closing { id } => vec![id],
            _ => Vec::new(),
        };
        // A dial whose provider never answered leaves no socket behind once abandoned.
        let created = &self.created;
        self.live
            .retain(|id| created.contains(id) || expected.contains(id));
        assert_eq!(
            self.live, expected,
            "live sockets vs the machine's phase {:?}",
            self.m.phase
        );
        out
    }

    fn input(&mut self, f: impl FnOnce(&mut Machine, Time)) -> Vec<Action> {
        f(&mut self.m, self.now);
        self.drain()
    }

    /// The one live socket.
    fn current(&self) -> ConnId {
        assert_eq!(self.live.len(), 1, "expected exactly one live socket");
        self.live[0]
    }

    fn is_current_open(&self) -> bool {
        self.live.len() == 1 && self.opened.contains(&self.live[0])
    }

    fn open(&mut self, id: ConnId) -> Vec<Action> {
        if self.live.contains(&id) {
            self.opened.insert(id);
        }
        self.input(|m, now| m.on_open(id, "chat".into(), now))
    }

    fn open_current(&mut self) -> Vec<Action> {
        let id = self.current();
        self.open(id)
    }

    /// Opens the current socket; returns it.
    fn open_current_id(&mut self) -> ConnId {
        let id = self.current();
        self.open(id);
        id
    }

    /// The browser reports socket `id` closed.
    fn close_event(&mut self, id: ConnId, code: u16) -> Vec<Action> {
        self.live.retain(|live| *live != id);
        let close = CloseInfo {
            code,
            reason: String::new(),
            was_clean: code != 1006,
        };
        self.input(|m, now| m.on_close(id, close, now))
    }

    fn drop_current(&mut self, code: u16) -> Vec<Action> {
        let id = self.current();
        self.close_event(id, code)
    }

    fn fail_dial(&mut self, reason: &str) -> Vec<Action> {
        let id = self.current();
        self.live.retain(|live| *live != id);
        self.input(|m, now| m.on_dial_failed(id, reason.into(), now))
    }

    fn recv_on(&mut self, id: ConnId, message: Message) -> Vec<Action> {
        self.input(|m, now| m.on_message(id, message, now))
    }

    fn recv(&mut self, message: Message) -> Vec<Action> {
        let id = self.current();
        self.recv_on(id, message)
    }

    fn send(&mut self, message: Message) -> (Result<SendOutcome, Error>, Vec<Action>) {
        let result = self.m.send(message);
        (result, self.drain())
    }

    fn close(&mut self, code: u16, reason: &str) -> Vec<Action> {
        self.user_closed = true;
        self.input(|m, _| m.close(code, reason))
    }

    fn reconnect(&mut self) -> Vec<Action> {
        self.input(|m, _| m.reconnect())
    }

    fn set_online(&mut self, online: bool) -> Vec<Action> {
        self.input(|m, _| m.set_online(online))
    }

    fn set_visible(&mut self, visible: bool) -> Vec<Action> {
        self.input(|m, _| m.set_visible(visible))
    }

    fn next_timer(&self) -> Option<(Timer, Time)> {
        self.timers
            .iter()
            .map(|(timer, due)| (*timer, *due))
            .min_by_key(|(timer, due)| (*due, timer_rank(*timer)))
    }

    /// Fires a pending timer at the current time (late if `now` is past its due time).
    fn fire(&mut self, timer: Timer) -> Vec<Action> {
        let due = self
            .timers
            .remove(&timer)
            .unwrap_or_else(|| panic!("{timer:?} not pending"));
        assert!(self.now >= due, "{timer:?} fired early");
        self.input(|m, now| m.on_timer(timer, now))
    }

    /// Jumps to the earliest pending timer and fires it on time.
    fn advance_to_next_timer(&mut self) -> (Timer, Vec<Action>) {
        let (timer, due) = self.next_timer().expect("no timer pending");
        self.now = self.now.max(due);
        (timer, self.fire(timer))
    }

    /// Lets `d` pass, firing every timer that comes due on time.
    fn advance(&mut self, d: Duration) -> Vec<Action> {
        let target = self.now + d;
        let mut out = Vec::new();
        while let Some((timer, due)) = self.next_timer().filter(|(_, due)| *due <= target) {
            self.now = self.now.max(due);
            out.extend(self.fire(timer));
        }
        self.now = target;
        out
    }

    /// Lets `d` pass with the page frozen, then fires the overdue timers late.
    fn advance_late(&mut self, d: Duration) -> Vec<Action> {
        self.now += d;
        let mut out = Vec::new();
        for _ in 0..100 {
            match self.next_timer().filter(|(_, due)| *due <= self.now) {
                Some((timer, _)) => out.extend(self.fire(timer)),
                None => return out,
            }
        }
        panic!("timers keep coming due at the same instant");
    }

    /// The number of the last ping written to socket `id`.
    fn last_ping(&self, id: ConnId) -> Option<u64> {
        self.writes
            .get(&id)?
            .iter()
            .rev()
            .find_map(|m| m.as_text()?.strip_prefix(PING)?.parse().ok())
    }
}

fn events_in(acts: &[Action]) -> Vec<ConnectionEvent> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Emit(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn dials_in(acts: &[Action]) -> Vec<ConnId> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Dial { id } => Some(*id),
            _ => None,
        })
        .collect()
}

fn writes_in(acts: &[Action]) -> Vec<Message> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Write { message, .. } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

fn delivered_in(acts: &[Action]) -> Vec<Message> {
    acts.iter()
        .filter_map(|a| match a {
            Action::Deliver(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn close_sockets_in(acts: &[Action]) -> Vec<(ConnId, u16, String)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::CloseSocket { id, code, reason } => Some((*id, *code, reason.clone())),
            _ => None,
        })
        .collect()
}

fn retry_timer_in(acts: &[Action]) -> Option<Duration> {
    acts.iter().find_map(|a| match a {
        Action::SetTimer {
            timer: Timer::Retry,
            after,
        } => Some(*after),
        _ => None,
    })
}

/// The one `Reconnecting` event of a step.
fn the_reconnecting(acts: &[Action]) -> (u32, Duration, Disconnect) {
    let found: Vec<_> = events_in(acts)
        .into_iter()
        .filter_map(|e| match e {
            ConnectionEvent::Reconnecting {
                attempt,
                delay,
                last_close,
            } => Some((attempt, delay, last_close)),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "expected one Reconnecting in {acts:?}");
    found.into_iter().next().unwrap()
}

/// The one `Closed` event of a step.
fn the_closed(acts: &[Action]) -> (StopReason, usize) {
    let found: Vec<_> = events_in(acts)
        .into_iter()
        .filter_map(|e| match e {
            ConnectionEvent::Closed { reason, unsent, .. } => Some((reason, unsent)),
            _ => None,
        })
        .collect();
    assert_eq!(found.len(), 1, "expected one Closed in {acts:?}");
    found.into_iter().next().unwrap()
}

fn no_jitter(min: Duration, max: Duration) -> Backoff {
    Backoff::from(
        ExponentialBackoff::new()
            .jitter(Jitter::None)
            .min(min)
            .max(max),
    )
}

fn heartbeat(interval: Duration, timeout: Duration) -> Config {
    Config {
        heartbeat: Some(Heartbeat::new(interval, timeout)),
        ..Config::default()
    }
}

fn disconnect(code: u16, reason: &str, was_clean: bool, was_open: bool) -> Disconnect {
    Disconnect {
        close: CloseInfo {
            code,
            reason: reason.into(),
            was_clean,
        },
        was_open,
    }
}

// 1. First dial and open.
#[test]
fn first_dial_emits_connecting_then_open() {
    let mut sim = Sim::new(Config::default(), 1);
    assert_eq!(
        events_in(&sim.log),
        vec![ConnectionEvent::Connecting { attempt: 0 }]
    );
    assert_eq!(dials_in(&sim.log), vec![1]);
    assert_eq!(sim.m.ready_state(), ReadyState::Connecting);
    assert_eq!(sim.m.attempt(), 0);
    assert_eq!(sim.m.open_socket(), None);

    let acts = sim.open_current();
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Open {
            protocol: "chat".into()
        }]
    );
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
    assert_eq!(sim.m.open_socket(), Some(1));
    assert!(
        !sim.timers.contains_key(&Timer::ConnectTimeout),
        "connect timeout still armed"
    );
}

// 2. A drop schedules a retry within the backoff window.
#[test]
fn a_drop_schedules_a_retry_within_the_window() {
    // Default backoff: 500 ms min, factor 2, full jitter: retry 1 waits 500..=1000 ms.
    for seed in 0..20 {
        let mut sim = Sim::new(Config::default(), seed);
        sim.open_current();
        sim.advance(secs(1));
        let dropped_at = sim.now;
        let acts = sim.drop_current(1006);
        let delay = retry_timer_in(&acts).expect("a retry timer");
        assert!((ms(500)..=ms(1000)).contains(&delay), "delay {delay:?}");
        let (attempt, event_delay, last_close) = the_reconnecting(&acts);
        assert_eq!((attempt, event_delay), (1, delay));
        assert_eq!(last_close, disconnect(1006, "", false, true));
        assert!(dials_in(&acts).is_empty());
        assert_eq!(sim.m.ready_state(), ReadyState::Connecting);
        assert_eq!(sim.m.attempt(), 1);

        let (timer, acts) = sim.advance_to_next_timer();
        assert_eq!(timer, Timer::Retry);
        assert_eq!(sim.now, dropped_at + delay);
        assert_eq!(
            events_in(&acts),
            vec![ConnectionEvent::Connecting { attempt: 1 }]
        );
        assert_eq!(dials_in(&acts), vec![2]);
    }
}

// 3. Consecutive failures grow the delay up to max.
#[test]
fn consecutive_failures_grow_the_delay_up_to_max() {
    let cfg = Config {
        backoff: no_jitter(ms(100), secs(1)),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 3);
    let mut delays = Vec::new();
    for n in 1..=7u32 {
        let acts = sim.drop_current(1006);
        let (attempt, delay, last_close) = the_reconnecting(&acts);
        assert_eq!(attempt, n);
        assert!(!last_close.was_open);
        delays.push(delay.as_millis());
        let (timer, acts) = sim.advance_to_next_timer();
        assert_eq!(timer, Timer::Retry);
        assert_eq!(
            events_in(&acts),
            vec![ConnectionEvent::Connecting { attempt: n }]
        );
    }
    assert_eq!(delays, vec![200, 400, 800, 1000, 1000, 1000, 1000]);
}

// 4. The attempt counter resets only after a stable connection.
#[test]
fn attempts_reset_only_after_staying_open_for_stable_after() {
    let cfg = Config {
        backoff: no_jitter(ms(100), secs(60)),
        stable_after: secs(5),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 4);
    // A server that accepts and drops at once: the delays keep growing.
    let mut delays = Vec::new();
    for n in 1..=3u32 {
        sim.open_current();
        let (attempt, delay, last_close) = the_reconnecting(&sim.drop_current(1001));
        assert_eq!(attempt, n);
        assert!(last_close.was_open);
        delays.push(delay.as_millis());
        sim.advance_to_next_timer();
    }
    // Open for just under stable_after: still not stable.
    sim.open_current();
    sim.advance(secs(5) - ms(1));
    let (attempt, delay, _) = the_reconnecting(&sim.drop_current(1001));
    assert_eq!(attempt, 4);
    delays.push(delay.as_millis());
    assert_eq!(delays, vec![200, 400, 800, 1600]);
    sim.advance_to_next_timer();
    // Open for exactly stable_after: the next drop starts over at retry 1.
    sim.open_current();
    sim.advance(secs(5));
    let (attempt, delay, _) = the_reconnecting(&sim.drop_current(1001));
    assert_eq!((attempt, delay), (1, ms(200)));
    assert_eq!(sim.m.attempt(), 1);
}

// 5. Connect timeout.
#[test]
fn an_attempt_that_does_not_open_in_time_is_closed_and_counted() {
    let cfg = Config {
        connect_timeout: secs(3),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 5);
    assert!(
        sim.advance(ms(2999)).is_empty(),
        "nothing happens before the timeout"
    );
    let acts = sim.advance(ms(1));
    assert_eq!(
        close_sockets_in(&acts),
        vec![(1, 1000, CONNECT_TIMEOUT_REASON.to_owned())]
    );
    assert!(sim.live.is_empty());
    let (attempt, delay, last_close) = the_reconnecting(&acts);
    assert_eq!(attempt, 1);
    assert_eq!(retry_timer_in(&acts), Some(delay));
    assert_eq!(last_close.close.reason, "connect timeout");
    assert!(last_close.is_connect_timeout());
    assert!(!last_close.was_open);

    // The retry times out too: a second failed attempt.
    sim.advance_to_next_timer();
    sim.advance(secs(3));
    let attempt_events: Vec<(u32, bool)> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            ConnectionEvent::Reconnecting {
                attempt,
                last_close,
                ..
            } => Some((*attempt, last_close.is_connect_timeout())),
            _ => None,
        })
        .collect();
    assert_eq!(attempt_events, vec![(1, true), (2, true)]);

    // An attempt that opens just in time is not touched.
    sim.advance_to_next_timer();
    sim.advance(ms(2999));
    sim.open_current();
    let acts = sim.advance(secs(60));
    assert!(close_sockets_in(&acts).is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
}

// 6. User close, in each phase.
/// Close while open: the socket is asked to close (listeners kept), the machine waits in
/// `Closing` and finishes with the close the browser reports.
fn start_close(acts: &[Action]) -> Vec<(ConnId, u16, String)> {
    acts.iter()
        .filter_map(|a| match a {
            Action::StartClose { id, code, reason } => Some((*id, *code, reason.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn close_while_open_closes_the_socket_and_stops_for_good() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 6);
    sim.open_current();
    let _ = sim.send(text("queued? no, written")).0.unwrap();
    let acts = sim.close(4100, "bye");
    assert_eq!(start_close(&acts), vec![(1, 4100, "bye".to_owned())]);
    assert!(
        close_sockets_in(&acts).is_empty(),
        "the socket is kept until its close event"
    );
    assert!(events_in(&acts).is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Closing);
    assert!(sim.m.is_stopped() && !sim.m.is_finished());
    assert_eq!(sim.send(text("late")).0, Err(Error::Stopped));
    assert!(sim.reconnect().is_empty());
    // The peer's last message before it saw the close is still delivered.
    assert_eq!(
        delivered_in(&sim.recv_on(1, text("last"))),
        vec![text("last")]
    );
    let acts = sim.close_event(1, 4100);
    let closed: Vec<_> = events_in(&acts);
    assert_eq!(
        closed,
        vec![ConnectionEvent::Closed {
            reason: StopReason::UserClosed,
            unsent: 0,
            close: Some(CloseInfo {
                code: 4100,
                reason: String::new(),
                was_clean: true
            }),
        }]
    );
    assert_eq!(sim.m.ready_state(), ReadyState::Closed);
    assert!(sim.m.is_closed_for_good() && sim.m.is_finished());
    assert!(sim.timers.is_empty(), "timers left: {:?}", sim.timers);
    assert!(sim.advance(secs(600)).is_empty());
    assert!(sim.close(1000, "again").is_empty());
}

#[test]
fn a_peer_that_never_answers_the_close_is_given_up_after_the_connect_timeout() {
    let mut sim = Sim::new(Config::default(), 60);
    sim.open_current();
    sim.close(1000, "bye");
    let (timer, acts) = sim.advance_to_next_timer();
    assert_eq!((timer, sim.now), (Timer::ConnectTimeout, secs(10)));
    assert_eq!(close_sockets_in(&acts).len(), 1, "detached at last");
    match events_in(&acts).as_slice() {
        [ConnectionEvent::Closed {
            reason: StopReason::UserClosed,
            close: Some(c),
            ..
        }] => {
            assert_eq!((c.code, c.was_clean), (1006, false))
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.m.ready_state(), ReadyState::Closed);
}

#[test]
fn close_during_a_scheduled_retry_means_no_dial_ever_after() {
    let mut sim = Sim::new(Config::default(), 7);
    sim.open_current();
    sim.drop_current(1006);
    assert!(sim.timers.contains_key(&Timer::Retry));
    let acts = sim.close(1000, "bye");
    assert!(acts.contains(&Action::CancelTimer(Timer::Retry)));
    assert!(close_sockets_in(&acts).is_empty(), "no socket to close");
    assert_eq!(the_closed(&acts), (StopReason::UserClosed, 0));
    // The old retry timer fires anyway (a driver that lost the cancel race).
    for timer in [Timer::Retry, Timer::ConnectTimeout, Timer::Heartbeat] {
        assert!(sim.input(|m, now| m.on_timer(timer, now)).is_empty());
    }
    assert!(sim.advance(secs(600)).is_empty());
    for acts in [
        sim.set_online(false),
        sim.set_online(true),
        sim.set_visible(true),
        sim.reconnect(),
    ] {
        assert!(dials_in(&acts).is_empty());
    }
    assert_eq!(sim.dialled, vec![1]);
    assert_eq!(sim.send(text("x")).0, Err(Error::Stopped));
}

#[test]
fn close_during_a_dial_closes_that_socket_and_ignores_its_late_events() {
    let mut sim = Sim::new(Config::default(), 8);
    let acts = sim.close(1000, "bye");
    assert_eq!(start_close(&acts), vec![(1, 1000, "bye".to_owned())]);
    assert_eq!(sim.m.ready_state(), ReadyState::Closing);
    // A late open is ignored; the browser then fails the attempt (1006) and that ends it.
    assert!(sim.open(1).is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Closing);
    let acts = sim.close_event(1, 1006);
    assert_eq!(the_closed(&acts), (StopReason::UserClosed, 0));
    assert!(sim.recv_on(1, text("hi")).is_empty());
    assert!(sim.close_event(1, 1006).is_empty());
    assert!(sim
        .input(|m, now| m.on_dial_failed(1, "late".into(), now))
        .is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Closed);
    assert!(sim.m.is_closed_for_good());
    assert!(sim.advance(secs(600)).is_empty());
    assert_eq!(sim.send(text("x")).0, Err(Error::Stopped));
    assert!(sim.reconnect().is_empty());
}

// 7. reconnect().
#[test]
fn reconnect_dials_at_once_with_attempt_zero() {
    let cfg = Config {
        backoff: no_jitter(ms(100), secs(60)),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 9);
    for _ in 0..3 {
        sim.drop_current(1006);
        sim.advance_to_next_timer();
    }
    sim.drop_current(1006);
    assert_eq!(sim.m.attempt(), 4);
    let acts = sim.reconnect();
    assert!(acts.contains(&Action::CancelTimer(Timer::Retry)));
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Connecting { attempt: 0 }]
    );
    assert_eq!(dials_in(&acts), vec![5]);
    assert_eq!(sim.m.attempt(), 0);
    // While open: the open socket is closed first, then a fresh one dialled.
    sim.open_current();
    let acts = sim.reconnect();
    assert_eq!(
        close_sockets_in(&acts),
        vec![(5, 1000, "reconnect".to_owned())]
    );
    assert_eq!(dials_in(&acts), vec![6]);
    assert_eq!(sim.m.ready_state(), ReadyState::Connecting);
}

#[test]
fn reconnect_after_giving_up_starts_again() {
    let backoff = ExponentialBackoff::new()
        .min(ms(100))
        .max(secs(1))
        .max_attempts(2);
    let cfg = Config {
        backoff: backoff.into(),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 10);
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let _ = sim.send(text("queued")).0.unwrap();
    let acts = sim.drop_current(1006);
    let (reason, unsent) = the_closed(&acts);
    assert_eq!(
        reason,
        StopReason::GaveUp(disconnect(1006, "", false, false))
    );
    assert_eq!(unsent, 1);
    assert!(sim.m.is_stopped() && !sim.m.is_closed_for_good());
    assert_eq!(sim.m.ready_state(), ReadyState::Closed);
    assert!(sim.timers.is_empty());
    assert!(sim.advance(secs(600)).is_empty());
    assert_eq!(sim.send(text("x")).0, Err(Error::Stopped));

    let acts = sim.reconnect();
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Connecting { attempt: 0 }]
    );
    assert_eq!(dials_in(&acts), vec![4]);
    sim.open_current();
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
}

// 8. Close policy.
#[test]
fn default_policy_stops_on_policy_codes_and_retries_drops() {
    for code in [1008, 4401] {
        let mut sim = Sim::new(Config::default(), 11);
        sim.open_current();
        let acts = sim.drop_current(code);
        let (reason, _) = the_closed(&acts);
        assert_eq!(reason, StopReason::Policy(disconnect(code, "", true, true)));
        assert!(retry_timer_in(&acts).is_none());
        assert!(sim.m.is_stopped() && !sim.m.is_closed_for_good());
        assert!(sim.advance(secs(600)).is_empty(), "code {code}");
    }
    for code in [1001, 1006] {
        let mut sim = Sim::new(Config::default(), 12);
        sim.open_current();
        let acts = sim.drop_current(code);
        assert_eq!(the_reconnecting(&acts).2.close.code, code);
        let (_, acts) = sim.advance_to_next_timer();
        assert_eq!(dials_in(&acts), vec![2], "code {code}");
    }
}

// A runtime that reports a code no close frame can carry (Deno's WebSocket says 0 for a
// dropped connection) is read as the WebSocket standard reports it: 1006 (abnormal closure)
// when the closing handshake didn't complete, 1005 (no code) when it did.
#[test]
fn a_code_no_close_frame_can_carry_is_reported_as_the_standard_code() {
    for (code, was_clean, reported) in [(0, false, 1006), (999, false, 1006), (0, true, 1005)] {
        let mut sim = Sim::new(Config::default(), 14);
        let id = sim.open_current_id();
        sim.live.retain(|live| *live != id);
        let close = CloseInfo {
            code,
            reason: String::new(),
            was_clean,
        };
        let acts = sim.input(|m, now| m.on_close(id, close, now));
        assert_eq!(
            the_reconnecting(&acts).2,
            disconnect(reported, "", was_clean, true),
            "code {code}, clean {was_clean}"
        );
    }
    // Codes a close frame can carry are kept as they are.
    let mut sim = Sim::new(Config::default(), 15);
    sim.open_current();
    assert_eq!(the_reconnecting(&sim.drop_current(1000)).2.close.code, 1000);
}

#[test]
fn custom_policy_can_stop_after_a_refused_handshake() {
    let cfg = Config {
        close_policy: ClosePolicy::custom(|d| d.was_open),
        ..Config::default()
    };
    // A drop after open is retried.
    let mut sim = Sim::new(cfg.clone(), 13);
    sim.open_current();
    assert_eq!(the_reconnecting(&sim.drop_current(1006)).0, 1);
    // A handshake refused (close before open, 1006) stops.
    sim.advance_to_next_timer();
    let acts = sim.drop_current(1006);
    let (reason, _) = the_closed(&acts);
    assert_eq!(
        reason,
        StopReason::Policy(disconnect(1006, "", false, false))
    );
    assert!(sim.m.is_stopped());
    assert!(sim.advance(secs(600)).is_empty());
    // Also on the very first attempt.
    let mut sim = Sim::new(cfg, 14);
    assert!(matches!(
        the_closed(&sim.drop_current(1006)).0,
        StopReason::Policy(_)
    ));
}

// 9. Custom backoff function.
#[test]
fn custom_backoff_sees_attempt_and_elapsed_and_none_stops() {
    type Seen = Rc<RefCell<Vec<(u32, Duration, u16)>>>;
    let seen: Seen = Rc::default();
    let log = seen.clone();
    let backoff = Backoff::custom(move |ctx| {
        log.borrow_mut()
            .push((ctx.attempt, ctx.elapsed, ctx.last_close.code));
        (ctx.attempt < 3).then_some(secs(1))
    });
    let mut sim = Sim::new(
        Config {
            backoff,
            ..Config::default()
        },
        15,
    );
    sim.open_current();
    sim.advance(secs(2));
    let acts = sim.drop_current(1001); // lost at t = 2 s
    assert_eq!(the_reconnecting(&acts).1, secs(1));
    sim.advance_to_next_timer(); // retry at 3 s
    sim.advance(ms(500));
    sim.fail_dial("no token"); // 3.5 s
    sim.advance_to_next_timer(); // retry at 4.5 s
    sim.advance(ms(250));
    let acts = sim.drop_current(1006); // 4.75 s
    assert_eq!(
        *seen.borrow(),
        vec![
            (1, Duration::ZERO, 1001),
            (2, ms(1500), 1006),
            (3, ms(2750), 1006)
        ]
    );
    let (reason, _) = the_closed(&acts);
    assert_eq!(
        reason,
        StopReason::GaveUp(disconnect(1006, "", false, false))
    );
    assert!(sim.m.is_stopped());
    assert!(sim.timers.is_empty());
    assert!(sim.advance(secs(600)).is_empty());
}

// 10. A failed dial is a failed attempt.
#[test]
fn a_failed_dial_counts_as_an_attempt_and_is_retried() {
    let mut sim = Sim::new(Config::default(), 16);
    for n in 1..=30u32 {
        let acts = sim.fail_dial("url provider: token expired");
        assert!(acts.contains(&Action::CancelTimer(Timer::ConnectTimeout)));
        let (attempt, delay, last_close) = the_reconnecting(&acts);
        assert_eq!(attempt, n);
        assert_eq!(retry_timer_in(&acts), Some(delay));
        assert_eq!(
            last_close,
            disconnect(1006, "url provider: token expired", false, false)
        );
        let (timer, acts) = sim.advance_to_next_timer();
        assert_eq!(timer, Timer::Retry);
        assert_eq!(dials_in(&acts).len(), 1);
    }
    assert!(!sim.m.is_stopped());
}

// 11. Heartbeat.
#[test]
fn heartbeat_pings_when_idle_and_a_pong_sets_rtt() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 17);
    sim.open_current();
    assert!(writes_in(&sim.advance(ms(9999))).is_empty());
    let acts = sim.advance(ms(1));
    let pings = writes_in(&acts);
    assert_eq!(pings.len(), 1);
    let ping = pings[0].as_text().unwrap().to_owned();
    assert!(ping.starts_with(PING), "{ping:?}");
    let n = ping.strip_prefix(PING).unwrap();

    sim.advance(ms(300));
    // A pong with a number we never sent is the application's: delivered, no rtt.
    let acts = sim.recv(text(&format!("{PONG}999")));
    assert_eq!(delivered_in(&acts), vec![text(&format!("{PONG}999"))]);
    assert_eq!(sim.m.rtt(), None);
    let acts = sim.recv(text(&format!("{PONG}{n}")));
    assert_eq!(events_in(&acts), vec![ConnectionEvent::Rtt(ms(300))]);
    assert!(delivered_in(&acts).is_empty());
    assert_eq!(sim.delivered.len(), 1, "our pong was delivered");
    assert_eq!(sim.m.rtt(), Some(ms(300)));
    // The connection stays up and pings again after the next idle interval.
    assert!(close_sockets_in(&sim.advance(secs(9))).is_empty());
    assert_eq!(writes_in(&sim.advance(secs(2))).len(), 1);
}

#[test]
fn an_echo_server_s_copy_of_the_default_ping_answers_it_and_is_not_delivered() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 80);
    sim.open_current();
    let pings = writes_in(&sim.advance(secs(10)));
    assert_eq!(pings.len(), 1);
    sim.advance(ms(40));
    // A plain echo server sends our ping back as it is.
    let acts = sim.recv(pings[0].clone());
    assert!(
        delivered_in(&acts).is_empty(),
        "the echoed ping was delivered"
    );
    assert_eq!(events_in(&acts), vec![ConnectionEvent::Rtt(ms(40))]);
    // Not declared dead: the echo was the answer.
    assert!(close_sockets_in(&sim.advance(secs(9))).is_empty());
}

#[test]
fn heartbeat_is_postponed_by_any_inbound_message() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 18);
    sim.open_current();
    sim.advance(secs(6));
    assert_eq!(delivered_in(&sim.recv(text("hello"))), vec![text("hello")]);
    assert!(writes_in(&sim.advance(secs(10) - ms(1))).is_empty());
    assert_eq!(sim.now, ms(15_999));
    let acts = sim.advance(ms(1));
    assert_eq!(writes_in(&acts), vec![text(&format!("{PING}1"))]);
}

#[test]
fn heartbeat_finds_a_silent_peer_at_interval_plus_timeout() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 19);
    sim.open_current();
    sim.advance(secs(3));
    sim.recv(text("last words"));
    let last_inbound = sim.now;
    let mut found = None;
    for _ in 0..10 {
        let (_, acts) = sim.advance_to_next_timer();
        if !close_sockets_in(&acts).is_empty() {
            found = Some(acts);
            break;
        }
    }
    let acts = found.expect("the dead peer was never found");
    assert_eq!(sim.now, last_inbound + secs(10) + secs(5));
    assert_eq!(
        close_sockets_in(&acts),
        vec![(
            1,
            HEARTBEAT_TIMEOUT_CODE,
            HEARTBEAT_TIMEOUT_REASON.to_owned()
        )]
    );
    assert_eq!(HEARTBEAT_TIMEOUT_CODE, 4000);
    let (attempt, _, last_close) = the_reconnecting(&acts);
    assert_eq!(attempt, 1);
    assert_eq!(last_close.close.code, 4000);
    assert!(last_close.was_open);
    assert_eq!(writes_in(&sim.log), vec![text(&format!("{PING}1"))]);
}

/// With `interval < timeout`, a reply to a ping re-arms the heartbeat for `interval`, so a
/// peer that dies right after answering is found at last inbound + interval + timeout (it
/// was once found a whole timeout late).
#[test]
fn heartbeat_finds_a_silent_peer_in_time_when_interval_is_shorter_than_timeout() {
    let mut sim = Sim::new(heartbeat(secs(1), secs(10)), 20);
    sim.open_current();
    sim.advance(secs(1)); // ping 1 at 1 s
    sim.advance(ms(100));
    sim.recv(text(&format!("{PONG}1"))); // answered at 1.1 s; then the peer dies
    let last_inbound = sim.now;
    let (_, acts) = loop {
        let (timer, acts) = sim.advance_to_next_timer();
        if !close_sockets_in(&acts).is_empty() {
            break (timer, acts);
        }
    };
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
    // Expected 12.1 s; the machine pings again only at 11 s and closes at 21 s.
    assert_eq!(sim.now, last_inbound + secs(1) + secs(10));
}

/// Receive backpressure: while the driver doesn't read (the application's inbox is full),
/// the peer's messages, pongs included, wait in the TCP buffers. Silence then says nothing
/// about the peer: it must not be declared dead, and the silence clock starts again when
/// reading resumes.
#[test]
fn heartbeat_counts_no_silence_while_reading_is_paused() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 40);
    sim.open_current();
    sim.advance(secs(3));
    sim.recv(text("a"));
    sim.input(|m, now| m.set_reading_paused(true, now));
    let acts = sim.advance(secs(60));
    assert!(
        close_sockets_in(&acts).is_empty(),
        "a healthy peer was declared dead while we weren't reading"
    );
    sim.input(|m, now| m.set_reading_paused(false, now));
    let resumed = sim.now;
    let acts = loop {
        let (_, acts) = sim.advance_to_next_timer();
        if !close_sockets_in(&acts).is_empty() {
            break acts;
        }
    };
    // A peer that really is silent is still found, interval + timeout after the resume.
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
    assert_eq!(sim.now, resumed + secs(10) + secs(5));
}

// 12. A late heartbeat timer.
#[test]
fn a_late_heartbeat_timer_pings_again_instead_of_declaring_death() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 21);
    sim.open_current();
    let (_, acts) = sim.advance_to_next_timer(); // ping 1 at 10 s
    assert_eq!(writes_in(&acts), vec![text(&format!("{PING}1"))]);
    assert_eq!(sim.next_timer(), Some((Timer::Heartbeat, secs(15))));
    // The page is frozen: the timer due at 15 s fires at 45 s.
    sim.now = secs(45);
    let acts = sim.fire(Timer::Heartbeat);
    assert!(
        close_sockets_in(&acts).is_empty(),
        "declared dead on a late tick"
    );
    assert_eq!(writes_in(&acts), vec![text(&format!("{PING}2"))]);
    assert!(events_in(&acts).is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
    // Nothing arrives by the next deadline (on time): now it is dead.
    let (timer, acts) = sim.advance_to_next_timer();
    assert_eq!((timer, sim.now), (Timer::Heartbeat, secs(50)));
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
    assert_eq!(the_reconnecting(&acts).2.close.code, HEARTBEAT_TIMEOUT_CODE);
}

#[test]
fn a_late_heartbeat_timer_then_an_answer_keeps_the_connection() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 22);
    sim.open_current();
    sim.advance_to_next_timer(); // ping 1 at 10 s
    sim.now = secs(15) + ms(1001); // just over the slack
    let acts = sim.fire(Timer::Heartbeat);
    assert!(close_sockets_in(&acts).is_empty());
    assert_eq!(writes_in(&acts), vec![text(&format!("{PING}2"))]);
    sim.advance(secs(1));
    let acts = sim.recv(text(&format!("{PONG}2")));
    assert_eq!(events_in(&acts), vec![ConnectionEvent::Rtt(secs(1))]);
    assert!(close_sockets_in(&sim.advance(secs(10))).is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
}

#[test]
fn a_heartbeat_timer_late_by_at_most_the_slack_still_finds_the_peer_dead() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 23);
    sim.open_current();
    sim.advance_to_next_timer(); // ping 1 at 10 s
    sim.now = secs(16); // due at 15 s: 1 s late is not late
    let acts = sim.fire(Timer::Heartbeat);
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
}

// 13. Offline.
#[test]
fn going_offline_cancels_the_retry_until_online_again() {
    let mut sim = Sim::new(Config::default(), 24);
    sim.open_current();
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    sim.drop_current(1006);
    assert_eq!(sim.m.attempt(), 2);
    let acts = sim.set_online(false);
    assert!(acts.contains(&Action::CancelTimer(Timer::Retry)));
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::WaitingForNetwork { last_close: None }]
    );
    assert!(sim.timers.is_empty());
    assert!(sim.advance(secs(3600)).is_empty(), "no dial while offline");
    assert!(
        sim.set_visible(true).is_empty(),
        "visibility doesn't dial while offline"
    );
    assert_eq!(sim.m.ready_state(), ReadyState::Connecting);
    let acts = sim.set_online(true);
    // Online again dials at once, as the retry it replaces: still retry 2.
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Connecting { attempt: 2 }]
    );
    assert_eq!(dials_in(&acts), vec![3]);
    assert_eq!(sim.m.attempt(), 2);
}

#[test]
fn a_drop_while_offline_waits_for_the_network() {
    let mut sim = Sim::new(Config::default(), 25);
    sim.open_current();
    assert!(
        sim.set_online(false).is_empty(),
        "the open socket is left alone"
    );
    let acts = sim.drop_current(1006);
    // The loss is reported with its close, as a drop while online is.
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::WaitingForNetwork {
            last_close: Some(disconnect(1006, "", false, true))
        }]
    );
    assert!(retry_timer_in(&acts).is_none());
    assert!(sim.advance(secs(3600)).is_empty());
    let acts = sim.set_online(true);
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Connecting { attempt: 1 }]
    );
    assert_eq!(dials_in(&acts), vec![2]);
}

// 14. Visibility.
#[test]
fn becoming_visible_retries_at_once() {
    let cfg = Config {
        backoff: no_jitter(ms(100), secs(60)),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 26);
    for _ in 0..3 {
        sim.drop_current(1006);
        sim.advance_to_next_timer();
    }
    assert!(
        sim.set_visible(true).is_empty(),
        "visible while connecting changes nothing"
    );
    sim.drop_current(1006);
    assert!(sim.set_visible(false).is_empty());
    let acts = sim.set_visible(true);
    assert!(acts.contains(&Action::CancelTimer(Timer::Retry)));
    // The retry runs now instead of after its delay; it is still retry 4.
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Connecting { attempt: 4 }]
    );
    assert_eq!(dials_in(&acts), vec![5]);
    assert_eq!(sim.m.attempt(), 4);
    sim.open_current();
    assert!(
        sim.set_visible(true).is_empty(),
        "visible while open changes nothing"
    );
}

// 15. The send queue.
#[test]
fn queued_messages_are_written_in_order_on_open_before_newer_ones() {
    let mut sim = Sim::new(Config::default(), 27);
    for s in ["a", "bb", "ccc"] {
        assert_eq!(sim.send(text(s)).0, Ok(SendOutcome::Queued { dropped: 0 }));
    }
    assert_eq!(sim.m.queued_bytes(), 6);
    let acts = sim.open_current();
    assert_eq!(writes_in(&acts), vec![text("a"), text("bb"), text("ccc")]);
    // The backlog is written first, then Open is announced: a driver that runs the user's
    // handler on it synchronously (a close() in onopen) can't cut the backlog off.
    let open_at = acts
        .iter()
        .position(|a| matches!(a, Action::Emit(ConnectionEvent::Open { .. })));
    let last_write = acts.iter().rposition(|a| matches!(a, Action::Write { .. }));
    assert!(
        open_at > last_write,
        "Open at {open_at:?}, last write at {last_write:?}"
    );
    assert_eq!(sim.m.queued_bytes(), 0);
    assert_eq!(sim.send(text("d")).0, Ok(SendOutcome::Written));
    assert_eq!(
        sim.writes[&1],
        vec![text("a"), text("bb"), text("ccc"), text("d")]
    );
    // Queued again while the connection is down, flushed on the next socket.
    sim.drop_current(1006);
    assert_eq!(
        sim.send(text("e")).0,
        Ok(SendOutcome::Queued { dropped: 0 })
    );
    sim.advance_to_next_timer();
    sim.open_current();
    assert_eq!(sim.writes[&2], vec![text("e")]);
}

#[test]
fn reject_overflow_fails_the_send_and_keeps_the_queue() {
    let cfg = Config {
        queue_max_bytes: 10,
        overflow: Overflow::Reject,
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 28);
    assert_eq!(
        sim.send(text("aaaaaa")).0,
        Ok(SendOutcome::Queued { dropped: 0 })
    );
    assert!(!sim.m.can_accept(5));
    assert_eq!(
        sim.send(text("bbbbb")).0,
        Err(Error::QueueFull {
            message_bytes: 5,
            free_bytes: 4
        })
    );
    assert_eq!(sim.m.queued_bytes(), 6);
    assert_eq!(writes_in(&sim.open_current()), vec![text("aaaaaa")]);
}

#[test]
fn drop_oldest_overflow_reports_what_it_dropped() {
    let cfg = Config {
        queue_max_bytes: 10,
        overflow: Overflow::DropOldest,
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 29);
    for s in ["aaa", "bbb", "ccc"] {
        let _ = sim.send(text(s)).0.unwrap();
    }
    let (outcome, acts) = sim.send(text("ddddd"));
    assert_eq!(outcome, Ok(SendOutcome::Queued { dropped: 2 }));
    // Each evicted message comes back, oldest first: never dropped unseen.
    assert_eq!(
        events_in(&acts),
        vec![
            ConnectionEvent::Evicted(text("aaa")),
            ConnectionEvent::Evicted(text("bbb"))
        ]
    );
    assert_eq!(sim.m.queued_bytes(), 8);
    assert_eq!(
        writes_in(&sim.open_current()),
        vec![text("ccc"), text("ddddd")]
    );
}

#[test]
fn drop_newest_overflow_reports_the_drop() {
    let cfg = Config {
        queue_max_bytes: 4,
        overflow: Overflow::DropNewest,
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 30);
    let _ = sim.send(text("aaaa")).0.unwrap();
    assert_eq!(sim.send(text("b")).0, Ok(SendOutcome::Dropped));
    assert_eq!(sim.m.queued_bytes(), 4);
    assert_eq!(writes_in(&sim.open_current()), vec![text("aaaa")]);
}

#[test]
fn without_replay_sends_fail_while_not_open() {
    let mut sim = Sim::new(
        Config {
            replay: false,
            ..Config::default()
        },
        31,
    );
    assert_eq!(sim.send(text("x")).0, Err(Error::NotOpen));
    sim.open_current();
    assert_eq!(sim.send(text("y")).0, Ok(SendOutcome::Written));
    sim.drop_current(1006);
    assert_eq!(sim.send(text("z")).0, Err(Error::NotOpen));
    assert_eq!(sim.m.queued_bytes(), 0);
    sim.advance_to_next_timer();
    sim.open_current();
    assert_eq!(sim.writes.get(&2), None, "nothing replayed");
}

#[test]
fn close_reports_the_discarded_queued_messages() {
    let mut sim = Sim::new(Config::default(), 32);
    for s in ["a", "b", "c"] {
        let _ = sim.send(text(s)).0.unwrap();
    }
    sim.close(1000, "bye");
    let acts = sim.close_event(1, 1006);
    assert_eq!(the_closed(&acts), (StopReason::UserClosed, 3));
    assert_eq!(sim.m.queued_bytes(), 0);
    assert!(writes_in(&sim.log).is_empty());
}

// 16. Stale socket ids.
#[test]
fn events_from_a_replaced_socket_are_ignored() {
    let mut sim = Sim::new(Config::default(), 33);
    sim.open_current();
    sim.reconnect(); // socket 1 replaced by 2
    let phase = sim.m.phase;
    assert!(sim.recv_on(1, text("old")).is_empty());
    assert!(sim.open(1).is_empty());
    assert!(sim.close_event(1, 1006).is_empty());
    assert_eq!(sim.m.phase, phase);
    sim.open_current();
    let phase = sim.m.phase;
    assert!(sim.recv_on(1, text("old")).is_empty());
    assert!(sim.close_event(1, 1006).is_empty());
    assert!(sim
        .input(|m, now| m.on_dial_failed(1, "old".into(), now))
        .is_empty());
    assert_eq!(sim.m.phase, phase);
    assert_eq!(sim.m.open_socket(), Some(2));
    assert!(sim.delivered.is_empty());
    // While the user's close waits for socket 2, socket 1's close is not the one awaited.
    sim.close(1000, "");
    assert!(sim.close_event(1, 1006).is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Closing);
    let acts = sim.close_event(2, 1000);
    assert_eq!(the_closed(&acts).0, StopReason::UserClosed);
    assert!(sim.m.is_closed_for_good());
}

#[test]
fn events_from_a_socket_closed_by_the_heartbeat_are_ignored() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 34);
    sim.open_current();
    sim.advance(secs(15));
    assert_eq!(close_sockets_in(&sim.log)[0].1, HEARTBEAT_TIMEOUT_CODE);
    let (phase, attempt) = (sim.m.phase, sim.m.attempt());
    assert!(sim.recv_on(1, text(&format!("{PONG}1"))).is_empty());
    assert!(sim.recv_on(1, text("too late")).is_empty());
    assert!(sim.close_event(1, HEARTBEAT_TIMEOUT_CODE).is_empty());
    assert_eq!((sim.m.phase, sim.m.attempt()), (phase, attempt));
    assert_eq!(sim.m.rtt(), None);
    assert!(sim.delivered.is_empty());
}

#[cfg(not(target_arch = "wasm32"))]
mod props {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    const DROP_CODES: [u16; 7] = [1000, 1001, 1006, 1008, 4000, 4401, 4500];

    #[derive(Debug, Clone)]
    struct Params {
        queue_max: usize,
        overflow: Overflow,
        /// Interval and timeout.
        heartbeat: Option<(Duration, Duration)>,
        replay: bool,
        /// A handshake hook runs on every connection (and succeeds when `HookDone` comes).
        handshake: bool,
        min: Duration,
        max: Duration,
        max_attempts: Option<u32>,
        connect_timeout: Duration,
        stable_after: Duration,
        seed: u64,
    }

    const MONTH: Duration = Duration::from_secs(30 * 24 * 3600);

    /// Mostly `lo..hi` ms, sometimes an extreme: a month (beyond a browser timer) or
    /// `Duration::MAX`, and zero where zero is allowed.
    fn duration(lo: u64, hi: u64, zero_ok: bool) -> impl Strategy<Value = Duration> {
        let zero = if zero_ok { Duration::ZERO } else { ms(lo) };
        prop_oneof![
            85 => (lo..hi).prop_map(ms),
            5 => Just(MONTH),
            5 => Just(Duration::MAX),
            5 => Just(zero),
        ]
    }

    impl Params {
        fn config(&self) -> Config {
            let mut backoff = ExponentialBackoff::new()
                .min(self.min)
                .max(self.max)
                .jitter(Jitter::Full);
            if let Some(n) = self.max_attempts {
                backoff = backoff.max_attempts(n);
            }
            let cfg = Config {
                backoff: Backoff::from(backoff),
                connect_timeout: self.connect_timeout,
                stable_after: self.stable_after,
                close_policy: ClosePolicy::Default,
                heartbeat: self
                    .heartbeat
                    .map(|(interval, timeout)| Heartbeat::new(interval, timeout)),
                queue_max_bytes: self.queue_max,
                overflow: self.overflow,
                replay: self.replay,
                handshake: self.handshake,
                resume: None,
            };
            cfg.validate().expect("a valid config");
            cfg
        }
    }

    fn params() -> impl Strategy<Value = Params> {
        (
            prop_oneof![9 => 1usize..700, 1 => Just(usize::MAX)],
            prop::sample::select(vec![
                Overflow::Reject,
                Overflow::DropOldest,
                Overflow::DropNewest,
            ]),
            prop::option::of((duration(500, 8000, false), duration(500, 8000, false))),
            (prop::bool::weighted(0.85), prop::bool::weighted(0.25)),
            (duration(50, 1000, false), duration(1000, 10_000, false)),
            prop::option::weighted(0.3, prop_oneof![1u32..6, Just(u32::MAX)]),
            duration(500, 10_000, false),
            duration(0, 10_000, true),
            any::<u64>(),
        )
            .prop_map(
                |(
                    queue_max,
                    overflow,
                    heartbeat,
                    (replay, handshake),
                    (min, max),
                    max_attempts,
                    connect_timeout,
                    stable_after,
                    seed,
                )| Params {
                    queue_max,
                    overflow,
                    heartbeat,
                    replay,
                    handshake,
                    min,
                    max: max.max(min),
                    max_attempts,
                    connect_timeout,
                    stable_after,
                    seed,
                },
            )
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Time passes; timers fire on time.
        Advance(u64),
        /// The page is frozen for this long; overdue timers then fire late.
        Freeze(u64),
        Open,
        Drop(u16),
        DialFail,
        Recv,
        Pong,
        Send(usize),
        /// The handshake hook finishes: well, or failing.
        HookDone(bool),
        /// Send while open, and the browser refuses the write (its socket was closing).
        Refused(usize),
        Close,
        /// The first action of a socket loss is carried out, then a handler calls close().
        CloseInsideLoss(u16),
        Reconnect,
        Online(bool),
        Visible(bool),
        /// An event (kind, which old socket) for a socket that is gone.
        Stale(u8, usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            80 => (0u64..5000).prop_map(Op::Advance),
            8 => (1000u64..30_000).prop_map(Op::Freeze),
            40 => Just(Op::Open),
            30 => prop::sample::select(DROP_CODES.to_vec()).prop_map(Op::Drop),
            10 => Just(Op::DialFail),
            30 => Just(Op::Recv),
            20 => Just(Op::Pong),
            50 => (0usize..300).prop_map(Op::Send),
            5 => (0usize..300).prop_map(Op::Refused),
            20 => any::<bool>().prop_map(Op::HookDone),
            1 => Just(Op::Close),
            1 => prop::sample::select(DROP_CODES.to_vec()).prop_map(Op::CloseInsideLoss),
            8 => Just(Op::Reconnect),
            10 => any::<bool>().prop_map(Op::Online),
            10 => any::<bool>().prop_map(Op::Visible),
            10 => (0u8..4, any::<usize>()).prop_map(|(k, i)| Op::Stale(k, i)),
        ]
    }

    fn user_message(n: u64, size: usize) -> Message {
        Message::Text(format!("#{n}#{}", "x".repeat(size)))
    }

    fn user_message_id(text: &str) -> u64 {
        let rest = text.strip_prefix('#').expect("a user message");
        rest.split_once('#')
            .expect("a user message")
            .0
            .parse()
            .expect("a message number")
    }

    fn is_subsequence(sub: &[u64], of: &[u64]) -> bool {
        let mut it = of.iter();
        sub.iter().all(|x| it.any(|y| y == x))
    }

    /// The sim plus a model of what the user sent.
    struct Model {
        p: Params,
        sim: Sim,
        next_msg: u64,
        next_in: u64,
        sizes: HashMap<u64, usize>,
        accepted: Vec<u64>,
        /// Accepted and neither written nor discarded yet, oldest first.
        pending: VecDeque<u64>,
        written: Vec<u64>,
        dropped: usize,
        unsent: usize,
        /// When the current socket last showed a sign of life (open or a message).
        last_inbound: Time,
        /// A Closed event was emitted and no dial followed yet.
        closed_reported: bool,
        /// Written, then refused by the browser and handed back (`Unsent`).
        returned: Vec<u64>,
        user_closed_reported: bool,
        requeued: HashSet<u64>,
    }

    impl Model {
        fn new(p: Params) -> Model {
            let sim = Sim::new(p.config(), p.seed);
            let mut model = Model {
                p,
                sim,
                next_msg: 0,
                next_in: 0,
                sizes: HashMap::new(),
                accepted: Vec::new(),
                pending: VecDeque::new(),
                written: Vec::new(),
                dropped: 0,
                unsent: 0,
                last_inbound: Duration::ZERO,
                closed_reported: false,
                returned: Vec::new(),
                user_closed_reported: false,
                requeued: HashSet::new(),
            };
            let first = model.sim.log.clone();
            model.process(&first);
            model.check_state();
            model
        }

        fn check_delay(&self, delay: Duration) {
            assert!(
                self.p.min <= delay && delay <= self.p.max,
                "retry delay {delay:?} outside [{:?}, {:?}]",
                self.p.min,
                self.p.max
            );
        }

        /// Checks one step's actions against the model.
        fn process(&mut self, acts: &[Action]) {
            let attempt = self.sim.m.attempt();
            for action in acts {
                if let Action::Emit(event) = action {
                    assert!(
                        !self.user_closed_reported || matches!(event, ConnectionEvent::Unsent(_)),
                        "{event:?} after the final close"
                    );
                    if matches!(
                        event,
                        ConnectionEvent::Closed {
                            reason: StopReason::UserClosed,
                            ..
                        }
                    ) {
                        self.user_closed_reported = true;
                    }
                }
                match action {
                    Action::Write { message, .. } => {
                        let text = message.as_text().expect("only text is sent here");
                        if text.starts_with(PING) {
                            assert!(self.p.heartbeat.is_some(), "a ping without heartbeat");
                        } else {
                            let n = user_message_id(text);
                            let expected = self.pending.pop_front();
                            assert_eq!(expected, Some(n), "message written out of order or twice");
                            self.written.push(n);
                        }
                    }
                    Action::Emit(ConnectionEvent::Unsent(message)) => {
                        let n = user_message_id(message.as_text().expect("text"));
                        assert!(self.written.contains(&n), "unsent but never written");
                        self.returned.push(n);
                    }
                    Action::Emit(ConnectionEvent::Reconnecting {
                        attempt: a, delay, ..
                    }) => {
                        self.check_delay(*delay);
                        assert!(*a >= 1);
                        assert_eq!(*a, attempt);
                    }
                    Action::Emit(ConnectionEvent::Connecting { attempt: a }) => {
                        assert_eq!(*a, attempt);
                        self.closed_reported = false;
                    }
                    Action::Emit(ConnectionEvent::Closed { unsent, .. }) => {
                        assert!(!self.closed_reported, "two Closed events without a dial");
                        self.closed_reported = true;
                        assert_eq!(*unsent, self.pending.len(), "unsent count");
                        self.unsent += unsent;
                        self.pending.clear();
                    }
                    Action::CloseSocket {
                        code: HEARTBEAT_TIMEOUT_CODE,
                        ..
                    } => {
                        let (i, t) = self
                            .p
                            .heartbeat
                            .expect("a heartbeat close without heartbeat");
                        let silence = self.sim.now - self.last_inbound;
                        assert!(
                            silence >= i.saturating_add(t),
                            "peer declared dead after only {silence:?} of silence"
                        );
                    }
                    _ => {}
                }
            }
        }

        fn check_state(&self) {
            let m = &self.sim.m;
            // Refused writes go back past the bound: they were promised delivery.
            let requeued: usize = self
                .pending
                .iter()
                .filter(|n| self.requeued.contains(n))
                .map(|n| self.sizes[n])
                .sum();
            assert!(
                m.queued_bytes() <= self.p.queue_max.saturating_add(requeued),
                "queue over its bound"
            );
            let model_bytes: usize = self.pending.iter().map(|n| self.sizes[n]).sum();
            assert_eq!(m.queued_bytes(), model_bytes);
            assert_eq!(m.queue.len(), self.pending.len());
            assert_eq!(
                self.accepted.len(),
                self.written.len() + self.dropped + self.unsent + self.pending.len(),
                "accepted = written + dropped + unsent + queued"
            );
            assert!(is_subsequence(&self.written, &self.accepted));
            assert_eq!(
                m.open_socket().is_some(),
                m.ready_state() == ReadyState::Open
            );
            if self.sim.user_closed {
                // Closed, or closing until the socket's close event (or the timeout).
                assert!(m.is_stopped());
                assert!(m.is_closed_for_good() || m.ready_state() == ReadyState::Closing);
            } else {
                let hooked = matches!(m.phase, Phase::Handshaking { .. });
                assert_eq!(
                    m.open_socket().is_some() || hooked,
                    self.sim.is_current_open()
                );
            }
        }

        fn fire_due(&mut self, late: bool, target: Time) {
            for _ in 0..1000 {
                let Some((timer, due)) = self.sim.next_timer().filter(|(_, due)| *due <= target)
                else {
                    return;
                };
                if !late {
                    self.sim.now = self.sim.now.max(due);
                }
                let acts = self.sim.fire(timer);
                self.process(&acts);
            }
            panic!("timers keep firing");
        }

        fn step(&mut self, op: &Op) {
            let acts = match *op {
                Op::Advance(d) => {
                    let target = self.sim.now + ms(d);
                    self.fire_due(false, target);
                    self.sim.now = target;
                    Vec::new()
                }
                Op::Freeze(d) => {
                    self.sim.now += ms(d);
                    self.fire_due(true, self.sim.now);
                    Vec::new()
                }
                Op::Open => {
                    if self.sim.live.len() != 1 || self.sim.is_current_open() {
                        return;
                    }
                    let closing = self.sim.m.ready_state() == ReadyState::Closing;
                    let acts = self.sim.open_current();
                    if closing {
                        // The user closed during the dial: a late open changes nothing.
                        assert!(events_in(&acts).is_empty());
                    } else if self.p.handshake {
                        // The hook runs first; the application sees nothing yet.
                        assert!(events_in(&acts).is_empty(), "{acts:?}");
                        assert!(matches!(acts[..], [Action::Handshake { .. }]), "{acts:?}");
                        assert_eq!(self.sim.m.ready_state(), ReadyState::Connecting);
                        self.last_inbound = self.sim.now;
                    } else {
                        assert!(events_in(&acts).contains(&ConnectionEvent::Open {
                            protocol: "chat".into()
                        }));
                        self.last_inbound = self.sim.now;
                    }
                    acts
                }
                Op::Drop(code) => {
                    if self.sim.live.is_empty() {
                        return;
                    }
                    self.sim.drop_current(code)
                }
                Op::DialFail => {
                    if self.sim.live.len() != 1 || self.sim.is_current_open() {
                        return;
                    }
                    self.sim.fail_dial("url provider failed")
                }
                Op::Recv => {
                    if !self.sim.is_current_open() {
                        return;
                    }
                    self.next_in += 1;
                    let message = text(&format!("in{}", self.next_in));
                    let hooked = matches!(self.sim.m.phase, Phase::Handshaking { .. });
                    let acts = self.sim.recv(message.clone());
                    if hooked {
                        // While the hook runs, messages are the hook's.
                        assert!(delivered_in(&acts).is_empty());
                        assert_eq!(self.sim.to_hook.last(), Some(&message));
                    } else {
                        assert_eq!(delivered_in(&acts), vec![message]);
                    }
                    self.last_inbound = self.sim.now;
                    acts
                }
                Op::HookDone(ok) => {
                    let Phase::Handshaking { id } = self.sim.m.phase else {
                        return;
                    };
                    let now = self.sim.now;
                    let result = if ok { Ok(()) } else { Err("no ack".to_owned()) };
                    let acts = self.sim.input(|m, _| m.handshake_done(id, result, now));
                    let events = events_in(&acts);
                    if ok {
                        assert!(events.contains(&ConnectionEvent::Open {
                            protocol: "chat".into()
                        }));
                        assert_eq!(self.sim.m.open_socket(), Some(id));
                    } else {
                        assert_eq!(self.sim.m.open_socket(), None);
                        assert!(!self.sim.live.contains(&id), "the failed socket stays");
                        let lost = events.iter().any(|e| match e {
                            ConnectionEvent::Reconnecting { last_close, .. }
                            | ConnectionEvent::WaitingForNetwork {
                                last_close: Some(last_close),
                            } => last_close.is_handshake_failure(),
                            ConnectionEvent::Closed {
                                reason: StopReason::Policy(d) | StopReason::GaveUp(d),
                                ..
                            } => d.is_handshake_failure(),
                            _ => false,
                        });
                        assert!(lost, "the failure is not reported: {events:?}");
                    }
                    acts
                }
                Op::Pong => {
                    if !self.sim.is_current_open() {
                        return;
                    }
                    let id = self.sim.current();
                    let Some(n) = self.sim.last_ping(id) else {
                        return;
                    };
                    let closing = self.sim.m.ready_state() == ReadyState::Closing;
                    let outstanding = !closing && self.sim.m.ping.map(|(seq, _)| seq) == Some(n);
                    let answers = self.sim.m.unanswered.contains(&n);
                    let pong = text(&format!("{PONG}{n}"));
                    let acts = self.sim.recv(pong.clone());
                    if answers {
                        assert!(delivered_in(&acts).is_empty(), "our pong was delivered");
                    } else {
                        // Already answered: a repeat is the application's message.
                        assert_eq!(delivered_in(&acts), vec![pong]);
                    }
                    let rtts = events_in(&acts)
                        .into_iter()
                        .filter(|e| matches!(e, ConnectionEvent::Rtt(_)))
                        .count();
                    assert_eq!(rtts, usize::from(outstanding));
                    if outstanding {
                        assert!(self.sim.m.rtt().is_some());
                    }
                    self.last_inbound = self.sim.now;
                    acts
                }
                Op::Send(size) => {
                    let n = self.next_msg;
                    self.next_msg += 1;
                    let message = user_message(n, size);
                    let len = message.len();
                    self.sizes.insert(n, len);
                    let bytes_before = self.sim.m.queued_bytes();
                    let was_open = self.sim.m.open_socket().is_some();
                    let was_stopped = self.sim.m.is_stopped();
                    let (result, acts) = self.sim.send(message);
                    match result {
                        Ok(SendOutcome::Written) => {
                            assert!(was_open);
                            self.accepted.push(n);
                            self.pending.push_back(n);
                        }
                        Ok(SendOutcome::Queued { dropped }) => {
                            assert!(!was_open && !was_stopped && self.p.replay);
                            if dropped > 0 {
                                assert_eq!(self.p.overflow, Overflow::DropOldest);
                            }
                            for _ in 0..dropped {
                                self.pending
                                    .pop_front()
                                    .expect("dropped more than was queued");
                            }
                            self.dropped += dropped;
                            self.accepted.push(n);
                            self.pending.push_back(n);
                        }
                        Ok(SendOutcome::Dropped) => {
                            assert_eq!(self.p.overflow, Overflow::DropNewest);
                            assert_eq!(self.sim.m.queued_bytes(), bytes_before);
                        }
                        Err(Error::QueueFull { message_bytes, .. }) => {
                            assert_eq!(message_bytes, len);
                            assert!(self.p.overflow == Overflow::Reject || len > self.p.queue_max);
                            assert_eq!(self.sim.m.queued_bytes(), bytes_before);
                        }
                        Err(Error::NotOpen) => assert!(!self.p.replay && !was_open && !was_stopped),
                        Err(Error::Stopped) => assert!(was_stopped),
                        Err(other) => panic!("unexpected send error {other:?}"),
                    }
                    acts
                }
                Op::Refused(size) => {
                    if self.sim.m.open_socket().is_none() || self.sim.m.is_stopped() {
                        return;
                    }
                    let n = self.next_msg;
                    self.next_msg += 1;
                    let message = user_message(n, size);
                    self.sizes.insert(n, message.len());
                    let (result, acts) = self.sim.send(message.clone());
                    assert_eq!(result, Ok(SendOutcome::Written));
                    self.accepted.push(n);
                    self.pending.push_back(n);
                    self.process(&acts);
                    // The browser refused it: its socket is closing, the close event follows.
                    let queued_before = self.sim.m.queued_bytes();
                    self.sim.m.write_failed(message);
                    let acts = self.sim.drain();
                    if self.sim.m.queued_bytes() > queued_before {
                        assert!(self.p.replay);
                        assert_eq!(self.written.pop(), Some(n));
                        self.pending.push_back(n);
                        self.requeued.insert(n);
                    } else {
                        assert_eq!(
                            events_in(&acts),
                            vec![ConnectionEvent::Unsent(user_message(n, size))]
                        );
                    }
                    self.process(&acts);
                    self.sim.drop_current(1006)
                }
                Op::CloseInsideLoss(code) => {
                    if self.sim.user_closed || self.sim.live.len() != 1 {
                        return;
                    }
                    let id = self.sim.current();
                    self.sim.live.clear();
                    let close = CloseInfo {
                        code,
                        reason: String::new(),
                        was_clean: code != 1006,
                    };
                    let now = self.sim.now;
                    self.sim.m.on_close(id, close, now);
                    // The driver carries out the first action; its handler calls close().
                    let first = self.sim.m.poll_action();
                    self.sim.user_closed = true;
                    self.sim.m.close(1000, "");
                    if let Some(first) = first {
                        self.sim.m.actions.push_front(first);
                    }
                    let acts = self.sim.drain();
                    let events = events_in(&acts);
                    if let Some(at) = events.iter().position(|e| {
                        matches!(
                            e,
                            ConnectionEvent::Closed {
                                reason: StopReason::UserClosed,
                                ..
                            }
                        )
                    }) {
                        assert_eq!(
                            at,
                            events.len() - 1,
                            "events after the final close: {events:?}"
                        );
                    }
                    acts
                }
                Op::Close => {
                    let already = self.sim.user_closed;
                    let reported = self.sim.m.is_finished();
                    let had_socket = !self.sim.live.is_empty();
                    let acts = self.sim.close(1000, "bye");
                    if already || reported {
                        // Closed or given up already (and said so): nothing more happens.
                        assert!(acts.is_empty(), "{acts:?}");
                        assert!(already || self.sim.m.is_closed_for_good());
                    } else if had_socket {
                        // Closing: the final event waits for the socket's close event.
                        assert_eq!(self.sim.m.ready_state(), ReadyState::Closing);
                    } else {
                        assert_eq!(the_closed(&acts).0, StopReason::UserClosed);
                    }
                    acts
                }
                Op::Reconnect => self.sim.reconnect(),
                Op::Online(online) => self.sim.set_online(online),
                Op::Visible(visible) => self.sim.set_visible(visible),
                Op::Stale(kind, i) => {
                    let dead: Vec<ConnId> = self
                        .sim
                        .dialled
                        .iter()
                        .copied()
                        .filter(|id| !self.sim.live.contains(id))
                        .collect();
                    if dead.is_empty() {
                        return;
                    }
                    let id = dead[i % dead.len()];
                    let before = (
                        self.sim.m.phase,
                        self.sim.m.attempt(),
                        self.sim.m.queued_bytes(),
                    );
                    let acts = match kind {
                        0 => self.sim.open(id),
                        1 => self.sim.recv_on(id, text("stale")),
                        2 => self.sim.close_event(id, 1006),
                        _ => self
                            .sim
                            .input(|m, now| m.on_dial_failed(id, "stale".into(), now)),
                    };
                    assert!(
                        acts.is_empty(),
                        "a stale event for socket {id} did {acts:?}"
                    );
                    let after = (
                        self.sim.m.phase,
                        self.sim.m.attempt(),
                        self.sim.m.queued_bytes(),
                    );
                    assert_eq!(before, after);
                    acts
                }
            };
            self.process(&acts);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 256,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn random_inputs_keep_the_invariants(
            p in params(),
            ops in prop::collection::vec(op(), 0..200),
        ) {
            let mut model = Model::new(p);
            for op in &ops {
                model.step(op);
                model.check_state();
            }
        }

        /// With timers on time, a peer that falls silent is found exactly `interval +
        /// timeout` after its last message, never earlier; answers keep it alive.
        #[test]
        fn heartbeat_finds_silence_exactly(
            (interval, timeout) in (500u64..20_000, 500u64..20_000),
            gaps in prop::collection::vec((0u64..40_000, any::<bool>()), 1..30),
            seed in any::<u64>(),
        ) {
            let (interval, timeout) = (ms(interval), ms(timeout));
            let mut sim = Sim::new(heartbeat(interval, timeout), seed);
            sim.advance(ms(100));
            sim.open_current();
            let mut last_inbound = sim.now;
            for (gap, pong) in gaps {
                let deadline = last_inbound + interval + timeout;
                let target = sim.now + ms(gap);
                let mut dead_at = None;
                while let Some((timer, due)) = sim.next_timer().filter(|(_, due)| *due <= target) {
                    sim.now = due;
                    let acts = sim.fire(timer);
                    if close_sockets_in(&acts).iter().any(|c| c.1 == HEARTBEAT_TIMEOUT_CODE) {
                        dead_at = Some(sim.now);
                        break;
                    }
                }
                if target >= deadline {
                    prop_assert_eq!(dead_at, Some(deadline));
                    return Ok(());
                }
                prop_assert_eq!(dead_at, None);
                sim.now = target;
                let id = sim.current();
                let reply = match sim.last_ping(id) {
                    Some(n) if pong => format!("{PONG}{n}"),
                    _ => "data".to_owned(),
                };
                sim.recv(text(&reply));
                last_inbound = sim.now;
            }
        }
    }
}

#[test]
fn a_write_the_browser_refused_goes_back_to_the_queue_in_order() {
    let mut sim = Sim::new(Config::default(), 30);
    sim.open_current();
    let (sent, acts) = sim.send(text("a"));
    assert_eq!(sent, Ok(SendOutcome::Written));
    // The socket was already closing: the driver hands the refused writes back.
    for message in writes_in(&acts).into_iter().chain([text("b")]) {
        sim.m.write_failed(message);
    }
    assert_eq!(sim.m.queued_bytes(), 2);
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let acts = sim.open_current();
    assert_eq!(writes_in(&acts), vec![text("a"), text("b")]);
}

#[test]
fn a_refused_heartbeat_ping_is_not_replayed_as_data() {
    let mut sim = Sim::new(heartbeat(secs(1), secs(5)), 31);
    sim.open_current();
    let acts = sim.advance(secs(1));
    let ping = writes_in(&acts).pop().expect("a ping");
    sim.m.write_failed(ping);
    // A user message that merely looks like an old ping is still kept.
    sim.m.write_failed(text(&format!("{PING}999")));
    assert_eq!(sim.m.queued_bytes(), format!("{PING}999").len());
}

#[test]
fn every_timer_sits_at_its_index_in_all() {
    for (i, timer) in Timer::ALL.into_iter().enumerate() {
        assert_eq!(timer.index(), i, "{timer:?}");
    }
    let distinct: HashSet<Timer> = Timer::ALL.into_iter().collect();
    assert_eq!(distinct.len(), Timer::ALL.len());
}

// Edge cases found by review (issue #10); each test failed before its fix.

/// #2: a close while the URL provider is still pending has no socket to wait for.
#[test]
fn close_while_the_url_provider_is_pending_closes_at_once() {
    let mut sim = Sim::with_provider(Config::default(), 40);
    let id = sim.current();
    let acts = sim.close(1000, "bye");
    assert_eq!(sim.m.ready_state(), ReadyState::Closed);
    let (reason, unsent) = the_closed(&acts);
    assert_eq!((reason, unsent), (StopReason::UserClosed, 0));
    assert!(sim.timers.is_empty(), "timers left: {:?}", sim.timers);
    // The provider answers late: the socket is not created.
    sim.live.clear();
    assert!(sim.create(id).is_empty());
    assert!(!sim.m.is_dialing(id));
}

/// #2, the other way round: once created, the close waits for the socket's close event.
#[test]
fn close_after_the_provider_answered_waits_for_the_socket() {
    let mut sim = Sim::with_provider(Config::default(), 41);
    let id = sim.current();
    sim.create(id);
    let acts = sim.close(1000, "bye");
    assert_eq!(start_close(&acts), vec![(id, 1000, "bye".to_owned())]);
    assert_eq!(sim.m.ready_state(), ReadyState::Closing);
}

/// #3: a close from inside the handler of a loss (re-entrant, before the loss's actions
/// were all carried out) cancels the retry it announced: nothing about it follows.
#[test]
fn a_close_while_a_loss_is_being_carried_out_drops_the_retry_and_its_announcement() {
    let mut sim = Sim::new(Config::default(), 42);
    sim.open_current();
    let id = sim.current();
    sim.live.clear();
    let close = CloseInfo {
        code: 1006,
        reason: String::new(),
        was_clean: false,
    };
    sim.m.on_close(id, close, sim.now);
    // The driver carries out the first action, then a handler calls close().
    let first = sim.m.poll_action().expect("an action");
    sim.m.close(1000, "");
    let rest: Vec<Action> = std::iter::from_fn(|| sim.m.poll_action()).collect();
    let all: Vec<Action> = std::iter::once(first).chain(rest).collect();
    let events = events_in(&all);
    let closed_at = events
        .iter()
        .position(|e| matches!(e, ConnectionEvent::Closed { .. }))
        .expect("a final Closed");
    assert_eq!(
        closed_at,
        events.len() - 1,
        "events after the final close: {events:?}"
    );
    assert!(dials_in(&all).is_empty());
    // Whatever was set, the retry timer ends up cancelled.
    let last_retry = all.iter().rev().find_map(|a| match a {
        Action::SetTimer {
            timer: Timer::Retry,
            ..
        } => Some(true),
        Action::CancelTimer(Timer::Retry) => Some(false),
        _ => None,
    });
    assert_eq!(last_retry, Some(false));
    assert!(sim.m.is_closed_for_good());
}

/// #4: close() after the policy or the backoff stopped reports nothing more.
#[test]
fn close_after_giving_up_fires_no_second_close() {
    let cfg = Config {
        backoff: Backoff::from(ExponentialBackoff::new().max_attempts(1)),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 43);
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let acts = sim.drop_current(1006);
    assert!(matches!(the_closed(&acts).0, StopReason::GaveUp(_)));
    let acts = sim.close(1000, "");
    assert!(acts.is_empty(), "a second close: {acts:?}");
    assert!(sim.m.is_closed_for_good());
    // And reconnect() no longer restarts it: the user closed.
    assert!(sim.reconnect().is_empty());
}

/// #5: visibility and online changes shorten the wait but keep the retry counter, so a
/// limited backoff still gives up.
#[test]
fn visibility_and_online_changes_still_give_up_after_max_attempts() {
    let cfg = Config {
        backoff: Backoff::from(ExponentialBackoff::new().max_attempts(2)),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 44);
    let mut stopped = false;
    for i in 0..50 {
        let acts = sim.drop_current(1006);
        if events_in(&acts)
            .iter()
            .any(|e| matches!(e, ConnectionEvent::Closed { .. }))
        {
            stopped = true;
            assert_eq!(i, 2, "gave up after the wrong number of failures");
            break;
        }
        if i % 2 == 0 {
            sim.set_visible(false);
            sim.set_visible(true);
        } else {
            sim.set_online(false);
            sim.set_online(true);
        }
        assert_eq!(sim.live.len(), 1, "the page change dialled at once");
    }
    assert!(stopped, "50 failures never gave up");
}

/// #10: with replay off, a write the browser refused comes back to the app.
#[test]
fn without_replay_a_refused_write_is_reported_not_replayed() {
    let cfg = Config {
        replay: false,
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 45);
    sim.open_current();
    let (sent, _) = sim.send(text("late"));
    assert_eq!(sent, Ok(SendOutcome::Written));
    sim.m.write_failed(text("late"));
    let acts = sim.drain();
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Unsent(text("late"))]
    );
    assert_eq!(sim.m.queued_bytes(), 0);
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let acts = sim.open_current();
    assert!(writes_in(&acts).is_empty(), "replayed: {acts:?}");
}

/// #10: after the user's close a refused write can't be replayed either: reported.
#[test]
fn a_refused_write_after_close_is_reported() {
    let mut sim = Sim::new(Config::default(), 46);
    sim.open_current();
    sim.close(1000, "");
    sim.m.write_failed(text("x"));
    assert_eq!(
        events_in(&sim.drain()),
        vec![ConnectionEvent::Unsent(text("x"))]
    );
}

/// #11: without replay nothing can be accepted before open, so the Sink must wait.
#[test]
fn without_replay_nothing_is_acceptable_until_open() {
    let cfg = Config {
        replay: false,
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 47);
    assert!(!sim.m.can_accept(1));
    sim.open_current();
    assert!(sim.m.can_accept(1));
    sim.drop_current(1006);
    assert!(!sim.m.can_accept(1));
}

/// #12: only a pong answering one of our pings is consumed; a look-alike is delivered.
#[test]
fn only_answers_to_our_pings_are_consumed() {
    let mut sim = Sim::new(heartbeat(secs(1), secs(5)), 48);
    sim.open_current();
    // No ping sent yet: an application message with the pong prefix is data.
    let lookalike = text(&format!("{PONG}1"));
    assert_eq!(delivered_in(&sim.recv(lookalike.clone())), vec![lookalike]);
    sim.advance(secs(1));
    let id = sim.current();
    let n = sim.last_ping(id).expect("a ping");
    let other = text(&format!("{PONG}{}", n + 7));
    assert_eq!(delivered_in(&sim.recv(other.clone())), vec![other]);
    let acts = sim.recv(text(&format!("{PONG}{n}")));
    assert!(delivered_in(&acts).is_empty());
    assert!(matches!(events_in(&acts)[..], [ConnectionEvent::Rtt(_)]));
    // Answered once: the same pong again is data.
    let again = text(&format!("{PONG}{n}"));
    assert_eq!(delivered_in(&sim.recv(again.clone())), vec![again]);
}

/// #14: no timer is asked for beyond what a browser keeps; a long wait is re-armed in steps
/// and fires when it is really due.
#[test]
fn timers_beyond_the_browser_limit_are_rearmed_until_due() {
    let thirty_days = secs(30 * 24 * 3600);
    let cfg = Config {
        connect_timeout: thirty_days,
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 49);
    // The Sim asserts every SetTimer is within MAX_TIMER.
    let mut fired = 0;
    while sim.live.len() == 1 && sim.m.attempt() == 0 {
        sim.advance_to_next_timer();
        fired += 1;
        assert!(fired < 10, "never came due");
    }
    assert_eq!(fired, 2, "30 days = one full step and the rest");
    assert_eq!(sim.now, thirty_days);
    assert_eq!(
        sim.m.attempt(),
        1,
        "the attempt timed out after 30 days, not before"
    );
}

/// #14: a backoff of 30 days waits 30 days.
#[test]
fn a_thirty_day_backoff_waits_thirty_days() {
    let thirty_days = secs(30 * 24 * 3600);
    let cfg = Config {
        backoff: no_jitter(thirty_days, thirty_days),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 50);
    sim.drop_current(1006);
    let before = sim.now;
    while sim.live.is_empty() {
        sim.advance_to_next_timer();
    }
    assert_eq!(sim.now - before, thirty_days);
}

/// #15: the longest durations saturate; nothing panics.
#[test]
fn duration_max_everywhere_does_not_panic() {
    let cfg = Config {
        backoff: Backoff::from(
            ExponentialBackoff::new()
                .min(Duration::MAX)
                .max(Duration::MAX),
        ),
        connect_timeout: Duration::MAX,
        stable_after: Duration::MAX,
        heartbeat: Some(Heartbeat::new(Duration::MAX, Duration::MAX)),
        ..Config::default()
    };
    cfg.validate().expect("valid");
    let mut sim = Sim::new(cfg, 51);
    sim.open_current();
    sim.recv(text("x"));
    sim.advance(secs(1));
    sim.drop_current(1006);
    sim.advance(secs(3600));
    sim.set_visible(true);
    sim.open_current();
    sim.close(1000, "");
}

/// #16: a zero minimum delay can't grow: rejected with the field named.
#[test]
fn a_zero_minimum_delay_is_rejected() {
    let cfg = Config {
        backoff: Backoff::from(ExponentialBackoff::new().min(Duration::ZERO)),
        ..Config::default()
    };
    assert!(matches!(
        cfg.validate(),
        Err(Error::InvalidOption {
            field: "backoff.min",
            ..
        })
    ));
}

/// #1: a connection lost while offline is reported with its close.
#[test]
fn a_loss_while_offline_carries_its_close() {
    let mut sim = Sim::new(Config::default(), 52);
    sim.open_current();
    sim.set_online(false);
    let acts = sim.drop_current(4001);
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::WaitingForNetwork {
            last_close: Some(disconnect(4001, "", true, true))
        }]
    );
}

// Heartbeat wire formats and the handshake hook (issue #11).

fn with_heartbeat(hb: Heartbeat) -> Config {
    Config {
        heartbeat: Some(hb),
        ..Config::default()
    }
}

fn json_pong(m: &Message) -> Option<crate::Pong> {
    (m.as_text()? == r#"{"type":"pong"}"#).then_some(crate::Pong::Unnumbered)
}

#[test]
fn a_custom_ping_and_an_unnumbered_pong_measure_the_round_trip() {
    let hb = Heartbeat::new(secs(1), secs(2))
        .ping(|_| text(r#"{"type":"ping"}"#))
        .pong(json_pong);
    let mut sim = Sim::new(with_heartbeat(hb), 60);
    sim.open_current();
    // No ping outstanding: a pong-shaped message is the application's.
    let pong = text(r#"{"type":"pong"}"#);
    assert_eq!(delivered_in(&sim.recv(pong.clone())), vec![pong.clone()]);
    let acts = sim.advance(secs(1));
    assert_eq!(writes_in(&acts), vec![text(r#"{"type":"ping"}"#)]);
    sim.advance(ms(40));
    let acts = sim.recv(pong.clone());
    assert!(delivered_in(&acts).is_empty(), "our pong was delivered");
    assert_eq!(events_in(&acts), vec![ConnectionEvent::Rtt(ms(40))]);
}

#[test]
fn silence_mode_sends_nothing_and_finds_silence_after_the_timeout() {
    let mut sim = Sim::new(with_heartbeat(Heartbeat::silence(secs(3))), 61);
    sim.open_current();
    // A push every 2 s keeps it alive, and nothing is ever written.
    for _ in 0..10 {
        let acts = sim.advance(secs(2));
        assert!(writes_in(&acts).is_empty() && close_sockets_in(&acts).is_empty());
        sim.recv(text("push"));
    }
    let acts = sim.advance(ms(2999));
    assert!(close_sockets_in(&acts).is_empty());
    let acts = sim.advance(ms(1));
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
}

#[test]
fn answer_mode_replies_to_the_servers_ping_and_hides_it() {
    let hb = Heartbeat::answer(secs(5), |m| (m.as_text() == Some("2")).then(|| text("3")));
    let mut sim = Sim::new(with_heartbeat(hb), 62);
    sim.open_current();
    let acts = sim.recv(text("2"));
    assert_eq!(writes_in(&acts), vec![text("3")]);
    assert!(delivered_in(&acts).is_empty());
    assert_eq!(
        delivered_in(&sim.recv(text("4hello"))),
        vec![text("4hello")]
    );
    // A refused answer is not replayed as the application's data.
    sim.m.write_failed(text("3"));
    assert_eq!(sim.m.queued_bytes(), 0);
    let acts = sim.advance(secs(5));
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
    assert!(writes_in(&acts).is_empty(), "no pings of our own");
}

#[test]
fn silence_shorter_than_a_second_is_rejected() {
    let cfg = with_heartbeat(Heartbeat::silence(ms(500)));
    assert!(matches!(
        cfg.validate(),
        Err(Error::InvalidOption {
            field: "heartbeat.timeout",
            ..
        })
    ));
}

fn with_hook() -> Config {
    Config {
        handshake: true,
        ..Config::default()
    }
}

#[test]
fn the_handshake_hook_runs_before_open_and_before_the_queue() {
    let mut sim = Sim::new(with_hook(), 63);
    assert!(sim.send(text("queued")).0.is_ok());
    let id = sim.current();
    let acts = sim.open_current();
    assert_eq!(acts, vec![Action::Handshake { id }]);
    assert_eq!(sim.m.ready_state(), ReadyState::Connecting);
    // Sent now: still queued behind the hook.
    assert_eq!(
        sim.send(text("later")).0,
        Ok(SendOutcome::Queued { dropped: 0 })
    );
    let acts = sim.recv(text("ack"));
    assert_eq!(
        acts,
        vec![Action::ToHandshake {
            id,
            message: text("ack")
        }]
    );
    let now = sim.now;
    let acts = sim.input(|m, _| m.handshake_done(id, Ok(()), now));
    assert_eq!(
        events_in(&acts),
        vec![ConnectionEvent::Open {
            protocol: "chat".into()
        }]
    );
    assert_eq!(writes_in(&acts), vec![text("queued"), text("later")]);
    assert_eq!(delivered_in(&sim.recv(text("data"))), vec![text("data")]);
}

#[test]
fn a_failed_or_late_handshake_is_a_failed_attempt_with_its_reason() {
    let mut sim = Sim::new(with_hook(), 64);
    let id = sim.current();
    sim.open_current();
    let now = sim.now;
    let acts = sim.input(|m, _| m.handshake_done(id, Err("auth rejected".into()), now));
    assert_eq!(close_sockets_in(&acts)[0].0, id);
    let (attempt, _, last_close) = the_reconnecting(&acts);
    assert_eq!(attempt, 1);
    assert!(last_close.is_handshake_failure() && !last_close.was_open);
    assert!(last_close.close.reason.contains("auth rejected"));
    // The next attempt's hook never finishes: the connect timeout ends it.
    sim.advance_to_next_timer();
    sim.open_current();
    let acts = sim.advance(secs(10));
    let (_, _, last_close) = the_reconnecting(&acts);
    assert!(last_close.is_handshake_failure(), "{last_close:?}");
}

// Gaps found by mutation testing (issue #26): each test fails if the core is broken the way
// a surviving mutant broke it.

/// Where a machine is, for the tests that check an input in every phase.
#[derive(Debug, Clone, Copy, PartialEq)]
enum At {
    Connecting,
    Handshaking,
    Open,
    Waiting,
    Offline,
    Closing,
    Stopped,
    Closed,
}

const EVERY_PHASE: [At; 8] = [
    At::Connecting,
    At::Handshaking,
    At::Open,
    At::Waiting,
    At::Offline,
    At::Closing,
    At::Stopped,
    At::Closed,
];

/// The server's `welcome new`, through the codec.
fn welcome_new(session: &str) -> Message {
    let welcome = Control::New {
        session: session.into(),
        window: 1 << 20,
    };
    welcome.encode()
}

/// The server's `welcome resumed`, through the codec.
fn welcome_resumed(session: &str, recv: u64, next: u64) -> Message {
    let welcome = Control::Resumed {
        session: session.into(),
        recv,
        next,
        window: 1 << 20,
    };
    welcome.encode()
}

/// The server's `welcome lost`, through the codec.
fn welcome_lost(reason: LostReason, session: &str, missed: Option<u64>) -> Message {
    let welcome = Control::Lost {
        reason,
        session: session.into(),
        missed,
        window: 1 << 20,
    };
    welcome.encode()
}

/// Our `resume` greeting, through the codec.
fn resume_greeting(session: &str, recv: u64) -> Message {
    let greeting = Control::Resume {
        session: session.into(),
        recv,
    };
    greeting.encode()
}

/// A machine brought to `at`, with a 3-byte message sent at the start and another once there
/// (each kept if `send` takes it). Without resume, `Handshaking` is a handshake hook's.
fn sim_at(at: At, mut cfg: Config) -> Sim {
    let resume = cfg.resume.is_some();
    cfg.handshake = at == At::Handshaking && !resume;
    let mut sim = Sim::new(cfg, 70);
    let _ = sim.send(text("abc"));
    if at != At::Connecting {
        sim.open_current();
    }
    if resume && at != At::Connecting && at != At::Handshaking {
        sim.recv(welcome_new("s1"));
    }
    match at {
        At::Connecting | At::Handshaking | At::Open => {}
        At::Waiting => {
            sim.drop_current(1006);
        }
        At::Offline => {
            sim.set_online(false);
            sim.drop_current(1006);
        }
        At::Closing => {
            sim.close(1000, "");
        }
        At::Stopped => {
            sim.drop_current(1008);
        }
        At::Closed => {
            sim.close(1000, "");
            sim.drop_current(1000);
        }
    }
    let _ = sim.send(text("def"));
    sim
}

/// The npm package checks a Blob's size before it reads it (`check_send`), and its Sink asks
/// whether a message would go through (`can_accept`): both must agree with what `send` then
/// does, in every phase and configuration.
#[test]
fn check_send_and_can_accept_predict_send_in_every_phase() {
    for at in EVERY_PHASE {
        for resume in [false, true] {
            for replay in [true, false] {
                for overflow in [Overflow::Reject, Overflow::DropOldest, Overflow::DropNewest] {
                    let cfg = Config {
                        queue_max_bytes: 10,
                        overflow,
                        replay,
                        resume: resume.then(Resume::default),
                        ..Config::default()
                    };
                    for len in 0..=11 {
                        let mut sim = sim_at(at, cfg.clone());
                        let checked = sim.m.check_send(len);
                        let acceptable = sim.m.can_accept(len);
                        let sent = sim.m.send(text(&"x".repeat(len)));
                        let case = format!(
                            "{at:?}, resume {resume}, replay {replay}, {overflow:?}, {len} bytes: \
                             send gave {sent:?}"
                        );
                        assert_eq!(checked, sent.clone().map(|_| ()), "check_send, {case}");
                        let clean = matches!(
                            sent,
                            Ok(SendOutcome::Written | SendOutcome::Queued { dropped: 0 })
                        );
                        assert_eq!(acceptable, clean, "can_accept, {case}");
                    }
                }
            }
        }
    }
}

#[test]
fn with_resume_drop_newest_reports_a_message_the_full_replay_buffer_cannot_take() {
    let cfg = Config {
        queue_max_bytes: 10,
        overflow: Overflow::DropNewest,
        resume: Some(Resume::default()),
        ..Config::default()
    };
    let mut sim = sim_at(At::Open, cfg);
    let id = sim.current();
    // "abc" and "def" await their acknowledgement: 4 bytes are left.
    let before = sim.writes[&id].len();
    let (sent, acts) = sim.send(text("12345"));
    assert_eq!(sent, Ok(SendOutcome::Dropped));
    assert!(writes_in(&acts).is_empty(), "written anyway: {acts:?}");
    assert_eq!(sim.m.unacknowledged(), 2);
    // Never sent later either: the next connection replays only what was written.
    sim.drop_current(1006);
    sim.advance_to_next_timer();
    let id2 = sim.current();
    sim.open_current();
    sim.recv(welcome_resumed("s1", 0, 1));
    assert_eq!(sim.writes[&id].len(), before);
    assert!(
        !sim.writes[&id2].iter().any(|m| *m == text("12345")),
        "{:?}",
        sim.writes[&id2]
    );
}

/// #26: a timer longer than a browser keeps, set long after the machine started, still
/// waits its full time (the 30-day tests above set theirs at t = 0).
#[test]
fn a_thirty_day_backoff_set_after_ten_days_online_waits_thirty_days() {
    let thirty_days = secs(30 * 24 * 3600);
    let cfg = Config {
        backoff: no_jitter(thirty_days, thirty_days),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 71);
    sim.open_current();
    sim.advance(secs(10 * 24 * 3600));
    sim.drop_current(1006);
    let lost_at = sim.now;
    while sim.live.is_empty() {
        sim.advance_to_next_timer();
    }
    assert_eq!(sim.now - lost_at, thirty_days, "redialled early");
}

/// Without pings only the server's messages prove life: a peer silent since its last
/// message is dead `timeout` after it, not a timeout later.
#[test]
fn silence_mode_finds_the_peer_dead_timeout_after_its_last_message() {
    let mut sim = Sim::new(with_heartbeat(Heartbeat::silence(secs(3))), 72);
    sim.open_current();
    sim.advance(secs(1));
    sim.recv(text("last push"));
    let last = sim.now;
    let acts = loop {
        let (_, acts) = sim.advance_to_next_timer();
        if !close_sockets_in(&acts).is_empty() {
            break acts;
        }
    };
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
    assert_eq!(sim.now, last + secs(3));
}

/// A frozen page fires its heartbeat timer late, before the server's messages that arrived
/// meanwhile are dispatched: without pings the peer gets a full timeout once more.
#[test]
fn silence_mode_gives_a_full_timeout_after_a_late_timer_once() {
    let mut sim = Sim::new(with_heartbeat(Heartbeat::silence(secs(3))), 73);
    sim.open_current();
    // Due at 3 s, fired at 60 s.
    let acts = sim.advance_late(secs(60));
    assert!(
        close_sockets_in(&acts).is_empty(),
        "declared dead on a late tick"
    );
    // The queued push is dispatched now: alive.
    sim.advance(secs(2));
    sim.recv(text("push"));
    assert!(close_sockets_in(&sim.advance(ms(2999))).is_empty());
    assert_eq!(sim.m.ready_state(), ReadyState::Open);
    // Frozen again and nothing came: a second late tick does excuse it once more (a
    // message ended the first excuse), and silence after that is death on time.
    let acts = sim.advance_late(secs(60));
    assert!(close_sockets_in(&acts).is_empty());
    let acts = sim.advance(secs(3));
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
}

/// The peer's messages that were on their way when the user closed are still the user's
/// data, delivered exactly as sent: without resume, binary bytes are not read as frames.
#[test]
fn messages_arriving_while_closing_are_delivered_unchanged() {
    let data = [
        text("bye"),
        Message::Binary(vec![0, 1, 2]),
        Message::Binary(vec![1, b'a', b'c', b'k', b' ', b'1']),
    ];
    let mut sim = Sim::new(Config::default(), 74);
    sim.open_current();
    let id = sim.current();
    sim.close(1000, "");
    for m in &data {
        sim.recv_on(id, m.clone());
    }
    assert_eq!(sim.delivered, data);
    // A socket replaced earlier says nothing any more.
    assert!(sim.recv_on(id - 1, text("stale")).is_empty());
    assert!(sim.recv_on(id + 1, text("stale")).is_empty());
}

/// With resume, what arrives while closing is still read as the protocol's frames: the
/// application gets its messages without the wire's tag byte, and never the server's acks.
#[test]
fn with_resume_frames_arriving_while_closing_are_unwrapped() {
    let mut cfg = Config {
        resume: Some(Resume::default()),
        ..Config::default()
    };
    cfg.backoff = no_jitter(ms(100), ms(100));
    let mut sim = sim_at(At::Closing, cfg);
    let id = sim.current();
    let payload = Message::Binary(vec![7, 8]);
    sim.recv_on(id, crate::core::resume::wrap(&payload));
    sim.recv_on(id, Control::Ack(1).encode());
    sim.recv_on(id, text("t"));
    assert_eq!(sim.delivered, vec![payload, text("t")]);
    assert_eq!(sim.m.unacknowledged(), 0, "the ack was taken");
    assert!(sim.recv_on(id + 1, text("stale")).is_empty());
}

/// While a handshake hook runs, only the hook's socket feeds it.
#[test]
fn only_the_handshaking_socket_feeds_the_hook() {
    let mut sim = Sim::new(with_hook(), 75);
    let id = sim.current();
    sim.open_current();
    assert!(sim.recv_on(id + 1, text("stale")).is_empty());
    assert!(sim.to_hook.is_empty());
    sim.recv_on(id, text("hi"));
    assert_eq!(sim.to_hook, vec![text("hi")]);
}

/// With resume, what a drop would send again is counted in bytes until acknowledged (the npm
/// package's `bufferedAmount` adds it), from the welcome on and across a drop.
#[test]
fn unacknowledged_bytes_count_what_would_be_sent_again() {
    let ctl = |t: &str| Message::Binary([&[1u8][..], t.as_bytes()].concat());
    let cfg = Config {
        backoff: no_jitter(ms(100), ms(100)),
        resume: Some(crate::core::resume::Resume::default()),
        ..Config::default()
    };
    let mut sim = Sim::new(cfg, 1);
    let _ = sim.m.send(text("abc"));
    assert_eq!(sim.m.unacknowledged_bytes(), 0, "queued, not sent yet");
    let id = sim.current();
    sim.open(id);
    sim.recv(ctl("welcome new s1 1048576"));
    let _ = sim.send(Message::Binary(vec![7, 8]));
    assert_eq!(sim.m.unacknowledged_bytes(), 5);
    sim.drop_current(1006);
    assert_eq!(
        sim.m.unacknowledged_bytes(),
        5,
        "kept for the next connection"
    );
    sim.advance_to_next_timer();
    let id = sim.current();
    sim.open(id);
    sim.recv(ctl("welcome resumed s1 0 1 1048576"));
    sim.recv(ctl("ack 1"));
    assert_eq!(sim.m.unacknowledged_bytes(), 2);
    sim.recv(ctl("ack 2"));
    assert_eq!(sim.m.unacknowledged_bytes(), 0);
}

/// What a driver asks the machine: which attempt a late URL provider may still open, which
/// socket's hook runs (the driver cancels a hook that no longer does), whether a flush has
/// acknowledgements to wait for.
#[test]
fn the_drivers_queries_follow_the_phase() {
    let mut sim = Sim::with_provider(with_hook(), 76);
    let id = sim.current();
    assert!(sim.m.is_dialing(id) && !sim.m.is_dialing(id + 1));
    assert_eq!(sim.m.handshaking(), None);
    sim.create(id);
    sim.open(id);
    assert!(!sim.m.is_dialing(id), "opened, no longer dialling");
    assert_eq!(sim.m.handshaking(), Some(id));
    let now = sim.now;
    sim.input(|m, _| m.handshake_done(id, Ok(()), now));
    assert_eq!(sim.m.handshaking(), None);
    assert!(!sim.m.resumes());
    let resumes = Config {
        resume: Some(Resume::default()),
        ..Config::default()
    };
    assert!(Sim::new(resumes, 77).m.resumes());
}

/// "If nothing at all arrives within `timeout` of the ping": a message read at the very
/// instant the ping went out arrived within it, so the rule for any last message holds: the
/// silent peer is found at last inbound + interval + timeout, not a timeout after it.
#[test]
fn a_message_at_the_instant_of_the_ping_counts_as_life() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 78);
    sim.open_current();
    let (_, acts) = sim.advance_to_next_timer();
    assert_eq!(writes_in(&acts), vec![text(&format!("{PING}1"))]);
    sim.recv(text("same instant"));
    let last_inbound = sim.now;
    let acts = loop {
        let (_, acts) = sim.advance_to_next_timer();
        if !close_sockets_in(&acts).is_empty() {
            break acts;
        }
    };
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
    assert_eq!(sim.now, last_inbound + secs(10) + secs(5));
}

/// Browsers may run a timer a millisecond before the wall clock says it is due. A ping's
/// deadline checked that early is not yet passed: the machine waits out the rest, and a
/// silent peer is found at the deadline.
#[test]
fn a_heartbeat_timer_firing_early_waits_out_the_rest_of_the_deadline() {
    let mut sim = Sim::new(heartbeat(secs(10), secs(5)), 79);
    sim.open_current();
    sim.advance_to_next_timer(); // ping 1 at 10 s, deadline 15 s
    assert_eq!(sim.timers.remove(&Timer::Heartbeat), Some(secs(15)));
    sim.now = secs(15) - ms(1);
    let acts = sim.input(|m, now| m.on_timer(Timer::Heartbeat, now));
    assert!(
        close_sockets_in(&acts).is_empty(),
        "dead before the deadline"
    );
    assert_eq!(sim.next_timer(), Some((Timer::Heartbeat, secs(15))));
    let acts = sim.advance(ms(1));
    assert_eq!(close_sockets_in(&acts)[0].1, HEARTBEAT_TIMEOUT_CODE);
}

#[path = "resume_tests.rs"]
mod resume_tests;

/// What a driver reports as `bufferedAmount` (both drivers ask the machine): what its socket
/// holds while there is one, closing included; nothing between connections or once closed
/// (a browser keeps a closed socket's count).
#[test]
fn buffered_amount_counts_the_socket_also_while_closing() {
    let mut sim = Sim::new(Config::default(), 1);
    assert_eq!(sim.m.buffered_amount(0), 0);
    let id = sim.open_current_id();
    assert_eq!(sim.m.buffered_amount(500), 500);
    sim.close(1000, "");
    assert_eq!(sim.m.buffered_amount(500), 500, "while closing");
    sim.close_event(id, 1000);
    assert_eq!(sim.m.buffered_amount(500), 0, "closed");
    let mut sim = Sim::new(Config::default(), 1);
    sim.open_current_id();
    sim.drop_current(1006);
    assert_eq!(sim.m.buffered_amount(500), 0, "lost");
}

#[path = "handover_tests.rs"]
mod handover_tests;
