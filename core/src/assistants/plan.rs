//! An assistant's prompt graph, read from its placeholders: a prompt that uses `{{key}}` of
//! another waits for that prompt's output; prompts whose inputs are ready run together. Saving
//! an assistant goes through [`plan`], which refuses what could never run (a placeholder that
//! names nothing, prompts waiting on each other in a circle, more than the limits) and names
//! each problem, and gives the levels a run follows.

use std::time::Duration;

use super::template::{self, MAX_NAME_CHARS};

/// The most input fields an assistant has.
pub const MAX_FIELDS: usize = 50;
/// The most prompts an assistant has.
pub const MAX_PROMPTS: usize = 20;
/// The most placeholders in one prompt (its content and system context together).
pub const MAX_PLACEHOLDERS: usize = 50;
/// The most bytes of input values one run takes, all fields together.
pub const MAX_INPUT_BYTES: usize = 100 * 1024;
/// The longest a run may take.
pub const MAX_RUN_TIME: Duration = Duration::from_secs(15 * 60);

/// One prompt as the graph sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptText<'a> {
    /// What other prompts write to use its output: `{{key}}`.
    pub key: &'a str,
    /// What people see.
    pub name: &'a str,
    pub content: &'a str,
    pub system: Option<&'a str>,
}

/// Why an assistant cannot be saved as it is. Each says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("An assistant has at most {MAX_FIELDS} input fields; this one has {0}.")]
    TooManyFields(usize),
    #[error("An assistant has at most {MAX_PROMPTS} prompts; this one has {0}.")]
    TooManyPrompts(usize),
    #[error(
        "\u{201c}{0}\u{201d} cannot be a name: use lowercase letters, digits, _ or -, starting with a letter, at most {MAX_NAME_CHARS} characters."
    )]
    BadName(String),
    #[error("Two fields or prompts are called \u{201c}{0}\u{201d}: each needs its own name.")]
    Duplicate(String),
    #[error(
        "Prompt \u{201c}{prompt}\u{201d} has {count} placeholders; at most {MAX_PLACEHOLDERS} are allowed."
    )]
    TooManyPlaceholders { prompt: String, count: usize },
    #[error(
        "Prompt \u{201c}{prompt}\u{201d} uses {{{{{name}}}}}, which is no input field or prompt. Add it, or write \\{{{{{name}}}}} to keep it as text."
    )]
    Unknown { prompt: String, name: String },
    #[error("Prompt \u{201c}{0}\u{201d} uses its own output.")]
    OwnOutput(String),
    #[error("These prompts wait for each other in a circle: {}.", .0.join(" \u{2192} "))]
    Cycle(Vec<String>),
}

/// How a run goes through the prompts (indices into the prompts given to [`plan`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// For each prompt, the prompts whose outputs it uses.
    pub waits_for: Vec<Vec<usize>>,
    /// For each prompt, the input fields it uses (indices into the fields).
    pub fields_used: Vec<Vec<usize>>,
    /// The prompts level by level: each level's prompts need only earlier levels' outputs
    /// and run together.
    pub levels: Vec<Vec<usize>>,
}

impl Plan {
    /// The prompts that depend, directly or through others, on prompt `failed`: those a
    /// failed step stops.
    pub fn dependents(&self, failed: usize) -> Vec<usize> {
        let mut stopped = vec![false; self.waits_for.len()];
        // Levels are in order: a prompt's inputs are all on earlier levels.
        for &prompt in self.levels.iter().flatten() {
            stopped[prompt] = self.waits_for[prompt]
                .iter()
                .any(|&input| input == failed || stopped[input]);
        }
        (0..stopped.len()).filter(|&p| stopped[p]).collect()
    }
}

/// Checks `fields` (their names) and `prompts` and orders the prompts. Every problem found is
/// returned, not only the first.
pub fn plan(fields: &[&str], prompts: &[PromptText<'_>]) -> Result<Plan, Vec<Problem>> {
    let mut problems = Vec::new();
    if fields.len() > MAX_FIELDS {
        problems.push(Problem::TooManyFields(fields.len()));
    }
    if prompts.len() > MAX_PROMPTS {
        problems.push(Problem::TooManyPrompts(prompts.len()));
    }
    let names = fields.iter().copied().chain(prompts.iter().map(|p| p.key));
    let mut seen: Vec<&str> = Vec::new();
    for name in names {
        if !template::is_name(name) {
            problems.push(Problem::BadName(name.to_owned()));
        } else if seen.contains(&name) {
            if !problems.contains(&Problem::Duplicate(name.to_owned())) {
                problems.push(Problem::Duplicate(name.to_owned()));
            }
        } else {
            seen.push(name);
        }
    }

    let mut waits_for = vec![Vec::new(); prompts.len()];
    let mut fields_used = vec![Vec::new(); prompts.len()];
    for (index, prompt) in prompts.iter().enumerate() {
        let (mut names, mut count) = template::references(prompt.content);
        if let Some(system) = prompt.system {
            let (more, more_count) = template::references(system);
            count += more_count;
            for name in more {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        if count > MAX_PLACEHOLDERS {
            problems.push(Problem::TooManyPlaceholders {
                prompt: prompt.name.to_owned(),
                count,
            });
        }
        for name in names {
            if let Some(field) = fields.iter().position(|f| *f == name) {
                fields_used[index].push(field);
            } else if let Some(other) = prompts.iter().position(|p| p.key == name) {
                if other == index {
                    problems.push(Problem::OwnOutput(prompt.name.to_owned()));
                } else {
                    waits_for[index].push(other);
                }
            } else {
                problems.push(Problem::Unknown {
                    prompt: prompt.name.to_owned(),
                    name: name.to_owned(),
                });
            }
        }
    }

    let levels = levels(&waits_for);
    let placed: usize = levels.iter().map(Vec::len).sum();
    if placed < prompts.len() {
        let cycle = cycle(&waits_for, &levels);
        problems.push(Problem::Cycle(
            cycle
                .into_iter()
                .map(|p| prompts[p].key.to_owned())
                .collect(),
        ));
    }
    if problems.is_empty() {
        Ok(Plan {
            waits_for,
            fields_used,
            levels,
        })
    } else {
        Err(problems)
    }
}

/// The prompts by level (Kahn's order); prompts in or behind a circle are left out.
fn levels(waits_for: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let mut level_of: Vec<Option<usize>> = vec![None; waits_for.len()];
    let mut levels: Vec<Vec<usize>> = Vec::new();
    loop {
        let ready: Vec<usize> = (0..waits_for.len())
            .filter(|&p| level_of[p].is_none())
            .filter(|&p| waits_for[p].iter().all(|&input| level_of[input].is_some()))
            .collect();
        if ready.is_empty() {
            return levels;
        }
        for &p in &ready {
            level_of[p] = Some(levels.len());
        }
        levels.push(ready);
    }
}

/// One circle among the prompts no level holds, closed (its first prompt again at the end).
fn cycle(waits_for: &[Vec<usize>], levels: &[Vec<usize>]) -> Vec<usize> {
    let placed: Vec<usize> = levels.iter().flatten().copied().collect();
    let Some(start) = (0..waits_for.len()).find(|p| !placed.contains(p)) else {
        return Vec::new();
    };
    // Every unplaced prompt waits for another unplaced one: following those links from any of
    // them must come back round to a prompt already on the path.
    let mut path = vec![start];
    loop {
        let last = *path.last().unwrap_or(&start);
        let Some(&next) = waits_for[last].iter().find(|p| !placed.contains(p)) else {
            return path;
        };
        if let Some(at) = path.iter().position(|&p| p == next) {
            let mut circle = path.split_off(at);
            circle.push(next);
            return circle;
        }
        path.push(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompt<'a>(key: &'a str, content: &'a str) -> PromptText<'a> {
        PromptText {
            key,
            name: key,
            content,
            system: None,
        }
    }

    #[test]
    fn independent_prompts_share_a_level_and_a_joining_one_waits_for_both() {
        let prompts = [
            prompt("summary", "Summarise {{notes}}."),
            prompt("actions", "List the actions in ${notes} for {{parent}}."),
            prompt(
                "letter",
                "Write to {{parent}} from {{summary}} and {{actions}}.",
            ),
        ];
        let plan = plan(&["notes", "parent"], &prompts).unwrap();
        assert_eq!(plan.levels, vec![vec![0, 1], vec![2]]);
        assert_eq!(plan.waits_for, vec![vec![], vec![], vec![0, 1]]);
        assert_eq!(plan.fields_used, vec![vec![0], vec![0, 1], vec![1]]);
    }

    #[test]
    fn the_order_prompts_are_listed_in_does_not_matter() {
        let prompts = [
            prompt("c", "{{b}}"),
            prompt("b", "{{a}}"),
            prompt("a", "{{topic}}"),
        ];
        let plan = plan(&["topic"], &prompts).unwrap();
        assert_eq!(plan.levels, vec![vec![2], vec![1], vec![0]]);
    }

    #[test]
    fn a_circle_is_refused_naming_its_prompts() {
        let prompts = [
            prompt("start", "{{topic}}"),
            prompt("draft", "{{start}} {{review}}"),
            prompt("review", "{{draft}}"),
            prompt("after", "{{review}}"),
        ];
        let problems = plan(&["topic"], &prompts).unwrap_err();
        assert_eq!(
            problems,
            vec![Problem::Cycle(vec![
                "draft".into(),
                "review".into(),
                "draft".into()
            ])]
        );
        assert_eq!(
            problems[0].to_string(),
            "These prompts wait for each other in a circle: draft \u{2192} review \u{2192} draft."
        );
    }

    #[test]
    fn a_prompt_using_its_own_output_is_refused() {
        let problems = plan(&[], &[prompt("loop", "Again: {{loop}}")]).unwrap_err();
        assert_eq!(problems, vec![Problem::OwnOutput("loop".into())]);
    }

    #[test]
    fn unknown_and_removed_names_are_each_named() {
        // `grade` was a field once; `sumary` is a typo. The system context counts too.
        let prompts = [
            prompt("summary", "Summarise {{notes}} for {{grade}}."),
            PromptText {
                key: "letter",
                name: "Parent letter",
                content: "From {{sumary}}.",
                system: Some("You write to ${audience}."),
            },
        ];
        let problems = plan(&["notes"], &prompts).unwrap_err();
        assert_eq!(
            problems,
            vec![
                Problem::Unknown {
                    prompt: "summary".into(),
                    name: "grade".into()
                },
                Problem::Unknown {
                    prompt: "Parent letter".into(),
                    name: "sumary".into()
                },
                Problem::Unknown {
                    prompt: "Parent letter".into(),
                    name: "audience".into()
                },
            ]
        );
        assert_eq!(
            problems[1].to_string(),
            "Prompt \u{201c}Parent letter\u{201d} uses {{sumary}}, which is no input field or prompt. Add it, or write \\{{sumary}} to keep it as text."
        );
        // Escaped, it is text.
        assert!(
            plan(
                &["notes"],
                &[prompt("summary", r"Keep \{{grade}} as is: {{notes}}")]
            )
            .is_ok()
        );
    }

    #[test]
    fn names_must_be_well_formed_and_distinct_across_fields_and_prompts() {
        let problems = plan(
            &["topic", "Year Group", "topic"],
            &[prompt("topic", "x"), prompt("ok", "y")],
        )
        .unwrap_err();
        assert_eq!(
            problems,
            vec![
                Problem::BadName("Year Group".into()),
                Problem::Duplicate("topic".into())
            ]
        );
    }

    #[test]
    fn the_limits_are_refused_with_their_numbers() {
        let fields: Vec<String> = (0..=MAX_FIELDS).map(|i| format!("f{i}")).collect();
        let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
        let keys: Vec<String> = (0..=MAX_PROMPTS).map(|i| format!("p{i}")).collect();
        let many = "{{f0}} ".repeat(MAX_PLACEHOLDERS + 1);
        let mut prompts: Vec<PromptText<'_>> = keys.iter().map(|k| prompt(k, "text")).collect();
        prompts[0].content = &many;
        let problems = plan(&fields, &prompts).unwrap_err();
        assert_eq!(
            problems,
            vec![
                Problem::TooManyFields(MAX_FIELDS + 1),
                Problem::TooManyPrompts(MAX_PROMPTS + 1),
                Problem::TooManyPlaceholders {
                    prompt: "p0".into(),
                    count: MAX_PLACEHOLDERS + 1
                },
            ]
        );
        // At the limits it is fine.
        let at_limit = "{{f0}} ".repeat(MAX_PLACEHOLDERS);
        prompts.truncate(MAX_PROMPTS);
        prompts[0].content = &at_limit;
        assert!(plan(&fields[..MAX_FIELDS], &prompts).is_ok());
    }

    #[test]
    fn a_failed_prompt_stops_what_depends_on_it_and_nothing_else() {
        let prompts = [
            prompt("a", "{{topic}}"),
            prompt("b", "{{topic}}"),
            prompt("c", "{{a}}"),
            prompt("d", "{{c}} {{b}}"),
            prompt("e", "{{b}}"),
        ];
        let plan = plan(&["topic"], &prompts).unwrap();
        assert_eq!(plan.dependents(0), vec![2, 3]);
        assert_eq!(plan.dependents(1), vec![3, 4]);
        assert_eq!(plan.dependents(3), Vec::<usize>::new());
    }

    #[test]
    fn an_assistant_with_no_prompts_yet_can_be_saved() {
        let plan = plan(&["topic"], &[]).unwrap();
        assert!(plan.levels.is_empty());
    }
}
