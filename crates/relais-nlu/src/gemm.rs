//! Dense matrix products for the encoder.
//!
//! The right-hand matrices are the model's weights, fixed at load: they are stored once in
//! panels of [`NR`] columns (each panel `k × NR`, row after row), so a product streams each
//! panel sequentially while a tile of `MR × NR` results stays in registers. Written with
//! fixed-size arrays so that the compiler unrolls and vectorises the tile.
//!
//! The same code is compiled twice: for the baseline x86-64 (SSE2), and with AVX2 and FMA
//! for the processors that have them (found at run time), about twice as fast. Fused
//! multiply-adds round once instead of twice, so vectors differ in their last bits
//! between the two kinds of processor (the reference vectors match both to a cosine of
//! 0.9999); on one machine every result is the same every time.

/// Rows of the left matrix computed together.
const MR: usize = 4;
/// Columns of a panel.
pub const NR: usize = 16;

/// A `k × n` matrix stored as panels of `NR` columns (`n` is a multiple of `NR`).
#[derive(Debug, Clone)]
pub struct Packed {
    pub k: usize,
    pub n: usize,
    panels: Vec<f32>,
}

impl Packed {
    /// Packs a row-major `k × n` matrix.
    pub fn new(k: usize, n: usize, rows: &[f32]) -> Packed {
        assert_eq!(rows.len(), k * n, "matrix of {k}×{n}");
        assert_eq!(n % NR, 0, "columns a multiple of {NR}");
        let mut panels = Vec::with_capacity(k * n);
        for p in 0..n / NR {
            for r in 0..k {
                panels.extend_from_slice(&rows[r * n + p * NR..r * n + (p + 1) * NR]);
            }
        }
        Packed { k, n, panels }
    }

    pub fn heap_bytes(&self) -> usize {
        4 * self.panels.capacity()
    }

    /// `c = a × self`, with `a` row-major `m × k` and `c` row-major `m × n`.
    pub fn product(&self, a: &[f32], m: usize, c: &mut [f32]) {
        assert_eq!(a.len(), m * self.k, "left matrix of {m}×{}", self.k);
        assert_eq!(c.len(), m * self.n, "result of {m}×{}", self.n);
        #[cfg(target_arch = "x86_64")]
        if fused::available() {
            return fused::product(self, a, m, c);
        }
        product::<Plain>(self, a, m, c);
    }
}

/// How a tile accumulates `acc + x × b`.
trait Mac {
    fn mac(acc: f32, x: f32, b: f32) -> f32;
}

struct Plain;

impl Mac for Plain {
    #[inline(always)]
    fn mac(acc: f32, x: f32, b: f32) -> f32 {
        acc + x * b
    }
}

#[inline(always)]
fn product<M: Mac>(w: &Packed, a: &[f32], m: usize, c: &mut [f32]) {
    let (k, n) = (w.k, w.n);
    for (p, panel) in w.panels.chunks_exact(k * NR).enumerate() {
        let mut i = 0;
        while i + MR <= m {
            let rows: [&[f32]; MR] = std::array::from_fn(|r| &a[(i + r) * k..(i + r + 1) * k]);
            let tile = tile4::<M>(rows, panel);
            for (r, t) in tile.iter().enumerate() {
                c[(i + r) * n + p * NR..(i + r) * n + (p + 1) * NR].copy_from_slice(t);
            }
            i += MR;
        }
        while i < m {
            let t = tile1::<M>(&a[i * k..(i + 1) * k], panel);
            c[i * n + p * NR..i * n + (p + 1) * NR].copy_from_slice(&t);
            i += 1;
        }
    }
}

#[inline(always)]
fn tile4<M: Mac>(rows: [&[f32]; MR], panel: &[f32]) -> [[f32; NR]; MR] {
    let mut acc = [[0f32; NR]; MR];
    for (kk, b) in panel.chunks_exact(NR).enumerate() {
        let b: &[f32; NR] = b.try_into().expect("panel row");
        for r in 0..MR {
            let x = rows[r][kk];
            for j in 0..NR {
                acc[r][j] = M::mac(acc[r][j], x, b[j]);
            }
        }
    }
    acc
}

#[inline(always)]
fn tile1<M: Mac>(row: &[f32], panel: &[f32]) -> [f32; NR] {
    let mut acc = [0f32; NR];
    for (x, b) in row.iter().zip(panel.chunks_exact(NR)) {
        for j in 0..NR {
            acc[j] = M::mac(acc[j], *x, b[j]);
        }
    }
    acc
}

/// The product compiled with AVX2 and FMA, for the processors that have them.
#[cfg(target_arch = "x86_64")]
mod fused {
    use super::{Mac, Packed, product as generic};
    use std::sync::OnceLock;

    struct Fused;

    impl Mac for Fused {
        #[inline(always)]
        fn mac(acc: f32, x: f32, b: f32) -> f32 {
            x.mul_add(b, acc)
        }
    }

    pub(super) fn available() -> bool {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"))
    }

    #[target_feature(enable = "avx2,fma")]
    fn with_avx2(w: &Packed, a: &[f32], m: usize, c: &mut [f32]) {
        generic::<Fused>(w, a, m, c);
    }

    pub(super) fn product(w: &Packed, a: &[f32], m: usize, c: &mut [f32]) {
        debug_assert!(available());
        // The one `unsafe` of the crate: calling code compiled for AVX2 and FMA is sound
        // only on a processor that has them, which `available` checked at run time.
        #[allow(unsafe_code)]
        // SAFETY: only called when `available()` is true (see `Packed::product`).
        unsafe {
            with_avx2(w, a, m, c)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_compilations_give_the_plain_product() {
        let (m, k, n) = (9, 37, 48);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let w = Packed::new(k, n, &b);
        let mut plain = vec![0f32; m * n];
        product::<Plain>(&w, &a, m, &mut plain);
        let mut any = vec![0f32; m * n];
        w.product(&a, m, &mut any);
        for (x, y) in plain.iter().zip(&any) {
            assert!((x - y).abs() < 1e-4, "{x} {y}");
        }
    }

    #[test]
    fn the_product_is_the_plain_one() {
        let (m, k, n) = (7, 5, 32);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c = vec![0f32; m * n];
        Packed::new(k, n, &b).product(&a, m, &mut c);
        for i in 0..m {
            for j in 0..n {
                let want: f32 = (0..k).map(|t| a[i * k + t] * b[t * n + j]).sum();
                assert!((c[i * n + j] - want).abs() < 1e-5, "({i},{j})");
            }
        }
    }
}
