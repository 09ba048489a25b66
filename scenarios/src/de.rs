//! The scenario dialect of the positioned YAML deserializer of `bwlab-yaml`.
//!
//! Derived `Deserialize` impls run on [`bwlab_yaml::de::NodeDe`]: every failure becomes an
//! error that knows its line, column and field path, and decoding carries on where it safely
//! can, so one run reports many problems (see that module). Scenario files use its default
//! wording (`` unknown key `x` `` with a separate hint), strict enums, one error per path,
//! and two markers of plain serde: [`STR_OR_STRUCT`] lets a struct also be written as one
//! string (`topology: dual-site`, `when: 3rd heartbeat of alice`), and [`ONE_OR_MANY`] lets
//! a list also be written as its only item (`fault: {...}`). This dialect adds durations
//! ([`DURATION`]): a malformed one is reported and read as `0s`, so the rest of its step is
//! still checked.

pub(crate) use bwlab_yaml::de::{
    Ctx, Found, NodeDe, ONE_OR_MANY, PathLink, STR_OR_STRUCT, Step, hint_for, one_of,
};
use bwlab_yaml::de::{Dialect, ErrorKind, ScalarCheck, Wording};
use bwlab_yaml::tree::Node;

/// Newtype name of durations: a malformed one is reported and read as `0s`, so the rest of
/// its step is still checked.
pub const DURATION: &str = "$bwlab::Duration";

/// The scenario [`Dialect`]: the default wording and rules, plus durations.
pub(crate) struct ScenarioDialect;

impl Dialect for ScenarioDialect {
    fn scalar_check(&self, name: &str) -> Option<ScalarCheck> {
        (name == DURATION).then_some(ScalarCheck {
            check: |text| crate::value::LabDuration::parse(text).map(|_| ()),
            expected: "a duration",
            hint: crate::value::DURATION_HINT,
            fallback: "0s",
        })
    }
}

/// A decoding context with the scenario dialect.
pub(crate) fn ctx() -> Ctx {
    Ctx::new(&ScenarioDialect)
}

/// Records a problem found by the loader or the semantic checks.
pub(crate) fn report(
    ctx: &Ctx,
    node: &Node<'_>,
    path: String,
    message: String,
    hint: Option<String>,
) {
    ctx.report(node, path, Wording::new(ErrorKind::Invalid, message, hint));
}
