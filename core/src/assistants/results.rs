//! What a run leaves behind for the person who started it: their runs in a list, a run as one
//! Markdown document (to download, to mail, to hand to a chat), and a conversation that goes
//! on from a run's results.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    events::{RunView, StepView},
    inputs::Value,
    run::State,
};
use crate::chat::{ChatError, auto_title};

/// A run in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub id: Uuid,
    pub assistant_id: Uuid,
    pub assistant_name: String,
    pub status: State,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// The most runs a list shows.
pub const LIST_LIMIT: i64 = 50;

/// `user`'s newest runs, of assistant `assistant` only when given.
pub async fn runs(
    pool: &PgPool,
    user: Uuid,
    assistant: Option<Uuid>,
) -> sqlx::Result<Vec<RunSummary>> {
    let rows = sqlx::query!(
        r#"
        select r.id, r.assistant_id, v.name as assistant_name, r.status, r.created_at,
               r.finished_at
        from assistant_runs as r
        join assistant_versions as v on v.id = r.version_id
        where r.user_id = $1 and ($2::uuid is null or r.assistant_id = $2)
        order by r.created_at desc, r.id
        limit $3
        "#,
        user,
        assistant,
        LIST_LIMIT
    )
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(RunSummary {
                id: r.id,
                assistant_id: r.assistant_id,
                assistant_name: r.assistant_name,
                status: State::decode(&r.status)?,
                created_at: r.created_at,
                finished_at: r.finished_at,
            })
        })
        .collect()
}

/// What a step shows in the document: its output, or why there is none.
fn step_text(step: &StepView) -> String {
    match step.status {
        State::Succeeded => step.output.trim().to_owned(),
        State::Failed => format!(
            "*This step failed: {}*",
            step.error.as_deref().unwrap_or("no reason given")
        ),
        State::Skipped => "*Not run: a step it needs failed.*".to_owned(),
        State::Queued | State::Pending | State::Running => "*Not finished.*".to_owned(),
    }
}

/// The inputs as a list, in the order of their names.
fn inputs_text(run: &RunView) -> String {
    let mut lines = Vec::new();
    for (name, value) in &run.inputs {
        let text = match value {
            Value::One(text) => text.clone(),
            Value::Many(all) => all.join(", "),
        };
        // Long values (a letter's notes, a file's text) are quoted, not listed.
        if text.contains('\n') || text.chars().count() > 200 {
            let quoted: Vec<String> = text.lines().map(|line| format!("> {line}")).collect();
            lines.push(format!("- **{name}**:\n\n{}\n", quoted.join("\n")));
        } else {
            lines.push(format!("- **{name}**: {text}"));
        }
    }
    lines.join("\n")
}

/// `run` as one Markdown document: a heading, when it ran, its inputs, and each step's output
/// under the step's name, with the sources a step cited.
pub fn markdown(run: &RunView) -> String {
    let mut out = format!("# {}\n\n", run.assistant_name);
    out.push_str(&format!(
        "Run of {} UTC.\n\n",
        run.created_at.format("%Y-%m-%d %H:%M")
    ));
    if !run.inputs.is_empty() {
        out.push_str("## Inputs\n\n");
        out.push_str(&inputs_text(run));
        out.push_str("\n\n");
    }
    for step in &run.steps {
        out.push_str(&format!("## {}\n\n{}\n\n", step.name, step_text(step)));
        if !step.sources.is_empty() {
            out.push_str("Sources:\n\n");
            for source in &step.sources {
                match &source.location {
                    Some(at) => {
                        out.push_str(&format!("{}. {} ({at})\n", source.number, source.item_name))
                    }
                    None => out.push_str(&format!("{}. {}\n", source.number, source.item_name)),
                }
            }
            out.push('\n');
        }
    }
    if let Some(error) = &run.error {
        out.push_str(&format!("*The run failed: {error}*\n"));
    }
    out.trim_end().to_owned() + "\n"
}

/// A file name for `run`'s document: the assistant's name in ASCII letters, digits and dashes
/// (a header carries it).
pub fn file_name(run: &RunView) -> String {
    let mut name: String = run
        .assistant_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name = name.trim_matches('-');
    let name = if name.is_empty() { "assistant" } else { name };
    format!("{name}-{}.md", run.created_at.format("%Y-%m-%d-%H%M"))
}

/// Starts a conversation of `run`'s owner `user` that goes on from the run: the run's inputs
/// asked, its results as the first answer (written by the model of its last step), so the
/// next message the person sends has the results as context. Refused for a run still going.
pub async fn continue_in_chat(pool: &PgPool, user: Uuid, run: &RunView) -> Result<Uuid, ChatError> {
    if !run.status.is_final() {
        return Err(ChatError::Invalid(
            "The run is still going; continue in chat once it has ended.".into(),
        ));
    }
    let question = format!(
        "Results of the assistant \u{201c}{}\u{201d}.\n\n{}",
        run.assistant_name,
        inputs_text(run)
    );
    let answer = run
        .steps
        .iter()
        .map(|step| format!("## {}\n\n{}", step.name, step_text(step)))
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut tx = pool.begin().await?;
    let model = sqlx::query_scalar!(
        r#"
        select model_id from assistant_run_steps
        where run_id = $1 and model_id is not null
        order by position desc limit 1
        "#,
        run.id
    )
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let conversation = sqlx::query_scalar!(
        "insert into conversations (user_id, title, model_id) values ($1, $2, $3) returning id",
        user,
        auto_title(&run.assistant_name),
        model
    )
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query!(
        r#"
        with question as (
            insert into messages (conversation_id, role, content)
            values ($1, 'user', $2) returning id
        ), answer as (
            insert into messages (conversation_id, parent_id, role, model_id, content)
            select $1, id, 'assistant', $3, $4 from question returning id
        )
        update conversations set current_message_id = (select id from answer)
        where id = $1
        "#,
        conversation,
        question,
        model,
        answer
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(conversation)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::TimeZone;

    use super::*;
    use crate::assistants::events::Source;

    fn step(name: &str, status: State, output: &str) -> StepView {
        StepView {
            id: Uuid::nil(),
            position: 0,
            key: name.to_lowercase(),
            name: name.into(),
            status,
            model: Some("Writer".into()),
            input: None,
            output: output.into(),
            error: (status == State::Failed).then(|| "the provider refused".into()),
            input_tokens: None,
            output_tokens: None,
            cost: None,
            millis: None,
            sources: Vec::new(),
        }
    }

    fn run() -> RunView {
        let mut inputs = BTreeMap::new();
        inputs.insert("notes".into(), Value::One("Line one\nLine two".into()));
        inputs.insert(
            "tone".into(),
            Value::Many(vec!["warm".into(), "brief".into()]),
        );
        let mut summary = step("Summary", State::Succeeded, "  A short summary. ");
        summary.sources.push(Source {
            number: 1,
            item_name: "policy.pdf".into(),
            location: Some("page 2".into()),
            repository_id: None,
            item_id: None,
        });
        RunView {
            id: Uuid::nil(),
            assistant_id: Uuid::nil(),
            assistant_name: "Parent letter: Y7 / trips".into(),
            status: State::Failed,
            error: Some("A step failed.".into()),
            inputs,
            created_at: Utc.with_ymd_and_hms(2026, 12, 7, 9, 5, 0).unwrap(),
            started_at: None,
            finished_at: None,
            steps: vec![
                summary,
                step("Greeting", State::Failed, ""),
                step("Letter", State::Skipped, ""),
            ],
            test: false,
        }
    }

    #[test]
    fn a_run_reads_as_one_markdown_document() {
        assert_eq!(
            markdown(&run()),
            "# Parent letter: Y7 / trips\n\n\
             Run of 2026-12-07 09:05 UTC.\n\n\
             ## Inputs\n\n\
             - **notes**:\n\n> Line one\n> Line two\n\n\
             - **tone**: warm, brief\n\n\
             ## Summary\n\nA short summary.\n\n\
             Sources:\n\n1. policy.pdf (page 2)\n\n\
             ## Greeting\n\n*This step failed: the provider refused*\n\n\
             ## Letter\n\n*Not run: a step it needs failed.*\n\n\
             *The run failed: A step failed.*\n"
        );
    }

    #[test]
    fn a_file_name_keeps_letters_and_digits_only() {
        assert_eq!(
            file_name(&run()),
            "parent-letter-y7-trips-2026-12-07-0905.md"
        );
        let mut odd = run();
        odd.assistant_name = "///".into();
        assert_eq!(file_name(&odd), "assistant-2026-12-07-0905.md");
    }
}
