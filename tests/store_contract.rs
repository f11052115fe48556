//! The store contract: every test body below runs against the embedded store, a standalone
//! `redis-server` and a 3-master Redis Cluster (modules `memory`, `redis`, `cluster`), with
//! real expiry. Redis tests share one server (and one cluster) per test binary while tests are
//! in flight, each test under its own key prefix; the servers are killed when the last test
//! using them finishes. The outage tests at the end own their server.

mod support;

use support::redis as redis_support;
use support::wait;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use consentgate::config::{StoreBackend, StoreConfig};
use consentgate::store::{
    AuditId, DsrWrite, FormEntryRecord, ReceiptIndexEntry, ReceiptQuery, Store, StoreError,
};
use redis_support::{free_port, RedisCluster, RedisServer};

const TTL: Duration = Duration::from_secs(1);
/// `store.receipt_history_max` of the contract's stores.
const HISTORY_MAX: usize = 25;
const LONG: Duration = Duration::from_secs(600);

static PREFIX_SEQ: AtomicUsize = AtomicUsize::new(0);

fn config(backend: StoreBackend, url: Option<String>, test: &str) -> StoreConfig {
    let n = PREFIX_SEQ.fetch_add(1, Ordering::Relaxed);
    StoreConfig {
        backend,
        redis_url: url,
        timeout: Duration::from_secs(2),
        key_prefix: format!("t{n}-{test}-{}", std::process::id()),
        audit_max_entries: 3,
        receipt_history_max: HISTORY_MAX,
        ..StoreConfig::default()
    }
}

/// A server shared by the tests in flight; the last one to finish drops (kills) it.
fn shared<T>(slot: &'static Mutex<Weak<T>>, start: impl FnOnce() -> T) -> Arc<T> {
    let mut current = slot.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(running) = current.upgrade() {
        return running;
    }
    let fresh = Arc::new(start());
    *current = Arc::downgrade(&fresh);
    fresh
}

static STANDALONE: Mutex<Weak<RedisServer>> = Mutex::new(Weak::new());
static CLUSTER: Mutex<Weak<RedisCluster>> = Mutex::new(Weak::new());

/// Keeps the backing server alive for as long as the test holds it.
#[allow(dead_code)] // held, never read
enum Guard {
    None,
    Server(Arc<RedisServer>),
    Cluster(Arc<RedisCluster>),
}

async fn memory_store(test: &str) -> (Guard, Store) {
    let store = Store::connect(&config(StoreBackend::Memory, None, test))
        .await
        .expect("memory store");
    assert_eq!(store.backend_name(), "memory");
    (Guard::None, store)
}

async fn redis_store(test: &str) -> (Guard, Store) {
    let server = shared(&STANDALONE, RedisServer::new);
    let store = Store::connect(&config(StoreBackend::Redis, Some(server.url()), test))
        .await
        .expect("redis store");
    assert_eq!(store.backend_name(), "redis");
    (Guard::Server(server), store)
}

async fn cluster_store(test: &str) -> (Guard, Store) {
    let cluster = shared(&CLUSTER, RedisCluster::new);
    let store = Store::connect(&config(
        StoreBackend::RedisCluster,
        Some(cluster.url()),
        test,
    ))
    .await
    .expect("cluster store");
    assert_eq!(store.backend_name(), "redis_cluster");
    (Guard::Cluster(cluster), store)
}

/// Runs each named body (an `async fn(Store)`) once per backend.
macro_rules! contract {
    ($($body:ident),* $(,)?) => {
        mod memory {
            $( #[tokio::test] async fn $body() {
                let (_guard, store) = super::memory_store(stringify!($body)).await;
                super::$body(store).await;
            } )*
        }
        mod redis {
            $( #[tokio::test] async fn $body() {
                let (_guard, store) = super::redis_store(stringify!($body)).await;
                super::$body(store).await;
            } )*
        }
        mod cluster {
            $( #[tokio::test] async fn $body() {
                let (_guard, store) = super::cluster_store(stringify!($body)).await;
                super::$body(store).await;
            } )*
        }
    };
}

contract!(
    ping_succeeds,
    receipt_history_is_kept_oldest_first_until_deleted,
    receipt_history_keeps_the_newest_and_reads_by_page,
    decisions_past_the_history_cap_keep_their_own_numbers_and_are_erased,
    receipt_and_history_expire_together,
    concurrent_receipt_puts_all_land_in_history,
    form_entries_list_newest_first_with_paging,
    expired_form_entries_are_never_listed_found_or_fetched,
    email_index_finds_entries_across_forms_and_forgets_deleted,
    replacing_an_entry_moves_it_in_the_email_index,
    counters_add_up_per_day_and_read_in_day_order,
    unique_counts_ignore_repeated_members,
    uniques_are_added_in_batches_and_counted_per_name_and_day_at_once,
    admitted_values_are_bounded_per_name_and_day,
    a_daily_salt_is_set_once_shared_and_deleted_on_request,
    daily_salts_expire,
    api_tokens_are_stored_found_listed_and_deleted,
    session_expires_after_idle_time_unless_read,
    audit_log_reads_newest_first_and_keeps_only_the_newest,
    audit_log_pages_backwards_from_a_cursor,
    rate_limit_counts_hits_and_restarts_after_the_window,
    rate_limit_can_be_read_without_counting_and_cleared,
    receipt_index_lists_a_time_range_per_action_newest_or_oldest_first,
    receipt_index_forgets_expired_and_erased_decisions,
    banner_texts_are_archived_once_and_their_use_is_tracked,
    name_and_phone_hashes_find_entries_and_follow_replacement,
    restricted_entries_are_kept_but_not_listed_until_lifted,
    a_days_data_key_is_stored_once_and_expires,
    requests_are_written_only_over_the_version_read,
    requests_due_are_counted_while_open_and_expire,
    a_shared_value_goes_to_the_first_writer_and_expires,
);

fn entry(id: &str, form: &str, created: u64, email: Option<&str>) -> FormEntryRecord {
    FormEntryRecord {
        id: id.to_owned(),
        form: form.to_owned(),
        created,
        ciphertext: format!("sealed:{id}").into_bytes(),
        email_hash: email.map(str::to_owned),
        lookup_hashes: Vec::new(),
        restricted: false,
    }
}

fn ids(page: &consentgate::store::FormPage) -> Vec<&str> {
    page.entries.iter().map(|e| e.id.as_str()).collect()
}

async fn ping_succeeds(store: Store) {
    store.ping().await.expect("ping");
}

async fn receipt_history_is_kept_oldest_first_until_deleted(store: Store) {
    // Braces would end a Redis hash tag early; ids must still be stored separately.
    for id in ["visitor-1", "odd{id}"] {
        assert_eq!(store.get_receipt(id).await.unwrap(), None);
        store
            .put_receipt(id, b"v1:analytics=no", LONG)
            .await
            .unwrap();
        store
            .put_receipt(id, b"v2:analytics=yes", LONG)
            .await
            .unwrap();
        assert_eq!(
            store.get_receipt(id).await.unwrap().as_deref(),
            Some(&b"v2:analytics=yes"[..])
        );
        assert_eq!(
            history(&store, id).await,
            vec![b"v1:analytics=no".to_vec(), b"v2:analytics=yes".to_vec()]
        );
    }
    assert!(store.delete_receipt("visitor-1").await.unwrap());
    assert_eq!(store.get_receipt("visitor-1").await.unwrap(), None);
    assert!(history(&store, "visitor-1").await.is_empty());
    assert!(!store.delete_receipt("visitor-1").await.unwrap());
    assert_eq!(
        history(&store, "odd{id}").await.len(),
        2,
        "deleting one id leaves others alone"
    );
}

/// The whole history of `id`, oldest first.
async fn history(store: &Store, id: &str) -> Vec<Vec<u8>> {
    store.receipt_history(id, 0, 1000).await.unwrap().receipts
}

async fn receipt_history_keeps_the_newest_and_reads_by_page(store: Store) {
    for i in 0..30u8 {
        store.put_receipt("often", &[i], LONG).await.unwrap();
    }
    let all = store.receipt_history("often", 0, 100).await.unwrap();
    assert_eq!(all.total, HISTORY_MAX);
    let expected: Vec<Vec<u8>> = (5..30u8).map(|i| vec![i]).collect();
    assert_eq!(all.receipts, expected, "the oldest five were dropped");
    let page = store.receipt_history("often", 10, 3).await.unwrap();
    assert_eq!(page.receipts, [[15], [16], [17]]);
    assert_eq!(page.total, HISTORY_MAX);
    let past_the_end = store.receipt_history("often", 40, 3).await.unwrap();
    assert!(past_the_end.receipts.is_empty());
    assert_eq!(
        store.receipt_history("often", 0, 0).await.unwrap().total,
        HISTORY_MAX
    );
    assert_eq!(
        store.get_receipt("often").await.unwrap(),
        Some(vec![29]),
        "the current receipt is the newest"
    );
}

async fn decisions_past_the_history_cap_keep_their_own_numbers_and_are_erased(store: Store) {
    // Numbered on past the cap, so the time index keeps every decision apart...
    for i in 0..(HISTORY_MAX as u64 + 5) {
        decide(&store, "often", "custom", 10_000 + i, LONG).await;
    }
    let all = listed(&store, (0, u64::MAX), None, true).await;
    assert_eq!(all.total, HISTORY_MAX + 5);
    assert_eq!(
        store.put_receipt("often", b"next", LONG).await.unwrap(),
        HISTORY_MAX as u64 + 6
    );
    // ...and an erasure takes every one of them out, not only those the history still holds.
    assert!(store.delete_receipt("often").await.unwrap());
    assert_eq!(listed(&store, (0, u64::MAX), None, true).await.total, 0);
    assert_eq!(store.put_receipt("often", b"anew", LONG).await.unwrap(), 1);
}

async fn receipt_and_history_expire_together(store: Store) {
    store.put_receipt("short", b"one", TTL).await.unwrap();
    store.put_receipt("short", b"two", TTL).await.unwrap();
    store.put_receipt("long", b"kept", LONG).await.unwrap();
    // The history is written after the current receipt, so it expires last (Redis may set
    // the two deadlines a millisecond apart): once it is gone, the receipt must be too.
    wait::until(
        "the short receipt's history to expire",
        wait::DEADLINE,
        || async { history(&store, "short").await.is_empty() },
    )
    .await;
    assert_eq!(store.get_receipt("short").await.unwrap(), None);
    assert_eq!(
        store.get_receipt("long").await.unwrap().as_deref(),
        Some(&b"kept"[..])
    );
    // A new receipt after expiry starts a new history.
    store.put_receipt("short", b"three", LONG).await.unwrap();
    assert_eq!(history(&store, "short").await, vec![b"three".to_vec()]);
}

async fn concurrent_receipt_puts_all_land_in_history(store: Store) {
    let tasks: Vec<_> = (0..20u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_receipt("busy", &[i], LONG).await })
        })
        .collect();
    for t in tasks {
        t.await.expect("task").expect("put");
    }
    let history = history(&store, "busy").await;
    assert_eq!(history.len(), 20);
    let current = store.get_receipt("busy").await.unwrap().expect("current");
    assert_eq!(
        history.last(),
        Some(&current),
        "current is the last appended"
    );
}

async fn form_entries_list_newest_first_with_paging(store: Store) {
    for (id, created) in [("a", 100), ("b", 300), ("c", 200), ("d", 300)] {
        store
            .put_form_entry("contact", &entry(id, "contact", created, None), LONG)
            .await
            .unwrap();
    }
    store
        .put_form_entry("other", &entry("x", "other", 999, None), LONG)
        .await
        .unwrap();
    let all = store.list_form_entries("contact", 0, 10).await.unwrap();
    // Same timestamp: the larger id first (Redis ZREVRANGE order).
    assert_eq!(ids(&all), ["d", "b", "c", "a"]);
    assert_eq!(all.total, 4);
    let page = store.list_form_entries("contact", 1, 2).await.unwrap();
    assert_eq!(ids(&page), ["b", "c"]);
    assert_eq!(page.total, 4);
    let beyond = store.list_form_entries("contact", 10, 5).await.unwrap();
    assert!(beyond.entries.is_empty());
    assert_eq!(beyond.total, 4);
    assert_eq!(
        store
            .list_form_entries("contact", 0, 0)
            .await
            .unwrap()
            .total,
        4
    );
    let empty = store.list_form_entries("nope", 0, 10).await.unwrap();
    assert_eq!((empty.entries.len(), empty.total), (0, 0));

    let got = store.get_form_entry("contact", "c").await.unwrap();
    assert_eq!(got, Some(entry("c", "contact", 200, None)));
    assert!(store.delete_form_entry("contact", "c").await.unwrap());
    assert!(!store.delete_form_entry("contact", "c").await.unwrap());
    assert_eq!(store.get_form_entry("contact", "c").await.unwrap(), None);
    let after = store.list_form_entries("contact", 0, 10).await.unwrap();
    assert_eq!(ids(&after), ["d", "b", "a"]);
    assert_eq!(after.total, 3);
}

async fn expired_form_entries_are_never_listed_found_or_fetched(store: Store) {
    store
        .put_form_entry("contact", &entry("old1", "contact", 10, Some("h")), TTL)
        .await
        .unwrap();
    store
        .put_form_entry("contact", &entry("old2", "contact", 30, None), TTL)
        .await
        .unwrap();
    store
        .put_form_entry("contact", &entry("kept", "contact", 20, Some("h")), LONG)
        .await
        .unwrap();
    assert_eq!(
        store
            .list_form_entries("contact", 0, 10)
            .await
            .unwrap()
            .total,
        3
    );
    // old2 was written last, so it expires last.
    wait::until(
        "both short-lived entries to expire",
        wait::DEADLINE,
        || async {
            store
                .get_form_entry("contact", "old2")
                .await
                .unwrap()
                .is_none()
        },
    )
    .await;
    assert_eq!(store.get_form_entry("contact", "old1").await.unwrap(), None);
    assert_eq!(
        store.find_form_entries_by_hash("h").await.unwrap(),
        vec![("contact".to_owned(), "kept".to_owned())]
    );
    assert_eq!(store.sweep_form_index("contact").await.unwrap(), 2);
    assert_eq!(store.sweep_form_index("contact").await.unwrap(), 0);
    let page = store.list_form_entries("contact", 0, 10).await.unwrap();
    assert_eq!(ids(&page), ["kept"]);
    assert_eq!(page.total, 1);
    assert!(!store.delete_form_entry("contact", "old2").await.unwrap());

    // Listing without an explicit sweep hides expired entries too.
    store
        .put_form_entry("contact", &entry("newest", "contact", 99, None), TTL)
        .await
        .unwrap();
    wait::until("the newest entry to expire", wait::DEADLINE, || async {
        store
            .get_form_entry("contact", "newest")
            .await
            .unwrap()
            .is_none()
    })
    .await;
    let page = store.list_form_entries("contact", 0, 10).await.unwrap();
    assert_eq!(ids(&page), ["kept"]);
    assert_eq!(page.total, 1);
}

async fn email_index_finds_entries_across_forms_and_forgets_deleted(store: Store) {
    store
        .put_form_entry("contact", &entry("c1", "contact", 1, Some("alice")), LONG)
        .await
        .unwrap();
    store
        .put_form_entry("contact", &entry("c2", "contact", 2, Some("bob")), LONG)
        .await
        .unwrap();
    store
        .put_form_entry(
            "newsletter",
            &entry("n1", "newsletter", 3, Some("alice")),
            LONG,
        )
        .await
        .unwrap();
    store
        .put_form_entry("contact", &entry("c3", "contact", 4, None), LONG)
        .await
        .unwrap();
    assert_eq!(
        store.find_form_entries_by_hash("alice").await.unwrap(),
        vec![
            ("contact".to_owned(), "c1".to_owned()),
            ("newsletter".to_owned(), "n1".to_owned())
        ]
    );
    assert!(store
        .find_form_entries_by_hash("nobody")
        .await
        .unwrap()
        .is_empty());
    assert!(store.delete_form_entry("newsletter", "n1").await.unwrap());
    assert_eq!(
        store.find_form_entries_by_hash("alice").await.unwrap(),
        vec![("contact".to_owned(), "c1".to_owned())]
    );
    let stored = store.get_form_entry("contact", "c2").await.unwrap();
    assert_eq!(
        stored.and_then(|e| e.email_hash).as_deref(),
        Some("bob"),
        "the e-mail hash is kept with the entry"
    );
}

async fn replacing_an_entry_moves_it_in_the_email_index(store: Store) {
    store
        .put_form_entry("contact", &entry("e", "contact", 1, Some("first")), LONG)
        .await
        .unwrap();
    store
        .put_form_entry("contact", &entry("e", "contact", 5, Some("second")), LONG)
        .await
        .unwrap();
    assert!(store
        .find_form_entries_by_hash("first")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        store
            .find_form_entries_by_hash("second")
            .await
            .unwrap()
            .len(),
        1
    );
    let page = store.list_form_entries("contact", 0, 10).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.entries[0].created, 5);
}

async fn name_and_phone_hashes_find_entries_and_follow_replacement(store: Store) {
    let mut e = entry("p1", "contact", 1, Some("mail"));
    e.lookup_hashes = vec!["name".into(), "phone".into()];
    store.put_form_entry("contact", &e, LONG).await.unwrap();
    let mut other = entry("p2", "intake", 2, None);
    other.lookup_hashes = vec!["name".into()];
    store.put_form_entry("intake", &other, LONG).await.unwrap();
    let hits = |found: Vec<(String, String)>| -> Vec<String> {
        found.into_iter().map(|(f, i)| format!("{f}/{i}")).collect()
    };
    assert_eq!(
        hits(store.find_form_entries_by_hash("name").await.unwrap()),
        ["contact/p1", "intake/p2"]
    );
    assert_eq!(
        hits(store.find_form_entries_by_hash("phone").await.unwrap()),
        ["contact/p1"]
    );
    let stored = store
        .get_form_entry("contact", "p1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.lookup_hashes, ["name", "phone"]);

    // A corrected entry is found by its new values only.
    e.lookup_hashes = vec!["new-name".into()];
    store.put_form_entry("contact", &e, LONG).await.unwrap();
    assert!(store
        .find_form_entries_by_hash("phone")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        hits(store.find_form_entries_by_hash("new-name").await.unwrap()),
        ["contact/p1"]
    );
    assert!(store.delete_form_entry("intake", "p2").await.unwrap());
    assert!(store
        .find_form_entries_by_hash("name")
        .await
        .unwrap()
        .is_empty());
}

async fn restricted_entries_are_kept_but_not_listed_until_lifted(store: Store) {
    for (id, created) in [("a", 1), ("b", 2), ("c", 3)] {
        store
            .put_form_entry("contact", &entry(id, "contact", created, Some("h")), LONG)
            .await
            .unwrap();
    }
    assert!(store
        .set_form_entry_restricted("contact", "b", true)
        .await
        .unwrap());
    let page = store.list_form_entries("contact", 0, 10).await.unwrap();
    assert_eq!(ids(&page), ["c", "a"]);
    assert_eq!(page.total, 2);
    let kept = store.get_form_entry("contact", "b").await.unwrap().unwrap();
    assert!(kept.restricted);
    assert_eq!(store.find_form_entries_by_hash("h").await.unwrap().len(), 3);

    // Rewriting a restricted entry (a correction) keeps it out of the list.
    store.put_form_entry("contact", &kept, LONG).await.unwrap();
    assert_eq!(
        store
            .list_form_entries("contact", 0, 10)
            .await
            .unwrap()
            .total,
        2
    );

    assert!(store
        .set_form_entry_restricted("contact", "b", false)
        .await
        .unwrap());
    let page = store.list_form_entries("contact", 0, 10).await.unwrap();
    assert_eq!(ids(&page), ["c", "b", "a"]);
    assert!(!page.entries[1].restricted);
    assert!(!store
        .set_form_entry_restricted("contact", "gone", true)
        .await
        .unwrap());

    // A restricted entry still expires and is deleted for good.
    store
        .put_form_entry("contact", &entry("d", "contact", 4, None), TTL)
        .await
        .unwrap();
    store
        .set_form_entry_restricted("contact", "d", true)
        .await
        .unwrap();
    wait::until("the restricted entry to expire", wait::DEADLINE, || async {
        store
            .get_form_entry("contact", "d")
            .await
            .unwrap()
            .is_none()
    })
    .await;
    assert!(store
        .set_form_entry_restricted("contact", "b", true)
        .await
        .unwrap());
    assert!(store.delete_form_entry("contact", "b").await.unwrap());
    assert!(store
        .get_form_entry("contact", "b")
        .await
        .unwrap()
        .is_none());
    assert_eq!(store.sweep_form_index("contact").await.unwrap(), 1);
    assert_eq!(
        ids(&store.list_form_entries("contact", 0, 10).await.unwrap()),
        ["c", "a"]
    );
}

async fn a_days_data_key_is_stored_once_and_expires(store: Store) {
    let first = store
        .ensure_form_data_key("contact", "2026-11-22:aa", b"wrapped-1", TTL)
        .await
        .unwrap();
    assert_eq!(first, b"wrapped-1");
    // A second gate offering its own key gets the first one.
    let second = store
        .ensure_form_data_key("contact", "2026-11-22:aa", b"wrapped-2", TTL)
        .await
        .unwrap();
    assert_eq!(second, b"wrapped-1");
    assert_eq!(
        store
            .get_form_data_key("contact", "2026-11-22:aa")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"wrapped-1"[..])
    );
    assert_eq!(
        store
            .get_form_data_key("other", "2026-11-22:aa")
            .await
            .unwrap(),
        None
    );
    wait::until("the data key to expire", wait::DEADLINE, || async {
        store
            .get_form_data_key("contact", "2026-11-22:aa")
            .await
            .unwrap()
            .is_none()
    })
    .await;
    // Its name can hold a new key afterwards (a new day never reuses a name anyway).
    let again = store
        .ensure_form_data_key("contact", "2026-11-22:aa", b"wrapped-3", LONG)
        .await
        .unwrap();
    assert_eq!(again, b"wrapped-3");
}

fn dsr_write<'a>(
    id: &'a str,
    data: &'a [u8],
    expected: Option<u64>,
    due: Option<u64>,
) -> DsrWrite<'a> {
    DsrWrite {
        id,
        data,
        expected_version: expected,
        due_day: due,
        ttl: LONG,
    }
}

async fn requests_are_written_only_over_the_version_read(store: Store) {
    assert_eq!(
        store
            .put_dsr_request(&dsr_write("r1", b"one", None, Some(100)))
            .await
            .unwrap(),
        Some(1)
    );
    // Created once: a second "new" request with the same id changes nothing.
    assert_eq!(
        store
            .put_dsr_request(&dsr_write("r1", b"other", None, Some(100)))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .put_dsr_request(&dsr_write("r1", b"two", Some(1), Some(100)))
            .await
            .unwrap(),
        Some(2)
    );
    // Two operators read version 2; the second write is refused.
    assert_eq!(
        store
            .put_dsr_request(&dsr_write("r1", b"three", Some(2), None))
            .await
            .unwrap(),
        Some(3)
    );
    assert_eq!(
        store
            .put_dsr_request(&dsr_write("r1", b"lost", Some(2), None))
            .await
            .unwrap(),
        None
    );
    let stored = store.get_dsr_request("r1").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.data.as_slice()), (3, &b"three"[..]));
    assert_eq!(
        store
            .put_dsr_request(&dsr_write("nobody", b"x", Some(1), None))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.get_dsr_request("nobody").await.unwrap(), None);
    store
        .put_dsr_request(&dsr_write("r2", b"b", None, Some(5)))
        .await
        .unwrap();
    let mut all: Vec<String> = store
        .list_dsr_requests()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect();
    all.sort();
    assert_eq!(all, ["r1", "r2"]);
    assert!(store.delete_dsr_request("r1").await.unwrap());
    assert!(!store.delete_dsr_request("r1").await.unwrap());
    assert_eq!(store.get_dsr_request("r1").await.unwrap(), None);
    assert_eq!(store.list_dsr_requests().await.unwrap().len(), 1);
}

async fn requests_due_are_counted_while_open_and_expire(store: Store) {
    for (id, due) in [("a", 10), ("b", 20), ("c", 30)] {
        store
            .put_dsr_request(&dsr_write(id, b"x", None, Some(due)))
            .await
            .unwrap();
    }
    assert_eq!(store.count_dsr_due(9).await.unwrap(), 0);
    assert_eq!(store.count_dsr_due(20).await.unwrap(), 2);
    // Closing a request takes it out of the count; it is still there.
    store
        .put_dsr_request(&dsr_write("a", b"done", Some(1), None))
        .await
        .unwrap();
    assert_eq!(store.count_dsr_due(20).await.unwrap(), 1);
    assert!(store.get_dsr_request("a").await.unwrap().is_some());
    let short = DsrWrite {
        ttl: TTL,
        ..dsr_write("b", b"short", Some(1), Some(20))
    };
    store.put_dsr_request(&short).await.unwrap();
    wait::until(
        "the short-lived request to expire",
        wait::DEADLINE,
        || async { store.get_dsr_request("b").await.unwrap().is_none() },
    )
    .await;
    assert_eq!(store.count_dsr_due(100).await.unwrap(), 1);
    assert_eq!(store.list_dsr_requests().await.unwrap().len(), 2);
}

async fn counters_add_up_per_day_and_read_in_day_order(store: Store) {
    let (d1, d2, d3) = ("2026-11-20", "2026-11-21", "2026-11-22");
    store
        .incr_counters("banner", d1, &[("shown", 3), ("accepted", 1)])
        .await
        .unwrap();
    store
        .incr_counters("banner", d1, &[("shown", 2), ("rejected", 1)])
        .await
        .unwrap();
    store
        .incr_counters("banner", d3, &[("shown", 7), ("accepted", -2)])
        .await
        .unwrap();
    store.incr_counters("banner", d2, &[]).await.unwrap();
    let days = vec![d3.to_owned(), d2.to_owned(), d1.to_owned()];
    let read = store.read_counters("banner", &days).await.unwrap();
    let map = |pairs: &[(&str, i64)]| -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    assert_eq!(
        read,
        vec![
            map(&[("shown", 7), ("accepted", -2)]),
            BTreeMap::new(),
            map(&[("shown", 5), ("accepted", 1), ("rejected", 1)]),
        ]
    );
    assert!(store.read_counters("banner", &[]).await.unwrap().is_empty());
}

async fn unique_counts_ignore_repeated_members(store: Store) {
    let day = "2026-11-22";
    for round in 0..3 {
        for visitor in 0..100u32 {
            let _ = round;
            store
                .add_unique("visitors", day, &visitor.to_be_bytes())
                .await
                .unwrap();
        }
    }
    let count = store.count_unique("visitors", day).await.unwrap();
    // HyperLogLog estimates (exact at this size in practice); the embedded store is exact.
    assert!((98..=102).contains(&count), "counted {count}");
    assert_eq!(
        store.count_unique("visitors", "2026-11-21").await.unwrap(),
        0
    );
}

async fn uniques_are_added_in_batches_and_counted_per_name_and_day_at_once(store: Store) {
    let members: Vec<[u8; 4]> = (0..50u32).map(u32::to_be_bytes).collect();
    let refs: Vec<&[u8]> = members.iter().map(|m| &m[..]).collect();
    store
        .add_uniques("visitors:a", "2026-11-22", &refs)
        .await
        .unwrap();
    store
        .add_uniques("visitors:a", "2026-11-22", &refs[..10])
        .await
        .unwrap();
    store
        .add_uniques("visitors:b", "2026-11-22", &refs[..5])
        .await
        .unwrap();
    store
        .add_uniques("visitors:b", "2026-11-23", &[])
        .await
        .unwrap();
    let keys: Vec<(String, String)> = [
        ("visitors:a", "2026-11-22"),
        ("visitors:b", "2026-11-22"),
        ("visitors:b", "2026-11-23"),
    ]
    .iter()
    .map(|(n, d)| ((*n).to_owned(), (*d).to_owned()))
    .collect();
    let counts = store.count_uniques(&keys).await.unwrap();
    assert!((49..=51).contains(&counts[0]), "{counts:?}");
    assert_eq!(&counts[1..], &[5, 0]);
    assert!(store.count_uniques(&[]).await.unwrap().is_empty());
}

async fn admitted_values_are_bounded_per_name_and_day(store: Store) {
    let day = "2026-11-22";
    let first = store
        .admit("path", day, &["/a", "/b", "/a"], 3, LONG)
        .await
        .unwrap();
    assert_eq!(first, [true, true, true]);
    // Room for one more: /c gets it, /d does not; known values stay admitted.
    let second = store
        .admit("path", day, &["/c", "/d", "/b"], 3, LONG)
        .await
        .unwrap();
    assert_eq!(second, [true, false, true]);
    assert_eq!(
        store
            .admit("path", day, &["/d", "/a"], 3, LONG)
            .await
            .unwrap(),
        [false, true]
    );
    // Another day and another name start empty.
    assert_eq!(
        store
            .admit("path", "2026-11-23", &["/d"], 3, LONG)
            .await
            .unwrap(),
        [true]
    );
    assert_eq!(
        store
            .admit("referrer", day, &["/d"], 3, LONG)
            .await
            .unwrap(),
        [true]
    );
    assert!(store
        .admit("path", day, &[], 3, LONG)
        .await
        .unwrap()
        .is_empty());
    // Concurrent callers together admit no more than the bound.
    let calls = (0..10).map(|i| {
        let store = store.clone();
        async move {
            let value = format!("/p{i}");
            store
                .admit("race", day, &[value.as_str()], 4, LONG)
                .await
                .unwrap()[0]
        }
    });
    let admitted = futures_util::future::join_all(calls)
        .await
        .into_iter()
        .filter(|a| *a)
        .count();
    assert_eq!(admitted, 4);
}

async fn a_daily_salt_is_set_once_shared_and_deleted_on_request(store: Store) {
    let day = "2026-11-22";
    assert_eq!(store.get_salt(day).await.unwrap(), None);
    let first = store.daily_salt(day, &[1u8; 32], LONG).await.unwrap();
    assert_eq!(first, vec![1u8; 32]);
    // A second gate offering its own candidate gets the first one.
    let second = store.daily_salt(day, &[2u8; 32], LONG).await.unwrap();
    assert_eq!(second, vec![1u8; 32]);
    assert_eq!(
        store
            .daily_salt("2026-11-23", &[3u8; 32], LONG)
            .await
            .unwrap(),
        vec![3u8; 32]
    );
    store.delete_salt(day).await.unwrap();
    assert_eq!(store.get_salt(day).await.unwrap(), None);
    store.delete_salt(day).await.unwrap();
    assert_eq!(
        store.get_salt("2026-11-23").await.unwrap(),
        Some(vec![3u8; 32])
    );
}

async fn daily_salts_expire(store: Store) {
    store
        .daily_salt("2026-11-22", &[1u8; 32], TTL)
        .await
        .unwrap();
    wait::until("the salt expires", Duration::from_secs(5), || {
        let store = store.clone();
        async move { store.get_salt("2026-11-22").await.unwrap().is_none() }
    })
    .await;
    // Once gone, a new candidate becomes the salt.
    assert_eq!(
        store
            .daily_salt("2026-11-22", &[9u8; 32], LONG)
            .await
            .unwrap(),
        vec![9u8; 32]
    );
}

async fn api_tokens_are_stored_found_listed_and_deleted(store: Store) {
    store.put_api_token("h2", b"two", LONG).await.unwrap();
    store.put_api_token("h1", b"one", LONG).await.unwrap();
    assert_eq!(
        store.get_api_token("h1").await.unwrap().as_deref(),
        Some(&b"one"[..])
    );
    assert_eq!(store.get_api_token("h3").await.unwrap(), None);
    assert_eq!(
        store.list_api_tokens().await.unwrap(),
        vec![
            ("h1".to_owned(), b"one".to_vec()),
            ("h2".to_owned(), b"two".to_vec())
        ]
    );
    assert!(store.delete_api_token("h1").await.unwrap());
    assert!(!store.delete_api_token("h1").await.unwrap());
    assert_eq!(store.get_api_token("h1").await.unwrap(), None);
    assert_eq!(store.list_api_tokens().await.unwrap().len(), 1);
}

async fn session_expires_after_idle_time_unless_read(store: Store) {
    let idle = Duration::from_millis(1500);
    store.put_session("s1", b"admin", idle).await.unwrap();
    store.put_session("s2", b"admin", idle).await.unwrap();
    // Reads every 0.8 s keep s1 alive past its first idle deadline. Real time has to pass
    // here: polling s2 would refresh it too.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(
            store.get_session("s1", idle).await.unwrap().as_deref(),
            Some(&b"admin"[..])
        );
    }
    assert_eq!(
        store.get_session("s2", idle).await.unwrap(),
        None,
        "idle session expired"
    );
    store.delete_session("s1").await.unwrap();
    assert_eq!(store.get_session("s1", idle).await.unwrap(), None);
    store.delete_session("never-existed").await.unwrap();
}

async fn audit_log_reads_newest_first_and_keeps_only_the_newest(store: Store) {
    // The test config keeps 3 entries.
    let mut ids = Vec::new();
    for i in 0..5u8 {
        ids.push(store.append_audit(&[b'e', b'0' + i]).await.unwrap());
    }
    let read = store.read_audit(10).await.unwrap();
    assert_eq!(
        read,
        vec![
            (ids[4].clone(), b"e4".to_vec()),
            (ids[3].clone(), b"e3".to_vec()),
            (ids[2].clone(), b"e2".to_vec()),
        ]
    );
    assert_eq!(store.read_audit(1).await.unwrap().len(), 1);
    assert!(store.read_audit(0).await.unwrap().is_empty());
    assert_eq!(
        ids.iter().collect::<std::collections::BTreeSet<_>>().len(),
        5
    );
}

async fn audit_log_pages_backwards_from_a_cursor(store: Store) {
    // The test config keeps 3 entries.
    for i in 0..3u8 {
        store.append_audit(&[b'p', b'0' + i]).await.unwrap();
    }
    let first = store.read_audit_page(None, 2).await.unwrap();
    let bodies: Vec<&[u8]> = first.iter().map(|(_, e)| e.as_slice()).collect();
    assert_eq!(bodies, [b"p2".as_slice(), b"p1".as_slice()]);
    assert!(first[0].0 > first[1].0, "ids decrease down the page");
    let next = store.read_audit_page(Some(first[1].0), 2).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].1, b"p0".to_vec());
    let past_the_end = store.read_audit_page(Some(next[0].0), 2).await.unwrap();
    assert!(past_the_end.is_empty());
    // The ids are the same as the plain reader's.
    let plain = store.read_audit(3).await.unwrap();
    assert_eq!(plain[0].0, first[0].0.to_string());
    assert!(store.read_audit_page(None, 0).await.unwrap().is_empty());
    let far_past = AuditId { ms: 1, seq: 0 };
    assert!(store
        .read_audit_page(Some(far_past), 5)
        .await
        .unwrap()
        .is_empty());
}

async fn rate_limit_can_be_read_without_counting_and_cleared(store: Store) {
    assert_eq!(store.peek_rate_limit("fails:ann").await.unwrap(), 0);
    store.hit_rate_limit("fails:ann", LONG).await.unwrap();
    store.hit_rate_limit("fails:ann", LONG).await.unwrap();
    assert_eq!(store.peek_rate_limit("fails:ann").await.unwrap(), 2);
    assert_eq!(
        store.peek_rate_limit("fails:ann").await.unwrap(),
        2,
        "peeking does not count"
    );
    store.clear_rate_limit("fails:ann").await.unwrap();
    assert_eq!(store.peek_rate_limit("fails:ann").await.unwrap(), 0);
    assert_eq!(store.hit_rate_limit("fails:ann", LONG).await.unwrap(), 1);
    store.clear_rate_limit("never-hit").await.unwrap();
    store.hit_rate_limit("short", TTL).await.unwrap();
    wait::until("the short window to end", wait::DEADLINE, || async {
        store.peek_rate_limit("short").await.unwrap() == 0
    })
    .await;
}

/// Puts a receipt `body` for `id` and indexes it at `time_ms` under `action`.
async fn decide(store: &Store, id: &str, action: &str, time_ms: u64, ttl: Duration) {
    let body = format!("{id}/{action}/{time_ms}");
    let seq = store.put_receipt(id, body.as_bytes(), ttl).await.unwrap();
    store
        .index_receipt(
            &ReceiptIndexEntry {
                id,
                seq,
                action,
                time_ms,
                receipt: body.as_bytes(),
            },
            ttl,
        )
        .await
        .unwrap();
}

fn query(from_ms: u64, to_ms: u64, action: Option<&str>, newest_first: bool) -> ReceiptQuery<'_> {
    ReceiptQuery {
        from_ms,
        to_ms,
        action,
        newest_first,
        offset: 0,
        limit: 100,
    }
}

/// The first 100 decisions of a range (newest first unless `oldest_first`).
async fn listed(
    store: &Store,
    (from_ms, to_ms): (u64, u64),
    action: Option<&str>,
    oldest_first: bool,
) -> consentgate::store::ReceiptPage {
    store
        .list_receipts(&query(from_ms, to_ms, action, !oldest_first))
        .await
        .unwrap()
}

fn bodies(page: &consentgate::store::ReceiptPage) -> Vec<String> {
    page.receipts
        .iter()
        .map(|r| String::from_utf8_lossy(r).into_owned())
        .collect()
}

async fn receipt_index_lists_a_time_range_per_action_newest_or_oldest_first(store: Store) {
    assert_eq!(store.put_receipt("first", b"x", LONG).await.unwrap(), 1);
    assert_eq!(store.put_receipt("first", b"y", LONG).await.unwrap(), 2);
    decide(&store, "ann", "accept_all", 1_000, LONG).await;
    decide(&store, "bob", "reject_all", 2_000, LONG).await;
    decide(&store, "ann", "withdraw", 3_000, LONG).await;
    decide(&store, "cas", "accept_all", 4_000, LONG).await;
    decide(&store, "dee", "accept_all", 9_000, LONG).await;

    let all = listed(&store, (1_000, 4_000), None, false).await;
    assert_eq!(
        bodies(&all),
        [
            "cas/accept_all/4000",
            "ann/withdraw/3000",
            "bob/reject_all/2000",
            "ann/accept_all/1000"
        ]
    );
    assert_eq!(all.total, 4);
    let accepted = listed(&store, (0, 10_000), Some("accept_all"), true).await;
    assert_eq!(
        bodies(&accepted),
        [
            "ann/accept_all/1000",
            "cas/accept_all/4000",
            "dee/accept_all/9000"
        ]
    );
    let mut paged = query(0, 10_000, None, true);
    paged.offset = 1;
    paged.limit = 2;
    let page = store.list_receipts(&paged).await.unwrap();
    assert_eq!(bodies(&page), ["cas/accept_all/4000", "ann/withdraw/3000"]);
    assert_eq!(page.total, 5);
    paged.limit = 0;
    let count_only = store.list_receipts(&paged).await.unwrap();
    assert!(count_only.receipts.is_empty());
    assert_eq!(count_only.total, 5);
    let none = listed(&store, (5_000, 8_000), None, false).await;
    assert_eq!((none.receipts.len(), none.total), (0, 0));

    let counts = store.count_receipts(1_000, 4_000).await.unwrap();
    let expected: BTreeMap<String, u64> = [("accept_all", 2), ("reject_all", 1), ("withdraw", 1)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    assert_eq!(counts, expected);
    assert!(store.count_receipts(5_000, 8_000).await.unwrap().is_empty());
}

async fn receipt_index_forgets_expired_and_erased_decisions(store: Store) {
    decide(&store, "gone", "accept_all", 1_000, TTL).await;
    decide(&store, "erased", "accept_all", 2_000, LONG).await;
    decide(&store, "erased", "custom", 3_000, LONG).await;
    decide(&store, "kept", "reject_all", 4_000, LONG).await;
    assert_eq!(listed(&store, (0, 10_000), None, false).await.total, 4);

    assert!(store.delete_receipt("erased").await.unwrap());
    let after_erasure = listed(&store, (0, 10_000), None, false).await;
    assert_eq!(
        bodies(&after_erasure),
        ["kept/reject_all/4000", "gone/accept_all/1000"]
    );
    assert!(listed(&store, (0, 10_000), Some("custom"), false)
        .await
        .receipts
        .is_empty());

    wait::until(
        "the short-lived receipt to expire",
        wait::DEADLINE,
        || async { store.get_receipt("gone").await.unwrap().is_none() },
    )
    .await;
    assert_eq!(store.sweep_receipt_index().await.unwrap(), 1);
    assert_eq!(store.sweep_receipt_index().await.unwrap(), 0);
    let page = listed(&store, (0, 10_000), None, false).await;
    assert_eq!(bodies(&page), ["kept/reject_all/4000"]);
    assert_eq!(page.total, 1);

    // Listing and counting without an explicit sweep hide expired decisions too.
    decide(&store, "brief", "accept_all", 5_000, TTL).await;
    wait::until("the brief decision to expire", wait::DEADLINE, || async {
        store.get_receipt("brief").await.unwrap().is_none()
    })
    .await;
    let counts = store.count_receipts(0, 10_000).await.unwrap();
    assert_eq!(counts.get("accept_all"), None, "{counts:?}");
    assert_eq!(listed(&store, (0, 10_000), None, false).await.total, 1);
}

async fn banner_texts_are_archived_once_and_their_use_is_tracked(store: Store) {
    assert_eq!(store.get_texts("h1").await.unwrap(), None);
    store
        .archive_texts("h1", b"{\"title\":\"Cookies\"}", 3, "nl", 1_000, LONG)
        .await
        .unwrap();
    // A later use (another gate, another body would be a bug) keeps the first body, revision
    // and language and moves only the last use.
    store
        .archive_texts("h1", b"changed", 4, "en", 2_000, LONG)
        .await
        .unwrap();
    store
        .archive_texts("h1", b"changed", 4, "en", 500, TTL)
        .await
        .unwrap();
    let got = store.get_texts("h1").await.unwrap().expect("archived");
    assert_eq!(got.body, b"{\"title\":\"Cookies\"}".to_vec());
    assert_eq!((got.revision, got.language.as_str()), (3, "nl"));
    assert_eq!((got.first_used, got.last_used), (500, 2_000));
    assert_eq!(store.get_texts("h2").await.unwrap(), None);

    // A shorter TTL never shortens the archive: it lives as long as its longest receipt. Once
    // texts archived with the short TTL after h1's last use are gone, h1's would be too.
    store
        .archive_texts("short", b"x", 1, "en", 1, TTL)
        .await
        .unwrap();
    wait::until(
        "texts with a short TTL to expire",
        wait::DEADLINE,
        || async { store.get_texts("short").await.unwrap().is_none() },
    )
    .await;
    assert!(store.get_texts("h1").await.unwrap().is_some());
}

async fn rate_limit_counts_hits_and_restarts_after_the_window(store: Store) {
    for expected in 1..=3 {
        assert_eq!(
            store.hit_rate_limit("ip:192.0.2.0", TTL).await.unwrap(),
            expected
        );
    }
    assert_eq!(
        store.hit_rate_limit("ip:198.51.100.0", TTL).await.unwrap(),
        1
    );
    // Hits inside the window count on without moving its end; the first hit after it starts
    // a new window at 1.
    wait::until(
        "the rate-limit window to restart",
        wait::DEADLINE,
        || async { store.hit_rate_limit("ip:192.0.2.0", TTL).await.unwrap() == 1 },
    )
    .await;
}

async fn a_shared_value_goes_to_the_first_writer_and_expires(store: Store) {
    // Several gates racing for the same absent name all get the one value that was stored.
    let racers: Vec<_> = (0..8u8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { store.put_if_absent("secret:7", &[i; 32], TTL).await })
        })
        .collect();
    let mut held = Vec::new();
    for racer in racers {
        held.push(racer.await.unwrap().unwrap());
    }
    assert!(held.iter().all(|v| *v == held[0]), "{held:?}");
    assert_eq!(held[0].len(), 32);
    // A later writer does not replace it, and other names are separate.
    assert_eq!(
        store
            .put_if_absent("secret:7", b"later", LONG)
            .await
            .unwrap(),
        held[0]
    );
    assert_eq!(
        store
            .put_if_absent("secret:8", b"other", TTL)
            .await
            .unwrap(),
        b"other"
    );
    // Its TTL was not extended by the later call: once it passes, a new value is stored.
    wait::until("the shared value to expire", wait::DEADLINE, || async {
        store
            .put_if_absent("secret:7", b"next", LONG)
            .await
            .unwrap()
            == b"next"
    })
    .await;
}

// ---- outages (standalone Redis; each test owns its server) ----

fn is_transient(result: &Result<impl std::fmt::Debug, StoreError>) -> bool {
    matches!(
        result,
        Err(StoreError::Unavailable(_) | StoreError::Timeout)
    )
}

/// Retries `ping` until it succeeds.
async fn wait_until_reachable(store: &Store) {
    wait::until(
        "the store to recover after Redis came back",
        wait::DEADLINE,
        || async { store.ping().await.is_ok() },
    )
    .await;
}

#[tokio::test]
async fn redis_outage_gives_typed_errors_and_store_recovers_when_redis_returns() {
    let mut server = RedisServer::new();
    let cfg = config(StoreBackend::Redis, Some(server.url()), "outage");
    let store = Store::connect(&cfg).await.unwrap();
    store.put_receipt("r", b"before", LONG).await.unwrap();

    server.stop();
    // Each call must come back (bounded by the store timeout) with a typed, transient error.
    let bound = cfg.timeout * 3;
    for _ in 0..3 {
        let put = tokio::time::timeout(bound, store.put_receipt("r", b"during", LONG))
            .await
            .expect("put returned within the store timeout");
        assert!(is_transient(&put), "{put:?}");
        let get = tokio::time::timeout(bound, store.get_receipt("r"))
            .await
            .expect("get returned within the store timeout");
        assert!(is_transient(&get), "{get:?}");
        let ping = tokio::time::timeout(bound, store.ping())
            .await
            .expect("ping returned within the store timeout");
        assert!(is_transient(&ping), "{ping:?}");
    }

    server.start();
    wait_until_reachable(&store).await;
    store.put_receipt("r", b"after", LONG).await.unwrap();
    assert_eq!(
        store.get_receipt("r").await.unwrap().as_deref(),
        Some(&b"after"[..])
    );
}

#[tokio::test]
async fn hung_redis_gives_timeouts_not_hangs_and_store_recovers() {
    let mut server = RedisServer::new();
    let mut cfg = config(StoreBackend::Redis, Some(server.url()), "hung");
    cfg.timeout = Duration::from_millis(500);
    let store = Store::connect(&cfg).await.unwrap();
    store.put_receipt("r", b"before", LONG).await.unwrap();

    server.pause();
    for _ in 0..2 {
        let get = tokio::time::timeout(cfg.timeout * 4, store.get_receipt("r"))
            .await
            .expect("get returned within the store timeout");
        assert!(matches!(get, Err(StoreError::Timeout)), "{get:?}");
        let put = tokio::time::timeout(cfg.timeout * 4, store.put_session("s", b"x", LONG))
            .await
            .expect("put returned within the store timeout");
        assert!(is_transient(&put), "{put:?}");
    }

    server.resume();
    wait_until_reachable(&store).await;
    // Late answers to the timed-out requests must not be mistaken for answers to new ones.
    for i in 0..5u8 {
        store.put_receipt("fresh", &[i], LONG).await.unwrap();
        assert_eq!(store.get_receipt("fresh").await.unwrap(), Some(vec![i]));
    }
    assert_eq!(
        store.get_receipt("r").await.unwrap().as_deref(),
        Some(&b"before"[..])
    );
}

#[tokio::test]
async fn store_connects_while_redis_is_down_and_works_once_it_is_up() {
    let port = free_port(false);
    let cfg = config(
        StoreBackend::Redis,
        Some(format!("redis://127.0.0.1:{port}/")),
        "late",
    );
    let store = Store::connect(&cfg)
        .await
        .expect("connect must not need Redis");
    let ping = tokio::time::timeout(cfg.timeout * 3, store.ping())
        .await
        .expect("ping returned within the store timeout");
    assert!(is_transient(&ping), "{ping:?}");

    let _server = RedisServer::on_port(port);
    wait_until_reachable(&store).await;
    store.put_session("s", b"ok", LONG).await.unwrap();
    assert_eq!(
        store.get_session("s", LONG).await.unwrap().as_deref(),
        Some(&b"ok"[..])
    );
}

#[tokio::test]
async fn cluster_store_connects_while_cluster_is_down_and_reports_it_unavailable() {
    let port = free_port(false);
    let cfg = config(
        StoreBackend::RedisCluster,
        Some(format!("redis://127.0.0.1:{port}/")),
        "cluster-down",
    );
    let store = Store::connect(&cfg)
        .await
        .expect("connect must not need Redis");
    let put = tokio::time::timeout(cfg.timeout * 3, store.put_receipt("r", b"x", LONG))
        .await
        .expect("put returned within the store timeout");
    assert!(is_transient(&put), "{put:?}");
}

#[tokio::test]
async fn cluster_store_recovers_after_a_master_restarts() {
    let mut cluster = RedisCluster::new();
    let mut cfg = config(StoreBackend::RedisCluster, Some(cluster.url()), "restart");
    cfg.timeout = Duration::from_millis(500);
    let store = Store::connect(&cfg).await.unwrap();
    // 30 receipts land on all three masters (a given master is missed with p ≈ 5e-6).
    let ids: Vec<String> = (0..30).map(|i| format!("visitor-{i}")).collect();
    for id in &ids {
        store.put_receipt(id, b"x", LONG).await.unwrap();
    }

    cluster.nodes_mut()[0].stop();
    let mut failed = 0;
    for id in &ids {
        let got = tokio::time::timeout(cfg.timeout * 4, store.get_receipt(id))
            .await
            .expect("get returned within the store timeout");
        match got {
            Ok(value) => assert_eq!(value.as_deref(), Some(&b"x"[..])),
            Err(e) => {
                assert!(e.is_transient(), "{e:?}");
                failed += 1;
            }
        }
    }
    assert!(failed > 0, "no receipt lived on the stopped master");

    cluster.nodes_mut()[0].start();
    cluster.wait_ok();
    // Every key is writable again (the restarted master lost its data: no persistence).
    for id in &ids {
        wait::until(
            &format!("{id} to be writable after the master came back"),
            wait::DEADLINE,
            || async { store.put_receipt(id, b"y", LONG).await.is_ok() },
        )
        .await;
        assert_eq!(
            store.get_receipt(id).await.unwrap().as_deref(),
            Some(&b"y"[..])
        );
    }
}

// ---- retention: which keys may live forever ----

async fn exercise_every_operation(store: &Store) {
    store.put_receipt("v", b"r", LONG).await.unwrap();
    decide(store, "w", "accept_all", 1_000, LONG).await;
    store
        .archive_texts("texthash", b"texts", 1, "nl", 1, LONG)
        .await
        .unwrap();
    store.count_receipts(0, 2_000).await.unwrap();
    store
        .put_form_entry("contact", &entry("e1", "contact", 1, Some("h")), LONG)
        .await
        .unwrap();
    store
        .put_form_entry("contact", &entry("e2", "contact", 2, Some("h2")), LONG)
        .await
        .unwrap();
    store
        .put_form_entry("contact", &entry("e2", "contact", 2, Some("h3")), LONG)
        .await
        .unwrap();
    store.list_form_entries("contact", 0, 10).await.unwrap();
    store
        .set_form_entry_restricted("contact", "e2", true)
        .await
        .unwrap();
    let mut named = entry("e3", "contact", 3, None);
    named.lookup_hashes = vec!["name".into()];
    store.put_form_entry("contact", &named, LONG).await.unwrap();
    store
        .ensure_form_data_key("contact", "2026-11-22:aa", b"k", LONG)
        .await
        .unwrap();
    store
        .put_dsr_request(&dsr_write("r", b"sealed", None, Some(1)))
        .await
        .unwrap();
    store.count_dsr_due(2).await.unwrap();
    store.put_session("s", b"d", LONG).await.unwrap();
    store.get_session("s", LONG).await.unwrap();
    store.append_audit(b"deleted entry e1").await.unwrap();
    store.hit_rate_limit("ip", LONG).await.unwrap();
    store
        .incr_counters("banner", "2026-11-22", &[("shown", 1)])
        .await
        .unwrap();
    store
        .add_unique("visitors", "2026-11-22", b"v")
        .await
        .unwrap();
    store
        .admit("path", "2026-11-22", &["/a"], 10, LONG)
        .await
        .unwrap();
    store
        .daily_salt("2026-11-22", &[7u8; 32], LONG)
        .await
        .unwrap();
    store.put_api_token("h", b"ann", LONG).await.unwrap();
    store.put_if_absent("secret", b"k", LONG).await.unwrap();
}

/// Keys under `prefix` on the given nodes that have no TTL.
fn keys_without_ttl(urls: &[String], prefix: &str) -> Vec<String> {
    let mut forever = Vec::new();
    let mut seen = 0;
    for url in urls {
        let client = ::redis::Client::open(url.as_str()).expect("client");
        let mut conn = client.get_connection().expect("connect to a test node");
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{{{prefix}:*"))
            .query(&mut conn)
            .expect("KEYS");
        for key in keys {
            seen += 1;
            let pttl: i64 = ::redis::cmd("PTTL")
                .arg(&key)
                .query(&mut conn)
                .expect("PTTL");
            if pttl == -1 {
                forever.push(key);
            }
        }
    }
    assert!(
        seen >= 10,
        "expected the operations to create keys, saw {seen}"
    );
    forever.sort();
    forever
}

fn expected_forever(prefix: &str) -> Vec<String> {
    // No personal data: daily counters, a HyperLogLog, and the names of configured forms.
    let mut keys = vec![
        format!("{{{prefix}:ctr:banner:2026-11-22}}"),
        format!("{{{prefix}:forms}}"),
        format!("{{{prefix}:uniq:visitors:2026-11-22}}"),
    ];
    keys.sort();
    keys
}

#[tokio::test]
async fn redis_keys_that_can_hold_personal_data_all_expire() {
    let server = RedisServer::new();
    let cfg = config(StoreBackend::Redis, Some(server.url()), "ttl");
    let store = Store::connect(&cfg).await.unwrap();
    exercise_every_operation(&store).await;
    assert_eq!(
        keys_without_ttl(&[server.url()], &cfg.key_prefix),
        expected_forever(&cfg.key_prefix)
    );
}

#[tokio::test]
async fn cluster_keys_that_can_hold_personal_data_all_expire() {
    let cluster = shared(&CLUSTER, RedisCluster::new);
    let cfg = config(StoreBackend::RedisCluster, Some(cluster.url()), "ttl");
    let store = Store::connect(&cfg).await.unwrap();
    exercise_every_operation(&store).await;
    let urls: Vec<String> = cluster.nodes().iter().map(RedisServer::url).collect();
    assert_eq!(
        keys_without_ttl(&urls, &cfg.key_prefix),
        expected_forever(&cfg.key_prefix)
    );
}
