//! The gate registry: every kind of gate the engine knows and what each one is, written once.
//! The configuration (which gates are on without being listed, which judge every lane, which
//! name is a kind), plan lint (the gate names a plan may tune) and the engine (which gates run
//! a command) all read this table.

use serde::{Deserialize, Serialize};

/// A kind of gate. Its name (`kind = "…"`, the `kind` of an evidence record) is its entry's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Command,
    Tests,
    Coverage,
    Metric,
    Scanner,
    Secrets,
    Scope,
    Audit,
}

/// What the engine knows of one kind: independent yes/no facts, one column of the table each.
#[derive(Debug)]
#[allow(clippy::struct_excessive_bools)]
pub struct Entry {
    pub kind: Kind,
    /// The name `kind = "…"` takes.
    pub name: &'static str,
    /// A gate of this name is of this kind without `kind`, and a plan may tune it
    /// (`[phase.gates.<name>]`) whether or not the configuration lists it: plan lint knows
    /// exactly these names besides the configured gates.
    pub named: bool,
    /// Runs a command of the configuration (takes `run`, `inputs`, `seed`; pre-push by
    /// default). The others are built into the tool: they read objects, judge what the snapshot
    /// changes, take milliseconds and run at pre-commit by default.
    pub runs_command: bool,
    /// Needs no tool and is in effect without being configured, unless the configuration
    /// switches it off (`enabled = false`).
    pub on_by_default: bool,
    /// The gate of this name judges every feature, whatever its lane's gate set.
    pub every_lane: bool,
    /// Only the gate of this very name is of this kind (`kind = "audit"` elsewhere is refused).
    pub only_named: bool,
    /// Its verdicts are listed under security in `phase-<n>-complete.md` and `complete.md`.
    pub security: bool,
}

/// Every kind, in the order of [`Kind`].
pub const REGISTRY: &[Entry] = &[
    Entry {
        kind: Kind::Command,
        name: "command",
        named: false,
        runs_command: true,
        on_by_default: false,
        every_lane: false,
        only_named: false,
        security: false,
    },
    Entry {
        kind: Kind::Tests,
        name: "tests",
        named: true,
        runs_command: true,
        on_by_default: false,
        every_lane: false,
        only_named: false,
        security: false,
    },
    Entry {
        kind: Kind::Coverage,
        name: "coverage",
        named: true,
        runs_command: true,
        on_by_default: false,
        every_lane: false,
        only_named: false,
        security: false,
    },
    Entry {
        kind: Kind::Metric,
        name: "metric",
        named: false,
        runs_command: true,
        on_by_default: false,
        every_lane: false,
        only_named: false,
        security: false,
    },
    Entry {
        kind: Kind::Scanner,
        name: "scanner",
        named: false,
        runs_command: true,
        on_by_default: false,
        every_lane: false,
        only_named: false,
        security: true,
    },
    Entry {
        kind: Kind::Secrets,
        name: "secrets",
        named: true,
        runs_command: false,
        on_by_default: true,
        every_lane: true,
        only_named: false,
        security: true,
    },
    Entry {
        kind: Kind::Scope,
        name: "scope",
        named: true,
        runs_command: false,
        on_by_default: true,
        every_lane: true,
        only_named: false,
        security: false,
    },
    Entry {
        kind: Kind::Audit,
        name: "audit",
        named: true,
        runs_command: false,
        on_by_default: false,
        every_lane: true,
        only_named: true,
        security: false,
    },
];

/// The keys a plan's `[phase.gates.<name>]` may set: thresholds and stages. Plan text is
/// written by whoever plans (often an agent): it never sets a command, its environment or the
/// report a verdict is read from.
pub const PLAN_TUNABLE: &[&str] = &["min", "min_changed", "max", "fail_on", "stage", "timeout"];

impl Kind {
    pub fn entry(self) -> &'static Entry {
        &REGISTRY[self as usize]
    }

    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// Whether gates of this kind run a command (see [`Entry::runs_command`]).
    pub fn runs_command(self) -> bool {
        self.entry().runs_command
    }

    /// The kind `kind = "<name>"` names.
    pub fn from_name(name: &str) -> Option<Self> {
        REGISTRY.iter().find(|e| e.name == name).map(|e| e.kind)
    }

    /// The kind a gate named `name` is without `kind` (see [`Entry::named`]).
    pub fn named(name: &str) -> Option<Self> {
        REGISTRY.iter().find(|e| e.named && e.name == name).map(|e| e.kind)
    }
}

/// The names of the kinds whose entries `pick` selects, in registry order.
pub fn names(pick: impl Fn(&Entry) -> bool) -> impl Iterator<Item = &'static str> {
    REGISTRY.iter().filter(move |e| pick(e)).map(|e| e.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_in_kind_order_and_names_each_kind_as_serde_does() {
        for (i, entry) in REGISTRY.iter().enumerate() {
            assert_eq!(entry.kind as usize, i, "{}", entry.name);
            assert_eq!(serde_json::to_string(&entry.kind).unwrap(), format!("\"{}\"", entry.name));
            assert_eq!(Kind::from_name(entry.name), Some(entry.kind));
        }
        assert_eq!(names(|e| e.named).collect::<Vec<_>>(), ["tests", "coverage", "secrets", "scope", "audit"]);
        assert_eq!(names(|e| e.on_by_default).collect::<Vec<_>>(), ["secrets", "scope"]);
        assert_eq!(names(|e| e.every_lane).collect::<Vec<_>>(), ["secrets", "scope", "audit"]);
        assert_eq!(names(|e| e.security).collect::<Vec<_>>(), ["scanner", "secrets"]);
        assert_eq!(Kind::named("metric"), None);
    }
}
