//! Text from pictures of text: scanned PDF pages and images, read with Tesseract (the
//! `tesseract` program, and `pdftoppm` from Poppler to turn PDF pages into images) or with
//! Amazon Textract (for originals kept in S3).
//!
//! `OCR_PROVIDER` chooses: `auto` (default: Tesseract when both programs are installed),
//! `tesseract` (required: the server refuses to start without it), `textract` (with S3
//! storage; `OCR_TEXTRACT_MONTHLY_PAGES` caps the pages sent a month, default 1,000) or
//! `none`. Without OCR, a scan fails with "needs OCR: ... not available on this server".

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    time::Duration,
};

use aws_sdk_textract::{
    error::DisplayErrorContext,
    types::{BlockType, DocumentLocation, JobStatus, S3Object},
};
use chrono::Datelike;
use sqlx::PgPool;
use tokio::process::Command;
use uuid::Uuid;

use super::{
    config::{OcrConfig, OcrProvider},
    storage::Storage,
};

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
    Textract(Textract),
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
    /// The engine `config` names; Textract reads originals from `storage`'s bucket.
    pub async fn build(config: &OcrConfig, storage: &Storage) -> anyhow::Result<Self> {
        let languages = config.languages.clone();
        let installed = || Some((find("tesseract")?, find("pdftoppm")?));
        match config.provider {
            OcrProvider::Auto => Ok(installed().map_or(
                Self::Unavailable,
                |(tesseract, pdftoppm)| {
                    Self::Tesseract(Tesseract {
                        tesseract,
                        pdftoppm,
                        languages,
                    })
                },
            )),
            OcrProvider::Tesseract => {
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
            OcrProvider::Textract { monthly_pages } => {
                let Storage::S3(s3) = storage else {
                    anyhow::bail!(
                        "OCR_PROVIDER=textract needs STORAGE_BACKEND=s3: Textract reads the originals from the bucket"
                    );
                };
                let aws = aws_config::load_from_env().await;
                Ok(Self::Textract(Textract::new(
                    &aws,
                    s3.bucket(),
                    monthly_pages,
                )))
            }
            OcrProvider::None => Ok(Self::Unavailable),
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

/// Amazon Textract's asynchronous text detection, on originals in an S3 bucket, under a
/// monthly page budget.
#[derive(Debug, Clone)]
pub struct Textract {
    client: aws_sdk_textract::Client,
    bucket: String,
    /// Pages sent a calendar month at most (UTC).
    pub monthly_pages: u32,
    /// How often a running job is asked whether it is done.
    pub poll: Duration,
    /// How long a job may run.
    pub timeout: Duration,
}

impl Textract {
    pub fn new(config: &aws_config::SdkConfig, bucket: &str, monthly_pages: u32) -> Self {
        Self {
            client: aws_sdk_textract::Client::new(config),
            bucket: bucket.to_owned(),
            monthly_pages,
            poll: Duration::from_secs(2),
            timeout: Duration::from_secs(15 * 60),
        }
    }

    /// Counts `pages` of `item` against this month's budget, once per item and month;
    /// refused, with the reason for the item's owner, when they do not fit.
    pub async fn charge(&self, pool: &PgPool, item: Uuid, pages: u32) -> Result<(), OcrError> {
        let failed = |err: sqlx::Error| OcrError::Failed(format!("the OCR budget: {err}"));
        let today = chrono::Utc::now().date_naive();
        let month = today.with_day(1).unwrap_or(today);
        let mut tx = pool.begin().await.map_err(failed)?;
        // One charge at a time, so two items cannot both take the last pages.
        sqlx::query!("select pg_advisory_xact_lock(hashtext('ocr_charges'))")
            .execute(&mut *tx)
            .await
            .map_err(failed)?;
        let charged = sqlx::query_scalar!(
            "select exists (select 1 from ocr_charges where item_id = $1 and month = $2) as \"charged!\"",
            item,
            month
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed)?;
        if charged {
            return Ok(());
        }
        let used = sqlx::query_scalar!(
            "select coalesce(sum(pages), 0)::int8 as \"used!\" from ocr_charges where month = $1",
            month
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(failed)?;
        if used + i64::from(pages) > i64::from(self.monthly_pages) {
            return Err(OcrError::Refused(format!(
                "needs OCR on {pages} page(s), but this month's OCR budget ({} pages, {} left) would be exceeded; it renews on the 1st, or an administrator can raise OCR_TEXTRACT_MONTHLY_PAGES",
                self.monthly_pages,
                (i64::from(self.monthly_pages) - used).max(0)
            )));
        }
        sqlx::query!(
            "insert into ocr_charges (item_id, month, pages) values ($1, $2, $3)",
            item,
            month,
            i32::try_from(pages).unwrap_or(i32::MAX)
        )
        .execute(&mut *tx)
        .await
        .map_err(failed)?;
        tx.commit().await.map_err(failed)
    }

    /// The text of the object at `key` (PDF, PNG, JPEG or TIFF), per page (1-based), in
    /// order. `item` names the job, so a repeated run reuses the job started before.
    pub async fn read(&self, key: &str, item: Uuid) -> Result<Vec<(u32, String)>, OcrError> {
        let failed = |what: &str, err: &dyn std::fmt::Display| {
            OcrError::Failed(format!("Textract {what}: {err}"))
        };
        let started = self
            .client
            .start_document_text_detection()
            .document_location(
                DocumentLocation::builder()
                    .s3_object(S3Object::builder().bucket(&self.bucket).name(key).build())
                    .build(),
            )
            .client_request_token(item.simple().to_string())
            .job_tag("knowledge")
            .send()
            .await
            .map_err(|err| failed("could not start", &DisplayErrorContext(&err)))?;
        let job = started
            .job_id()
            .ok_or_else(|| OcrError::Failed("Textract gave no job id".to_owned()))?
            .to_owned();
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut lines: Vec<(u32, String)> = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .client
                .get_document_text_detection()
                .job_id(&job)
                .max_results(1000)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|err| failed("could not be asked", &DisplayErrorContext(&err)))?;
            match page.job_status() {
                Some(JobStatus::InProgress) | None => {
                    if tokio::time::Instant::now() > deadline {
                        return Err(OcrError::Failed(format!(
                            "Textract took longer than {} minutes",
                            self.timeout.as_secs() / 60
                        )));
                    }
                    tokio::time::sleep(self.poll).await;
                    continue;
                }
                Some(JobStatus::Failed) => {
                    return Err(OcrError::Refused(format!(
                        "OCR could not read it: {}",
                        page.status_message().unwrap_or("Textract failed")
                    )));
                }
                Some(_) => {}
            }
            for block in page.blocks() {
                if block.block_type() == Some(&BlockType::Line)
                    && let (Some(number), Some(text)) = (block.page(), block.text())
                {
                    lines.push((u32::try_from(number).unwrap_or(0), text.to_owned()));
                }
            }
            match page.next_token() {
                Some(token) => next = Some(token.to_owned()),
                None => break,
            }
        }
        let mut pages = std::collections::BTreeMap::<u32, String>::new();
        for (number, line) in lines {
            let text = pages.entry(number).or_default();
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&line);
        }
        Ok(pages.into_iter().collect())
    }
}
