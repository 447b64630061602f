//! `check` on a realistic polypharmacy case (10 current medicines, two
//! proposed) against the bundled knowledge base, plus retrieval alone and
//! the sled load, each against a baseline in the same run: the derived
//! values alone (no rules, no retrieval).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rxguide::clinical::Derived;
use rxguide::intake::parse_case;
use rxguide::kb::{Kb, Sources};
use rxguide::pipeline::assess;

const CASE: &str = r#"
id = "polypharmacy-10"
conditions = ["atrial fibrillation", "type 2 diabetes", "heart failure", "osteoarthritis", "depression"]
[patient]
age = 78
sex = "female"
weight_kg = 64
height_cm = 160
[labs]
creatinine_mg_dl = 1.4
potassium_mmol_l = 5.2
qtc_ms = 470
inr = 2.4
[[medications]]
drug = "warfarin"
dose = "5 mg"
frequency = "daily"
[[medications]]
drug = "metformin"
dose = "500 mg"
frequency = "bid"
[[medications]]
drug = "lisinopril"
dose = "20 mg"
frequency = "daily"
[[medications]]
drug = "furosemide"
dose = "40 mg"
frequency = "daily"
[[medications]]
drug = "spironolactone"
dose = "25 mg"
frequency = "daily"
[[medications]]
drug = "atorvastatin"
dose = "40 mg"
frequency = "daily"
[[medications]]
drug = "sertraline"
dose = "50 mg"
frequency = "daily"
[[medications]]
drug = "omeprazole"
dose = "20 mg"
frequency = "daily"
[[medications]]
drug = "digoxin"
dose = "0.125 mg"
frequency = "daily"
[[medications]]
drug = "amiodarone"
dose = "200 mg"
frequency = "daily"
[[proposed]]
drug = "ibuprofen"
dose = "400 mg"
frequency = "tid"
[[proposed]]
drug = "clarithromycin"
dose = "500 mg"
frequency = "bid"
"#;

fn bench(c: &mut Criterion) {
    let sources = Sources::bundled();
    let kb = Kb::link(sources.parse().expect("kb parses"), sources.hash()).expect("kb links");
    let case = parse_case(CASE, "bench").expect("valid case");
    let flags = assess(&kb, &case).flags.len();
    assert!(
        flags >= 5,
        "the bench case exercises many rules ({flags} flags)"
    );

    let mut g = c.benchmark_group("check");
    g.bench_function("baseline: derived values only", |b| {
        b.iter(|| Derived::compute(black_box(&case)))
    });
    g.bench_function("assess: 10 meds + 2 proposed", |b| {
        b.iter(|| assess(black_box(&kb), black_box(&case)))
    });
    g.bench_function("parse case file", |b| {
        b.iter(|| parse_case(black_box(CASE), "bench"))
    });
    g.finish();

    let mut g = c.benchmark_group("retrieval");
    g.bench_function("bm25 top-6, bundled kb", |b| {
        b.iter(|| {
            kb.index.search(
                black_box("warfarin ibuprofen bleeding interaction older adults"),
                &["ibuprofen".into()],
                6,
            )
        })
    });
    g.finish();

    let mut g = c.benchmark_group("kb");
    g.sample_size(10);
    let dir = tempfile::tempdir().expect("tempdir");
    rxguide::kb::store::open_kb(dir.path(), &sources).expect("first open builds");
    g.bench_function("open: load + link from sled (warm)", |b| {
        b.iter(|| rxguide::kb::store::open_kb(dir.path(), &sources).expect("opens"))
    });
    g.bench_function("link from parsed sources", |b| {
        b.iter(|| Kb::link(sources.parse().expect("parses"), sources.hash()).expect("links"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
