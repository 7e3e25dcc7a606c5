use std::fmt;
use std::str::FromStr;

/// A 256-bit PDQ hash.
///
/// Bit `k` (0 to 255) is bit `k` of the reference implementation: its hex form is the 256-bit number
/// with bit 0 as the lowest bit of the last hex digit. `words[0]` holds the first sixteen hex digits,
/// so the hex form and the words read in the same order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash256 {
    pub words: [u64; 4],
}

/// Why a text is not a PDQ hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseHashError {
    #[error("a PDQ hash is 64 hex digits, this has {0} characters")]
    Length(usize),
    #[error("a PDQ hash is 64 hex digits, {0:?} is not one")]
    Digit(char),
}

impl Hash256 {
    pub const BITS: u32 = 256;

    pub const fn from_words(words: [u64; 4]) -> Self {
        Self { words }
    }

    /// Bit `k` in the reference's numbering (0 is the lowest bit of the last hex digit).
    pub fn bit(&self, k: usize) -> bool {
        assert!(k < 256, "a PDQ hash has 256 bits");
        (self.words[3 - k / 64] >> (k % 64)) & 1 == 1
    }

    pub fn set_bit(&mut self, k: usize, on: bool) {
        assert!(k < 256, "a PDQ hash has 256 bits");
        let mask = 1u64 << (k % 64);
        let word = &mut self.words[3 - k / 64];
        if on {
            *word |= mask;
        } else {
            *word &= !mask;
        }
    }

    /// The Hamming distance: how many of the 256 bits differ.
    #[inline]
    pub fn distance(&self, other: &Hash256) -> u32 {
        (self.words[0] ^ other.words[0]).count_ones()
            + (self.words[1] ^ other.words[1]).count_ones()
            + (self.words[2] ^ other.words[2]).count_ones()
            + (self.words[3] ^ other.words[3]).count_ones()
    }

    /// The `i`-th of sixteen 16-bit slices (0 is the first four hex digits).
    #[inline]
    pub fn slice16(&self, i: usize) -> u16 {
        (self.words[i / 4] >> (48 - 16 * (i % 4))) as u16
    }

    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for word in self.words {
            write!(f, "{word:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({self})")
    }
}

impl FromStr for Hash256 {
    type Err = ParseHashError;

    /// Reads 64 hex digits, either case; surrounding whitespace is not part of a hash.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let count = text.chars().count();
        // A wrong digit is named when the length is right, or when it is no hex digit in any
        // alphabet a hash could be written in; otherwise the length is what is wrong.
        if let Some(bad) = text.chars().find(|c| !c.is_ascii_hexdigit())
            && (count == 64 || !bad.is_ascii())
        {
            return Err(ParseHashError::Digit(bad));
        }
        if count != 64 {
            return Err(ParseHashError::Length(count));
        }
        let mut words = [0u64; 4];
        for (i, c) in text.chars().enumerate() {
            let digit = c.to_digit(16).ok_or(ParseHashError::Digit(c))?;
            words[i / 16] = (words[i / 16] << 4) | u64::from(digit);
        }
        Ok(Self { words })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIDGE: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    #[test]
    fn hex_round_trips_in_the_reference_order() {
        let hash: Hash256 = BRIDGE.parse().unwrap();
        assert_eq!(hash.to_hex(), BRIDGE);
        assert_eq!(hash.words[0], 0xf8f8f0cee0f4a84f);
        // The last hex digit is 2: bit 1 set, bit 0 clear.
        assert!(hash.bit(1));
        assert!(!hash.bit(0));
        // The first hex digit is f: bits 252 to 255 set.
        assert!((252..256).all(|k| hash.bit(k)));
        assert_eq!(hash.slice16(0), 0xf8f8);
        assert_eq!(hash.slice16(15), 0x9b22);
        assert_eq!(BRIDGE.to_uppercase().parse::<Hash256>().unwrap(), hash);
    }

    #[test]
    fn distance_counts_differing_bits() {
        let a: Hash256 = BRIDGE.parse().unwrap();
        let mut b = a;
        assert_eq!(a.distance(&b), 0);
        for k in [0, 63, 64, 200, 255] {
            b.set_bit(k, !b.bit(k));
        }
        assert_eq!(a.distance(&b), 5);
        assert_eq!(
            Hash256::default().distance(&Hash256::from_words([u64::MAX; 4])),
            256
        );
    }

    #[test]
    fn bad_text_names_what_is_wrong() {
        assert_eq!("abc".parse::<Hash256>(), Err(ParseHashError::Length(3)));
        let mut wrong = BRIDGE.to_string();
        wrong.replace_range(10..11, "g");
        assert_eq!(wrong.parse::<Hash256>(), Err(ParseHashError::Digit('g')));
        assert!(format!("{BRIDGE}0").parse::<Hash256>().is_err());
        assert_eq!(
            format!("{}é", &BRIDGE[..63]).parse::<Hash256>(),
            Err(ParseHashError::Digit('é'))
        );
    }
}
