//! `/admin/navigation`: the sidebar as administrators shape it. Each item with what it leads
//! to and who sees it; moved among its neighbours by dragging or with its arrow buttons (the
//! keyboard's way), edited, hidden or removed; new items added. The sidebar follows at once.

use leptos::{prelude::*, task::spawn_local};
use leptos_meta::Title;

use super::{
    api::{delete_navigation_item, navigation_editor, reorder_navigation, save_navigation_item},
    sidebar::MenuResource,
    types::{NavEditor, NavItemForm, NavItemRow},
};
use crate::{
    error::AppError,
    ui::{ChoiceBox, IconPicker, MoveButtons, StatusLine, WhenLoaded, confirm, icon_path},
};

/// What the page shares with its parts: reload after a change, and say what happened.
#[derive(Clone, Copy)]
struct Page {
    version: RwSignal<u32>,
    status: WriteSignal<Option<(bool, String)>>,
    /// The item being edited (`Some(None)`: a new one).
    editing: RwSignal<Option<Option<String>>>,
    /// The sidebar's entries, taken when the page is made (a task after a change has no
    /// context to look them up in).
    menu: Option<MenuResource>,
    /// The control to focus once the reloaded list is shown (a move button keeps the focus).
    refocus: RwSignal<Option<String>>,
}

impl Page {
    /// After a change: the editor and the sidebar load again, and `done` is said.
    fn changed(self, done: String) {
        self.version.update(|v| *v += 1);
        if let Some(menu) = self.menu {
            menu.reload();
        }
        self.status.set(Some((true, done)));
    }

    fn failed(self, err: &AppError) {
        self.status.set(Some((false, err.for_person())));
    }
}

#[component]
pub fn AdminNavigationPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let (status, set_status) = signal(None::<(bool, String)>);
    let page = Page {
        version,
        status: set_status,
        editing: RwSignal::new(None),
        menu: use_context::<MenuResource>(),
        refocus: RwSignal::new(None),
    };
    let editor = crate::wire::load(move || version.get(), |_| navigation_editor());
    view! {
        <Title text="Navigation · Administration" />
        <section class="page wide">
            <h1>"Navigation"</h1>
            <p class="muted">
                "The sidebar everyone sees: links, sections (a heading over links) and landing pages (their links as tiles). Drag an item, or use its arrows, to order it among its neighbours. An item for some roles or one tool is shown only to people who hold them."
            </p>
            <StatusLine status />
            <WhenLoaded data=editor then=move |editor| view! { <Editor editor page /> } />
        </section>
    }
}

#[component]
fn Editor(editor: NavEditor, page: Page) -> impl IntoView {
    let NavEditor {
        items,
        icons,
        tools,
        roles,
    } = editor;
    let items = StoredValue::new(items);
    let dragged = RwSignal::new(None::<String>);
    // Made again after each change: the control that made it gets the focus back.
    if let Some(control) = page.refocus.get_untracked() {
        page.refocus.set(None);
        request_animation_frame(move || crate::ui::browser::focus_field(&control));
    }
    let tops = items.with_value(|all| {
        all.iter()
            .filter(|i| i.parent_id.is_none())
            .cloned()
            .collect::<Vec<_>>()
    });
    let holders = tops
        .iter()
        .filter(|i| i.form.kind != "link")
        .map(|i| (i.id.clone(), i.form.label.clone()))
        .collect::<Vec<_>>();
    let edited = move || {
        page.editing.get().map(|id| {
            let form = id.as_ref().and_then(|id| {
                items.with_value(|all| all.iter().find(|i| &i.id == id).map(|i| i.form.clone()))
            });
            (id, form)
        })
    };
    let choices = StoredValue::new((icons, tools, roles, holders));
    let add = move |_| page.editing.set(Some(None));
    view! {
        <ol class="edit-list nav-editor" aria-label="Navigation items">
            {tops
                .into_iter()
                .map(|top| {
                    let children = items
                        .with_value(|all| {
                            all.iter()
                                .filter(|i| i.parent_id.as_deref() == Some(top.id.as_str()))
                                .cloned()
                                .collect::<Vec<_>>()
                        });
                    view! { <Row row=top inner=children items dragged page /> }
                })
                .collect_view()}
        </ol>
        {move || match edited() {
            Some((id, form)) => {
                let (icons, tools, roles, holders) = choices.get_value();
                let form = form
                    .unwrap_or_else(|| NavItemForm {
                        kind: "link".into(),
                        icon: "link".into(),
                        ..NavItemForm::default()
                    });
                view! { <ItemForm id form icons tools roles holders page /> }.into_any()
            }
            None => {
                view! {
                    <button type="button" class="button" on:click=add>
                        "Add an item"
                    </button>
                }
                    .into_any()
            }
        }}
    }
}

/// The ids of `row`'s neighbours (those with the same parent), in order.
fn siblings(items: StoredValue<Vec<NavItemRow>>, parent: Option<&str>) -> Vec<String> {
    items.with_value(|all| {
        all.iter()
            .filter(|i| i.parent_id.as_deref() == parent)
            .map(|i| i.id.clone())
            .collect()
    })
}

/// Sends the neighbours of `id` in a new order: `id` moved by `by` places, or onto `onto`;
/// `focus` is the control to focus again when the list is shown anew.
fn send_order(
    items: StoredValue<Vec<NavItemRow>>,
    page: Page,
    parent: Option<String>,
    id: String,
    to: Place,
    focus: Option<String>,
) {
    let mut order = siblings(items, parent.as_deref());
    let Some(from) = order.iter().position(|i| *i == id) else {
        return;
    };
    let target = match to {
        Place::By(by) => from.checked_add_signed(by).filter(|&t| t < order.len()),
        Place::Onto(onto) => order.iter().position(|i| *i == onto),
    };
    let Some(target) = target.filter(|&t| t != from) else {
        return;
    };
    let moved = order.remove(from);
    order.insert(target, moved);
    page.refocus.set(focus);
    spawn_local(async move {
        match reorder_navigation(parent, order).await {
            Ok(()) => page.changed("The order is saved.".into()),
            Err(err) => page.failed(&err),
        }
    });
}

/// Where an item goes.
enum Place {
    By(isize),
    Onto(String),
}

/// Who sees an item, in words.
fn audience(form: &NavItemForm) -> String {
    let mut parts = Vec::new();
    if form.hidden {
        return "Hidden from everyone".into();
    }
    if !form.roles.is_empty() {
        parts.push(format!("roles: {}", form.roles.join(", ")));
    }
    if !form.tool.is_empty() {
        parts.push(format!("tool: {}", form.tool));
    }
    if parts.is_empty() {
        "Everyone".into()
    } else {
        format!("Only {}", parts.join("; "))
    }
}

#[component]
fn Row(
    row: NavItemRow,
    /// What a section or page holds.
    inner: Vec<NavItemRow>,
    items: StoredValue<Vec<NavItemRow>>,
    dragged: RwSignal<Option<String>>,
    page: Page,
) -> impl IntoView {
    let NavItemRow {
        id,
        parent_id,
        form,
    } = row;
    let label = form.label.clone();
    let kind = match form.kind.as_str() {
        "section" => "Section",
        "page" => "Landing page",
        _ => "Link",
    };
    let leads_to = if form.kind == "link" {
        form.href.clone()
    } else if form.kind == "page" {
        format!("/page/{id}")
    } else {
        String::new()
    };
    let who = audience(&form);
    let hidden = form.hidden;
    let move_by = {
        let (id, parent_id) = (id.clone(), parent_id.clone());
        move |by: isize, focus: String| {
            send_order(
                items,
                page,
                parent_id.clone(),
                id.clone(),
                Place::By(by),
                Some(focus),
            );
        }
    };
    let on_drop = {
        let (id, parent_id) = (id.clone(), parent_id.clone());
        move |ev: leptos::ev::DragEvent| {
            ev.prevent_default();
            if let Some(from) = dragged.get_untracked()
                && siblings(items, parent_id.as_deref()).contains(&from)
            {
                send_order(
                    items,
                    page,
                    parent_id.clone(),
                    from,
                    Place::Onto(id.clone()),
                    None,
                );
            }
            dragged.set(None);
        }
    };
    let toggle_hidden = {
        let (id, form, label) = (id.clone(), form.clone(), label.clone());
        move |_| {
            let mut form = form.clone();
            form.hidden = !form.hidden;
            let done = if form.hidden {
                format!("\u{201c}{label}\u{201d} is hidden.")
            } else {
                format!("\u{201c}{label}\u{201d} is shown.")
            };
            let id = id.clone();
            spawn_local(async move {
                match save_navigation_item(Some(id), form).await {
                    Ok(_) => page.changed(done),
                    Err(err) => page.failed(&err),
                }
            });
        }
    };
    let remove = {
        let (id, label) = (id.clone(), label.clone());
        let holds = !inner.is_empty();
        move |_| {
            let question = if holds {
                format!("Remove \u{201c}{label}\u{201d} and everything in it?")
            } else {
                format!("Remove \u{201c}{label}\u{201d}?")
            };
            if !confirm(&question) {
                return;
            }
            let (id, label) = (id.clone(), label.clone());
            spawn_local(async move {
                match delete_navigation_item(id).await {
                    Ok(()) => {
                        page.editing.set(None);
                        page.changed(format!("\u{201c}{label}\u{201d} is removed."));
                    }
                    Err(err) => page.failed(&err),
                }
            });
        }
    };
    let edit = {
        let id = id.clone();
        move |_| {
            page.editing.set(Some(Some(id.clone())));
            request_animation_frame(|| crate::ui::browser::focus_field("nav-label"));
        }
    };
    let has_children = !inner.is_empty();
    let show_or_hide = if hidden { "Show" } else { "Hide" };
    let (edit_label, toggle_label, remove_label) = (
        format!("Edit {label}"),
        format!("{show_or_hide} {label}"),
        format!("Remove {label}"),
    );
    view! {
        <li
            class="edit-entry nav-entry"
            class:muted=hidden
            draggable="true"
            on:dragstart={
                let id = id.clone();
                move |_| dragged.set(Some(id.clone()))
            }
            on:dragover=move |ev| ev.prevent_default()
            on:drop=on_drop
        >
            <div class="nav-entry-head">
                <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                    <path d=icon_path(&form.icon) />
                </svg>
                <strong>{label.clone()}</strong>
                <span class="kind-tag">{kind}</span>
                <code>{leads_to}</code>
                <span class="muted">{who}</span>
            </div>
            <MoveButtons id=format!("nav-{id}") what=label.clone() step=move_by>
                <button
                    type="button"
                    class="button secondary small"
                    aria-label=edit_label
                    on:click=edit
                >
                    "Edit"
                </button>
                <button
                    type="button"
                    class="button secondary small"
                    aria-label=toggle_label
                    on:click=toggle_hidden
                >
                    {show_or_hide}
                </button>
                <button
                    type="button"
                    class="button danger small"
                    aria-label=remove_label
                    on:click=remove
                >
                    "Remove"
                </button>
            </MoveButtons>
            {has_children
                .then(|| {
                    view! {
                        <ol class="edit-list" aria-label=format!("In {label}")>
                            {inner
                                .into_iter()
                                .map(|child| {
                                    view! { <Row row=child inner=Vec::new() items dragged page /> }
                                        .into_any()
                                })
                                .collect_view()}
                        </ol>
                    }
                })}
        </li>
    }
}

#[component]
fn ItemForm(
    /// The item edited; `None` for a new one.
    id: Option<String>,
    form: NavItemForm,
    icons: Vec<String>,
    tools: Vec<super::types::Named>,
    roles: Vec<String>,
    /// The top-level sections and pages an item can go in: (id, label).
    holders: Vec<(String, String)>,
    page: Page,
) -> impl IntoView {
    let heading = match &id {
        Some(_) => format!("Edit \u{201c}{}\u{201d}", form.label),
        None => "Add an item".to_owned(),
    };
    let kind = RwSignal::new(form.kind);
    let label = RwSignal::new(form.label);
    let icon = RwSignal::new(form.icon);
    let href = RwSignal::new(form.href);
    let description = RwSignal::new(form.description);
    let parent = RwSignal::new(form.parent_id);
    let tool = RwSignal::new(form.tool);
    let chosen_roles = RwSignal::new(form.roles);
    let hidden = RwSignal::new(form.hidden);
    let busy = RwSignal::new(false);
    let is_link = move || kind.get() == "link";
    // Anything but itself can take it.
    let own_id = id.clone().unwrap_or_default();
    let places = holders
        .into_iter()
        .filter(|(holder, _)| *holder != own_id)
        .map(|(holder, name)| view! { <option value=holder>{format!("In {name}")}</option> })
        .collect_view();
    let id = StoredValue::new(id);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let form = NavItemForm {
            parent_id: parent.get_untracked(),
            kind: kind.get_untracked(),
            label: label.get_untracked(),
            icon: icon.get_untracked(),
            href: href.get_untracked(),
            description: description.get_untracked(),
            tool: tool.get_untracked(),
            roles: chosen_roles.get_untracked(),
            hidden: hidden.get_untracked(),
        };
        let name = form.label.trim().to_owned();
        let id = id.get_value();
        spawn_local(async move {
            let saved = save_navigation_item(id, form).await;
            busy.set(false);
            match saved {
                Ok(_) => {
                    page.editing.set(None);
                    page.changed(format!("\u{201c}{name}\u{201d} is saved."));
                }
                Err(err) => page.failed(&err),
            }
        });
    };
    view! {
        <form class="form nav-form" on:submit=submit aria-labelledby="nav-form-title">
            <h2 id="nav-form-title">{heading}</h2>
            <label for="nav-kind">"Kind"</label>
            <select id="nav-kind" bind:value=kind>
                <option value="link">"Link"</option>
                <option value="section">"Section: a heading over links"</option>
                <option value="page">"Landing page: its links as tiles"</option>
            </select>
            <label for="nav-label">"Label"</label>
            <input id="nav-label" required maxlength="60" bind:value=label />
            <Show when=is_link>
                <label for="nav-href">"Address"</label>
                <input
                    id="nav-href"
                    required
                    maxlength="500"
                    aria-describedby="nav-href-help"
                    bind:value=href
                />
                <p class="hint" id="nav-href-help">
                    "A page of this site such as /chat or /assistants/…, or an https:// address."
                </p>
            </Show>
            <label for="nav-description">"Description (shown on a landing page's tile)"</label>
            <textarea
                id="nav-description"
                maxlength="500"
                rows="2"
                bind:value=description
            ></textarea>
            <IconPicker icons icon />
            <label for="nav-parent">"Where"</label>
            <select id="nav-parent" bind:value=parent>
                <option value="">"At the top"</option>
                {places}
            </select>
            <label for="nav-tool">"Only for people with the tool"</label>
            <select id="nav-tool" bind:value=tool>
                <option value="">"Any (no tool needed)"</option>
                {tools
                    .into_iter()
                    .map(|t| view! { <option value=t.value>{t.label}</option> })
                    .collect_view()}
            </select>
            <fieldset class="choices">
                <legend>"Only for these roles (none ticked: everyone)"</legend>
                {roles
                    .into_iter()
                    .map(|role| {
                        view! { <ChoiceBox value=role.clone() label=role chosen=chosen_roles /> }
                    })
                    .collect_view()}
            </fieldset>
            <label class="check">
                <input type="checkbox" bind:checked=hidden />
                "Hidden (kept here, shown to nobody)"
            </label>
            <div class="form-actions">
                <button type="submit" class="button" disabled=busy>
                    "Save"
                </button>
                <button
                    type="button"
                    class="button secondary"
                    on:click=move |_| page.editing.set(None)
                >
                    "Cancel"
                </button>
            </div>
        </form>
    }
}
