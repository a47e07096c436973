//! Database tests of the model catalogue: providers and their secrets, models, and who may use
//! which.

use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use uuid::Uuid;

use super::*;
use crate::test_support::{person, role};

fn refusal<T: std::fmt::Debug>(result: Result<T, AdminError>) -> String {
    match result {
        Err(AdminError::Refused(message)) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn provider_input(name: &str) -> ProviderInput {
    ProviderInput {
        kind: "openai".into(),
        name: name.into(),
        base_url: Some("http://ollama.lan:11434/v1/".into()),
        api_key: None,
        clear_api_key: false,
        region: None,
    }
}

fn model_input(provider_id: Uuid, key: &str, role_ids: Vec<Uuid>) -> ModelInput {
    ModelInput {
        provider_id,
        model_key: key.into(),
        display_name: key.to_uppercase(),
        input_price: Decimal::new(15, 2),
        output_price: Decimal::new(60, 2),
        is_active: true,
        role_ids,
        ..ModelInput::default()
    }
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn provider_keys_are_kept_when_left_blank_and_never_logged(pool: PgPool) {
    let secrets = crate::secrets::SecretBox::ephemeral();
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let actor = Actor {
        user_id: admin,
        ip: None,
    };
    let mut input = provider_input("Lab Ollama");
    input.api_key = Some("sk-secret-one".into());
    let saved = save_provider(&pool, &secrets, actor, None, &input)
        .await
        .unwrap();
    assert!(saved.has_api_key);
    assert_eq!(
        saved.base_url.as_deref(),
        Some("http://ollama.lan:11434/v1")
    );

    input.api_key = Some("   ".into());
    input.name = "Lab Ollama (GPU)".into();
    let renamed = save_provider(&pool, &secrets, actor, Some(saved.id), &input)
        .await
        .unwrap();
    assert!(renamed.has_api_key, "a blank key keeps the stored one");
    let connection = provider_connection(&pool, &secrets, saved.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(connection.api_key.unwrap().expose_secret(), "sk-secret-one");

    input.clear_api_key = true;
    let cleared = save_provider(&pool, &secrets, actor, Some(saved.id), &input)
        .await
        .unwrap();
    assert!(!cleared.has_api_key);

    let logged: i64 =
        sqlx::query_scalar("select count(*) from audit_log where after::text like '%sk-secret%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(logged, 0, "the audit log never holds a key");
    assert!(
        !format!(
            "{connection_debug:?}",
            connection_debug = provider_connection(&pool, &secrets, saved.id)
                .await
                .unwrap()
        )
        .contains("sk-secret")
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn bad_provider_and_model_input_is_refused_with_a_reason(pool: PgPool) {
    let secrets = crate::secrets::SecretBox::ephemeral();
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let actor = Actor {
        user_id: admin,
        ip: None,
    };
    let mut bad_kind = provider_input("X");
    bad_kind.kind = "skynet".into();
    assert!(refusal(save_provider(&pool, &secrets, actor, None, &bad_kind).await).contains("type"));
    let mut bad_url = provider_input("X");
    bad_url.base_url = Some("file:///etc/passwd".into());
    assert!(refusal(save_provider(&pool, &secrets, actor, None, &bad_url).await).contains("http"));
    let provider = save_provider(&pool, &secrets, actor, None, &provider_input("Ollama"))
        .await
        .unwrap();
    assert!(
        refusal(save_provider(&pool, &secrets, actor, None, &provider_input("ollama")).await)
            .contains("already")
    );

    let mut negative = model_input(provider.id, "llama3.2", vec![]);
    negative.output_price = Decimal::new(-1, 0);
    assert!(refusal(save_model(&pool, actor, None, &negative).await).contains("Prices"));
    let mut zero_window = model_input(provider.id, "llama3.2", vec![]);
    zero_window.context_tokens = Some(0);
    assert!(refusal(save_model(&pool, actor, None, &zero_window).await).contains("context"));
    save_model(
        &pool,
        actor,
        None,
        &model_input(provider.id, "llama3.2", vec![]),
    )
    .await
    .unwrap();
    assert!(
        refusal(
            save_model(
                &pool,
                actor,
                None,
                &model_input(provider.id, "llama3.2", vec![])
            )
            .await
        )
        .contains("already")
    );
    assert!(
        refusal(delete_provider(&pool, actor, provider.id).await).contains("1 model"),
        "a provider in use stays"
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn users_see_and_may_call_only_active_models_their_roles_allow(pool: PgPool) {
    let secrets = crate::secrets::SecretBox::ephemeral();
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let teacher = person(&pool, "teacher@school.org", "staff").await;
    let pupil = person(&pool, "2024001@school.org", "student").await;
    let actor = Actor {
        user_id: admin,
        ip: Some("192.0.2.1"),
    };
    let (staff, student) = (role(&pool, "staff").await, role(&pool, "student").await);
    let provider = save_provider(&pool, &secrets, actor, None, &provider_input("Ollama"))
        .await
        .unwrap();
    let for_staff = save_model(
        &pool,
        actor,
        None,
        &model_input(provider.id, "big", vec![staff]),
    )
    .await
    .unwrap();
    let for_students = save_model(
        &pool,
        actor,
        None,
        &model_input(provider.id, "small", vec![student]),
    )
    .await
    .unwrap();
    let mut retired = model_input(provider.id, "old", vec![staff, student]);
    retired.is_active = false;
    let retired = save_model(&pool, actor, None, &retired).await.unwrap();

    let keys = |models: Vec<Model>| models.into_iter().map(|m| m.model_key).collect::<Vec<_>>();
    assert_eq!(
        keys(models_for_user(&pool, teacher).await.unwrap()),
        ["big"]
    );
    assert_eq!(
        keys(models_for_user(&pool, pupil).await.unwrap()),
        ["small"]
    );
    assert!(
        model_for_user(&pool, pupil, for_staff.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        model_for_user(&pool, teacher, retired.id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        model_for_user(&pool, pupil, for_students.id)
            .await
            .unwrap()
            .unwrap()
            .output_price,
        Decimal::new(60, 2)
    );

    // Opening the big model to students applies at once.
    let mut opened = model_input(provider.id, "big", vec![staff, student]);
    opened.display_name = "Big".into();
    save_model(&pool, actor, Some(for_staff.id), &opened)
        .await
        .unwrap();
    assert_eq!(
        keys(models_for_user(&pool, pupil).await.unwrap()),
        ["big", "small"]
    );
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'admin.model.updated' and before->>'display_name' = 'BIG' and after->>'display_name' = 'Big'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(audited, 1, "changes are audited with before and after");

    delete_model(&pool, actor, retired.id).await.unwrap();
    assert_eq!(list_models(&pool).await.unwrap().len(), 2);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_builtin_model_is_registered_once_on_an_empty_catalogue(pool: PgPool) {
    let missing = std::path::Path::new("/nonexistent/model.gguf");
    assert!(!register_builtin(&pool, missing).await.unwrap());
    assert!(list_models(&pool).await.unwrap().is_empty());

    let file = std::env::temp_dir().join(format!("builtin-{}.gguf", Uuid::new_v4()));
    std::fs::write(&file, b"GGUF").unwrap();
    assert!(register_builtin(&pool, &file).await.unwrap());
    assert!(
        !register_builtin(&pool, &file).await.unwrap(),
        "registered twice"
    );
    std::fs::remove_file(&file).unwrap();

    let models = list_models(&pool).await.unwrap();
    let [model] = models.as_slice() else {
        panic!("expected one model, got {models:?}");
    };
    assert_eq!(model.provider_kind, ProviderKind::Local);
    assert_eq!(model.model_key, crate::llm::local::SMOLLM2_ID);
    assert!(model.display_name.contains("tiny demo"));
    assert!(model.is_active);
    // Everyone may use it, students included.
    let student = person(&pool, "pupil@example.org", "student").await;
    assert!(
        model_for_user(&pool, student, model.id)
            .await
            .unwrap()
            .is_some()
    );
}
