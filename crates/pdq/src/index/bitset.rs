/// A growable set of positions, one bit each.
#[derive(Clone, Default)]
pub(super) struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    /// Whether `position` is in the set; positions past the end are not.
    #[inline]
    pub(super) fn get(&self, position: u32) -> bool {
        let position = position as usize;
        self.words
            .get(position / 64)
            .is_some_and(|word| word >> (position % 64) & 1 == 1)
    }

    pub(super) fn set(&mut self, position: u32, on: bool) {
        let position = position as usize;
        if position / 64 >= self.words.len() {
            if !on {
                return;
            }
            self.words.resize(position / 64 + 1, 0);
        }
        let mask = 1u64 << (position % 64);
        if on {
            self.words[position / 64] |= mask;
        } else {
            self.words[position / 64] &= !mask;
        }
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.words.capacity() * size_of::<u64>()
    }
}
