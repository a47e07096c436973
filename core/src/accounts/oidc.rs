//! Sign-in through OpenID Connect providers (Cognito, Google, Entra, Keycloak, any compliant
//! issuer), several at once.
//!
//! The flow is the authorization code flow with PKCE, `state` and `nonce`:
//! [`Oidc::begin`] stores a one-time login row (keyed by the SHA-256 of `state`, holding the
//! PKCE verifier and the nonce) and returns the provider's authorization URL; the browser also
//! keeps `state` in a short-lived cookie. [`Oidc::finish`] takes the row back (deleting it, so
//! a replayed callback finds nothing), checks the cookie, exchanges the code and validates the
//! ID token: signature against the provider's JWKS, issuer, audience, expiry and nonce.
//! Provider metadata comes from discovery, fetched on first use and cached for an hour; a
//! signing key we do not know triggers one fresh discovery (key rotation).

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use anyhow::Context;
use openidconnect::{
    AccessToken, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EndSessionUrl, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IssuerUrl, LogoutRequest, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    ProviderMetadataWithLogout, RedirectUrl, Scope, SignatureVerificationError, TokenResponse,
    core::{CoreClient, CoreIdTokenClaims, CoreResponseType, CoreUserInfoClaims},
    reqwest,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use url::Url;

/// How long a user has to come back from the provider.
pub const LOGIN_TTL: Duration = Duration::from_secs(10 * 60);
/// How long discovered provider metadata (endpoints and signing keys) is trusted.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// Time limit for each request to a provider.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// One configured provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    /// Short name used in URLs (`/auth/oidc/{id}/start`): lower-case letters, digits, `-`.
    pub id: String,
    /// What the sign-in button says.
    pub label: String,
    /// The issuer URL exactly as the provider's discovery document states it.
    pub issuer: String,
    pub client_id: String,
    /// Absent for public clients (PKCE alone).
    pub client_secret: Option<SecretString>,
    pub scopes: Vec<String>,
    /// A sign-out URL for providers whose discovery has no `end_session_endpoint` (Cognito's
    /// `https://<domain>/logout`); called with `client_id` and `logout_uri`.
    pub logout_url: Option<Url>,
}

/// All providers, and this site's public address (for redirect URIs).
#[derive(Debug, Clone)]
pub struct OidcConfig {
    pub providers: Vec<ProviderConfig>,
    pub public_url: Url,
}

impl OidcConfig {
    /// Reads `OIDC_PROVIDERS` (comma-separated ids) and, for each id `x`, `OIDC_X_ISSUER`,
    /// `OIDC_X_CLIENT_ID` (both required), `OIDC_X_CLIENT_SECRET`, `OIDC_X_LABEL`,
    /// `OIDC_X_SCOPES` (default `openid email profile`) and `OIDC_X_LOGOUT_URL`.
    pub fn from_env(public_url: Url) -> anyhow::Result<Self> {
        Self::from_lookup(public_url, |name| std::env::var(name).ok())
    }

    /// [`Self::from_env`] over any variable lookup.
    pub fn from_lookup(
        public_url: Url,
        var: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut providers: Vec<ProviderConfig> = Vec::new();
        for id in var("OIDC_PROVIDERS")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
        {
            let valid = id.len() <= 32
                && id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            anyhow::ensure!(
                valid,
                "OIDC_PROVIDERS: {id:?} is not a valid id (use up to 32 lower-case letters, digits and -)"
            );
            anyhow::ensure!(
                providers.iter().all(|p| p.id != id),
                "OIDC_PROVIDERS lists {id:?} twice"
            );
            let prefix = format!("OIDC_{}_", id.to_ascii_uppercase().replace('-', "_"));
            let required = |key: &str| {
                var(&format!("{prefix}{key}"))
                    .with_context(|| format!("{prefix}{key} is required for provider {id:?}"))
            };
            let issuer = required("ISSUER")?;
            IssuerUrl::new(issuer.clone())
                .with_context(|| format!("{prefix}ISSUER is not a URL"))?;
            let logout_url = var(&format!("{prefix}LOGOUT_URL"))
                .map(|raw| Url::parse(&raw))
                .transpose()
                .with_context(|| format!("{prefix}LOGOUT_URL is not a URL"))?;
            providers.push(ProviderConfig {
                id: id.to_owned(),
                label: var(&format!("{prefix}LABEL")).unwrap_or_else(|| id.to_owned()),
                issuer,
                client_id: required("CLIENT_ID")?,
                client_secret: var(&format!("{prefix}CLIENT_SECRET")).map(SecretString::from),
                scopes: var(&format!("{prefix}SCOPES"))
                    .unwrap_or_else(|| "openid email profile".to_owned())
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect(),
                logout_url,
            });
        }
        Ok(Self {
            providers,
            public_url,
        })
    }
}

/// A started sign-in: send the browser to `url`, and keep `state` in a cookie.
#[derive(Debug, Clone)]
pub struct Begin {
    pub url: Url,
    pub state: String,
}

/// The query of a provider's redirect back to us.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// Who the provider says signed in; validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The configured provider id.
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    /// Lower-cased; `None` when the provider shared none.
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    /// Where the user was going when sign-in started.
    pub return_to: String,
}

/// Why an OpenID Connect sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("no sign-in provider is called {0:?}")]
    UnknownProvider(String),
    #[error("the sign-in expired or was already used")]
    LoginExpired,
    #[error("the provider refused the sign-in: {0}")]
    Denied(String),
    #[error("the provider could not be reached or answered wrongly: {0:#}")]
    Unavailable(anyhow::Error),
    #[error("the provider's ID token is not valid: {0}")]
    InvalidToken(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// A client built from discovery: authorization endpoint set, token and userinfo endpoints
/// as the provider has them.
type ProviderClient = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Cached {
    metadata: ProviderMetadataWithLogout,
    fetched: Instant,
}

/// The providers at run time: configuration, an HTTP client and discovered metadata.
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    metadata: tokio::sync::Mutex<HashMap<String, Cached>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("providers", &self.config.providers.len())
            .finish_non_exhaustive()
    }
}

fn hash_state(state: &str) -> Vec<u8> {
    Sha256::digest(state.as_bytes()).to_vec()
}

/// Only paths on this site: no scheme, no host, no `//evil.example`.
pub fn safe_return_to(raw: Option<&str>) -> String {
    match raw {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 1000
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

impl Oidc {
    pub fn new(config: OidcConfig) -> anyhow::Result<Self> {
        // Following redirects from a token endpoint is an SSRF risk; providers do not need it.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .user_agent(concat!("aistudio/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("could not build the HTTP client for sign-in providers")?;
        Ok(Self {
            config,
            http,
            metadata: tokio::sync::Mutex::default(),
        })
    }

    /// The configured providers, in order: `(id, label)`.
    pub fn providers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.config
            .providers
            .iter()
            .map(|p| (p.id.as_str(), p.label.as_str()))
    }

    fn provider(&self, id: &str) -> Result<&ProviderConfig, OidcError> {
        self.config
            .providers
            .iter()
            .find(|p| p.id == id)
            .ok_or_else(|| OidcError::UnknownProvider(id.to_owned()))
    }

    /// Where the provider sends the browser back to.
    pub fn redirect_url(&self, provider: &ProviderConfig) -> anyhow::Result<RedirectUrl> {
        let url = self
            .config
            .public_url
            .join(&format!("auth/oidc/{}/callback", provider.id))?;
        Ok(RedirectUrl::from_url(url))
    }

    async fn metadata(
        &self,
        provider: &ProviderConfig,
        refresh: bool,
    ) -> Result<ProviderMetadataWithLogout, OidcError> {
        let mut cache = self.metadata.lock().await;
        if let Some(cached) = cache.get(&provider.id)
            && !refresh
            && cached.fetched.elapsed() < METADATA_TTL
        {
            return Ok(cached.metadata.clone());
        }
        let issuer = IssuerUrl::new(provider.issuer.clone())
            .map_err(|err| OidcError::Unavailable(err.into()))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|err| {
                OidcError::Unavailable(
                    anyhow::Error::new(err).context(format!("discovery for {:?}", provider.id)),
                )
            })?;
        cache.insert(
            provider.id.clone(),
            Cached {
                metadata: metadata.clone(),
                fetched: Instant::now(),
            },
        );
        Ok(metadata)
    }

    fn client(
        &self,
        provider: &ProviderConfig,
        metadata: ProviderMetadataWithLogout,
    ) -> Result<ProviderClient, OidcError> {
        let redirect = self
            .redirect_url(provider)
            .map_err(OidcError::Unavailable)?;
        Ok(CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(provider.client_id.clone()),
            provider
                .client_secret
                .as_ref()
                .map(|s| ClientSecret::new(s.expose_secret().to_owned())),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in with provider `id`; `return_to` is where to land afterwards.
    pub async fn begin(
        &self,
        pool: &PgPool,
        id: &str,
        return_to: Option<&str>,
    ) -> Result<Begin, OidcError> {
        let provider = self.provider(id)?;
        let client = self.client(provider, self.metadata(provider, false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in provider.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        sqlx::query!("delete from oidc_logins where expires_at < now()")
            .execute(pool)
            .await?;
        sqlx::query!(
            r#"
            insert into oidc_logins (state_hash, provider, pkce_verifier, nonce, return_to, expires_at)
            values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))
            "#,
            hash_state(state.secret()),
            provider.id,
            verifier.secret(),
            nonce.secret(),
            safe_return_to(return_to),
            LOGIN_TTL.as_secs_f64(),
        )
        .execute(pool)
        .await?;
        Ok(Begin {
            url,
            state: state.secret().clone(),
        })
    }

    /// Completes a sign-in from the provider's redirect. `cookie_state` is the state this
    /// browser kept when it started; a callback without it (login CSRF) is refused.
    pub async fn finish(
        &self,
        pool: &PgPool,
        id: &str,
        callback: &Callback,
        cookie_state: Option<&str>,
    ) -> Result<Identity, OidcError> {
        let provider = self.provider(id)?;
        let Some(state) = callback.state.as_deref().filter(|s| !s.is_empty()) else {
            return Err(OidcError::LoginExpired);
        };
        // Taken whatever happens next: each login row is good for one attempt.
        let login = sqlx::query!(
            r#"
            delete from oidc_logins
            where state_hash = $1 and provider = $2
            returning pkce_verifier, nonce, return_to, expires_at > now() as "live!"
            "#,
            hash_state(state),
            provider.id,
        )
        .fetch_optional(pool)
        .await?;
        let Some(login) = login.filter(|login| login.live) else {
            return Err(OidcError::LoginExpired);
        };
        if cookie_state != Some(state) {
            return Err(OidcError::LoginExpired);
        }
        if let Some(error) = &callback.error {
            let detail = callback.error_description.as_deref().unwrap_or(error);
            return Err(OidcError::Denied(detail.chars().take(300).collect()));
        }
        let Some(code) = callback.code.clone().filter(|c| !c.is_empty()) else {
            return Err(OidcError::Denied("no authorization code".to_owned()));
        };

        let metadata = self.metadata(provider, false).await?;
        let client = self.client(provider, metadata)?;
        let token = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|err| OidcError::Unavailable(err.into()))?
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|err| {
                OidcError::Unavailable(anyhow::Error::new(err).context("token exchange"))
            })?;
        let id_token = token
            .id_token()
            .ok_or_else(|| OidcError::InvalidToken("the provider sent no ID token".to_owned()))?;
        let nonce = Nonce::new(login.nonce);
        let claims: CoreIdTokenClaims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // The provider may have rotated its keys since we cached them.
                let client = self.client(provider, self.metadata(provider, true).await?)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|err| OidcError::InvalidToken(err.to_string()))?
                    .clone()
            }
            Err(err) => return Err(OidcError::InvalidToken(err.to_string())),
        };

        let mut email = claims.email().map(|e| e.as_str().to_owned());
        let mut email_verified = claims.email_verified().unwrap_or(false);
        let mut name = claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned());
        if email.is_none() {
            // Some providers (Entra) leave the email out of the ID token; ask userinfo.
            if let Some(info) = self
                .user_info(&client, token.access_token(), claims.subject())
                .await
            {
                email = info.email().map(|e| e.as_str().to_owned());
                email_verified = info.email_verified().unwrap_or(false);
                name = name.or_else(|| {
                    info.name()
                        .and_then(|n| n.get(None))
                        .map(|n| n.as_str().to_owned())
                });
            }
        }
        Ok(Identity {
            provider: provider.id.clone(),
            issuer: claims.issuer().as_str().to_owned(),
            subject: claims.subject().as_str().to_owned(),
            email: email.map(|e| e.trim().to_lowercase()),
            email_verified,
            name: name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
            return_to: login.return_to,
        })
    }

    async fn user_info(
        &self,
        client: &ProviderClient,
        access_token: &AccessToken,
        subject: &openidconnect::SubjectIdentifier,
    ) -> Option<CoreUserInfoClaims> {
        let request = client
            .user_info(access_token.clone(), Some(subject.clone()))
            .ok()?;
        match request.request_async(&self.http).await {
            Ok(info) => Some(info),
            Err(err) => {
                tracing::warn!(error = %err, "userinfo request failed");
                None
            }
        }
    }

    /// Where to send the browser to end its session at provider `id` too, then come back to
    /// `after`; `None` if the provider has no sign-out endpoint (or cannot be reached).
    pub async fn logout_url(&self, id: &str, after: &str) -> Option<Url> {
        let provider = self.provider(id).ok()?;
        let after = self.config.public_url.join(after).ok()?;
        if let Some(logout) = &provider.logout_url {
            let mut url = logout.clone();
            url.query_pairs_mut()
                .append_pair("client_id", &provider.client_id)
                .append_pair("logout_uri", after.as_str());
            return Some(url);
        }
        let metadata = match self.metadata(provider, false).await {
            Ok(metadata) => metadata,
            Err(err) => {
                tracing::warn!(error = %err, provider = %id, "no federated sign-out");
                return None;
            }
        };
        let endpoint: EndSessionUrl = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_client_id(ClientId::new(provider.client_id.clone()))
                .set_post_logout_redirect_uri(openidconnect::PostLogoutRedirectUrl::from_url(after))
                .http_get_url(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> anyhow::Result<OidcConfig> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        OidcConfig::from_lookup(Url::parse("http://127.0.0.1:3000/").unwrap(), |name| {
            vars.get(name).cloned()
        })
    }

    #[test]
    fn providers_are_read_per_id() {
        let config = config(&[
            ("OIDC_PROVIDERS", "google, school-idp"),
            ("OIDC_GOOGLE_ISSUER", "https://accounts.google.com"),
            ("OIDC_GOOGLE_CLIENT_ID", "g-client"),
            ("OIDC_GOOGLE_LABEL", "Google"),
            (
                "OIDC_SCHOOL_IDP_ISSUER",
                "https://login.school.example/realms/s",
            ),
            ("OIDC_SCHOOL_IDP_CLIENT_ID", "studio"),
            ("OIDC_SCHOOL_IDP_CLIENT_SECRET", "s3cret"),
            ("OIDC_SCHOOL_IDP_SCOPES", "openid email"),
        ])
        .unwrap();
        assert_eq!(config.providers.len(), 2);
        let google = &config.providers[0];
        assert_eq!(
            (google.id.as_str(), google.label.as_str()),
            ("google", "Google")
        );
        assert_eq!(google.scopes, ["openid", "email", "profile"]);
        assert!(google.client_secret.is_none());
        let school = &config.providers[1];
        assert_eq!(school.label, "school-idp");
        assert_eq!(school.scopes, ["openid", "email"]);
        assert_eq!(
            school.client_secret.as_ref().map(|s| s.expose_secret()),
            Some("s3cret")
        );
        // Secrets never show in debug output (logs).
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[test]
    fn bad_provider_settings_are_named() {
        let missing = config(&[
            ("OIDC_PROVIDERS", "kc"),
            ("OIDC_KC_ISSUER", "https://kc.example"),
        ])
        .unwrap_err();
        assert!(
            missing.to_string().contains("OIDC_KC_CLIENT_ID"),
            "{missing}"
        );
        let bad_id = config(&[("OIDC_PROVIDERS", "Bad Id")]).unwrap_err();
        assert!(bad_id.to_string().contains("not a valid id"), "{bad_id}");
        let twice = config(&[
            ("OIDC_PROVIDERS", "a,a"),
            ("OIDC_A_ISSUER", "https://a.example"),
            ("OIDC_A_CLIENT_ID", "x"),
        ])
        .unwrap_err();
        assert!(twice.to_string().contains("twice"), "{twice}");
        assert!(config(&[]).unwrap().providers.is_empty());
    }

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return_to(Some("/chat/1?x=2")), "/chat/1?x=2");
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "chat",
            "/a\nb",
        ] {
            assert_eq!(safe_return_to(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_return_to(None), "/");
    }
}
