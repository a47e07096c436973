//! The landing page after sign-in: what AI Studio offers and where to start.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home" />
        <section class="page">
            <h1>"Welcome to AI Studio"</h1>
            <p class="lead">
                "Your organisation's AI workspace: chat with the models your administrators allow, "
                "compare them side by side, build assistants, and search your own knowledge."
            </p>
            <div class="cards">
                <article class="card">
                    <h2>"Private by design"</h2>
                    <p>
                        "Runs on your own servers with your own database. Nothing leaves them unless you configure a provider."
                    </p>
                </article>
                <article class="card">
                    <h2>"Works anywhere"</h2>
                    <p>
                        "Use it from a desktop or phone browser, or install it as an app from your browser's menu."
                    </p>
                </article>
                <article class="card">
                    <h2>"Your look"</h2>
                    <p>
                        "Light, dark, or following your system: pick a theme in the menu and it is remembered on this device."
                    </p>
                </article>
            </div>
        </section>
    }
}
