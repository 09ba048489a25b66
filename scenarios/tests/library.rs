//! The scenario library and the documentation examples are valid, the guide shows the
//! example files as they are, and the JSON Schema knows every key they use.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn dir(sub: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(sub)
}

fn yaml_files(d: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    v.sort();
    v
}

fn assert_valid(files: &[PathBuf]) {
    let mut failures = String::new();
    for f in files {
        if let Err(e) = bwlab_scenario::parse_file(f) {
            failures.push_str(&format!("{e}\n"));
        }
    }
    assert!(failures.is_empty(), "{failures}");
}

#[test]
fn library_has_at_least_twelve_valid_scenarios() {
    let files = yaml_files(&dir(""));
    assert!(files.len() >= 12, "only {} scenario files", files.len());
    assert_valid(&files);
}

#[test]
fn examples_are_valid() {
    let files = bwlab_scenario::scenario_files(&dir("examples")).unwrap();
    assert!(files.len() >= 15, "{files:?}");
    assert!(
        files
            .iter()
            .all(|f| !f.components().any(|c| c.as_os_str() == "data"))
    );
    assert_valid(&files);
}

/// Every example file appears verbatim in docs/scenarios.md, in a block that names it.
#[test]
fn guide_shows_every_example_verbatim() {
    let guide = std::fs::read_to_string(dir("../docs/scenarios.md")).unwrap();
    let mut missing = Vec::new();
    for f in yaml_files(&dir("examples")) {
        let name = f.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        let block = format!("```yaml\n# scenarios/examples/{name}\n{text}```");
        if !guide.contains(&block) {
            missing.push(name.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "docs/scenarios.md does not show these files as they are: {missing:?}"
    );
    // And no block names a file that does not exist.
    for line in guide
        .lines()
        .filter(|l| l.starts_with("# scenarios/examples/"))
    {
        let p = dir("..").join(line.trim_start_matches("# "));
        assert!(p.exists(), "the guide shows {line}, which does not exist");
    }
}

fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> &'a Value {
    while let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/$defs/");
        s = &root["$defs"][name];
    }
    s
}

/// A structural check: every key of every mapping is one the schema allows at that place.
fn conforms(root: &Value, schema: &Value, v: &Value) -> Result<(), String> {
    let s = resolve(root, schema);
    if let Some(alts) = s
        .get("anyOf")
        .or_else(|| s.get("oneOf"))
        .and_then(Value::as_array)
    {
        let mut errs = Vec::new();
        for a in alts {
            match conforms(root, a, v) {
                Ok(()) => return Ok(()),
                Err(e) => errs.push(e),
            }
        }
        return Err(errs.join(" | "));
    }
    match v {
        Value::Object(map) => {
            if let Some(props) = s.get("properties").and_then(Value::as_object) {
                for (k, val) in map {
                    match props.get(k) {
                        Some(ps) => conforms(root, ps, val).map_err(|e| format!("{k}.{e}"))?,
                        None => return Err(format!("{k}: not in the schema")),
                    }
                }
            } else if s
                .get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t != "object")
            {
                return Err(format!("an object where the schema wants {}", s["type"]));
            }
            Ok(())
        }
        Value::Array(items) => {
            let item = s.get("items").unwrap_or(&Value::Bool(true));
            for (i, x) in items.iter().enumerate() {
                conforms(root, item, x).map_err(|e| format!("[{i}].{e}"))?;
            }
            Ok(())
        }
        Value::String(text) => {
            if let Some(e) = s.get("enum").and_then(Value::as_array)
                && !e.iter().any(|x| x == &Value::String(text.clone()))
            {
                return Err(format!("{text:?} not in {e:?}"));
            }
            if let Some(c) = s.get("const")
                && c != v
            {
                return Err(format!("{text:?} is not {c}"));
            }
            if s.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t == "object")
            {
                return Err(format!("{text:?} where the schema wants an object"));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[test]
fn schema_is_draft_2020_12_and_knows_the_top_level_keys() {
    let schema = bwlab_scenario::json_schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["$id"], bwlab_scenario::SCHEMA_ID);
    let props: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(props, bwlab_scenario::Scenario::KEYS);
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["name", "sut"]));
}

#[test]
fn schema_accepts_the_structure_of_every_file() {
    let schema = bwlab_scenario::json_schema();
    let mut files = yaml_files(&dir(""));
    files.extend(bwlab_scenario::scenario_files(&dir("examples")).unwrap());
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let v: Value = serde_saphyr::from_str(&text).unwrap();
        if let Err(e) = conforms(&schema, &schema, &v) {
            panic!("{}: {e}", f.display());
        }
    }
    // And the check does catch a stray key.
    let v: Value =
        serde_saphyr::from_str("name: x\nsut: {reference: webex-app, colour: red}\n").unwrap();
    assert!(conforms(&schema, &schema, &v).is_err());
}
