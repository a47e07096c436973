//! The navigation: who sees which item, what a save refuses, ordering, and the seed rows.

use sqlx::PgPool;
use uuid::Uuid;

use super::{
    Draft, Entry, Kind, check_href,
    store::{self, NavigationError},
};
use crate::{accounts::admin::Actor, test_support::person};

fn actor(user_id: Uuid) -> Actor<'static> {
    Actor { user_id, ip: None }
}

fn link(label: &str, href: &str, parent_id: Option<Uuid>) -> Draft {
    Draft {
        parent_id,
        kind: Kind::Link,
        label: label.into(),
        icon: "link".into(),
        href: Some(href.into()),
        description: String::new(),
        tool: None,
        roles: Vec::new(),
        hidden: false,
    }
}

fn holder(kind: Kind, label: &str) -> Draft {
    Draft {
        kind,
        href: None,
        icon: "folder".into(),
        ..link(label, "/", None)
    }
}

/// The labels as a person sees them: "Section > Link" for what a section or page holds.
fn labels(menu: &[Entry]) -> Vec<String> {
    menu.iter()
        .flat_map(|entry| {
            std::iter::once(entry.label.clone()).chain(
                entry
                    .children
                    .iter()
                    .map(|child| format!("{} > {}", entry.label, child.label)),
            )
        })
        .collect()
}

fn invalid<T: std::fmt::Debug>(result: Result<T, NavigationError>) -> Vec<String> {
    match result {
        Err(NavigationError::Invalid(problems)) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn the_seed_rows_are_the_links_the_sidebar_had_each_shown_to_whom_it_was(pool: PgPool) {
    let staff = person(&pool, "staff@school.org", "staff").await;
    let student = person(&pool, "student@school.org", "student").await;
    let everyone = ["Home", "Chat", "Assistants", "Schedules"];
    assert_eq!(
        labels(&store::menu_for(&pool, None).await.unwrap()),
        everyone
    );
    assert_eq!(
        labels(&store::menu_for(&pool, Some(student)).await.unwrap()),
        everyone
    );
    // Knowledge needs its tool, which staff hold.
    let seen = store::menu_for(&pool, Some(staff)).await.unwrap();
    assert_eq!(
        labels(&seen),
        ["Home", "Chat", "Assistants", "Schedules", "Knowledge"]
    );
    assert_eq!(seen[4].href.as_deref(), Some("/knowledge"));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn sections_and_pages_show_what_each_person_may_see_and_hidden_items_nobody(pool: PgPool) {
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let staff = person(&pool, "staff@school.org", "staff").await;
    let student = person(&pool, "student@school.org", "student").await;
    let by = actor(admin);

    let section = store::create(&pool, by, &holder(Kind::Section, "Teaching"))
        .await
        .unwrap();
    let mut for_staff = link("Rubrics", "/assistants", Some(section));
    for_staff.roles = vec!["staff".into()];
    store::create(&pool, by, &for_staff).await.unwrap();
    let mut needs_tool = link("Compare", "https://example.org/compare", Some(section));
    needs_tool.tool = Some("model-compare".into());
    store::create(&pool, by, &needs_tool).await.unwrap();
    let page = store::create(&pool, by, &holder(Kind::Page, "Catalog"))
        .await
        .unwrap();
    let mut hidden = link("Soon", "/soon", Some(page));
    hidden.hidden = true;
    let soon = store::create(&pool, by, &hidden).await.unwrap();

    let seen = |user: Option<Uuid>| {
        let pool = pool.clone();
        async move { labels(&store::menu_for(&pool, user).await.unwrap())[4..].to_vec() }
    };
    // Staff hold the role and (by default) every tool but admin.
    assert_eq!(
        seen(Some(staff)).await,
        [
            "Knowledge",
            "Teaching",
            "Teaching > Rubrics",
            "Teaching > Compare",
            "Catalog"
        ]
    );
    // Students hold model-compare but not the staff role.
    assert_eq!(
        seen(Some(student)).await,
        ["Teaching", "Teaching > Compare", "Catalog"]
    );
    // Signed out: the section has nothing left to show, so it goes; the empty page stays.
    assert_eq!(seen(None).await, ["Catalog"]);

    // A page is reached at its own address, with its links; hidden ones left out.
    let menu = store::menu_for(&pool, Some(staff)).await.unwrap();
    let catalog = menu.iter().find(|e| e.id == page).unwrap();
    assert_eq!(catalog.href, Some(format!("/page/{page}")));
    assert!(catalog.children.is_empty());
    let mut shown = hidden.clone();
    shown.hidden = false;
    store::update(&pool, by, soon, &shown).await.unwrap();
    let opened = store::page(&pool, Some(student), page)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(labels(&opened.children), ["Soon"]);
    // A section is not a page, and a hidden page is not there.
    assert_eq!(
        store::page(&pool, Some(staff), section).await.unwrap(),
        None
    );
    let mut gone = holder(Kind::Page, "Catalog");
    gone.hidden = true;
    store::update(&pool, by, page, &gone).await.unwrap();
    assert_eq!(store::page(&pool, Some(staff), page).await.unwrap(), None);
    // A renamed role keeps its items; a role that no longer exists matches nobody.
    let teachers = crate::accounts::admin::create_role(&pool, by, "Teachers", "")
        .await
        .unwrap();
    let mut for_teachers = link("Planning", "/planning", None);
    for_teachers.roles = vec!["Teachers".into()];
    store::create(&pool, by, &for_teachers).await.unwrap();
    crate::accounts::admin::rename_role(&pool, by, teachers, "Tutors")
        .await
        .unwrap();
    let planning = store::all(&pool).await.unwrap();
    let planning = planning.iter().find(|i| i.label == "Planning").unwrap();
    assert_eq!(planning.roles, ["Tutors"]);
    let mut renamed = link("Old", "/old", None);
    renamed.roles = vec!["staff".into()];
    let old = store::create(&pool, by, &renamed).await.unwrap();
    assert!(seen(Some(staff)).await.contains(&"Old".to_owned()));
    sqlx::query("update navigation_items set roles = '{teachers}' where id = $1")
        .bind(old)
        .execute(&pool)
        .await
        .unwrap();
    assert!(!seen(Some(staff)).await.contains(&"Old".to_owned()));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn a_save_names_every_problem_and_keeps_two_levels(pool: PgPool) {
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let by = actor(admin);
    let mut wrong = link(" ", "javascript:alert(1)", None);
    wrong.icon = "skull".into();
    wrong.tool = Some("teleport".into());
    wrong.roles = vec!["wizard".into()];
    assert_eq!(
        invalid(store::create(&pool, by, &wrong).await),
        [
            "Give the item a label.",
            "\u{201c}skull\u{201d} is not one of the icons.",
            "\u{201c}javascript:alert(1)\u{201d} is not an address a link can have: use a path of this site such as /chat, or an https:// address.",
            "\u{201c}teleport\u{201d} is not a tool.",
            "\u{201c}wizard\u{201d} is not a role.",
        ]
    );

    let section = store::create(&pool, by, &holder(Kind::Section, "Teaching"))
        .await
        .unwrap();
    let inner = store::create(&pool, by, &holder(Kind::Page, "Inner"))
        .await
        .unwrap();
    let mut nested = holder(Kind::Page, "Inner");
    nested.parent_id = Some(section);
    store::update(&pool, by, inner, &nested).await.unwrap();
    // Nothing goes three levels deep, into a link, or into itself.
    assert_eq!(
        invalid(store::create(&pool, by, &link("Deep", "/deep", Some(inner))).await),
        [
            "\u{201c}Inner\u{201d} is itself inside another; put the item at the top or in a top-level section or page."
        ]
    );
    let top = store::create(&pool, by, &link("Top", "/top", None))
        .await
        .unwrap();
    assert_eq!(
        invalid(store::create(&pool, by, &link("Under", "/u", Some(top))).await),
        ["\u{201c}Top\u{201d} is a link; it cannot hold items."]
    );
    let mut itself = holder(Kind::Section, "Teaching");
    itself.parent_id = Some(section);
    let problems = invalid(store::update(&pool, by, section, &itself).await);
    assert!(
        problems.contains(&"An item cannot hold itself.".to_owned()),
        "{problems:?}"
    );
    // What holds items stays a holder, at the top.
    let mut as_link = link("Teaching", "/t", None);
    as_link.kind = Kind::Link;
    assert_eq!(
        invalid(store::update(&pool, by, section, &as_link).await),
        ["\u{201c}Teaching\u{201d} holds items: move or remove them before making it a link."]
    );
    assert!(matches!(
        store::update(&pool, by, Uuid::new_v4(), &link("X", "/x", None)).await,
        Err(NavigationError::NotFound)
    ));

    // Removing a section removes what it holds; each change is in the audit log.
    store::delete(&pool, by, section).await.unwrap();
    assert!(
        !store::all(&pool)
            .await
            .unwrap()
            .iter()
            .any(|i| i.id == inner)
    );
    let actions: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where target_type = 'navigation_item' order by created_at, action",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.as_str() == "admin.navigation.created")
            .count(),
        3
    );
    assert!(actions.contains(&"admin.navigation.changed".to_owned()));
    assert!(actions.contains(&"admin.navigation.deleted".to_owned()));
}

#[sqlx::test(migrator = "crate::MIGRATOR")]
async fn reordering_takes_each_sibling_once_and_refuses_a_stale_list(pool: PgPool) {
    let admin = person(&pool, "admin@school.org", "administrator").await;
    let by = actor(admin);
    let top: Vec<Uuid> = store::all(&pool)
        .await
        .unwrap()
        .iter()
        .map(|i| i.id)
        .collect();
    let mut reversed = top.clone();
    reversed.reverse();
    store::reorder(&pool, by, None, &reversed).await.unwrap();
    assert_eq!(
        labels(&store::menu_for(&pool, None).await.unwrap()),
        ["Schedules", "Assistants", "Chat", "Home"]
    );
    // A list missing one, or naming another's child, is refused and changes nothing.
    assert_eq!(
        invalid(store::reorder(&pool, by, None, &top[1..]).await),
        ["The navigation changed meanwhile; reload the page and order it again."]
    );
    let added = store::create(&pool, by, &link("New", "/new", None))
        .await
        .unwrap();
    invalid(store::reorder(&pool, by, None, &reversed).await);
    let order = store::all(&pool).await.unwrap();
    assert_eq!(order.last().map(|i| i.id), Some(added));
}

#[test]
fn a_link_goes_to_this_site_or_the_web_and_nowhere_else() {
    for good in [
        "/",
        "/chat",
        "/page/x?y=1#z",
        "https://example.org/a",
        "http://intranet.school/",
    ] {
        assert_eq!(check_href(good).as_deref(), Ok(good), "{good}");
    }
    assert_eq!(check_href("  /chat ").as_deref(), Ok("/chat"));
    for bad in [
        "",
        "chat",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "data:text/html,x",
        "/a b",
        "mailto:x@y.z",
    ] {
        assert!(check_href(bad).is_err(), "{bad}");
    }
    assert!(check_href(&format!("/{}", "a".repeat(500))).is_err());
}
