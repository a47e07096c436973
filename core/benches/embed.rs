//! Local embedding throughput: all-MiniLM-L6-v2 on this machine's CPU, over chunks cut the
//! way ingestion cuts them (up to 256 model tokens). Prints chunks and tokens per second for
//! a few batch sizes, with ONNX Runtime (when `ONNXRUNTIME_LIB` names it) and with candle.
//! `make bench` runs it; the model comes from `EMBEDDING_MODEL_DIR`.

#![allow(clippy::print_stdout)]

use std::time::Instant;

use studio_core::knowledge::{
    chunk::{ChunkOptions, chunk},
    embed::{LocalEmbedder, MINILM_MAX_TOKENS},
    extract::extract,
};

fn main() {
    let dir = std::env::var_os("EMBEDDING_MODEL_DIR").map_or_else(
        || "models/all-MiniLM-L6-v2".into(),
        std::path::PathBuf::from,
    );
    let candle = LocalEmbedder::new(&dir);
    // Varied prose: 400 paragraphs of a few sentences each.
    let text: String = (0..400)
        .map(|i| {
            format!(
                "Section {i}. The committee reviewed item {i} of the budget and agreed to \
                 revisit it in spring. Students in year {} asked for more laboratory time, \
                 better microscopes and a quieter library. The head teacher noted that \
                 attendance rose by {} percent after the new timetable.\n\n",
                i % 13 + 1,
                i % 7 + 2
            )
        })
        .collect();
    let document = extract(text.as_bytes(), "minutes.txt").expect("plain text");
    let chunks = chunk(
        &document,
        &candle,
        ChunkOptions::for_model(MINILM_MAX_TOKENS),
    )
    .expect("the model's tokenizer");
    let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
    let tokens: usize = texts
        .iter()
        .map(|t| candle.count_tokens(t).expect("tokenizer"))
        .sum();
    println!(
        "local embeddings (all-MiniLM-L6-v2, CPU): {} chunks, {} tokens, {:.0} tokens per chunk",
        texts.len(),
        tokens,
        tokens as f64 / texts.len() as f64
    );
    let mut engines = vec![candle.clone()];
    if let Some(library) = std::env::var_os("ONNXRUNTIME_LIB") {
        engines.insert(0, candle.clone().with_onnx_runtime(library));
    }
    for model in engines {
        // Warm up: the first call loads the model.
        model.embed(&texts[..1]).expect("embed");
        println!("{}:", model.engine().expect("loaded"));
        for batch in [1, 8, 16, 32] {
            let started = Instant::now();
            for group in texts.chunks(batch) {
                model.embed(group).expect("embed");
            }
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "  batch {batch:>2}: {:>6.1} chunks/s, {:>7.0} tokens/s",
                texts.len() as f64 / seconds,
                tokens as f64 / seconds
            );
        }
    }
}
