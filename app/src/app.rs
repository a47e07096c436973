//! The root component, the HTML shell around it, and the route table.

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, Link, Meta, MetaTags, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::{
    admin::{
        AdminAuditPage, AdminJobsPage, AdminMailPage, AdminModelsPage, AdminRolesPage,
        AdminUsersPage,
    },
    auth::{
        ForgotPasswordPage, InvitationPage, ResetPasswordPage, SetupPage, SignInPage, SignUpPage,
        UserResource, VerifyEmailPage, get_current_user,
    },
    chat::ChatPage,
    home::HomePage,
    knowledge::{KnowledgePage, RepositoryPage},
    ui::{ErrorView, Layout, NotFoundPage, theme},
};

/// The pages (with everything under them) that only make sense signed in: a signed-out visit
/// is sent to the sign-in page, which brings the visitor back.
pub const SIGNED_IN_PAGES: &[&str] = &["/chat", "/knowledge", "/admin"];

/// The tools (by slug) that have pages today; a role may be granted the others ahead of time.
pub const TOOLS_WITH_PAGES: &[&str] = &["chat", "knowledge-repositories", "admin"];

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
    mark_hydrated();

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
                        <Route path=path!("/sign-in") view=SignInPage />
                        <Route path=path!("/sign-up") view=SignUpPage />
                        <Route path=path!("/verify-email") view=VerifyEmailPage />
                        <Route path=path!("/forgot-password") view=ForgotPasswordPage />
                        <Route path=path!("/reset-password") view=ResetPasswordPage />
                        <Route path=path!("/invitation") view=InvitationPage />
                        <Route path=path!("/setup") view=SetupPage />
                        <Route path=path!("/chat") view=ChatPage ssr=SsrMode::Async />
                        <Route path=path!("/chat/:id") view=ChatPage ssr=SsrMode::Async />
                        <Route path=path!("/knowledge") view=KnowledgePage ssr=SsrMode::Async />
                        <Route
                            path=path!("/knowledge/:id")
                            view=RepositoryPage
                            ssr=SsrMode::Async
                        />
                        // Rendered whole before sending, so a refusal can set the status.
                        <Route path=path!("/admin/users") view=AdminUsersPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/roles") view=AdminRolesPage ssr=SsrMode::Async />
                        <Route
                            path=path!("/admin/models")
                            view=AdminModelsPage
                            ssr=SsrMode::Async
                        />
                        <Route path=path!("/admin/audit") view=AdminAuditPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/jobs") view=AdminJobsPage ssr=SsrMode::Async />
                        <Route path=path!("/admin/mail") view=AdminMailPage ssr=SsrMode::Async />
                    </Routes>
                </ErrorBoundary>
            </Layout>
        </Router>
    }
}

/// Marks `<body data-hydrated>` once the client has taken over, and registers the service
/// worker. Effects run only in the browser, so the server-rendered HTML never carries the mark.
fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            if let Some(body) = document().body() {
                let _ = body.set_attribute("data-hydrated", "");
            }
            let container = window().navigator().service_worker();
            // A failed registration only costs offline support; the page keeps working.
            let _ = container.register("/sw.js");
        }
    });
}
