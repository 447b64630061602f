//! Clinical facts: derived values ([`calc`]) and the rule engine ([`rules`]),
//! which turns a case plus the knowledge base into [`Flag`]s.

pub mod calc;
pub mod expect;
pub mod flag;
pub mod rules;

pub use calc::Derived;
pub use flag::{Concerns, Evidence, Flag, Included, Indicator, Kind, NotChecked, Severity};
