//! How data crossing from server to browser is read: always as bytes through one JSON reader.
//!
//! Server-function answers are read from bytes; a resource's server-rendered value, a stream
//! event and an upload's answer arrive as text. Reading both kinds with the same reader keeps
//! one copy of every type's JSON decoder in the browser bundle instead of two (one per reader).

use leptos::prelude::*;
use leptos::server::codee::{Decoder, Encoder};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The resource codec: JSON written as text, read as the bytes of that text.
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, serde_json::Error> {
        parse(text)
    }
}

/// Data loaded by a server function, rendered on the server and handed to the browser.
pub type Loaded<T> = Resource<T, Json>;

/// `Resource::new` with this module's codec: reloads whenever `source` changes.
#[track_caller]
pub fn load<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Loaded<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

/// Reads JSON text (a stream event, an upload's answer).
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, serde_json::Error> {
    serde_json::from_slice(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, serde::Deserialize)]
    struct Row {
        id: u32,
        name: String,
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same_value() {
        let row = Row {
            id: 7,
            name: "Ä \"quoted\" \u{1F600}".into(),
        };
        let text = <Json as Encoder<Row>>::encode(&row).unwrap();
        assert_eq!(<Json as Decoder<Row>>::decode(&text).unwrap(), row);
    }

    #[test]
    fn malformed_text_is_an_error() {
        assert!(parse::<Row>("{\"id\": 7").is_err());
        assert!(parse::<Row>("{\"id\": \"seven\", \"name\": \"x\"}").is_err());
    }
}
