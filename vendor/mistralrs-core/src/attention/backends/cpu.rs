#![allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]

use candle_core::{Context, DType, Device, Result, Storage, Tensor, WithDType};

use half::bf16;
use half::f16;
use rayon::prelude::*;
use rayon::ThreadPool;

use std::sync::LazyLock;
use std::{f32, iter::Sum};

// Optional hardware prefetch for ping‑pong style scheduling.
#[cfg(target_arch = "x86_64")]
use core::arch::x86_64::_mm_prefetch;

// --- portable wrapper around architecture‑specific prefetch -------------
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn prefetch(addr: *const u8) {
    _mm_prefetch(addr as *const i8, core::arch::x86_64::_MM_HINT_T0);
}

#[cfg(target_arch = "aarch64")]
#[inline(always)]
unsafe fn prefetch(addr: *const u8) {
    core::arch::asm!(
        "prfm pldl1keep, [{0}]",
        in(reg) addr,
        options(readonly, nostack, preserves_flags)
    );
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
#[inline(always)]
unsafe fn prefetch(_addr: *const u8) {}
// -----------------------------------------------------------------------

use crate::attention::SdpaParams;

#[cfg(target_os = "macos")]
/// Elevate the thread QoS so macOS prefers running it on Performance (P) cores.
unsafe fn set_thread_affinity() {
    // USER_INTERACTIVE has the highest scheduling priority that user code
    // can request and is most likely to be scheduled on P‑cores.
    use libc::{pthread_set_qos_class_self_np, qos_class_t::QOS_CLASS_USER_INTERACTIVE};
    // The second argument is a relative priority within the QoS class (0 = default).
    pthread_set_qos_class_self_np(QOS_CLASS_USER_INTERACTIVE, 0);
}

#[cfg(not(target_os = "macos"))]
#[inline(always)]
unsafe fn set_thread_affinity() {
    // On non‑macOS platforms we currently leave affinity untouched.
}

/// Rayon pool used by the flash‑attention CPU kernels, with a per‑thread
/// start handler that applies our affinity hint exactly once.
///
/// rxguide patch (vendor/PATCHES.md): only built when
/// `MISTRALRS_FLASH_ATTN_OWN_POOL` is set. By default attention runs on the
/// caller's pool (candle's global rayon pool): a second pool of the same
/// size beside it made both spin and yield against each other on few cores.
static FLASH_ATTN_POOL: LazyLock<Option<ThreadPool>> = LazyLock::new(|| {
    std::env::var_os("MISTRALRS_FLASH_ATTN_OWN_POOL")?;
    Some(
        rayon::ThreadPoolBuilder::new()
            .start_handler(|_| unsafe {
                set_thread_affinity();
            })
            .build()
            .expect("Failed to build custom Rayon thread‑pool for flash‑attention"),
    )
});

/// Runs `f` in the attention pool if there is one, else in the caller's.
fn in_attn_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    match &*FLASH_ATTN_POOL {
        Some(pool) => pool.install(f),
        None => f(),
    }
}

/// rxguide patch 5 (vendor/PATCHES.md): prompt processing through GEMM.
///
/// The flash loop below walks every (query, key) pair one at a time: one
/// 64-wide dot product, one `exp` and one 64-wide AXPY per pair, plus a mask
/// lookup, so for a prompt of hundreds of tokens it is latency-bound scalar
/// work. With many query rows it is much faster to compute the scores of a
/// block of queries as one matrix product (candle's blocked SIMD GEMM), apply
/// scale, softcap and mask, take the softmax and multiply by V, as the
/// non-flash backends do. Queries go in blocks of [`CPU_GEMM_ATTN_Q_BLOCK`]
/// rows so that the score matrix stays small (block x kv_len x heads x 4
/// bytes: 9 MB for 256 rows, 1000 keys and 9 heads). Decoding (one query row)
/// keeps the flash loop.
///
/// `MISTRALRS_CPU_GEMM_ATTN_MIN_Q` sets the threshold in query rows; `0`
/// disables this path and restores upstream behaviour.
const DEFAULT_CPU_GEMM_ATTN_MIN_Q: usize = 16;
const CPU_GEMM_ATTN_Q_BLOCK: usize = 256;

/// Whether a CPU attention call with `q_len` query rows should use
/// [`run_gemm_attn_cpu`] (rxguide patch 5).
pub(crate) fn prefill_uses_gemm(q_len: usize) -> bool {
    static MIN_Q: LazyLock<usize> = LazyLock::new(|| {
        std::env::var("MISTRALRS_CPU_GEMM_ATTN_MIN_Q")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(DEFAULT_CPU_GEMM_ATTN_MIN_Q)
    });
    *MIN_Q != 0 && q_len >= *MIN_Q
}

/// softmax(scale * Q K^T + mask) V on the CPU with GEMMs, in blocks of query
/// rows (rxguide patch 5). Shapes as in `Sdpa::run_attention`:
/// q (b, heads, q_len, d), k and v (b, kv_heads, kv_len, d); the mask is
/// additive and broadcastable, with the query axis second to last.
pub(crate) fn run_gemm_attn_cpu(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    sdpa_params: &SdpaParams,
) -> Result<Tensor> {
    let k = crate::attention::repeat_kv(k.clone(), sdpa_params.n_kv_groups)?.contiguous()?;
    let v = crate::attention::repeat_kv(v.clone(), sdpa_params.n_kv_groups)?.contiguous()?;
    let k_t = k.t()?;
    let (b, h, q_len, _) = q.dims4()?;
    let kv_len = k.dim(2)?;
    // The usual masks (none, or one (q_len, kv_len) table for every
    // sequence and head) are applied in one fused pass with the softmax;
    // any other mask shape goes through candle's broadcasting ops.
    let table = match mask {
        None => None,
        Some(m) if mask_is_table(m, q_len, kv_len) => {
            Some(m.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
        }
        Some(m) => return gemm_attn_broadcast_mask(q, &k_t, &v, m, sdpa_params),
    };
    // Scaling Q (q_len x d values) instead of the scores (q_len x kv_len).
    let q = (q * f64::from(sdpa_params.softmax_scale))?;
    let softcap = sdpa_params.softcap.unwrap_or(0.0);
    let mut blocks = Vec::with_capacity(q_len.div_ceil(CPU_GEMM_ATTN_Q_BLOCK));
    let mut start = 0;
    while start < q_len {
        let len = CPU_GEMM_ATTN_Q_BLOCK.min(q_len - start);
        // Keys after the last one any row of the block may see (the future,
        // under a causal mask) get zero weight: leave them out of both GEMMs.
        let keys = table
            .as_deref()
            .map_or(kv_len, |t| visible_key_end(t, kv_len, start, len));
        let q_block = q.narrow(2, start, len)?.contiguous()?;
        let scores = q_block.matmul(&k_t.narrow(3, 0, keys)?)?;
        let mut weights = scores.flatten_all()?.to_vec1::<f32>()?;
        weights
            .par_chunks_mut(keys)
            .enumerate()
            .for_each(|(row, w)| {
                let mask_row = table.as_deref().map(|t| {
                    let i = start + row % len;
                    &t[i * kv_len..i * kv_len + keys]
                });
                softmax_row(w, mask_row, softcap);
            });
        let weights = Tensor::from_vec(weights, (b, h, len, keys), q.device())?;
        blocks.push(weights.matmul(&v.narrow(2, 0, keys)?)?);
        start += len;
    }
    Tensor::cat(&blocks, 2)
}

/// Whether `mask` is one (q_len, kv_len) table, possibly with leading unit
/// axes, shared by every sequence and head.
fn mask_is_table(mask: &Tensor, q_len: usize, kv_len: usize) -> bool {
    let dims = mask.dims();
    dims.len() >= 2
        && dims[dims.len() - 2..] == [q_len, kv_len]
        && dims[..dims.len() - 2].iter().all(|&d| d == 1)
}

/// One past the last key that any of rows `start..start + len` of a
/// (q_len, kv_len) additive mask leaves visible; at least 1.
fn visible_key_end(table: &[f32], kv_len: usize, start: usize, len: usize) -> usize {
    (start..start + len)
        .map(|i| {
            let row = &table[i * kv_len..(i + 1) * kv_len];
            row.iter()
                .rposition(|&m| m != f32::NEG_INFINITY)
                .map_or(0, |j| j + 1)
        })
        .max()
        .unwrap_or(kv_len)
        .max(1)
}

/// In place: softcap, additive mask, then softmax of one row of scores
/// (already scaled). A fully masked row becomes all zeros.
fn softmax_row(w: &mut [f32], mask: Option<&[f32]>, softcap: f32) {
    if softcap != 0.0 {
        for x in w.iter_mut() {
            *x = softcap * (*x / softcap).tanh();
        }
    }
    if let Some(mask) = mask {
        for (x, m) in w.iter_mut().zip(mask) {
            *x += m;
        }
    }
    let max = w.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        w.fill(0.0);
        return;
    }
    let mut sum = 0f32;
    for x in w.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    let inv = 1.0 / sum;
    for x in w.iter_mut() {
        *x *= inv;
    }
}

/// The GEMM path for masks of any other broadcastable shape, with candle's
/// elementwise ops (rxguide patch 5).
fn gemm_attn_broadcast_mask(
    q: &Tensor,
    k_t: &Tensor,
    v: &Tensor,
    mask: &Tensor,
    sdpa_params: &SdpaParams,
) -> Result<Tensor> {
    let q_len = q.dim(2)?;
    let mut blocks = Vec::with_capacity(q_len.div_ceil(CPU_GEMM_ATTN_Q_BLOCK));
    let mut start = 0;
    while start < q_len {
        let len = CPU_GEMM_ATTN_Q_BLOCK.min(q_len - start);
        let q_block = q.narrow(2, start, len)?.contiguous()?;
        let mut att = (q_block.matmul(k_t)? * f64::from(sdpa_params.softmax_scale))?;
        if let Some(softcap) = sdpa_params.softcap {
            att = ((att / f64::from(softcap))?.tanh()? * f64::from(softcap))?;
        }
        // Narrow the query axis unless the mask broadcasts over it.
        let q_axis = mask.rank().checked_sub(2);
        att = match q_axis {
            Some(axis) if mask.dim(axis)? == q_len => {
                att.broadcast_add(&mask.narrow(axis, start, len)?)?
            }
            _ => att.broadcast_add(mask)?,
        };
        let att = candle_nn::ops::softmax_last_dim(&att)?;
        blocks.push(att.matmul(v)?);
        start += len;
    }
    Tensor::cat(&blocks, 2)
}

/// Independent accumulators in [`vec_dot_f32`] (rxguide patch).
const DOT_LANES: usize = 16;

/// Size (in KV positions) processed by each inner‑tile job.
const TILE_KV: usize = 16;

/// Dot product in `f32` with independent accumulators.
///
/// rxguide patch (vendor/PATCHES.md): the upstream loop adds every product
/// into one `sum`, a serial dependency chain the compiler may not reorder
/// (no fast-math), so it ran scalar at one add per FP-add latency. Eight
/// separate lanes let LLVM keep them in one SIMD register.
#[inline]
fn vec_dot_f32<T: UpcastF32 + Copy>(a: &[T], b: &[T]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0f32; DOT_LANES];
    let mut ca = a.chunks_exact(DOT_LANES);
    let mut cb = b.chunks_exact(DOT_LANES);
    for (xa, xb) in (&mut ca).zip(&mut cb) {
        for l in 0..DOT_LANES {
            acc[l] += xa[l].to_f32() * xb[l].to_f32();
        }
    }
    let mut sum = 0f32;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        sum += x.to_f32() * y.to_f32();
    }
    // Pairwise reduction of the lanes.
    let mut width = DOT_LANES;
    while width > 1 {
        width /= 2;
        for l in 0..width {
            acc[l] += acc[l + width];
        }
    }
    acc[0] + sum
}

#[inline]
fn clamp_index(idx: usize, dim: usize) -> usize {
    if dim == 0 {
        0
    } else if idx >= dim {
        dim - 1
    } else {
        idx
    }
}

#[inline]
fn mask_offset(
    dims: &[usize],
    b: usize,
    h: usize,
    b_i: usize,
    h_i: usize,
    q_pos: usize,
    kv_pos: usize,
) -> Option<usize> {
    if dims.is_empty() {
        return Some(0);
    }

    match dims.len() {
        1 => {
            let kv_dim = dims[0];
            if kv_dim == 0 {
                None
            } else {
                Some(clamp_index(kv_pos, kv_dim))
            }
        }
        2 => {
            let q_dim = dims[0];
            let kv_dim = dims[1];
            if q_dim == 0 || kv_dim == 0 {
                None
            } else {
                let q_idx = clamp_index(q_pos, q_dim);
                let kv_idx = clamp_index(kv_pos, kv_dim);
                Some(q_idx * kv_dim + kv_idx)
            }
        }
        3 => {
            let d0 = dims[0];
            let d1 = dims[1];
            let d2 = dims[2];
            if d0 == 0 || d1 == 0 || d2 == 0 {
                return None;
            }
            let q_idx = clamp_index(q_pos, d1);
            let kv_idx = clamp_index(kv_pos, d2);
            if d0 == b || d0 == 1 {
                let b_idx = if d0 == 1 { 0 } else { clamp_index(b_i, d0) };
                Some((b_idx * d1 + q_idx) * d2 + kv_idx)
            } else if d0 == h || d0 == 1 {
                let h_idx = if d0 == 1 { 0 } else { clamp_index(h_i, d0) };
                Some((h_idx * d1 + q_idx) * d2 + kv_idx)
            } else if d0 == b.saturating_mul(h) {
                let combined_idx = clamp_index(b_i * h + h_i, d0);
                Some((combined_idx * d1 + q_idx) * d2 + kv_idx)
            } else {
                Some(q_idx * d2 + kv_idx)
            }
        }
        4 => {
            let d0 = dims[0];
            let d1 = dims[1];
            let d2 = dims[2];
            let d3 = dims[3];
            if d0 == 0 || d1 == 0 || d2 == 0 || d3 == 0 {
                return None;
            }
            let b_idx = if d0 == 1 {
                0
            } else if d0 == b {
                clamp_index(b_i, d0)
            } else if d0 == b.saturating_mul(h) {
                clamp_index(b_i * h + h_i, d0)
            } else {
                clamp_index(b_i, d0)
            };
            let h_idx = if d1 == 1 {
                0
            } else if d1 == h {
                clamp_index(h_i, d1)
            } else if d1 == b {
                clamp_index(b_i, d1)
            } else {
                clamp_index(h_i, d1)
            };
            let q_idx = clamp_index(q_pos, d2);
            let kv_idx = clamp_index(kv_pos, d3);
            Some(((b_idx * d1 + h_idx) * d2 + q_idx) * d3 + kv_idx)
        }
        _ => {
            let q_dim = *dims.get(dims.len().saturating_sub(2))?;
            let kv_dim = *dims.last()?;
            if q_dim == 0 || kv_dim == 0 {
                return None;
            }
            let q_idx = clamp_index(q_pos, q_dim);
            let kv_idx = clamp_index(kv_pos, kv_dim);
            let mut prefix_dim = 1usize;
            for &dim in &dims[..dims.len() - 2] {
                if dim == 0 {
                    return None;
                }
                prefix_dim = prefix_dim.saturating_mul(dim);
            }
            let combined_idx = if prefix_dim == 0 {
                0
            } else {
                let idx_val = b_i * h + h_i;
                idx_val.min(prefix_dim - 1)
            };
            Some((combined_idx * q_dim + q_idx) * kv_dim + kv_idx)
        }
    }
}

struct MaskInfo<'a> {
    data: &'a [f32],
    dims: &'a [usize],
    b: usize,
    h: usize,
}

impl<'a> MaskInfo<'a> {
    #[inline]
    fn value(&self, b_i: usize, h_i: usize, q_pos: usize, kv_pos: usize) -> f32 {
        if let Some(idx) = mask_offset(self.dims, self.b, self.h, b_i, h_i, q_pos, kv_pos) {
            *self.data.get(idx).unwrap_or(&0.0)
        } else {
            0.0
        }
    }
}

pub(crate) trait DowncastF32 {
    fn cast(x: f32) -> Self;
}

impl DowncastF32 for f32 {
    fn cast(x: f32) -> Self {
        x
    }
}

impl DowncastF32 for f16 {
    fn cast(x: f32) -> Self {
        f16::from_f32(x)
    }
}

impl DowncastF32 for bf16 {
    fn cast(x: f32) -> Self {
        bf16::from_f32(x)
    }
}

/// Up‑cast helper: convert any supported element type to `f32` once so that the
/// hot kernels can run entirely in `f32` and only down‑cast when writing out.
pub trait UpcastF32 {
    fn to_f32(self) -> f32;
}

impl UpcastF32 for f32 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

impl UpcastF32 for f16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_f32()
    }
}

impl UpcastF32 for bf16 {
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_f32()
    }
}

pub fn run_flash_attn_cpu<T>(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    mask: Option<&Tensor>,
    sdpa_params: &SdpaParams,
) -> Result<Tensor>
where
    T: WithDType + Sum + num_traits::real::Real + DowncastF32 + UpcastF32 + Copy,
{
    // Inline CPU slice extraction for q, k, v, and optional mask
    let (q_guard, q_layout) = q.storage_and_layout();
    let q_data: &[T] = if let Storage::Cpu(cpu) = &*q_guard {
        let data = cpu.as_slice::<T>().context("Expected CPU storage for q")?;
        &data[q_layout.start_offset()..]
    } else {
        return Err(candle_core::Error::Msg("Expected CPU storage for q".into()));
    };
    let (k_guard, k_layout) = k.storage_and_layout();
    let k_data: &[T] = if let Storage::Cpu(cpu) = &*k_guard {
        let data = cpu.as_slice::<T>().context("Expected CPU storage for k")?;
        &data[k_layout.start_offset()..]
    } else {
        return Err(candle_core::Error::Msg("Expected CPU storage for k".into()));
    };
    let (v_guard, v_layout) = v.storage_and_layout();
    let v_data: &[T] = if let Storage::Cpu(cpu) = &*v_guard {
        let data = cpu.as_slice::<T>().context("Expected CPU storage for v")?;
        &data[v_layout.start_offset()..]
    } else {
        return Err(candle_core::Error::Msg("Expected CPU storage for v".into()));
    };
    let mut mask_buffer: Option<Vec<f32>> = None;
    let mut mask_dims: Option<Vec<usize>> = None;
    if let Some(mask_tensor) = mask {
        mask_dims = Some(mask_tensor.shape().dims().to_vec());
        let buffer = {
            let (guard, layout) = mask_tensor.storage_and_layout();
            if let Storage::Cpu(cpu) = &*guard {
                let data = cpu
                    .as_slice::<T>()
                    .context("Expected CPU storage for mask")?;
                data[layout.start_offset()..]
                    .iter()
                    .map(|v| (*v).to_f32())
                    .collect::<Vec<f32>>()
            } else {
                return Err(candle_core::Error::Msg(
                    "Expected CPU storage for mask".into(),
                ));
            }
        };
        mask_buffer = Some(buffer);
    }
    // q_guard, k_guard, v_guard, and m_guard (if any) are kept in scope to hold storage alive

    let q_stride = q.stride();
    let k_stride = k.stride();
    let v_stride = v.stride();

    // Fast path for decode: q_len == 1
    let mask_dims_ref = mask_dims.as_deref();
    let mask_slice = mask_buffer.as_deref();

    if q.shape().dims()[1] == 1 && decode_two_pass() {
        return attn_cpu_single_q_two_pass(
            q_data,
            k_data,
            v_data,
            mask_slice,
            mask_dims_ref,
            q.shape().dims(),
            k.shape().dims(),
            v.shape().dims(),
            q_stride,
            k_stride,
            v_stride,
            sdpa_params.softmax_scale,
            sdpa_params.softcap.unwrap_or(0.0),
        );
    }
    if q.shape().dims()[1] == 1 {
        return flash_attn_cpu_single_q(
            q_data,
            k_data,
            v_data,
            mask_slice,
            mask_dims_ref,
            q.shape().dims(),
            k.shape().dims(),
            v.shape().dims(),
            q_stride,
            k_stride,
            v_stride,
            sdpa_params.softmax_scale,
            0.0,
            sdpa_params.softcap.unwrap_or(0.0),
        );
    }

    flash_attn_cpu(
        q_data,
        k_data,
        v_data,
        mask_slice,
        mask_dims_ref,
        q.shape().dims(),
        k.shape().dims(),
        v.shape().dims(),
        q_stride,
        k_stride,
        v_stride,
        sdpa_params.softmax_scale,
        0.0,
        sdpa_params.softcap.unwrap_or(0.0),
    )
}

/// rxguide patch 6 (vendor/PATCHES.md): whether decode attention uses
/// [`attn_cpu_single_q_two_pass`]; `MISTRALRS_CPU_DECODE_TILED=1` restores
/// the upstream tiled online-softmax kernel below.
fn decode_two_pass() -> bool {
    static TWO_PASS: LazyLock<bool> =
        LazyLock::new(|| std::env::var_os("MISTRALRS_CPU_DECODE_TILED").is_none());
    *TWO_PASS
}

// rxguide patch 9: decode attention's inner loops without serial chains.
//
// The two-pass decode kernel (patch 6) computed one score per call of
// `vec_dot_f32`, whose 16-lane reduction cost more than the 64 products of
// a head; its max and exp-sum were single dependency chains. On the decode
// profile they were ~29% of CPU samples at ~900 keys. Scores now come eight
// keys at a time (AVX-512 when the CPU has it, f32 rows whose length is a
// multiple of 16), reduced together; max and sum keep 16 lanes.

const MAX_LANES: usize = 16;

/// Largest value (NaNs ignored, like `f32::max`); `-inf` for an empty slice.
fn max_f32(x: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; MAX_LANES];
    let mut chunks = x.chunks_exact(MAX_LANES);
    for c in &mut chunks {
        for l in 0..MAX_LANES {
            if c[l] > lanes[l] {
                lanes[l] = c[l];
            }
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    lanes.into_iter().fold(tail, f32::max)
}

/// `x[i] = exp(x[i] - max)` in place; returns the sum.
fn exp_sub_sum(x: &mut [f32], max: f32) -> f32 {
    let mut lanes = [0f32; MAX_LANES];
    let mut chunks = x.chunks_exact_mut(MAX_LANES);
    for c in &mut chunks {
        for l in 0..MAX_LANES {
            c[l] = (c[l] - max).exp();
            lanes[l] += c[l];
        }
    }
    let mut tail = 0f32;
    for v in chunks.into_remainder() {
        *v = (*v - max).exp();
        tail += *v;
    }
    lanes.iter().sum::<f32>() + tail
}

/// `out[j] = q . k[base + j*step ..][..q.len()]` for every `j`, when a SIMD
/// kernel applies (f32 data, AVX-512, `q.len()` a multiple of 16, at most
/// 256); returns false (and leaves `out` alone) otherwise.
fn dot_rows_simd<T: WithDType>(
    q: &[T],
    k: &[T],
    base: usize,
    step: usize,
    out: &mut [f32],
) -> bool {
    let d = q.len();
    if T::DTYPE != DType::F32 || d == 0 || d % 16 != 0 || d > 256 || out.is_empty() {
        return false;
    }
    if base + (out.len() - 1) * step + d > k.len() || !has_avx512() {
        return false;
    }
    // SAFETY: T is f32 (checked through its DType), so the slices can be
    // viewed as f32; every row read is in bounds (checked above); the CPU has
    // the features the kernel is compiled for.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        let q = std::slice::from_raw_parts(q.as_ptr() as *const f32, d);
        let k = std::slice::from_raw_parts(k.as_ptr() as *const f32, k.len());
        dot_rows_avx512(q, k, base, step, out);
        return true;
    }
    #[allow(unreachable_code)]
    false
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: LazyLock<bool> = LazyLock::new(|| {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512dq")
        });
        *HAS
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2")]
unsafe fn dot_rows_avx512(q: &[f32], k: &[f32], base: usize, step: usize, out: &mut [f32]) {
    use std::arch::x86_64::*;
    let chunks = q.len() / 16;
    let qp = q.as_ptr();
    let kp = k.as_ptr().add(base);
    let n = out.len();
    let mut j = 0;
    while j + 8 <= n {
        let mut acc = [_mm512_setzero_ps(); 8];
        for c in 0..chunks {
            let qv = _mm512_loadu_ps(qp.add(c * 16));
            for (r, a) in acc.iter_mut().enumerate() {
                *a = _mm512_fmadd_ps(_mm512_loadu_ps(kp.add((j + r) * step + c * 16)), qv, *a);
            }
        }
        // 8 x 16 lanes -> 8 x 8 -> one vector of the eight sums, in order.
        let mut h = [_mm256_setzero_ps(); 8];
        for (h, a) in h.iter_mut().zip(&acc) {
            *h = _mm256_add_ps(_mm512_castps512_ps256(*a), _mm512_extractf32x8_ps::<1>(*a));
        }
        let h0123 = _mm256_hadd_ps(_mm256_hadd_ps(h[0], h[1]), _mm256_hadd_ps(h[2], h[3]));
        let h4567 = _mm256_hadd_ps(_mm256_hadd_ps(h[4], h[5]), _mm256_hadd_ps(h[6], h[7]));
        let sums = _mm256_add_ps(
            _mm256_permute2f128_ps::<0x20>(h0123, h4567),
            _mm256_permute2f128_ps::<0x31>(h0123, h4567),
        );
        _mm256_storeu_ps(out.as_mut_ptr().add(j), sums);
        j += 8;
    }
    while j < n {
        let mut a = _mm512_setzero_ps();
        for c in 0..chunks {
            a = _mm512_fmadd_ps(
                _mm512_loadu_ps(kp.add(j * step + c * 16)),
                _mm512_loadu_ps(qp.add(c * 16)),
                a,
            );
        }
        out[j] = _mm512_reduce_add_ps(a);
        j += 1;
    }
}

/// Decode attention (one query row) in two passes per head (rxguide patch 6).
///
/// The tiled kernel below keeps a running max per 16-key tile: per key a
/// data-dependent branch, a rescale of the accumulator whenever the max
/// grows, and a reduction across tiles at the end. With one query row the
/// scores of a head fit in a small buffer, so this computes them all first
/// (one dot product per key), then the max, the exponentials and their sum,
/// then one weighted sum of the V rows: straight-line loops the compiler
/// vectorises. K and V rows are read in place, without copies. Since patch 9
/// work is split by (batch, KV head, key chunk), the query heads of a group
/// share each K and V row, and chunks are merged at the end.
#[allow(clippy::too_many_arguments)]
fn attn_cpu_single_q_two_pass<T>(
    q_data: &[T],
    k_data: &[T],
    v_data: &[T],
    mask_vec: Option<&[f32]>,
    mask_dims: Option<&[usize]>,
    qshape: &[usize],
    kshape: &[usize],
    vshape: &[usize],
    qstride: &[usize],
    kstride: &[usize],
    vstride: &[usize],
    scale: f32,
    logit_softcap: f32,
) -> Result<Tensor>
where
    T: WithDType + Copy + UpcastF32 + DowncastF32,
{
    let (b, h, d) = (qshape[0], qshape[2], qshape[3]);
    let kv_len = kshape[1];
    let rk2 = h / kshape[2];
    let rv2 = h / vshape[2];
    let mask_info = match (mask_vec, mask_dims) {
        (Some(data), Some(dims)) => Some(MaskInfo { data, dims, b, h }),
        _ => None,
    };
    if kv_len == 0 || rk2 == 0 || rv2 == 0 {
        // No keys (or no heads): nothing to attend to, the output is zero.
        return Tensor::from_vec(vec![T::cast(0.0); b * h * d], (b, h, 1, d), &Device::Cpu);
    }
    // rxguide patch 9: one task per (sequence, KV head, key chunk). The query
    // heads that share a KV head are done together, so each K and V row is
    // fetched once for all of them; keys are split so that a 2-core machine
    // gets an even number of tasks with 3 KV heads. Chunks are merged with
    // the usual log-sum-exp rescaling.
    let kv_heads = h / rk2;
    let groups = b * kv_heads;
    let threads = rayon::current_num_threads().max(1);
    let chunks = (2 * threads)
        .div_ceil(groups)
        .clamp(1, kv_len.div_ceil(DECODE_MIN_CHUNK_KEYS));
    let chunk_len = kv_len.div_ceil(chunks);
    let partials: Vec<DecodePartial> = in_attn_pool(|| {
        (0..groups * chunks)
            .into_par_iter()
            .map(|task| {
                let (group, chunk) = (task / chunks, task % chunks);
                let (b_i, kv_head) = (group / kv_heads, group % kv_heads);
                let keys = chunk * chunk_len..((chunk + 1) * chunk_len).min(kv_len);
                let n = keys.len();
                let mut part = DecodePartial {
                    max: vec![f32::NEG_INFINITY; rk2],
                    sum: vec![0f32; rk2],
                    acc: vec![0f32; rk2 * d],
                };
                if n == 0 {
                    return part;
                }
                let k_base = b_i * kstride[0] + keys.start * kstride[1] + kv_head * kstride[2];
                // Pass 1 and 2 per query head: scores, max, exp and sum.
                let mut probs = vec![0f32; rk2 * n];
                for (g, p) in probs.chunks_exact_mut(n).enumerate() {
                    let h_i = kv_head * rk2 + g;
                    let q_base = b_i * qstride[0] + h_i * qstride[2];
                    let q_row = &q_data[q_base..q_base + d];
                    if !dot_rows_simd(q_row, k_data, k_base, kstride[1], p) {
                        for (j, s) in p.iter_mut().enumerate() {
                            let kb = k_base + j * kstride[1];
                            *s = vec_dot_f32(q_row, &k_data[kb..kb + d]);
                        }
                    }
                    for (j, s) in p.iter_mut().enumerate() {
                        *s *= scale;
                        if logit_softcap != 0.0 {
                            *s = logit_softcap * (*s / logit_softcap).tanh();
                        }
                        if let Some(mask) = &mask_info {
                            *s += mask.value(b_i, h_i, 0, keys.start + j);
                        }
                    }
                    let max = max_f32(p);
                    part.max[g] = max;
                    if max == f32::NEG_INFINITY {
                        // Every key of the chunk masked: no weight from it.
                        p.fill(0.0);
                    } else {
                        part.sum[g] = exp_sub_sum(p, max);
                    }
                }
                // Pass 3: key by key into every head of the group. When V is
                // grouped like K (the usual case) the heads share one V row,
                // read from memory once and from L1 after that.
                for j in 0..n {
                    for (g, acc) in part.acc.chunks_exact_mut(d).enumerate() {
                        let p = probs[g * n + j];
                        if p == 0.0 {
                            continue;
                        }
                        let v_head = (kv_head * rk2 + g) / rv2;
                        let vb =
                            b_i * vstride[0] + (keys.start + j) * vstride[1] + v_head * vstride[2];
                        for (a, v) in acc.iter_mut().zip(&v_data[vb..vb + d]) {
                            *a += p * v.to_f32();
                        }
                    }
                }
                part
            })
            .collect()
    });
    // Merge the chunks of each (sequence, head).
    let mut out = vec![T::cast(0.0); b * h * d];
    for (row_idx, out_row) in out.chunks_exact_mut(d).enumerate() {
        let (b_i, h_i) = (row_idx / h, row_idx % h);
        let (kv_head, g) = (h_i / rk2, h_i % rk2);
        let parts = &partials[(b_i * kv_heads + kv_head) * chunks..][..chunks];
        let max = parts
            .iter()
            .map(|p| p.max[g])
            .fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            // Every key masked: no weights (the output row stays zero).
            continue;
        }
        let mut total = 0f32;
        let mut acc = vec![0f32; d];
        for part in parts.iter().filter(|p| p.max[g] != f32::NEG_INFINITY) {
            let w = (part.max[g] - max).exp();
            total += part.sum[g] * w;
            for (a, x) in acc.iter_mut().zip(&part.acc[g * d..(g + 1) * d]) {
                *a += x * w;
            }
        }
        let inv = 1.0 / total;
        for (o, a) in out_row.iter_mut().zip(&acc) {
            *o = T::cast(a * inv);
        }
    }
    Tensor::from_vec(out, (b, h, 1, d), &Device::Cpu)
}

/// Fewest keys per chunk of the split decode kernel.
const DECODE_MIN_CHUNK_KEYS: usize = 128;

/// One chunk's unnormalised result for the query heads of one KV head.
struct DecodePartial {
    max: Vec<f32>,
    sum: Vec<f32>,
    acc: Vec<f32>,
}

/// Optimised path for the common decode case: q_len == 1 but kv_len ≫ 1.
/// All intermediate maths is done in `f32`; we down‑cast to `T` exactly once
/// when writing the output buffer.
#[allow(clippy::too_many_arguments)]
fn flash_attn_cpu_single_q<T>(
    q_data: &[T],
    k_data: &[T],
    v_data: &[T],
    mask_vec: Option<&[f32]>,
    mask_dims: Option<&[usize]>,
    qshape: &[usize],
    kshape: &[usize],
    vshape: &[usize],
    qstride: &[usize],
    kstride: &[usize],
    vstride: &[usize],
    scale: f32,
    max_bias: f32,
    logit_softcap: f32,
) -> Result<Tensor>
where
    T: WithDType + Copy + UpcastF32 + DowncastF32,
{
    let (b, _q_len, h, d) = (qshape[0], qshape[1], qshape[2], qshape[3]);
    let kv_len = kshape[1];
    let kv_tiles = kv_len.div_ceil(TILE_KV);
    let dv = d;

    // --- head tiling factors and softmax helper -----------------------
    let k_h = kshape[2];
    let v_h = vshape[2];
    let rk2 = h / k_h;
    let rv2 = h / v_h;
    let n2 = 2_usize.pow((h as f32).log2().ceil() as u32);

    // final output
    let mut out = vec![T::cast(0.0); b * h * dv];
    // scratch: one tile  ×  heads ×  dv  (flattened)
    let mut scratch = vec![0f32; kv_tiles * h * dv];
    let mut scratch_s = vec![0f32; kv_tiles * h]; // softmax S per tile
    let mut scratch_m = vec![f32::NEG_INFINITY; kv_tiles * h];

    // Store as plain usize so the capture is Sync (raw *mut T is not Sync)
    let scratch_ptr = scratch.as_mut_ptr() as usize;
    let scratch_s_ptr = scratch_s.as_mut_ptr() as usize;
    let scratch_m_ptr = scratch_m.as_mut_ptr() as usize;

    let mask_info = match (mask_vec, mask_dims) {
        (Some(data), Some(dims)) => Some(MaskInfo { data, dims, b, h }),
        _ => None,
    };

    in_attn_pool(|| {
        (0..kv_tiles).into_par_iter().for_each(|tile_idx| {
            let start = tile_idx * TILE_KV;
            let end = (start + TILE_KV).min(kv_len);

            for b_i in 0..b {
                for h_i in 0..h {
                    // Per‑head slope for ALiBi / NTK bias.
                    let slope = if max_bias > 0.0 {
                        2.0f32.powf(-max_bias * ((h_i + 1) as f32) / n2 as f32)
                    } else {
                        1.0
                    };
                    let k_head = h_i / rk2;
                    let v_head = h_i / rv2;

                    // pointers into scratch
                    let base_vk = ((tile_idx * h + h_i) * dv) as isize;
                    let base_s = (tile_idx * h + h_i) as isize;

                    let q_base = b_i * qstride[0] + h_i * qstride[2];
                    let q_row = &q_data[q_base..q_base + d];

                    // Re‑materialise the pointer from the captured usize.
                    let vkq: &mut [f32] = unsafe {
                        std::slice::from_raw_parts_mut(
                            (scratch_ptr as *mut f32).add(base_vk as usize),
                            dv,
                        )
                    };
                    let mut s = 0f32;
                    let mut m = f32::NEG_INFINITY;

                    for kv_pos in start..end {
                        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
                        {
                            // One‑step look‑ahead prefetch of the next K and V rows.
                            let next_pos = kv_pos + 1;
                            if next_pos < end {
                                let next_k_base =
                                    b_i * kstride[0] + next_pos * kstride[1] + k_head * kstride[2];
                                let next_v_base =
                                    b_i * vstride[0] + next_pos * vstride[1] + v_head * vstride[2];
                                unsafe {
                                    prefetch(k_data.as_ptr().add(next_k_base) as *const u8);
                                    prefetch(v_data.as_ptr().add(next_v_base) as *const u8);
                                }
                            }
                        }
                        // ---------- dot(Q,K) ----------
                        let k_base = b_i * kstride[0] + kv_pos * kstride[1] + k_head * kstride[2];
                        let k_row = &k_data[k_base..k_base + d];

                        let mut s_val = vec_dot_f32(q_row, k_row) * scale;

                        if logit_softcap != 0.0 {
                            s_val = logit_softcap * (s_val / logit_softcap).tanh();
                        }
                        let mask_delta = mask_info
                            .as_ref()
                            .map(|mask| slope * mask.value(b_i, h_i, 0, kv_pos))
                            .unwrap_or(0.0);
                        s_val += mask_delta;

                        // -------- tile-local softmax ----------
                        let m_old = m;
                        let mut ms = 1.0;
                        let mut vs = 1.0;
                        if s_val > m {
                            m = s_val;
                            ms = (m_old - m).exp();
                            for v in vkq.iter_mut() {
                                *v *= ms;
                            }
                        } else {
                            vs = (s_val - m).exp();
                        }

                        // -------- add V ----------
                        let v_base = b_i * vstride[0] + kv_pos * vstride[1] + v_head * vstride[2];
                        for d_i in 0..dv {
                            vkq[d_i] += v_data[v_base + d_i].to_f32() * vs;
                        }

                        s = s * ms + vs;
                    }

                    unsafe {
                        *((scratch_s_ptr as *mut f32).add(base_s as usize)) = s;
                        *((scratch_m_ptr as *mut f32).add(base_s as usize)) = m;
                    }
                }
            }
        });
    });

    // -------- serial reduction over tiles (per head) --------
    for b_i in 0..b {
        for h_i in 0..h {
            let out_off = (b_i * h + h_i) * dv;

            // start with tile 0
            let mut vkq = vec![0f32; dv];
            vkq.copy_from_slice(&scratch[(h_i * dv)..(h_i * dv + dv)]);
            let mut s = scratch_s[h_i];
            let mut m = scratch_m[h_i];

            for tile_idx in 1..kv_tiles {
                let base = (tile_idx * h + h_i) * dv;
                let base_s = tile_idx * h + h_i;

                let m_b = scratch_m[base_s];
                let s_b = scratch_s[base_s];
                let vkq_b = &scratch[base..base + dv];

                if m >= m_b {
                    let factor = (m_b - m).exp();
                    for (v, v_b) in vkq.iter_mut().zip(vkq_b) {
                        *v += v_b * factor;
                    }
                    s += s_b * factor;
                } else {
                    let factor = (m - m_b).exp();
                    for (v, v_a) in vkq.iter_mut().zip(vkq_b) {
                        *v = v_a + *v * factor;
                    }
                    s = s_b + s * factor;
                    m = m_b;
                }
            }

            let inv_s = 1.0 / s;
            for (o, v) in out[out_off..][..dv].iter_mut().zip(vkq.iter()) {
                *o = T::cast(*v * inv_s);
            }
        }
    }

    Tensor::from_vec(out, (b, h, 1, dv), &Device::Cpu)
}

/// Main forward flash-attention CPU routine.
/// Shapes follow Candle convention: (B, S, H, D)
#[allow(clippy::too_many_arguments)]
fn flash_attn_cpu<T>(
    q_data: &[T],
    k_data: &[T],
    v_data: &[T],
    mask_vec: Option<&[f32]>,
    mask_dims: Option<&[usize]>,
    qshape: &[usize],
    kshape: &[usize],
    vshape: &[usize],
    qstride: &[usize],
    kstride: &[usize],
    vstride: &[usize],
    scale: f32,
    max_bias: f32,
    logit_softcap: f32,
) -> Result<Tensor>
where
    T: WithDType + Copy + UpcastF32 + DowncastF32,
{
    let (b, q_len, h, d) = (qshape[0], qshape[1], qshape[2], qshape[3]);
    let kv_len = kshape[1];
    let k_h = kshape[2];
    let v_h = vshape[2];
    let rk2 = h / k_h;
    let rv2 = h / v_h;
    let dv = d;

    let n2 = 2_usize.pow((h as f32).log2().ceil() as u32);

    let mut out = vec![T::cast(0.0); b * q_len * h * dv];

    assert_eq!(qstride[3], 1, "q must have contiguous rows");
    assert_eq!(kstride[3], 1, "k must have contiguous rows");
    assert_eq!(vstride[3], 1, "v must have contiguous rows");

    let mask_info = match (mask_vec, mask_dims) {
        (Some(data), Some(dims)) => Some(MaskInfo { data, dims, b, h }),
        _ => None,
    };

    in_attn_pool(|| {
        out.par_chunks_mut(dv)
            .with_min_len(64)
            .enumerate()
            .for_each(|(row_idx, out_chunk)| {
                // Decode flat index back to (batch, head, q_pos)
                let rows_per_batch = h * q_len;
                let b_i = row_idx / rows_per_batch;
                let rem = row_idx % rows_per_batch;
                let h_i = rem / q_len;
                let q_pos = rem % q_len;

                let slope = if max_bias > 0.0 {
                    2.0f32.powf(-max_bias * ((h_i + 1) as f32) / n2 as f32)
                } else {
                    1.0
                };

                let k_head = h_i / rk2;
                let v_head = h_i / rv2;

                let mut vkq = vec![0f32; dv];
                let mut s = 0.0f32;
                let mut m = f32::NEG_INFINITY;

                // Q row
                let q_base = b_i * qstride[0] + q_pos * qstride[1] + h_i * qstride[2];
                let q_row = &q_data[q_base..q_base + d];

                for kv_pos in 0..kv_len {
                    // -------- ping‑pong prefetch of next KV row --------
                    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
                    {
                        let next_pos = kv_pos + 1;
                        if next_pos < kv_len {
                            let next_k_base =
                                b_i * kstride[0] + next_pos * kstride[1] + k_head * kstride[2];
                            let next_v_base =
                                b_i * vstride[0] + next_pos * vstride[1] + v_head * vstride[2];
                            unsafe {
                                prefetch(k_data.as_ptr().add(next_k_base) as *const u8);
                                prefetch(v_data.as_ptr().add(next_v_base) as *const u8);
                            }
                        }
                    }
                    // ----------------------------------------------------
                    // Mask (optional)
                    let mv = mask_info
                        .as_ref()
                        .map(|mask| slope * mask.value(b_i, h_i, q_pos, kv_pos))
                        .unwrap_or(0.0);
                    if mv == f32::NEG_INFINITY {
                        continue;
                    }

                    // K row
                    let k_base = b_i * kstride[0] + kv_pos * kstride[1] + k_head * kstride[2];
                    let k_row = &k_data[k_base..k_base + d];

                    // dot(Q, K)
                    let mut s_val = vec_dot_f32(q_row, k_row);
                    let mut scale_applied = scale;
                    if logit_softcap != 0.0 {
                        scale_applied /= logit_softcap;
                    }
                    s_val *= scale_applied;
                    if logit_softcap != 0.0 {
                        s_val = logit_softcap * s_val.tanh();
                    }
                    s_val += mv;

                    // online softmax
                    let m_old = m;
                    let mut ms = 1.0f32;
                    let mut vs = 1.0f32;
                    if s_val > m {
                        m = s_val;
                        ms = (m_old - m).exp();
                        for v in vkq.iter_mut() {
                            *v *= ms;
                        }
                    } else {
                        vs = (s_val - m).exp();
                    }

                    // V row (strided) as f32
                    let v_base = b_i * vstride[0] + kv_pos * vstride[1] + v_head * vstride[2];
                    for d_i in 0..dv {
                        vkq[d_i] += v_data[v_base + d_i].to_f32() * vs;
                    }

                    s = s * ms + vs;
                }

                // final normalisation + downcast
                let inv_s = 1.0 / s;
                for (o, v) in out_chunk.iter_mut().zip(vkq.iter()) {
                    *o = T::cast(*v * inv_s);
                }
            });
    });

    let out_shape = (b, h, q_len, dv);
    Tensor::from_vec(out, out_shape, &Device::Cpu)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attention::SdpaParams;
    use candle_core::{Device, Tensor, D};
    use candle_nn::ops::softmax;

    use candle_core::Result as CandleResult;

    const EPS: f32 = 1e-4;

    #[test]
    fn test_flash_attn_cpu_single_q() -> CandleResult<()> {
        // Test for q_len == 1 (single Q)
        let b = 1;
        let h = 2;
        let d = 4;
        let kv_len = 2;

        // Create q with shape (b, 1, h, d) filled with ones
        let q_vec = vec![1.0f32; b * h * d];
        let q = Tensor::from_vec(q_vec.clone(), (b, 1, h, d), &Device::Cpu)?;

        // Create k and v with shape (b, kv_len, h, d) filled with ones
        let k_vec = vec![1.0f32; b * kv_len * h * d];
        let v_vec = vec![1.0f32; b * kv_len * h * d];
        let k = Tensor::from_vec(k_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;
        let v = Tensor::from_vec(v_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;

        // SDPA parameters: scale = 1.0, no softcap
        let sdpa = SdpaParams {
            softmax_scale: 1.0,
            softcap: None,
            n_kv_groups: 1,
            sliding_window: None,
            sinks: None,
        };
        let scale = sdpa.softmax_scale;

        // Run the flash attention CPU function
        let out = run_flash_attn_cpu::<f32>(&q, &k, &v, None, &sdpa)?;
        // Expect output shape (b, h, 1, d)
        assert_eq!(out.shape().dims(), &[b, h, 1, d]);

        // Naive attention
        let q_perm = q.clone().permute((0, 2, 1, 3))?;
        let k_perm = k.clone().permute((0, 2, 1, 3))?;
        let v_perm = v.clone().permute((0, 2, 1, 3))?;

        let q_resh = q_perm.reshape(&[b * h, 1, d])?;
        let k_resh = k_perm.reshape(&[b * h, kv_len, d])?;
        let v_resh = v_perm.reshape(&[b * h, kv_len, d])?;

        let logits = (q_resh.matmul(&k_resh.transpose(1, 2)?)? * scale as f64)?;
        let weights = softmax(&logits, D::Minus1)?;

        let attn_out = weights.matmul(&v_resh)?;

        let naive_out = attn_out.reshape(&[b, h, 1, d])?;

        let flash_data = out.flatten_all()?.to_vec1::<f32>()?;
        let naive_data = naive_out.flatten_all()?.to_vec1::<f32>()?;
        for (f_val, n_val) in flash_data.iter().zip(naive_data.iter()) {
            assert!((f_val - n_val).abs() < EPS);
        }

        Ok(())
    }

    /// rxguide patch 6: the two-pass decode kernel against a plain scalar
    /// reference, with two sequences, grouped KV heads, a mask, a length that
    /// is not a multiple of the tile, and with and without softcap; and the
    /// upstream tiled kernel against the same reference for one sequence
    /// (with two it returns the last sequence's result for both: its scratch
    /// buffers have no batch index).
    #[test]
    fn two_pass_decode_matches_reference() -> CandleResult<()> {
        let (h, kv_h, d) = (6, 2, 16);
        // Keys: more than one chunk of the split kernel (and of the tiled
        // kernel's tiles), fewer than one, and a long row whose first chunk is
        // entirely masked (a sliding window).
        for (kv_len, window) in [(10 * TILE_KV + 7, 0), (3, 0), (700, 400)] {
            let values = |n: usize, seed: f32| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i as f32) * 0.53 + seed).sin() * 2.0)
                    .collect()
            };
            // Mask out every fifth key, as a padding or window mask would (not a
            // tile's first key: the tiled kernel gives NaN when a tile starts
            // masked, since exp(-inf - -inf) is NaN).
            let mask: Vec<f32> = (0..kv_len)
                .map(|i| {
                    if i < window || (i % 5 == 4 && i % TILE_KV != 0) {
                        f32::NEG_INFINITY
                    } else {
                        0.0
                    }
                })
                .collect();
            let mask_dims = [1, kv_len];
            let scale = 0.25f32;
            for b in [1, 2] {
                let q = values(b * h * d, 0.4);
                let k = values(b * kv_len * kv_h * d, 1.1);
                let v = values(b * kv_len * kv_h * d, 2.2);
                let qshape = [b, 1, h, d];
                let kshape = [b, kv_len, kv_h, d];
                let qstride = [h * d, h * d, d, 1];
                let kstride = [kv_len * kv_h * d, kv_h * d, d, 1];
                for softcap in [0.0f32, 3.0] {
                    // Reference: softmax over keys, then the weighted sum of V.
                    let mut reference = vec![0f32; b * h * d];
                    for b_i in 0..b {
                        for h_i in 0..h {
                            let kv = h_i / (h / kv_h);
                            let qb = b_i * qstride[0] + h_i * d;
                            let scores: Vec<f32> = (0..kv_len)
                                .map(|j| {
                                    let kb = b_i * kstride[0] + j * kstride[1] + kv * d;
                                    let mut s: f32 =
                                        (0..d).map(|x| q[qb + x] * k[kb + x]).sum::<f32>() * scale;
                                    if softcap != 0.0 {
                                        s = softcap * (s / softcap).tanh();
                                    }
                                    s + mask[j]
                                })
                                .collect();
                            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                            let weights: Vec<f32> =
                                scores.iter().map(|s| (s - max).exp()).collect();
                            let total: f32 = weights.iter().sum();
                            for x in 0..d {
                                reference[(b_i * h + h_i) * d + x] = (0..kv_len)
                                    .map(|j| {
                                        weights[j]
                                            * v[b_i * kstride[0] + j * kstride[1] + kv * d + x]
                                    })
                                    .sum::<f32>()
                                    / total;
                            }
                        }
                    }
                    let two_pass = attn_cpu_single_q_two_pass(
                        &q,
                        &k,
                        &v,
                        Some(&mask),
                        Some(&mask_dims),
                        &qshape,
                        &kshape,
                        &kshape,
                        &qstride,
                        &kstride,
                        &kstride,
                        scale,
                        softcap,
                    )?;
                    assert_eq!(two_pass.dims(), &[b, h, 1, d]);
                    let two_pass = two_pass.flatten_all()?.to_vec1::<f32>()?;
                    for (i, (r, p)) in reference.iter().zip(&two_pass).enumerate() {
                        assert!(
                        (r - p).abs() < EPS,
                        "kv_len={kv_len} b={b} element {i}: reference {r} vs two-pass {p} (softcap {softcap})"
                    );
                    }
                    if b == 1 && window == 0 {
                        let tiled = flash_attn_cpu_single_q(
                            &q,
                            &k,
                            &v,
                            Some(&mask),
                            Some(&mask_dims),
                            &qshape,
                            &kshape,
                            &kshape,
                            &qstride,
                            &kstride,
                            &kstride,
                            scale,
                            0.0,
                            softcap,
                        )?;
                        let tiled = tiled.flatten_all()?.to_vec1::<f32>()?;
                        for (i, (r, t)) in reference.iter().zip(&tiled).enumerate() {
                            assert!(
                                (r - t).abs() < EPS,
                                "element {i}: reference {r} vs tiled {t} (softcap {softcap})"
                            );
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// rxguide patch 5: the GEMM prefill path against the flash loop, with
    /// grouped KV heads, a causal mask over a cached prefix, more query rows
    /// than one block, and with and without softcap.
    #[test]
    fn gemm_attn_matches_flash_attn() -> CandleResult<()> {
        let (b, h, kv_h, d) = (1, 4, 2, 8);
        let (q_len, prefix) = (CPU_GEMM_ATTN_Q_BLOCK + 44, 20);
        let kv_len = q_len + prefix;
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n).map(|i| ((i as f32) * 0.37 + seed).sin()).collect()
        };
        // Flash layout (b, seq, heads, d); the GEMM path takes (b, heads, seq, d).
        let q = Tensor::from_vec(
            values(b * q_len * h * d, 0.1),
            (b, q_len, h, d),
            &Device::Cpu,
        )?;
        let k = Tensor::from_vec(
            values(b * kv_len * kv_h * d, 1.3),
            (b, kv_len, kv_h, d),
            &Device::Cpu,
        )?;
        let v = Tensor::from_vec(
            values(b * kv_len * kv_h * d, 2.7),
            (b, kv_len, kv_h, d),
            &Device::Cpu,
        )?;
        let mask: Vec<f32> = (0..q_len * kv_len)
            .map(|i| {
                if i % kv_len <= i / kv_len + prefix {
                    0.0
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        let table = Tensor::from_vec(mask, (q_len, kv_len), &Device::Cpu)?;
        // A plain table and one with unit axes take the fused softmax; one
        // per head takes the broadcasting path.
        let masks = [
            table.clone(),
            table.reshape((1, 1, q_len, kv_len))?,
            table.broadcast_as((1, h, q_len, kv_len))?.contiguous()?,
        ];
        for (mask, softcap) in masks.iter().flat_map(|m| [(m, None), (m, Some(2.0))]) {
            let sdpa = SdpaParams {
                softmax_scale: 1.0 / (d as f32).sqrt(),
                softcap,
                n_kv_groups: h / kv_h,
                sliding_window: None,
                sinks: None,
            };
            let flash = run_flash_attn_cpu::<f32>(&q, &k, &v, Some(mask), &sdpa)?;
            let gemm = run_gemm_attn_cpu(
                &q.transpose(1, 2)?,
                &k.transpose(1, 2)?,
                &v.transpose(1, 2)?,
                Some(mask),
                &sdpa,
            )?;
            assert_eq!(gemm.dims(), flash.dims());
            let flash = flash.flatten_all()?.to_vec1::<f32>()?;
            let gemm = gemm.flatten_all()?.to_vec1::<f32>()?;
            for (i, (f, g)) in flash.iter().zip(&gemm).enumerate() {
                assert!(
                    (f - g).abs() < EPS,
                    "element {i}: flash {f} vs gemm {g} (mask {:?}, softcap {softcap:?})",
                    mask.dims()
                );
            }
        }
        Ok(())
    }

    #[test]
    fn test_flash_attn_cpu_full_q() -> CandleResult<()> {
        // Test for q_len > 1 (full Q)
        let b = 1;
        let q_len = 2;
        let h = 2;
        let d = 4;
        let kv_len = 2;

        // Create q with shape (b, q_len, h, d) filled with ones
        let q_vec = vec![1.0f32; b * q_len * h * d];
        let q = Tensor::from_vec(q_vec.clone(), (b, q_len, h, d), &Device::Cpu)?;

        // Create k and v with shape (b, kv_len, h, d) filled with ones
        let k_vec = vec![1.0f32; b * kv_len * h * d];
        let v_vec = vec![1.0f32; b * kv_len * h * d];
        let k = Tensor::from_vec(k_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;
        let v = Tensor::from_vec(v_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;

        // SDPA parameters: scale = 1.0, no softcap
        let sdpa = SdpaParams {
            softmax_scale: 1.0,
            softcap: None,
            n_kv_groups: 1,
            sliding_window: None,
            sinks: None,
        };
        let scale = sdpa.softmax_scale;

        // Run the flash attention CPU function
        let out = run_flash_attn_cpu::<f32>(&q, &k, &v, None, &sdpa)?;
        // Expect output shape (b, h, q_len, d)
        assert_eq!(out.shape().dims(), &[b, h, q_len, d]);

        // Naive attention
        let q_perm = q.clone().permute((0, 2, 1, 3))?;
        let k_perm = k.clone().permute((0, 2, 1, 3))?;
        let v_perm = v.clone().permute((0, 2, 1, 3))?;

        let q_resh = q_perm.reshape(&[b * h, q_len, d])?;
        let k_resh = k_perm.reshape(&[b * h, kv_len, d])?;
        let v_resh = v_perm.reshape(&[b * h, kv_len, d])?;

        let logits = (q_resh.matmul(&k_resh.transpose(1, 2)?)? * scale as f64)?;
        let weights = softmax(&logits, D::Minus1)?;

        let attn_out = weights.matmul(&v_resh)?;

        let naive_out = attn_out.reshape(&[b, h, q_len, d])?;

        // 7) Compare element‐by‐element
        let flash_data = out.flatten_all()?.to_vec1::<f32>()?;
        let naive_data = naive_out.flatten_all()?.to_vec1::<f32>()?;
        for (f_val, n_val) in flash_data.iter().zip(naive_data.iter()) {
            assert!((f_val - n_val).abs() < EPS);
        }

        Ok(())
    }

    #[test]
    fn test_flash_attn_cpu_single_q_softcap() -> CandleResult<()> {
        // Test for q_len == 1 (single Q) with softcap
        let b = 1;
        let h = 2;
        let d = 4;
        let kv_len = 2;

        // Create q with shape (b, 1, h, d) filled with ones
        let q_vec = vec![1.0f32; b * h * d];
        let q = Tensor::from_vec(q_vec.clone(), (b, 1, h, d), &Device::Cpu)?;

        // Create k and v with shape (b, kv_len, h, d) filled with ones
        let k_vec = vec![1.0f32; b * kv_len * h * d];
        let v_vec = vec![1.0f32; b * kv_len * h * d];
        let k = Tensor::from_vec(k_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;
        let v = Tensor::from_vec(v_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;

        // SDPA parameters: scale = 1.0, softcap = Some(0.5)
        let sdpa = SdpaParams {
            softmax_scale: 1.0,
            softcap: Some(0.5),
            n_kv_groups: 1,
            sliding_window: None,
            sinks: None,
        };
        let scale = sdpa.softmax_scale;
        let sc = sdpa.softcap.unwrap();

        // Run the flash attention CPU function
        let out = run_flash_attn_cpu::<f32>(&q, &k, &v, None, &sdpa)?;
        // Expect output shape (b, h, 1, d)
        assert_eq!(out.shape().dims(), &[b, h, 1, d]);

        // Naive attention with softcap
        let q_perm = q.clone().permute((0, 2, 1, 3))?;
        let k_perm = k.clone().permute((0, 2, 1, 3))?;
        let v_perm = v.clone().permute((0, 2, 1, 3))?;

        let q_resh = q_perm.reshape(&[b * h, 1, d])?;
        let k_resh = k_perm.reshape(&[b * h, kv_len, d])?;
        let v_resh = v_perm.reshape(&[b * h, kv_len, d])?;

        let logits = (q_resh.matmul(&k_resh.transpose(1, 2)?)? * scale as f64)?;

        let logits = (logits / sc as f64)?;
        let logits = logits.tanh()?;
        let logits = (logits * sc as f64)?;

        let weights = softmax(&logits, D::Minus1)?;
        let attn_out = weights.matmul(&v_resh)?;
        let naive_out = attn_out.reshape(&[b, h, 1, d])?;

        let flash_data = out.flatten_all()?.to_vec1::<f32>()?;
        let naive_data = naive_out.flatten_all()?.to_vec1::<f32>()?;
        for (f_val, n_val) in flash_data.iter().zip(naive_data.iter()) {
            assert!((f_val - n_val).abs() < EPS);
        }
        Ok(())
    }

    #[test]
    fn test_flash_attn_cpu_full_q_softcap() -> CandleResult<()> {
        // Test for q_len > 1 (full Q) with softcap
        let b = 1;
        let q_len = 2;
        let h = 2;
        let d = 4;
        let kv_len = 2;

        // Create q with shape (b, q_len, h, d) filled with ones
        let q_vec = vec![1.0f32; b * q_len * h * d];
        let q = Tensor::from_vec(q_vec.clone(), (b, q_len, h, d), &Device::Cpu)?;

        // Create k and v with shape (b, kv_len, h, d) filled with ones
        let k_vec = vec![1.0f32; b * kv_len * h * d];
        let v_vec = vec![1.0f32; b * kv_len * h * d];
        let k = Tensor::from_vec(k_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;
        let v = Tensor::from_vec(v_vec.clone(), (b, kv_len, h, d), &Device::Cpu)?;

        // SDPA parameters: scale = 1.0, softcap = Some(0.5)
        let sdpa = SdpaParams {
            softmax_scale: 1.0,
            softcap: Some(0.5),
            n_kv_groups: 1,
            sliding_window: None,
            sinks: None,
        };
        let scale = sdpa.softmax_scale;
        let sc = sdpa.softcap.unwrap();

        // Run the flash attention CPU function
        let out = run_flash_attn_cpu::<f32>(&q, &k, &v, None, &sdpa)?;
        // Expect output shape (b, h, q_len, d)
        assert_eq!(out.shape().dims(), &[b, h, q_len, d]);

        // Naive attention with softcap
        let q_perm = q.clone().permute((0, 2, 1, 3))?;
        let k_perm = k.clone().permute((0, 2, 1, 3))?;
        let v_perm = v.clone().permute((0, 2, 1, 3))?;

        let q_resh = q_perm.reshape(&[b * h, q_len, d])?;
        let k_resh = k_perm.reshape(&[b * h, kv_len, d])?;
        let v_resh = v_perm.reshape(&[b * h, kv_len, d])?;

        let logits = (q_resh.matmul(&k_resh.transpose(1, 2)?)? * scale as f64)?;

        let logits = (logits / sc as f64)?;
        let logits = logits.tanh()?;
        let logits = (logits * sc as f64)?;

        let weights = softmax(&logits, D::Minus1)?;
        let attn_out = weights.matmul(&v_resh)?;
        let naive_out = attn_out.reshape(&[b, h, q_len, d])?;

        let flash_data = out.flatten_all()?.to_vec1::<f32>()?;
        let naive_data = naive_out.flatten_all()?.to_vec1::<f32>()?;
        for (f_val, n_val) in flash_data.iter().zip(naive_data.iter()) {
            assert!((f_val - n_val).abs() < EPS);
        }
        Ok(())
    }

    // rxguide patch 9: the SIMD score rows and lane reductions against plain loops.
    #[test]
    fn decode_score_helpers_match_plain_loops() {
        let values = |n: usize, seed: f32| -> Vec<f32> {
            (0..n)
                .map(|i| ((i as f32) * 0.37 + seed).sin() * 3.0)
                .collect()
        };
        for (d, n, step) in [(16, 1, 16), (64, 23, 192), (128, 8, 128), (64, 1000, 64)] {
            let q = values(d, 0.3);
            let base = 5;
            let k = values(base + n * step + d, 1.7);
            let mut got = vec![f32::NAN; n];
            let simd = dot_rows_simd(&q, &k, base, step, &mut got);
            if !simd {
                eprintln!("no AVX-512 here: SIMD score rows not exercised");
                return;
            }
            for (j, g) in got.iter().enumerate() {
                let want = vec_dot_f32(&q, &k[base + j * step..][..d]);
                assert!(
                    (g - want).abs() <= 1e-4 * want.abs().max(1.0),
                    "d={d} key {j}: {g} vs {want}"
                );
            }
        }
        // Not f32, or a row length the kernel does not take: declined.
        let mut out = vec![0f32; 2];
        assert!(!dot_rows_simd(&[1f32; 12], &[1f32; 64], 0, 12, &mut out));
        assert!(!dot_rows_simd(
            &[f16::ONE; 16],
            &[f16::ONE; 64],
            0,
            16,
            &mut out
        ));

        for n in [0, 1, 15, 16, 17, 100] {
            let mut x = values(n, 0.9);
            if n > 3 {
                x[3] = f32::NEG_INFINITY;
            }
            let want_max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            assert_eq!(max_f32(&x), want_max);
            let want: Vec<f32> = x.iter().map(|v| (v - want_max).exp()).collect();
            let sum = exp_sub_sum(&mut x, want_max);
            assert!((sum - want.iter().sum::<f32>()).abs() <= 1e-5 * sum.max(1.0));
            assert_eq!(x, want);
        }
    }
}
