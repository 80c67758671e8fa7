//! The Redis cluster store on a real three-primary cluster, beyond the
//! store suite: a primary killed mid-run loses no session (the sessions of
//! the other primaries' slots keep working throughout, the ones of its
//! slots answer "unavailable", never "gone", and are all there when it
//! comes back), a slot moved to another primary while in use is followed
//! (`ASK` while the slot migrates, `MOVED` after), and so is a failover to
//! a replica (with three primaries and three replicas: every replicated
//! session is found on the new primary).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scalekit_core::session::{RedisClusterStore, SessionStore, StoreError};

use crate::common::redis::RedisCluster;

const MINUTE: Duration = Duration::from_secs(60);

async fn store(cluster: &RedisCluster) -> Arc<RedisClusterStore> {
    let seeds = cluster.urls();
    Arc::new(
        RedisClusterStore::connect(&seeds.split(',').collect::<Vec<_>>())
            .await
            .unwrap()
            .timeout(Duration::from_secs(1)),
    )
}

/// Which primary holds each session (by its key).
fn placement(cluster: &RedisCluster) -> HashMap<String, usize> {
    let mut placed = HashMap::new();
    for (i, node) in cluster.nodes.iter().enumerate() {
        if !cluster.is_primary(i) {
            continue;
        }
        for key in node.keys("scalekit:*session:*") {
            let id = key.rsplit("session:").next().unwrap().to_owned();
            placed.insert(id, i);
        }
    }
    placed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_killed_mid_run_loses_no_session() {
    let mut cluster = RedisCluster::start();
    let store = store(&cluster).await;
    let ids: Vec<String> = (0..48).map(|i| format!("session-{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let user = format!("usr_{}", i % 4);
        assert_eq!(store.create(id, &user, b"sealed-1", MINUTE).await, Ok(1));
    }
    // The victim holds other slots than the survivors' sessions.
    let placed = placement(&cluster);
    assert_eq!(placed.len(), ids.len(), "every session is stored once");
    let victim = 0;
    let (on_victim, survivors): (Vec<&String>, Vec<&String>) =
        ids.iter().partition(|id| placed[id.as_str()] == victim);
    assert!(!on_victim.is_empty() && !survivors.is_empty());

    // Writers on the survivors' sessions run through the kill and past the
    // cluster's failure detection (1 s node timeout).
    let survivors: Vec<String> = survivors.into_iter().cloned().collect();
    let deadline = Instant::now() + Duration::from_millis(3500);
    let writers = {
        let (store, survivors) = (store.clone(), survivors.clone());
        tokio::spawn(async move {
            let mut versions: HashMap<String, u64> =
                survivors.iter().map(|id| (id.clone(), 1)).collect();
            let mut rounds = 0;
            while Instant::now() < deadline {
                for id in &survivors {
                    let user = format!(
                        "usr_{}",
                        id.trim_start_matches("session-").parse::<usize>().unwrap() % 4
                    );
                    let expected = versions[id];
                    let payload = format!("sealed-{}", expected + 1);
                    let written = store
                        .replace(id, &user, expected, payload.as_bytes(), MINUTE)
                        .await;
                    assert_eq!(written, Ok(Some(expected + 1)), "{id} in round {rounds}");
                    versions.insert(id.clone(), expected + 1);
                    let loaded = store.load(id).await.unwrap().unwrap();
                    assert_eq!(loaded.version, expected + 1);
                }
                rounds += 1;
            }
            (versions, rounds)
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.nodes[victim].stop();
    let (versions, rounds) = writers.await.unwrap();
    assert!(
        rounds >= 3,
        "the writers ran before and after the kill: {rounds}"
    );

    // The victim's sessions are unavailable, not gone (a request answers
    // 503, the user stays signed in); the survivors' are all there.
    for id in &on_victim {
        assert_eq!(store.load(id).await, Err(StoreError::Unavailable), "{id}");
    }
    for (id, version) in &versions {
        assert_eq!(store.load(id).await.unwrap().unwrap().version, *version);
    }

    // The primary comes back: every one of its sessions is there, as it was,
    // and writable through the same store.
    cluster.nodes[victim].restart();
    cluster.wait_until_ok();
    let back = Instant::now() + Duration::from_secs(10);
    for id in &on_victim {
        let stored = loop {
            match store.load(id).await {
                Ok(stored) => break stored,
                Err(err) => {
                    assert!(Instant::now() < back, "{id} still {err:?}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        let stored = stored.expect("the session is still there");
        assert_eq!(
            (stored.version, stored.sealed.as_slice()),
            (1, &b"sealed-1"[..])
        );
    }
    for (i, id) in ids.iter().enumerate() {
        let user = format!("usr_{}", i % 4);
        let version = versions.get(id).copied().unwrap_or(1);
        assert_eq!(
            store.replace(id, &user, version, b"after", MINUTE).await,
            Ok(Some(version + 1))
        );
    }
    // Sign-out everywhere reaches every bucket again.
    let removed: u64 = {
        let mut total = 0;
        for user in 0..4 {
            total += store.remove_user(&format!("usr_{user}")).await.unwrap();
        }
        total
    };
    assert_eq!(removed, ids.len() as u64);
    assert!(cluster.keys("scalekit:*session:*").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_moved_to_another_primary_is_followed() {
    let cluster = RedisCluster::start();
    let store = store(&cluster).await;
    assert_eq!(store.create("moving", "usr_m", b"one", MINUTE).await, Ok(1));
    assert!(store.try_lock("moving", MINUTE).await.unwrap().is_some());
    let placed = placement(&cluster);
    let from = placed["moving"];
    let to = (from + 1) % cluster.nodes.len();
    let (source, target) = (&cluster.nodes[from], &cluster.nodes[to]);
    let key = source.keys("scalekit:*session:moving").pop().unwrap();
    let slot = String::from_utf8_lossy(&source.cli(&["CLUSTER", "KEYSLOT", &key]))
        .trim()
        .to_owned();
    let node_id = |node: &crate::common::redis::RedisServer| {
        String::from_utf8_lossy(&node.cli(&["CLUSTER", "MYID"]))
            .trim()
            .to_owned()
    };
    let (source_id, target_id) = (node_id(source), node_id(target));

    // The slot starts migrating: its keys still on the source, which serves
    // them.
    target.cli(&["CLUSTER", "SETSLOT", &slot, "IMPORTING", &source_id]);
    source.cli(&["CLUSTER", "SETSLOT", &slot, "MIGRATING", &target_id]);
    assert_eq!(
        store.replace("moving", "usr_m", 1, b"two", MINUTE).await,
        Ok(Some(2))
    );
    // The keys move to the target; the slot is still migrating: the
    // source answers `ASK` for keys it no longer holds, and the target
    // serves them.
    let keys = String::from_utf8_lossy(&source.cli(&["CLUSTER", "GETKEYSINSLOT", &slot, "100"]))
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert!(
        keys.len() >= 3,
        "the session, its lock and its index: {keys:?}"
    );
    let port = target.port.to_string();
    let mut migrate = vec!["MIGRATE", "127.0.0.1", &port, "", "0", "5000", "KEYS"];
    migrate.extend(keys.iter().map(String::as_str));
    source.cli(&migrate);
    assert!(source.keys(&key).is_empty());
    let stored = store.load("moving").await.unwrap().unwrap();
    assert_eq!((stored.version, stored.sealed.as_slice()), (2, &b"two"[..]));
    assert_eq!(
        store.replace("moving", "usr_m", 2, b"three", MINUTE).await,
        Ok(Some(3))
    );
    assert_eq!(
        store.try_lock("moving", MINUTE).await,
        Ok(None),
        "the lock moved too"
    );
    // The slot is the target's: `MOVED` for the next request.
    for node in &cluster.nodes {
        node.cli(&["CLUSTER", "SETSLOT", &slot, "NODE", &target_id]);
    }
    assert_eq!(target.keys(&key), vec![key.clone()]);
    let stored = store.load("moving").await.unwrap().unwrap();
    assert_eq!(
        (stored.version, stored.sealed.as_slice()),
        (3, &b"three"[..])
    );
    assert_eq!(
        store.replace("moving", "usr_m", 3, b"four", MINUTE).await,
        Ok(Some(4))
    );
    assert_eq!(store.remove_user("usr_m").await, Ok(1));
    assert_eq!(store.load("moving").await, Ok(None));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_to_a_replica_is_followed_and_loses_no_replicated_session() {
    let mut cluster = RedisCluster::start_with_replicas(1);
    let store = store(&cluster).await;
    let ids: Vec<String> = (0..24).map(|i| format!("session-{i}")).collect();
    for id in &ids {
        assert_eq!(store.create(id, "usr_f", b"sealed-1", MINUTE).await, Ok(1));
    }
    cluster.wait_for_replication();
    // A primary holding some of the sessions goes down; its replica takes
    // over after the node timeout.
    let placed = placement(&cluster);
    let victim = (0..cluster.nodes.len())
        .find(|&i| cluster.is_primary(i) && placed.values().any(|&n| n == i))
        .unwrap();
    let moved: Vec<&String> = ids
        .iter()
        .filter(|id| placed[id.as_str()] == victim)
        .collect();
    cluster.nodes[victim].stop();
    let started = Instant::now();
    // Every session is found again, as it was, through the same store.
    for id in &ids {
        let stored = loop {
            match store.load(id).await {
                Ok(stored) => break stored,
                Err(err) => {
                    assert!(
                        started.elapsed() < Duration::from_secs(20),
                        "{id} still {err:?}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        };
        let stored = stored.expect("the session survives the failover");
        assert_eq!(
            (stored.version, stored.sealed.as_slice()),
            (1, &b"sealed-1"[..])
        );
        assert_eq!(
            store.replace(id, "usr_f", 1, b"sealed-2", MINUTE).await,
            Ok(Some(2))
        );
    }
    assert!(!moved.is_empty());
    // The promoted replica holds the victim's sessions now.
    let promoted = placement(&cluster);
    for id in &moved {
        assert_ne!(promoted[id.as_str()], victim);
    }
    assert_eq!(store.remove_user("usr_f").await, Ok(ids.len() as u64));
}
