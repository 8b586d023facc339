//! Concurrent upload-writing requests per user in this instance: a keyed counter with
//! RAII slots. Keys with nothing in flight are removed, so the map stays small.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The counters.
pub struct Concurrency {
    max: usize,
    map: Arc<Mutex<HashMap<String, usize>>>,
}

/// One request in flight; leaves on drop.
pub struct Slot {
    map: Arc<Mutex<HashMap<String, usize>>>,
    key: String,
}

fn lock(m: &Mutex<HashMap<String, usize>>) -> MutexGuard<'_, HashMap<String, usize>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Concurrency {
    /// `max == 0`: unlimited (still counted, never refused).
    pub fn new(max: usize) -> Self {
        Self {
            max,
            map: Arc::default(),
        }
    }

    /// Takes a slot for `key`, or `None` when `max` are taken.
    pub fn enter(&self, key: &str) -> Option<Slot> {
        if self.max == 0 {
            return Some(Slot {
                map: Arc::default(),
                key: String::new(),
            });
        }
        let mut map = lock(&self.map);
        let n = map.entry(key.to_owned()).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Slot {
            map: self.map.clone(),
            key: key.to_owned(),
        })
    }

    /// Requests of `key` in flight.
    pub fn in_flight(&self, key: &str) -> usize {
        lock(&self.map).get(key).copied().unwrap_or(0)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = lock(&self.map);
        if let Some(n) = map.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_per_key_and_released() {
        let c = Concurrency::new(2);
        let a1 = c.enter("a");
        let a2 = c.enter("a");
        assert!(a1.is_some() && a2.is_some());
        assert!(c.enter("a").is_none(), "third slot of a refused");
        assert!(c.enter("b").is_some(), "other users unaffected");
        drop(a1);
        assert_eq!(c.in_flight("a"), 1);
        assert!(c.enter("a").is_some());
        drop(a2);
        assert!(Concurrency::new(0).enter("a").is_some());
    }
}
