//! Dense matrix products for the encoder, in safe Rust.
//!
//! The right-hand matrices are the model's weights, fixed at load: they are stored once in
//! panels of [`NR`] columns (each panel `k × NR`, row after row), so a product streams each
//! panel sequentially while a tile of `MR × NR` results stays in registers. Written with
//! fixed-size arrays so that the compiler unrolls and vectorises the tile.

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
        let (k, n) = (self.k, self.n);
        assert_eq!(a.len(), m * k, "left matrix of {m}×{k}");
        assert_eq!(c.len(), m * n, "result of {m}×{n}");
        for (p, panel) in self.panels.chunks_exact(k * NR).enumerate() {
            let mut i = 0;
            while i + MR <= m {
                let rows: [&[f32]; MR] = std::array::from_fn(|r| &a[(i + r) * k..(i + r + 1) * k]);
                let tile = tile4(rows, panel);
                for (r, t) in tile.iter().enumerate() {
                    c[(i + r) * n + p * NR..(i + r) * n + (p + 1) * NR].copy_from_slice(t);
                }
                i += MR;
            }
            while i < m {
                let t = tile1(&a[i * k..(i + 1) * k], panel);
                c[i * n + p * NR..i * n + (p + 1) * NR].copy_from_slice(&t);
                i += 1;
            }
        }
    }
}

#[inline]
fn tile4(rows: [&[f32]; MR], panel: &[f32]) -> [[f32; NR]; MR] {
    let mut acc = [[0f32; NR]; MR];
    for (kk, b) in panel.chunks_exact(NR).enumerate() {
        let b: &[f32; NR] = b.try_into().expect("panel row");
        for r in 0..MR {
            let x = rows[r][kk];
            for j in 0..NR {
                acc[r][j] += x * b[j];
            }
        }
    }
    acc
}

#[inline]
fn tile1(row: &[f32], panel: &[f32]) -> [f32; NR] {
    let mut acc = [0f32; NR];
    for (x, b) in row.iter().zip(panel.chunks_exact(NR)) {
        for j in 0..NR {
            acc[j] += x * b[j];
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

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
