//! How the knowledge pipeline is configured: read once, at start, by the binary that runs it
//! (the server, the worker, the Lambda function), then handed to [`Pipeline::start`].
//!
//! Reading is separate from building: [`KnowledgeConfig::from_lookup`] checks every setting
//! and names the one that is wrong before any client is made or model loaded.
//!
//! [`Pipeline::start`]: super::pipeline::Pipeline::start

use std::{net::IpAddr, path::PathBuf, time::Duration};

use anyhow::{Context, anyhow, bail, ensure};
use secrecy::SecretString;

use super::{queue::UploadQueue, remote::RemoteSettings, s3::Encryption, web::FetchPolicy};

/// The largest upload unless configured.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 100 * 1000 * 1000;

/// Everything the knowledge pipeline is built from.
#[derive(Debug, Clone)]
pub struct KnowledgeConfig {
    pub storage: StorageConfig,
    pub embedding: EmbeddingConfig,
    pub ocr: OcrConfig,
    /// Where URL items may be fetched from (`KNOWLEDGE_FETCH_ALLOW`).
    pub fetch: FetchPolicy,
    pub reading: ReadingLimits,
    /// The largest upload (`KNOWLEDGE_MAX_UPLOAD_MB`, whole megabytes, default 100).
    pub max_upload_bytes: u64,
    /// What starts an uploaded file's processing (`KNOWLEDGE_QUEUE`).
    pub upload_queue: UploadQueue,
}

/// Where originals are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageConfig {
    /// `STORAGE_BACKEND=local` (default): the folder `STORAGE_DIR` (default `data/files`).
    Local { dir: PathBuf },
    /// `STORAGE_BACKEND=s3`: the bucket `STORAGE_S3_BUCKET`, reached with the AWS default
    /// chain (region, credentials, `AWS_ENDPOINT_URL`); `STORAGE_S3_PATH_STYLE=true` for
    /// S3-compatible servers; encryption `STORAGE_S3_ENCRYPTION` = `AES256` (default) or
    /// `aws:kms` with `STORAGE_S3_KMS_KEY_ID` (the account's S3 key when unset).
    S3 {
        bucket: String,
        path_style: bool,
        encryption: Encryption,
    },
}

/// The embedding model (`EMBEDDING_PROVIDER`).
#[derive(Debug, Clone)]
pub enum EmbeddingConfig {
    /// `local` (default): the model in `EMBEDDING_MODEL_DIR` (default
    /// `models/all-MiniLM-L6-v2`), run by the ONNX Runtime library `ONNXRUNTIME_LIB` names
    /// (candle without it).
    Local {
        dir: PathBuf,
        onnx_runtime: Option<PathBuf>,
    },
    /// `openai`: any OpenAI-compatible API (`EMBEDDING_BASE_URL`, `EMBEDDING_API_KEY` or
    /// `OPENAI_API_KEY`, `EMBEDDING_MODEL` (default text-embedding-3-small),
    /// `EMBEDDING_DIMENSIONS` (default 1536), `EMBEDDING_MAX_TOKENS` (default 8191)).
    OpenAi(RemoteSettings),
    /// `bedrock`: the AWS default chain for region and credentials; `EMBEDDING_MODEL` default
    /// amazon.titan-embed-text-v2:0, `EMBEDDING_DIMENSIONS` 256, 512 or 1024 (default),
    /// `EMBEDDING_MAX_TOKENS` default 8192.
    Bedrock {
        model: String,
        dimensions: usize,
        max_tokens: usize,
    },
}

/// Which OCR engine reads pages without a text layer (`OCR_PROVIDER`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcrProvider {
    /// `auto` (default): Tesseract when it is installed, else none.
    Auto,
    /// `tesseract`: Tesseract, which must be installed.
    Tesseract,
    /// `textract`: Amazon Textract reading from the storage bucket, at most
    /// `OCR_TEXTRACT_MONTHLY_PAGES` pages a month (default 1000).
    Textract { monthly_pages: u32 },
    /// `none`.
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcrConfig {
    pub provider: OcrProvider,
    /// Tesseract's language codes joined with `+` (`OCR_LANGUAGES`, default `eng`).
    pub languages: String,
}

/// Bounds on reading documents (see [`super::pipeline::Reading`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadingLimits {
    /// Documents read at once (`EXTRACTION_CONCURRENCY`, default 2).
    pub slots: usize,
    /// One document's extraction (`EXTRACTION_TIMEOUT_SECS`, default 300).
    pub timeout: Duration,
    /// OCR pages of a document read inside a request (`CHAT_OCR_MAX_PAGES`, default 10).
    pub request_ocr_pages: usize,
}

impl Default for ReadingLimits {
    fn default() -> Self {
        Self {
            slots: 2,
            timeout: Duration::from_secs(300),
            request_ocr_pages: 10,
        }
    }
}

/// Reads settings by name; blank values count as unset.
struct Settings<F>(F);

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    fn text(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn number<N: std::str::FromStr>(&self, name: &str, default: N) -> anyhow::Result<N> {
        match self.text(name) {
            Some(raw) => raw
                .parse()
                .map_err(|_| anyhow!("{name} must be a whole number, got {raw:?}")),
            None => Ok(default),
        }
    }

    fn positive(&self, name: &str, default: usize) -> anyhow::Result<usize> {
        let n = self.number(name, default)?;
        ensure!(n > 0, "{name} must be a positive whole number");
        Ok(n)
    }

    fn flag(&self, name: &str) -> anyhow::Result<bool> {
        match self.text(name).as_deref() {
            None | Some("false" | "0") => Ok(false),
            Some("true" | "1") => Ok(true),
            Some(other) => bail!("{name} must be true or false, got {other:?}"),
        }
    }
}

impl KnowledgeConfig {
    /// From the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From settings looked up by name (the environment, or a test's map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let settings = Settings(lookup);
        Ok(Self {
            storage: storage(&settings)?,
            embedding: embedding(&settings)?,
            ocr: ocr(&settings)?,
            fetch: fetch(&settings)?,
            reading: ReadingLimits {
                slots: settings.number("EXTRACTION_CONCURRENCY", 2usize)?.max(1),
                timeout: Duration::from_secs(
                    settings.number("EXTRACTION_TIMEOUT_SECS", 300u64)?.max(1),
                ),
                request_ocr_pages: settings.number("CHAT_OCR_MAX_PAGES", 10usize)?,
            },
            max_upload_bytes: max_upload_bytes(&settings)?,
            upload_queue: upload_queue(&settings)?,
        })
    }
}

fn storage<F: Fn(&str) -> Option<String>>(s: &Settings<F>) -> anyhow::Result<StorageConfig> {
    match s.text("STORAGE_BACKEND").as_deref().unwrap_or("local") {
        "local" => Ok(StorageConfig::Local {
            dir: s
                .text("STORAGE_DIR")
                .unwrap_or_else(|| "data/files".to_owned())
                .into(),
        }),
        "s3" => Ok(StorageConfig::S3 {
            bucket: s
                .text("STORAGE_S3_BUCKET")
                .context("STORAGE_BACKEND=s3 needs STORAGE_S3_BUCKET")?,
            path_style: s.flag("STORAGE_S3_PATH_STYLE")?,
            encryption: match s.text("STORAGE_S3_ENCRYPTION").as_deref() {
                None | Some("AES256") => Encryption::S3Managed,
                Some("aws:kms") => Encryption::Kms(s.text("STORAGE_S3_KMS_KEY_ID")),
                Some(other) => {
                    bail!("STORAGE_S3_ENCRYPTION must be AES256 or aws:kms, got {other:?}")
                }
            },
        }),
        other => bail!("STORAGE_BACKEND must be local or s3, got {other:?}"),
    }
}

fn embedding<F: Fn(&str) -> Option<String>>(s: &Settings<F>) -> anyhow::Result<EmbeddingConfig> {
    match s.text("EMBEDDING_PROVIDER").as_deref() {
        None | Some("local") => Ok(EmbeddingConfig::Local {
            dir: s
                .text("EMBEDDING_MODEL_DIR")
                .unwrap_or_else(|| "models/all-MiniLM-L6-v2".to_owned())
                .into(),
            onnx_runtime: s.text("ONNXRUNTIME_LIB").map(PathBuf::from),
        }),
        Some("openai") => Ok(EmbeddingConfig::OpenAi(RemoteSettings {
            base_url: s
                .text("EMBEDDING_BASE_URL")
                .unwrap_or_else(|| "https://api.openai.com/v1".to_owned()),
            api_key: s
                .text("EMBEDDING_API_KEY")
                .or_else(|| s.text("OPENAI_API_KEY"))
                .map(SecretString::from),
            model: s
                .text("EMBEDDING_MODEL")
                .unwrap_or_else(|| "text-embedding-3-small".to_owned()),
            dimensions: s.positive("EMBEDDING_DIMENSIONS", 1536)?,
            max_tokens: s.positive("EMBEDDING_MAX_TOKENS", 8191)?,
        })),
        Some("bedrock") => Ok(EmbeddingConfig::Bedrock {
            model: s
                .text("EMBEDDING_MODEL")
                .unwrap_or_else(|| super::bedrock::TITAN_V2.to_owned()),
            dimensions: s.positive("EMBEDDING_DIMENSIONS", 1024)?,
            max_tokens: s.positive("EMBEDDING_MAX_TOKENS", 8192)?,
        }),
        Some(other) => bail!("EMBEDDING_PROVIDER must be local, openai or bedrock, not {other:?}"),
    }
}

fn ocr<F: Fn(&str) -> Option<String>>(s: &Settings<F>) -> anyhow::Result<OcrConfig> {
    let languages = s.text("OCR_LANGUAGES").unwrap_or_else(|| "eng".to_owned());
    ensure!(
        languages
            .split('+')
            .all(|code| !code.is_empty()
                && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')),
        "OCR_LANGUAGES must be Tesseract language codes joined with +, such as eng+fra"
    );
    let provider = match s.text("OCR_PROVIDER").as_deref() {
        None | Some("auto") => OcrProvider::Auto,
        Some("tesseract") => OcrProvider::Tesseract,
        Some("textract") => OcrProvider::Textract {
            monthly_pages: s.number("OCR_TEXTRACT_MONTHLY_PAGES", 1000)?,
        },
        Some("none") => OcrProvider::None,
        Some(other) => {
            bail!("OCR_PROVIDER must be auto, tesseract, textract or none, got {other:?}")
        }
    };
    Ok(OcrConfig {
        provider,
        languages,
    })
}

fn fetch<F: Fn(&str) -> Option<String>>(s: &Settings<F>) -> anyhow::Result<FetchPolicy> {
    let allow = s
        .text("KNOWLEDGE_FETCH_ALLOW")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow!("KNOWLEDGE_FETCH_ALLOW: {s:?} is not an address or CIDR"))
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(FetchPolicy {
        allow,
        ..FetchPolicy::default_limits()
    })
}

fn max_upload_bytes<F: Fn(&str) -> Option<String>>(s: &Settings<F>) -> anyhow::Result<u64> {
    match s.text("KNOWLEDGE_MAX_UPLOAD_MB") {
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|mb| (1..=100_000).contains(mb))
            .map(|mb| mb * 1000 * 1000)
            .context("KNOWLEDGE_MAX_UPLOAD_MB must be a whole number of megabytes from 1"),
        None => Ok(DEFAULT_MAX_UPLOAD_BYTES),
    }
}

fn upload_queue<F: Fn(&str) -> Option<String>>(s: &Settings<F>) -> anyhow::Result<UploadQueue> {
    match s.text("KNOWLEDGE_QUEUE").as_deref().unwrap_or("jobs") {
        "jobs" => Ok(UploadQueue::Jobs),
        "sqs" => Ok(UploadQueue::Sqs {
            queue_url: s
                .text("KNOWLEDGE_SQS_QUEUE_URL")
                .context("KNOWLEDGE_QUEUE=sqs needs KNOWLEDGE_SQS_QUEUE_URL")?,
        }),
        other => bail!("KNOWLEDGE_QUEUE must be jobs or sqs, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn read(pairs: &[(&str, &str)]) -> anyhow::Result<KnowledgeConfig> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        KnowledgeConfig::from_lookup(|name| map.get(name).cloned())
    }

    fn refusal(pairs: &[(&str, &str)]) -> String {
        format!("{:#}", read(pairs).unwrap_err())
    }

    #[test]
    fn nothing_set_is_the_laptop_default() {
        let config = read(&[]).unwrap();
        assert_eq!(
            config.storage,
            StorageConfig::Local {
                dir: "data/files".into()
            }
        );
        assert!(matches!(
            config.embedding,
            EmbeddingConfig::Local { ref dir, onnx_runtime: None }
                if dir == &PathBuf::from("models/all-MiniLM-L6-v2")
        ));
        assert_eq!(config.ocr.provider, OcrProvider::Auto);
        assert_eq!(config.ocr.languages, "eng");
        assert!(config.fetch.allow.is_empty());
        assert_eq!(config.reading, ReadingLimits::default());
        assert_eq!(config.max_upload_bytes, DEFAULT_MAX_UPLOAD_BYTES);
        assert_eq!(config.upload_queue, UploadQueue::Jobs);
    }

    #[test]
    fn the_aws_settings_are_read_as_given() {
        let config = read(&[
            ("STORAGE_BACKEND", "s3"),
            ("STORAGE_S3_BUCKET", " school-files "),
            ("STORAGE_S3_PATH_STYLE", "true"),
            ("STORAGE_S3_ENCRYPTION", "aws:kms"),
            ("EMBEDDING_PROVIDER", "openai"),
            ("OPENAI_API_KEY", "sk-test"),
            ("EMBEDDING_DIMENSIONS", "256"),
            ("OCR_PROVIDER", "textract"),
            ("OCR_TEXTRACT_MONTHLY_PAGES", "50"),
            ("OCR_LANGUAGES", "eng+fra"),
            ("KNOWLEDGE_FETCH_ALLOW", "10.20.0.0/16, 192.168.1.5"),
            ("EXTRACTION_CONCURRENCY", "0"),
            ("KNOWLEDGE_MAX_UPLOAD_MB", "5"),
            ("KNOWLEDGE_QUEUE", "sqs"),
            ("KNOWLEDGE_SQS_QUEUE_URL", "https://sqs.example/q"),
        ])
        .unwrap();
        assert_eq!(
            config.storage,
            StorageConfig::S3 {
                bucket: "school-files".into(),
                path_style: true,
                encryption: Encryption::Kms(None),
            }
        );
        let EmbeddingConfig::OpenAi(remote) = &config.embedding else {
            panic!("{:?}", config.embedding)
        };
        assert_eq!(remote.api_key.as_ref().unwrap().expose_secret(), "sk-test");
        assert_eq!((remote.dimensions, remote.max_tokens), (256, 8191));
        assert_eq!(
            config.ocr,
            OcrConfig {
                provider: OcrProvider::Textract { monthly_pages: 50 },
                languages: "eng+fra".into()
            }
        );
        assert_eq!(config.fetch.allow.len(), 2);
        assert_eq!(
            config.reading.slots, 1,
            "at least one document is read at a time"
        );
        assert_eq!(config.max_upload_bytes, 5_000_000);
        assert_eq!(
            config.upload_queue,
            UploadQueue::Sqs {
                queue_url: "https://sqs.example/q".into()
            }
        );
    }

    #[test]
    fn a_wrong_setting_is_refused_by_its_name() {
        for (pairs, named) in [
            (&[("STORAGE_BACKEND", "ftp")][..], "STORAGE_BACKEND"),
            (&[("STORAGE_BACKEND", "s3")][..], "STORAGE_S3_BUCKET"),
            (
                &[
                    ("STORAGE_BACKEND", "s3"),
                    ("STORAGE_S3_BUCKET", "b"),
                    ("STORAGE_S3_PATH_STYLE", "yes"),
                ][..],
                "STORAGE_S3_PATH_STYLE",
            ),
            (
                &[("EMBEDDING_PROVIDER", "cohere")][..],
                "EMBEDDING_PROVIDER",
            ),
            (
                &[
                    ("EMBEDDING_PROVIDER", "bedrock"),
                    ("EMBEDDING_DIMENSIONS", "0"),
                ][..],
                "EMBEDDING_DIMENSIONS",
            ),
            (&[("OCR_PROVIDER", "magic")][..], "OCR_PROVIDER"),
            (&[("OCR_LANGUAGES", "eng;rm -rf")][..], "OCR_LANGUAGES"),
            (
                &[("KNOWLEDGE_FETCH_ALLOW", "intranet")][..],
                "KNOWLEDGE_FETCH_ALLOW",
            ),
            (
                &[("EXTRACTION_TIMEOUT_SECS", "soon")][..],
                "EXTRACTION_TIMEOUT_SECS",
            ),
            (
                &[("KNOWLEDGE_MAX_UPLOAD_MB", "0")][..],
                "KNOWLEDGE_MAX_UPLOAD_MB",
            ),
            (&[("KNOWLEDGE_QUEUE", "sqs")][..], "KNOWLEDGE_SQS_QUEUE_URL"),
        ] {
            let message = refusal(pairs);
            assert!(message.contains(named), "{pairs:?}: {message}");
        }
    }
}
