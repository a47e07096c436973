//! Schedules in the database: what a save refuses, the ticker's exactly-once start across
//! racing processes, missed occurrences, and failures that pause a schedule.

use chrono::{NaiveTime, TimeDelta, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::{
    recurrence::{Recurrence, Timing},
    store::{self, Draft, MAX_PER_USER, ScheduleError},
    tick::{Ticked, tick},
};
use crate::{
    accounts::admin::Actor,
    assistants::{
        inputs::{Inputs, Value},
        store::{self as assistants, Definition, Field, FieldKind, Prompt},
    },
    test_support::{model, person, role},
};

/// An assistant approved for staff; returns (it, a member of staff who may run it).
async fn assistant(pool: &PgPool) -> (Uuid, Uuid) {
    let admin = person(pool, "admin@school.org", "administrator").await;
    let staff = person(pool, "staff@school.org", "staff").await;
    let model = model(pool, admin, "m", &["staff"]).await;
    let definition = Definition {
        name: "Weekly digest".into(),
        description: String::new(),
        icon: "letter".into(),
        category: String::new(),
        share_knowledge: false,
        fields: vec![Field {
            name: "topic".into(),
            label: "Topic".into(),
            help: String::new(),
            kind: FieldKind::ShortText,
            required: true,
            options: Vec::new(),
        }],
        prompts: vec![Prompt {
            key: "digest".into(),
            name: "Digest".into(),
            content: "News about {{topic}}".into(),
            system: None,
            model_id: Some(model),
            repositories: Vec::new(),
        }],
    };
    let id = assistants::create(pool, staff, &definition).await.unwrap();
    assistants::submit(pool, staff, id).await.unwrap();
    let actor = Actor {
        user_id: admin,
        ip: None,
    };
    let roles = [role(pool, "staff").await];
    assistants::approve(pool, actor, id, &roles).await.unwrap();
    (id, staff)
}

/// How many runs a person may have going in these tests' "run now".
const LIVE: usize = 3;

fn draft(assistant_id: Uuid, catch_up: bool) -> Draft {
    Draft {
        name: "Monday digest".into(),
        assistant_id,
        inputs: Inputs::from([("topic".to_owned(), Value::One("Science".into()))]),
        recurrence: Recurrence::Daily {
            at: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
        },
        time_zone: "Europe/London".into(),
        catch_up,
        email: true,
    }
}

fn invalid<T: std::fmt::Debug>(result: Result<T, ScheduleError>) -> Vec<String> {
    match result {
        Err(ScheduleError::Invalid(problems)) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

/// Makes schedule `id` due `ago` in the past, as if its occurrence had come and gone.
async fn due(pool: &PgPool, id: Uuid, ago: TimeDelta) {
    sqlx::query("update schedules set next_run_at = now() - $2 where id = $1")
        .bind(id)
        .bind(ago)
        .execute(pool)
        .await
        .unwrap();
}

/// The public address mail links to.
fn url() -> url::Url {
    url::Url::parse("https://studio.test/").unwrap()
}

/// Ends run `id` as its job would: failed with `error`, else succeeded.
async fn ended(pool: &PgPool, id: Uuid, error: Option<&str>) {
    let status = if error.is_some() {
        "failed"
    } else {
        "succeeded"
    };
    sqlx::query("update assistant_runs set status = $2, error = $3 where id = $1")
        .bind(id)
        .bind(status)
        .bind(error)
        .execute(pool)
        .await
        .unwrap();
}

async fn runs_of(pool: &PgPool, id: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from assistant_runs where schedule_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_schedule_is_checked_whole_saved_and_listed_with_its_next_run(pool: PgPool) {
    let (assistant, staff) = assistant(&pool).await;
    let student = person(&pool, "student@school.org", "student").await;

    let mut wrong = draft(assistant, true);
    wrong.name = "  ".into();
    wrong.time_zone = "Europe/Atlantis".into();
    wrong.inputs = Inputs::new();
    assert_eq!(
        invalid(store::create(&pool, staff, &wrong).await),
        [
            "Give the schedule a name.",
            "\u{201c}Europe/Atlantis\u{201d} is not a time zone; choose one such as Europe/London.",
            "\u{201c}Topic\u{201d} is required."
        ]
    );
    // Only what its owner may run.
    assert_eq!(
        invalid(store::create(&pool, student, &draft(assistant, true)).await),
        [
            "You cannot run this assistant (it is not approved for you, or it was disabled); choose another."
        ]
    );

    let before = Utc::now();
    let id = store::create(&pool, staff, &draft(assistant, true))
        .await
        .unwrap();
    let listed = store::list(&pool, staff).await.unwrap();
    assert_eq!(listed.len(), 1);
    let saved = &listed[0];
    assert_eq!(
        (saved.id, saved.name.as_str(), saved.assistant_name.as_str()),
        (id, "Monday digest", "Weekly digest")
    );
    let timing = Timing::new(saved.recurrence.clone(), &saved.time_zone).unwrap();
    assert_eq!(saved.next_run_at, timing.next_after(before));
    assert!(store::list(&pool, student).await.unwrap().is_empty());

    // Someone else's schedule is not there for them.
    for refused in [
        store::pause(&pool, student, id).await,
        store::resume(&pool, student, id).await,
        store::delete(&pool, student, id).await,
        store::update(&pool, student, id, &draft(assistant, true)).await,
    ] {
        assert!(
            matches!(refused, Err(ScheduleError::NotFound)),
            "{refused:?}"
        );
    }
    assert!(matches!(
        store::run_now(&pool, student, id, LIVE).await,
        Err(ScheduleError::NotFound)
    ));

    // Paused: no next run, until resumed.
    store::pause(&pool, staff, id).await.unwrap();
    let paused = store::get(&pool, staff, id).await.unwrap().unwrap();
    assert!(paused.paused_at.is_some() && paused.next_run_at.is_none());
    store::resume(&pool, staff, id).await.unwrap();
    let resumed = store::get(&pool, staff, id).await.unwrap().unwrap();
    assert!(resumed.paused_at.is_none() && resumed.next_run_at.is_some());

    // At most MAX_PER_USER each.
    for _ in 1..MAX_PER_USER {
        store::create(&pool, staff, &draft(assistant, true))
            .await
            .unwrap();
    }
    assert_eq!(
        invalid(store::create(&pool, staff, &draft(assistant, true)).await),
        ["You have 50 schedules, the most one person may keep; delete one first."]
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn three_racing_tickers_start_each_occurrence_exactly_once(pool: PgPool) {
    let (assistant, staff) = assistant(&pool).await;
    let mut ids = Vec::new();
    for _ in 0..45 {
        let id = store::create(&pool, staff, &draft(assistant, true))
            .await
            .unwrap();
        due(&pool, id, TimeDelta::seconds(30)).await;
        ids.push(id);
    }
    let now = Utc::now();
    let (a, b, c) = tokio::join!(tick(&pool, now), tick(&pool, now), tick(&pool, now));
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    assert_eq!(a.started + b.started + c.started, 45, "{a:?} {b:?} {c:?}");
    for &id in &ids {
        assert_eq!(runs_of(&pool, id).await, 1);
        let schedule = store::get(&pool, staff, id).await.unwrap().unwrap();
        assert!(schedule.next_run_at.is_some_and(|next| next > now));
    }
    // Nothing is due any more.
    assert_eq!(tick(&pool, now).await.unwrap(), Ticked::default());

    // A ticker that died after starting a run but before moving its schedule on: the next
    // tick finds the occurrence has its run, starts nothing, and moves on.
    let occurrence: chrono::DateTime<Utc> =
        sqlx::query_scalar("select scheduled_for from assistant_runs where schedule_id = $1")
            .bind(ids[0])
            .fetch_one(&pool)
            .await
            .unwrap();
    sqlx::query("update schedules set next_run_at = $2 where id = $1")
        .bind(ids[0])
        .bind(occurrence)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(tick(&pool, now).await.unwrap(), Ticked::default());
    assert_eq!(runs_of(&pool, ids[0]).await, 1);
    let moved = store::get(&pool, staff, ids[0]).await.unwrap().unwrap();
    assert!(moved.next_run_at.is_some_and(|next| next > now));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn missed_occurrences_run_once_on_recovery_or_are_skipped(pool: PgPool) {
    let (assistant, staff) = assistant(&pool).await;
    let catching_up = store::create(&pool, staff, &draft(assistant, true))
        .await
        .unwrap();
    let skipping = store::create(&pool, staff, &draft(assistant, false))
        .await
        .unwrap();
    // Three days down: three daily occurrences missed each.
    due(&pool, catching_up, TimeDelta::days(3)).await;
    due(&pool, skipping, TimeDelta::days(3)).await;
    let now = Utc::now();
    assert_eq!(
        tick(&pool, now).await.unwrap(),
        Ticked {
            started: 1,
            skipped: 1,
            failed: 0
        }
    );
    assert_eq!(runs_of(&pool, catching_up).await, 1);
    assert_eq!(runs_of(&pool, skipping).await, 0);
    for id in [catching_up, skipping] {
        let schedule = store::get(&pool, staff, id).await.unwrap().unwrap();
        let timing = Timing::new(schedule.recurrence, &schedule.time_zone).unwrap();
        assert_eq!(schedule.next_run_at, timing.next_after(now));
    }
    // Late by less than the grace, a skipping schedule still runs.
    due(&pool, skipping, TimeDelta::minutes(2)).await;
    assert_eq!(tick(&pool, Utc::now()).await.unwrap().started, 1);
    assert_eq!(runs_of(&pool, skipping).await, 1);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn failures_in_a_row_pause_a_schedule_with_the_reason_and_a_success_forgets_them(
    pool: PgPool,
) {
    let (assistant, staff) = assistant(&pool).await;
    let id = store::create(&pool, staff, &draft(assistant, true))
        .await
        .unwrap();
    let failures = |pool: PgPool| async move {
        let s = store::get(&pool, staff, id).await.unwrap().unwrap();
        (s.failures, s.paused_at.is_some(), s.pause_reason)
    };
    let run = store::run_now(&pool, staff, id, LIVE).await.unwrap();
    // Under way, it counts nothing yet.
    store::ran(&pool, run).await.unwrap();
    assert_eq!(failures(pool.clone()).await, (0, false, None));
    ended(&pool, run, Some("The model failed.")).await;
    store::ran(&pool, run).await.unwrap();
    store::ran(&pool, run).await.unwrap();
    assert_eq!(failures(pool.clone()).await, (2, false, None));
    ended(&pool, run, None).await;
    store::ran(&pool, run).await.unwrap();
    assert_eq!(failures(pool.clone()).await, (0, false, None));
    ended(&pool, run, Some("The model failed.")).await;
    for _ in 0..3 {
        store::ran(&pool, run).await.unwrap();
    }
    assert_eq!(
        failures(pool.clone()).await,
        (
            3,
            true,
            Some("Paused after 3 failed runs in a row. The last one: The model failed.".into())
        )
    );
    assert!(
        store::get(&pool, staff, id)
            .await
            .unwrap()
            .unwrap()
            .next_run_at
            .is_none()
    );
    // A run not from a schedule counts nowhere.
    let inputs = draft(assistant, true).inputs;
    let own = crate::assistants::run::start(&pool, staff, assistant, &inputs)
        .await
        .unwrap();
    ended(&pool, own, Some("x")).await;
    store::ran(&pool, own).await.unwrap();

    // The owner loses the assistant: each due tick fails to start and counts it.
    store::resume(&pool, staff, id).await.unwrap();
    sqlx::query("update assistants set disabled_at = now() where id = $1")
        .bind(assistant)
        .execute(&pool)
        .await
        .unwrap();
    for expected in 1..=3 {
        due(&pool, id, TimeDelta::seconds(5)).await;
        let ticked = tick(&pool, Utc::now()).await.unwrap();
        assert_eq!((ticked.started, ticked.failed), (0, 1));
        assert_eq!(failures(pool.clone()).await.0, expected);
    }
    let (_, paused, reason) = failures(pool.clone()).await;
    assert!(paused);
    assert!(
        reason
            .as_deref()
            .is_some_and(|r| r.contains("You cannot run this assistant")),
        "{reason:?}"
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_scheduled_runs_end_is_told_to_its_owner_once_and_rings_the_bell(pool: PgPool) {
    use crate::notifications::{self, Bell};

    let (assistant, staff) = assistant(&pool).await;
    let id = store::create(&pool, staff, &draft(assistant, true))
        .await
        .unwrap();
    let bell = std::sync::Arc::new(Bell::default());
    let mut rings = bell.subscribe();
    let shutdown = tokio_util::sync::CancellationToken::new();
    tokio::spawn({
        let (bell, pool, shutdown) = (bell.clone(), pool.clone(), shutdown.clone());
        async move { bell.run(pool, shutdown).await }
    });

    let run = store::run_now(&pool, staff, id, LIVE).await.unwrap();
    // Not ended yet: nothing to tell.
    assert_eq!(
        notifications::run_ended(&pool, run, &url()).await.unwrap(),
        None
    );
    sqlx::query("update assistant_run_steps set status = 'succeeded', output = 'Three new papers on comets.' where run_id = $1")
        .bind(run)
        .execute(&pool)
        .await
        .unwrap();
    ended(&pool, run, None).await;
    let told = notifications::run_ended(&pool, run, &url()).await.unwrap();
    assert!(told.is_some());
    // Handled again (a job retried): told once.
    assert_eq!(
        notifications::run_ended(&pool, run, &url()).await.unwrap(),
        None
    );
    // The listener may connect after that insert: a change to the row rings again.
    let mut heard = None;
    for _ in 0..20 {
        if let Ok(Ok(user)) =
            tokio::time::timeout(std::time::Duration::from_millis(500), rings.recv()).await
        {
            heard = Some(user);
            break;
        }
        sqlx::query("update notifications set title = title where user_id = $1")
            .bind(staff)
            .execute(&pool)
            .await
            .unwrap();
    }
    assert_eq!(heard, Some(staff));

    let failed = store::run_now(&pool, staff, id, LIVE).await.unwrap();
    ended(&pool, failed, Some("The model is not available.")).await;
    notifications::run_ended(&pool, failed, &url())
        .await
        .unwrap();
    let list = notifications::list(&pool, staff).await.unwrap();
    let told: Vec<(&str, &str, Option<Uuid>)> = list
        .iter()
        .map(|n| (n.title.as_str(), n.body.as_str(), n.run_id))
        .collect();
    assert_eq!(
        told,
        [
            (
                "\u{201c}Monday digest\u{201d} failed",
                "The model is not available.",
                Some(failed)
            ),
            (
                "\u{201c}Monday digest\u{201d} finished",
                "Three new papers on comets.",
                Some(run)
            ),
        ]
    );
    // The schedule mails its results: one message per run, to its owner, with the output and
    // a link to the run on the public address.
    let mailed: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "select to_address, subject, text_body, link from mail_outbox where kind = 'schedule_result' order by created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(mailed.len(), 2, "{mailed:?}");
    assert_eq!(mailed[0].0, "staff@school.org");
    assert_eq!(mailed[0].1, "\u{201c}Monday digest\u{201d} finished");
    assert!(
        mailed[0].2.contains("Three new papers on comets."),
        "{}",
        mailed[0].2
    );
    assert!(mailed[0].2.contains("https://studio.test/schedules"));
    assert_eq!(
        mailed[0].3.as_deref(),
        Some(format!("https://studio.test/assistants/runs/{run}").as_str())
    );
    assert_eq!(mailed[1].1, "\u{201c}Monday digest\u{201d} failed");
    assert!(mailed[1].2.contains("The model is not available."));
    // Unticked, the schedule's runs are told in the app only.
    sqlx::query("update schedules set email = false where id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    let quiet = store::run_now(&pool, staff, id, LIVE).await.unwrap();
    ended(&pool, quiet, None).await;
    assert!(
        notifications::run_ended(&pool, quiet, &url())
            .await
            .unwrap()
            .is_some()
    );
    let count: i64 =
        sqlx::query_scalar("select count(*) from mail_outbox where kind = 'schedule_result'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(count, 2);
    sqlx::query("delete from notifications where run_id = $1")
        .bind(quiet)
        .execute(&pool)
        .await
        .unwrap();

    // A run of one's own (no schedule) is not told of here.
    let own =
        crate::assistants::run::start(&pool, staff, assistant, &draft(assistant, true).inputs)
            .await
            .unwrap();
    ended(&pool, own, None).await;
    assert_eq!(
        notifications::run_ended(&pool, own, &url()).await.unwrap(),
        None
    );

    // Read one, then the rest; someone else reads none of them.
    let other = person(&pool, "other@school.org", "staff").await;
    assert_eq!(
        notifications::mark_read(&pool, other, None).await.unwrap(),
        0
    );
    assert_eq!(notifications::unread(&pool, staff).await.unwrap(), 2);
    notifications::mark_read(&pool, staff, Some(list[0].id))
        .await
        .unwrap();
    assert_eq!(notifications::unread(&pool, staff).await.unwrap(), 1);
    assert_eq!(
        notifications::mark_read(&pool, staff, None).await.unwrap(),
        1
    );
    assert_eq!(notifications::unread(&pool, staff).await.unwrap(), 0);
    shutdown.cancel();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn run_now_waits_while_the_owner_has_as_many_runs_going_as_they_may(pool: PgPool) {
    let (assistant, staff) = assistant(&pool).await;
    let id = store::create(&pool, staff, &draft(assistant, true))
        .await
        .unwrap();
    let mut going = Vec::new();
    for _ in 0..LIVE {
        going.push(store::run_now(&pool, staff, id, LIVE).await.unwrap());
    }
    let refused = store::run_now(&pool, staff, id, LIVE).await;
    assert!(
        matches!(refused, Err(ScheduleError::Busy(_))),
        "{refused:?}"
    );
    assert_eq!(runs_of(&pool, id).await, i64::try_from(LIVE).unwrap());

    // One ends: there is room for one more, and the schedule's own tick was never bounded.
    ended(&pool, going[0], None).await;
    store::run_now(&pool, staff, id, LIVE).await.unwrap();
    due(&pool, id, TimeDelta::minutes(1)).await;
    assert_eq!(tick(&pool, Utc::now()).await.unwrap().started, 1);
    assert_eq!(runs_of(&pool, id).await, i64::try_from(LIVE).unwrap() + 2);
}
