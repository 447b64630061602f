//! Answer pane: the model's answer as it streams, one sentence per line,
//! citations highlighted, each sentence marked supported (✓), uncited (?),
//! citing a passage that was not retrieved (✗), or conflicting with a
//! serious flag (⚠). With RAG comparison on, the answer with sources and
//! the one without stand side by side. Above it, always, the pharmacist's
//! note the rules wrote ([`crate::note`]).

use super::{flags::navigate, Ctx, EventState, View};
use crate::llm::check::{AnswerCheck, Support};
use crate::llm::{FinishReason, GenStats};
use crate::tui::action::Action;
use crate::tui::keys::{Context, Key};
use crate::tui::strings;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum ArmState {
    /// Not asked yet (e.g. the knowledge base or the backend is not ready).
    #[default]
    Idle,
    Loading(String),
    Streaming,
    Done(GenStats),
    Stopped,
    NoModel(String),
    Failed(String),
}

/// One answer (with or without retrieval).
#[derive(Debug, Clone, Default)]
pub struct Arm {
    pub rag: bool,
    /// Request id; events for another id are late and dropped.
    pub id: u64,
    pub text: String,
    pub state: ArmState,
    pub check: Option<AnswerCheck>,
    /// The answer job's checker: the ids the model was shown (citable)
    /// and the flags the answer must not contradict.
    pub checker: crate::answer::Checker,
}

impl Arm {
    pub fn label(&self) -> &'static str {
        if self.rag {
            "with sources (RAG)"
        } else {
            "without sources"
        }
    }

    pub fn status(&self) -> String {
        match &self.state {
            ArmState::Idle => "waiting…".into(),
            ArmState::Loading(m) => m.clone(),
            ArmState::Streaming => "streaming… (esc stops)".into(),
            ArmState::Done(s) => {
                let mut parts = vec![format!("done: {} tokens", s.completion_tokens)];
                if let Some(r) = s.decode_tokens_per_s {
                    parts.push(format!("{r:.1} tok/s"));
                }
                if s.finish == FinishReason::Length {
                    parts.push("cut at the token limit".into());
                }
                if s.finish == FinishReason::Repetition {
                    parts.push("stopped: it repeated a sentence".into());
                }
                parts.join(", ")
            }
            ArmState::Stopped => "stopped".into(),
            ArmState::NoModel(m) => m.clone(),
            ArmState::Failed(e) => format!("model error: {e}"),
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self.state, ArmState::Loading(_) | ArmState::Streaming)
    }
}

#[derive(Debug, Default)]
pub struct AnswerView {
    pub rag: Arm,
    pub baseline: Arm,
    /// Show both answers side by side.
    pub compare: bool,
    /// Selected sentence of the RAG answer (drives the Sources pane).
    pub selected: usize,
    /// The pharmacist's note ([`crate::note::Note::lines`]), shown above
    /// the model's answer, model or not.
    pub note: Vec<String>,
}

impl AnswerView {
    pub fn new() -> AnswerView {
        AnswerView {
            rag: Arm {
                rag: true,
                ..Arm::default()
            },
            baseline: Arm::default(),
            compare: false,
            selected: 0,
            note: Vec::new(),
        }
    }

    /// With the pharmacist's note for this assessment.
    pub fn with_note(note: Vec<String>) -> AnswerView {
        AnswerView {
            note,
            ..AnswerView::new()
        }
    }

    fn note_lines(&self, ctx: &Ctx) -> Vec<Line<'_>> {
        let t = ctx.theme;
        if self.note.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![Line::from(Span::styled(strings::NOTE_HEADING, t.accent()))];
        lines.extend(
            self.note
                .iter()
                .map(|l| Line::from(Span::styled(l.as_str(), t.text()))),
        );
        lines.push(Line::from(Span::styled(strings::MODEL_EXPLAINS, t.muted())));
        lines
    }

    pub fn sentence_count(&self) -> usize {
        self.rag.check.as_ref().map_or(0, |c| c.sentences.len())
    }

    /// Citations of the selected sentence.
    pub fn selected_citations(&self) -> Option<(usize, Vec<String>)> {
        let c = self.rag.check.as_ref()?;
        let s = c.sentences.get(self.selected)?;
        Some((self.selected, s.citations.clone()))
    }

    pub fn is_running(&self) -> bool {
        self.rag.is_running() || self.baseline.is_running()
    }

    fn arm_lines<'a>(arm: &'a Arm, selected: Option<usize>, ctx: &Ctx) -> Vec<Line<'a>> {
        let t = ctx.theme;
        let mut lines = vec![Line::from(Span::styled(arm.status(), t.muted()))];
        let Some(check) = &arm.check else {
            if !arm.text.is_empty() {
                lines.push(Line::from(Span::styled(arm.text.clone(), t.text())));
            }
            return lines;
        };
        for (i, s) in check.sentences.iter().enumerate() {
            let base = if s.conflict.is_some() {
                t.conflict()
            } else if s.support == Support::Supported {
                t.text()
            } else {
                t.unsupported()
            };
            let mut spans = vec![Span::styled(
                if selected == Some(i) { "▶ " } else { "  " },
                t.accent(),
            )];
            // Citations `[id]` highlighted: supported when retrieved.
            let text = s.text.trim();
            let mut rest = text;
            while let Some(open) = rest.find('[') {
                let Some(close) = rest[open..].find(']') else {
                    break;
                };
                let inner = &rest[open + 1..open + close];
                let ids: Vec<String> = inner
                    .split([',', ';'])
                    .map(|x| x.trim().to_lowercase())
                    .collect();
                if !inner.is_empty() && ids.iter().all(|x| s.citations.contains(x)) {
                    spans.push(Span::styled(rest[..open].to_string(), base));
                    let ok = ids.iter().all(|x| !s.unknown_ids.contains(x));
                    spans.push(Span::styled(
                        rest[open..=open + close].to_string(),
                        t.citation(ok),
                    ));
                } else {
                    spans.push(Span::styled(rest[..=open + close].to_string(), base));
                }
                rest = &rest[open + close + 1..];
            }
            spans.push(Span::styled(rest.to_string(), base));
            let (mark, style) = match s.support {
                Support::Supported => (" ✓".to_string(), t.ok()),
                Support::Uncited => (" ? no citation".to_string(), t.error()),
                Support::WrongCitation => (" ✗ unknown source".to_string(), t.error()),
                Support::UnsupportedClaim => (
                    format!(
                        " ✗ unsupported claim: {}",
                        s.unsupported_claim.as_deref().unwrap_or("?")
                    ),
                    t.error(),
                ),
            };
            spans.push(Span::styled(mark, style));
            if let Some(c) = &s.conflict {
                spans.push(Span::styled(
                    format!(" ⚠ conflicts with {} flag on {}", c.severity, c.drug),
                    t.conflict(),
                ));
            }
            lines.push(Line::from(spans));
        }
        if arm.check.as_ref().is_some_and(|c| !c.sentences.is_empty()) {
            let s = &check.summary;
            lines.push(Line::default());
            lines.push(Line::from(Span::styled(
                format!(
                    "{} sentence(s): {} supported, {} uncited, {} unknown source, {} conflict(s)",
                    s.sentences, s.supported, s.uncited, s.wrong_citation, s.conflicts
                ),
                t.muted(),
            )));
            lines.push(Line::from(Span::styled(strings::LEGEND, t.muted())));
        }
        lines
    }
}

impl View for AnswerView {
    fn handle_key(&mut self, key: &Key, ctx: &Ctx) -> EventState {
        let Some(action) = ctx.keys.action(Context::Results, key) else {
            return EventState::NOT_CONSUMED;
        };
        match navigate(self.selected, self.sentence_count(), action, 3) {
            Some(s) => {
                self.selected = s;
                EventState::CONSUMED
            }
            None => EventState::NOT_CONSUMED,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, ctx: &Ctx) {
        let t = ctx.theme;
        let block = Block::bordered()
            .title(Span::styled(
                if self.compare {
                    " Answer: RAG on | RAG off "
                } else {
                    " Answer "
                },
                t.title(ctx.focused),
            ))
            .border_style(t.border(ctx.focused));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let selected = ctx.focused.then_some(self.selected);
        // Keep the selected sentence in view (one line per sentence, plus
        // wrapping: an estimate is enough here).
        let note = self.note_lines(ctx);
        // `above`: lines drawn before the answer in the same paragraph.
        let scroll = |above: usize| {
            u16::try_from(
                selected
                    .map(|s| (s + 2 + above).saturating_sub(usize::from(inner.height) / 2))
                    .unwrap_or(0),
            )
            .unwrap_or(0)
        };
        if self.compare {
            // The note spans both answers; they scroll under it.
            let [top, inner] = Layout::vertical([
                Constraint::Length(
                    u16::try_from(note.len())
                        .unwrap_or(u16::MAX)
                        .min(inner.height / 2),
                ),
                Constraint::Fill(1),
            ])
            .areas(inner);
            frame.render_widget(Paragraph::new(note).wrap(Wrap { trim: false }), top);
            let [a, b] =
                Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                    .spacing(1)
                    .areas(inner);
            for (arm, area, sel) in [(&self.rag, a, selected), (&self.baseline, b, None)] {
                let mut lines = vec![Line::from(Span::styled(arm.label(), t.accent()))];
                lines.extend(Self::arm_lines(arm, sel, ctx));
                frame.render_widget(
                    Paragraph::new(lines)
                        .wrap(Wrap { trim: false })
                        .scroll((scroll(0), 0)),
                    area,
                );
            }
        } else {
            // The model's status line, then the note, then the answer.
            let above = note.len();
            let mut lines = Self::arm_lines(&self.rag, selected, ctx);
            let answer = lines.split_off(1.min(lines.len()));
            lines.extend(note);
            lines.extend(answer);
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .scroll((scroll(above), 0)),
                inner,
            );
        }
    }

    fn hints(&self) -> Vec<Action> {
        vec![Action::Down, Action::ToggleRag, Action::Regenerate]
    }
}
