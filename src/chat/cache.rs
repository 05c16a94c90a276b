//! The question → SQL cache.

use std::collections::{HashMap, VecDeque};

/// A bounded question → SQL cache, oldest out first.
#[derive(Debug, Default)]
pub(super) struct Cache {
    pub(super) map: HashMap<String, String>,
    pub(super) order: VecDeque<String>,
}

impl Cache {
    pub(super) fn get(&self, key: &str) -> Option<String> {
        self.map.get(key).cloned()
    }

    pub(super) fn put(&mut self, key: String, sql: String, capacity: usize) {
        if capacity == 0 {
            return;
        }
        if self.map.insert(key.clone(), sql).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    pub(super) fn remove(&mut self, key: &str) {
        self.map.remove(key);
        self.order.retain(|k| k != key);
    }
}
