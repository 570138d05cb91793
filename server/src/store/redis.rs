//! [`RedisStore`]: session records in Redis, shared by server processes.
//!
//! Key layout, for a session `ID` and the prefix `P` (default `tether`):
//!
//! `ID` is the session's key (a hash of its identifier, made by the registry), never the
//! identifier itself.
//!
//! - `P:{ID}`, a hash: `epoch` (owner epoch), `owner` (a hash of who may resume it),
//!   `state` (`live`, `ended`, `expired`, `overflow` or `diverged`),
//!   `recv` (the client's messages received), `acked` (the server's messages the client
//!   acknowledged), `next` (the next outgoing number), `exp` (expiry, milliseconds of the
//!   Redis server's clock);
//! - `P:{ID}:out`, a list: the unacknowledged outgoing messages, numbered from `acked + 1`,
//!   each a tag byte (`t` text, `b` binary) then the payload.
//!
//! Both keys carry a Redis TTL: twice the session's time to live from the last refresh
//! (the second half keeps an expired session answerable as `expired`), or the `keep` time
//! of a lost session. Every change is one Lua script, which checks the epoch first, so two
//! processes never interleave writes to one session. Times come from the Redis server's
//! clock (`TIME`), so processes with skewed clocks agree on expiry.
//!
//! Group commit: the saves (every message sent, every count received) of all the sessions
//! of a process go to Redis together. One task takes the saves waiting, sends them as one
//! script call, answers each session with its own outcome, and takes the saves that came
//! in meanwhile: one request per round trip whatever the number of sessions, and a save
//! waits at most for the call in flight before its own. Each session still waits for its
//! save before writing the message (record before write).

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::Script;
use tokio::sync::{mpsc, oneshot};
use ws_tether::Message;

use super::{Changes, Claim, LostReason, Snapshot, Store, StoreFuture};
use crate::Error;

/// Sessions in Redis (feature `redis`): a client can resume on any server process sharing
/// the Redis server, and a restarted process resumes the sessions it had.
///
/// Clones share one connection (a [`redis::aio::ConnectionManager`], which reconnects
/// after a failure; [`RedisStore::connect`] keeps the redis crate's timeouts: 1 s to
/// connect, 500 ms per reply). A failed or timed-out write is retried by the session with
/// backoff (every write is idempotent: its epoch and first number say what it repeats),
/// and its connection stays; nothing is acknowledged meanwhile. A Redis down for a whole
/// time to live ends the session with [`Error::Store`].
///
/// Saves go through one group-commit task per store (see the module's docs), started on
/// the tokio runtime of the first save: use a store and its clones on one runtime, as its
/// connection manager requires too.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    /// For [`Store::watch_claims`]'s subscription (`None` with [`RedisStore::with_connection`]).
    client: Option<redis::Client>,
    prefix: String,
    scripts: Arc<Scripts>,
    /// The group commit's queue, its task started by the first save.
    saves: Arc<OnceLock<mpsc::UnboundedSender<SaveJob>>>,
}

/// One session's save, waiting for the group commit (written straight into its command:
/// no argument is formatted or copied on its own).
struct SaveJob {
    /// The session's key (its two Redis keys are made from it).
    id: String,
    epoch: u64,
    expire_ms: Option<u64>,
    received: Option<u64>,
    acknowledged: Option<u64>,
    first: u64,
    messages: Vec<Vec<u8>>,
    reply: oneshot::Sender<Result<(), Error>>,
}

/// The most saves, and message bytes, one group commit call carries (Lua's stack bounds
/// the arguments of one `RPUSH`; the call's size bounds its latency).
const MAX_GROUP_SAVES: usize = 512;
const MAX_GROUP_BYTES: usize = 4 << 20;

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

struct Scripts {
    create: Script,
    claim: Script,
    save_many: Script,
    lose: Script,
    end: Script,
    remove: Script,
}

/// `now` in milliseconds from the Redis server's clock.
const NOW: &str = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

/// Sets both keys' Redis TTL (the list only if it exists; an empty list is no key).
const EXPIRE_BOTH: &str = "local function expire_both(ms) redis.call('PEXPIRE', KEYS[1], ms) if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('PEXPIRE', KEYS[2], ms) end end\n";

const CREATE: &str = "
local ttl = tonumber(ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'epoch', 1, 'owner', ARGV[2], 'state', 'live', 'recv', 0, 'acked', 0, 'next', 1, 'exp', now + ttl)
redis.call('PEXPIRE', KEYS[1], 2 * ttl)
return 1
";

const CLAIM: &str = "
local ttl = tonumber(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'epoch', 'state', 'recv', 'acked', 'next', 'exp', 'owner')
if not h[1] then return {'unknown'} end
-- Another owner's session: not even its existence is told, nor its expiry renewed.
if h[7] ~= ARGV[2] then return {'unknown'} end
local last = tostring(tonumber(h[5]) - 1)
if h[2] == 'ended' then
  -- Ended by the server: its last messages, for `welcome ended`; the claimer removes it.
  local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
  local reply = {'ended', tostring(epoch), h[3], h[4]}
  for _, m in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do table.insert(reply, m) end
  return reply
end
if h[2] ~= 'live' then return {h[2], last} end
-- A record that contradicts itself (a lost write, an evicted list) can't be resumed on.
if tonumber(h[5]) ~= tonumber(h[4]) + redis.call('LLEN', KEYS[2]) + 1 then
  redis.call('HSET', KEYS[1], 'state', 'diverged')
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {'diverged', last}
end
if tonumber(h[6]) <= now then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {'expired', last}
end
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'exp', now + ttl)
expire_both(2 * ttl)
-- The previous owner, on whichever process, releases the session at once.
redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. epoch)
local reply = {'live', tostring(epoch), h[3], h[4]}
for _, m in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do table.insert(reply, m) end
return reply
";

/// Checks ownership: the script's first lines for every write.
const OWNED: &str = "
local h = redis.call('HMGET', KEYS[1], 'epoch', 'state', 'acked', 'next')
if not h[1] then return 'gone' end
if h[1] ~= ARGV[1] then return 'fenced' end
if h[2] ~= 'live' then return 'gone' end
";

/// The group commit: `KEYS` are the sessions' pairs of keys, `ARGV` for each session its
/// epoch, expiry, received, acknowledged, first number and count, then its messages.
/// Returns each session's status, in order.
const SAVE_MANY: &str = "
local function save(meta, out, epoch, exp, recv, ack, first, count, base)
  local h = redis.call('HMGET', meta, 'epoch', 'state', 'acked', 'next', 'recv')
  if not h[1] then return 'gone' end
  if h[1] ~= epoch then return 'fenced' end
  if h[2] ~= 'live' then return 'gone' end
  local acked = tonumber(h[3])
  local next = tonumber(h[4])
  -- Checked before anything is written: a refused save changes nothing.
  if count > 0 and first > next then return 'gap' end
  -- The fields that change, written with one HSET at the end.
  local fields = {}
  if recv ~= '' and tonumber(recv) > tonumber(h[5]) then
    table.insert(fields, 'recv') table.insert(fields, recv)
  end
  -- A retried save (its reply was lost) repeats what is there already: only the rest.
  local known = next - first
  if count > known then
    local pushed = count - known
    local length = redis.call('RPUSH', out, unpack(ARGV, base + known, base + count - 1))
    table.insert(fields, 'next') table.insert(fields, first + count)
    -- A list made just now takes the record's time to live.
    if length == pushed then
      local left = redis.call('PTTL', meta)
      if left > 0 then redis.call('PEXPIRE', out, left) end
    end
  end
  if ack ~= '' and tonumber(ack) > acked then
    redis.call('LTRIM', out, tonumber(ack) - acked, -1)
    table.insert(fields, 'acked') table.insert(fields, ack)
  end
  if exp ~= '' then
    local ttl = tonumber(exp)
    table.insert(fields, 'exp') table.insert(fields, now + ttl)
    redis.call('PEXPIRE', meta, 2 * ttl)
    if redis.call('EXISTS', out) == 1 then redis.call('PEXPIRE', out, 2 * ttl) end
  end
  if #fields > 0 then redis.call('HSET', meta, unpack(fields)) end
  return 'ok'
end
local results = {}
local a = 1
for s = 1, #KEYS / 2 do
  local count = tonumber(ARGV[a + 5])
  results[s] = save(KEYS[2 * s - 1], KEYS[2 * s], ARGV[a], ARGV[a + 1], ARGV[a + 2],
    ARGV[a + 3], tonumber(ARGV[a + 4]), count, a + 6)
  a = a + 6 + count
end
return results
";

const LOSE: &str = "
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'next', tonumber(ARGV[3]) + 1)
redis.call('DEL', KEYS[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[4]))
return 'ok'
";

const END: &str = "
redis.call('HSET', KEYS[1], 'state', 'ended')
expire_both(tonumber(ARGV[2]))
return 'ok'
";

const REMOVE: &str = "
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch and epoch ~= ARGV[1] then return 'fenced' end
redis.call('DEL', KEYS[1], KEYS[2])
return 'ok'
";

impl RedisStore {
    /// Connects to the Redis server at `url` (e.g. `redis://127.0.0.1:6379`); keys start
    /// with `tether:`.
    pub async fn connect(url: &str) -> Result<RedisStore, Error> {
        let client = redis::Client::open(url).map_err(Error::store)?;
        let connection = client
            .get_connection_manager()
            .await
            .map_err(Error::store)?;
        let mut store = RedisStore::with_connection(connection);
        store.client = Some(client);
        Ok(store)
    }

    /// A store on an existing connection manager; keys start with `tether:`.
    pub fn with_connection(connection: ConnectionManager) -> RedisStore {
        let script = |body: &str, owned: bool| {
            let check = if owned { OWNED } else { "" };
            Script::new(&format!("{NOW}{EXPIRE_BOTH}{check}{body}"))
        };
        RedisStore {
            connection,
            client: None,
            prefix: "tether".to_owned(),
            saves: Arc::new(OnceLock::new()),
            scripts: Arc::new(Scripts {
                create: script(CREATE, false),
                claim: script(CLAIM, false),
                save_many: script(SAVE_MANY, false),
                lose: script(LOSE, true),
                end: script(END, true),
                remove: script(REMOVE, false),
            }),
        }
    }

    /// Uses `prefix` instead of `tether` at the start of every key (to share one Redis
    /// database between applications).
    pub fn prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into();
        self
    }

    /// The channel claims are published on.
    fn claims_channel(&self) -> String {
        format!("{}:claims", self.prefix)
    }

    /// The session's two keys; the braces keep them in one Redis Cluster slot.
    fn keys(&self, id: &str) -> [String; 2] {
        [
            format!("{}:{{{id}}}", self.prefix),
            format!("{}:{{{id}}}:out", self.prefix),
        ]
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

fn encode(message: &Message) -> Vec<u8> {
    let (tag, payload) = match message {
        Message::Text(text) => (b't', text.as_bytes()),
        Message::Binary(bytes) => (b'b', bytes.as_slice()),
    };
    let mut bytes = Vec::with_capacity(payload.len() + 1);
    bytes.push(tag);
    bytes.extend_from_slice(payload);
    bytes
}

fn decode(bytes: Vec<u8>) -> Result<Message, Error> {
    match bytes.split_first() {
        Some((b't', text)) => String::from_utf8(text.to_vec())
            .map(Message::Text)
            .map_err(|_| unexpected("a stored text message is not UTF-8")),
        Some((b'b', payload)) => Ok(Message::Binary(payload.to_vec())),
        _ => Err(unexpected("a stored message has no known tag")),
    }
}

/// A reply from Redis this crate did not write: a bug, or keys written by someone else.
#[derive(Debug, thiserror::Error)]
#[error("unexpected Redis reply: {0}")]
struct Unexpected(&'static str);

fn unexpected(what: &'static str) -> Error {
    Error::store(Unexpected(what))
}

fn number(bytes: &[u8]) -> Result<u64, Error> {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| unexpected("a stored number is malformed"))
}

/// The status an ownership-checked script returned.
fn status(reply: String) -> Result<(), Error> {
    match reply.as_str() {
        "ok" => Ok(()),
        "fenced" => Err(Error::TakenOver),
        "gone" => Err(Error::Expired),
        "gap" => Err(unexpected("outgoing messages recorded out of order")),
        _ => Err(unexpected("unknown script status")),
    }
}

impl Store for RedisStore {
    fn create<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let [meta, out] = self.keys(id);
            let epoch: u64 = self
                .scripts
                .create
                .key(meta)
                .key(out)
                .arg(millis(ttl))
                .arg(owner)
                .invoke_async(&mut connection)
                .await
                .map_err(Error::store)?;
            Ok(epoch)
        })
    }

    fn claim<'a>(&'a self, id: &'a str, owner: &'a str, ttl: Duration) -> StoreFuture<'a, Claim> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let [meta, out] = self.keys(id);
            let reply: Vec<Vec<u8>> = self
                .scripts
                .claim
                .key(meta)
                .key(out)
                .arg(millis(ttl))
                .arg(owner)
                .arg(self.claims_channel())
                .arg(id)
                .invoke_async(&mut connection)
                .await
                .map_err(Error::store)?;
            let mut fields = reply.into_iter();
            let state = fields.next().ok_or_else(|| unexpected("empty claim"))?;
            let lost = |reason| -> Result<Claim, Error> {
                Ok(Claim::Lost {
                    reason,
                    last_sent: None,
                })
            };
            let reason = match state.as_slice() {
                b"unknown" => return lost(LostReason::Unknown),
                b"expired" => LostReason::Expired,
                b"overflow" => LostReason::Overflow,
                b"diverged" => LostReason::Diverged,
                live @ (b"live" | b"ended") => {
                    let ended = live == b"ended";
                    let mut next_number = || -> Result<u64, Error> {
                        number(&fields.next().ok_or_else(|| unexpected("short claim"))?)
                    };
                    let epoch = next_number()?;
                    let received = next_number()?;
                    let acknowledged = next_number()?;
                    let unacknowledged = fields.map(decode).collect::<Result<_, _>>()?;
                    let snapshot = Snapshot::new(epoch, received, acknowledged, unacknowledged);
                    return Ok(if ended {
                        Claim::Ended(snapshot)
                    } else {
                        Claim::Live(snapshot)
                    });
                }
                _ => return Err(unexpected("unknown session state")),
            };
            let last_sent = fields.next().map(|n| number(&n)).transpose()?;
            Ok(Claim::Lost { reason, last_sent })
        })
    }

    fn save<'a>(&'a self, id: &'a str, epoch: u64, changes: Changes<'a>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let job = SaveJob {
                id: id.to_owned(),
                epoch,
                expire_ms: changes.expire_in.map(millis),
                received: changes.received,
                acknowledged: changes.acknowledged,
                first: changes.first_sent,
                messages: changes.sent.iter().map(encode).collect(),
                reply,
            };
            let saves = self.saves.get_or_init(|| {
                let (saves, jobs) = mpsc::unbounded_channel();
                tokio::spawn(group_commit(
                    self.connection.clone(),
                    self.scripts.clone(),
                    self.prefix.clone(),
                    jobs,
                ));
                saves
            });
            saves
                .send(job)
                .map_err(|_| unexpected("the group commit task is gone"))?;
            answer
                .await
                .map_err(|_| unexpected("the group commit task is gone"))?
        })
    }

    fn lose<'a>(
        &'a self,
        id: &'a str,
        epoch: u64,
        reason: LostReason,
        last_sent: u64,
        keep: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let [meta, out] = self.keys(id);
            let reply: String = self
                .scripts
                .lose
                .key(meta)
                .key(out)
                .arg(epoch)
                .arg(reason.as_str())
                .arg(last_sent)
                .arg(millis(keep))
                .invoke_async(&mut connection)
                .await
                .map_err(Error::store)?;
            status(reply)
        })
    }

    fn end<'a>(&'a self, id: &'a str, epoch: u64, keep: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let [meta, out] = self.keys(id);
            let reply: String = self
                .scripts
                .end
                .key(meta)
                .key(out)
                .arg(epoch)
                .arg(millis(keep))
                .invoke_async(&mut connection)
                .await
                .map_err(Error::store)?;
            status(reply)
        })
    }

    fn watch_claims(&self) -> Option<super::ClaimWatch> {
        use futures_util::StreamExt as _;
        let client = self.client.clone()?;
        let channel = self.claims_channel();
        let messages = futures_util::stream::once(async move {
            let mut pubsub = client.get_async_pubsub().await.ok()?;
            pubsub.subscribe(&channel).await.ok()?;
            Some(pubsub.into_on_message())
        })
        .filter_map(|subscribed| async move { subscribed })
        .flatten()
        .filter_map(|message| async move {
            let text: String = message.get_payload().ok()?;
            let (id, epoch) = text.split_once(' ')?;
            Some((id.to_owned(), epoch.parse().ok()?))
        });
        Some(Box::pin(messages))
    }

    fn remove<'a>(&'a self, id: &'a str, epoch: u64) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let [meta, out] = self.keys(id);
            let reply: String = self
                .scripts
                .remove
                .key(meta)
                .key(out)
                .arg(epoch)
                .invoke_async(&mut connection)
                .await
                .map_err(Error::store)?;
            status(reply)
        })
    }
}

/// The group commit's task: takes every save waiting (up to a bound), sends them as one
/// call, answers each; ends when the last clone of the store is dropped.
async fn group_commit(
    mut connection: ConnectionManager,
    scripts: Arc<Scripts>,
    prefix: String,
    mut jobs: mpsc::UnboundedReceiver<SaveJob>,
) {
    while let Some(first) = jobs.recv().await {
        let mut bytes = first.messages.iter().map(Vec::len).sum::<usize>();
        let mut group = vec![first];
        while group.len() < MAX_GROUP_SAVES && bytes < MAX_GROUP_BYTES {
            match jobs.try_recv() {
                Ok(job) => {
                    bytes += job.messages.iter().map(Vec::len).sum::<usize>();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let command = save_many_command(&scripts.save_many, &prefix, &group);
        let mut replies: Result<Vec<String>, _> = command.query_async(&mut connection).await;
        if replies
            .as_ref()
            .is_err_and(|e| e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript))
        {
            // Redis restarted or flushed its scripts: load it again, then retry once.
            replies = match scripts.save_many.load_async(&mut connection).await {
                Ok(_) => command.query_async(&mut connection).await,
                Err(error) => Err(error),
            };
        }
        match replies {
            Ok(replies) if replies.len() == group.len() => {
                for (job, reply) in group.into_iter().zip(replies) {
                    let _ = job.reply.send(status(reply));
                }
            }
            Ok(_) => {
                let error = unexpected("the group commit answered a different number of saves");
                for job in group {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
            Err(error) => {
                // Every save of the call failed: each session retries its own.
                let error = Error::store(error);
                for job in group {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// The group's `EVALSHA` of the save script: every session's two keys, then for each its
/// epoch, expiry, received, acknowledged, first number and count (`''` for none), then its
/// messages, all written into the command's one buffer.
fn save_many_command(script: &Script, prefix: &str, group: &[SaveJob]) -> redis::Cmd {
    use std::fmt::Write as _;
    let mut command = redis::cmd("EVALSHA");
    command.arg(script.get_hash()).arg(2 * group.len());
    let mut key = String::new();
    for job in group {
        for suffix in ["", ":out"] {
            key.clear();
            let _ = write!(key, "{prefix}:{{{}}}{suffix}", job.id);
            command.arg(key.as_str());
        }
    }
    let optional = |command: &mut redis::Cmd, n: Option<u64>| {
        match n {
            Some(n) => command.arg(n),
            None => command.arg(""),
        };
    };
    for job in group {
        command.arg(job.epoch);
        optional(&mut command, job.expire_ms);
        optional(&mut command, job.received);
        optional(&mut command, job.acknowledged);
        command.arg(job.first).arg(job.messages.len());
        for message in &job.messages {
            command.arg(message.as_slice());
        }
    }
    command
}
