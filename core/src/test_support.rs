//! What the database tests of several modules set up the same way.

use rust_decimal::Decimal;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    accounts::{admin::Actor, users},
    models::{ModelInput, ProviderInput, save_model, save_provider},
};

/// A verified user `email` (named "Someone") holding `role`.
pub async fn person(pool: &PgPool, email: &str, role: &str) -> Uuid {
    let id: Uuid = sqlx::query_scalar(
        "insert into users (email, display_name, is_email_verified, email_verified_at) values ($1, 'Someone', true, now()) returning id",
    )
    .bind(email)
    .fetch_one(pool)
    .await
    .unwrap();
    users::grant_role_by_name(pool, id, role).await.unwrap();
    id
}

/// The id of role `name`.
pub async fn role(pool: &PgPool, name: &str) -> Uuid {
    sqlx::query_scalar("select id from roles where name = $1")
        .bind(name)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// A model the roles named may use.
pub async fn model(pool: &PgPool, admin: Uuid, key: &str, roles: &[&str]) -> Uuid {
    let actor = Actor {
        user_id: admin,
        ip: None,
    };
    let secrets = crate::secrets::SecretBox::ephemeral();
    let provider = save_provider(
        pool,
        &secrets,
        actor,
        None,
        &ProviderInput {
            kind: "openai".into(),
            name: format!("Provider {key}"),
            base_url: Some("http://models.lan:11434/v1/".into()),
            api_key: None,
            clear_api_key: false,
            region: None,
        },
    )
    .await
    .unwrap();
    let mut role_ids = Vec::new();
    for name in roles {
        role_ids.push(role(pool, name).await);
    }
    save_model(
        pool,
        actor,
        None,
        &ModelInput {
            provider_id: provider.id,
            model_key: key.into(),
            display_name: key.to_uppercase(),
            input_price: Decimal::new(15, 2),
            output_price: Decimal::new(60, 2),
            is_active: true,
            role_ids,
            ..ModelInput::default()
        },
    )
    .await
    .unwrap()
    .id
}
