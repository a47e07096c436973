//! Database tests of accounts: sign-up and verified addresses, the first administrator,
//! provisioning and safe linking, roles and tools, sessions, sign-in throttling.

use std::time::Duration;

use sqlx::PgPool;

use super::{
    AccountsConfig, access,
    oidc::Identity,
    password,
    provision::{self, AllowedDomains, ProvisionError},
    sessions::{self, Origin, SessionPolicy},
    setup,
    sign_in::{self, RateLimits, SignInError},
    sign_up::{NewLocalUser, SignUpError, SignUpOutcome},
    tokens::{self, Purpose},
    users::{self, RoleRule},
    verification::{self, VerifyError},
};
use crate::limits::BlockingPool;

const PASSWORD: &str = "a long enough password";

fn hashing() -> BlockingPool {
    BlockingPool::new(2, 16, Duration::from_secs(30))
}

/// Accounts verified by mailed links.
fn with_mail() -> AccountsConfig {
    AccountsConfig {
        mail_enabled: true,
        ..AccountsConfig::default()
    }
}

async fn sign_up_with(
    pool: &PgPool,
    config: &AccountsConfig,
    email: &str,
) -> Result<SignUpOutcome, SignUpError> {
    let user = NewLocalUser {
        email: users::normalize_email(email).unwrap(),
        display_name: email.split('@').next().unwrap().to_owned(),
        password_hash: password::hash(PASSWORD).unwrap(),
    };
    super::sign_up::sign_up_local(pool, config, &user).await
}

/// A new, unverified local account.
async fn sign_up(pool: &PgPool, email: &str) -> Result<users::User, SignUpError> {
    match sign_up_with(pool, &AccountsConfig::default(), email).await? {
        SignUpOutcome::Created(user) => Ok(user),
        SignUpOutcome::AlreadyRegistered => panic!("{email} had an account"),
    }
}

/// A local account whose address was verified, holding the rule's role.
async fn member(pool: &PgPool, email: &str) -> users::User {
    let user = sign_up(pool, email).await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    verification::mark_verified(
        &mut tx,
        &AccountsConfig::default(),
        user.id,
        None,
        "test",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    user
}

/// A verified administrator.
async fn admin_member(pool: &PgPool, email: &str) -> users::User {
    let user = member(pool, email).await;
    users::grant_role_by_name(pool, user.id, "administrator")
        .await
        .unwrap();
    user
}

async fn set_sign_up_open(pool: &PgPool, open: bool) {
    sqlx::query("update settings set value = $1 where key = 'accounts.local_sign_up'")
        .bind(serde_json::Value::Bool(open))
        .execute(pool)
        .await
        .unwrap();
}

/// The link of the newest message of `kind` to `to`, and its token.
async fn mailed_token(pool: &PgPool, to: &str, kind: &str) -> String {
    let link: String = sqlx::query_scalar(
        "select link from mail_outbox where to_address = $1 and kind = $2 order by created_at desc limit 1",
    )
    .bind(to)
    .bind(kind)
    .fetch_one(pool)
    .await
    .unwrap();
    link.split("token=").nth(1).unwrap().to_owned()
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_sign_up_holds_no_role_until_its_address_is_verified_then_follows_the_rule(pool: PgPool) {
    // Nobody becomes administrator by being first.
    let first = sign_up(&pool, "Head@School.org").await.unwrap();
    assert_eq!(first.email, "head@school.org");
    assert!(
        access::role_names(&pool, first.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        access::tool_slugs(&pool, first.id)
            .await
            .unwrap()
            .is_empty()
    );
    // Even a role granted by hand counts for nothing until the address is verified.
    users::grant_role_by_name(&pool, first.id, "administrator")
        .await
        .unwrap();
    assert!(!access::has_tool(&pool, first.id, "admin").await.unwrap());
    assert_eq!(
        access::grants(&pool, first.id).await.unwrap(),
        access::Grants::default()
    );

    let teacher = member(&pool, "teacher@school.org").await;
    assert_eq!(
        access::role_names(&pool, teacher.id).await.unwrap(),
        ["staff"]
    );
    let pupil = member(&pool, "20241234@school.org").await;
    assert_eq!(
        access::role_names(&pool, pupil.id).await.unwrap(),
        ["student"]
    );
    // Both lists in one read, each as the single readers give it.
    users::grant_role_by_name(&pool, pupil.id, "staff")
        .await
        .unwrap();
    let grants = access::grants(&pool, pupil.id).await.unwrap();
    assert_eq!(grants.roles, ["staff", "student"]);
    assert_eq!(
        grants.tools,
        access::tool_slugs(&pool, pupil.id).await.unwrap()
    );
    assert!(grants.tools.iter().any(|t| t == "chat"));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_mailed_link_verifies_for_whoever_knows_the_password(pool: PgPool) {
    let config = with_mail();
    let SignUpOutcome::Created(user) = sign_up_with(&pool, &config, "ada@school.org")
        .await
        .unwrap()
    else {
        panic!("created");
    };
    let token = mailed_token(&pool, "ada@school.org", "verify_email").await;
    let hashing = hashing();

    // Someone else's browser without the password: refused, the link still works.
    let stranger = verification::verify_with_link(
        &pool,
        &hashing,
        &config,
        &token,
        None,
        Some("guess".into()),
    )
    .await;
    assert!(
        matches!(stranger, Err(VerifyError::WrongPassword)),
        "{stranger:?}"
    );
    let verified = verification::verify_with_link(
        &pool,
        &hashing,
        &config,
        &token,
        None,
        Some(PASSWORD.into()),
    )
    .await
    .unwrap();
    assert_eq!(verified.id, user.id);
    assert_eq!(access::role_names(&pool, user.id).await.unwrap(), ["staff"]);
    // Once only.
    let again =
        verification::verify_with_link(&pool, &hashing, &config, &token, Some(user.id), None).await;
    assert!(matches!(again, Err(VerifyError::Expired)), "{again:?}");
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_signed_in_account_verifies_without_its_password_and_domains_apply_then(pool: PgPool) {
    let config = AccountsConfig {
        allowed_domains: AllowedDomains::parse("school.org"),
        ..with_mail()
    };
    let SignUpOutcome::Created(user) = sign_up_with(&pool, &config, "ada@school.org")
        .await
        .unwrap()
    else {
        panic!("created");
    };
    // An older link stops working when a new one is sent.
    let old = mailed_token(&pool, "ada@school.org", "verify_email").await;
    sqlx::query("update mail_outbox set created_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    verification::resend(&pool, &config, user.id).await.unwrap();
    assert!(matches!(
        verification::resend(&pool, &config, user.id).await,
        Err(VerifyError::TooSoon)
    ));
    let new = mailed_token(&pool, "ada@school.org", "verify_email").await;
    assert_ne!(old, new);
    let hashing = hashing();
    assert!(matches!(
        verification::verify_with_link(&pool, &hashing, &config, &old, Some(user.id), None).await,
        Err(VerifyError::Expired)
    ));

    // The address is corrected to another domain: the link for it is refused at verification.
    verification::change_address(&pool, &with_mail(), user.id, "ada@gmail.example")
        .await
        .unwrap();
    assert!(
        matches!(
            verification::verify_with_link(&pool, &hashing, &config, &new, Some(user.id), None)
                .await,
            Err(VerifyError::Expired)
        ),
        "a link vouches for the address it was sent to"
    );
    let moved = mailed_token(&pool, "ada@gmail.example", "verify_email").await;
    let refused =
        verification::verify_with_link(&pool, &hashing, &config, &moved, Some(user.id), None).await;
    assert!(
        matches!(&refused, Err(VerifyError::DomainNotAllowed(d)) if d == "gmail.example"),
        "{refused:?}"
    );
    assert!(access::role_names(&pool, user.id).await.unwrap().is_empty());
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn only_the_setup_link_makes_the_first_administrator(pool: PgPool) {
    let config = AccountsConfig::default();
    let hashing = hashing();
    // A squatter signed up first with the address the operator will use, and signed in.
    let squatter = sign_up(&pool, "head@school.org").await.unwrap();
    let squatting = sessions::create(
        &pool,
        squatter.id,
        Origin::default(),
        SessionPolicy::default(),
    )
    .await
    .unwrap();
    let link = setup::issue_link(&pool, &config).await.unwrap().unwrap();
    let other = setup::issue_link(&pool, &config).await.unwrap().unwrap();
    assert!(
        link.starts_with("http://localhost:3000/setup?token="),
        "{link}"
    );
    let secret = link.split("token=").nth(1).unwrap();
    let other = other.split("token=").nth(1).unwrap();
    let wrong = setup::create_first_admin(
        &pool,
        &hashing,
        "x".repeat(43).as_str(),
        "head@school.org",
        "Head",
        "another long password".into(),
    )
    .await;
    assert!(matches!(wrong, Err(VerifyError::Expired)));

    let admin = setup::create_first_admin(
        &pool,
        &hashing,
        secret,
        "head@school.org",
        "Head",
        "the operator's password".into(),
    )
    .await
    .unwrap();
    assert_eq!(
        access::role_names(&pool, admin.id).await.unwrap(),
        ["administrator"]
    );
    // The squatter's password is gone; the operator's works.
    let (_, stored) = users::find_with_password(&pool, "head@school.org")
        .await
        .unwrap()
        .unwrap();
    let stored = stored.unwrap();
    assert!(password::verify("the operator's password", &stored));
    assert!(!password::verify(PASSWORD, &stored));
    assert!(
        sessions::authenticate(&pool, &squatting.token, SessionPolicy::default())
            .await
            .unwrap()
            .is_none(),
        "the squatter's session does not become an administrator's"
    );

    // Every link dies with the first use, and no more are issued.
    let late = setup::create_first_admin(
        &pool,
        &hashing,
        other,
        "second@school.org",
        "Second",
        "another long password".into(),
    )
    .await;
    assert!(matches!(late, Err(VerifyError::Expired)));
    assert_eq!(setup::issue_link(&pool, &config).await.unwrap(), None);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn racing_setup_links_make_one_administrator(pool: PgPool) {
    let config = AccountsConfig::default();
    let mut attempts = Vec::new();
    for n in 0..4 {
        let link = setup::issue_link(&pool, &config).await.unwrap().unwrap();
        let secret = link.split("token=").nth(1).unwrap().to_owned();
        let pool = pool.clone();
        attempts.push(tokio::spawn(async move {
            setup::create_first_admin(
                &pool,
                &hashing(),
                &secret,
                &format!("person{n}@school.org"),
                "P",
                "a long enough password".into(),
            )
            .await
        }));
    }
    let mut made = 0;
    for attempt in attempts {
        if attempt.await.unwrap().is_ok() {
            made += 1;
        }
    }
    assert_eq!(made, 1);
    let admins: i64 = sqlx::query_scalar("select count(*) from granted_roles g join roles r on r.id = g.role_id where r.name = 'administrator'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(admins, 1);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn signing_up_with_a_taken_address_changes_nothing_and_tells_its_owner(pool: PgPool) {
    let owner = member(&pool, "ada@school.org").await;
    let (_, before) = users::find_with_password(&pool, "ada@school.org")
        .await
        .unwrap()
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            sign_up_with(&pool, &with_mail(), " ADA@school.org")
                .await
                .unwrap(),
            SignUpOutcome::AlreadyRegistered
        );
    }
    let (_, after) = users::find_with_password(&pool, "ada@school.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(before, after);
    let notices: Vec<String> =
        sqlx::query_scalar("select kind from mail_outbox where to_address = 'ada@school.org'")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        notices,
        ["sign_up_attempt"],
        "one notice an hour, no verification link"
    );
    assert_eq!(
        access::role_names(&pool, owner.id).await.unwrap(),
        ["staff"]
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn closed_sign_up_refuses_everyone(pool: PgPool) {
    set_sign_up_open(&pool, false).await;
    assert!(matches!(
        sign_up_with(&pool, &AccountsConfig::default(), "first@school.org").await,
        Err(SignUpError::SignUpClosed)
    ));
    set_sign_up_open(&pool, true).await;
    sign_up(&pool, "first@school.org").await.unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_password_reset_verifies_the_address_and_signs_out_everywhere(pool: PgPool) {
    use crate::accounts::recovery;
    let config = with_mail();
    let user = member(&pool, "ada@school.org").await;
    let session = sessions::create(&pool, user.id, Origin::default(), SessionPolicy::default())
        .await
        .unwrap();
    recovery::request_reset(&pool, &config, "nobody@school.org")
        .await
        .unwrap();
    recovery::request_reset(&pool, &config, " Ada@School.org ")
        .await
        .unwrap();
    let mailed: i64 =
        sqlx::query_scalar("select count(*) from mail_outbox where kind = 'reset_password'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(mailed, 1, "only an address with an account gets a link");
    let token = mailed_token(&pool, "ada@school.org", "reset_password").await;
    let hashing = hashing();
    recovery::reset_password(
        &pool,
        &hashing,
        &config,
        &token,
        "a brand new passphrase".into(),
    )
    .await
    .unwrap();
    assert!(
        sessions::authenticate(&pool, &session.token, SessionPolicy::default())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        access::role_names(&pool, user.id).await.unwrap(),
        ["staff"],
        "the mailbox's owner chose it"
    );
    let signed_in = sign_in::with_password(
        &pool,
        &hashing,
        "ada@school.org",
        "a brand new passphrase",
        None,
        RateLimits::default(),
    )
    .await;
    assert!(signed_in.is_ok());
    let reused = recovery::reset_password(
        &pool,
        &hashing,
        &config,
        &token,
        "yet another passphrase".into(),
    )
    .await;
    assert!(matches!(reused, Err(VerifyError::Expired)));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn proving_the_mailbox_takes_the_account_from_whoever_made_it(pool: PgPool) {
    use crate::accounts::recovery;
    // A provider that does not vouch for addresses makes an account for the attacker, who
    // moves it to the victim's address and keeps a session.
    let made = provision(&pool, &identity("evil-sub", Some("evil@school.org"), false))
        .await
        .unwrap();
    let held = sessions::create(&pool, made.id, Origin::default(), SessionPolicy::default())
        .await
        .unwrap();
    verification::change_address(&pool, &with_mail(), made.id, "victim@school.org")
        .await
        .unwrap();
    // The victim resets the password from the mail: the account is theirs alone now.
    recovery::request_reset(&pool, &with_mail(), "victim@school.org")
        .await
        .unwrap();
    let token = mailed_token(&pool, "victim@school.org", "reset_password").await;
    recovery::reset_password(
        &pool,
        &hashing(),
        &with_mail(),
        &token,
        "the victim's own passphrase".into(),
    )
    .await
    .unwrap();
    assert!(
        sessions::authenticate(&pool, &held.token, SessionPolicy::default())
            .await
            .unwrap()
            .is_none()
    );
    let again = provision(&pool, &identity("evil-sub", Some("evil@school.org"), false))
        .await
        .unwrap();
    assert_ne!(
        again.id, made.id,
        "the attacker's identity no longer opens it"
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn an_invitation_grants_exactly_its_roles_once_accepted(pool: PgPool) {
    use crate::accounts::{admin::Actor, invitations};
    let config = with_mail();
    let admin = admin_member(&pool, "head@school.org").await;
    let actor = Actor {
        user_id: admin.id,
        ip: None,
    };
    let student: uuid::Uuid = sqlx::query_scalar("select id from roles where name = 'student'")
        .fetch_one(&pool)
        .await
        .unwrap();
    // The address's rule would say staff; the invitation says student.
    let invited = invitations::invite(&pool, &config, actor, "New.Teacher@School.org", &[student])
        .await
        .unwrap();
    assert!(
        invitations::invite(&pool, &config, actor, "head@school.org", &[])
            .await
            .is_err(),
        "existing accounts are not invited"
    );
    assert!(access::role_names(&pool, invited).await.unwrap().is_empty());
    let token = mailed_token(&pool, "new.teacher@school.org", "invitation").await;
    assert_eq!(
        invitations::invited_address(&pool, &token)
            .await
            .unwrap()
            .as_deref(),
        Some("new.teacher@school.org")
    );
    let user = invitations::accept(
        &pool,
        &hashing(),
        &config,
        &token,
        "Nina",
        "a long enough password".into(),
    )
    .await
    .unwrap();
    assert_eq!(user.display_name, "Nina");
    assert_eq!(
        access::role_names(&pool, invited).await.unwrap(),
        ["student"]
    );
    assert_eq!(
        invitations::invited_address(&pool, &token).await.unwrap(),
        None
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn tokens_keep_only_their_hash(pool: PgPool) {
    let secret = tokens::issue(
        &pool,
        &tokens::NewToken {
            purpose: Purpose::Setup,
            user_id: None,
            email: None,
            role_ids: &[],
            created_by: None,
            ttl: Duration::from_secs(60),
        },
    )
    .await
    .unwrap();
    let stored: Vec<u8> = sqlx::query_scalar("select token_hash from account_tokens")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored.len(), 32);
    assert!(!String::from_utf8_lossy(&stored).contains(&secret));
    assert!(
        tokens::peek(&pool, Purpose::Setup, &secret)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        tokens::peek(&pool, Purpose::ResetPassword, &secret)
            .await
            .unwrap()
            .is_none(),
        "a link has one purpose"
    );
    sqlx::query("update account_tokens set expires_at = now() - interval '1 second'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        tokens::peek(&pool, Purpose::Setup, &secret)
            .await
            .unwrap()
            .is_none()
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn tools_follow_the_roles_a_user_holds(pool: PgPool) {
    let admin = admin_member(&pool, "head@school.org").await;
    let teacher = member(&pool, "teacher@school.org").await;
    let pupil = member(&pool, "1234@school.org").await;

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
    let user = member(&pool, "ada@school.org").await;
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
    let user = member(&pool, "ada@school.org").await;
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
    let user = member(&pool, "ada@school.org").await;
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
    let user = member(&pool, "ada@school.org").await;
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
        &hashing(),
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
    let user = member(&pool, "ada@school.org").await;
    let other = member(&pool, "bob@school.org").await;
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
    let user = member(&pool, "ada@school.org").await;
    let limits = RateLimits::default();
    let hashing = hashing();
    let signed_in =
        sign_in::with_password(&pool, &hashing, " ADA@school.org", PASSWORD, None, limits)
            .await
            .unwrap();
    assert_eq!(signed_in.id, user.id);

    let wrong_password = sign_in::with_password(
        &pool,
        &hashing,
        "ada@school.org",
        "not the password",
        None,
        limits,
    )
    .await;
    let unknown_email =
        sign_in::with_password(&pool, &hashing, "nobody@school.org", PASSWORD, None, limits).await;
    let malformed =
        sign_in::with_password(&pool, &hashing, "not an email", PASSWORD, None, limits).await;
    for outcome in [wrong_password, unknown_email, malformed] {
        let err = outcome.unwrap_err();
        assert!(matches!(err, SignInError::InvalidCredentials), "{err:?}");
        assert_eq!(err.to_string(), "the email or password is not right");
    }
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn failures_slow_the_guessing_client_never_the_owner_elsewhere(pool: PgPool) {
    member(&pool, "ada@school.org").await;
    let limits = RateLimits {
        window: Duration::from_secs(900),
        free_failures: 3,
        max_delay: Duration::from_secs(300),
        per_ip: 6,
    };
    let hashing = hashing();
    let attacker = Some("198.51.100.7");
    for _ in 0..3 {
        let outcome = sign_in::with_password(
            &pool,
            &hashing,
            "ada@school.org",
            "wrong password!",
            attacker,
            limits,
        )
        .await;
        assert!(matches!(outcome, Err(SignInError::InvalidCredentials)));
    }
    // The guessing client waits, even with the right password...
    let waiting = sign_in::with_password(
        &pool,
        &hashing,
        "ada@school.org",
        PASSWORD,
        attacker,
        limits,
    )
    .await;
    assert!(
        matches!(waiting, Err(SignInError::Throttled(wait)) if wait > Duration::ZERO),
        "{waiting:?}"
    );
    // ...while the owner, from their own address, is never locked out.
    sign_in::with_password(
        &pool,
        &hashing,
        "ada@school.org",
        PASSWORD,
        Some("203.0.113.1"),
        limits,
    )
    .await
    .unwrap();

    // The delay grows with each failure past the free ones.
    let wait_after = |failures: usize| {
        let pool = pool.clone();
        async move {
            sqlx::query("delete from sign_in_attempts")
                .execute(&pool)
                .await
                .unwrap();
            for _ in 0..failures {
                sqlx::query("insert into sign_in_attempts (email, ip, is_success) values ('ada@school.org', '198.51.100.7', false)")
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            sign_in::throttle(&pool, "ada@school.org", attacker, limits)
                .await
                .unwrap()
        }
    };
    assert_eq!(wait_after(2).await, None);
    let (three, four, five) = (
        wait_after(3).await.unwrap(),
        wait_after(4).await.unwrap(),
        wait_after(5).await.unwrap(),
    );
    assert!(three < four && four < five, "{three:?} {four:?} {five:?}");
    // Past the address's cap the whole window applies; below it, the pair's delay is capped.
    assert!(wait_after(40).await.unwrap() > limits.max_delay);
    let lenient = RateLimits {
        per_ip: 1000,
        ..limits
    };
    sqlx::query("delete from sign_in_attempts")
        .execute(&pool)
        .await
        .unwrap();
    for _ in 0..40 {
        sqlx::query("insert into sign_in_attempts (email, ip, is_success) values ('ada@school.org', '198.51.100.7', false)")
            .execute(&pool)
            .await
            .unwrap();
    }
    let capped_delay = sign_in::throttle(&pool, "ada@school.org", attacker, lenient)
        .await
        .unwrap()
        .unwrap();
    assert!(capped_delay <= limits.max_delay, "{capped_delay:?}");

    // An address failing on many accounts hits its cap, for every account.
    sqlx::query("delete from sign_in_attempts")
        .execute(&pool)
        .await
        .unwrap();
    for n in 0..6 {
        let email = format!("user{n}@school.org");
        let outcome =
            sign_in::with_password(&pool, &hashing, &email, "wrong password!", attacker, limits)
                .await;
        assert!(
            matches!(outcome, Err(SignInError::InvalidCredentials)),
            "{outcome:?}"
        );
    }
    let capped = sign_in::with_password(
        &pool,
        &hashing,
        "z@school.org",
        "wrong password!",
        attacker,
        limits,
    )
    .await;
    assert!(
        matches!(capped, Err(SignInError::Throttled(_))),
        "{capped:?}"
    );

    // Failures age out of the window.
    sqlx::query("update sign_in_attempts set created_at = now() - interval '1 hour'")
        .execute(&pool)
        .await
        .unwrap();
    sign_in::with_password(
        &pool,
        &hashing,
        "ada@school.org",
        PASSWORD,
        attacker,
        limits,
    )
    .await
    .unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn password_checks_wait_their_turn_and_are_refused_past_the_queue(pool: PgPool) {
    member(&pool, "ada@school.org").await;
    let pool_ref = std::sync::Arc::new(BlockingPool::new(1, 0, Duration::from_secs(30)));
    let (release, hold) = std::sync::mpsc::channel::<()>();
    let (started, holding) = tokio::sync::oneshot::channel::<()>();
    let holder = {
        let pool_ref = pool_ref.clone();
        tokio::spawn(async move {
            pool_ref
                .run(move || {
                    let _ = started.send(());
                    hold.recv().ok()
                })
                .await
        })
    };
    // The holder has the only place now.
    holding.await.unwrap();
    let refused = sign_in::with_password(
        &pool,
        &pool_ref,
        "ada@school.org",
        PASSWORD,
        None,
        RateLimits::default(),
    )
    .await;
    assert!(matches!(refused, Err(SignInError::Busy(_))), "{refused:?}");
    release.send(()).unwrap();
    holder.await.unwrap().unwrap();
    sign_in::with_password(
        &pool,
        &pool_ref,
        "ada@school.org",
        PASSWORD,
        None,
        RateLimits::default(),
    )
    .await
    .unwrap();
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn sign_ins_and_failures_are_audited_without_the_password(pool: PgPool) {
    member(&pool, "ada@school.org").await;
    let limits = RateLimits::default();
    let hashing = hashing();
    sign_in::with_password(
        &pool,
        &hashing,
        "ada@school.org",
        PASSWORD,
        Some("192.0.2.1"),
        limits,
    )
    .await
    .unwrap();
    let _ = sign_in::with_password(
        &pool,
        &hashing,
        "ada@school.org",
        "the wrong password",
        None,
        limits,
    )
    .await;

    let entries = crate::audit::list(&pool, Some("auth."), None, 10)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "auth.sign_in_failed",
            "auth.sign_in",
            "auth.email_verified",
            "auth.sign_up"
        ]
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
        let admin = admin_member(&pool, "head@school.org").await;
        let teacher = member(&pool, "teacher@school.org").await;
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
        let admin = admin_member(&pool, "head@school.org").await;
        let teacher = member(&pool, "teacher@school.org").await;
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
        // The target is named as it is now, for the log to read as sentences.
        assert_eq!(
            entries[1].target_name.as_deref(),
            Some(format!("{} ({})", teacher.display_name, teacher.email).as_str())
        );
        assert!(entries[1].actor_name.is_some());
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn custom_roles_can_be_made_granted_renamed_and_deleted(pool: PgPool) {
        let admin = admin_member(&pool, "head@school.org").await;
        let pupil = member(&pool, "1234@school.org").await;
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
        // A role that is gone is named in the log by what its entry kept.
        let entries = crate::audit::list(&pool, Some("admin.role."), None, 1)
            .await
            .unwrap();
        assert_eq!(entries[0].action, "admin.role.deleted");
        assert_eq!(entries[0].target_name.as_deref(), Some("Librarians"));
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn system_roles_keep_their_names_and_the_admin_tool(pool: PgPool) {
        let admin = admin_member(&pool, "head@school.org").await;
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
            member(&pool, &format!("user{n}@school.org")).await;
        }
        member(&pool, "odd_one@other.org").await;
        sign_up(&pool, "waiting@school.org").await.unwrap();
        let (page, total) = admin::list_users(&pool, Some("school"), false, 0, 5)
            .await
            .unwrap();
        assert_eq!((page.len(), total), (5, 8));
        let (rest, _) = admin::list_users(&pool, Some("school"), false, 5, 5)
            .await
            .unwrap();
        assert_eq!(rest.len(), 3);
        // `_` is a literal underscore, not a wildcard.
        let (found, total) = admin::list_users(&pool, Some("d_o"), false, 0, 5)
            .await
            .unwrap();
        assert_eq!((found.len(), total), (1, 1));
        assert_eq!(found[0].roles, ["staff"]);
        let (pending, total) = admin::list_users(&pool, None, true, 0, 5).await.unwrap();
        assert_eq!(total, 1);
        assert_eq!(pending[0].email, "waiting@school.org");
        assert!(!pending[0].is_verified);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn approving_verifies_with_the_rule_and_refusing_deletes(pool: PgPool) {
        let config = AccountsConfig::default();
        let admin = admin_member(&pool, "head@school.org").await;
        let actor = Actor {
            user_id: admin.id,
            ip: Some("192.0.2.9"),
        };
        let pupil = sign_up(&pool, "2024001@school.org").await.unwrap();
        let stranger = sign_up(&pool, "stranger@school.org").await.unwrap();
        admin::approve_user(&pool, &config, actor, pupil.id)
            .await
            .unwrap();
        assert_eq!(
            access::role_names(&pool, pupil.id).await.unwrap(),
            ["student"]
        );
        assert!(
            refused(admin::approve_user(&pool, &config, actor, pupil.id).await)
                .contains("verified already")
        );
        assert!(refused(admin::refuse_user(&pool, actor, pupil.id).await).contains("delete it"));
        admin::refuse_user(&pool, actor, stranger.id).await.unwrap();
        assert!(
            users::find_with_password(&pool, "stranger@school.org")
                .await
                .unwrap()
                .is_none()
        );
        let outside = AccountsConfig {
            allowed_domains: AllowedDomains::parse("other.org"),
            ..AccountsConfig::default()
        };
        let late = sign_up(&pool, "late@school.org").await.unwrap();
        assert!(
            refused(admin::approve_user(&pool, &outside, actor, late.id).await)
                .contains("school.org")
        );
        let actions: Vec<String> = sqlx::query_scalar(
            "select action from audit_log where action like 'admin.user.%' order by created_at",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        assert_eq!(actions, ["admin.user.approved", "admin.user.refused"]);
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn closing_sign_up_is_a_setting_admins_change(pool: PgPool) {
        let admin = admin_member(&pool, "head@school.org").await;
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
    admin_member(&pool, "head@school.org").await;
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
async fn the_first_provider_user_is_no_administrator_and_an_unvouched_address_holds_no_role(
    pool: PgPool,
) {
    let user = provision(&pool, &identity("sub-1", Some("it@school.org"), true))
        .await
        .unwrap();
    assert_eq!(access::role_names(&pool, user.id).await.unwrap(), ["staff"]);
    let unvouched = provision(&pool, &identity("sub-2", Some("who@school.org"), false))
        .await
        .unwrap();
    assert!(
        access::role_names(&pool, unvouched.id)
            .await
            .unwrap()
            .is_empty()
    );
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_provider_links_only_to_an_address_we_verified_and_takes_the_unvouched_password(
    pool: PgPool,
) {
    // A stranger signs up first with the head's address and a password of their own.
    let squatter = sign_up(&pool, "head@school.org").await.unwrap();
    let refused = provision(&pool, &identity("sub-1", Some("head@school.org"), true)).await;
    assert!(
        matches!(refused, Err(ProvisionError::UnverifiedAccount)),
        "{refused:?}"
    );
    let identities: i64 = sqlx::query_scalar("select count(*) from user_identities")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(identities, 0, "nothing linked");
    let audited: String = sqlx::query_scalar(
        "select after->>'detail' from audit_log where action = 'auth.sign_in_failed'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(audited.contains("never verified"), "{audited}");

    // An administrator approves it (the address is now vouched for), then the owner signs in
    // with the provider: linked, and the password set before verification is gone.
    let mut tx = pool.begin().await.unwrap();
    verification::mark_verified(
        &mut tx,
        &AccountsConfig::default(),
        squatter.id,
        None,
        "test",
        None,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let unvouched = provision(&pool, &identity("sub-x", Some("head@school.org"), false)).await;
    assert!(
        matches!(unvouched, Err(ProvisionError::EmailInUse)),
        "{unvouched:?}"
    );
    let linked = provision(&pool, &identity("sub-1", Some("head@school.org"), true))
        .await
        .unwrap();
    assert_eq!(linked.id, squatter.id);
    let (_, password_hash) = users::find_with_password(&pool, "head@school.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        password_hash, None,
        "the password nobody vouched for is removed"
    );
    let by_password = sign_in::with_password(
        &pool,
        &hashing(),
        "head@school.org",
        PASSWORD,
        None,
        RateLimits::default(),
    )
    .await;
    assert!(matches!(by_password, Err(SignInError::InvalidCredentials)));
    // Linked now: the subject alone finds the account.
    let again = provision(&pool, &identity("sub-1", None, false))
        .await
        .unwrap();
    assert_eq!(again.id, squatter.id);
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_password_chosen_through_a_mailed_reset_survives_linking(pool: PgPool) {
    use crate::accounts::recovery;
    // Unverified until the reset: the reset verifies the address and sets the password in
    // one go, and both are the mailbox owner's.
    sign_up(&pool, "ada@school.org").await.unwrap();
    recovery::request_reset(&pool, &with_mail(), "ada@school.org")
        .await
        .unwrap();
    let token = mailed_token(&pool, "ada@school.org", "reset_password").await;
    recovery::reset_password(
        &pool,
        &hashing(),
        &with_mail(),
        &token,
        "the owner's passphrase".into(),
    )
    .await
    .unwrap();
    provision(&pool, &identity("sub-8", Some("ada@school.org"), true))
        .await
        .unwrap();
    let (_, password_hash) = users::find_with_password(&pool, "ada@school.org")
        .await
        .unwrap()
        .unwrap();
    assert!(password_hash.is_some_and(|h| password::verify("the owner's passphrase", &h)));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_password_chosen_after_verification_survives_linking(pool: PgPool) {
    let ada = member(&pool, "ada@school.org").await;
    // Verified first, then the password set anew (a reset): that one is the owner's.
    sqlx::query("update users set email_verified_at = now() - interval '1 hour', password_set_at = now() where id = $1")
        .bind(ada.id)
        .execute(&pool)
        .await
        .unwrap();
    provision(&pool, &identity("sub-7", Some("ada@school.org"), true))
        .await
        .unwrap();
    let (_, password_hash) = users::find_with_password(&pool, "ada@school.org")
        .await
        .unwrap()
        .unwrap();
    assert!(password_hash.is_some_and(|h| password::verify(PASSWORD, &h)));
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

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn every_session_started_counts_as_a_sign_in(pool: PgPool) {
    // An account that signed up and verified its address never typed its password here: the
    // session the verification started is its first sign-in all the same.
    let user = member(&pool, "new@school.org").await;
    let last = || {
        sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
            "select last_sign_in_at from users where id = $1",
        )
        .bind(user.id)
        .fetch_one(&pool)
    };
    assert_eq!(last().await.unwrap(), None);
    sessions::create(&pool, user.id, Origin::default(), SessionPolicy::default())
        .await
        .unwrap();
    assert!(last().await.unwrap().is_some());
}
