//! BM25 retrieval on synthetic corpora of 10k and 100k passages
//! (`benches/synth`): index build and top-6 query, with the bundled
//! knowledge base's query as the baseline in the same run. The 1M corpus
//! and peak RSS: `cargo run --release --example bench_retrieval -- 1000000`.

mod synth;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use rxguide::kb::{Kb, SearchIndex, Sources};

fn build(n: usize) -> SearchIndex {
    synth::index(n, 42)
}

fn bench(c: &mut Criterion) {
    let sources = Sources::bundled();
    let kb = Kb::link(sources.parse().expect("kb parses"), sources.hash()).expect("kb links");

    let mut g = c.benchmark_group("retrieval query top-6");
    g.bench_function("baseline: bundled kb", |b| {
        b.iter(|| {
            kb.index.search(
                black_box("warfarin ibuprofen bleeding interaction older adults"),
                &["ibuprofen".into()],
                6,
            )
        })
    });
    for n in [10_000usize, 100_000] {
        let index = build(n);
        let mut q = synth::Corpus::new(7);
        let queries: Vec<(String, Vec<String>)> = (0..64).map(|_| q.query()).collect();
        let mut i = 0;
        g.bench_with_input(BenchmarkId::new("synthetic", n), &index, |b, index| {
            b.iter(|| {
                let (query, boost) = &queries[i % queries.len()];
                i += 1;
                index.search(black_box(query), boost, 6)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("retrieval index build");
    g.sample_size(10);
    g.bench_function("synthetic 10000", |b| b.iter(|| build(black_box(10_000))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
