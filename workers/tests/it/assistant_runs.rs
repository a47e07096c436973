//! Assistant runs sent by the job: prompts in the order of their graph, through the turn
//! engine's generations, against fake providers that speak the OpenAI wire protocol.

use std::{collections::HashMap, time::Duration};

use sqlx::PgPool;
use studio_core::{
    accounts::{admin::Actor, users},
    assistants::{
        events::{self, RunEvent},
        inputs::{Inputs, Value},
        run::{self, State},
        store::{self, Definition, Field, FieldKind, Prompt},
    },
    limits::LimitsConfig,
    llm::{
        registry::EnvironmentKeys,
        testing::{FakeServer, Frame, Reply, done, finish_chunk, text_chunk, usage_chunk},
    },
};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// A reply that takes `pause` before its text.
fn slow(text: &str, pause: Duration) -> Reply {
    Reply::Stream(vec![
        Frame::Pause(pause),
        text_chunk(text),
        finish_chunk("stop"),
        usage_chunk(20, 4, 0),
        done(),
    ])
}

fn prompt(key: &str, content: &str, model_id: Uuid) -> Prompt {
    Prompt {
        key: key.into(),
        name: format!("Step {key}"),
        content: content.into(),
        system: None,
        model_id: Some(model_id),
        repositories: Vec::new(),
    }
}

fn definition(prompts: Vec<Prompt>) -> Definition {
    Definition {
        name: "Letter".into(),
        description: String::new(),
        icon: "letter".into(),
        category: String::new(),
        share_knowledge: false,
        fields: vec![Field {
            name: "notes".into(),
            label: "Notes".into(),
            help: String::new(),
            kind: FieldKind::LongText,
            required: true,
            options: Vec::new(),
        }],
        prompts,
    }
}

/// An approved assistant of a staff owner that students run; returns (its id, a student).
async fn approved(pool: &PgPool, owner: Uuid, definition: &Definition) -> (Uuid, Uuid) {
    let admin = person(pool, "administrator").await;
    let student = person(pool, "student").await;
    let id = store::create(pool, owner, definition).await.unwrap();
    store::submit(pool, owner, id).await.unwrap();
    let students: Uuid = sqlx::query_scalar("select id from roles where name = 'student'")
        .fetch_one(pool)
        .await
        .unwrap();
    store::approve(
        pool,
        Actor {
            user_id: admin,
            ip: None,
        },
        id,
        &[students],
    )
    .await
    .unwrap();
    (id, student)
}

async fn person(pool: &PgPool, role: &str) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at)
         values ($1, 'Someone', true, now()) returning id",
    )
    .bind(format!("{}@school.org", Uuid::new_v4().simple()))
    .fetch_one(pool)
    .await
    .unwrap();
    users::grant_role_by_name(pool, id, role).await.unwrap();
    id
}

fn engine(pool: &PgPool) -> studio_core::chat::turn::Engine {
    workers::turn_engine(
        &super::knowledge::pipeline(pool),
        EnvironmentKeys::default(),
        LimitsConfig::default(),
        CancellationToken::new(),
    )
}

fn notes(text: &str) -> Inputs {
    Inputs::from([("notes".to_owned(), Value::One(text.to_owned()))])
}

#[derive(Debug, PartialEq)]
struct Step {
    key: String,
    status: String,
    input: Option<String>,
    output: String,
    error: Option<String>,
}

async fn steps(pool: &PgPool, run_id: Uuid) -> Vec<Step> {
    sqlx::query_as::<_, (String, String, Option<String>, String, Option<String>)>(
        "select key, status, input, output, error from assistant_run_steps where run_id = $1 order by position",
    )
    .bind(run_id)
    .fetch_all(pool)
    .await
    .unwrap()
    .into_iter()
    .map(|(key, status, input, output, error)| Step {
        key,
        status,
        input,
        output,
        error,
    })
    .collect()
}

/// The run's status and error as saved.
async fn ended_as(pool: &PgPool, run_id: Uuid) -> (String, Option<String>) {
    sqlx::query_as("select status, error from assistant_runs where id = $1")
        .bind(run_id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn independent_prompts_are_sent_together_and_a_joining_one_after_both(pool: PgPool) {
    let pause = Duration::from_millis(400);
    let server = FakeServer::start(vec![
        slow("one", pause),
        slow("two", pause),
        slow("three", Duration::ZERO),
    ])
    .await
    .unwrap();
    let (owner, model) = super::turns::user_and_model(&pool, &server, "staff").await;
    let (id, student) = approved(
        &pool,
        owner,
        &definition(vec![
            prompt("summary", "Summarise {{notes}}", model),
            prompt("greeting", "Greet about ${notes}", model),
            prompt("letter", "Join {{summary}} and {{greeting}}", model),
        ]),
    )
    .await;

    // Refused before anything is saved: a missing required field.
    let refused = run::start(&pool, student, id, &Inputs::new()).await;
    assert!(
        matches!(&refused, Err(store::AssistantError::Invalid(p)) if p == &["\u{201c}Notes\u{201d} is required."]),
        "{refused:?}"
    );
    let run_id = run::start(&pool, student, id, &notes("Lost a shoe."))
        .await
        .unwrap();
    let ended = tokio::time::timeout(
        Duration::from_secs(20),
        run::execute(&engine(&pool), run_id),
    )
    .await
    .expect("the run ends")
    .unwrap();
    assert_eq!(ended, State::Succeeded);

    let sent = server.requests();
    assert_eq!(sent.len(), 3);
    // The two independent prompts were both sent before either answered; the joining one
    // only after both had.
    assert!(sent[1].at.duration_since(sent[0].at) < pause, "{sent:?}");
    assert!(sent[2].at.duration_since(sent[1].at) >= pause, "{sent:?}");
    let join = sent[2].body["messages"][0]["content"].as_str().unwrap();
    assert!(
        join == "Join one and two" || join == "Join two and one",
        "{join}"
    );

    let saved = steps(&pool, run_id).await;
    assert_eq!(
        saved
            .iter()
            .map(|s| (s.key.as_str(), s.status.as_str()))
            .collect::<Vec<_>>(),
        [
            ("summary", "succeeded"),
            ("greeting", "succeeded"),
            ("letter", "succeeded")
        ]
    );
    assert_eq!(saved[0].input.as_deref(), Some("Summarise Lost a shoe."));
    assert_eq!(saved[1].input.as_deref(), Some("Greet about Lost a shoe."));
    assert_eq!(saved[2].output, "three");
    // Each call is counted for the student, under the run, at the model's prices.
    let usage: Vec<(String, Option<Uuid>, i32, i32, String)> = sqlx::query_as(
        "select feature, user_id, input_tokens, output_tokens, cost::text from usage_records where assistant_run_id = $1",
    )
    .bind(run_id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(usage.len(), 3);
    for (feature, user, input, output, cost) in usage {
        assert_eq!(
            (feature.as_str(), user, input, output),
            ("assistant", Some(student), 20, 4)
        );
        // 20 in at $2 and 4 out at $8 per million.
        assert_eq!(cost, "0.00007200");
    }
    assert_eq!(ended_as(&pool, run_id).await, ("succeeded".into(), None));

    // Administrators read the assistant's use: one run by one person, its three calls.
    let since = chrono::Utc::now() - chrono::TimeDelta::days(30);
    let report = studio_core::assistants::report::usage(&pool, since)
        .await
        .unwrap();
    assert_eq!(report.len(), 1, "{report:?}");
    let used = &report[0];
    assert_eq!(
        (
            used.assistant_id,
            used.runs,
            used.people,
            used.failed,
            used.tokens
        ),
        (id, 1, 1, 0, 72)
    );
    assert_eq!(used.cost.to_string(), "0.00021600");
    // A period that starts after the run holds nothing.
    let later = chrono::Utc::now() + chrono::TimeDelta::minutes(1);
    assert!(
        studio_core::assistants::report::usage(&pool, later)
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_failed_step_skips_what_waits_for_it_and_keeps_the_rest(pool: PgPool) {
    let working = FakeServer::start(vec![Reply::text(&["fine"], 10, 2)])
        .await
        .unwrap();
    let broken = FakeServer::start(vec![Reply::error(400, "model refuses")])
        .await
        .unwrap();
    let (owner, good) = super::turns::user_and_model(&pool, &working, "staff").await;
    let (_, bad) = super::turns::user_and_model(&pool, &broken, "staff").await;
    let (id, student) = approved(
        &pool,
        owner,
        &definition(vec![
            prompt("a", "{{notes}}", bad),
            prompt("b", "After {{a}}", good),
            prompt("c", "{{notes}} too", good),
            prompt("d", "After {{c}}", good),
        ]),
    )
    .await;
    let run_id = run::start(&pool, student, id, &notes("x")).await.unwrap();
    let ended = run::execute(&engine(&pool), run_id).await.unwrap();
    assert_eq!(ended, State::Failed);

    let saved = steps(&pool, run_id).await;
    let (a, b, c, d) = (&saved[0], &saved[1], &saved[2], &saved[3]);
    assert_eq!(a.status, "failed");
    assert!(a.error.is_some(), "{a:?}");
    assert_eq!(
        (b.status.as_str(), b.input.as_deref(), b.error.as_deref()),
        (
            "skipped",
            None,
            Some("Not sent: it uses \u{201c}Step a\u{201d}, which did not finish.")
        )
    );
    assert_eq!(
        (c.status.as_str(), c.output.as_str()),
        ("succeeded", "fine")
    );
    assert_eq!(
        (d.status.as_str(), d.input.as_deref()),
        ("succeeded", Some("After fine"))
    );
    assert!(broken.requests().len() == 1 && working.requests().len() == 2);
    assert_eq!(
        ended_as(&pool, run_id).await,
        (
            "failed".into(),
            Some(
                "2 of 4 steps did not finish: \u{201c}Step a\u{201d}, \u{201c}Step b\u{201d}."
                    .into()
            )
        )
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn an_interrupted_run_resumes_its_unfinished_steps_from_the_queue(pool: PgPool) {
    let server = FakeServer::start(vec![Reply::text(&["again"], 10, 2)])
        .await
        .unwrap();
    let (owner, model) = super::turns::user_and_model(&pool, &server, "staff").await;
    let (id, student) = approved(
        &pool,
        owner,
        &definition(vec![
            prompt("first", "{{notes}}", model),
            prompt("second", "{{notes}} second", model),
            prompt("last", "{{first}} + {{second}}", model),
        ]),
    )
    .await;
    let run_id = run::start(&pool, student, id, &notes("x")).await.unwrap();
    // As a process left it when it died: the first step done, the second under way.
    sqlx::query("update assistant_runs set status = 'running', started_at = now() where id = $1")
        .bind(run_id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "update assistant_run_steps set status = 'succeeded', output = 'kept', input = 'x'
         where run_id = $1 and key = 'first'",
    )
    .bind(run_id)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "update assistant_run_steps set status = 'running', output = 'half'
         where run_id = $1 and key = 'second'",
    )
    .bind(run_id)
    .execute(&pool)
    .await
    .unwrap();

    // The queued job picks it up.
    super::turns::drain(&pool).await;
    let saved = steps(&pool, run_id).await;
    assert_eq!(
        saved
            .iter()
            .map(|s| (s.status.as_str(), s.output.as_str()))
            .collect::<Vec<_>>(),
        [
            ("succeeded", "kept"),
            ("succeeded", "again"),
            ("succeeded", "again")
        ]
    );
    // Only what was unfinished was sent again, with the kept output.
    let sent = server.requests();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].body["messages"][0]["content"], "kept + again");
    assert_eq!(ended_as(&pool, run_id).await, ("succeeded".into(), None));
    // A run already ended is left as it is.
    assert_eq!(
        run::execute(&engine(&pool), run_id).await.unwrap(),
        State::Succeeded
    );
    assert_eq!(server.requests().len(), 2);
}

/// A reply in pieces, `pause` before each.
fn pieces(texts: &[&str], pause: Duration) -> Reply {
    let mut frames = Vec::new();
    for text in texts {
        frames.push(Frame::Pause(pause));
        frames.push(text_chunk(text));
    }
    frames.extend([finish_chunk("stop"), usage_chunk(20, 4, 0), done()]);
    Reply::Stream(frames)
}

/// Events of `follower` until the run's end (or a timeout).
async fn until_end(mut follower: futures::stream::BoxStream<'static, RunEvent>) -> Vec<RunEvent> {
    use futures::StreamExt;
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(event) = follower.next().await {
            let last = matches!(event, RunEvent::RunEnded { .. });
            seen.push(event);
            if last {
                break;
            }
        }
    })
    .await
    .expect("the run ends");
    seen
}

/// Each step's text as a follower put it together from `events`: `StepStarted` clears it,
/// `StepOutput` replaces it, `StepText` adds to it.
fn texts(events: &[RunEvent]) -> HashMap<Uuid, String> {
    let mut texts: HashMap<Uuid, String> = HashMap::new();
    for event in events {
        match event {
            RunEvent::Snapshot(run) => {
                for step in &run.steps {
                    texts.insert(step.id, step.output.clone());
                }
            }
            RunEvent::StepStarted { step, .. } => {
                texts.insert(*step, String::new());
            }
            RunEvent::StepOutput { step, output } => {
                texts.insert(*step, output.clone());
            }
            RunEvent::StepText { step, text } => texts.entry(*step).or_default().push_str(text),
            RunEvent::StepKnowledge { .. }
            | RunEvent::StepFinished(_)
            | RunEvent::RunEnded { .. } => {}
        }
    }
    texts
}

/// Where the first event matching `what` is in `events`.
fn position(events: &[RunEvent], what: impl Fn(&RunEvent) -> bool) -> usize {
    events
        .iter()
        .position(what)
        .unwrap_or_else(|| panic!("not among {events:#?}"))
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_run_is_followed_live_step_by_step_and_again_after_a_reload(pool: PgPool) {
    let pause = Duration::from_millis(150);
    let server = FakeServer::start(vec![
        pieces(&["Shoe ", "lost ", "today."], pause),
        pieces(&["Dear ", "parent,"], pause),
        pieces(&["Dear parent, ", "a shoe was lost."], pause),
    ])
    .await
    .unwrap();
    let (owner, model) = super::turns::user_and_model(&pool, &server, "staff").await;
    let (id, student) = approved(
        &pool,
        owner,
        &definition(vec![
            prompt("summary", "Summarise {{notes}}", model),
            prompt("greeting", "Greet about {{notes}}", model),
            prompt("letter", "Join {{summary}} and {{greeting}}", model),
        ]),
    )
    .await;
    let run_id = run::start(&pool, student, id, &notes("Lost a shoe."))
        .await
        .unwrap();
    let engine = engine(&pool);
    let follow = |user| events::follow(engine.generations.clone(), pool.clone(), user, run_id);
    // Nobody else follows it, not even its assistant's owner.
    assert!(follow(owner).await.unwrap().is_none());

    let first = follow(student).await.unwrap().unwrap();
    let running = tokio::spawn({
        let engine = engine.clone();
        async move { run::execute(&engine, run_id).await }
    });
    let live = tokio::spawn(until_end(first));
    // A reload in the middle of the run: it starts from the run as it is then.
    tokio::time::sleep(pause * 2).await;
    let again = until_end(follow(student).await.unwrap().unwrap()).await;
    assert_eq!(running.await.unwrap().unwrap(), State::Succeeded);
    let live = live.await.unwrap();

    let saved = steps(&pool, run_id).await;
    let RunEvent::Snapshot(start) = &live[0] else {
        panic!("{live:#?}")
    };
    assert_eq!(start.status, State::Queued);
    assert_eq!(start.assistant_name, "Letter");
    assert!(start.steps.iter().all(|s| s.status == State::Pending));
    let ids: Vec<Uuid> = start.steps.iter().map(|s| s.id).collect();
    let started = |step: Uuid| move |event: &RunEvent| matches!(event, RunEvent::StepStarted { step: s, .. } if *s == step);
    let finished = |step: Uuid| move |event: &RunEvent| matches!(event, RunEvent::StepFinished(s) if s.id == step);
    let streamed = |step: Uuid| move |event: &RunEvent| matches!(event, RunEvent::StepText { step: s, .. } if *s == step);
    for &step in &ids {
        // Each step starts, streams in more than one piece, then finishes.
        let texts_at: Vec<usize> = live
            .iter()
            .enumerate()
            .filter(|(_, e)| streamed(step)(e))
            .map(|(i, _)| i)
            .collect();
        assert!(texts_at.len() >= 2, "{live:#?}");
        assert!(position(&live, started(step)) < texts_at[0]);
        assert!(texts_at[texts_at.len() - 1] < position(&live, finished(step)));
    }
    // The joining step starts only once both steps it uses have finished.
    assert!(position(&live, finished(ids[0])) < position(&live, started(ids[2])));
    assert!(position(&live, finished(ids[1])) < position(&live, started(ids[2])));
    let RunEvent::StepFinished(letter) = &live[position(&live, finished(ids[2]))] else {
        unreachable!()
    };
    assert_eq!(
        (
            letter.status,
            letter.output.as_str(),
            letter.input_tokens,
            letter.output_tokens,
            letter.model.as_deref()
        ),
        (
            State::Succeeded,
            "Dear parent, a shoe was lost.",
            Some(20),
            Some(4),
            Some("Fake")
        )
    );
    assert_eq!(
        letter.cost.map(|c| c.to_string()).as_deref(),
        Some("0.00007200")
    );
    assert!(letter.millis.is_some_and(|ms| ms >= 0));
    assert_eq!(
        live.last(),
        Some(&RunEvent::RunEnded {
            status: State::Succeeded,
            error: None
        })
    );

    // The reload saw the run under way, and ended with the same text for every step.
    let RunEvent::Snapshot(then) = &again[0] else {
        panic!("{again:#?}")
    };
    assert_eq!(then.status, State::Running);
    assert_eq!(again.last(), live.last());
    let (live_texts, again_texts) = (texts(&live), texts(&again));
    for step in &saved {
        let id = ids[saved.iter().position(|s| s.key == step.key).unwrap()];
        assert_eq!(live_texts[&id], step.output, "{live:#?}");
        assert_eq!(again_texts[&id], step.output, "{again:#?}");
    }

    // Once ended, a follower gets the run and its end.
    let after = until_end(follow(student).await.unwrap().unwrap()).await;
    assert!(
        matches!(&after[..], [RunEvent::Snapshot(run), RunEvent::RunEnded { status: State::Succeeded, .. }] if run.steps.iter().all(|s| s.status == State::Succeeded)),
        "{after:#?}"
    );
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_schedule_ticked_runs_its_assistant_and_counts_a_failed_run(pool: PgPool) {
    use studio_core::schedules::{recurrence::Recurrence, store as schedules};

    let server = FakeServer::start(vec![
        Reply::text(&["Digest."], 10, 2),
        Reply::error(400, "model refuses"),
    ])
    .await
    .unwrap();
    let (owner, model) = super::turns::user_and_model(&pool, &server, "staff").await;
    let (id, _) = approved(
        &pool,
        owner,
        &definition(vec![prompt("digest", "News on {{notes}}", model)]),
    )
    .await;
    // The owner's role runs it too.
    let staff: Uuid = sqlx::query_scalar("select id from roles where name = 'staff'")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into role_tools (role_id, tool_id) select $1, tool_id from assistants where id = $2",
    )
    .bind(staff)
    .bind(id)
    .execute(&pool)
    .await
    .unwrap();
    let schedule = schedules::create(
        &pool,
        owner,
        &schedules::Draft {
            name: "Morning digest".into(),
            assistant_id: id,
            inputs: notes("the week"),
            recurrence: Recurrence::Cron {
                pattern: "0 7 * * 1-5".into(),
            },
            time_zone: "America/Chicago".into(),
            catch_up: true,
            email: false,
        },
    )
    .await
    .unwrap();
    sqlx::query("update schedules set next_run_at = now() - interval '1 minute' where id = $1")
        .bind(schedule)
        .execute(&pool)
        .await
        .unwrap();

    // The ticker starts it; the queue runs it, as the owner.
    assert_eq!(
        workers::schedules::tick_once(&pool, &crate::public_url())
            .await
            .unwrap()
            .started,
        1
    );
    super::turns::drain(&pool).await;
    let (status, user, output): (String, Uuid, String) = sqlx::query_as(
        "select r.status, r.user_id, s.output from assistant_runs r join assistant_run_steps s on s.run_id = r.id where r.schedule_id = $1",
    )
    .bind(schedule)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), user, output.as_str()),
        ("succeeded", owner, "Digest.")
    );
    assert_eq!(
        server.requests()[0].body["messages"][0]["content"],
        "News on the week"
    );
    // Its owner is told in the app.
    let told = studio_core::notifications::list(&pool, owner)
        .await
        .unwrap();
    assert_eq!(
        told.iter()
            .map(|n| (n.title.as_str(), n.body.as_str()))
            .collect::<Vec<_>>(),
        [("\u{201c}Morning digest\u{201d} finished", "Digest.")]
    );

    // "Run now" fails at the model: the schedule counts it.
    schedules::run_now(&pool, owner, schedule, 3).await.unwrap();
    super::turns::drain(&pool).await;
    let failures: i32 = sqlx::query_scalar("select failures from schedules where id = $1")
        .bind(schedule)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(failures, 1);
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_run_whose_job_gave_up_fails_with_the_reason_and_never_stays_running(pool: PgPool) {
    // Never called: nothing here runs the jobs.
    let server = FakeServer::start(vec![Reply::text(&["unused"], 1, 1)])
        .await
        .unwrap();
    let (owner, model) = super::turns::user_and_model(&pool, &server, "staff").await;
    let (id, student) = approved(
        &pool,
        owner,
        &definition(vec![
            prompt("first", "{{notes}}", model),
            prompt("second", "{{first}}", model),
        ]),
    )
    .await;
    let waiting = run::start(&pool, student, id, &notes("x")).await.unwrap();
    let abandoned = run::start(&pool, student, id, &notes("y")).await.unwrap();
    // As the queue leaves a job that died on its last attempt, mid-run.
    sqlx::query("update assistant_runs set status = 'running' where id = $1")
        .bind(abandoned)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "update assistant_run_steps set status = 'running' where run_id = $1 and key = 'first'",
    )
    .bind(abandoned)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("update jobs set status = 'dead' where dedupe_key = $1")
        .bind(format!("assistant-run:{abandoned}"))
        .execute(&pool)
        .await
        .unwrap();

    workers::schedules::tick_once(&pool, &crate::public_url())
        .await
        .unwrap();
    assert_eq!(
        ended_as(&pool, abandoned).await,
        ("failed".into(), Some(run::ABANDONED.into()))
    );
    let steps: Vec<(String, String)> = steps(&pool, abandoned)
        .await
        .into_iter()
        .map(|s| (s.key, s.status))
        .collect();
    assert_eq!(
        steps,
        [
            ("first".to_owned(), "failed".to_owned()),
            ("second".to_owned(), "skipped".to_owned())
        ]
    );
    // A run whose job is still waiting is left to it.
    assert_eq!(ended_as(&pool, waiting).await, ("queued".into(), None));
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_step_reads_knowledge_the_runner_may_read_or_the_owner_shares(pool: PgPool) {
    use studio_core::knowledge::{
        repos::{self, ItemKind, NewItem, RepositoryFields},
        storage,
    };

    let server = FakeServer::start(vec![
        Reply::text(&["No idea."], 10, 2),
        Reply::text(&["Pumice [1]."], 10, 2),
        Reply::text(&["Pumice [1]."], 10, 2),
    ])
    .await
    .unwrap();
    let (owner, model) = super::turns::user_and_model(&pool, &server, "staff").await;
    // The owner's private repository, its one item processed.
    let pipeline = super::knowledge::pipeline(&pool);
    let repository = repos::create(
        &pool,
        owner,
        &RepositoryFields {
            name: "Geology".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();
    let item = Uuid::new_v4();
    let key = storage::original_key(repository, item);
    pipeline
        .storage
        .put(
            &key,
            b"# Rocks\n\nPumice is a volcanic rock so light that it floats on water.",
        )
        .await
        .unwrap();
    repos::add_item(
        &pool,
        owner,
        repository,
        &NewItem {
            id: item,
            kind: ItemKind::File,
            name: "rocks.md".into(),
            storage_key: Some(key),
            size_bytes: 10,
        },
    )
    .await
    .unwrap();
    pipeline
        .ingest(item, &CancellationToken::new())
        .await
        .unwrap();

    let with_knowledge = |shared: bool| {
        let mut definition = definition(vec![Prompt {
            repositories: vec![repository],
            ..prompt("answer", "Which rock floats on water? {{notes}}", model)
        }]);
        definition.share_knowledge = shared;
        definition
    };
    let engine = engine(&pool);
    // The system message of the `n`th call, if it had one.
    let sources_sent = |n: usize| {
        let body = &server.requests()[n].body;
        (body["messages"][0]["role"] == "system")
            .then(|| body["messages"][0]["content"].as_str().unwrap().to_owned())
    };
    let cited = |run_id: Uuid| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select c.item_name from assistant_run_citations c join assistant_run_steps s on s.id = c.step_id where s.run_id = $1",
            )
            .bind(run_id)
            .fetch_all(&pool)
            .await
            .unwrap()
        }
    };

    // Not shared: the student may not read the owner's repository, so the step gets nothing.
    let (private, student) = approved(&pool, owner, &with_knowledge(false)).await;
    let run_id = run::start(&pool, student, private, &notes("Think."))
        .await
        .unwrap();
    assert_eq!(
        run::execute(&engine, run_id).await.unwrap(),
        State::Succeeded
    );
    assert_eq!(sources_sent(0), None);
    assert!(cited(run_id).await.is_empty());

    // Shared by the owner: the step searches it as the owner, and keeps what it was given.
    let (shared, student) = approved(&pool, owner, &with_knowledge(true)).await;
    let run_id = run::start(&pool, student, shared, &notes("Think."))
        .await
        .unwrap();
    assert_eq!(
        run::execute(&engine, run_id).await.unwrap(),
        State::Succeeded
    );
    let sent = sources_sent(1).expect("the sources go first");
    assert!(
        sent.contains("[1] rocks.md") && sent.contains("Pumice"),
        "{sent}"
    );
    assert_eq!(cited(run_id).await, ["rocks.md"]);
    let seen = events::read(&pool, student, run_id).await.unwrap().unwrap();
    assert_eq!(seen.steps[0].sources[0].item_name, "rocks.md");

    // Not shared, but public now: the student's own access reaches it.
    sqlx::query("update knowledge_repositories set is_public = true where id = $1")
        .bind(repository)
        .execute(&pool)
        .await
        .unwrap();
    let run_id = run::start(&pool, student, private, &notes("Think."))
        .await
        .unwrap();
    assert_eq!(
        run::execute(&engine, run_id).await.unwrap(),
        State::Succeeded
    );
    assert!(sources_sent(2).is_some_and(|s| s.contains("Pumice")));
}

#[sqlx::test(migrator = "studio_core::MIGRATOR")]
async fn a_person_has_a_bounded_number_of_runs_going_and_owners_test_their_drafts(pool: PgPool) {
    let server = FakeServer::start(vec![slow("drafted", Duration::ZERO)])
        .await
        .unwrap();
    let (owner, model) = super::turns::user_and_model(&pool, &server, "staff").await;
    let (id, student) = approved(
        &pool,
        owner,
        &definition(vec![prompt("letter", "Write about {{notes}}", model)]),
    )
    .await;

    // Two runs going is the bound here: a third waits until one of them has ended.
    for _ in 0..2 {
        run::start_within(&pool, student, id, &notes("x"), 2)
            .await
            .unwrap();
    }
    let busy = run::start_within(&pool, student, id, &notes("x"), 2).await;
    assert!(
        matches!(&busy, Err(store::AssistantError::Busy(m)) if m.contains("2 runs going")),
        "{busy:?}"
    );
    sqlx::query(
        "update assistant_runs set status = 'succeeded'
         where id = (select id from assistant_runs where user_id = $1 limit 1)",
    )
    .bind(student)
    .execute(&pool)
    .await
    .unwrap();
    let approved_run = run::start_within(&pool, student, id, &notes("x"), 2)
        .await
        .unwrap();

    // A draft nobody approved: its owner test-runs it, nobody else runs it at all.
    let draft = store::create(
        &pool,
        owner,
        &definition(vec![prompt("letter", "Draft about {{notes}}", model)]),
    )
    .await
    .unwrap();
    assert!(matches!(
        run::start_within(&pool, student, draft, &notes("x"), 3).await,
        Err(store::AssistantError::NotFound)
    ));
    assert!(matches!(
        run::start_draft(&pool, student, draft, &notes("x"), 3).await,
        Err(store::AssistantError::NotFound)
    ));
    let tested = run::start_draft(&pool, owner, draft, &notes("shoes"), 3)
        .await
        .unwrap();
    let ended = tokio::time::timeout(
        Duration::from_secs(20),
        run::execute(&engine(&pool), tested),
    )
    .await
    .expect("the run ends")
    .unwrap();
    assert_eq!(ended, State::Succeeded);
    let sent = server.requests();
    assert_eq!(
        sent.last().unwrap().body["messages"][0]["content"],
        "Draft about shoes"
    );
    assert_eq!(steps(&pool, tested).await[0].output, "drafted");
    // Its page runs it again as another test; a run of the approved version is none.
    let read = |user, run| {
        let pool = pool.clone();
        async move { events::read(&pool, user, run).await.unwrap().unwrap().test }
    };
    assert!(read(owner, tested).await);
    assert!(!read(student, approved_run).await);
}
