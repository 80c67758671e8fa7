//! Which session store the environment names: `REDIS_URL`,
//! `REDIS_CLUSTER_URLS` or `DATABASE_URL` (at most one of them).

use crate::config::{ConfigError, ConfigProblem};

use super::{ENV_REDIS_URL, WebAuth};

/// Environment variable holding the seed nodes of the Redis or Valkey
/// cluster that keeps the sessions (comma-separated `redis://` or
/// `rediss://` URLs).
pub const ENV_REDIS_CLUSTER_URLS: &str = "REDIS_CLUSTER_URLS";
/// Environment variable holding the URL of the PostgreSQL database that
/// keeps the sessions (`postgres://…`).
pub const ENV_DATABASE_URL: &str = "DATABASE_URL";

/// The server-side session store the configuration names.
///
/// ```
/// use scalekit_core::web::SessionStoreUrl;
///
/// let vars = |name: &str| match name {
///     "DATABASE_URL" => Some("postgres://app@127.0.0.1/app".to_owned()),
///     _ => None,
/// };
/// assert_eq!(
///     SessionStoreUrl::from_lookup(vars)?,
///     Some(SessionStoreUrl::Postgres("postgres://app@127.0.0.1/app".into()))
/// );
/// let two = |name: &str| match name {
///     "REDIS_URL" => Some("redis://127.0.0.1/".to_owned()),
///     "DATABASE_URL" => Some("postgres://app@127.0.0.1/app".to_owned()),
///     _ => None,
/// };
/// let err = SessionStoreUrl::from_lookup(two).unwrap_err();
/// assert_eq!(err.to_string(), "REDIS_URL and DATABASE_URL are both set: choose one session store and unset the other");
/// # Ok::<(), scalekit_core::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionStoreUrl {
    /// `REDIS_URL`: one Redis (or Valkey).
    Redis(String),
    /// `REDIS_CLUSTER_URLS`: the seed nodes of a Redis or Valkey cluster,
    /// comma-separated.
    RedisCluster(String),
    /// `DATABASE_URL`: a PostgreSQL database.
    Postgres(String),
}

impl SessionStoreUrl {
    /// Reads `REDIS_URL`, `REDIS_CLUSTER_URLS` and `DATABASE_URL` through
    /// `lookup` (empty values count as unset): `None` when none is set
    /// (cookie-only sessions), an error naming both when two are.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let mut found: Option<(&'static str, Self)> = None;
        type Kind = fn(String) -> SessionStoreUrl;
        let kinds: [(&'static str, Kind); 3] = [
            (ENV_REDIS_URL, SessionStoreUrl::Redis),
            (ENV_REDIS_CLUSTER_URLS, SessionStoreUrl::RedisCluster),
            (ENV_DATABASE_URL, SessionStoreUrl::Postgres),
        ];
        for (name, kind) in kinds {
            let Some(value) = lookup(name).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            if let Some((first, _)) = found {
                return Err(ConfigError::new(
                    first,
                    ConfigProblem::ConflictsWith { other: name },
                ));
            }
            found = Some((name, kind(value.trim().to_owned())));
        }
        Ok(found.map(|(_, url)| url))
    }

    /// The variable this setting comes from.
    pub fn variable(&self) -> &'static str {
        match self {
            SessionStoreUrl::Redis(_) => ENV_REDIS_URL,
            SessionStoreUrl::RedisCluster(_) => ENV_REDIS_CLUSTER_URLS,
            SessionStoreUrl::Postgres(_) => ENV_DATABASE_URL,
        }
    }
}

impl WebAuth {
    /// Keeps sessions in the store `url` names (see
    /// [`WebAuth::redis_sessions`], [`WebAuth::redis_cluster_sessions`],
    /// [`WebAuth::postgres_sessions`]); the error names the variable when
    /// the value is not understood, or when this build lacks the store's
    /// feature. Nothing is sent to the store here.
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::{SessionStoreUrl, WebAuth};
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?;
    /// let err = web
    ///     .sessions_in(&SessionStoreUrl::Postgres("redis://127.0.0.1/".into()))
    ///     .unwrap_err();
    /// assert_eq!(err.setting(), "DATABASE_URL");
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    pub fn sessions_in(self, url: &SessionStoreUrl) -> Result<Self, ConfigError> {
        match url {
            #[cfg(feature = "redis")]
            SessionStoreUrl::Redis(url) => self.redis_sessions(url),
            #[cfg(feature = "redis-cluster")]
            SessionStoreUrl::RedisCluster(urls) => self.redis_cluster_sessions(urls),
            #[cfg(feature = "postgres")]
            SessionStoreUrl::Postgres(url) => self.postgres_sessions(url),
            #[allow(unreachable_patterns)]
            other => Err(ConfigError::new(
                other.variable(),
                match other {
                    SessionStoreUrl::Redis(_) => ConfigProblem::RedisNotBuilt,
                    SessionStoreUrl::RedisCluster(_) => ConfigProblem::NotBuilt {
                        feature: "redis-cluster",
                    },
                    SessionStoreUrl::Postgres(_) => ConfigProblem::NotBuilt {
                        feature: "postgres",
                    },
                },
            )),
        }
    }

    /// Keeps sessions in the Redis or Valkey cluster whose seed nodes
    /// `urls` lists (comma-separated `redis://host:port`, or `rediss://`
    /// for TLS): as [`WebAuth::redis_sessions`], each session's keys in
    /// one hash slot (see
    /// [`RedisClusterStore`](crate::session::RedisClusterStore)). The
    /// error names `REDIS_CLUSTER_URLS` for a value that is not such a
    /// list (nothing is sent to the cluster here).
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::WebAuth;
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?
    ///     .redis_cluster_sessions("redis://10.0.0.1:6379,redis://10.0.0.2:6379")?;
    /// assert_eq!(web.sessions().mode(), scalekit_core::session::SessionMode::ServerSide);
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    #[cfg(feature = "redis-cluster")]
    pub fn redis_cluster_sessions(self, urls: &str) -> Result<Self, ConfigError> {
        let store = crate::session::RedisClusterStore::open_list(urls).map_err(|_| {
            ConfigError::new(
                ENV_REDIS_CLUSTER_URLS,
                ConfigProblem::NotARedisClusterUrlList,
            )
        })?;
        Ok(self.session_store(std::sync::Arc::new(store)))
    }

    /// Keeps sessions in the PostgreSQL database at `url`
    /// (`postgres://user:password@host:port/database`): as
    /// [`WebAuth::redis_sessions`], in the tables of
    /// [`PostgresStore`](crate::session::PostgresStore), created at first
    /// use. The error names `DATABASE_URL` for a value that is not such a
    /// URL (nothing is sent to the database here).
    ///
    /// ```
    /// use scalekit_core::ScalekitConfig;
    /// use scalekit_core::web::WebAuth;
    ///
    /// let config = ScalekitConfig::new("https://acme.scalekit.dev", "skc_1", "secret")?;
    /// let web = WebAuth::with_cookie_sessions(config, "https://app.example.com", "a session secret of at least 32 bytes")?
    ///     .postgres_sessions("postgres://app:secret@127.0.0.1:5432/app")?;
    /// assert_eq!(web.sessions().mode(), scalekit_core::session::SessionMode::ServerSide);
    /// # Ok::<(), scalekit_core::ConfigError>(())
    /// ```
    #[cfg(feature = "postgres")]
    pub fn postgres_sessions(self, url: &str) -> Result<Self, ConfigError> {
        let store = crate::session::PostgresStore::open(url)
            .map_err(|_| ConfigError::new(ENV_DATABASE_URL, ConfigProblem::NotAPostgresUrl))?;
        Ok(self.session_store(std::sync::Arc::new(store)))
    }
}
