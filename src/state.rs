//! The event log and what it folds into. Each feature's log is a git note of JSON lines, one
//! event a line, so logs written in two clones merge by union. Nothing "current" is stored:
//! state is always derived by folding the log. This module knows events, not git.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::git::ObjectId;

#[derive(Debug, thiserror::Error)]
#[error("{place}: line {line} of the event log is not a valid event: {reason}")]
pub struct Error {
    pub place: String,
    pub line: usize,
    pub reason: String,
}

impl Error {
    pub fn hint(&self) -> String {
        format!(
            "the note was edited by hand or damaged; inspect it with `git notes --ref=orchestrate show {}`, then run `git orchestrate doctor --repair` to drop the bad lines (line {}), keeping every valid record",
            self.place.rsplit(' ').next().unwrap_or_default(),
            self.line
        )
    }
}

/// The largest `seq` a log may hold. Past 2^53 JSON readers lose exactness, and no log grows
/// that long: a larger clock was written by hand, and would make the next one wrap.
pub const MAX_SEQ: u64 = 1 << 53;

/// The largest phase id an event may name.
pub const MAX_PHASE: u32 = 9999;

/// The lanes a feature can take besides the full plan: one phase, no separate plan approval.
pub const LANES: &[&str] = &["bugfix", "hotfix"];

/// One record of the log. `seq` is a Lamport clock (one more than the highest seen when it was
/// written), so merged logs keep causal order even when clocks disagree; `id` breaks ties.
///
/// On disk an event is one flat JSON object: `{"seq":…,"ts":…,"id":…,"by":…,"event":"…",…}`,
/// the header's fields, the kind's name, then the kind's own fields in the order its struct
/// declares them (a signature covers the line as written, so that order never changes).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub seq: u64,
    pub ts: String,
    pub id: String,
    pub by: String,
    pub what: What,
}

/// What every kind of event can say about itself. The defaults hold for most kinds.
trait Kind {
    /// Refuse values the tool never writes (see [`Event::check`]).
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
    /// Text a person wrote into the event (a title, an approval note), if any.
    fn free_text(&self) -> Option<&str> {
        None
    }
}

/// The event kinds: each a struct of its own (below), named on disk by its `event` string.
/// A new kind is its struct, its [`Kind`] impl and one line here; the fold says what it means.
macro_rules! kinds {
    ($($kind:ident = $name:literal,)*) => {
        #[derive(Debug, Clone, PartialEq)]
        pub enum What {
            $($kind($kind),)*
            /// An event written by a newer version: kept in the log with its name, ignored by
            /// the fold.
            Unknown(String),
        }

        impl What {
            pub fn name(&self) -> &str {
                match self {
                    $(What::$kind(_) => $name,)*
                    What::Unknown(name) => name,
                }
            }

            /// The kind named `name`, read from the event's whole line (its header fields are
            /// skipped); a name this version does not know is kept as [`What::Unknown`].
            fn parse(name: &str, line: &str) -> Result<What, String> {
                match name {
                    $($name => serde_json::from_str::<$kind>(line).map(What::$kind).map_err(|e| field_error(line, &e)),)*
                    _ => Ok(What::Unknown(name.to_string())),
                }
            }

            /// The kind named `name`, read from the rest of a line's fields (see [`Rest`]).
            fn parse_rest<'de, A: serde::de::MapAccess<'de>>(name: &str, rest: A) -> Result<What, A::Error> {
                use serde::de::value::MapAccessDeserializer;
                match name {
                    $($name => $kind::deserialize(MapAccessDeserializer::new(rest)).map(What::$kind),)*
                    _ => {
                        let mut rest = rest;
                        while rest.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                        Ok(What::Unknown(name.to_string()))
                    }
                }
            }

            fn kind(&self) -> Option<&dyn Kind> {
                match self {
                    $(What::$kind(k) => Some(k),)*
                    What::Unknown(_) => None,
                }
            }

            fn write<S: serde::Serializer>(&self, head: Head<'_>, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(What::$kind(body) => Line { head, body }.serialize(s),)*
                    What::Unknown(_) => Line { head, body: &serde_json::Map::new() }.serialize(s),
                }
            }
        }

        $(impl From<$kind> for What {
            fn from(kind: $kind) -> Self {
                What::$kind(kind)
            }
        })*
    };
}

kinds! {
    Created = "created",
    PlanApproved = "plan-approved",
    PhaseStarted = "phase-started",
    PhaseApproved = "phase-approved",
    GateRun = "gate-run",
    PhaseSubmitted = "phase-submitted",
    ChangesRequested = "changes-requested",
    FinishApproved = "finish-approved",
    Finished = "finished",
}

/// A feature was started: its plan committed on its integration branch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Created {
    pub feature: String,
    pub title: String,
    pub base: String,
    pub branch: String,
    pub plan: String,
    #[serde(with = "hex")]
    pub commit: ObjectId,
    /// `bugfix` or `hotfix`: one phase, whose review is the only pause point before finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<String>,
}

impl Kind for Created {
    fn check(&self) -> Result<(), String> {
        let Created { feature, base, branch: b, plan, lane, .. } = self;
        if lane.as_deref().is_some_and(|l| !LANES.contains(&l)) {
            return Err(format!("`lane` is not a lane ({}): {lane:?}", LANES.join(", ")));
        }
        if !crate::plan::valid_slug(feature) {
            return Err(format!("`feature` is not a valid feature name ([a-z0-9][a-z0-9-]*): {feature:?}"));
        }
        branch("base", base)?;
        branch("branch", b)?;
        let relative = std::path::Path::new(plan).components().all(|c| matches!(c, std::path::Component::Normal(_)));
        if plan.is_empty() || !relative || plan.chars().any(char::is_control) {
            return Err(format!("`plan` is not a path inside the repository: {plan:?}"));
        }
        Ok(())
    }

    fn free_text(&self) -> Option<&str> {
        Some(&self.title)
    }
}

/// A person approved the plan as committed: `plan_blob` is the text approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanApproved {
    #[serde(with = "hex")]
    pub plan_blob: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The agent environment the approval was given from, when the user opted in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// From what it was given: `terminal`, or `--yes without a terminal`; absent in logs
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// An SSH signature (armored) over the event's line without it ([`Event::signed_payload`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Kind for PlanApproved {
    fn free_text(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// A phase was started on `branch`, forked from `fork`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseStarted {
    pub branch: String,
    pub phase: u32,
    #[serde(with = "hex")]
    pub fork: ObjectId,
}

impl Kind for PhaseStarted {
    fn check(&self) -> Result<(), String> {
        phase_id(self.phase)?;
        branch("branch", &self.branch)
    }
}

/// A person approved a phase: `commit` is its squash, `tree` the tree reviewed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseApproved {
    pub phase: u32,
    #[serde(with = "hex")]
    pub commit: ObjectId,
    #[serde(with = "hex")]
    pub tree: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    /// Gates a person let through without passing evidence: `<gate>: <reason>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<String>,
    /// Audit findings a person accepted by name: `audit:<id>: <reason>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<String>,
    /// From what it was given: `terminal`, or `--yes without a terminal`; absent in logs
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// An SSH signature (armored) over the event's line without it ([`Event::signed_payload`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sig: Option<String>,
}

impl Kind for PhaseApproved {
    fn check(&self) -> Result<(), String> {
        phase_id(self.phase)
    }

    fn free_text(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// A gate skipped on a phase's snapshot (`ORCHESTRATE_SKIP`). Verdicts live only in
/// `refs/notes/orchestrate-evidence`; logs written before that also hold `pass`/`fail` here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateRun {
    pub phase: u32,
    #[serde(with = "hex")]
    pub tree: ObjectId,
    pub gate: String,
    pub fingerprint: String,
    pub verdict: RunVerdict,
}

impl Kind for GateRun {
    fn check(&self) -> Result<(), String> {
        phase_id(self.phase)?;
        plain("gate", &self.gate)?;
        if self.fingerprint.chars().any(char::is_control) {
            return Err(format!("`fingerprint` holds control characters: {:?}", self.fingerprint));
        }
        Ok(())
    }
}

/// What a `gate-run` event says of its gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunVerdict {
    /// Skipped by `ORCHESTRATE_SKIP`: the only kind written now.
    Skipped,
    /// Written by versions that kept verdicts in the log; readers take verdicts from evidence.
    Pass,
    Fail,
    Error,
}

impl RunVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            RunVerdict::Skipped => "skipped",
            RunVerdict::Pass => "pass",
            RunVerdict::Fail => "fail",
            RunVerdict::Error => "error",
        }
    }
}

/// The owner says the phase is ready for review, at `commit` (its branch tip then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSubmitted {
    pub phase: u32,
    #[serde(with = "hex")]
    pub commit: ObjectId,
}

impl Kind for PhaseSubmitted {
    fn check(&self) -> Result<(), String> {
        phase_id(self.phase)
    }
}

/// A reviewer sent the phase back to its owner (`NEEDS_REVISION`), with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangesRequested {
    pub phase: u32,
    #[serde(with = "hex")]
    pub commit: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Kind for ChangesRequested {
    fn check(&self) -> Result<(), String> {
        phase_id(self.phase)
    }

    fn free_text(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The finish pause point: a person approved merging the integration tip `commit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinishApproved {
    #[serde(with = "hex")]
    pub commit: ObjectId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

impl Kind for FinishApproved {
    fn free_text(&self) -> Option<&str> {
        self.note.as_deref()
    }
}

/// The feature reached its base: `commit` is the merge (or the base tip that holds it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    #[serde(with = "hex")]
    pub commit: ObjectId,
    pub strategy: String,
}

impl Kind for Finished {
    fn check(&self) -> Result<(), String> {
        plain("strategy", &self.strategy)
    }
}

/// The fields every event has, and its kind's name. Reading it skips the kind's fields, and a
/// kind's struct skips these: each line is read twice, field by field, never buffered (which a
/// flattened, tagged enum would do), so `status` on a 10 000-event log stays fast.
#[derive(Serialize, Deserialize)]
struct Head<'a> {
    seq: u64,
    #[serde(borrow)]
    ts: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    by: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
}

/// An event as written: its header, then its kind's fields.
#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    #[serde(flatten)]
    head: Head<'a>,
    #[serde(flatten)]
    body: &'a T,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let head = Head {
            seq: self.seq,
            ts: self.ts.as_str().into(),
            id: self.id.as_str().into(),
            by: self.by.as_str().into(),
            event: self.what.name().into(),
        };
        self.what.write(head, s)
    }
}

impl Event {
    /// Read one line of a note. A line as the tool writes it (the header, then `event`, then the
    /// kind's fields) is read in one pass; any other order, in two: its header, then the fields
    /// of the kind it names.
    fn from_line(line: &str) -> Result<Self, String> {
        let mut de = serde_json::Deserializer::from_str(line);
        let event = match serde::Deserializer::deserialize_map(&mut de, OnePass).and_then(|e| de.end().map(|()| e)) {
            Ok(Some(event)) => event,
            Ok(None) => {
                let head: Head<'_> = serde_json::from_str(line).map_err(|e| e.to_string())?;
                let what = What::parse(&head.event, line)?;
                Event { seq: head.seq, ts: head.ts.into(), id: head.id.into(), by: head.by.into(), what }
            }
            Err(e) => return Err(field_error(line, &e)),
        };
        event.check()?;
        Ok(event)
    }
}

/// The header's fields as they are read.
#[derive(Default)]
struct HeadParts {
    seq: Option<u64>,
    ts: Option<String>,
    id: Option<String>,
    by: Option<String>,
}

impl HeadParts {
    /// Read the value of header field `key` (`seq`, `ts`, `id` or `by`).
    fn take<'de, A: serde::de::MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        let duplicate = || A::Error::custom(format!("duplicate field `{key}`"));
        match key {
            "seq" if self.seq.is_none() => self.seq = Some(map.next_value()?),
            "ts" if self.ts.is_none() => self.ts = Some(map.next_value()?),
            "id" if self.id.is_none() => self.id = Some(map.next_value()?),
            "by" if self.by.is_none() => self.by = Some(map.next_value()?),
            _ => return Err(duplicate()),
        }
        Ok(())
    }

    fn event<E: serde::de::Error>(self, what: What) -> Result<Event, E> {
        Ok(Event {
            seq: self.seq.ok_or_else(|| E::missing_field("seq"))?,
            ts: self.ts.ok_or_else(|| E::missing_field("ts"))?,
            id: self.id.ok_or_else(|| E::missing_field("id"))?,
            by: self.by.ok_or_else(|| E::missing_field("by"))?,
            what,
        })
    }
}

/// Reads a line in one pass when `event` comes before the kind's fields; `None` otherwise.
struct OnePass;

impl<'de> serde::de::Visitor<'de> for OnePass {
    type Value = Option<Event>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an event: a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut head = HeadParts::default();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "event" => {
                    let name: Key<'de> = map.next_value()?;
                    let what = What::parse_rest(&name.0, Rest { map: &mut map, head: &mut head })?;
                    return head.event(what).map(Some);
                }
                "seq" | "ts" | "id" | "by" => head.take(&key.0, &mut map)?,
                // A kind's field before the kind's name: not a line the tool wrote.
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                    return Ok(None);
                }
            }
        }
        Err(serde::de::Error::missing_field("event"))
    }
}

/// The fields after `event`, handed to the kind's struct; a header field among them is taken
/// into the header instead.
struct Rest<'a, 'h, A> {
    map: &'a mut A,
    head: &'h mut HeadParts,
}

impl<'de, A: serde::de::MapAccess<'de>> serde::de::MapAccess<'de> for Rest<'_, '_, A> {
    type Error = A::Error;

    fn next_key_seed<K: serde::de::DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        use serde::de::IntoDeserializer;
        while let Some(key) = self.map.next_key::<Key<'de>>()? {
            match &*key.0 {
                "seq" | "ts" | "id" | "by" => self.head.take(&key.0, self.map)?,
                "event" => return Err(serde::de::Error::custom("duplicate field `event`")),
                _ => return seed.deserialize(key.0.into_deserializer()).map(Some),
            }
        }
        Ok(None)
    }

    fn next_value_seed<V: serde::de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.map.next_value_seed(seed)
    }
}

/// A key (or the kind's name), borrowed from the line when it holds no escapes.
struct Key<'de>(std::borrow::Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(v.into()))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(v.to_string().into()))
            }
        }
        d.deserialize_str(V)
    }
}

/// A kind's error, with the field it stopped in named: serde knows the column, not the key.
fn field_error(line: &str, e: &serde_json::Error) -> String {
    let upto = line.get(..e.column().min(line.len())).unwrap_or_default();
    let key = upto.rmatch_indices("\":").find_map(|(end, _)| {
        let start = upto[..end].rfind('"')?;
        let before = upto[..start].trim_end().chars().last();
        matches!(before, Some('{' | ',')).then(|| &upto[start + 1..end])
    });
    // A message that names its field already (duplicate, missing, unknown) is right as it is:
    // the key before its column is the one before the field it names.
    let text = e.to_string();
    match key {
        Some(key) if !text.contains("field `") => format!("`{key}`: {text}"),
        _ => text,
    }
}

/// Object ids on disk: 40 lowercase hex digits, parsed here, once, into an `ObjectId`: the fold
/// and every reader get `ObjectId`s.
mod hex {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::git::ObjectId;

    pub fn serialize<S: Serializer>(id: &ObjectId, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(id)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ObjectId, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        if text.len() == 40 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            ObjectId::from_hex(text.as_bytes()).map_err(serde::de::Error::custom)
        } else {
            Err(serde::de::Error::custom(format!("the value is not an object id (40 lowercase hex digits): {text:?}")))
        }
    }
}

fn branch(field: &str, value: &str) -> Result<(), String> {
    crate::git::Repo::validate_branch_name(value)
        .map_err(|_| format!("`{field}` is not a valid branch name: {value:?}"))
}

fn phase_id(phase: u32) -> Result<(), String> {
    if (1..=MAX_PHASE).contains(&phase) {
        Ok(())
    } else {
        Err(format!("`phase` {phase} is out of range (1 to {MAX_PHASE})"))
    }
}

/// A name printed and matched on (a gate): no control characters.
fn plain(field: &str, value: &str) -> Result<(), String> {
    if value.is_empty() || value.chars().any(char::is_control) {
        Err(format!("`{field}` is empty or holds control characters: {value:?}"))
    } else {
        Ok(())
    }
}

impl Event {
    /// Refuse values the tool never writes: they come from a hand edit or a hostile clone, and
    /// the fold, the hooks and the terminal must never act on them.
    pub fn check(&self) -> Result<(), String> {
        if self.seq > MAX_SEQ {
            return Err(format!("`seq` {} is out of range (at most 2^53)", self.seq));
        }
        match self.what.kind() {
            Some(kind) => kind.check(),
            None => plain("event", self.what.name()),
        }
    }
}

impl What {
    /// Text a person wrote into the event (a title, an approval note), if any.
    pub fn free_text(&self) -> Option<&str> {
        self.kind().and_then(Kind::free_text)
    }
}

/// A unique id: time, process and a counter, mixed with per-process randomness. Under a test
/// clock, derived from the event itself, so a snapshot is the same on every run.
fn new_id(seq: u64, by: &str, what: &What) -> String {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    if crate::env::test_now().is_some() {
        let text = format!("{seq}\n{by}\n{what:?}\n{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        return crate::git::blob_id(text.as_bytes()).to_hex_with_len(24).to_string();
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(jiff::Timestamp::now().as_nanosecond().unsigned_abs());
    h.write_u32(std::process::id());
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let mut id = String::new();
    let _ = write!(id, "{:016x}{:08x}", h.finish(), std::process::id());
    id
}

impl Event {
    /// A new event that follows everything in `log`.
    pub fn new(log: &[Event], by: &str, what: What) -> Self {
        // Logs are checked when read (`seq` at most MAX_SEQ), so this never saturates there.
        let seq = log.iter().map(|e| e.seq).max().unwrap_or(0).saturating_add(1);
        let now = crate::env::now();
        let ts = now.round(jiff::Unit::Microsecond).unwrap_or(now);
        let id = new_id(seq, by, &what);
        Self { seq, ts: ts.to_string(), id, by: by.into(), what }
    }

    /// What an approval's signature covers: the event's line without its signature.
    pub fn signed_payload(&self) -> String {
        let mut unsigned = self.clone();
        if let What::PlanApproved(PlanApproved { sig, .. }) | What::PhaseApproved(PhaseApproved { sig, .. }) =
            &mut unsigned.what
        {
            *sig = None;
        }
        unsigned.to_line()
    }

    /// The line stored in the note.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("events always serialize");
        line.push('\n');
        line
    }
}

/// Parse a note's lines into events in log order. `place` names the note in errors. Any line
/// that is not a valid event fails the whole log: what acts on a feature fails closed.
pub fn parse_log(place: &str, text: &[u8]) -> Result<Vec<Event>, Error> {
    let parsed = parse_log_lenient(place, text);
    match parsed.bad.into_iter().next() {
        Some(err) => Err(err),
        None => Ok(parsed.events),
    }
}

/// A note read line by line: the valid events in log order, and an error for each bad line.
#[derive(Debug, Default)]
pub struct Parsed {
    pub events: Vec<Event>,
    pub bad: Vec<Error>,
}

/// One line of a note (without its newline), parsed. `Ok(None)`: a blank line.
fn parse_line(place: &str, number: usize, line: &[u8]) -> Result<Option<Event>, Error> {
    let error = |reason: String| Error { place: place.into(), line: number, reason };
    let line = std::str::from_utf8(line).map_err(|e| error(e.to_string()))?;
    if line.trim().is_empty() {
        return Ok(None);
    }
    Event::from_line(line).map(Some).map_err(error)
}

/// Parse a note's lines, keeping every valid event and reporting each bad line, for reports
/// that must go on (`status`, `doctor`) and for the repair.
pub fn parse_log_lenient(place: &str, text: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut seen = std::collections::HashSet::new();
    for (i, line) in text.split(|b| *b == b'\n').enumerate() {
        match parse_line(place, i + 1, line.strip_suffix(b"\r").unwrap_or(line)) {
            Ok(None) => {}
            // A union merge can leave the same record twice; it happened once.
            Ok(Some(event)) => {
                if seen.insert(event.id.clone()) {
                    parsed.events.push(event);
                }
            }
            Err(e) => parsed.bad.push(e),
        }
    }
    parsed.events.sort_by(|a, b| (a.seq, &a.ts, &a.id).cmp(&(b.seq, &b.ts, &b.id)));
    parsed
}

/// A note's text without its bad lines (each valid line kept byte for byte), and what was
/// dropped. `None` when there is nothing to drop.
pub fn without_bad_lines(place: &str, text: &[u8]) -> Option<(Vec<u8>, Vec<Error>)> {
    let mut kept = Vec::with_capacity(text.len());
    let mut dropped = Vec::new();
    let lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
    for (i, line) in lines.iter().enumerate() {
        match parse_line(place, i + 1, line.strip_suffix(b"\r").unwrap_or(line)) {
            Ok(Some(_)) => {
                kept.extend_from_slice(line);
                kept.push(b'\n');
            }
            Ok(None) => {}
            Err(e) => dropped.push(e),
        }
    }
    (!dropped.is_empty()).then_some((kept, dropped))
}

/// A feature as its log tells it.
#[derive(Debug, Clone)]
pub struct Feature {
    pub name: String,
    pub title: String,
    pub base: String,
    pub branch: String,
    pub plan: String,
    /// The commit that added the plan: where the plan is read when the branch is gone.
    pub created_commit: ObjectId,
    pub created_by: String,
    pub created_at: String,
    pub plan_approval: Option<Approval>,
    pub phases: BTreeMap<u32, PhaseRecord>,
    /// The last recorded run (a skip) of each gate on each phase: (phase, gate) → run.
    pub gate_runs: BTreeMap<(u32, String), GateRunRecord>,
    /// `bugfix` or `hotfix`: one phase, no separate plan approval (the phase review is the pause
    /// point).
    pub lane: Option<String>,
    /// The finish approval: `what` is the integration tip it approved.
    pub finish_approval: Option<Approval>,
    /// The feature reached its base: the merge commit, who recorded it, when.
    pub finished: Option<Approval>,
    pub events: usize,
    /// Decisions two clones took apart that contradict each other, and how the fold settled
    /// each (see [`fold`]).
    pub divergent: Vec<String>,
}

impl Feature {
    /// Whether the plan's approval covers `plan_blob`, the plan as committed now. A lane's plan
    /// (one phase) needs no approval of its own: its phase review is the pause point.
    pub fn plan_approved_as(&self, plan_blob: Option<crate::git::ObjectId>) -> bool {
        if self.lane.is_some() && plan_blob.is_some() {
            return true;
        }
        self.plan_approval.as_ref().is_some_and(|a| Some(a.what) == plan_blob)
    }

    /// The phase recorded on `branch`, if any: the phase a commit on it belongs to.
    pub fn phase_on(&self, branch: &str) -> Option<u32> {
        self.phases.iter().find(|(_, p)| p.branch == branch).map(|(id, _)| *id)
    }

    /// Whether `branch` is this feature's integration branch or one of its phases'.
    pub fn owns(&self, branch: &str) -> bool {
        branch == self.branch || self.phase_on(branch).is_some()
    }

    /// The commits the tool made itself: the plan commit, each phase's squash, and what finish
    /// approved (the integration tip with `complete.md`).
    pub fn tool_commits(&self) -> Vec<ObjectId> {
        std::iter::once(self.created_commit)
            .chain(self.phases.values().filter_map(|p| p.approval.as_ref().map(|a| a.what)))
            .chain(self.finish_approval.as_ref().map(|a| a.what))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub struct GateRunRecord {
    pub tree: ObjectId,
    pub fingerprint: String,
    pub verdict: RunVerdict,
}

#[derive(Debug, Clone)]
pub struct Approval {
    pub by: String,
    pub at: String,
    /// What was approved: the plan blob, or the phase's squash commit.
    pub what: ObjectId,
    /// The agent environment it was given from (the user opted in), if any.
    pub agent: Option<String>,
    /// Gates let through by a person's named decision: `<gate>: <reason>`.
    pub overrides: Vec<String>,
    /// For a phase: the tree the reviewer approved (its evidence is recorded there).
    pub tree: Option<ObjectId>,
    /// Audit findings a person accepted by name: `audit:<id>: <reason>`.
    pub accepted: Vec<String>,
    /// From what it was given (`terminal`, `--yes without a terminal`), when recorded.
    pub via: Option<String>,
    /// The signed payload and its signature, when the approval was signed.
    pub signature: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct PhaseRecord {
    pub branch: String,
    /// The commit the phase branched from (`None`: the log records no start of the phase).
    pub fork: Option<ObjectId>,
    pub started_by: String,
    pub started_at: String,
    pub approval: Option<Approval>,
    /// The branch tip the owner submitted for review, until changes are requested.
    pub submitted: Option<ObjectId>,
    /// The last request for changes: by, when, the commit it reviewed, and the reason.
    pub changes_requested: Option<SentBack>,
}

/// A phase's last request for changes, as the fold keeps it.
#[derive(Debug, Clone)]
pub struct SentBack {
    pub by: String,
    pub at: String,
    pub commit: ObjectId,
    pub note: Option<String>,
}

/// Fold a feature's log into its state. Returns `None` when the log has no `created` event.
///
/// Logs written in several clones merge by union, so two clones can take contradicting
/// decisions on one subject. The fold settles them the same way everywhere, and records each
/// in [`Feature::divergent`]:
/// - a phase approved twice (two squash commits): the later record in log order stands;
/// - a phase sent back after it was approved: the approval stands, the request is set aside
///   (the tool refuses to send back an approved phase, so the request was made without seeing it);
/// - an approval and a request for changes written concurrently (the same Lamport `seq`: neither
///   saw the other): the later in log order stands, as always, and it is named;
/// - two approvals of different plan texts written concurrently: the later in log order stands.
pub fn fold(events: &[Event]) -> Option<Feature> {
    let mut feature: Option<Feature> = None;
    // The seq of the plan approval in force, and of each phase's last request for changes.
    let mut plan_seq = 0;
    let mut request_seq: BTreeMap<u32, u64> = BTreeMap::new();
    for e in events {
        if let What::Created(Created { feature: name, title, base, branch, plan, commit, lane }) = &e.what {
            feature = Some(Feature {
                name: name.clone(),
                title: title.clone(),
                base: base.clone(),
                branch: branch.clone(),
                plan: plan.clone(),
                created_commit: *commit,
                created_by: e.by.clone(),
                created_at: e.ts.clone(),
                lane: lane.clone(),
                plan_approval: None,
                phases: BTreeMap::new(),
                gate_runs: BTreeMap::new(),
                finish_approval: None,
                finished: None,
                events: 0,
                divergent: Vec::new(),
            });
        }
        let Some(f) = feature.as_mut() else { continue };
        f.events += 1;
        match &e.what {
            What::PlanApproved(PlanApproved { plan_blob, agent, via, sig, .. }) => {
                if let Some(old) = f.plan_approval.as_ref().filter(|a| a.what != *plan_blob && plan_seq == e.seq) {
                    f.divergent.push(format!(
                        "the plan was approved as two different texts at once: {} by {} and {} by {}; the second stands",
                        short(old.what),
                        old.by,
                        short(*plan_blob),
                        e.by
                    ));
                }
                plan_seq = e.seq;
                f.plan_approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *plan_blob,
                    agent: agent.clone(),
                    overrides: Vec::new(),
                    tree: None,
                    accepted: Vec::new(),
                    via: via.clone(),
                    signature: sig.clone().map(|sig| (e.signed_payload(), sig)),
                });
            }
            What::PhaseStarted(PhaseStarted { phase, branch, fork }) => {
                let p = f.phases.entry(*phase).or_default();
                *p = PhaseRecord {
                    branch: branch.clone(),
                    fork: Some(*fork),
                    started_by: e.by.clone(),
                    started_at: e.ts.clone(),
                    approval: p.approval.clone(),
                    submitted: None,
                    changes_requested: p.changes_requested.clone(),
                };
            }
            What::PhaseApproved(PhaseApproved {
                phase, commit, tree, agent, overrides, accepted, via, sig, ..
            }) => {
                let p = f.phases.entry(*phase).or_default();
                if let Some(old) = p.approval.as_ref().filter(|a| a.what != *commit) {
                    f.divergent.push(format!(
                        "phase {phase} was approved twice: as {} by {} and as {} by {}; the second stands",
                        short(old.what),
                        old.by,
                        short(*commit),
                        e.by
                    ));
                } else if let Some(req) =
                    p.changes_requested.as_ref().filter(|_| request_seq.get(phase) == Some(&e.seq))
                {
                    f.divergent.push(format!(
                        "phase {phase} was sent back by {} and approved by {} at once; the approval stands",
                        req.by, e.by
                    ));
                }
                f.phases.entry(*phase).or_default().approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *commit,
                    agent: agent.clone(),
                    overrides: overrides.clone(),
                    accepted: accepted.clone(),
                    via: via.clone(),
                    signature: sig.clone().map(|sig| (e.signed_payload(), sig)),
                    tree: Some(*tree),
                });
            }
            What::PhaseSubmitted(PhaseSubmitted { phase, commit }) => {
                f.phases.entry(*phase).or_default().submitted = Some(*commit);
            }
            What::ChangesRequested(ChangesRequested { phase, commit, note }) => {
                let p = f.phases.entry(*phase).or_default();
                if let Some(a) = &p.approval {
                    f.divergent.push(format!(
                        "phase {phase} was approved by {} and sent back by {} in another clone; the approval stands",
                        a.by, e.by
                    ));
                    continue;
                }
                request_seq.insert(*phase, e.seq);
                p.submitted = None;
                p.changes_requested =
                    Some(SentBack { by: e.by.clone(), at: e.ts.clone(), commit: *commit, note: note.clone() });
            }
            What::FinishApproved(FinishApproved { commit, agent, .. }) => {
                f.finish_approval = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *commit,
                    agent: agent.clone(),
                    overrides: Vec::new(),
                    tree: None,
                    accepted: Vec::new(),
                    via: None,
                    signature: None,
                });
            }
            What::Finished(Finished { commit, .. }) => {
                f.finished = Some(Approval {
                    by: e.by.clone(),
                    at: e.ts.clone(),
                    what: *commit,
                    agent: None,
                    overrides: Vec::new(),
                    tree: None,
                    accepted: Vec::new(),
                    via: None,
                    signature: None,
                });
            }
            What::GateRun(GateRun { phase, gate, tree, fingerprint, verdict }) => {
                f.gate_runs.insert(
                    (*phase, gate.clone()),
                    GateRunRecord { tree: *tree, fingerprint: fingerprint.clone(), verdict: *verdict },
                );
            }
            What::Created(_) | What::Unknown(_) => {}
        }
    }
    feature
}

/// An object id shortened for a message.
fn short(id: ObjectId) -> String {
    id.to_hex_with_len(10).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(digit: &str) -> ObjectId {
        ObjectId::from_hex(digit.repeat(40).as_bytes()).unwrap()
    }

    fn created() -> What {
        What::Created(Created {
            feature: "f".into(),
            title: "T".into(),
            base: "main".into(),
            branch: "orchestrate/f/main".into(),
            plan: "plans/f/plan.md".into(),
            commit: hex("0"),
            lane: None,
        })
    }

    #[test]
    fn union_merged_logs_fold_in_causal_order() {
        let a = Event::new(&[], "A <a@x>", created());
        let b = Event::new(
            std::slice::from_ref(&a),
            "B <b@x>",
            What::PlanApproved(PlanApproved { plan_blob: hex("1"), note: None, agent: None, via: None, sig: None }),
        );
        // A union merge (cat_sort_uniq) sorts lines and may duplicate them.
        let mut lines = [b.to_line(), a.to_line(), b.to_line()];
        lines.sort();
        let log = parse_log("test", lines.concat().as_bytes()).unwrap();
        assert_eq!(log, vec![a, b]);
        let f = fold(&log).unwrap();
        assert_eq!(f.plan_approval.unwrap().by, "B <b@x>");
        assert_eq!(f.events, 2);
    }

    #[test]
    fn decisions_taken_apart_settle_the_same_way_in_any_order_and_are_named() {
        let a = Event::new(&[], "A <a@x>", created());
        let started = Event::new(
            std::slice::from_ref(&a),
            "A <a@x>",
            What::PhaseStarted(PhaseStarted { phase: 1, branch: "b1".into(), fork: hex("0") }),
        );
        let base = vec![a, started];
        // Both written on the same log, neither seeing the other.
        let approved = Event::new(
            &base,
            "A <a@x>",
            What::PhaseApproved(PhaseApproved {
                phase: 1,
                commit: hex("1"),
                tree: hex("2"),
                note: None,
                agent: None,
                overrides: Vec::new(),
                accepted: Vec::new(),
                via: None,
                sig: None,
            }),
        );
        let sent_back = Event::new(
            &base,
            "B <b@x>",
            What::ChangesRequested(ChangesRequested { phase: 1, commit: hex("3"), note: Some("more".into()) }),
        );
        assert_eq!(approved.seq, sent_back.seq);
        let one = [base.clone(), vec![approved.clone(), sent_back.clone()]].concat();
        let other = [base.clone(), vec![sent_back, approved]].concat();
        let (x, y) = (
            fold(&parse_log("x", one.iter().map(Event::to_line).collect::<String>().as_bytes()).unwrap()).unwrap(),
            fold(&parse_log("y", other.iter().map(Event::to_line).collect::<String>().as_bytes()).unwrap()).unwrap(),
        );
        for f in [&x, &y] {
            assert!(f.phases[&1].approval.is_some(), "the approval stands");
            assert_eq!(f.divergent.len(), 1, "{:?}", f.divergent);
        }
        assert_eq!(x.divergent, y.divergent, "the same settlement whatever order the union wrote");
        // One clone's plain sequence is no divergence.
        assert!(fold(&base).unwrap().divergent.is_empty());
    }

    #[test]
    fn every_kind_is_written_byte_for_byte_as_before_and_read_back() {
        // Lines written by the version before one struct per kind: signatures cover such lines,
        // so the field order may never change.
        let before = r#"{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a1","by":"A <a@x.io>","event":"created","feature":"f","title":"T \"q\"","base":"main","branch":"orchestrate/f/main","plan":"plans/f/plan.md","commit":"0000000000000000000000000000000000000000","lane":"bugfix"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a2","by":"A <a@x.io>","event":"plan-approved","plan_blob":"1111111111111111111111111111111111111111","note":"ok","agent":"Claude","via":"terminal","sig":"SIG"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a3","by":"A <a@x.io>","event":"phase-started","branch":"orchestrate/f/phase-2","phase":2,"fork":"2222222222222222222222222222222222222222"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a4","by":"A <a@x.io>","event":"phase-approved","phase":2,"commit":"3333333333333333333333333333333333333333","tree":"4444444444444444444444444444444444444444","note":"n","overrides":["tests: r"],"accepted":["audit:x: y"],"via":"terminal","sig":"SIG"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a5","by":"A <a@x.io>","event":"gate-run","phase":2,"tree":"5555555555555555555555555555555555555555","gate":"tests","fingerprint":"fp","verdict":"skipped"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a6","by":"A <a@x.io>","event":"phase-submitted","phase":2,"commit":"6666666666666666666666666666666666666666"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a7","by":"A <a@x.io>","event":"changes-requested","phase":2,"commit":"7777777777777777777777777777777777777777","note":"more"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a8","by":"A <a@x.io>","event":"finish-approved","commit":"8888888888888888888888888888888888888888"}
{"seq":7,"ts":"2026-01-01T00:00:00Z","id":"a9","by":"A <a@x.io>","event":"finished","commit":"9999999999999999999999999999999999999999","strategy":"merge"}
"#;
        let log = parse_log("golden", before.as_bytes()).unwrap();
        assert_eq!(log.len(), 9);
        let again: String = log.iter().map(Event::to_line).collect();
        assert_eq!(again, before);
        let names: Vec<&str> = log.iter().map(|e| e.what.name()).collect();
        assert_eq!(names.len(), names.iter().collect::<std::collections::HashSet<_>>().len(), "one line per kind");
        let skipped = log.iter().find_map(|e| match &e.what {
            What::GateRun(run) => Some(run.verdict),
            _ => None,
        });
        assert_eq!(skipped, Some(RunVerdict::Skipped));
    }

    #[test]
    fn a_kind_with_a_wrong_field_names_it_and_an_unknown_verdict_is_refused() {
        let line = r#"{"seq":1,"ts":"t","id":"x","by":"A","event":"gate-run","phase":1,"tree":"0000000000000000000000000000000000000000","gate":"g","fingerprint":"","verdict":"maybe"}"#;
        assert!(parse_log("note", line.as_bytes()).unwrap_err().reason.contains("maybe"));
        let line = r#"{"seq":1,"ts":"t","id":"x","by":"A","event":"finished","strategy":"merge"}"#;
        assert!(parse_log("note", line.as_bytes()).unwrap_err().reason.contains("missing field `commit`"));
    }

    #[test]
    fn a_line_reads_the_same_whatever_the_order_of_its_fields() {
        let id = "0".repeat(40);
        let written =
            format!(r#"{{"seq":3,"ts":"t","id":"x","by":"A","event":"phase-submitted","phase":2,"commit":"{id}"}}"#);
        let expected = parse_log("n", written.as_bytes()).unwrap();
        for line in [
            // The header after the kind's name, and after its fields.
            format!(r#"{{"event":"phase-submitted","phase":2,"seq":3,"commit":"{id}","ts":"t","id":"x","by":"A"}}"#),
            // A field of the kind before its name: read in two passes.
            format!(r#"{{"commit":"{id}","seq":3,"ts":"t","id":"x","by":"A","phase":2,"event":"phase-submitted"}}"#),
        ] {
            assert_eq!(parse_log("n", line.as_bytes()).unwrap(), expected, "{line}");
        }
        let deep = format!(
            r#"{{"seq":1,"ts":"t","id":"x","by":"A","event":"from-the-future","x":{}1{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        // Skipped without recursion: no stack to overflow.
        assert_eq!(parse_log("n", deep.as_bytes()).unwrap()[0].what, What::Unknown("from-the-future".into()));
        // A message that names its field is not prefixed with the key before it.
        let twice =
            format!(r#"{{"seq":1,"ts":"t","id":"x","by":"A","event":"phase-submitted","commit":"{id}","ts":"u"}}"#);
        let reason = parse_log("n", twice.as_bytes()).unwrap_err().reason;
        assert!(reason.starts_with("duplicate field `ts`"), "{reason}");
        // An approval's unknown fields are skipped, not collected: as deep as any other kind's.
        let deep_approval = format!(
            r#"{{"seq":1,"ts":"t","id":"x","by":"A","event":"plan-approved","plan_blob":"{id}","x":{}1{}}}"#,
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(parse_log("n", deep_approval.as_bytes()).is_ok());
        let unknown = r#"{"event":"from-the-future","x":[1,{"y":2}],"seq":1,"ts":"t","id":"u","by":"A"}"#;
        assert_eq!(parse_log("n", unknown.as_bytes()).unwrap()[0].what, What::Unknown("from-the-future".into()));
        for (line, why) in [
            (r#"{"seq":1,"seq":2,"ts":"t","id":"x","by":"A","event":"finished"}"#, "duplicate field `seq`"),
            (r#"{"seq":1,"ts":"t","id":"x","by":"A","event":"finished","event":"x"}"#, "duplicate field `event`"),
            (
                r#"{"seq":1,"ts":"t","id":"x","by":"A","event":"from-the-future","event":"x"}"#,
                "duplicate field `event`",
            ),
            (r#"{"seq":1,"ts":"t","id":"x","by":"A","event":7}"#, "invalid type"),
            (r#"{"seq":1,"ts":"t","id":"x","event":"from-the-future"}"#, "missing field `by`"),
            (r#"{"seq":1,"ts":"t","id":"x","by":"A"}"#, "missing field `event`"),
            (r#"["seq"]"#, "a JSON object"),
        ] {
            let err = parse_log("n", line.as_bytes()).unwrap_err();
            assert!(err.reason.contains(why), "{line}: {}", err.reason);
        }
    }

    #[test]
    fn unknown_events_are_kept_but_ignored() {
        let line = r#"{"seq":1,"ts":"2026-01-01T00:00:00Z","id":"x","by":"A","event":"from-the-future","extra":1}"#;
        let log = parse_log("test", line.as_bytes()).unwrap();
        assert_eq!(log[0].what, What::Unknown("from-the-future".into()));
        assert_eq!(
            log[0].to_line(),
            "{\"seq\":1,\"ts\":\"2026-01-01T00:00:00Z\",\"id\":\"x\",\"by\":\"A\",\"event\":\"from-the-future\"}\n"
        );
        assert!(fold(&log).is_none());
    }

    #[test]
    fn values_the_tool_never_writes_are_refused() {
        let line = |fields: &str| format!(r#"{{"seq":1,"ts":"t","id":"x","by":"A",{fields}}}"#);
        let fork = hex("0");
        for (fields, why) in [
            (format!(r#""event":"phase-started","phase":1,"branch":"a\nb","fork":"{fork}""#), "branch"),
            (format!(r#""event":"phase-started","phase":0,"branch":"a","fork":"{fork}""#), "phase"),
            (r#""event":"phase-started","phase":1,"branch":"a","fork":"HEAD""#.to_string(), "fork"),
            (r#""event":"plan-approved","plan_blob":"ABC""#.to_string(), "plan_blob"),
            (
                format!(
                    r#""event":"created","feature":"Bad Name","title":"t","base":"main","branch":"b","plan":"p","commit":"{fork}""#
                ),
                "feature",
            ),
            (
                format!(
                    r#""event":"created","feature":"f","title":"t","base":"main","branch":"b","plan":"../x","commit":"{fork}""#
                ),
                "plan",
            ),
        ] {
            let err = parse_log("note", line(&fields).as_bytes()).unwrap_err();
            assert!(err.reason.contains(why), "{fields}: {err}");
        }
        let huge = r#"{"seq":18446744073709551615,"ts":"t","id":"x","by":"A","event":"plan-approved","plan_blob":"0000000000000000000000000000000000000000"}"#;
        assert!(parse_log("note", huge.as_bytes()).unwrap_err().reason.contains("seq"));
    }

    #[test]
    fn a_bad_line_is_dropped_and_every_valid_line_kept_as_written() {
        let a = Event::new(&[], "A", created()).to_line();
        let b = Event::new(
            &[],
            "B",
            What::PlanApproved(PlanApproved { plan_blob: hex("1"), note: None, agent: None, via: None, sig: None }),
        )
        .to_line();
        let text = format!("{a}\n{{broken\n{b}");
        let (kept, dropped) = without_bad_lines("note", text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(kept).unwrap(), format!("{a}{b}"));
        assert_eq!(dropped.len(), 1);
        assert_eq!(dropped[0].line, 3);
        let parsed = parse_log_lenient("note", text.as_bytes());
        assert_eq!((parsed.events.len(), parsed.bad.len()), (2, 1));
        assert!(without_bad_lines("note", format!("{a}{b}").as_bytes()).is_none());
    }

    #[test]
    fn corrupt_line_names_its_place() {
        let good = Event::new(&[], "A", created()).to_line();
        let err = parse_log("feature f", format!("{good}not json\n").as_bytes()).unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("feature f: line 2"));
    }
}
