//! What a person gives an assistant's fields for one run, checked against the fields before
//! anything runs, and turned into the values its placeholders take.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::{
    plan::MAX_INPUT_BYTES,
    store::{Field, FieldKind},
};

/// One field's value: text (a short or long text, a select's choice, a file's extracted text)
/// or a multi-select's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    One(String),
    Many(Vec<String>),
}

impl Value {
    fn bytes(&self) -> usize {
        match self {
            Self::One(text) => text.len(),
            Self::Many(all) => all.iter().map(String::len).sum(),
        }
    }
}

/// A run's inputs by field name.
pub type Inputs = BTreeMap<String, Value>;

/// The placeholder values for `inputs` given to `fields`: a multi-select's choices joined by
/// commas, a field left out empty. Refused with every problem named: a field that does not
/// exist, a required one left empty, a choice not offered, the wrong kind of value, more than
/// [`MAX_INPUT_BYTES`] in all.
pub fn values(fields: &[Field], inputs: &Inputs) -> Result<HashMap<String, String>, Vec<String>> {
    let mut problems = Vec::new();
    for name in inputs.keys() {
        if !fields.iter().any(|field| &field.name == name) {
            problems.push(format!("There is no field called \u{201c}{name}\u{201d}."));
        }
    }
    let total: usize = inputs.values().map(Value::bytes).sum();
    if total > MAX_INPUT_BYTES {
        problems.push(format!(
            "The inputs hold {} KB; at most {} KB are allowed.",
            total.div_ceil(1024),
            MAX_INPUT_BYTES / 1024
        ));
    }
    let mut values = HashMap::new();
    for field in fields {
        let label = field.label.as_str();
        let value = match (field.kind, inputs.get(&field.name)) {
            (_, None) => String::new(),
            (FieldKind::MultiSelect, Some(Value::Many(chosen))) => {
                let mut seen = Vec::new();
                for choice in chosen {
                    if !field.options.contains(choice) {
                        problems.push(format!(
                            "\u{201c}{choice}\u{201d} is not a choice of \u{201c}{label}\u{201d}."
                        ));
                    } else if !seen.contains(&choice) {
                        seen.push(choice);
                    }
                }
                seen.iter()
                    .map(|choice| choice.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            (FieldKind::MultiSelect, Some(Value::One(_))) => {
                problems.push(format!("\u{201c}{label}\u{201d} takes a list of choices."));
                String::new()
            }
            (FieldKind::Select, Some(Value::One(choice))) => {
                if !choice.is_empty() && !field.options.contains(choice) {
                    problems.push(format!(
                        "\u{201c}{choice}\u{201d} is not a choice of \u{201c}{label}\u{201d}."
                    ));
                }
                choice.clone()
            }
            (_, Some(Value::One(text))) => text.clone(),
            (_, Some(Value::Many(_))) => {
                problems.push(format!("\u{201c}{label}\u{201d} takes one value."));
                String::new()
            }
        };
        if field.required && value.trim().is_empty() {
            problems.push(format!("\u{201c}{label}\u{201d} is required."));
        }
        values.insert(field.name.clone(), value);
    }
    if problems.is_empty() {
        Ok(values)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, kind: FieldKind, required: bool, options: &[&str]) -> Field {
        Field {
            name: name.into(),
            label: name.to_uppercase(),
            help: String::new(),
            kind,
            required,
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        }
    }

    fn form() -> Vec<Field> {
        vec![
            field("notes", FieldKind::LongText, true, &[]),
            field("tone", FieldKind::Select, false, &["warm", "formal"]),
            field(
                "subjects",
                FieldKind::MultiSelect,
                false,
                &["maths", "art", "music"],
            ),
            field("policy", FieldKind::File, false, &[]),
        ]
    }

    fn one(text: &str) -> Value {
        Value::One(text.into())
    }

    fn many(all: &[&str]) -> Value {
        Value::Many(all.iter().map(|c| (*c).to_owned()).collect())
    }

    #[test]
    fn inputs_become_placeholder_values() {
        let inputs = Inputs::from([
            ("notes".into(), one("Lost a shoe.")),
            ("tone".into(), one("warm")),
            ("subjects".into(), many(&["art", "maths", "art"])),
        ]);
        let values = values(&form(), &inputs).unwrap();
        assert_eq!(values["notes"], "Lost a shoe.");
        assert_eq!(values["tone"], "warm");
        // Chosen order, each once.
        assert_eq!(values["subjects"], "art, maths");
        // Left out: empty.
        assert_eq!(values["policy"], "");
        // JSON as a form sends it.
        let parsed: Inputs =
            serde_json::from_str(r#"{"notes":"Hi","subjects":["music"],"tone":""}"#).unwrap();
        assert_eq!(values_of(&parsed)["subjects"], "music");
    }

    fn values_of(inputs: &Inputs) -> HashMap<String, String> {
        values(&form(), inputs).unwrap()
    }

    #[test]
    fn every_problem_with_the_inputs_is_named() {
        let inputs = Inputs::from([
            ("notes".into(), one("  ")),
            ("tone".into(), one("rude")),
            ("subjects".into(), many(&["art", "cooking"])),
            ("policy".into(), many(&["a"])),
            ("extra".into(), one("x")),
        ]);
        assert_eq!(
            values(&form(), &inputs).unwrap_err(),
            [
                "There is no field called \u{201c}extra\u{201d}.",
                "\u{201c}NOTES\u{201d} is required.",
                "\u{201c}rude\u{201d} is not a choice of \u{201c}TONE\u{201d}.",
                "\u{201c}cooking\u{201d} is not a choice of \u{201c}SUBJECTS\u{201d}.",
                "\u{201c}POLICY\u{201d} takes one value.",
            ]
        );
        let wrong = Inputs::from([("notes".into(), one("ok")), ("subjects".into(), one("art"))]);
        assert_eq!(
            values(&form(), &wrong).unwrap_err(),
            ["\u{201c}SUBJECTS\u{201d} takes a list of choices."]
        );
    }

    #[test]
    fn the_inputs_are_bounded_in_all() {
        let at_limit = Inputs::from([("notes".into(), one(&"a".repeat(MAX_INPUT_BYTES)))]);
        assert!(values(&form(), &at_limit).is_ok());
        let over = Inputs::from([
            ("notes".into(), one(&"a".repeat(MAX_INPUT_BYTES))),
            ("policy".into(), one(&"b".repeat(2048))),
        ]);
        assert_eq!(
            values(&form(), &over).unwrap_err(),
            ["The inputs hold 102 KB; at most 100 KB are allowed."]
        );
    }
}
