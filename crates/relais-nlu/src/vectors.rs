//! Sentence vectors as the rest of Relais uses them: stored in 8 bits (one scale per
//! vector) and cached by text.
//!
//! Every vector, fresh or cached, goes through the same 8-bit rounding, so a workspace
//! trains to the same weights whether its examples were encoded now or read from the
//! cache, and a message is classified the same way on a cold or a warm server.
//! The cache is a map in memory with a plain byte format ([`Cache::to_bytes`],
//! [`Cache::extend_from_bytes`]); where those bytes are kept is the caller's business.

use crate::encoder::{DIM, Encoder};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// A sentence vector in 8 bits: `value = q × scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantized {
    pub q: [i8; DIM],
    pub scale: f32,
}

impl Quantized {
    pub fn new(v: &[f32; DIM]) -> Quantized {
        let max = v.iter().fold(0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        Quantized {
            q: v.map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8),
            scale,
        }
    }

    pub fn vector(&self) -> [f32; DIM] {
        self.q.map(|q| f32::from(q) * self.scale)
    }
}

/// The key of a text: the first 16 bytes of its SHA-256.
pub type Key = [u8; 16];

pub fn key(text: &str) -> Key {
    let h = Sha256::digest(text.as_bytes());
    h[..16].try_into().expect("16 bytes")
}

const RECORD: usize = 16 + 4 + DIM;
const MAGIC: &[u8; 8] = b"RLNLUC\0\x01";

/// Vectors already computed, by text.
#[derive(Debug, Default)]
pub struct Cache {
    map: HashMap<Key, Quantized>,
    /// Entries added since the last [`Cache::take_new`].
    fresh: Vec<Key>,
}

/// How a batch of vectors was obtained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lookup {
    pub texts: usize,
    pub cached: usize,
}

impl Cache {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Reads entries written by [`Cache::to_bytes`]; a torn last record is ignored, a
    /// file that is not a cache is an error.
    pub fn extend_from_bytes(&mut self, bytes: &[u8]) -> Result<usize, String> {
        if bytes.is_empty() {
            return Ok(0);
        }
        let body = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or("not a Relais sentence-vector cache (bad magic)")?;
        let mut n = 0;
        for rec in body.chunks_exact(RECORD) {
            let key: Key = rec[..16].try_into().expect("16 bytes");
            let scale = f32::from_le_bytes(rec[16..20].try_into().expect("4 bytes"));
            let q: [i8; DIM] = std::array::from_fn(|i| rec[20 + i] as i8);
            self.map.insert(key, Quantized { q, scale });
            n += 1;
        }
        Ok(n)
    }

    /// The whole cache as bytes, header included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut keys: Vec<&Key> = self.map.keys().collect();
        keys.sort_unstable();
        let mut out = MAGIC.to_vec();
        for k in keys {
            record(&mut out, k, &self.map[k]);
        }
        out
    }

    /// The records added since the last call, to append to a file that already has the
    /// header (or the header and them, when `with_header`).
    pub fn take_new(&mut self, with_header: bool) -> Vec<u8> {
        let mut out = if with_header {
            MAGIC.to_vec()
        } else {
            Vec::new()
        };
        for k in std::mem::take(&mut self.fresh) {
            if let Some(v) = self.map.get(&k) {
                record(&mut out, &k, v);
            }
        }
        out
    }

    /// The vector of each text: from the cache, else encoded (on every core) and kept.
    pub fn vectors<S: AsRef<str> + Sync>(
        &mut self,
        encoder: &Encoder,
        texts: &[S],
    ) -> (Vec<[f32; DIM]>, Lookup) {
        let keys: Vec<Key> = texts.iter().map(|t| key(t.as_ref())).collect();
        let mut missing: Vec<usize> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            if !self.map.contains_key(k) && !missing.iter().any(|j| keys[*j] == *k) {
                missing.push(i);
            }
        }
        let fresh = encode_parallel(
            encoder,
            &missing
                .iter()
                .map(|i| texts[*i].as_ref())
                .collect::<Vec<_>>(),
        );
        for (i, v) in missing.iter().zip(fresh) {
            self.map.insert(keys[*i], Quantized::new(&v));
            self.fresh.push(keys[*i]);
        }
        let out = keys.iter().map(|k| self.map[k].vector()).collect();
        (
            out,
            Lookup {
                texts: texts.len(),
                cached: texts.len() - missing.len(),
            },
        )
    }
}

fn record(out: &mut Vec<u8>, k: &Key, v: &Quantized) {
    out.extend_from_slice(k);
    out.extend_from_slice(&v.scale.to_le_bytes());
    out.extend(v.q.iter().map(|q| *q as u8));
}

/// One text's vector as Relais uses it (8-bit rounded), without a cache.
pub fn vector(encoder: &Encoder, text: &str) -> [f32; DIM] {
    Quantized::new(&encoder.encode(text)).vector()
}

/// Encodes on every core, in order.
pub fn encode_parallel(encoder: &Encoder, texts: &[&str]) -> Vec<[f32; DIM]> {
    let threads = crate::threads();
    if texts.len() < 64 || threads == 1 {
        return encoder.encode_all(texts);
    }
    let per = texts.len().div_ceil(threads);
    std::thread::scope(|s| {
        let parts: Vec<_> = texts
            .chunks(per)
            .map(|part| s.spawn(move || encoder.encode_all(part)))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("an encoding thread"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_bits_keep_the_vector_and_round_trip_exactly() {
        let mut v = [0f32; DIM];
        for (i, x) in v.iter_mut().enumerate() {
            *x = ((i as f32) * 0.7).sin() * 0.1;
        }
        let q = Quantized::new(&v);
        let back = q.vector();
        let err = v
            .iter()
            .zip(&back)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err <= q.scale / 2.0 + 1e-7);
        assert_eq!(Quantized::new(&back), q, "rounding twice changes nothing");
    }

    #[test]
    fn the_cache_reads_back_what_it_wrote_and_ignores_a_torn_tail() {
        let mut c = Cache::default();
        let v = Quantized::new(&[0.25; DIM]);
        c.map.insert(key("a"), v);
        c.map.insert(key("b"), v);
        let mut bytes = c.to_bytes();
        bytes.extend_from_slice(&[1, 2, 3]);
        let mut d = Cache::default();
        assert_eq!(d.extend_from_bytes(&bytes), Ok(2));
        assert_eq!(d.map, c.map);
        assert!(d.extend_from_bytes(b"garbage!garbage").is_err());
    }
}
