//! Text from pictures of text: scanned PDF pages and images, read with Tesseract (the
//! `tesseract` program, and `pdftoppm` from Poppler to turn PDF pages into images).
//!
//! `OCR_PROVIDER` chooses: `auto` (default: Tesseract when both programs are installed),
//! `tesseract` (required: the server refuses to start without it) or `none`. Without OCR, a
//! scan fails with "needs OCR: ... not available on this server".

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use tokio::process::Command;

/// The longest one page may take to render or to read.
const PAGE_TIMEOUT: Duration = Duration::from_secs(120);
/// Pages rendered at this resolution (Tesseract reads 300 dpi best).
const DPI: u32 = 300;
/// Pages of one document read with OCR at most.
pub const MAX_OCR_PAGES: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    /// The document is more than OCR may take on.
    #[error("{0}")]
    Refused(String),
    /// A program failed or could not run: worth another try.
    #[error("OCR failed: {0}")]
    Failed(String),
}

/// The configured OCR engine. Cheap to clone.
#[derive(Debug, Clone)]
pub enum Ocr {
    Unavailable,
    Tesseract(Tesseract),
}

/// Tesseract, with Poppler's `pdftoppm` for PDF pages.
#[derive(Debug, Clone)]
pub struct Tesseract {
    tesseract: PathBuf,
    pdftoppm: PathBuf,
    /// Tesseract's language codes joined with `+`, e.g. `eng+fra` (`OCR_LANGUAGES`).
    languages: String,
}

/// Where `program` is on `PATH`.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

impl Ocr {
    /// As `OCR_PROVIDER` and `OCR_LANGUAGES` (default `eng`) say.
    pub fn from_env() -> anyhow::Result<Self> {
        let provider = std::env::var("OCR_PROVIDER").unwrap_or_default();
        let languages = std::env::var("OCR_LANGUAGES")
            .ok()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "eng".to_owned());
        anyhow::ensure!(
            languages.split('+').all(|code| !code.is_empty()
                && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')),
            "OCR_LANGUAGES must be Tesseract language codes joined with +, such as eng+fra"
        );
        let installed = || Some((find("tesseract")?, find("pdftoppm")?));
        match provider.trim() {
            "" | "auto" => Ok(
                installed().map_or(Self::Unavailable, |(tesseract, pdftoppm)| {
                    Self::Tesseract(Tesseract {
                        tesseract,
                        pdftoppm,
                        languages,
                    })
                }),
            ),
            "tesseract" => {
                let (tesseract, pdftoppm) = installed().ok_or_else(|| {
                    anyhow::anyhow!(
                        "OCR_PROVIDER=tesseract needs `tesseract` and `pdftoppm` on PATH (Debian: tesseract-ocr poppler-utils)"
                    )
                })?;
                Ok(Self::Tesseract(Tesseract {
                    tesseract,
                    pdftoppm,
                    languages,
                }))
            }
            "none" => Ok(Self::Unavailable),
            other => anyhow::bail!("OCR_PROVIDER must be auto, tesseract or none, got {other:?}"),
        }
    }

    pub fn is_available(&self) -> bool {
        !matches!(self, Self::Unavailable)
    }
}

/// Runs `command` with a time limit; its standard output when it succeeds.
async fn run(mut command: Command, what: &str) -> Result<Vec<u8>, OcrError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(PAGE_TIMEOUT, command.output())
        .await
        .map_err(|_| {
            OcrError::Failed(format!(
                "{what} took longer than {} s",
                PAGE_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|err| OcrError::Failed(format!("{what} could not run: {err}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        return Err(OcrError::Failed(format!(
            "{what} failed ({}): {last}",
            output.status
        )));
    }
    Ok(output.stdout)
}

impl Tesseract {
    /// The text of an image file.
    async fn read_image(&self, image: &Path) -> Result<String, OcrError> {
        let mut command = Command::new(&self.tesseract);
        command
            .arg(image)
            .arg("stdout")
            .args(["-l", &self.languages])
            // Tesseract's own threads would fight the pages' for the cores.
            .env("OMP_THREAD_LIMIT", "1");
        let text = run(command, "tesseract").await?;
        Ok(String::from_utf8_lossy(&text).into_owned())
    }

    /// The text of an image (PNG, JPEG, TIFF, BMP, GIF, WebP).
    pub async fn image(&self, bytes: &[u8]) -> Result<String, OcrError> {
        let dir = tempfile::tempdir().map_err(|err| OcrError::Failed(err.to_string()))?;
        let path = dir.path().join("image");
        tokio::fs::write(&path, bytes)
            .await
            .map_err(|err| OcrError::Failed(err.to_string()))?;
        self.read_image(&path).await
    }

    /// The text of each of `pages` (1-based) of a PDF, in order; `progress` hears of each page
    /// done (pages done, pages in all).
    pub async fn pdf_pages<F, Fut>(
        &self,
        pdf: &[u8],
        pages: &[u32],
        mut progress: F,
    ) -> Result<Vec<(u32, String)>, OcrError>
    where
        F: FnMut(usize, usize) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        if pages.len() > MAX_OCR_PAGES {
            return Err(OcrError::Refused(format!(
                "needs OCR on {} pages; at most {MAX_OCR_PAGES} are read",
                pages.len()
            )));
        }
        let dir = tempfile::tempdir().map_err(|err| OcrError::Failed(err.to_string()))?;
        let source = dir.path().join("document.pdf");
        tokio::fs::write(&source, pdf)
            .await
            .map_err(|err| OcrError::Failed(err.to_string()))?;
        let mut texts = Vec::with_capacity(pages.len());
        for (done, page) in pages.iter().enumerate() {
            let image = dir.path().join(format!("page-{page}"));
            let mut command = Command::new(&self.pdftoppm);
            command
                .args(["-r", &DPI.to_string(), "-gray", "-png", "-singlefile"])
                .args(["-f", &page.to_string(), "-l", &page.to_string()])
                .arg(&source)
                .arg(&image);
            run(command, "pdftoppm").await?;
            let png = image.with_extension("png");
            let text = self.read_image(&png).await?;
            let _ = tokio::fs::remove_file(&png).await;
            texts.push((*page, text));
            progress(done + 1, pages.len()).await;
        }
        Ok(texts)
    }
}
