//! A fast, non-cryptographic hasher for the name tables of an FFI (the Fx hash of rustc): cdef
//! of big headers hashes tens of thousands of short names, where SipHash is measurably slow.
//! The keys come from the program's own declarations, so flooding resistance is not needed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            self.add(tail_word(rest));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.hash
    }
}

/// The 1 to 7 bytes of `rest` as a little-endian word, zero above them: two overlapping reads
/// (of four bytes, or of single bytes) put together, as copying a variable length into a buffer
/// is a call to `memcpy`, for the end of nearly every name hashed.
#[inline]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let lo: [u8; 4] = rest[..4].try_into().unwrap_or([0; 4]);
        let hi: [u8; 4] = rest[n - 4..].try_into().unwrap_or([0; 4]);
        // The overlapping bytes are the same in both: or-ed, they stay.
        u32::from_le_bytes(lo) as u64 | (u32::from_le_bytes(hi) as u64) << ((n - 4) * 8)
    } else {
        rest[0] as u64 | (rest[n / 2] as u64) << (n / 2 * 8) | (rest[n - 1] as u64) << ((n - 1) * 8)
    }
}

pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    #[test]
    fn tail_words_are_the_bytes_zero_padded() {
        let bytes = [0x11u8, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77];
        for n in 1..=7 {
            let mut buf = [0u8; 8];
            buf[..n].copy_from_slice(&bytes[..n]);
            assert_eq!(super::tail_word(&bytes[..n]), u64::from_le_bytes(buf), "{n} bytes");
        }
    }
}
