//! A deterministic synthetic passage corpus for retrieval benches: a
//! 20,000-word vocabulary with a skewed (Zipf-like) word frequency, 400 drug
//! names, passages of 60–140 words with a 3–8 word title and 0–2 drugs,
//! roughly like the bundled knowledge base and openFDA label sections.
//! No dependencies: a xorshift generator seeded by the caller.

#![allow(dead_code)]

pub struct Passage {
    pub id: String,
    pub title: String,
    pub drugs: Vec<String>,
    pub text: String,
}

pub struct Corpus {
    state: u64,
    words: Vec<String>,
    drugs: Vec<String>,
}

const SYLLABLES: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pha", "tro", "cli", "dex", "gan", "hep",
    "lor", "mab", "nol", "pril", "sar", "tin", "vir", "xa", "yl", "zol",
];
const CLINICAL: &[&str] = &[
    "bleeding",
    "renal",
    "hepatic",
    "dose",
    "interaction",
    "pregnancy",
    "elderly",
    "risk",
    "contraindicated",
    "monitor",
    "clearance",
    "potassium",
    "qt",
    "prolongation",
    "inr",
    "hypoglycaemia",
    "serotonin",
    "avoid",
    "reduce",
    "impairment",
];

impl Corpus {
    pub fn new(seed: u64) -> Corpus {
        // The vocabulary does not depend on the seed: queries and corpus share it.
        let mut vocab = Corpus {
            state: 0x9E37_79B9_7F4A_7C15,
            words: Vec::new(),
            drugs: Vec::new(),
        };
        let mut words: Vec<String> = CLINICAL.iter().map(|s| s.to_string()).collect();
        while words.len() < 20_000 {
            let n = 2 + vocab.below(3);
            let w: String = (0..n)
                .map(|_| SYLLABLES[vocab.below(SYLLABLES.len())])
                .collect();
            words.push(w);
        }
        let drugs = (0..400)
            .map(|i| {
                let n = 3 + vocab.below(2);
                let mut d: String = (0..n)
                    .map(|_| SYLLABLES[vocab.below(SYLLABLES.len())])
                    .collect();
                d.push_str(&format!("{i}"));
                d
            })
            .collect();
        Corpus {
            state: seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1,
            words,
            drugs,
        }
    }

    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Skewed pick: low ranks (frequent words) much more often.
    fn word(&mut self) -> &str {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let rank = ((self.words.len() as f64) * u * u * u) as usize;
        &self.words[rank.min(self.words.len() - 1)]
    }

    fn sentence(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n * 8);
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            let w = self.word().to_string();
            s.push_str(&w);
        }
        s
    }

    pub fn passage(&mut self, i: usize) -> Passage {
        let nd = self.below(3);
        let drugs: Vec<String> = (0..nd)
            .map(|_| {
                let i = self.below(self.drugs.len());
                self.drugs[i].clone()
            })
            .collect();
        let tn = 3 + self.below(6);
        let mut title = self.sentence(tn);
        if let Some(d) = drugs.first() {
            title = format!("{d} {title}");
        }
        let n = 60 + self.below(81);
        let mut text = self.sentence(n);
        for d in &drugs {
            text.push(' ');
            text.push_str(d);
        }
        Passage {
            id: format!("synth-{i:07}"),
            title,
            drugs,
            text,
        }
    }

    /// A retrieval query like the pipeline's: drug names and clinical terms,
    /// with 1–2 case drugs to boost.
    pub fn query(&mut self) -> (String, Vec<String>) {
        let boost: Vec<String> = (0..1 + self.below(2))
            .map(|_| {
                let i = self.below(self.drugs.len());
                self.drugs[i].clone()
            })
            .collect();
        let mut q = boost.join(" ");
        for _ in 0..4 {
            q.push(' ');
            q.push_str(CLINICAL[self.below(CLINICAL.len())]);
        }
        q.push(' ');
        let w = self.sentence(2);
        q.push_str(&w);
        (q, boost)
    }
}

/// A field of /proc/self/status in KiB (0 where unavailable).
/// A BM25 index over the first `n` passages of the corpus with `seed`.
pub fn index(n: usize, seed: u64) -> rxguide::kb::SearchIndex {
    let mut index = rxguide::kb::SearchIndex::default();
    let mut corpus = Corpus::new(seed);
    for i in 0..n {
        let p = corpus.passage(i);
        index.add(&p.id, &p.title, &p.drugs, &p.text);
    }
    index.finish();
    index
}

pub fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}
