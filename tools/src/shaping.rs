//! A rate cap shared by every connection of one direction, as a link's bandwidth is: each
//! transfer reserves its bytes' time on the link and sleeps until its turn has passed.

use std::{
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

/// Bytes per second through one direction (0: no cap).
pub struct Limiter {
    bytes_per_second: u64,
    /// When the link is free again.
    free_at: Mutex<Instant>,
}

impl Limiter {
    /// A cap of `bytes_per_second` (0: none).
    pub fn new(bytes_per_second: u64) -> Limiter {
        Limiter {
            bytes_per_second,
            free_at: Mutex::new(Instant::now()),
        }
    }

    /// Waits until `bytes` more may pass.
    pub fn take(&self, bytes: u64) {
        if self.bytes_per_second == 0 {
            return;
        }
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second as f64);
        let until = {
            let mut free_at = self.free_at.lock().unwrap_or_else(|p| p.into_inner());
            // An idle link does not bank time for a later burst.
            let start = (*free_at).max(Instant::now());
            *free_at = start + cost;
            *free_at
        };
        let now = Instant::now();
        if until > now {
            thread::sleep(until - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cap_spreads_bytes_over_time_across_threads() {
        let limiter = Limiter::new(1_000_000);
        let started = Instant::now();
        thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    for _ in 0..10 {
                        limiter.take(5_000);
                    }
                });
            }
        });
        // 200 KB at 1 MB/s: 0.2 s, whichever thread sent them.
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(190), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        let unlimited = Limiter::new(0);
        let started = Instant::now();
        unlimited.take(1 << 30);
        assert!(started.elapsed() < Duration::from_millis(50));
    }
}
