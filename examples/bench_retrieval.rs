//! Retrieval at scale on a synthetic corpus (deterministic, generated here):
//! index build rate, query latency percentiles and peak RSS.
//!
//! ```text
//! cargo run --release --example bench_retrieval -- 1000000 [queries]
//! ```
//!
//! One corpus size per process, so that the peak RSS (VmHWM) is this size's.
//! Prints one JSON line. The corpus generator is shared with
//! `benches/retrieval.rs` (`benches/synth/mod.rs`).

#[path = "../benches/synth/mod.rs"]
mod synth;

use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().as_deref().unwrap_or("100000").parse()?;
    let queries: usize = args.next().as_deref().unwrap_or("1000").parse()?;

    let rss_before = synth::rss_kib("VmRSS");
    let began = Instant::now();
    let index = synth::index(n, 42);
    let build_s = began.elapsed().as_secs_f64();

    let mut q = synth::Corpus::new(7);
    let mut lat = Vec::with_capacity(queries);
    let mut hits = 0usize;
    // FNV-1a over every hit's id and score: equal before/after a change.
    let mut checksum = 0xcbf2_9ce4_8422_2325u64;
    for _ in 0..queries {
        let (query, boost) = q.query();
        let t = Instant::now();
        let h = index.search(&query, &boost, 6);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        hits += h.len();
        for hit in &h {
            for byte in hit.id.bytes().chain(hit.score.to_bits().to_le_bytes()) {
                checksum = (checksum ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    let line = serde_json::json!({
        "passages": n,
        "build_s": build_s,
        "build_passages_per_s": n as f64 / build_s,
        "queries": queries,
        "mean_hits": hits as f64 / queries as f64,
        "checksum": format!("{checksum:016x}"),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": lat.last().copied().unwrap_or(0.0),
        "rss_before_mib": rss_before / 1024,
        "rss_mib": synth::rss_kib("VmRSS") / 1024,
        "peak_rss_mib": synth::rss_kib("VmHWM") / 1024,
    });
    println!("{line}");
    Ok(())
}
