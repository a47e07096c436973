//! What the admin pages receive from the server.

use serde::{Deserialize, Serialize};

/// A user row in the admin list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRow {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub is_disabled: bool,
    /// Until it is, the account holds no role (waiting for its link or for approval).
    pub is_verified: bool,
    pub roles: Vec<String>,
    /// Formatted for display, e.g. `2026-11-25 21:17 UTC`.
    pub last_sign_in: Option<String>,
    pub created: String,
}

/// One page of users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<UserRow>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}

/// A role with the tools it grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRow {
    pub id: String,
    pub name: String,
    pub description: String,
    pub is_system: bool,
    pub tools: Vec<String>,
    pub user_count: i64,
}

/// A tool that roles can be granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolRow {
    pub slug: String,
    pub name: String,
}

/// Everything the roles page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolesOverview {
    pub roles: Vec<RoleRow>,
    pub tools: Vec<ToolRow>,
    pub local_sign_up: bool,
}

/// An audit log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: String,
    /// RFC 3339, for paging.
    pub at: String,
    pub when: String,
    /// Who did it: a name, or the address tried for a failed sign-in, or "Someone".
    pub actor: String,
    /// What was done, to what, in words: "changed the roles of Pat (pat@school.org)".
    pub summary: String,
    /// The action's code, the target's kind and id, and the values before and after.
    pub detail: String,
    pub ip: Option<String>,
}

/// A provider on the models page. Its key is never sent: only where one comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderView {
    pub id: String,
    pub kind: String,
    pub kind_label: String,
    pub name: String,
    pub base_url: Option<String>,
    pub has_api_key: bool,
    /// Bedrock's AWS region, when set.
    pub region: Option<String>,
}

/// A provider type an admin may choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderKindView {
    pub kind: String,
    pub label: String,
}

/// A model on the models page; prices are decimal strings (dollars per million tokens).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelForm {
    /// Empty for a new model.
    pub id: String,
    pub provider_id: String,
    pub model_key: String,
    pub display_name: String,
    pub description: String,
    pub supports_vision: bool,
    pub supports_tools: bool,
    pub supports_reasoning: bool,
    /// Empty when unknown.
    pub context_tokens: String,
    pub max_output_tokens: String,
    pub input_price: String,
    pub output_price: String,
    pub cached_input_price: String,
    pub is_active: bool,
    pub role_ids: Vec<String>,
}

/// The model editor's number fields: the id of each input and what it holds.
pub const MODEL_NUMBER_FIELDS: [(&str, &str); 5] = [
    ("model-context", "context window"),
    ("model-max-output", "maximum output"),
    ("model-input-price", "input price"),
    ("model-output-price", "output price"),
    ("model-cached-price", "cached input price"),
];

impl ModelForm {
    /// The first number field that cannot be saved, as `(input id, what to do)`, in the
    /// order of the form; checked in the browser before sending, so the person is taken to
    /// the field, and again by the server.
    pub fn first_problem(&self) -> Option<(&'static str, String)> {
        let values = [
            &self.context_tokens,
            &self.max_output_tokens,
            &self.input_price,
            &self.output_price,
            &self.cached_input_price,
        ];
        MODEL_NUMBER_FIELDS.iter().zip(values).enumerate().find_map(
            |(index, (&(id, label), raw))| {
                let problem = if index < 2 {
                    token_problem(label, raw)
                } else {
                    price_problem(label, raw)
                };
                problem.map(|message| (id, message))
            },
        )
    }
}

/// Why `raw` is no count of tokens (empty is fine: unknown).
fn token_problem(label: &str, raw: &str) -> Option<String> {
    let digits = raw.trim().replace([',', '_', ' '], "");
    if digits.is_empty() {
        return None;
    }
    match digits.parse::<i32>() {
        Ok(n) if n > 0 => None,
        Ok(_) => Some(format!("The {label} must be a positive number of tokens.")),
        Err(_) => Some(format!(
            "The {label} must be a whole number of tokens, such as 128000."
        )),
    }
}

/// Why `raw` is no price in dollars per million tokens (empty is fine: free). Read as digits,
/// not as a float: the browser build carries no float parser for this.
fn price_problem(label: &str, raw: &str) -> Option<String> {
    let amount = raw.trim().trim_start_matches('$');
    if amount.is_empty() {
        return None;
    }
    let (negative, digits) = match amount.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, amount),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !all_digits(whole) || !all_digits(fraction) {
        return Some(format!(
            "The {label} must be a number of dollars, such as 0.15."
        ));
    }
    let whole = whole.trim_start_matches('0');
    let cents = fraction.bytes().any(|b| b != b'0');
    let dollars = if whole.len() > 6 {
        u64::MAX
    } else {
        whole.parse::<u64>().unwrap_or(0)
    };
    let below_zero = negative && (dollars > 0 || cents);
    let above_top = dollars > 100_000 || (dollars == 100_000 && cents);
    (below_zero || above_top)
        .then(|| "Prices are dollars per million tokens, from 0 to 100000.".to_owned())
}

/// A provider as edited: the key is write-only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderForm {
    /// Empty for a new provider.
    pub id: String,
    pub kind: String,
    pub name: String,
    pub base_url: String,
    /// Blank keeps the stored key.
    pub api_key: String,
    pub clear_api_key: bool,
    /// Bedrock only; blank uses the server's AWS region.
    #[serde(default)]
    pub region: String,
}

/// Everything the models page shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalogue {
    pub providers: Vec<ProviderView>,
    pub kinds: Vec<ProviderKindView>,
    pub models: Vec<ModelForm>,
    /// `(id, name)` of every role.
    pub roles: Vec<(String, String)>,
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailRow {
    pub id: String,
    /// RFC 3339, for paging.
    pub at: String,
    pub when: String,
    pub to: String,
    pub kind: String,
    pub subject: String,
    /// The text body; empty once sent.
    pub body: String,
    /// queued, sent, held or failed.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::ModelForm;

    #[test]
    fn the_first_number_that_cannot_be_saved_is_named_with_its_field() {
        let mut form = ModelForm {
            context_tokens: "128,000".into(),
            input_price: "$0.40".into(),
            ..ModelForm::default()
        };
        assert_eq!(form.first_problem(), None);
        form.cached_input_price = "ten cents".into();
        form.output_price = "-1".into();
        assert_eq!(
            form.first_problem(),
            Some((
                "model-output-price",
                "Prices are dollars per million tokens, from 0 to 100000.".to_owned()
            ))
        );
        form.max_output_tokens = "16k".into();
        assert_eq!(
            form.first_problem().map(|(id, _)| id),
            Some("model-max-output")
        );
        form.context_tokens = "0".into();
        assert_eq!(
            form.first_problem().map(|(_, why)| why),
            Some("The context window must be a positive number of tokens.".to_owned())
        );
        form.context_tokens = String::new();
        form.max_output_tokens = String::new();
        for (price, saved) in [
            ("1e3", false),
            (".", false),
            ("100000.01", false),
            ("-0.5", false),
            ("100000", true),
            ("-0", true),
            (".25", true),
            ("007.50", true),
        ] {
            form.output_price = price.into();
            form.cached_input_price = String::new();
            assert_eq!(form.first_problem().is_none(), saved, "{price}");
        }
    }
}
