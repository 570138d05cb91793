//! The bytes of the cross-tab protocol's posts (share_post.rs): compact (LEB128 numbers,
//! length-prefixed bytes), versioned by the first byte. Owns the encoding only.

use crate::core::resume::LostReason;
use crate::core::share_post::{Lifecycle, Post, TabId, SHARE_VERSION};
use crate::{Error, Message};
use std::time::Duration;

const HELLO: u8 = 1;
const SEND: u8 = 2;
const RECEIPT: u8 = 3;
const BYE: u8 = 4;
const HOLDER: u8 = 5;
const JOINED: u8 = 6;
const DELIVER: u8 = 7;
const EVENT: u8 = 8;
const SESSION: u8 = 9;
const WRITTEN: u8 = 10;
const ACKED: u8 = 11;
const CONFIRMED: u8 = 12;
const FLOOR: u8 = 13;
const LOST: u8 = 14;
const MISSED: u8 = 15;

impl Post {
    /// The post's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let w = Writer(vec![SHARE_VERSION]);
        match self {
            Post::Hello { tab } => w.kind(HELLO).num(*tab),
            Post::Send {
                tab,
                seq,
                done,
                message,
            } => w.kind(SEND).num(*tab).num(*seq).num(*done).msg(message),
            Post::Receipt { tab, mseq, want } => {
                w.kind(RECEIPT).num(*tab).num(*mseq).num(u64::from(*want))
            }
            Post::Bye { tab } => w.kind(BYE).num(*tab),
            Post::Holder { term, tab, session } => w
                .kind(HOLDER)
                .num(*term)
                .num(*tab)
                .opt_str(session.as_deref()),
            Post::Joined {
                term,
                holder,
                to,
                mseq,
                session,
                start,
                n,
                open,
            } => w
                .kind(JOINED)
                .num(*term)
                .num(*holder)
                .num(*to)
                .num(*mseq)
                .opt_str(session.as_deref())
                .num(*start)
                .num(*n)
                .opt_str(open.as_deref()),
            Post::Deliver {
                term,
                mseq,
                n,
                message,
            } => w.kind(DELIVER).num(*term).num(*mseq).num(*n).msg(message),
            Post::Event { term, event } => w.kind(EVENT).num(*term).event(event),
            Post::Session {
                term,
                id,
                start,
                new,
            } => w
                .kind(SESSION)
                .num(*term)
                .str(id)
                .num(*start)
                .num(u64::from(*new)),
            Post::Written {
                term,
                n,
                tab,
                seq,
                message,
            } => w
                .kind(WRITTEN)
                .num(*term)
                .num(*n)
                .num(*tab)
                .num(*seq)
                .msg(message),
            Post::Acked { term, n } => w.kind(ACKED).num(*term).num(*n),
            Post::Confirmed { term, to, seq } => w.kind(CONFIRMED).num(*term).num(*to).num(*seq),
            Post::Floor {
                term,
                mseq,
                live,
                present,
            } => w.kind(FLOOR).num(*term).num(*mseq).tabs(live).tabs(present),
            Post::SessionLost {
                term,
                reason,
                missed,
                ranges,
            } => {
                let w = w
                    .kind(LOST)
                    .num(*term)
                    .str(reason.as_str())
                    .num(missed.map_or(0, |m| m.saturating_add(1)))
                    .num(ranges.len() as u64);
                ranges.iter().fold(w, |w, (tab, first, last)| {
                    w.num(*tab).num(*first).num(*last)
                })
            }
            Post::Missed {
                term,
                to,
                from,
                upto,
                n,
            } => w
                .kind(MISSED)
                .num(*term)
                .num(*to)
                .num(*from)
                .num(*upto)
                .num(*n),
        }
        .0
    }

    /// Reads a post. [`Error::ShareMessage`] for bytes this version can't read: another
    /// version's (its first byte), a truncated or malformed post, or trailing bytes.
    pub fn decode(bytes: &[u8]) -> Result<Post, Error> {
        let mut r = Reader(bytes);
        let version = r.byte()?;
        if version != SHARE_VERSION {
            return Err(Error::ShareMessage {
                version,
                reason: "another version of the protocol",
            });
        }
        let post = match r.byte()? {
            HELLO => Post::Hello { tab: r.num()? },
            SEND => Post::Send {
                tab: r.num()?,
                seq: r.num()?,
                done: r.num()?,
                message: r.msg()?,
            },
            RECEIPT => Post::Receipt {
                tab: r.num()?,
                mseq: r.num()?,
                want: r.flag()?,
            },
            BYE => Post::Bye { tab: r.num()? },
            HOLDER => Post::Holder {
                term: r.num()?,
                tab: r.num()?,
                session: r.opt_str()?,
            },
            JOINED => Post::Joined {
                term: r.num()?,
                holder: r.num()?,
                to: r.num()?,
                mseq: r.num()?,
                session: r.opt_str()?,
                start: r.num()?,
                n: r.num()?,
                open: r.opt_str()?,
            },
            DELIVER => Post::Deliver {
                term: r.num()?,
                mseq: r.num()?,
                n: r.num()?,
                message: r.msg()?,
            },
            EVENT => Post::Event {
                term: r.num()?,
                event: r.event()?,
            },
            SESSION => Post::Session {
                term: r.num()?,
                id: r.str()?,
                start: r.num()?,
                new: r.flag()?,
            },
            WRITTEN => Post::Written {
                term: r.num()?,
                n: r.num()?,
                tab: r.num()?,
                seq: r.num()?,
                message: r.msg()?,
            },
            ACKED => Post::Acked {
                term: r.num()?,
                n: r.num()?,
            },
            CONFIRMED => Post::Confirmed {
                term: r.num()?,
                to: r.num()?,
                seq: r.num()?,
            },
            FLOOR => Post::Floor {
                term: r.num()?,
                mseq: r.num()?,
                live: r.tabs()?,
                present: r.tabs()?,
            },
            LOST => Post::SessionLost {
                term: r.num()?,
                reason: lost_reason(r.str()?),
                missed: r.num()?.checked_sub(1),
                ranges: (0..r.count()?)
                    .map(|_| Ok((r.num()?, r.num()?, r.num()?)))
                    .collect::<Result<_, Error>>()?,
            },
            MISSED => Post::Missed {
                term: r.num()?,
                to: r.num()?,
                from: r.num()?,
                upto: r.num()?,
                n: r.num()?,
            },
            _ => return Err(malformed("an unknown kind of post")),
        };
        match r.0.is_empty() {
            true => Ok(post),
            false => Err(malformed("bytes after the post")),
        }
    }
}

fn malformed(reason: &'static str) -> Error {
    Error::ShareMessage {
        version: SHARE_VERSION,
        reason,
    }
}

fn lost_reason(word: String) -> LostReason {
    match word.as_str() {
        "unknown" => LostReason::Unknown,
        "expired" => LostReason::Expired,
        "overflow" => LostReason::Overflow,
        "diverged" => LostReason::Diverged,
        "ended" => LostReason::Ended,
        "gap" => LostReason::Gap,
        "stopped" => LostReason::Stopped,
        _ => LostReason::Other(word),
    }
}

const CONNECTING: u8 = 1;
const OPEN: u8 = 2;
const RECONNECTING: u8 = 3;
const WAITING: u8 = 4;
const RESUMED: u8 = 5;
const CLOSED: u8 = 6;

struct Writer(Vec<u8>);

impl Writer {
    fn kind(mut self, kind: u8) -> Self {
        self.0.push(kind);
        self
    }

    fn num(mut self, mut n: u64) -> Self {
        loop {
            let low = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                self.0.push(low);
                return self;
            }
            self.0.push(low | 0x80);
        }
    }

    fn bytes(self, bytes: &[u8]) -> Self {
        let mut w = self.num(bytes.len() as u64);
        w.0.extend_from_slice(bytes);
        w
    }

    fn str(self, s: &str) -> Self {
        self.bytes(s.as_bytes())
    }

    fn opt_str(self, s: Option<&str>) -> Self {
        match s {
            None => self.num(0),
            Some(s) => self.num(1).str(s),
        }
    }

    fn tabs(self, tabs: &[TabId]) -> Self {
        let w = self.num(tabs.len() as u64);
        tabs.iter().fold(w, |w, tab| w.num(*tab))
    }

    fn msg(self, message: &Message) -> Self {
        match message {
            Message::Text(text) => self.kind(0).str(text),
            Message::Binary(bytes) => self.kind(1).bytes(bytes),
        }
    }

    fn event(self, event: &Lifecycle) -> Self {
        match event {
            Lifecycle::Connecting { attempt } => self.kind(CONNECTING).num(u64::from(*attempt)),
            Lifecycle::Open { protocol } => self.kind(OPEN).str(protocol),
            Lifecycle::Reconnecting {
                attempt,
                delay,
                code,
                reason,
                was_open,
            } => self
                .kind(RECONNECTING)
                .num(u64::from(*attempt))
                .num(delay.as_millis().min(u128::from(u64::MAX)) as u64)
                .num(u64::from(*code))
                .str(reason)
                .num(u64::from(*was_open)),
            Lifecycle::WaitingForNetwork => self.kind(WAITING),
            Lifecycle::Resumed { session, resent } => self.kind(RESUMED).str(session).num(*resent),
            Lifecycle::Closed {
                ended,
                code,
                reason,
            } => self
                .kind(CLOSED)
                .num(u64::from(*ended))
                .num(u64::from(*code))
                .str(reason),
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Error> {
        let (&b, rest) = self.0.split_first().ok_or_else(|| malformed("truncated"))?;
        self.0 = rest;
        Ok(b)
    }

    fn num(&mut self) -> Result<u64, Error> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let part = u64::from(b & 0x7f);
            if shift == 63 && part > 1 {
                return Err(malformed("a number above 2^64"));
            }
            n |= part << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(malformed("a number above 2^64"))
    }

    /// A count of items that follow, each at least one byte: no larger than what is left.
    fn count(&mut self) -> Result<usize, Error> {
        let n = self.num()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.0.len() => Ok(n),
            _ => Err(malformed("truncated")),
        }
    }

    fn bytes(&mut self) -> Result<Vec<u8>, Error> {
        let len = self.count()?;
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(bytes.to_vec())
    }

    fn str(&mut self) -> Result<String, Error> {
        String::from_utf8(self.bytes()?).map_err(|_| malformed("text that is not UTF-8"))
    }

    fn opt_str(&mut self) -> Result<Option<String>, Error> {
        match self.num()? {
            0 => Ok(None),
            1 => Ok(Some(self.str()?)),
            _ => Err(malformed("a flag other than 0 or 1")),
        }
    }

    fn small<T: TryFrom<u64>>(&mut self) -> Result<T, Error> {
        T::try_from(self.num()?).map_err(|_| malformed("a number out of range"))
    }

    fn flag(&mut self) -> Result<bool, Error> {
        match self.num()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(malformed("a flag other than 0 or 1")),
        }
    }

    fn tabs(&mut self) -> Result<Vec<TabId>, Error> {
        (0..self.count()?).map(|_| self.num()).collect()
    }

    fn msg(&mut self) -> Result<Message, Error> {
        match self.byte()? {
            0 => Ok(Message::Text(self.str()?)),
            1 => Ok(Message::Binary(self.bytes()?)),
            _ => Err(malformed("a message kind other than text or binary")),
        }
    }

    fn event(&mut self) -> Result<Lifecycle, Error> {
        Ok(match self.byte()? {
            CONNECTING => Lifecycle::Connecting {
                attempt: self.small()?,
            },
            OPEN => Lifecycle::Open {
                protocol: self.str()?,
            },
            RECONNECTING => Lifecycle::Reconnecting {
                attempt: self.small()?,
                delay: Duration::from_millis(self.num()?),
                code: self.small()?,
                reason: self.str()?,
                was_open: self.flag()?,
            },
            WAITING => Lifecycle::WaitingForNetwork,
            RESUMED => Lifecycle::Resumed {
                session: self.str()?,
                resent: self.num()?,
            },
            CLOSED => Lifecycle::Closed {
                ended: self.flag()?,
                code: self.small()?,
                reason: self.str()?,
            },
            _ => return Err(malformed("an unknown kind of event")),
        })
    }
}
