//! Page loops.
//!
//! - [`numbered`]: offset or page-number paging, where page `n` can be asked for
//!   without knowing page `n-1`. Up to `concurrency` pages are in flight; pages come
//!   out in order, and the loop stops at the first page the fetcher marks as last
//!   (requests already in flight past it are dropped). Bounded by `max_pages`.
//! - Cursor paging (next token or next URL in the answer) is sequential by nature;
//!   connectors write it as a plain loop bounded by [`MAX_PAGES`].

use std::future::Future;

use ferry_core::Result;
use futures::stream::{self, BoxStream, StreamExt};

/// The most pages any loop reads from one stream (a safety bound, not a tuning knob).
pub const MAX_PAGES: u64 = 10_000_000;

/// One fetched page.
#[derive(Debug)]
pub struct Page<T> {
    /// What the page holds.
    pub items: T,
    /// Whether no page follows it.
    pub last: bool,
}

/// Fetches pages `first, first+1, …` with up to `concurrency` in flight, yielding
/// them in order until a page is the last one.
pub fn numbered<T, F, Fut>(
    first: u64,
    concurrency: usize,
    max_pages: u64,
    fetch: F,
) -> BoxStream<'static, Result<Page<T>>>
where
    T: Send + 'static,
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Page<T>>> + Send + 'static,
{
    let end = first.saturating_add(max_pages);
    stream::iter(first..end)
        .map(fetch)
        .buffered(concurrency.max(1))
        .scan(false, move |done, page| {
            if *done {
                return futures::future::ready(None);
            }
            match &page {
                Ok(p) if p.last => *done = true,
                Err(_) => *done = true,
                Ok(_) => {}
            }
            futures::future::ready(Some(page))
        })
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::Error;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    #[tokio::test]
    async fn pages_come_in_order_and_stop_at_the_last() {
        let calls = Arc::new(AtomicU64::new(0));
        let inflight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (c, i, p) = (calls.clone(), inflight.clone(), peak.clone());
        let pages: Vec<u64> = numbered(0, 4, 1000, move |n| {
            let (c, i, p) = (c.clone(), i.clone(), p.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                let now = i.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                // Later pages answer faster, to prove the order is restored.
                tokio::time::sleep(std::time::Duration::from_millis(20 - n.min(19))).await;
                i.fetch_sub(1, Ordering::SeqCst);
                Ok(Page {
                    items: n,
                    last: n == 9,
                })
            }
        })
        .map(|p| p.map(|p| p.items))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_>>()
        .unwrap();
        assert_eq!(pages, (0..10).collect::<Vec<_>>());
        assert!(
            peak.load(Ordering::SeqCst) > 1,
            "pages were fetched concurrently"
        );
        assert!(peak.load(Ordering::SeqCst) <= 4);
        assert!(
            calls.load(Ordering::SeqCst) <= 14,
            "at most 4 fetched past the end"
        );
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_and_max_pages_bounds_it() {
        let out: Vec<Result<Page<u64>>> = numbered(0, 2, 100, |n| async move {
            if n == 3 {
                Err(Error::config("x", "boom"))
            } else {
                Ok(Page {
                    items: n,
                    last: false,
                })
            }
        })
        .collect()
        .await;
        assert_eq!(out.len(), 4);
        assert!(out[3].is_err());
        let bounded = numbered(0, 2, 5, |n| async move {
            Ok(Page {
                items: n,
                last: false,
            })
        })
        .count()
        .await;
        assert_eq!(bounded, 5);
    }
}
