//! The Redis backend, standalone (`backend = "redis"`) or Redis Cluster
//! (`backend = "redis_cluster"`). Key names and types are in `layout.rs`.
//!
//! One connection per process: a `ConnectionManager` (one multiplexed connection that
//! reconnects in the background after it is lost) or one `cluster_async::ClusterConnection`
//! (one multiplexed connection per node, refreshed on topology changes). Neither waits for the
//! server at start: the standalone manager connects lazily, the cluster connection is created on
//! first use and again after a failed attempt.
//!
//! Every operation runs under `tokio::time::timeout(store.timeout)`, so a stopped or hanging
//! server costs a caller at most that long and surfaces as [`StoreError::Timeout`] or
//! [`StoreError::Unavailable`]. Keys that change together are written in one `MULTI`/`EXEC`
//! (they share a hash tag, so this also holds on a cluster); the form-index sweep is a Lua
//! script for the same reason. Needs Redis ≥ 7.0 (`PEXPIRE … NX|GT`, `GETEX`, `XTRIM MINID`).

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

use crate::clock::{Clock, SystemClock};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, ErrorKind, Pipeline, RedisError, RedisFuture, Value};
use tokio::sync::OnceCell;

use super::layout::KeyLayout;
use super::{
    AuditId, DsrRecord, DsrWrite, FormEntryRecord, FormPage, ReceiptHistory, ReceiptIndexEntry,
    ReceiptPage, ReceiptQuery, StoreError, TextVersionRecord, MAX_DSR_REQUESTS,
};
use crate::config::{StoreBackend, StoreConfig};

/// Removes index members whose expiry score has passed, from every zset of a record at once.
/// KEYS[1] = the expiry zset (member → unix ms), KEYS[2..] = the other zsets; ARGV[1] = now
/// (unix ms). Returns how many were removed.
const SWEEP_SCRIPT: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 1, #ids, 500 do
  local chunk = {unpack(ids, i, math.min(i + 499, #ids))}
  for k = 1, #KEYS do
    redis.call('ZREM', KEYS[k], unpack(chunk))
  end
end
return #ids
";

/// Moves an entry between the list index and the restricted index and sets or clears its
/// `r` field, keeping its expiry. KEYS[1] = entry, KEYS[2] = idx, KEYS[3] = ridx;
/// ARGV[1] = id, ARGV[2] = "1" to restrict, "0" to lift. Returns 0 when there is no entry.
const RESTRICT_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local created = redis.call('HGET', KEYS[1], 'created')
local into, from = KEYS[2], KEYS[3]
if ARGV[2] == '1' then
  into, from = KEYS[3], KEYS[2]
  redis.call('HSET', KEYS[1], 'r', '1')
else
  redis.call('HDEL', KEYS[1], 'r')
end
redis.call('ZREM', from, ARGV[1])
redis.call('ZADD', into, created, ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  redis.call('PEXPIRE', into, ttl, 'NX')
  redis.call('PEXPIRE', into, ttl, 'GT')
end
return 1
";

/// Writes a data-subject request if the version the caller read is still the stored one.
/// KEYS[1] = request, KEYS[2] = idx (expiry), KEYS[3] = due; ARGV = expected version ('' for
/// a new request), data, ttl (ms), expiry (unix ms), id, due day ('' once closed). Returns
/// the new version, 0 when the expectation failed.
const DSR_PUT_SCRIPT: &str = r"
local cur = redis.call('HGET', KEYS[1], 'v')
if ARGV[1] == '' then
  if cur then return 0 end
elseif cur ~= ARGV[1] then
  return 0
end
local v = (tonumber(cur) or 0) + 1
redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
if ARGV[6] == '' then
  redis.call('ZREM', KEYS[3], ARGV[5])
else
  redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
end
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[3], 'NX')
    redis.call('PEXPIRE', KEYS[i], ARGV[3], 'GT')
  end
end
return v
";

/// The receipt-index counterpart of [`SWEEP_SCRIPT`]: removes members whose expiry passed
/// from every index zset and the data hash. KEYS[1] = exp, KEYS[2] = data, KEYS[3..] = the
/// time zsets (all actions, then each action); ARGV[1] = now (unix ms). Returns the count.
const RECEIPT_SWEEP_SCRIPT: &str = r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for i = 1, #ids, 500 do
  local chunk = {unpack(ids, i, math.min(i + 499, #ids))}
  for k = 3, #KEYS do
    redis.call('ZREM', KEYS[k], unpack(chunk))
  end
  redis.call('ZREM', KEYS[1], unpack(chunk))
  redis.call('HDEL', KEYS[2], unpack(chunk))
end
return #ids
";

/// Archives one banner-text version: the body, revision and language as first stored, the
/// earliest and latest use, and a TTL that only ever grows. KEYS[1] = texts hash;
/// ARGV = body, revision, language, used_at (unix s), ttl (ms).
const ARCHIVE_TEXTS_SCRIPT: &str = r"
redis.call('HSETNX', KEYS[1], 'body', ARGV[1])
redis.call('HSETNX', KEYS[1], 'rev', ARGV[2])
redis.call('HSETNX', KEYS[1], 'lang', ARGV[3])
local used = tonumber(ARGV[4])
local first = tonumber(redis.call('HGET', KEYS[1], 'first'))
if not first or used < first then redis.call('HSET', KEYS[1], 'first', ARGV[4]) end
local last = tonumber(redis.call('HGET', KEYS[1], 'last'))
if not last or used > last then redis.call('HSET', KEYS[1], 'last', ARGV[4]) end
local ttl = tonumber(ARGV[5])
if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
return 1
";

/// Admits values into a day's bounded set: a member, or any value while the set holds fewer
/// than ARGV[1], is admitted (1), the rest not (0). KEYS[1] = the set; ARGV = max, ttl (ms),
/// the values. The set's TTL is refreshed.
const ADMIT_SCRIPT: &str = r"
local max = tonumber(ARGV[1])
local out = {}
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    out[#out + 1] = 1
  elseif redis.call('SCARD', KEYS[1]) < max then
    redis.call('SADD', KEYS[1], ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return out
";

enum Connector {
    Single(ConnectionManager),
    Cluster(Box<LazyCluster>),
}

struct LazyCluster {
    client: redis::cluster::ClusterClient,
    conn: OnceCell<ClusterConnection>,
}

/// A connection handle for one operation; both kinds are cheap clones of a shared connection.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }
    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }
    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// See the module documentation.
pub struct RedisStore {
    connector: Connector,
    keys: KeyLayout,
    timeout: Duration,
    audit_max_entries: usize,
    audit_retention: Duration,
    receipt_history_max: usize,
    sweep: redis::Script,
    receipt_sweep: redis::Script,
    archive_texts: redis::Script,
    restrict: redis::Script,
    dsr_put: redis::Script,
    admit: redis::Script,
}

/// Wall-clock milliseconds for index scores and audit retention. The system clock, not an
/// injected one: the scores are compared with TTLs that Redis itself counts in real time.
fn unix_ms() -> u64 {
    SystemClock.unix_ms()
}

/// TTLs in whole milliseconds, at least 1 (Redis refuses 0).
fn ms(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

fn map_err(e: RedisError) -> StoreError {
    if e.is_timeout() {
        return StoreError::Timeout;
    }
    if e.code() == Some("WRONGTYPE") {
        return StoreError::Corrupt("key holds the wrong type".into());
    }
    match e.kind() {
        // The detail of a conversion error can quote the stored value; keep it out of logs.
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => {
            StoreError::Corrupt(format!("unexpected reply ({:?})", e.kind()))
        }
        _ => StoreError::Unavailable(e.to_string()),
    }
}

/// The decimal number in hash field `name`, if it holds one.
fn number_field(fields: &HashMap<String, Vec<u8>>, name: &str) -> Option<u64> {
    std::str::from_utf8(fields.get(name)?).ok()?.parse().ok()
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

impl RedisStore {
    /// Builds the client without connecting (see the module documentation).
    pub(super) fn open(cfg: &StoreConfig) -> Result<Self, StoreError> {
        let url = cfg
            .redis_url
            .as_deref()
            .ok_or_else(|| StoreError::Unavailable("store.redis_url is not set".into()))?;
        let bad_url = |e: RedisError| StoreError::Unavailable(format!("store.redis_url: {e}"));
        let connector = match cfg.backend {
            StoreBackend::RedisCluster => {
                let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
                let client = ClusterClientBuilder::new(nodes)
                    .connection_timeout(cfg.timeout)
                    .response_timeout(cfg.timeout)
                    .retries(2)
                    .min_retry_wait(20)
                    .max_retry_wait(200)
                    .build()
                    .map_err(bad_url)?;
                Connector::Cluster(Box::new(LazyCluster {
                    client,
                    conn: OnceCell::new(),
                }))
            }
            StoreBackend::Redis | StoreBackend::Memory => {
                let client = redis::Client::open(url).map_err(bad_url)?;
                // Short, capped back-off: after an outage the next attempt is at most 500 ms
                // away, and a failed round of attempts is retried on the next operation.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(cfg.timeout))
                    .set_response_timeout(Some(cfg.timeout))
                    .set_number_of_retries(3)
                    .set_min_delay(Duration::from_millis(50))
                    .set_max_delay(Duration::from_millis(500));
                let manager =
                    ConnectionManager::new_lazy_with_config(client, config).map_err(bad_url)?;
                Connector::Single(manager)
            }
        };
        Ok(Self {
            connector,
            keys: KeyLayout::new(&cfg.key_prefix),
            timeout: cfg.timeout,
            audit_max_entries: cfg.audit_max_entries.max(1),
            audit_retention: cfg.audit_retention,
            receipt_history_max: cfg.receipt_history_max.max(1),
            sweep: redis::Script::new(SWEEP_SCRIPT),
            receipt_sweep: redis::Script::new(RECEIPT_SWEEP_SCRIPT),
            archive_texts: redis::Script::new(ARCHIVE_TEXTS_SCRIPT),
            restrict: redis::Script::new(RESTRICT_SCRIPT),
            dsr_put: redis::Script::new(DSR_PUT_SCRIPT),
            admit: redis::Script::new(ADMIT_SCRIPT),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self.connector {
            Connector::Single(_) => "redis",
            Connector::Cluster(_) => "redis_cluster",
        }
    }

    async fn conn(&self) -> Result<Conn, RedisError> {
        match &self.connector {
            Connector::Single(m) => Ok(Conn::Single(m.clone())),
            Connector::Cluster(lazy) => {
                // An attempt that fails leaves the cell empty, so the next operation retries.
                let c = lazy
                    .conn
                    .get_or_try_init(|| lazy.client.get_async_connection())
                    .await?;
                Ok(Conn::Cluster(c.clone()))
            }
        }
    }

    /// Runs `op` with a connection, bounded by the configured timeout.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let work = async {
            let conn = self.conn().await.map_err(map_err)?;
            op(conn).await
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut c| async move {
            let pong: String = redis::cmd("PING")
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(corrupt("unexpected PING reply"))
            }
        })
        .await
    }

    // ---- receipts ----

    pub async fn put_receipt(
        &self,
        id: &str,
        receipt: &[u8],
        ttl: Duration,
    ) -> Result<u64, StoreError> {
        let (cur, hist) = (self.keys.receipt_current(id), self.keys.receipt_history(id));
        let seq = self.keys.receipt_seq(id);
        let mut p = redis::pipe();
        p.atomic()
            .cmd("SET")
            .arg(&cur)
            .arg(receipt)
            .arg("PX")
            .arg(ms(ttl))
            .ignore()
            .rpush(&hist, receipt)
            .ignore()
            // One id's history stays bounded however often it is written.
            .ltrim(&hist, -(self.receipt_history_max as isize), -1)
            .ignore()
            .pexpire(&hist, ms(ttl) as i64)
            .ignore()
            // Decisions are numbered by a counter of their own: the history's length stops
            // growing at the cap.
            .incr(&seq, 1)
            .pexpire(&seq, ms(ttl) as i64)
            .ignore();
        self.run(|mut c| async move {
            let (n,): (u64,) = p.query_async(&mut c).await.map_err(map_err)?;
            Ok(n)
        })
        .await
    }

    pub async fn get_receipt(&self, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.keys.receipt_current(id);
        self.get_key(key).await
    }

    pub async fn receipt_history(
        &self,
        id: &str,
        offset: usize,
        limit: usize,
    ) -> Result<ReceiptHistory, StoreError> {
        let key = self.keys.receipt_history(id);
        if limit == 0 {
            let total = self
                .run(|mut c| async move {
                    redis::cmd("LLEN")
                        .arg(&key)
                        .query_async(&mut c)
                        .await
                        .map_err(map_err)
                })
                .await?;
            return Ok(ReceiptHistory {
                receipts: Vec::new(),
                total,
            });
        }
        let stop = offset.saturating_add(limit - 1).min(i64::MAX as usize);
        let mut p = redis::pipe();
        p.atomic()
            .cmd("LLEN")
            .arg(&key)
            .cmd("LRANGE")
            .arg(&key)
            .arg(offset)
            .arg(stop);
        self.run(|mut c| async move {
            let (total, receipts): (usize, Vec<Vec<u8>>) =
                p.query_async(&mut c).await.map_err(map_err)?;
            Ok(ReceiptHistory { receipts, total })
        })
        .await
    }

    pub async fn delete_receipt(&self, id: &str) -> Result<bool, StoreError> {
        let (cur, hist) = (self.keys.receipt_current(id), self.keys.receipt_history(id));
        let seq = self.keys.receipt_seq(id);
        let k = &self.keys;
        self.run(|mut c| async move {
            // The index lives in its own slot, so it cannot share the DEL's MULTI. It goes
            // first: an erasure that fails half-way leaves a record that is not listed, and
            // running it again finishes it.
            // Every decision ever numbered, also those the capped history no longer holds.
            let len: u64 = redis::cmd("GET")
                .arg(&seq)
                .query_async::<Option<u64>>(&mut c)
                .await
                .map_err(map_err)?
                .unwrap_or(0);
            if len > 0 {
                let actions = self.receipt_actions(&mut c).await?;
                let members: Vec<String> = (1..=len)
                    .map(|seq| KeyLayout::receipt_member(id, seq))
                    .collect();
                let mut p = redis::pipe();
                p.atomic().zrem(k.receipt_index(), &members).ignore();
                for action in &actions {
                    p.zrem(k.receipt_index_action(action), &members).ignore();
                }
                p.zrem(k.receipt_index_expiry(), &members)
                    .ignore()
                    .hdel(k.receipt_index_data(), &members)
                    .ignore();
                p.exec_async(&mut c).await.map_err(map_err)?;
            }
            let n: u64 = redis::cmd("DEL")
                .arg(&cur)
                .arg(&hist)
                .arg(&seq)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            Ok(n > 0)
        })
        .await
    }

    async fn receipt_actions(&self, c: &mut Conn) -> Result<Vec<String>, StoreError> {
        redis::cmd("SMEMBERS")
            .arg(self.keys.receipt_index_actions())
            .query_async(c)
            .await
            .map_err(map_err)
    }

    pub async fn index_receipt(
        &self,
        entry: &ReceiptIndexEntry<'_>,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let k = &self.keys;
        let member = KeyLayout::receipt_member(entry.id, entry.seq);
        let ttl_ms = ms(ttl);
        let mut p = redis::pipe();
        p.atomic()
            .zadd(k.receipt_index(), &member, entry.time_ms)
            .ignore()
            .zadd(k.receipt_index_action(entry.action), &member, entry.time_ms)
            .ignore()
            .zadd(
                k.receipt_index_expiry(),
                &member,
                unix_ms().saturating_add(ttl_ms),
            )
            .ignore()
            .hset(k.receipt_index_data(), &member, entry.receipt)
            .ignore()
            .sadd(k.receipt_index_actions(), entry.action)
            .ignore();
        for key in [
            k.receipt_index(),
            k.receipt_index_action(entry.action),
            k.receipt_index_expiry(),
            k.receipt_index_data(),
            k.receipt_index_actions(),
        ] {
            Self::extend_ttl(&mut p, &key, ttl_ms);
        }
        self.run(|mut c| async move { p.exec_async(&mut c).await.map_err(map_err) })
            .await
    }

    async fn sweep_receipts_with(&self, c: &mut Conn) -> Result<usize, StoreError> {
        let k = &self.keys;
        let actions = self.receipt_actions(c).await?;
        let mut invocation = self.receipt_sweep.prepare_invoke();
        invocation
            .key(k.receipt_index_expiry())
            .key(k.receipt_index_data())
            .key(k.receipt_index());
        for action in &actions {
            invocation.key(k.receipt_index_action(action));
        }
        invocation
            .arg(unix_ms())
            .invoke_async(c)
            .await
            .map_err(map_err)
    }

    pub async fn list_receipts(&self, q: &ReceiptQuery<'_>) -> Result<ReceiptPage, StoreError> {
        let k = &self.keys;
        let key = match q.action {
            Some(action) => k.receipt_index_action(action),
            None => k.receipt_index(),
        };
        self.run(|mut c| async move {
            self.sweep_receipts_with(&mut c).await?;
            let mut p = redis::pipe();
            p.atomic().zcount(&key, q.from_ms, q.to_ms);
            if q.limit > 0 {
                let (from, to) = if q.newest_first {
                    (q.to_ms, q.from_ms)
                } else {
                    (q.from_ms, q.to_ms)
                };
                p.cmd("ZRANGE").arg(&key).arg(from).arg(to).arg("BYSCORE");
                if q.newest_first {
                    p.arg("REV");
                }
                p.arg("LIMIT")
                    .arg(q.offset.min(i64::MAX as usize))
                    .arg(q.limit.min(i64::MAX as usize));
            }
            let (total, members): (usize, Vec<String>) = if q.limit > 0 {
                p.query_async(&mut c).await.map_err(map_err)?
            } else {
                let (total,): (usize,) = p.query_async(&mut c).await.map_err(map_err)?;
                (total, Vec::new())
            };
            if members.is_empty() {
                return Ok(ReceiptPage {
                    receipts: Vec::new(),
                    total,
                });
            }
            let stored: Vec<Option<Vec<u8>>> = redis::cmd("HMGET")
                .arg(k.receipt_index_data())
                .arg(&members)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            Ok(ReceiptPage {
                // A member whose data went between the two reads (an erasure) is skipped.
                receipts: stored.into_iter().flatten().collect(),
                total,
            })
        })
        .await
    }

    pub async fn count_receipts(
        &self,
        from_ms: u64,
        to_ms: u64,
    ) -> Result<BTreeMap<String, u64>, StoreError> {
        let k = &self.keys;
        self.run(|mut c| async move {
            self.sweep_receipts_with(&mut c).await?;
            let actions = self.receipt_actions(&mut c).await?;
            if actions.is_empty() {
                return Ok(BTreeMap::new());
            }
            let mut p = redis::pipe();
            for action in &actions {
                p.zcount(k.receipt_index_action(action), from_ms, to_ms);
            }
            let counts: Vec<u64> = p.query_async(&mut c).await.map_err(map_err)?;
            Ok(actions
                .into_iter()
                .zip(counts)
                .filter(|(_, n)| *n > 0)
                .collect())
        })
        .await
    }

    pub async fn sweep_receipt_index(&self) -> Result<usize, StoreError> {
        self.run(|mut c| async move { self.sweep_receipts_with(&mut c).await })
            .await
    }

    // ---- banner text archive ----

    pub async fn archive_texts(
        &self,
        hash: &str,
        body: &[u8],
        revision: u32,
        language: &str,
        used_at: u64,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.texts(hash);
        self.run(|mut c| async move {
            self.archive_texts
                .key(&key)
                .arg(body)
                .arg(revision)
                .arg(language)
                .arg(used_at)
                .arg(ms(ttl))
                .invoke_async::<i64>(&mut c)
                .await
                .map_err(map_err)?;
            Ok(())
        })
        .await
    }

    pub async fn get_texts(&self, hash: &str) -> Result<Option<TextVersionRecord>, StoreError> {
        let key = self.keys.texts(hash);
        self.run(|mut c| async move {
            let mut fields: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            if fields.is_empty() {
                return Ok(None);
            }
            let text = |v: Option<Vec<u8>>, what: &str| {
                v.and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| corrupt(&format!("archived texts without a valid `{what}`")))
            };
            let number = |v: Option<Vec<u8>>, what: &str| {
                text(v, what)?
                    .parse::<u64>()
                    .map_err(|_| corrupt(&format!("archived texts `{what}` is not a number")))
            };
            Ok(Some(TextVersionRecord {
                body: fields
                    .remove("body")
                    .ok_or_else(|| corrupt("archived texts without `body`"))?,
                revision: u32::try_from(number(fields.remove("rev"), "rev")?)
                    .map_err(|_| corrupt("archived texts `rev` is out of range"))?,
                language: text(fields.remove("lang"), "lang")?,
                first_used: number(fields.remove("first"), "first")?,
                last_used: number(fields.remove("last"), "last")?,
            }))
        })
        .await
    }

    // ---- form entries ----

    /// `PEXPIRE key ms NX` then `GT`: the key lives as long as its longest-lived member.
    fn extend_ttl(p: &mut Pipeline, key: &str, ttl_ms: u64) {
        p.cmd("PEXPIRE").arg(key).arg(ttl_ms).arg("NX").ignore();
        p.cmd("PEXPIRE").arg(key).arg(ttl_ms).arg("GT").ignore();
    }

    pub async fn put_form_entry(
        &self,
        form: &str,
        entry: &FormEntryRecord,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let k = &self.keys;
        let entry_key = k.form_entry(form, &entry.id);
        let (idx, exp, ridx) = (
            k.form_index(form),
            k.form_expiry(form),
            k.form_restricted(form),
        );
        let ttl_ms = ms(ttl);
        let forms = k.forms();
        let hashes = entry.indexed_hashes();
        self.run(|mut c| async move {
            // The registry of forms lives in its own slot, so it cannot join the MULTI below;
            // it only ever grows by configured form ids and is idempotent.
            redis::cmd("SADD")
                .arg(&forms)
                .arg(form)
                .exec_async(&mut c)
                .await
                .map_err(map_err)?;
            let (old_email, old_lookup): (Option<String>, Option<String>) = redis::cmd("HMGET")
                .arg(&entry_key)
                .arg("eh")
                .arg("lh")
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            let mut p = redis::pipe();
            p.atomic().del(&entry_key).ignore();
            p.cmd("HSET")
                .arg(&entry_key)
                .arg("created")
                .arg(entry.created)
                .arg("ct")
                .arg(&entry.ciphertext[..]);
            if let Some(h) = &entry.email_hash {
                p.arg("eh").arg(h);
            }
            if !entry.lookup_hashes.is_empty() {
                p.arg("lh").arg(entry.lookup_hashes.join(" "));
            }
            if entry.restricted {
                p.arg("r").arg("1");
            }
            p.ignore();
            p.pexpire(&entry_key, ttl_ms as i64).ignore();
            let (listed, unlisted) = if entry.restricted {
                (&ridx, &idx)
            } else {
                (&idx, &ridx)
            };
            p.zadd(listed, &entry.id, entry.created).ignore();
            p.zrem(unlisted, &entry.id).ignore();
            p.zadd(&exp, &entry.id, unix_ms().saturating_add(ttl_ms))
                .ignore();
            Self::extend_ttl(&mut p, listed, ttl_ms);
            Self::extend_ttl(&mut p, &exp, ttl_ms);
            let old = old_email.into_iter().chain(
                old_lookup
                    .iter()
                    .flat_map(|l| l.split(' ').map(str::to_owned)),
            );
            for gone in old.filter(|o| !o.is_empty() && !hashes.contains(o)) {
                p.srem(k.form_email(form, &gone), &entry.id).ignore();
            }
            for h in &hashes {
                let set = k.form_email(form, h);
                p.sadd(&set, &entry.id).ignore();
                Self::extend_ttl(&mut p, &set, ttl_ms);
            }
            p.exec_async(&mut c).await.map_err(map_err)
        })
        .await
    }

    fn parse_entry(
        form: &str,
        id: &str,
        mut fields: HashMap<String, Vec<u8>>,
    ) -> Result<Option<FormEntryRecord>, StoreError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let created = number_field(&fields, "created")
            .ok_or_else(|| corrupt("form entry without a valid `created`"))?;
        let ciphertext = fields
            .remove("ct")
            .ok_or_else(|| corrupt("form entry without `ct`"))?;
        let mut text = |name: &str| {
            fields
                .remove(name)
                .map(|v| {
                    String::from_utf8(v)
                        .map_err(|_| corrupt(&format!("form entry `{name}` is not UTF-8")))
                })
                .transpose()
        };
        let email_hash = text("eh")?;
        let lookup_hashes = text("lh")?
            .map(|l| l.split(' ').map(str::to_owned).collect())
            .unwrap_or_default();
        let restricted = text("r")?.is_some_and(|r| r == "1");
        Ok(Some(FormEntryRecord {
            id: id.to_owned(),
            form: form.to_owned(),
            created,
            ciphertext,
            email_hash,
            lookup_hashes,
            restricted,
        }))
    }

    pub async fn get_form_entry(
        &self,
        form: &str,
        id: &str,
    ) -> Result<Option<FormEntryRecord>, StoreError> {
        let key = self.keys.form_entry(form, id);
        self.run(|mut c| async move {
            let fields: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            Self::parse_entry(form, id, fields)
        })
        .await
    }

    async fn sweep_with(&self, c: &mut Conn, form: &str) -> Result<usize, StoreError> {
        self.sweep
            .key(self.keys.form_expiry(form))
            .key(self.keys.form_index(form))
            .key(self.keys.form_restricted(form))
            .arg(unix_ms())
            .invoke_async(c)
            .await
            .map_err(map_err)
    }

    pub async fn list_form_entries(
        &self,
        form: &str,
        offset: usize,
        limit: usize,
    ) -> Result<FormPage, StoreError> {
        let idx = self.keys.form_index(form);
        self.run(|mut c| async move {
            self.sweep_with(&mut c, form).await?;
            let (total, ids): (usize, Vec<String>) = if limit == 0 {
                let total = redis::cmd("ZCARD")
                    .arg(&idx)
                    .query_async(&mut c)
                    .await
                    .map_err(map_err)?;
                (total, Vec::new())
            } else {
                let stop = offset.saturating_add(limit - 1).min(i64::MAX as usize);
                let mut p = redis::pipe();
                p.atomic()
                    .cmd("ZCARD")
                    .arg(&idx)
                    .cmd("ZRANGE")
                    .arg(&idx)
                    .arg(offset)
                    .arg(stop)
                    .arg("REV");
                p.query_async(&mut c).await.map_err(map_err)?
            };
            if ids.is_empty() {
                return Ok(FormPage {
                    entries: Vec::new(),
                    total,
                });
            }
            let mut p = redis::pipe();
            for id in &ids {
                p.cmd("HGETALL").arg(self.keys.form_entry(form, id));
            }
            let all: Vec<HashMap<String, Vec<u8>>> =
                p.query_async(&mut c).await.map_err(map_err)?;
            let mut entries = Vec::with_capacity(ids.len());
            for (id, fields) in ids.iter().zip(all) {
                // An entry can expire between the sweep and here (clock skew between gate and
                // Redis, or just timing): it is skipped, never listed.
                if let Some(e) = Self::parse_entry(form, id, fields)? {
                    entries.push(e);
                }
            }
            Ok(FormPage { entries, total })
        })
        .await
    }

    pub async fn delete_form_entry(&self, form: &str, id: &str) -> Result<bool, StoreError> {
        let k = &self.keys;
        let entry_key = k.form_entry(form, id);
        self.run(|mut c| async move {
            let (email, lookup): (Option<String>, Option<String>) = redis::cmd("HMGET")
                .arg(&entry_key)
                .arg("eh")
                .arg("lh")
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            let mut p = redis::pipe();
            p.atomic()
                .del(&entry_key)
                .zrem(k.form_index(form), id)
                .ignore()
                .zrem(k.form_restricted(form), id)
                .ignore()
                .zrem(k.form_expiry(form), id)
                .ignore();
            let hashes = email
                .into_iter()
                .chain(lookup.iter().flat_map(|l| l.split(' ').map(str::to_owned)));
            for h in hashes.filter(|h| !h.is_empty()) {
                p.srem(k.form_email(form, &h), id).ignore();
            }
            let (deleted,): (u64,) = p.query_async(&mut c).await.map_err(map_err)?;
            Ok(deleted > 0)
        })
        .await
    }

    pub async fn find_form_entries_by_hash(
        &self,
        hash: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let k = &self.keys;
        self.run(|mut c| async move {
            let mut forms: Vec<String> = redis::cmd("SMEMBERS")
                .arg(k.forms())
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            forms.sort();
            let mut found = Vec::new();
            for form in forms {
                let mut ids: Vec<String> = redis::cmd("SMEMBERS")
                    .arg(k.form_email(&form, hash))
                    .query_async(&mut c)
                    .await
                    .map_err(map_err)?;
                if ids.is_empty() {
                    continue;
                }
                ids.sort();
                // The set outlives expired entries (it expires with the longest-lived one) and
                // can hold an id whose entry was replaced with other values by a racing
                // write, so confirm each id against the entry itself.
                let mut p = redis::pipe();
                for id in &ids {
                    p.cmd("HMGET")
                        .arg(k.form_entry(&form, id))
                        .arg("eh")
                        .arg("lh");
                }
                let current: Vec<(Option<String>, Option<String>)> =
                    p.query_async(&mut c).await.map_err(map_err)?;
                for (id, (eh, lh)) in ids.into_iter().zip(current) {
                    let listed = lh.is_some_and(|l| l.split(' ').any(|h| h == hash));
                    if eh.as_deref() == Some(hash) || listed {
                        found.push((form.clone(), id));
                    }
                }
            }
            Ok(found)
        })
        .await
    }

    pub async fn set_form_entry_restricted(
        &self,
        form: &str,
        id: &str,
        restricted: bool,
    ) -> Result<bool, StoreError> {
        let k = &self.keys;
        self.run(|mut c| async move {
            let done: u64 = self
                .restrict
                .key(k.form_entry(form, id))
                .key(k.form_index(form))
                .key(k.form_restricted(form))
                .arg(id)
                .arg(if restricted { "1" } else { "0" })
                .invoke_async(&mut c)
                .await
                .map_err(map_err)?;
            Ok(done == 1)
        })
        .await
    }

    pub async fn ensure_form_data_key(
        &self,
        form: &str,
        name: &str,
        wrapped: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let key = self.keys.form_data_key(form, name);
        let ttl_ms = ms(ttl);
        let mut p = redis::pipe();
        // SET … NX GET (Redis ≥ 7.0): the stored key if there is one, else ours is stored.
        p.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(wrapped)
            .arg("NX")
            .arg("GET")
            .arg("PX")
            .arg(ttl_ms)
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl_ms)
            .arg("GT")
            .ignore();
        self.run(|mut c| async move {
            let (existing,): (Option<Vec<u8>>,) = p.query_async(&mut c).await.map_err(map_err)?;
            Ok(existing.unwrap_or_else(|| wrapped.to_vec()))
        })
        .await
    }

    pub async fn get_form_data_key(
        &self,
        form: &str,
        name: &str,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.keys.form_data_key(form, name);
        self.get_key(key).await
    }

    pub async fn sweep_form_index(&self, form: &str) -> Result<usize, StoreError> {
        self.run(|mut c| async move { self.sweep_with(&mut c, form).await })
            .await
    }

    // ---- data-subject requests ----

    pub async fn put_dsr_request(&self, w: &DsrWrite<'_>) -> Result<Option<u64>, StoreError> {
        let k = &self.keys;
        let ttl_ms = ms(w.ttl);
        self.run(|mut c| async move {
            let version: u64 = self
                .dsr_put
                .key(k.dsr_request(w.id))
                .key(k.dsr_index())
                .key(k.dsr_due())
                .arg(
                    w.expected_version
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                )
                .arg(w.data)
                .arg(ttl_ms)
                .arg(unix_ms().saturating_add(ttl_ms))
                .arg(w.id)
                .arg(w.due_day.map(|d| d.to_string()).unwrap_or_default())
                .invoke_async(&mut c)
                .await
                .map_err(map_err)?;
            Ok((version > 0).then_some(version))
        })
        .await
    }

    fn parse_dsr(
        id: &str,
        mut fields: HashMap<String, Vec<u8>>,
    ) -> Result<Option<DsrRecord>, StoreError> {
        if fields.is_empty() {
            return Ok(None);
        }
        let version =
            number_field(&fields, "v").ok_or_else(|| corrupt("request without a valid `v`"))?;
        let data = fields
            .remove("d")
            .ok_or_else(|| corrupt("request without `d`"))?;
        Ok(Some(DsrRecord {
            id: id.to_owned(),
            version,
            data,
        }))
    }

    pub async fn get_dsr_request(&self, id: &str) -> Result<Option<DsrRecord>, StoreError> {
        let key = self.keys.dsr_request(id);
        self.run(|mut c| async move {
            let fields: HashMap<String, Vec<u8>> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            Self::parse_dsr(id, fields)
        })
        .await
    }

    async fn sweep_dsr_with(&self, c: &mut Conn) -> Result<usize, StoreError> {
        self.sweep
            .key(self.keys.dsr_index())
            .key(self.keys.dsr_due())
            .arg(unix_ms())
            .invoke_async(c)
            .await
            .map_err(map_err)
    }

    pub async fn list_dsr_requests(&self) -> Result<Vec<DsrRecord>, StoreError> {
        let k = &self.keys;
        self.run(|mut c| async move {
            self.sweep_dsr_with(&mut c).await?;
            let ids: Vec<String> = redis::cmd("ZRANGE")
                .arg(k.dsr_index())
                .arg(0)
                .arg(MAX_DSR_REQUESTS - 1)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut p = redis::pipe();
            for id in &ids {
                p.cmd("HGETALL").arg(k.dsr_request(id));
            }
            let all: Vec<HashMap<String, Vec<u8>>> =
                p.query_async(&mut c).await.map_err(map_err)?;
            let mut out = Vec::with_capacity(ids.len());
            for (id, fields) in ids.iter().zip(all) {
                // Expired between the sweep and the read: not listed.
                if let Some(r) = Self::parse_dsr(id, fields)? {
                    out.push(r);
                }
            }
            Ok(out)
        })
        .await
    }

    pub async fn count_dsr_due(&self, day: u64) -> Result<u64, StoreError> {
        let due = self.keys.dsr_due();
        self.run(|mut c| async move {
            self.sweep_dsr_with(&mut c).await?;
            redis::cmd("ZCOUNT")
                .arg(&due)
                .arg("-inf")
                .arg(day)
                .query_async(&mut c)
                .await
                .map_err(map_err)
        })
        .await
    }

    pub async fn delete_dsr_request(&self, id: &str) -> Result<bool, StoreError> {
        let k = &self.keys;
        let mut p = redis::pipe();
        p.atomic()
            .del(k.dsr_request(id))
            .zrem(k.dsr_index(), id)
            .ignore()
            .zrem(k.dsr_due(), id)
            .ignore();
        self.run(|mut c| async move {
            let (deleted,): (u64,) = p.query_async(&mut c).await.map_err(map_err)?;
            Ok(deleted > 0)
        })
        .await
    }

    // ---- counters ----

    pub async fn incr_counters(
        &self,
        name: &str,
        day: &str,
        fields: &[(&str, i64)],
    ) -> Result<(), StoreError> {
        if fields.is_empty() {
            return Ok(());
        }
        let key = self.keys.counters(name, day);
        let mut p = redis::pipe();
        p.atomic();
        for (field, delta) in fields {
            p.hincr(&key, *field, *delta).ignore();
        }
        self.run(|mut c| async move { p.exec_async(&mut c).await.map_err(map_err) })
            .await
    }

    pub async fn read_counters(
        &self,
        name: &str,
        days: &[String],
    ) -> Result<Vec<BTreeMap<String, i64>>, StoreError> {
        // One key per day, so on a cluster the days live in different slots: ask concurrently
        // over the shared connection rather than in one pipeline.
        let keys: Vec<String> = days.iter().map(|d| self.keys.counters(name, d)).collect();
        self.run(|c| async move {
            let reads = keys.iter().map(|key| {
                let mut c = c.clone();
                async move {
                    redis::cmd("HGETALL")
                        .arg(key)
                        .query_async::<BTreeMap<String, i64>>(&mut c)
                        .await
                        .map_err(map_err)
                }
            });
            futures_util::future::try_join_all(reads).await
        })
        .await
    }

    pub async fn add_uniques(
        &self,
        name: &str,
        day: &str,
        members: &[&[u8]],
    ) -> Result<(), StoreError> {
        if members.is_empty() {
            return Ok(());
        }
        let key = self.keys.unique(name, day);
        let mut cmd = redis::cmd("PFADD");
        cmd.arg(&key);
        for member in members {
            cmd.arg(*member);
        }
        self.run(|mut c| async move { cmd.exec_async(&mut c).await.map_err(map_err) })
            .await
    }

    pub async fn count_uniques(&self, keys: &[(String, String)]) -> Result<Vec<u64>, StoreError> {
        // Days and names live in different slots on a cluster: concurrently, not pipelined.
        let keys: Vec<String> = keys
            .iter()
            .map(|(name, day)| self.keys.unique(name, day))
            .collect();
        self.run(|c| async move {
            let counts = keys.iter().map(|key| {
                let mut c = c.clone();
                async move {
                    redis::cmd("PFCOUNT")
                        .arg(key)
                        .query_async::<u64>(&mut c)
                        .await
                        .map_err(map_err)
                }
            });
            futures_util::future::try_join_all(counts).await
        })
        .await
    }

    pub async fn admit(
        &self,
        name: &str,
        day: &str,
        values: &[&str],
        max: usize,
        ttl: Duration,
    ) -> Result<Vec<bool>, StoreError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let key = self.keys.admitted(name, day);
        self.run(|mut c| async move {
            let mut inv = self.admit.key(&key);
            inv.arg(max).arg(ms(ttl));
            for v in values {
                inv.arg(*v);
            }
            let flags: Vec<i64> = inv.invoke_async(&mut c).await.map_err(map_err)?;
            if flags.len() != values.len() {
                return Err(corrupt("admit: unexpected reply length"));
            }
            Ok(flags.into_iter().map(|f| f == 1).collect())
        })
        .await
    }

    // ---- daily salts ----

    pub async fn daily_salt(
        &self,
        day: &str,
        candidate: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let key = self.keys.salt(day);
        self.run(|mut c| async move {
            // Set-if-absent and read in one step (Redis ≥ 7.0): nil means ours was stored.
            let old: Option<Vec<u8>> = redis::cmd("SET")
                .arg(&key)
                .arg(candidate)
                .arg("NX")
                .arg("GET")
                .arg("PX")
                .arg(ms(ttl))
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            Ok(old.unwrap_or_else(|| candidate.to_vec()))
        })
        .await
    }

    pub async fn get_salt(&self, day: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_key(self.keys.salt(day)).await
    }

    pub async fn delete_salt(&self, day: &str) -> Result<(), StoreError> {
        self.delete_key(self.keys.salt(day)).await
    }

    // ---- API tokens ----

    pub async fn put_api_token(
        &self,
        hash: &str,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.api_tokens();
        let mut p = redis::pipe();
        p.atomic().hset(&key, hash, record).ignore();
        // The hash lives as long as its longest-lived token; each record says its own expiry.
        Self::extend_ttl(&mut p, &key, ms(ttl));
        self.run(|mut c| async move { p.exec_async(&mut c).await.map_err(map_err) })
            .await
    }

    pub async fn get_api_token(&self, hash: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.keys.api_tokens();
        self.run(|mut c| async move {
            redis::cmd("HGET")
                .arg(&key)
                .arg(hash)
                .query_async(&mut c)
                .await
                .map_err(map_err)
        })
        .await
    }

    pub async fn list_api_tokens(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let key = self.keys.api_tokens();
        self.run(|mut c| async move {
            let all: BTreeMap<String, Vec<u8>> = redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            Ok(all.into_iter().collect())
        })
        .await
    }

    pub async fn delete_api_token(&self, hash: &str) -> Result<bool, StoreError> {
        let key = self.keys.api_tokens();
        self.run(|mut c| async move {
            let n: u64 = redis::cmd("HDEL")
                .arg(&key)
                .arg(hash)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            Ok(n > 0)
        })
        .await
    }

    pub async fn count_unique(&self, name: &str, day: &str) -> Result<u64, StoreError> {
        let key = self.keys.unique(name, day);
        self.run(|mut c| async move {
            redis::cmd("PFCOUNT")
                .arg(&key)
                .query_async(&mut c)
                .await
                .map_err(map_err)
        })
        .await
    }

    // ---- sessions ----

    pub async fn put_session(
        &self,
        id: &str,
        data: &[u8],
        idle: Duration,
    ) -> Result<(), StoreError> {
        let key = self.keys.session(id);
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(&key)
                .arg(data)
                .arg("PX")
                .arg(ms(idle))
                .exec_async(&mut c)
                .await
                .map_err(map_err)
        })
        .await
    }

    pub async fn get_session(
        &self,
        id: &str,
        idle: Duration,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.keys.session(id);
        self.run(|mut c| async move {
            redis::cmd("GETEX")
                .arg(&key)
                .arg("PX")
                .arg(ms(idle))
                .query_async(&mut c)
                .await
                .map_err(map_err)
        })
        .await
    }

    pub async fn delete_session(&self, id: &str) -> Result<(), StoreError> {
        self.delete_key(self.keys.session(id)).await
    }

    /// `DEL key`; a missing key is not an error.
    async fn get_key<T: redis::FromRedisValue + Send + 'static>(
        &self,
        key: String,
    ) -> Result<T, StoreError> {
        self.run(|mut c| async move {
            redis::cmd("GET")
                .arg(&key)
                .query_async(&mut c)
                .await
                .map_err(map_err)
        })
        .await
    }

    async fn delete_key(&self, key: String) -> Result<(), StoreError> {
        self.run(|mut c| async move {
            redis::cmd("DEL")
                .arg(&key)
                .exec_async(&mut c)
                .await
                .map_err(map_err)
        })
        .await
    }

    // ---- audit ----

    pub async fn append_audit(&self, entry: &[u8]) -> Result<String, StoreError> {
        let key = self.keys.audit();
        let min_id = unix_ms().saturating_sub(self.audit_retention.as_millis() as u64);
        let mut p = redis::pipe();
        // Exact trimming: audit writes are rare (operator actions), and an exact bound is
        // what the retention promise says.
        p.atomic()
            .cmd("XADD")
            .arg(&key)
            .arg("MAXLEN")
            .arg(self.audit_max_entries)
            .arg("*")
            .arg("e")
            .arg(entry)
            .cmd("XTRIM")
            .arg(&key)
            .arg("MINID")
            .arg(min_id)
            .ignore()
            // Once nothing was appended for a whole retention period, every entry is due.
            .pexpire(&key, ms(self.audit_retention) as i64)
            .ignore();
        self.run(|mut c| async move {
            let (id,): (String,) = p.query_async(&mut c).await.map_err(map_err)?;
            Ok(id)
        })
        .await
    }

    pub async fn read_audit_page(
        &self,
        before: Option<AuditId>,
        limit: usize,
    ) -> Result<Vec<(AuditId, Vec<u8>)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let key = self.keys.audit();
        // `(` makes the start exclusive (Redis ≥ 6.2).
        let start = before.map_or_else(|| "+".to_owned(), |id| format!("({id}"));
        self.run(|mut c| async move {
            let reply: Value = redis::cmd("XREVRANGE")
                .arg(&key)
                .arg(&start)
                .arg("-")
                .arg("COUNT")
                .arg(limit)
                .query_async(&mut c)
                .await
                .map_err(map_err)?;
            parse_stream(reply)?
                .into_iter()
                .map(|(id, entry)| {
                    id.parse::<AuditId>()
                        .map(|id| (id, entry))
                        .map_err(|_| corrupt("audit id is not <ms>-<seq>"))
                })
                .collect()
        })
        .await
    }

    // ---- rate limits ----

    pub async fn hit_rate_limit(&self, key: &str, window: Duration) -> Result<u64, StoreError> {
        let key = self.keys.rate_limit(key);
        let mut p = redis::pipe();
        // The window starts with the first hit: only that SET succeeds (NX), and INCR keeps the
        // TTL it set.
        p.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("PX")
            .arg(ms(window))
            .arg("NX")
            .ignore()
            .incr(&key, 1);
        self.run(|mut c| async move {
            let (n,): (u64,) = p.query_async(&mut c).await.map_err(map_err)?;
            Ok(n)
        })
        .await
    }

    pub async fn peek_rate_limit(&self, key: &str) -> Result<u64, StoreError> {
        let key = self.keys.rate_limit(key);
        Ok(self.get_key::<Option<u64>>(key).await?.unwrap_or(0))
    }

    pub async fn clear_rate_limit(&self, key: &str) -> Result<(), StoreError> {
        self.delete_key(self.keys.rate_limit(key)).await
    }

    // ---- shared values ----

    pub async fn put_if_absent(
        &self,
        name: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let key = self.keys.shared(name);
        let mut p = redis::pipe();
        // SET NX keeps the first writer's value and TTL; the GET in the same MULTI reads
        // whichever value won (Redis 6.2's SET … GET would do, but older servers lack it).
        p.atomic()
            .cmd("SET")
            .arg(&key)
            .arg(value)
            .arg("PX")
            .arg(ms(ttl).max(1))
            .arg("NX")
            .ignore()
            .cmd("GET")
            .arg(&key);
        self.run(|mut c| async move {
            let (held,): (Option<Vec<u8>>,) = p.query_async(&mut c).await.map_err(map_err)?;
            // Only a TTL shorter than the round trip leaves nothing to read.
            held.ok_or_else(|| corrupt("shared value expired as it was stored"))
        })
        .await
    }
}

/// `XREVRANGE` reply: `[[id, [field, value, …]], …]`; the entry is the value of field `e`.
fn parse_stream(reply: Value) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let Value::Array(items) = reply else {
        return Err(corrupt("audit stream reply is not an array"));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(mut pair) = item else {
            return Err(corrupt("audit stream item is not an array"));
        };
        if pair.len() != 2 {
            return Err(corrupt("audit stream item is not [id, fields]"));
        }
        let fields = pair.pop();
        let id = match pair.pop() {
            Some(Value::BulkString(b)) => {
                String::from_utf8(b).map_err(|_| corrupt("audit id is not UTF-8"))?
            }
            Some(Value::SimpleString(s)) => s,
            _ => return Err(corrupt("audit id is not a string")),
        };
        let Some(Value::Array(fields)) = fields else {
            return Err(corrupt("audit fields are not an array"));
        };
        let mut entry = None;
        let mut it = fields.into_iter();
        while let (Some(f), Some(v)) = (it.next(), it.next()) {
            if matches!(&f, Value::BulkString(b) if b == b"e") {
                if let Value::BulkString(v) = v {
                    entry = Some(v);
                }
            }
        }
        out.push((id, entry.ok_or_else(|| corrupt("audit item without `e`"))?));
    }
    Ok(out)
}
