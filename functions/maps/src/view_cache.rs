//! Map views computed once per few seconds. A live map is polled by hundreds of users, mostly
//! on the same few views (the national cluster, a city); each computation aggregates every
//! active ticket in view. Identical requests — same caller visibility, same path and query —
//! within the TTL share one body, and concurrent identical misses wait for the first one
//! (single flight) instead of running the same aggregate side by side. The staleness this
//! allows is what the responses already promise: their `Cache-Control: max-age` is the same TTL.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use nexus_shared::ApiResult;

/// Views kept at most; when full, expired ones are dropped (and, failing that, all).
const CAPACITY: usize = 512;

type Slot = Arc<tokio::sync::Mutex<Option<(Instant, Bytes)>>>;

#[derive(Default)]
pub struct ViewCache {
    slots: Mutex<HashMap<String, Slot>>,
}

impl ViewCache {
    /// The body cached under `key` if younger than `ttl`, else `compute`'s (then cached).
    /// A zero `ttl` turns the cache off.
    pub async fn get_or_compute<F, Fut>(&self, key: String, ttl: Duration, compute: F) -> ApiResult<Bytes>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ApiResult<Bytes>>,
    {
        if ttl.is_zero() {
            return compute().await;
        }
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if slots.len() >= CAPACITY && !slots.contains_key(&key) {
                slots.retain(|_, slot| {
                    slot.try_lock().is_ok_and(|s| s.as_ref().is_some_and(|(at, _)| at.elapsed() < ttl))
                });
                if slots.len() >= CAPACITY {
                    slots.clear();
                }
            }
            slots.entry(key).or_default().clone()
        };
        let mut entry = slot.lock().await;
        if let Some((at, body)) = entry.as_ref().filter(|(at, _)| at.elapsed() < ttl) {
            tracing::debug!(age_ms = at.elapsed().as_millis() as u64, "map view from cache");
            return Ok(body.clone());
        }
        let body = compute().await?;
        *entry = Some((Instant::now(), body.clone()));
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn identical_views_share_one_computation_until_they_expire() {
        let cache = Arc::new(ViewCache::default());
        let computed = Arc::new(AtomicUsize::new(0));
        let view = |cache: Arc<ViewCache>, computed: Arc<AtomicUsize>, key: &'static str, ttl: Duration| async move {
            cache
                .get_or_compute(key.into(), ttl, || async {
                    computed.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    Ok(Bytes::from(key))
                })
                .await
                .unwrap()
        };
        // Ten concurrent identical requests: one computation.
        let ttl = Duration::from_millis(300);
        let all = (0..10).map(|_| tokio::spawn(view(cache.clone(), computed.clone(), "national", ttl)));
        for body in futures_join(all).await {
            assert_eq!(body, Bytes::from("national"));
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        // Another view is its own entry; an expired one is computed again; ttl 0 never caches.
        view(cache.clone(), computed.clone(), "city", ttl).await;
        assert_eq!(computed.load(Ordering::SeqCst), 2);
        tokio::time::sleep(ttl).await;
        view(cache.clone(), computed.clone(), "national", ttl).await;
        assert_eq!(computed.load(Ordering::SeqCst), 3);
        view(cache.clone(), computed.clone(), "national", Duration::ZERO).await;
        assert_eq!(computed.load(Ordering::SeqCst), 4);
    }

    async fn futures_join(handles: impl Iterator<Item = tokio::task::JoinHandle<Bytes>>) -> Vec<Bytes> {
        let mut out = Vec::new();
        for handle in handles {
            out.push(handle.await.unwrap());
        }
        out
    }
}
