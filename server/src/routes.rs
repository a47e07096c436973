//! The router: system endpoints, the service worker, server functions, pages and static files.

use std::sync::Arc;

use app::{App, shell, ssr::AppState};
use axum::{
    Router,
    handler::Handler,
    routing::{get, post},
};
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{LeptosRoutes, generate_route_list};
use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tower_http::services::ServeDir;

use crate::{
    assets::{self, SiteAssets},
    csp,
    edge::{self, Edge, SiteConfig},
    health::{self, HealthEndpoint},
    http_layers,
    metrics::{self, MetricsEndpoint},
    sessions, text_input,
};

/// The operator's side of the router: the site's addresses and how metrics are reached.
#[derive(Clone)]
pub struct Operations {
    pub site: SiteConfig,
    pub metrics: PrometheusHandle,
    /// `METRICS_TOKEN`: required by `/metrics` and for the details of `/health`.
    pub token: Option<SecretString>,
    /// `/metrics` has a listener of its own (`METRICS_ADDR`) and is not served here.
    pub metrics_elsewhere: bool,
}

impl Operations {
    /// Whether the site's router serves `/metrics`: with a token, or open only when nobody
    /// else can reach the site (loopback listener and addresses).
    fn serves_metrics(&self) -> bool {
        !self.metrics_elsewhere && (self.token.is_some() || self.site.is_local())
    }
}

/// `/metrics` alone, for its own listener (`METRICS_ADDR`): what reaches that address is
/// trusted as the operator, so no token is asked.
pub fn metrics_router(state: AppState, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(metrics::render))
        .with_state(MetricsEndpoint {
            handle: metrics,
            token: None,
            app: state,
            reported: Arc::default(),
        })
}

/// Builds the whole application router over `state`.
pub fn router(state: AppState, ops: &Operations) -> Router {
    let options = state.leptos_options.clone();
    let upload_origin = state.knowledge.upload_origin.clone();
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            // The nonce the CSP middleware put in the page's header.
            if let Some(nonce) = use_context::<http::request::Parts>()
                .and_then(|parts| parts.extensions.get::<csp::PageNonce>().cloned())
            {
                provide_context(leptos::nonce::Nonce::from_value(nonce.0));
            }
        }
    };

    let assets = SiteAssets::discover(&options);
    let service_worker: Arc<str> = assets.service_worker().into();
    let offline_page: Arc<str> = assets.offline_page().into();
    let mut system = Router::new()
        .route("/sw.js", get(assets::service_worker))
        .with_state(service_worker)
        .route("/offline.html", get(assets::offline_page))
        .with_state(offline_page)
        .route("/healthz", get(health::healthz))
        .merge(
            Router::new()
                .route("/health", get(health::health))
                .with_state(HealthEndpoint {
                    app: state.clone(),
                    token: ops.token.clone(),
                }),
        );
    if ops.serves_metrics() {
        system = system.merge(
            Router::new()
                .route("/metrics", get(metrics::render))
                .with_state(MetricsEndpoint {
                    handle: ops.metrics.clone(),
                    token: ops.token.clone(),
                    app: state.clone(),
                    reported: Arc::default(),
                }),
        );
    }

    let app = Router::new()
        .route("/highlight.css", get(assets::highlight_css))
        .route("/auth/oidc/{provider}/start", get(app::auth::oidc::start))
        .route(
            "/api/chat/replies/{id}/events",
            get(app::chat::stream::reply_events),
        )
        .route(
            "/api/chat/images",
            // The route reads at most 20 MB itself, once it knows who is asking.
            post(app::chat::images::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/chat/images/{id}", get(app::chat::images::serve))
        // The composer's form, sent before the page's script has started.
        .route("/chat/send", post(app::chat::send_form::send))
        .route(
            "/api/chat/documents",
            // The route reads up to the configured upload limit itself.
            post(app::chat::documents::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/knowledge/repositories/{id}/files",
            // The route streams to storage and enforces the configured limit itself.
            post(app::knowledge::routes::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/knowledge/repositories/{id}/items/{item}/original",
            get(app::knowledge::routes::download),
        )
        .route(
            "/api/knowledge/repositories/{id}/events",
            get(app::knowledge::routes::events),
        )
        .route(
            "/api/assistants/runs/{id}/events",
            get(app::assistants::events::run_events),
        )
        .route(
            "/api/assistants/runs/{id}/markdown",
            get(app::assistants::routes::run_markdown),
        )
        .route(
            "/api/assistants/files",
            // The route reads up to the configured upload limit itself.
            post(app::assistants::routes::file_text)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/admin/assistants/export",
            get(app::assistants::routes::export),
        )
        .route(
            "/api/admin/assistants/import",
            // The route reads at most 1 MB itself, once it knows who is asking.
            post(app::assistants::routes::import).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route(
            "/api/notifications/events",
            get(app::notifications::events::unread_events),
        )
        .route(
            "/auth/oidc/{provider}/callback",
            get(app::auth::oidc::callback),
        )
        .leptos_routes_with_context(&state, generate_route_list(App), context.clone(), {
            let options = options.clone();
            move || shell(options.clone())
        })
        // Files under the site root (bundles precompressed at build time, `public/`) are
        // served as they are, and anything else gets the not-found page. Leptos's own file
        // handler is not used for files: it copies the response options of whichever page
        // render last ran on the thread onto the file (a redirect, a status), so a bundle
        // could arrive as another visitor's 302.
        .fallback_service(
            ServeDir::new(&*options.site_root)
                .precompressed_br()
                .precompressed_gzip()
                .fallback(
                    leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell)
                        .with_state(state.clone()),
                ),
        )
        // Inside the session layer, so they know who is signed in.
        .layer(axum::middleware::from_fn(sessions::sign_in_first))
        .layer(axum::middleware::from_fn_with_state(
            text_input::ServerFunctions::registered(),
            text_input::check,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            sessions::resolve,
        ))
        .with_state(state);

    let policy = csp::PagePolicy {
        // cargo-leptos's live reload talks to its own websocket, and only under `watch`.
        reload_port: std::env::var_os("LEPTOS_WATCH").map(|_| options.reload_port),
        upload_origin: upload_origin.map(std::sync::Arc::from),
    };
    let app = app.layer(axum::middleware::from_fn_with_state(
        policy,
        csp::page_policy,
    ));
    let edge = Edge::new(&ops.site, ops.token.is_some());
    http_layers::apply(
        app.merge(system)
            .layer(axum::middleware::from_fn_with_state(edge, edge::guard)),
    )
}
