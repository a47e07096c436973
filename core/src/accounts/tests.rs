//! Database tests of accounts: provisioning, roles and tools, sessions, rate limits.

use std::time::Duration;

use sqlx::PgPool;

use super::{
    access,
    oidc::Identity,
    password,
    provision::{self, AllowedDomains, ProvisionError},
    sessions::{self, Origin, SessionPolicy},
    sign_in::{self, RateLimits, SignInError},
    users::{self, NewLocalUser, RoleRule, SignUpError},
};

const PASSWORD: &str = "a long enough password";

async fn sign_up(pool: &PgPool, email: &str) -> Result<users::User, SignUpError> {
    let user = NewLocalUser {
        email: users::normalize_email(email).unwrap(),
        display_name: email.split('@').next().unwrap().to_owned(),
        password_hash: password::hash(PASSWORD).unwrap(),
    };
    users::sign_up_local(pool, &user, &RoleRule::default()).await
}

async fn set_sign_up_open(pool: &PgPool, open: bool) {
    sqlx::query("update settings set value = $1 where key = 'accounts.local_sign_up'")
        .bind(serde_json::Value::Bool(open))
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_first_account_is_administrator_and_later_ones_follow_the_rule(pool: PgPool) {
    let admin = sign_up(&pool, "Head@School.org").await.unwrap();
    assert_eq!(admin.email, "head@school.org");
    assert_eq!(
        access::role_names(&pool, admin.id).await.unwrap(),
        ["administrator"]
    );

    let teacher = sign_up(&pool, "teacher@school.org").await.unwrap();
    assert_eq!(
        access::role_names(&pool, teacher.id).await.unwrap(),
        ["staff"]
    );
    let pupil = sign_up(&pool, "20241234@school.org").await.unwrap();
    assert_eq!(
        access::role_names(&pool, pupil.id).await.unwrap(),
        ["student"]
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn racing_sign_ups_on_an_empty_database_make_one_administrator(pool: PgPool) {
    let attempts: Vec<_> = (0..6)
        .map(|n| {
            let pool = pool.clone();
            tokio::spawn(async move {
                sign_up(&pool, &format!("person{n}@school.org"))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut admins = 0;
    for attempt in attempts {
        let user = attempt.await.unwrap();
        if access::role_names(&pool, user.id).await.unwrap() == ["administrator"] {
            admins += 1;
        }
    }
    assert_eq!(admins, 1);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn an_email_signs_up_once_whatever_its_case(pool: PgPool) {
    sign_up(&pool, "ada@school.org").await.unwrap();
    assert!(matches!(
        sign_up(&pool, " ADA@school.org").await,
        Err(SignUpError::EmailTaken)
    ));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn closed_sign_up_refuses_all_but_the_first_account(pool: PgPool) {
    set_sign_up_open(&pool, false).await;
    sign_up(&pool, "first@school.org").await.unwrap();
    assert!(matches!(
        sign_up(&pool, "second@school.org").await,
        Err(SignUpError::SignUpClosed)
    ));
    set_sign_up_open(&pool, true).await;
    sign_up(&pool, "second@school.org").await.unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn tools_follow_the_roles_a_user_holds(pool: PgPool) {
    let admin = sign_up(&pool, "head@school.org").await.unwrap();
    let teacher = sign_up(&pool, "teacher@school.org").await.unwrap();
    let pupil = sign_up(&pool, "1234@school.org").await.unwrap();

    assert!(access::has_tool(&pool, admin.id, "admin").await.unwrap());
    assert!(!access::has_tool(&pool, teacher.id, "admin").await.unwrap());
    assert!(
        access::has_tool(&pool, teacher.id, "knowledge-repositories")
            .await
            .unwrap()
    );
    assert_eq!(
        access::tool_slugs(&pool, pupil.id).await.unwrap(),
        ["chat", "ideas", "model-compare", "prompt-library"]
    );
    assert!(
        !access::has_tool(&pool, pupil.id, "no-such-tool")
            .await
            .unwrap()
    );

    // Granting a role takes effect on the next question, with no caching in between.
    users::grant_role_by_name(&pool, pupil.id, "staff")
        .await
        .unwrap();
    assert!(
        access::has_tool(&pool, pupil.id, "schedules")
            .await
            .unwrap()
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_session_authenticates_until_it_is_revoked(pool: PgPool) {
    let user = sign_up(&pool, "ada@school.org").await.unwrap();
    let policy = SessionPolicy::default();
    let session = sessions::create(
        &pool,
        user.id,
        Origin {
            ip: Some("127.0.0.1"),
            user_agent: Some("test"),
            provider: None,
        },
        policy,
    )
    .await
    .unwrap();
    assert_eq!(session.token.len(), 43);

    let found = sessions::authenticate(&pool, &session.token, policy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (found.user_id, found.email.as_str()),
        (user.id, "ada@school.org")
    );
    assert!(
        sessions::authenticate(&pool, "x".repeat(43).as_str(), policy)
            .await
            .unwrap()
            .is_none()
    );

    assert!(sessions::revoke(&pool, &session.token).await.unwrap());
    assert!(
        sessions::authenticate(&pool, &session.token, policy)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!sessions::revoke(&pool, &session.token).await.unwrap());
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn sessions_end_when_idle_too_long_or_past_their_lifetime(pool: PgPool) {
    let user = sign_up(&pool, "ada@school.org").await.unwrap();
    let policy = SessionPolicy::default();
    let idle = sessions::create(&pool, user.id, Origin::default(), policy)
        .await
        .unwrap();
    let old = sessions::create(&pool, user.id, Origin::default(), policy)
        .await
        .unwrap();

    sqlx::query("update sessions set idle_expires_at = now() - interval '1 second' where id = $1")
        .bind(idle.id)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "update sessions set absolute_expires_at = now() - interval '1 second' where id = $1",
    )
    .bind(old.id)
    .execute(&pool)
    .await
    .unwrap();
    assert!(
        sessions::authenticate(&pool, &idle.token, policy)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        sessions::authenticate(&pool, &old.token, policy)
            .await
            .unwrap()
            .is_none()
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn activity_extends_the_idle_timeout_but_never_the_lifetime(pool: PgPool) {
    let user = sign_up(&pool, "ada@school.org").await.unwrap();
    let policy = SessionPolicy {
        idle: Duration::from_secs(3600),
        absolute: Duration::from_secs(7200),
    };
    let session = sessions::create(&pool, user.id, Origin::default(), policy)
        .await
        .unwrap();
    // Pretend the last request was ten minutes ago and the lifetime ends in 30 minutes.
    sqlx::query(
        "update sessions set last_seen_at = now() - interval '10 minutes',
         idle_expires_at = now() + interval '50 minutes',
         absolute_expires_at = now() + interval '30 minutes' where id = $1",
    )
    .bind(session.id)
    .execute(&pool)
    .await
    .unwrap();
    sessions::authenticate(&pool, &session.token, policy)
        .await
        .unwrap()
        .unwrap();
    let (idle, absolute): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("select idle_expires_at, absolute_expires_at from sessions where id = $1")
            .bind(session.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        idle, absolute,
        "renewed up to, not past, the absolute lifetime"
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn disabling_a_user_ends_their_sessions_at_once(pool: PgPool) {
    let user = sign_up(&pool, "ada@school.org").await.unwrap();
    let policy = SessionPolicy::default();
    let session = sessions::create(&pool, user.id, Origin::default(), policy)
        .await
        .unwrap();
    sqlx::query("update users set is_disabled = true where id = $1")
        .bind(user.id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        sessions::authenticate(&pool, &session.token, policy)
            .await
            .unwrap()
            .is_none()
    );
    let refused = sign_in::with_password(
        &pool,
        "ada@school.org",
        PASSWORD,
        None,
        RateLimits::default(),
    )
    .await;
    assert!(matches!(refused, Err(SignInError::Disabled)));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn revoking_all_sessions_signs_a_user_out_everywhere(pool: PgPool) {
    let user = sign_up(&pool, "ada@school.org").await.unwrap();
    let other = sign_up(&pool, "bob@school.org").await.unwrap();
    let policy = SessionPolicy::default();
    let a = sessions::create(&pool, user.id, Origin::default(), policy)
        .await
        .unwrap();
    let b = sessions::create(&pool, user.id, Origin::default(), policy)
        .await
        .unwrap();
    let theirs = sessions::create(&pool, other.id, Origin::default(), policy)
        .await
        .unwrap();
    assert_eq!(sessions::revoke_all(&pool, user.id).await.unwrap(), 2);
    assert!(
        sessions::authenticate(&pool, &a.token, policy)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        sessions::authenticate(&pool, &b.token, policy)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        sessions::authenticate(&pool, &theirs.token, policy)
            .await
            .unwrap()
            .is_some()
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn sign_in_checks_the_password_and_hides_which_part_was_wrong(pool: PgPool) {
    let user = sign_up(&pool, "ada@school.org").await.unwrap();
    let limits = RateLimits::default();
    let signed_in = sign_in::with_password(&pool, " ADA@school.org", PASSWORD, None, limits)
        .await
        .unwrap();
    assert_eq!(signed_in.id, user.id);

    let wrong_password =
        sign_in::with_password(&pool, "ada@school.org", "not the password", None, limits).await;
    let unknown_email =
        sign_in::with_password(&pool, "nobody@school.org", PASSWORD, None, limits).await;
    let malformed = sign_in::with_password(&pool, "not an email", PASSWORD, None, limits).await;
    for outcome in [wrong_password, unknown_email, malformed] {
        let err = outcome.unwrap_err();
        assert!(matches!(err, SignInError::InvalidCredentials), "{err:?}");
        assert_eq!(err.to_string(), "the email or password is not right");
    }
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn repeated_failures_lock_the_account_then_the_address(pool: PgPool) {
    sign_up(&pool, "ada@school.org").await.unwrap();
    let limits = RateLimits {
        window: Duration::from_secs(900),
        per_account: 3,
        per_ip: 5,
    };
    let ip = Some("198.51.100.7");
    for _ in 0..3 {
        let outcome =
            sign_in::with_password(&pool, "ada@school.org", "wrong password!", ip, limits).await;
        assert!(matches!(outcome, Err(SignInError::InvalidCredentials)));
    }
    // Locked: even the right password is refused now, from any address.
    let locked = sign_in::with_password(
        &pool,
        "ada@school.org",
        PASSWORD,
        Some("203.0.113.1"),
        limits,
    )
    .await;
    assert!(matches!(locked, Err(SignInError::RateLimited)));

    // The address has 3 failures; two more on other accounts exhaust it too.
    for email in ["x@school.org", "y@school.org"] {
        let outcome = sign_in::with_password(&pool, email, "wrong password!", ip, limits).await;
        assert!(matches!(outcome, Err(SignInError::InvalidCredentials)));
    }
    let by_ip = sign_in::with_password(&pool, "z@school.org", "wrong password!", ip, limits).await;
    assert!(matches!(by_ip, Err(SignInError::RateLimited)));

    // Failures age out of the window.
    sqlx::query("update sign_in_attempts set created_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    sign_in::with_password(&pool, "ada@school.org", PASSWORD, ip, limits)
        .await
        .unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn sign_ins_and_failures_are_audited_without_the_password(pool: PgPool) {
    sign_up(&pool, "ada@school.org").await.unwrap();
    let limits = RateLimits::default();
    sign_in::with_password(&pool, "ada@school.org", PASSWORD, Some("192.0.2.1"), limits)
        .await
        .unwrap();
    let _ =
        sign_in::with_password(&pool, "ada@school.org", "the wrong password", None, limits).await;

    let entries = crate::audit::list(&pool, Some("auth."), None, 10)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["auth.sign_in_failed", "auth.sign_in", "auth.sign_up"]
    );
    assert_eq!(entries[1].ip.as_deref(), Some("192.0.2.1"));
    assert_eq!(entries[1].actor_email.as_deref(), Some("ada@school.org"));
    let logged = serde_json::to_string(&entries).unwrap();
    assert!(!logged.contains(PASSWORD) && !logged.contains("the wrong password"));
}

mod admin_changes {
    use super::*;
    use crate::accounts::admin::{self, Actor, AdminError};

    async fn role_id(pool: &PgPool, name: &str) -> uuid::Uuid {
        sqlx::query_scalar("select id from roles where name = $1")
            .bind(name)
            .fetch_one(pool)
            .await
            .unwrap()
    }

    fn refused(result: Result<(), AdminError>) -> String {
        match result {
            Err(AdminError::Refused(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn the_last_administrator_cannot_be_demoted_disabled_or_deleted(pool: PgPool) {
        let admin = sign_up(&pool, "head@school.org").await.unwrap();
        let teacher = sign_up(&pool, "teacher@school.org").await.unwrap();
        let by_teacher = Actor {
            user_id: teacher.id,
            ip: None,
        };
        let staff = role_id(&pool, "staff").await;

        let message = refused(admin::set_user_roles(&pool, by_teacher, admin.id, &[staff]).await);
        assert!(message.contains("last administrator"), "{message}");
        refused(admin::set_user_disabled(&pool, by_teacher, admin.id, true).await);
        refused(admin::delete_user(&pool, by_teacher, admin.id).await);
        let by_admin = Actor {
            user_id: admin.id,
            ip: None,
        };
        refused(admin::set_user_disabled(&pool, by_admin, admin.id, true).await);

        // With a second administrator, the first can step down.
        let administrator = role_id(&pool, "administrator").await;
        admin::set_user_roles(&pool, by_admin, teacher.id, &[administrator])
            .await
            .unwrap();
        admin::set_user_roles(&pool, by_teacher, admin.id, &[staff])
            .await
            .unwrap();
        assert_eq!(
            access::role_names(&pool, admin.id).await.unwrap(),
            ["staff"]
        );
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn disabling_ends_sessions_and_every_change_is_audited(pool: PgPool) {
        let admin = sign_up(&pool, "head@school.org").await.unwrap();
        let teacher = sign_up(&pool, "teacher@school.org").await.unwrap();
        let actor = Actor {
            user_id: admin.id,
            ip: Some("192.0.2.9"),
        };
        let policy = SessionPolicy::default();
        let session = sessions::create(&pool, teacher.id, Origin::default(), policy)
            .await
            .unwrap();

        admin::set_user_disabled(&pool, actor, teacher.id, true)
            .await
            .unwrap();
        assert!(
            sessions::authenticate(&pool, &session.token, policy)
                .await
                .unwrap()
                .is_none()
        );
        admin::set_user_disabled(&pool, actor, teacher.id, false)
            .await
            .unwrap();
        assert!(
            sessions::authenticate(&pool, &session.token, policy)
                .await
                .unwrap()
                .is_none(),
            "re-enabling does not revive old sessions"
        );

        let entries = crate::audit::list(&pool, Some("admin."), None, 10)
            .await
            .unwrap();
        assert_eq!(entries[0].action, "admin.user.enabled");
        assert_eq!(entries[1].action, "admin.user.disabled");
        assert_eq!(entries[1].before.as_ref().unwrap()["disabled"], false);
        assert_eq!(entries[1].after.as_ref().unwrap()["disabled"], true);
        assert_eq!(entries[1].actor_email.as_deref(), Some("head@school.org"));
        assert_eq!(entries[1].ip.as_deref(), Some("192.0.2.9"));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn custom_roles_can_be_made_granted_renamed_and_deleted(pool: PgPool) {
        let admin = sign_up(&pool, "head@school.org").await.unwrap();
        let pupil = sign_up(&pool, "1234@school.org").await.unwrap();
        let actor = Actor {
            user_id: admin.id,
            ip: None,
        };

        let helpers = admin::create_role(&pool, actor, " Library helpers ", "Run the library")
            .await
            .unwrap();
        assert!(matches!(
            admin::create_role(&pool, actor, "library HELPERS", "").await,
            Err(AdminError::Refused(_))
        ));
        admin::set_role_tools(
            &pool,
            actor,
            helpers,
            &["knowledge-repositories".to_owned()],
        )
        .await
        .unwrap();
        let student = role_id(&pool, "student").await;
        admin::set_user_roles(&pool, actor, pupil.id, &[student, helpers])
            .await
            .unwrap();
        assert!(
            access::has_tool(&pool, pupil.id, "knowledge-repositories")
                .await
                .unwrap()
        );

        admin::rename_role(&pool, actor, helpers, "Librarians")
            .await
            .unwrap();
        let roles = admin::list_roles(&pool).await.unwrap();
        let renamed = roles.iter().find(|r| r.id == helpers).unwrap();
        assert_eq!(
            (renamed.name.as_str(), renamed.user_count),
            ("Librarians", 1)
        );

        admin::delete_role(&pool, actor, helpers).await.unwrap();
        assert!(
            !access::has_tool(&pool, pupil.id, "knowledge-repositories")
                .await
                .unwrap()
        );
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn system_roles_keep_their_names_and_the_admin_tool(pool: PgPool) {
        let admin = sign_up(&pool, "head@school.org").await.unwrap();
        let actor = Actor {
            user_id: admin.id,
            ip: None,
        };
        let staff = role_id(&pool, "staff").await;
        let administrator = role_id(&pool, "administrator").await;
        refused(admin::rename_role(&pool, actor, staff, "Teachers").await);
        refused(admin::delete_role(&pool, actor, staff).await);
        refused(admin::set_role_tools(&pool, actor, administrator, &["chat".to_owned()]).await);
        refused(admin::set_role_tools(&pool, actor, staff, &["no-such-tool".to_owned()]).await);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn users_are_searched_and_paged(pool: PgPool) {
        for n in 0..7 {
            sign_up(&pool, &format!("user{n}@school.org"))
                .await
                .unwrap();
        }
        sign_up(&pool, "odd_one@other.org").await.unwrap();
        let (page, total) = admin::list_users(&pool, Some("school"), 0, 5)
            .await
            .unwrap();
        assert_eq!((page.len(), total), (5, 7));
        let (rest, _) = admin::list_users(&pool, Some("school"), 5, 5)
            .await
            .unwrap();
        assert_eq!(rest.len(), 2);
        // `_` is a literal underscore, not a wildcard.
        let (found, total) = admin::list_users(&pool, Some("d_o"), 0, 5).await.unwrap();
        assert_eq!((found.len(), total), (1, 1));
        assert_eq!(found[0].roles, ["staff"]);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn closing_sign_up_is_a_setting_admins_change(pool: PgPool) {
        let admin = sign_up(&pool, "head@school.org").await.unwrap();
        admin::set_local_sign_up(
            &pool,
            Actor {
                user_id: admin.id,
                ip: None,
            },
            false,
        )
        .await
        .unwrap();
        assert!(matches!(
            sign_up(&pool, "late@school.org").await,
            Err(SignUpError::SignUpClosed)
        ));
    }
}

fn identity(subject: &str, email: Option<&str>, verified: bool) -> Identity {
    Identity {
        provider: "school".to_owned(),
        issuer: "https://idp.school.example".to_owned(),
        subject: subject.to_owned(),
        email: email.map(str::to_owned),
        email_verified: verified,
        name: Some("Pat Provider".to_owned()),
        return_to: "/".to_owned(),
    }
}

async fn provision(pool: &PgPool, identity: &Identity) -> Result<users::User, ProvisionError> {
    provision::provision(
        pool,
        identity,
        &RoleRule::default(),
        &AllowedDomains::default(),
        Some("192.0.2.7"),
    )
    .await
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn provider_users_are_created_once_and_found_by_issuer_and_subject(pool: PgPool) {
    sign_up(&pool, "head@school.org").await.unwrap();
    let first = identity("sub-1", Some("Pat@School.org"), true);
    let pat = provision(&pool, &first).await.unwrap();
    assert_eq!(pat.email, "pat@school.org");
    assert_eq!(pat.display_name, "Pat Provider");
    assert_eq!(access::role_names(&pool, pat.id).await.unwrap(), ["staff"]);

    // The provider later reports another address: same subject, same account.
    let renamed = identity("sub-1", Some("patricia@school.org"), true);
    assert_eq!(provision(&pool, &renamed).await.unwrap().id, pat.id);
    let accounts: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(accounts, 2);

    let pupil = provision(&pool, &identity("sub-2", Some("20240001@school.org"), true))
        .await
        .unwrap();
    assert_eq!(
        access::role_names(&pool, pupil.id).await.unwrap(),
        ["student"]
    );
    let signed_in: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'auth.sign_in' and after->>'provider' = 'school'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(signed_in, 3);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_first_provider_user_on_an_empty_database_is_administrator(pool: PgPool) {
    let user = provision(&pool, &identity("sub-1", Some("it@school.org"), false))
        .await
        .unwrap();
    assert_eq!(
        access::role_names(&pool, user.id).await.unwrap(),
        ["administrator"]
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_verified_email_links_to_the_existing_account_and_an_unverified_one_does_not(
    pool: PgPool,
) {
    let local = sign_up(&pool, "head@school.org").await.unwrap();
    let unverified = provision(&pool, &identity("sub-x", Some("head@school.org"), false)).await;
    assert!(
        matches!(unverified, Err(ProvisionError::EmailInUse)),
        "{unverified:?}"
    );
    let linked = provision(&pool, &identity("sub-1", Some("head@school.org"), true))
        .await
        .unwrap();
    assert_eq!(linked.id, local.id);
    // Linked now: the subject alone finds the account.
    let again = provision(&pool, &identity("sub-1", None, false))
        .await
        .unwrap();
    assert_eq!(again.id, local.id);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn provider_sign_ins_are_refused_for_other_domains_missing_emails_and_disabled_users(
    pool: PgPool,
) {
    let allowed = AllowedDomains::parse("school.org");
    let outsider = provision::provision(
        &pool,
        &identity("sub-9", Some("someone@gmail.example"), true),
        &RoleRule::default(),
        &allowed,
        None,
    )
    .await;
    assert!(
        matches!(&outsider, Err(ProvisionError::DomainNotAllowed(d)) if d == "gmail.example"),
        "{outsider:?}"
    );
    let no_email = provision(&pool, &identity("sub-8", None, false)).await;
    assert!(
        matches!(no_email, Err(ProvisionError::MissingEmail)),
        "{no_email:?}"
    );
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(users, 0, "refused sign-ins create nobody");
    let refusals: Vec<String> = sqlx::query_scalar(
        "select after->>'detail' from audit_log where action = 'auth.sign_in_failed' order by created_at",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(refusals.len(), 2);
    assert!(refusals[0].contains("gmail.example"), "{refusals:?}");

    let user = provision(&pool, &identity("sub-1", Some("pat@school.org"), true))
        .await
        .unwrap();
    sqlx::query("update users set is_disabled = true where id = $1")
        .bind(user.id)
        .execute(&pool)
        .await
        .unwrap();
    let disabled = provision(&pool, &identity("sub-1", Some("pat@school.org"), true)).await;
    assert!(
        matches!(disabled, Err(ProvisionError::Disabled)),
        "{disabled:?}"
    );
}
