//! Assistants as saved: what a save refuses, versions through review, and who may run the
//! approved one.

use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use crate::{
    knowledge::repos::{self, RepositoryFields},
    test_support::{model, person, role},
};

fn field(name: &str, kind: FieldKind, options: &[&str]) -> Field {
    Field {
        name: name.into(),
        label: format!("The {name}"),
        help: String::new(),
        kind,
        required: true,
        options: options.iter().map(|o| (*o).to_owned()).collect(),
    }
}

fn prompt(key: &str, content: &str, model_id: Option<Uuid>) -> Prompt {
    Prompt {
        key: key.into(),
        name: format!("Step {key}"),
        content: content.into(),
        system: None,
        model_id,
        repositories: Vec::new(),
    }
}

/// A parent letter: two prompts read the fields at once, a third joins them.
fn letter(model_id: Option<Uuid>) -> Definition {
    Definition {
        name: "Parent letter".into(),
        description: "Writes a letter home from notes.".into(),
        icon: "letter".into(),
        category: "Letters home".into(),
        share_knowledge: false,
        fields: vec![
            field("notes", FieldKind::LongText, &[]),
            field("tone", FieldKind::Select, &["warm", "formal"]),
        ],
        prompts: vec![
            prompt("summary", "Summarise {{notes}}.", model_id),
            prompt("greeting", "A ${tone} greeting.", model_id),
            prompt("letter", "Join {{greeting}} and {{summary}}.", model_id),
        ],
    }
}

fn invalid<T: std::fmt::Debug>(result: Result<T, AssistantError>) -> Vec<String> {
    match result {
        Err(AssistantError::Invalid(problems)) => problems,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_definition_is_checked_whole_and_each_problem_named() {
    assert!(problems(&letter(None)).is_empty());
    let mut bad = letter(None);
    bad.name = "  ".into();
    bad.icon = "skull".into();
    bad.category = "c".repeat(41);
    bad.fields[1].options.clear();
    bad.fields[0].options = vec!["x".into()];
    bad.prompts[0].content = "Summarise {{note}}.".into();
    bad.prompts[1].content = "{{letter}} again".into();
    let found = problems(&bad);
    assert_eq!(
        found,
        [
            "The assistant needs a name.",
            "The category is longer than 40 characters.",
            "\u{201c}skull\u{201d} is not one of the icons.",
            "Field \u{201c}notes\u{201d} is not a select; it takes no choices.",
            "Field \u{201c}tone\u{201d} needs at least one choice.",
            "Prompt \u{201c}Step summary\u{201d} uses {{note}}, which is no input field or prompt. Add it, or write \\{{note}} to keep it as text.",
            "These prompts wait for each other in a circle: greeting \u{2192} letter \u{2192} greeting.",
        ],
        "{found:#?}"
    );
    let mut twice = letter(None);
    twice.fields[1].options = vec!["warm".into(), " warm ".into()];
    assert_eq!(
        problems(&twice),
        ["Field \u{201c}tone\u{201d} offers \u{201c}warm\u{201d} twice."]
    );
    // A draft may be unfinished; submitting asks for a model and text in every prompt.
    let mut draft = letter(None);
    draft.prompts[2].content = " ".into();
    assert_eq!(
        unfinished(&draft),
        [
            "Choose a model for prompt \u{201c}Step summary\u{201d}.",
            "Choose a model for prompt \u{201c}Step greeting\u{201d}.",
            "Prompt \u{201c}Step letter\u{201d} is empty.",
            "Choose a model for prompt \u{201c}Step letter\u{201d}.",
        ]
    );
    draft.prompts.clear();
    assert_eq!(unfinished(&draft), ["Add at least one prompt."]);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn an_approved_assistant_is_a_tool_that_the_chosen_roles_run(pool: PgPool) {
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let teacher = person(&pool, "teacher@school.org", "staff").await;
    let pupil = person(&pool, "pupil@school.org", "student").await;
    let colleague = person(&pool, "colleague@school.org", "staff").await;
    let model_id = model(&pool, admin, "writer", &["staff"]).await;
    let reviewer = Actor {
        user_id: admin,
        ip: Some("192.0.2.1"),
    };

    let id = create(&pool, teacher, &letter(Some(model_id)))
        .await
        .unwrap();
    // What was saved reads back as written, in order.
    let draft = open_version(&pool, teacher, id).await.unwrap().unwrap();
    assert_eq!(
        (draft.number, draft.status, &draft.definition),
        (1, Status::Draft, &letter(Some(model_id)))
    );
    // Only the owner sees it; nobody runs a draft.
    assert!(open_version(&pool, colleague, id).await.unwrap().is_none());
    assert!(runnable(&pool, teacher, id).await.unwrap().is_none());
    assert!(matches!(
        submit(&pool, colleague, id).await,
        Err(AssistantError::NotFound)
    ));
    assert!(matches!(
        approve(&pool, reviewer, id, &[]).await,
        Err(AssistantError::State(_))
    ));

    submit(&pool, teacher, id).await.unwrap();
    assert!(matches!(
        submit(&pool, teacher, id).await,
        Err(AssistantError::State(_))
    ));
    let queue = list(&pool, None, Some(Status::Pending)).await.unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!((queue[0].id, queue[0].name.as_str()), (id, "Parent letter"));

    approve(&pool, reviewer, id, &[role(&pool, "student").await])
        .await
        .unwrap();
    // Students run it (the approved version); staff, the owner included, were not granted it.
    let run = runnable(&pool, pupil, id).await.unwrap().unwrap();
    assert_eq!((run.number, run.status), (1, Status::Approved));
    assert!(runnable(&pool, teacher, id).await.unwrap().is_none());
    let tools = crate::accounts::access::tool_slugs(&pool, pupil)
        .await
        .unwrap();
    let slug = format!("assistant-{}", id.simple());
    assert!(tools.contains(&slug), "{tools:?}");
    let name: String = sqlx::query_scalar("select name from tools where slug = $1")
        .bind(&slug)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Parent letter");
    let action: String = sqlx::query_scalar(
        "select action from audit_log where target_id = $1 order by created_at desc limit 1",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(action, "admin.assistant.approved");

    // The catalog lists it, with its category, for those who run it only; the builder
    // suggests the categories of approved assistants.
    let listed = catalog(&pool, pupil).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|a| (a.id, a.name.as_str(), a.category.as_str()))
            .collect::<Vec<_>>(),
        [(id, "Parent letter", "Letters home")]
    );
    assert_eq!(categories(&pool).await.unwrap(), ["Letters home"]);
    assert!(catalog(&pool, teacher).await.unwrap().is_empty());
    // Reviewers read the newest version whoever owns it.
    let newest = newest_version(&pool, id).await.unwrap().unwrap();
    assert_eq!((newest.number, newest.owner_id), (1, teacher));

    // Disabled, nobody runs it and the catalog drops it; enabled, it is back.
    set_disabled(&pool, reviewer, id, true).await.unwrap();
    assert!(runnable(&pool, pupil, id).await.unwrap().is_none());
    assert!(catalog(&pool, pupil).await.unwrap().is_empty());
    assert!(list(&pool, None, None).await.unwrap()[0].disabled);
    let action: String = sqlx::query_scalar(
        "select action from audit_log where target_id = $1 order by created_at desc limit 1",
    )
    .bind(id.to_string())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(action, "admin.assistant.disabled");
    set_disabled(&pool, reviewer, id, false).await.unwrap();
    assert!(runnable(&pool, pupil, id).await.unwrap().is_some());
    assert!(matches!(
        set_disabled(&pool, reviewer, Uuid::new_v4(), true).await,
        Err(AssistantError::NotFound)
    ));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_approved_version_keeps_running_until_the_next_is_approved(pool: PgPool) {
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let teacher = person(&pool, "teacher@school.org", "staff").await;
    let model_id = model(&pool, admin, "writer", &["staff"]).await;
    let reviewer = Actor {
        user_id: admin,
        ip: None,
    };
    let staff = role(&pool, "staff").await;
    let id = create(&pool, teacher, &letter(Some(model_id)))
        .await
        .unwrap();
    submit(&pool, teacher, id).await.unwrap();
    approve(&pool, reviewer, id, &[staff]).await.unwrap();
    assert!(matches!(
        submit(&pool, teacher, id).await,
        Err(AssistantError::State(_))
    ));

    // An edit is a new draft; version 1 still runs.
    let mut second = letter(Some(model_id));
    second.name = "Parent letter, shorter".into();
    second.prompts[2].content = "Join {{greeting}} and {{summary}} in 100 words.".into();
    save(&pool, teacher, id, &second).await.unwrap();
    let open = open_version(&pool, teacher, id).await.unwrap().unwrap();
    assert_eq!((open.number, open.status), (2, Status::Draft));
    assert_eq!(
        runnable(&pool, teacher, id).await.unwrap().unwrap().number,
        1
    );

    // Rejected with a note: the owner sees why, version 1 still runs, and editing the rejected
    // version makes it a draft again (no third version).
    submit(&pool, teacher, id).await.unwrap();
    let missing_note = reject(&pool, reviewer, id, "  ").await;
    assert_eq!(
        invalid(missing_note),
        ["Say what to change, in 1 to 2000 characters."]
    );
    reject(&pool, reviewer, id, "Say who signs it.")
        .await
        .unwrap();
    let open = open_version(&pool, teacher, id).await.unwrap().unwrap();
    assert_eq!(
        (open.number, open.status, open.review_note.as_deref()),
        (2, Status::Rejected, Some("Say who signs it."))
    );
    assert_eq!(
        runnable(&pool, teacher, id).await.unwrap().unwrap().number,
        1
    );
    second
        .fields
        .push(field("teacher", FieldKind::ShortText, &[]));
    second.prompts[2].content = "Join {{greeting}} and {{summary}}, signed {{teacher}}.".into();
    save(&pool, teacher, id, &second).await.unwrap();
    let open = open_version(&pool, teacher, id).await.unwrap().unwrap();
    assert_eq!((open.number, open.status), (2, Status::Draft));

    submit(&pool, teacher, id).await.unwrap();
    approve(&pool, reviewer, id, &[staff]).await.unwrap();
    let run = runnable(&pool, teacher, id).await.unwrap().unwrap();
    assert_eq!(
        (run.number, run.definition.name.as_str()),
        (2, "Parent letter, shorter")
    );
    assert_eq!(run.definition, second);
    let statuses: Vec<String> = sqlx::query_scalar(
        "select status from assistant_versions where assistant_id = $1 order by number",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(statuses, ["superseded", "approved"]);
    let mine = list(&pool, Some(teacher), None).await.unwrap();
    assert_eq!(
        (mine.len(), mine[0].status, mine[0].approved_number),
        (1, Status::Approved, Some(2))
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_save_refuses_models_and_repositories_the_owner_may_not_use(pool: PgPool) {
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let teacher = person(&pool, "teacher@school.org", "staff").await;
    let other = person(&pool, "other@school.org", "staff").await;
    let for_staff = model(&pool, admin, "writer", &["staff"]).await;
    let for_students = model(&pool, admin, "junior", &["student"]).await;
    let theirs = repos::create(
        &pool,
        other,
        &RepositoryFields {
            name: "Private notes".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();
    let mine = repos::create(
        &pool,
        teacher,
        &RepositoryFields {
            name: "Policies".into(),
            description: String::new(),
            is_public: false,
        },
    )
    .await
    .unwrap();

    let mut definition = letter(Some(for_staff));
    definition.prompts[1].model_id = Some(for_students);
    definition.prompts[2].repositories = vec![mine, theirs];
    assert_eq!(
        invalid(create(&pool, teacher, &definition).await),
        [
            "Prompt \u{201c}Step greeting\u{201d} uses a model you cannot use; choose another.",
            "Prompt \u{201c}Step letter\u{201d} searches a repository you cannot open.",
        ]
    );
    assert!(list(&pool, Some(teacher), None).await.unwrap().is_empty());

    // Their own repository is fine; a model withdrawn from staff after saving stops the submit.
    definition.prompts[1].model_id = Some(for_staff);
    definition.prompts[2].repositories = vec![mine];
    let id = create(&pool, teacher, &definition).await.unwrap();
    sqlx::query("delete from ai_model_roles where model_id = $1")
        .bind(for_staff)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        invalid(submit(&pool, teacher, id).await).len(),
        3,
        "each prompt names the model"
    );
    // The graph is checked on every save too, and a refused save changes nothing.
    let mut circle = definition.clone();
    circle.prompts[0].content = "{{letter}}".into();
    circle.prompts[0].model_id = None;
    circle.prompts[1].model_id = None;
    circle.prompts[2].model_id = None;
    assert_eq!(
        invalid(save(&pool, teacher, id, &circle).await),
        [
            "These prompts wait for each other in a circle: summary \u{2192} letter \u{2192} summary."
        ]
    );
    let open = open_version(&pool, teacher, id).await.unwrap().unwrap();
    assert_eq!(open.definition, definition);
    // Someone else cannot save over it.
    assert!(matches!(
        save(&pool, other, id, &letter(None)).await,
        Err(AssistantError::NotFound)
    ));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn assistants_export_and_import_as_versioned_json(pool: PgPool) {
    use super::super::transfer::{self, Export};
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let teacher = person(&pool, "teacher@school.org", "staff").await;
    let importer = person(&pool, "importer@school.org", "staff").await;
    let writer = model(&pool, admin, "writer", &["staff"]).await;
    let reviewer = Actor {
        user_id: admin,
        ip: None,
    };
    let approved = create(&pool, teacher, &letter(Some(writer))).await.unwrap();
    submit(&pool, teacher, approved).await.unwrap();
    approve(&pool, reviewer, approved, &[]).await.unwrap();
    // Edited after approval: the file carries the approved version.
    let mut edited = letter(Some(writer));
    edited.name = "Not yet approved".into();
    save(&pool, teacher, approved, &edited).await.unwrap();
    let mut unmatched = letter(Some(writer));
    unmatched.name = "Rubric".into();
    let draft = create(&pool, teacher, &unmatched).await.unwrap();

    let file = transfer::export(&pool, &[approved, draft, Uuid::new_v4()])
        .await
        .unwrap();
    let json = serde_json::to_string(&file).unwrap();
    let mut read: Export = serde_json::from_str(&json).unwrap();
    assert_eq!(read, file);
    assert_eq!(read.format, 1);
    let names: Vec<&str> = read.assistants.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["Parent letter", "Rubric"]);
    assert_eq!(
        read.assistants[0].prompts[0].model.as_deref(),
        Some("writer")
    );
    // A file written before categories existed reads with none.
    let mut older: serde_json::Value = serde_json::from_str(&json).unwrap();
    older["assistants"][0]
        .as_object_mut()
        .unwrap()
        .remove("category");
    let older: Export = serde_json::from_value(older).unwrap();
    assert_eq!(
        (
            read.assistants[0].category.as_str(),
            older.assistants[0].category.as_str()
        ),
        ("Letters home", "")
    );
    // On the other install, the rubric's second prompt names a model nobody has.
    read.assistants[1].prompts[1].model = Some("gone-model".into());

    let imported = transfer::import(&pool, importer, &read).await.unwrap();
    assert_eq!(
        imported
            .iter()
            .map(|i| (i.name.as_str(), i.status, i.notes.clone()))
            .collect::<Vec<_>>(),
        [
            ("Parent letter", Status::Pending, vec![]),
            (
                "Rubric",
                Status::Draft,
                vec![
                    "Choose a model for prompt \u{201c}Step greeting\u{201d} (gone-model is not available to you)."
                        .to_owned()
                ]
            ),
        ]
    );
    // The importer owns them; the letter reads back as the original, with the matched model.
    let letter_copy = open_version(&pool, importer, imported[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(letter_copy.definition, letter(Some(writer)));
    assert!(
        open_version(&pool, teacher, imported[0].id)
            .await
            .unwrap()
            .is_none()
    );

    // Another format, or one broken assistant, imports nothing.
    let before = list(&pool, Some(importer), None).await.unwrap().len();
    let mut newer = read.clone();
    newer.format = 2;
    assert_eq!(
        invalid(transfer::import(&pool, importer, &newer).await),
        ["This file is in format 2; this version of AI Studio reads format 1."]
    );
    let mut broken = read.clone();
    broken.assistants[1].prompts[0].content = "{{nothing}}".into();
    assert_eq!(
        invalid(transfer::import(&pool, importer, &broken).await),
        [
            "\u{201c}Rubric\u{201d}: Prompt \u{201c}Step summary\u{201d} uses {{nothing}}, which is no input field or prompt. Add it, or write \\{{nothing}} to keep it as text."
        ]
    );
    assert_eq!(
        list(&pool, Some(importer), None).await.unwrap().len(),
        before
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn an_approved_assistant_is_linked_in_the_navigation_for_those_who_run_it(pool: PgPool) {
    use super::super::placement::{place, places};
    use crate::navigation::{Draft, Kind, store as nav};
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let teacher = person(&pool, "teacher@school.org", "staff").await;
    let pupil = person(&pool, "pupil@school.org", "student").await;
    let model_id = model(&pool, admin, "writer", &["staff"]).await;
    let reviewer = Actor {
        user_id: admin,
        ip: None,
    };
    let id = create(&pool, teacher, &letter(Some(model_id)))
        .await
        .unwrap();
    let maths = nav::create(
        &pool,
        reviewer,
        &Draft {
            parent_id: None,
            kind: Kind::Section,
            label: "Mathematics".into(),
            icon: "calculator".into(),
            href: None,
            description: String::new(),
            tool: None,
            roles: Vec::new(),
            hidden: false,
        },
    )
    .await
    .unwrap();

    // A draft goes nowhere; an unknown assistant is not found.
    assert!(places(&pool, id).await.unwrap().is_empty());
    assert!(matches!(
        place(&pool, reviewer, id, None).await,
        Err(AssistantError::State(_))
    ));
    assert!(matches!(
        place(&pool, reviewer, Uuid::new_v4(), None).await,
        Err(AssistantError::NotFound)
    ));

    submit(&pool, teacher, id).await.unwrap();
    approve(&pool, reviewer, id, &[role(&pool, "student").await])
        .await
        .unwrap();
    let before = places(&pool, id).await.unwrap();
    assert_eq!(
        before
            .iter()
            .map(|p| (p.parent, p.name.as_str(), p.holds_it))
            .collect::<Vec<_>>(),
        [
            (None, "The sidebar", false),
            (Some(maths), "Section Mathematics", false)
        ]
    );
    place(&pool, reviewer, id, Some(maths)).await.unwrap();
    // Twice in the same place is refused, naming it.
    match place(&pool, reviewer, id, Some(maths)).await {
        Err(AssistantError::State(why)) => {
            assert_eq!(why, "Section Mathematics already links to it.")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(places(&pool, id).await.unwrap()[1].holds_it);
    // Two clicks at once add one link; the other is refused.
    let (first, second) = tokio::join!(
        place(&pool, reviewer, id, None),
        place(&pool, reviewer, id, None)
    );
    assert_eq!(
        usize::from(first.is_ok()) + usize::from(second.is_ok()),
        1,
        "{first:?} {second:?}"
    );
    let target = format!("/assistants/{id}");
    let at_top = nav::all(&pool)
        .await
        .unwrap()
        .into_iter()
        .filter(|i| i.parent_id.is_none() && i.href.as_deref() == Some(target.as_str()))
        .count();
    assert_eq!(at_top, 1);

    // The pupil, granted it, sees the link in the section with its name and icon; the teacher,
    // not granted it, sees no section at all (it holds nothing for them).
    let menu = nav::menu_for(&pool, Some(pupil)).await.unwrap();
    let section = menu.iter().find(|e| e.id == maths).expect("the section");
    assert_eq!(
        section
            .children
            .iter()
            .map(|e| (e.label.as_str(), e.icon.as_str(), e.href.as_deref()))
            .collect::<Vec<_>>(),
        [(
            "Parent letter",
            "letter",
            Some(format!("/assistants/{id}").as_str())
        )]
    );
    let menu = nav::menu_for(&pool, Some(teacher)).await.unwrap();
    assert!(menu.iter().all(|e| e.id != maths), "{menu:#?}");
    let action: String = sqlx::query_scalar(
        "select action from audit_log where target_type = 'navigation_item' order by created_at desc limit 1",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(action, "admin.navigation.created");

    // Disabled, the assistant leaves the pupil's navigation (its tool grants nothing);
    // enabled again, it is back.
    let holds_it = |menu: &[crate::navigation::Entry]| {
        menu.iter()
            .any(|e| e.id == maths || e.href.as_deref() == Some(target.as_str()))
    };
    set_disabled(&pool, reviewer, id, true).await.unwrap();
    assert!(!holds_it(&nav::menu_for(&pool, Some(pupil)).await.unwrap()));
    set_disabled(&pool, reviewer, id, false).await.unwrap();
    assert!(holds_it(&nav::menu_for(&pool, Some(pupil)).await.unwrap()));
}
