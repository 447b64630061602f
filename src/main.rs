//! The `rxguide` binary: argument parsing and dispatch only; the work is in
//! the library (`rxguide::cli` for the headless commands).

use clap::{Parser, Subcommand};
use rxguide::cli::{self, Global};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "rxguide",
    version,
    about = "Guided, safe, personalised prescribing: deterministic risk flags with cited sources and a grounded local LLM"
)]
struct Args {
    /// Where the compiled knowledge base and sessions live (default: the XDG data dir).
    #[arg(long, global = true, env = "RXGUIDE_DATA")]
    data_dir: Option<PathBuf>,
    /// Use this knowledge-base source tree instead of the bundled one.
    #[arg(long = "kb", global = true, value_name = "DIR")]
    kb_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a case file: derived values, flags, sources.
    Check {
        case: PathBuf,
        /// Print the JSON of CASE_FORMAT.md.
        #[arg(long)]
        json: bool,
        /// Include the trace (what the program did).
        #[arg(long)]
        trace: bool,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Assess a case (TOML or FHIR) and write it as a FHIR R4 Bundle with
    /// the flags as DetectedIssue resources.
    Export {
        case: PathBuf,
        /// Output file for the FHIR Bundle (JSON); `-` for stdout.
        #[arg(long, value_name = "OUT.json")]
        fhir: PathBuf,
        #[command(flatten)]
        load: LoadArgs,
    },
    /// Serve CDS Hooks (order-select, order-sign) over HTTP: GET /cds-services, POST /cds-services/rxguide-medication-prescribe.
    Serve {
        /// Address to listen on (loopback unless told otherwise).
        #[arg(long, default_value = "127.0.0.1:8787", value_name = "IP:PORT")]
        bind: String,
        /// Require `Authorization: Bearer TOKEN` on every request.
        #[arg(long, env = "RXGUIDE_SERVE_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// A browser origin allowed to call the service (repeatable, e.g.
        /// https://sandbox.cds-hooks.org); none given: any origin.
        #[arg(long = "allow-origin", value_name = "ORIGIN")]
        allow_origin: Vec<String>,
        /// Write the stored CDS Hooks feedback (with the cards it names) as
        /// JSON to FILE (`-`: stdout) and exit, instead of serving.
        #[arg(long, value_name = "FILE")]
        export_feedback: Option<PathBuf>,
        /// Add the model's grounded answer as an info card (flags never depend on it).
        #[arg(long)]
        with_llm: bool,
        /// Seconds a request may wait for the model before answering without its card.
        #[arg(long, default_value_t = 60)]
        llm_budget_secs: u64,
        /// Longest model answer, in tokens (the same default as `ask`, `eval` and the app).
        #[arg(long, default_value_t = rxguide::answer::DEFAULT_MAX_TOKENS)]
        llm_max_tokens: usize,
        #[command(flatten)]
        backend: cli::BackendArgs,
    },
    /// Open the terminal app (the default with no arguments), optionally on a case file.
    Tui(TuiArgs),
    /// Ask the model for a grounded recommendation on a case, then check its citations.
    Ask {
        case: PathBuf,
        /// Retrieval-augmented (on) or the baseline arm without passages (off).
        #[arg(long, default_value = "on", value_parser = ["on", "off"])]
        rag: String,
        /// The question (default: whether to start the proposed drug).
        #[arg(long)]
        question: Option<String>,
        /// Longest answer, in tokens.
        #[arg(long, default_value_t = rxguide::answer::DEFAULT_MAX_TOKENS)]
        max_tokens: usize,
        /// Answer, per-sentence support, conflicts and timings as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        backend: cli::BackendArgs,
    },
    /// Run every case in a directory under each RAG condition and write metrics tables.
    Eval {
        dir: PathBuf,
        /// Conditions: on, off, or on,off.
        #[arg(long, default_value = "on,off", value_parser = cli::eval::parse_conditions)]
        rag: std::vec::Vec<bool>,
        /// Where to write <condition>.md/.json, summary.md and answers.json.
        #[arg(long, default_value = "eval-out")]
        out: PathBuf,
        #[arg(long, default_value_t = rxguide::answer::DEFAULT_MAX_TOKENS)]
        max_tokens: usize,
        /// Only the first N cases (sorted by file name).
        #[arg(long)]
        limit: Option<usize>,
        /// Write into an output folder that already holds eval results
        /// (they are replaced; without this the run refuses).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        backend: cli::BackendArgs,
    },
    /// Rehearse prescribing decisions on teaching cases, scored against the flags.
    Rehearse {
        /// Directory of teaching cases (case files with [expect]).
        #[arg(default_value = "sessions/cases")]
        dir: PathBuf,
        /// Trainee name (asked on screen otherwise); progress is saved under it.
        #[arg(long)]
        trainee: Option<String>,
        /// Write the attempts (of --trainee, else everyone's) as CSV and exit; `-` for stdout.
        #[arg(long, value_name = "FILE")]
        export_csv: Option<PathBuf>,
        /// Colour theme: dark, light, high-contrast, or a theme file.
        #[arg(long, env = "RXGUIDE_THEME")]
        theme: Option<String>,
    },
    /// Blinded clinician review of an eval run's answers, with a rubric per answer.
    Review {
        /// The directory `rxguide eval --out` wrote (with answers.json).
        eval_dir: PathBuf,
        /// Write every answer's scores as CSV (unblinded) and exit; `-` for stdout.
        #[arg(long, value_name = "FILE")]
        export_csv: Option<PathBuf>,
        /// Write the per-condition table as Markdown and exit; `-` for stdout.
        #[arg(long, value_name = "FILE")]
        export_md: Option<PathBuf>,
        /// Print the unblinded per-condition table and exit.
        #[arg(long)]
        summary: bool,
        #[arg(long, env = "RXGUIDE_THEME")]
        theme: Option<String>,
    },
    /// Play a scripted session (keys and pauses, TOML) in the terminal app.
    Demo {
        script: PathBuf,
        /// Override the script's backend (default: the script's, else none).
        #[arg(long)]
        backend: Option<rxguide::llm::BackendKind>,
        /// GGUF model file for the local backend.
        #[arg(long, env = "RXGUIDE_MODEL", value_name = "PATH")]
        model: Option<PathBuf>,
        #[arg(long, env = "RXGUIDE_THEME")]
        theme: Option<String>,
    },
    /// The open-model catalogue: licences, openness, GGUF, how to run each with rxguide.
    Models {
        #[arg(long)]
        json: bool,
    },
    /// Knowledge-base tools.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
}

/// Options of the terminal app.
#[derive(clap::Args, Debug, Default)]
struct TuiArgs {
    /// Open this case file (TOML) and check it.
    case: Option<PathBuf>,
    /// Colour theme: dark, light, high-contrast, or a theme file (NO_COLOR is honoured).
    #[arg(long, env = "RXGUIDE_THEME")]
    theme: Option<String>,
    /// Model backend: local, openai or none.
    #[arg(long, env = "RXGUIDE_BACKEND")]
    backend: Option<rxguide::llm::BackendKind>,
    /// GGUF model file for the local backend.
    #[arg(long, env = "RXGUIDE_MODEL", value_name = "PATH")]
    model: Option<PathBuf>,
    /// OpenAI-compatible server URL for the openai backend.
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Model name on the OpenAI-compatible server.
    #[arg(long, value_name = "NAME")]
    model_name: Option<String>,
    /// Directory for exported notes and case files (default: <data>/sessions).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Record the keystrokes into a demo script (play it with `rxguide demo FILE`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
}

fn run_tui(global: Global, a: TuiArgs) -> anyhow::Result<i32> {
    rxguide::tui::run(rxguide::tui::TuiOptions {
        global,
        case: a.case,
        theme: a.theme,
        backend: rxguide::llm::BackendConfig {
            kind: a.backend.unwrap_or_default(),
            model_path: a.model,
            base_url: a.base_url,
            model_name: a.model_name,
            ..Default::default()
        },
        out: a.out,
        demo: None,
        record: a.record,
    })
}

fn run_demo(
    global: Global,
    script: PathBuf,
    backend: Option<rxguide::llm::BackendKind>,
    model: Option<PathBuf>,
    theme: Option<String>,
) -> anyhow::Result<i32> {
    let s = match rxguide::demo::Script::load(&script) {
        Ok(s) => s,
        Err(e) => {
            cli::print_error(&e);
            return Ok(cli::EXIT_BAD_INPUT);
        }
    };
    let kind = match backend {
        Some(k) => k,
        None => s
            .backend
            .as_deref()
            .unwrap_or("none")
            .parse()
            .map_err(anyhow::Error::msg)?,
    };
    rxguide::tui::run(rxguide::tui::TuiOptions {
        global,
        case: s.case.clone(),
        theme: theme.or(s.theme.clone()),
        backend: rxguide::llm::BackendConfig {
            kind,
            model_path: model.or(s.model.clone()),
            ..Default::default()
        },
        out: None,
        demo: Some(rxguide::demo::Player::new(&s)?),
        record: None,
    })
}

fn run_models(json: bool) -> anyhow::Result<i32> {
    use std::io::Write;
    let c = rxguide::catalogue::Catalogue::bundled()?;
    let text = if json {
        format!("{}\n", serde_json::to_string_pretty(&c)?)
    } else {
        c.table()
    };
    // A closed pipe (`| head`) is not an error.
    let _ = std::io::stdout().write_all(text.as_bytes());
    Ok(0)
}

/// Options for reading a case file or FHIR bundle.
#[derive(clap::Args, Debug)]
struct LoadArgs {
    /// Propose this drug (repeatable), in addition to those in the file.
    #[arg(long = "propose", value_name = "DRUG")]
    propose: Vec<String>,
    /// Compute ages from FHIR birthDate at this date (YYYY-MM-DD; default today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    as_of: Option<chrono::NaiveDate>,
    /// A medication review: assess the current medicines; no proposed drug needed.
    #[arg(long)]
    review: bool,
    /// Say a FHIR lab value is stale when older than this many days before
    /// the assessment date (default 90).
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(i64).range(0..))]
    stale_after: Option<i64>,
}

impl LoadArgs {
    fn options(self) -> rxguide::load::LoadOptions {
        rxguide::load::LoadOptions {
            propose: self.propose,
            as_of: self.as_of,
            review: self.review,
            stale_after_days: self.stale_after,
        }
    }
}

fn parse_date(s: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| format!("{e}; expected YYYY-MM-DD"))
}

#[derive(Subcommand, Debug)]
enum KbCommand {
    /// Compile the kb sources into the sled store.
    Build,
    /// Counts of drugs, synonyms, interactions, rules per kind, passages.
    Stats {
        #[arg(long)]
        json: bool,
    },
    /// Top passages for a query, with BM25 scores.
    Search {
        query: String,
        #[arg(short = 'k', long, default_value_t = 8)]
        k: usize,
        #[arg(long)]
        json: bool,
    },
    /// Lint the kb sources (unknown references, orphans, duplicates, ...).
    Check,
    /// Brand names added by imports (with the drug each names); `--remove`
    /// takes one out.
    Aliases {
        #[arg(long, value_name = "NAME")]
        remove: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Import passages from an external source (retrieval only; never flags).
    Import {
        #[command(subcommand)]
        source: ImportSource,
    },
}

#[derive(Subcommand, Debug)]
enum ImportSource {
    /// openFDA drug-label JSON (`.json` or the bulk `.zip`), streamed.
    Openfda {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    quiet_library_backtraces();
    limit_malloc_arenas();
    let args = Args::parse();
    let global = Global {
        data_dir: args.data_dir,
        kb_dir: args.kb_dir,
    };
    let result = match args.command {
        None => run_tui(global, TuiArgs::default()),
        Some(Command::Tui(a)) => run_tui(global, a),
        Some(Command::Ask {
            case,
            rag,
            question,
            max_tokens,
            json,
            backend,
        }) => cli::ask::run(
            &global,
            &backend,
            &cli::ask::AskOptions {
                case: &case,
                rag: rag == "on",
                json,
                question,
                max_tokens,
            },
        ),
        Some(Command::Eval {
            dir,
            rag,
            out,
            max_tokens,
            limit,
            force,
            backend,
        }) => cli::eval::run_cli(
            &global,
            &backend,
            &cli::eval::EvalOptions {
                dir: &dir,
                conditions: rag,
                out,
                max_tokens,
                limit,
                force,
            },
        ),
        Some(Command::Check {
            case,
            json,
            trace,
            load,
        }) => cli::check::run(&global, &case, json, trace, &load.options()),
        Some(Command::Export { case, fhir, load }) => {
            cli::export::run(&global, &case, &fhir, &load.options())
        }
        Some(Command::Serve {
            export_feedback: Some(to),
            ..
        }) => cli::serve::export_feedback(&global, &to),
        Some(Command::Serve {
            bind,
            token,
            allow_origin,
            with_llm,
            llm_budget_secs,
            llm_max_tokens,
            backend,
            export_feedback: None,
        }) => cli::serve::run(
            &global,
            &bind,
            token,
            allow_origin,
            with_llm.then_some(cli::serve::WithLlm {
                backend: &backend,
                budget_secs: llm_budget_secs,
                max_tokens: llm_max_tokens,
            }),
        ),
        Some(Command::Rehearse {
            dir,
            trainee,
            export_csv,
            theme,
        }) => rxguide::rehearse::ui::run(
            &global,
            rxguide::rehearse::ui::RehearseOptions {
                dir,
                trainee,
                export_csv,
                theme,
            },
        ),
        Some(Command::Review {
            eval_dir,
            export_csv,
            export_md,
            summary,
            theme,
        }) => rxguide::review::ui::run(
            &global,
            rxguide::review::ui::ReviewOptions {
                eval_dir,
                export_csv,
                export_md,
                summary,
                theme,
            },
        ),
        Some(Command::Demo {
            script,
            backend,
            model,
            theme,
        }) => run_demo(global, script, backend, model, theme),
        Some(Command::Models { json }) => run_models(json),
        Some(Command::Kb { command }) => match command {
            KbCommand::Build => cli::kb::build(&global),
            KbCommand::Stats { json } => cli::kb::stats(&global, json),
            KbCommand::Search { query, k, json } => cli::kb::search(&global, &query, k, json),
            KbCommand::Check => cli::kb::check(&global),
            KbCommand::Aliases { remove, json } => cli::kb::aliases(&global, &remove, json),
            KbCommand::Import {
                source: ImportSource::Openfda { file, json },
            } => cli::kb::import_openfda(&global, &file, json),
        },
    };
    match result {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!(
                "error: {}",
                rxguide::vocab::text::visible(&format!("{e:#}"))
            );
            ExitCode::from(1)
        }
    }
}

/// Error backtraces in libraries off unless asked for with
/// `RUST_LIB_BACKTRACE=1`; panics still follow `RUST_BACKTRACE`.
///
/// With `RUST_BACKTRACE=1` set (common in a developer's shell), candle
/// captures a backtrace for every error it creates, and mistral.rs formats
/// some while it loads a model; resolving one parses the binary's debug info
/// and keeps it for the life of the process. Measured with the default model
/// and one answer: peak RSS 792 MB with `RUST_BACKTRACE=1`, 458 MB without
/// (BENCHMARKS.md, "Memory"). Called first in `main`, before any thread
/// exists, so changing the environment races with nothing.
fn quiet_library_backtraces() {
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
}

/// One glibc malloc arena for the whole process unless `MALLOC_ARENA_MAX`
/// says otherwise.
///
/// The model's forward pass runs on rayon's worker threads (mistral.rs
/// patch 7, vendor/PATCHES.md), and glibc gives each allocating thread its
/// own arena, each keeping freed tensor memory for reuse: peak RSS of `ask`
/// with the default model went from 459 to 481-489 MiB. With one arena it is
/// 447 MiB, and decode and prefill speed did not change measurably
/// (BENCHMARKS.md, "Memory"). Called first in `main`, before other threads.
/// The crate's only `unsafe`: a plain C call with no pointers.
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; no thread other
        // than this one exists yet. A 0 return (not applied) is harmless.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}
