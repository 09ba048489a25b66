//! The JSON Schema of scenario files, for editors (completion, inline errors).

use crate::scenario::Scenario;

/// The `$id` of the schema.
pub const SCHEMA_ID: &str = "https://bwlab.invalid/schemas/scenario.json";

/// A JSON Schema (draft 2020-12) of scenario files, derived from the same types the parser
/// fills. It checks structure; `bwlab validate` also checks references, ranges and the
/// order of the timeline.
pub fn json_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<Scenario>();
    let mut v = serde_json::to_value(schema).unwrap_or_default();
    if let Some(o) = v.as_object_mut() {
        o.insert("$id".into(), SCHEMA_ID.into());
    }
    v
}
