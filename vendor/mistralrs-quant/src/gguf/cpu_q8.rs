//! rxguide patch 8: int8 prompt matmul for Q8_0 weights on x86-64 CPUs with
//! AVX-512 VNNI.
//!
//! Patch 4 runs a prompt's matmuls as F32 GEMMs on a dequantized copy of the
//! weight; on a 2-core machine that GEMM was half of all prompt time, close
//! to what two cores can do in F32. `vpdpbusd` multiplies 64 int8 pairs and
//! adds them in groups of four into 16 int32 lanes in one instruction, four
//! times the multiply-adds of an F32 FMA. This module does what llama.cpp does
//! for Q8_0 on such CPUs, in our own code:
//!
//! 1. each activation row is quantized to Q8_0 blocks (32 values, one f32
//!    scale `max|x| / 127`), stored as `q + 128` so that it is unsigned;
//! 2. the weight is repacked for this call into 16-column tiles in which one
//!    64-byte load holds four consecutive k of 16 output columns (the operand
//!    layout `vpdpbusd` wants), with per block the 16 f32 scales and the
//!    correction `-128 * sum(w)` that removes the `+ 128` offset;
//! 3. an `MR x (16 * NT)` register tile accumulates each 32-long block in
//!    int32 (exact: at most 8 * 4 * 255 * 128 per lane), converts it to f32
//!    and adds it times `d_a * d_w`.
//!
//! The packed copy lives for one call (1.25 bytes per weight, like the
//! original); decoding (few rows) keeps candle's kernel, where packing would
//! cost as much as the product. Results match the F32 path to within the
//! activation quantization that candle's own quantized matmul (and
//! llama.cpp) already apply; tests compare both against an f64 reference.
//!
//! `MISTRALRS_CPU_Q8_INT8=0` disables the path (patch 4's F32 GEMM is used).

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{CpuStorage, DType, Result, Storage, Tensor};

/// Values per Q8_0 block.
const QK: usize = 32;
/// Bytes per Q8_0 block in GGUF: an f16 scale, then 32 signed bytes.
const BLOCK_BYTES: usize = 2 + QK;
/// Output columns per tile: one zmm register of int32 / f32 lanes.
const NR: usize = 16;
/// Bytes of one packed weight block of a tile: 32 k x 16 columns.
const PACKED_BLOCK: usize = QK * NR;
/// Activation rows per register tile.
const MR: usize = 4;
/// Rows of the activation per parallel task (the tile's weight panel stays
/// in L1/L2 while these rows stream past it).
const ROWS_PER_TASK: usize = 128;

/// Whether this path takes the matmul of `a` by the weight `q`.
pub(crate) fn applies(q: &QTensor, a: &Tensor, min_rows: usize) -> bool {
    if !enabled() || q.dtype() != GgmlDType::Q8_0 || a.dtype() != DType::F32 {
        return false;
    }
    if !a.device().is_cpu() || q.shape().rank() != 2 || a.rank() == 0 {
        return false;
    }
    let (n, k) = match q.shape().dims2() {
        Ok(nk) => nk,
        Err(_) => return false,
    };
    let cols = a.dims()[a.rank() - 1];
    cols == k && k % QK == 0 && n % NR == 0 && k > 0 && a.elem_count() / k >= min_rows.max(1)
}

fn enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ENABLED.get_or_init(|| {
        let switched_on = std::env::var("MISTRALRS_CPU_Q8_INT8").map_or(true, |v| v.trim() != "0");
        switched_on && cpu_has_vnni()
    })
}

#[cfg(target_arch = "x86_64")]
fn cpu_has_vnni() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_has_vnni() -> bool {
    false
}

/// `a (.., k) x q(n, k)^T -> (.., n)`. Call only when [`applies`] said yes.
pub(crate) fn forward(q: &QTensor, a: &Tensor) -> Result<Tensor> {
    let (n, k) = q.shape().dims2()?;
    let a = a.contiguous()?;
    let m = a.elem_count() / k;
    let raw = q.data()?;
    if raw.len() != n * (k / QK) * BLOCK_BYTES {
        candle_core::bail!(
            "q8_0 weight {n}x{k}: {} bytes, expected {}",
            raw.len(),
            n * (k / QK) * BLOCK_BYTES
        );
    }
    let mut out = vec![0f32; m * n];
    {
        let (storage, layout) = a.storage_and_layout();
        let lhs = match &*storage {
            Storage::Cpu(CpuStorage::F32(v)) => &v[layout.start_offset()..][..m * k],
            _ => candle_core::bail!("q8_0 int8 matmul: activation is not f32 on the cpu"),
        };
        matmul(m, n, k, lhs, &raw, &mut out);
    }
    let mut out_dims = a.dims().to_vec();
    if let Some(last) = out_dims.last_mut() {
        *last = n;
    }
    Tensor::from_vec(out, out_dims, a.device())
}

/// Activation rows as unsigned Q8_0: `q + 128` per value, one scale per block.
struct QuantizedRows {
    q: Vec<u8>,
    d: Vec<f32>,
}

fn quantize_rows(m: usize, k: usize, lhs: &[f32]) -> QuantizedRows {
    use rayon::prelude::*;
    let kb = k / QK;
    let mut q = vec![0u8; m * k];
    let mut d = vec![0f32; m * kb];
    q.par_chunks_mut(k)
        .zip(d.par_chunks_mut(kb))
        .zip(lhs.par_chunks(k))
        .for_each(|((q, d), x)| {
            for ((q, d), x) in q
                .chunks_exact_mut(QK)
                .zip(d.iter_mut())
                .zip(x.chunks_exact(QK))
            {
                let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
                let scale = amax / 127.0;
                let inv = if scale > 0.0 { 1.0 / scale } else { 0.0 };
                for (q, x) in q.iter_mut().zip(x) {
                    // |x * inv| <= 127 (plus rounding slack), so the sum is in 1..=255.
                    *q = ((x * inv).round() as i32 + 128).clamp(0, 255) as u8;
                }
                *d = scale;
            }
        });
    QuantizedRows { q, d }
}

/// The weight in the tile layout the kernel reads. For tile `t` (columns
/// `16t..16t+16`) and block `b`: `w[(t*kb + b) * 512 + kq*64 + c*4 + j]` is
/// the weight of column `c` at `k = 32b + 4kq + j`; `d` and `corr` hold per
/// `(t*kb + b) * 16 + c` the block's scale and `-128 * sum(w)`.
struct PackedWeight {
    w: Vec<u8>,
    d: Vec<f32>,
    corr: Vec<i32>,
}

fn pack_weight(n: usize, k: usize, raw: &[u8]) -> PackedWeight {
    use rayon::prelude::*;
    let kb = k / QK;
    let mut w = vec![0u8; n * k];
    let mut d = vec![0f32; n * kb];
    let mut corr = vec![0i32; n * kb];
    w.par_chunks_mut(kb * PACKED_BLOCK)
        .zip(d.par_chunks_mut(kb * NR))
        .zip(corr.par_chunks_mut(kb * NR))
        .enumerate()
        .for_each(|(t, ((w, d), corr))| {
            for c in 0..NR {
                let row = &raw[(t * NR + c) * kb * BLOCK_BYTES..][..kb * BLOCK_BYTES];
                for (b, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
                    d[b * NR + c] = half::f16::from_le_bytes([block[0], block[1]]).to_f32();
                    let qs = &block[2..];
                    corr[b * NR + c] = -128 * qs.iter().map(|&v| v as i8 as i32).sum::<i32>();
                    let dst = &mut w[b * PACKED_BLOCK..][..PACKED_BLOCK];
                    for kq in 0..QK / 4 {
                        dst[kq * 64 + c * 4..][..4].copy_from_slice(&qs[kq * 4..][..4]);
                    }
                }
            }
        });
    PackedWeight { w, d, corr }
}

/// Raw output pointer shared by tasks that write disjoint tiles.
#[derive(Clone, Copy)]
struct OutPtr(*mut f32);
// SAFETY: every task writes a distinct (row range, column range) of the
// output, and `matmul` keeps the buffer alive and unaliased until they join.
unsafe impl Send for OutPtr {}
unsafe impl Sync for OutPtr {}

fn matmul(m: usize, n: usize, k: usize, lhs: &[f32], raw: &[u8], out: &mut [f32]) {
    use rayon::prelude::*;
    assert!(k % QK == 0 && n % NR == 0 && lhs.len() == m * k && out.len() == m * n);
    assert!(raw.len() == n * (k / QK) * BLOCK_BYTES);
    assert!(cpu_has_vnni(), "q8_0 int8 matmul needs AVX-512 VNNI");
    let a = quantize_rows(m, k, lhs);
    let w = pack_weight(n, k, raw);
    let kb = k / QK;
    // Column panels of two tiles (32 columns), the last one may be a single tile.
    let tiles = n / NR;
    let panels = tiles.div_ceil(2);
    let row_tasks = m.div_ceil(ROWS_PER_TASK);
    let out_ptr = OutPtr(out.as_mut_ptr());
    (0..row_tasks * panels).into_par_iter().for_each(|task| {
        let out_ptr = out_ptr;
        let (rt, p) = (task / panels, task % panels);
        let t0 = p * 2;
        let nt = (tiles - t0).min(2);
        let rows = rt * ROWS_PER_TASK..((rt + 1) * ROWS_PER_TASK).min(m);
        let mut i = rows.start;
        while i < rows.end {
            let mr = (rows.end - i).min(MR);
            let args = TileArgs {
                kb,
                k,
                a_q: a.q[i * k..].as_ptr(),
                a_d: a.d[i * kb..].as_ptr(),
                w: w.w[t0 * kb * PACKED_BLOCK..].as_ptr(),
                w_d: w.d[t0 * kb * NR..].as_ptr(),
                w_corr: w.corr[t0 * kb * NR..].as_ptr(),
                c: out_ptr.0.wrapping_add(i * n + t0 * NR),
                ldc: n,
            };
            // SAFETY: the CPU has the features (asserted above); pointers
            // address `mr` rows of `a`, `nt` tiles of `w` and the matching
            // disjoint region of `out`, all in bounds.
            unsafe {
                match (mr, nt) {
                    (4, 2) => tile::<4, 2>(&args),
                    (3, 2) => tile::<3, 2>(&args),
                    (2, 2) => tile::<2, 2>(&args),
                    (1, 2) => tile::<1, 2>(&args),
                    (4, _) => tile::<4, 1>(&args),
                    (3, _) => tile::<3, 1>(&args),
                    (2, _) => tile::<2, 1>(&args),
                    _ => tile::<1, 1>(&args),
                }
            }
            i += mr;
        }
    });
}

struct TileArgs {
    kb: usize,
    k: usize,
    a_q: *const u8,
    a_d: *const f32,
    w: *const u8,
    w_d: *const f32,
    w_corr: *const i32,
    c: *mut f32,
    ldc: usize,
}

/// `R` rows by `T` tiles of 16 columns: for each block, int32 sums of
/// `(q_a + 128) * q_w` started at `-128 * sum(q_w)`, then scaled into f32.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn tile<const R: usize, const T: usize>(p: &TileArgs) {
    use std::arch::x86_64::*;
    let mut acc = [[_mm512_setzero_ps(); T]; R];
    for b in 0..p.kb {
        let mut iacc = [[_mm512_setzero_si512(); T]; R];
        for t in 0..T {
            let corr = _mm512_loadu_si512(p.w_corr.add((t * p.kb + b) * NR) as *const _);
            for row in iacc.iter_mut() {
                row[t] = corr;
            }
        }
        for kq in 0..QK / 4 {
            let mut wv = [_mm512_setzero_si512(); T];
            for (t, wv) in wv.iter_mut().enumerate() {
                *wv = _mm512_loadu_si512(
                    p.w.add((t * p.kb + b) * PACKED_BLOCK + kq * 64) as *const _
                );
            }
            for (r, row) in iacc.iter_mut().enumerate() {
                let a4 = (p.a_q.add(r * p.k + b * QK + kq * 4) as *const i32).read_unaligned();
                let av = _mm512_set1_epi32(a4);
                for t in 0..T {
                    row[t] = _mm512_dpbusd_epi32(row[t], av, wv[t]);
                }
            }
        }
        for t in 0..T {
            let wd = _mm512_loadu_ps(p.w_d.add((t * p.kb + b) * NR));
            for r in 0..R {
                let scale = _mm512_mul_ps(wd, _mm512_set1_ps(*p.a_d.add(r * p.kb + b)));
                acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[r][t]), scale, acc[r][t]);
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        for (t, v) in row.iter().enumerate() {
            _mm512_storeu_ps(p.c.add(r * p.ldc + t * NR), *v);
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn tile<const R: usize, const T: usize>(_: &TileArgs) {
    unreachable!("cpu_has_vnni() is false off x86-64")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic pseudo-random values in [-1, 1).
    fn values(len: usize, seed: u64) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Q8_0 bytes of an `n x k` weight, as GGUF stores them, and the values
    /// they decode to.
    fn q8_0_weight(n: usize, k: usize, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let src = values(n * k, seed);
        let mut raw = Vec::with_capacity(n * k / QK * BLOCK_BYTES);
        let mut deq = Vec::with_capacity(n * k);
        for block in src.chunks_exact(QK) {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
            let d = half::f16::from_f32(amax / 127.0);
            let inv = if d.to_f32() > 0.0 {
                1.0 / d.to_f32()
            } else {
                0.0
            };
            raw.extend_from_slice(&d.to_le_bytes());
            for v in block {
                let q = (v * inv).round().clamp(-127.0, 127.0) as i8;
                raw.push(q as u8);
                deq.push(q as f32 * d.to_f32());
            }
        }
        (raw, deq)
    }

    fn reference(m: usize, n: usize, k: usize, a: &[f32], w: &[f32]) -> Vec<f64> {
        let mut out = vec![0f64; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|x| a[i * k + x] as f64 * w[j * k + x] as f64)
                    .sum();
            }
        }
        out
    }

    fn check(m: usize, n: usize, k: usize) {
        let a = values(m * k, 7 + m as u64);
        let (raw, w) = q8_0_weight(n, k, 11 + n as u64);
        let mut out = vec![0f32; m * n];
        matmul(m, n, k, &a, &raw, &mut out);
        let want = reference(m, n, k, &a, &w);
        // Activation quantization error: each product is off by at most
        // |w| * d_a / 2 with d_a <= 1/127, and errors add like a random walk.
        let tol = 2.0 * (k as f64).sqrt() / 127.0;
        for (idx, (got, want)) in out.iter().zip(&want).enumerate() {
            assert!(
                (*got as f64 - want).abs() <= tol,
                "{m}x{n}x{k} at ({}, {}): {got} vs {want} (tol {tol})",
                idx / n,
                idx % n
            );
        }
    }

    #[test]
    fn int8_matmul_matches_reference() {
        if !cpu_has_vnni() {
            eprintln!("skipped: this CPU has no AVX-512 VNNI");
            return;
        }
        // Row tails (1..3 rows past a multiple of 4), a single-tile panel
        // (n = 48), more than one row task (m > 128) and the model's shapes.
        for (m, n, k) in [
            (1, 16, 32),
            (5, 48, 64),
            (7, 32, 576),
            (131, 192, 576),
            (33, 64, 1536),
        ] {
            check(m, n, k);
        }
    }

    #[test]
    fn int8_matmul_exact_on_integer_data() {
        if !cpu_has_vnni() {
            return;
        }
        // Activations that quantize exactly (block max 127, integers) make the
        // int8 product exact: catches layout and offset-correction mistakes
        // that a tolerance could hide.
        let (m, n, k) = (6, 32, 96);
        let a: Vec<f32> = (0..m * k)
            .map(|i| {
                if i % QK == 0 {
                    127.0
                } else {
                    ((i * 37 % 255) as f32) - 127.0
                }
            })
            .collect();
        let (raw, w) = q8_0_weight(n, k, 3);
        let mut out = vec![0f32; m * n];
        matmul(m, n, k, &a, &raw, &mut out);
        let want = reference(m, n, k, &a, &w);
        for (got, want) in out.iter().zip(&want) {
            assert!(
                (*got as f64 - want).abs() <= 1e-3 * want.abs().max(1.0),
                "{got} vs {want}"
            );
        }
    }
}
