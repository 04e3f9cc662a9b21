//! Which external ids a file has used so far, in bounded memory.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};

/// Remembers each external id by a 128-bit fingerprint (two independently keyed SipHash
/// values) and the line it first appeared on: 24 bytes an id, whatever its length. With
/// random keys, a false "already appears" needs a 128-bit collision: not a practical risk.
pub(crate) struct SeenIds {
    keys: [RandomState; 2],
    first_lines: HashMap<u128, u64>,
}

impl SeenIds {
    pub(crate) fn new() -> Self {
        Self { keys: [RandomState::new(), RandomState::new()], first_lines: HashMap::new() }
    }

    /// Records `id` on `line`; if it was seen before, returns the line it first appeared on.
    pub(crate) fn first_line(&mut self, id: &str, line: u64) -> Option<u64> {
        let fingerprint = (u128::from(self.hash(0, id)) << 64) | u128::from(self.hash(1, id));
        match self.first_lines.get(&fingerprint) {
            Some(&first) => Some(first),
            None => {
                self.first_lines.insert(fingerprint, line);
                None
            }
        }
    }

    fn hash(&self, which: u8, id: &str) -> u64 {
        let mut hasher = self.keys[usize::from(which)].build_hasher();
        // Domain-separate the two halves even if the two random keys ever coincided.
        hasher.write_u8(which);
        id.hash(&mut hasher);
        hasher.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_first_line() {
        let mut seen = SeenIds::new();
        assert_eq!(seen.first_line("A-1", 2), None);
        assert_eq!(seen.first_line("A-2", 3), None);
        assert_eq!(seen.first_line("A-1", 7), Some(2));
        assert_eq!(seen.first_line("A-1", 9), Some(2));
        assert_eq!(seen.first_line("a-1", 10), None);
    }
}
