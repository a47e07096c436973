//! The root component, the HTML shell around it, and the route table.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::{
    Lazy, LazyRoute, SsrMode,
    components::{Route, Router, Routes},
    lazy_route, path,
};

use crate::{
    admin::{
        AdminAuditPage, AdminJobsPage, AdminMailPage, AdminModelsPage, AdminRolesPage,
        AdminUsersPage,
    },
    assistants::{
        AdminAssistantsPage, AssistantBuilderPage, AssistantsPage, NewAssistantPage, RunFormPage,
        RunPage,
    },
    auth::{
        ForgotPasswordPage, InvitationPage, ResetPasswordPage, SetupPage, SignInPage, SignUpPage,
        UserResource, VerifyEmailPage, get_current_user,
    },
    chat::ChatPage,
    home::HomePage,
    knowledge::{KnowledgePage, RepositoryPage},
    navigation::{AdminNavigationPage, LandingPage},
    notifications::NotificationsPage,
    schedules::{ScheduleEditorPage, SchedulesPage},
    ui::{ErrorView, Layout, NotFoundPage, theme},
};

/// The pages (with everything under them) that only make sense signed in: a signed-out visit
/// is sent to the sign-in page, which brings the visitor back.
pub const SIGNED_IN_PAGES: &[&str] = &[
    "/chat",
    "/knowledge",
    "/assistants",
    "/schedules",
    "/notifications",
    "/page",
    "/admin",
];

/// The tools (by slug) that have pages today; a role may be granted the others ahead of time.
pub const TOOLS_WITH_PAGES: &[&str] = &[
    "chat",
    "knowledge-repositories",
    "assistant-architect",
    "admin",
];

/// The document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta
                    name="viewport"
                    content="width=device-width, initial-scale=1, viewport-fit=cover"
                />
                <meta name="theme-color" content="#f7f7fb" media="(prefers-color-scheme: light)" />
                <meta name="theme-color" content="#14141b" media="(prefers-color-scheme: dark)" />
                <AutoReload options=options.clone() />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The application: global contexts, head tags, layout and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    theme::provide_theme();
    let user: UserResource = crate::wire::load(|| (), |()| get_current_user());
    provide_context(user);

    view! {
        <theme::ThemeAttribute />
        <Title formatter=|page: String| {
            if page.is_empty() { "AI Studio".to_owned() } else { format!("{page} · AI Studio") }
        } />
        <Meta
            name="description"
            content="AI Studio: chat, assistants and knowledge for your organisation."
        />
        <Link rel="manifest" href="/manifest.webmanifest" />
        <Link rel="icon" href="/icons/icon.svg" type_="image/svg+xml" />
        <Link rel="apple-touch-icon" href="/icons/icon-192.png" />
        <Router>
            <Layout>
                <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>
                    <Routes fallback=|| view! { <NotFoundPage /> }>
                        <Route path=path!("/") view=HomePage />
                        <Route path=path!("/sign-in") view=SignIn::route() />
                        <Route path=path!("/sign-up") view=SignUp::route() />
                        <Route path=path!("/verify-email") view=VerifyEmail::route() />
                        <Route path=path!("/forgot-password") view=ForgotPassword::route() />
                        <Route path=path!("/reset-password") view=ResetPassword::route() />
                        <Route path=path!("/invitation") view=Invitation::route() />
                        <Route path=path!("/setup") view=Setup::route() />
                        <Route path=path!("/chat") view=ChatPage ssr=SsrMode::Async />
                        <Route path=path!("/chat/:id") view=ChatPage ssr=SsrMode::Async />
                        <Route
                            path=path!("/knowledge")
                            view=Knowledge::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/knowledge/:id")
                            view=Repository::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/assistants")
                            view=Assistants::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/assistants/new")
                            view=NewAssistant::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/assistants/runs/:id")
                            view=AssistantRun::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/assistants/:id/edit")
                            view=AssistantBuilder::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/assistants/:id")
                            view=AssistantForm::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/schedules")
                            view=Schedules::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/schedules/new")
                            view=ScheduleEditor::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/schedules/:id/edit")
                            view=ScheduleEditor::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/notifications")
                            view=Notifications::route()
                            ssr=SsrMode::Async
                        />
                        <Route path=path!("/page/:id") view=Landing::route() ssr=SsrMode::Async />
                        // Rendered whole before sending, so a refusal can set the status.
                        <Route
                            path=path!("/admin/users")
                            view=AdminUsers::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/admin/roles")
                            view=AdminRoles::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/admin/models")
                            view=AdminModels::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/admin/audit")
                            view=AdminAudit::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/admin/jobs")
                            view=AdminJobs::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/admin/assistants")
                            view=AdminAssistants::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/admin/navigation")
                            view=AdminNavigation::route()
                            ssr=SsrMode::Async
                        />
                        <Route
                            path=path!("/admin/mail")
                            view=AdminMail::route()
                            ssr=SsrMode::Async
                        />
                    </Routes>
                </ErrorBoundary>
            </Layout>
        </Router>
    }
}

/// A route whose page's code the browser loads the first time it is visited (a separate WASM
/// module when the site is built with `--split`), so the pages people open most (home, chat) do
/// not carry the code of the account, knowledge and administration pages.
macro_rules! lazy_page {
    ($($route:ident => $page:path),* $(,)?) => {$(
        struct $route;

        impl $route {
            fn route() -> Lazy<Self> {
                Lazy::new()
            }
        }

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_page! {
    SignIn => SignInPage,
    SignUp => SignUpPage,
    VerifyEmail => VerifyEmailPage,
    ForgotPassword => ForgotPasswordPage,
    ResetPassword => ResetPasswordPage,
    Invitation => InvitationPage,
    Setup => SetupPage,
    Knowledge => KnowledgePage,
    Repository => RepositoryPage,
    AdminUsers => AdminUsersPage,
    AdminRoles => AdminRolesPage,
    AdminModels => AdminModelsPage,
    AdminAudit => AdminAuditPage,
    AdminJobs => AdminJobsPage,
    AdminMail => AdminMailPage,
    Assistants => AssistantsPage,
    NewAssistant => NewAssistantPage,
    AssistantBuilder => AssistantBuilderPage,
    AssistantForm => RunFormPage,
    AssistantRun => RunPage,
    AdminAssistants => AdminAssistantsPage,
    Schedules => SchedulesPage,
    // One module for both of the editor's addresses.
    ScheduleEditor => ScheduleEditorPage,
    Notifications => NotificationsPage,
    Landing => LandingPage,
    AdminNavigation => AdminNavigationPage,
}

/// Marks `<body data-hydrated>` once the client has attached to the whole page (a lazily loaded
/// page included), and registers the service worker. Called by the browser entry point after
/// hydration, so the server-rendered HTML never carries the mark.
#[cfg(feature = "hydrate")]
pub fn hydrated() {
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
    let container = window().navigator().service_worker();
    // A failed registration only costs offline support; the page keeps working.
    let _ = container.register("/sw.js");
}
