//! The prompt graph, read-only: one column per level (prompts in a column run together), a
//! line from each prompt to those that use its output; a list says the same in words.

use leptos::prelude::*;

use super::types::GraphNode;

const WIDTH: usize = 180;
const HEIGHT: usize = 44;
const GAP_X: usize = 60;
const GAP_Y: usize = 16;

/// Where each node's box starts.
fn places(nodes: &[GraphNode]) -> Vec<(usize, usize)> {
    let mut rows = Vec::<usize>::new();
    nodes
        .iter()
        .map(|node| {
            if rows.len() <= node.level {
                rows.resize(node.level + 1, 0);
            }
            let row = rows[node.level];
            rows[node.level] += 1;
            (node.level * (WIDTH + GAP_X), row * (HEIGHT + GAP_Y))
        })
        .collect()
}

/// A name cut to fit its box.
fn short(name: &str) -> String {
    if name.chars().count() > 22 {
        name.chars().take(21).collect::<String>() + "\u{2026}"
    } else {
        name.to_owned()
    }
}

#[component]
pub fn PromptGraph(nodes: Vec<GraphNode>) -> impl IntoView {
    if nodes.is_empty() {
        return view! { <p class="hint">"The graph shows once the prompts can run."</p> }
            .into_any();
    }
    let at = places(&nodes);
    let width = at.iter().map(|(x, _)| x + WIDTH).max().unwrap_or(WIDTH);
    let height = at.iter().map(|(_, y)| y + HEIGHT).max().unwrap_or(HEIGHT);
    let levels = nodes.iter().map(|n| n.level).max().unwrap_or(0) + 1;
    let lines = nodes
        .iter()
        .enumerate()
        .flat_map(|(to, node)| node.waits_for.iter().map(move |&from| (from, to)))
        .map(|(from, to)| {
            let (x1, y1) = (at[from].0 + WIDTH, at[from].1 + HEIGHT / 2);
            let (x2, y2) = (at[to].0, at[to].1 + HEIGHT / 2);
            view! {
                <line
                    x1=x1.to_string()
                    y1=y1.to_string()
                    x2=x2.to_string()
                    y2=y2.to_string()
                    class="graph-edge"
                />
            }
        })
        .collect_view();
    let boxes = nodes
        .iter()
        .zip(&at)
        .map(|(node, (x, y))| {
            view! {
                <g class="graph-node">
                    <rect
                        x=x.to_string()
                        y=y.to_string()
                        width=WIDTH.to_string()
                        height=HEIGHT.to_string()
                        rx="8"
                    />
                    <text x=(x + 12).to_string() y=(y + HEIGHT / 2 + 5).to_string()>
                        {short(&node.name)}
                    </text>
                </g>
            }
        })
        .collect_view();
    let words = (0..levels)
        .map(|level| {
            let names: Vec<String> = nodes
                .iter()
                .filter(|n| n.level == level)
                .map(|n| n.name.clone())
                .collect();
            let waits: Vec<String> = nodes
                .iter()
                .filter(|n| n.level == level && !n.waits_for.is_empty())
                .map(|n| {
                    let on: Vec<&str> = n
                        .waits_for
                        .iter()
                        .map(|&w| nodes[w].name.as_str())
                        .collect();
                    format!("{} waits for {}", n.name, on.join(" and "))
                })
                .collect();
            let text = if waits.is_empty() {
                format!("Step {}: {}.", level + 1, names.join(", "))
            } else {
                format!(
                    "Step {}: {} ({}).",
                    level + 1,
                    names.join(", "),
                    waits.join("; ")
                )
            };
            view! { <li>{text}</li> }
        })
        .collect_view();
    view! {
        <figure class="graph">
            <svg
                viewBox=format!("-2 -2 {} {}", width + 4, height + 4)
                width=(width + 4).to_string()
                role="img"
                aria-labelledby="graph-caption"
            >
                {lines}
                {boxes}
            </svg>
            <figcaption id="graph-caption">
                "Prompts in the same column run together; a line leads to a prompt that uses the output."
            </figcaption>
            <ol class="graph-steps">{words}</ol>
        </figure>
    }
    .into_any()
}
