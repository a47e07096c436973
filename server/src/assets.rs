//! The static site's asset names and the service worker built from them.
//!
//! cargo-leptos names the JS, WASM and CSS bundles with a content hash (`hash-files`), listed
//! in `hash.txt` beside the server binary. Hashed files never change, so the service worker
//! may serve them from its cache; everything else goes to the network first.

use std::{
    hash::{DefaultHasher, Hash, Hasher},
    path::PathBuf,
};

use axum::{
    extract::State,
    http::header,
    response::{IntoResponse, Response},
};
use leptos::config::LeptosOptions;

/// Files the offline experience needs (the page itself is generated, see [`SiteAssets::offline_page`]).
const STATIC_PRECACHE: &[&str] = &[
    "/offline.html",
    "/manifest.webmanifest",
    "/icons/icon.svg",
    "/icons/icon-192.png",
    "/icons/icon-512.png",
    "/icons/icon-maskable-192.png",
    "/icons/icon-maskable-512.png",
];

const SERVICE_WORKER: &str = include_str!("sw.js");
const OFFLINE_PAGE: &str = include_str!("offline.html");

/// The site's bundles and the cache version derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteAssets {
    /// `/pkg/...` paths of the hashed bundles (empty when files are not hashed).
    pub bundles: Vec<String>,
    /// The app's stylesheet, hashed or not.
    pub stylesheet: String,
    /// Changes whenever a bundle or the server version changes.
    pub version: String,
}

impl SiteAssets {
    /// Reads `hash.txt` as written by cargo-leptos beside the running binary.
    pub fn discover(options: &LeptosOptions) -> Self {
        let hashes = options
            .hash_files
            .then(|| hash_file_path(options))
            .flatten()
            .and_then(|path| std::fs::read_to_string(path).ok());
        Self::from_hash_file(options, hashes.as_deref())
    }

    /// Builds the asset list from the contents of a hash file (`kind: hash` lines).
    pub fn from_hash_file(options: &LeptosOptions, hashes: Option<&str>) -> Self {
        let name = &options.output_name;
        let pkg = &options.site_pkg_dir;
        let mut bundles = Vec::new();
        for line in hashes.unwrap_or_default().lines() {
            if let Some((kind, hash)) = line.split_once(':') {
                let (kind, hash) = (kind.trim(), hash.trim());
                if matches!(kind, "js" | "wasm" | "css") && !hash.is_empty() {
                    bundles.push(format!("/{pkg}/{name}.{hash}.{kind}"));
                }
            }
        }
        let stylesheet = bundles
            .iter()
            .find(|bundle| bundle.ends_with(".css"))
            .cloned()
            .unwrap_or_else(|| format!("/{pkg}/{name}.css"));
        let mut hasher = DefaultHasher::new();
        env!("CARGO_PKG_VERSION").hash(&mut hasher);
        bundles.hash(&mut hasher);
        if bundles.is_empty() {
            // Unhashed (development) bundles: a new cache per server start.
            std::time::SystemTime::now().hash(&mut hasher);
        }
        Self {
            bundles,
            stylesheet,
            version: format!("{:016x}", hasher.finish()),
        }
    }

    /// The page the service worker shows when there is no network, in the app's styles.
    pub fn offline_page(&self) -> String {
        OFFLINE_PAGE.replace("__STYLESHEET__", &self.stylesheet)
    }

    /// The service worker script for these assets.
    pub fn service_worker(&self) -> String {
        let precache: Vec<&str> = STATIC_PRECACHE
            .iter()
            .copied()
            .chain(self.bundles.iter().map(String::as_str))
            .collect();
        let precache = serde_json::to_string(&precache).unwrap_or_else(|_| "[]".to_owned());
        SERVICE_WORKER
            .replace("__VERSION__", &self.version)
            .replace("__PRECACHE__", &precache)
    }
}

fn hash_file_path(options: &LeptosOptions) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(options.hash_file.as_ref()))
}

/// `GET /offline.html`: revalidated like the service worker that caches it.
pub async fn offline_page(State(page): State<std::sync::Arc<str>>) -> Response {
    revalidated("text/html; charset=utf-8", &page)
}

/// `GET /sw.js`: always revalidated, so a new release reaches clients on their next visit.
pub async fn service_worker(State(script): State<std::sync::Arc<str>>) -> Response {
    revalidated("text/javascript; charset=utf-8", &script)
}

/// A generated file that browsers must check again on every use.
fn revalidated(content_type: &'static str, body: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_owned(),
    )
        .into_response()
}

/// The stylesheet for highlighted code in chat replies (`GET /highlight.css`).
pub async fn highlight_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=604800"),
        ],
        app::chat::highlight_css(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> LeptosOptions {
        LeptosOptions::builder().output_name("aistudio").build()
    }

    #[test]
    fn hashed_bundles_are_precached_under_pkg() {
        let assets = SiteAssets::from_hash_file(&options(), Some("js: abc\nwasm: def\ncss: 123\n"));
        assert_eq!(
            assets.bundles,
            vec![
                "/pkg/aistudio.abc.js",
                "/pkg/aistudio.def.wasm",
                "/pkg/aistudio.123.css"
            ]
        );
        let script = assets.service_worker();
        assert!(script.contains("\"/pkg/aistudio.def.wasm\""));
        assert!(script.contains(&assets.version));
        assert!(!script.contains("__"), "every placeholder is filled");
        let offline = assets.offline_page();
        assert!(
            offline.contains("href=\"/pkg/aistudio.123.css\""),
            "{offline}"
        );
        assert!(!offline.contains("__"), "every placeholder is filled");
        // Unhashed (development) bundles: the plain name.
        let plain = SiteAssets::from_hash_file(&options(), None);
        assert!(plain.offline_page().contains("href=\"/pkg/aistudio.css\""));
    }

    #[test]
    fn a_new_build_gets_a_new_cache_version() {
        let old = SiteAssets::from_hash_file(&options(), Some("js: a\nwasm: b\ncss: c"));
        let new = SiteAssets::from_hash_file(&options(), Some("js: a\nwasm: z\ncss: c"));
        let same = SiteAssets::from_hash_file(&options(), Some("js: a\nwasm: b\ncss: c"));
        assert_ne!(old.version, new.version);
        assert_eq!(old.version, same.version);
    }
}
