//! Logging in to an app launched with `auth=...`.
//!
//! Such an app answers 401 to everything until the client logs in (`POST
//! /login` with a username and password, answered with a session cookie,
//! which the Space's cookie jar keeps). Gradio keeps its sessions in
//! memory, so they end when the app restarts: a request the app refuses
//! with 401 logs in again and is sent once more. The app did not take a
//! refused request, so an event is never submitted twice.
//!
//! The password is read when logging in, from the environment or a file,
//! never from spaces.toml, and it appears in no log or error.

use std::path::PathBuf;

use reqwest::header::CONTENT_TYPE;

use super::GradioError;

/// Where a login's password comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PasswordSource {
    /// An environment variable's name.
    Env(String),
    /// A file holding the password (its last line break is not part of it).
    File(PathBuf),
}

impl std::fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordSource::Env(name) => write!(f, "the environment variable {name}"),
            PasswordSource::File(path) => write!(f, "the file {}", path.display()),
        }
    }
}

/// A user and where the password is, for one Space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Login {
    pub(crate) username: String,
    pub(crate) password: PasswordSource,
}

impl Login {
    fn password(&self) -> Result<String, GradioError> {
        let unreadable = |reason: String| GradioError::LoginSecret {
            source_of: self.password.to_string(),
            reason,
        };
        match &self.password {
            PasswordSource::Env(name) => match std::env::var(name) {
                Ok(value) if !value.is_empty() => Ok(value),
                Ok(_) => Err(unreadable("it is empty".into())),
                Err(_) => Err(unreadable("it is not set".into())),
            },
            PasswordSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))?;
                let password = text.strip_suffix('\n').unwrap_or(&text);
                let password = password.strip_suffix('\r').unwrap_or(password);
                if password.is_empty() {
                    return Err(unreadable("it is empty".into()));
                }
                Ok(password.to_string())
            }
        }
    }

    /// Logs in at `url` (the app's `/login`); the session cookie the app
    /// answers with goes into `http`'s jar.
    pub(super) async fn log_in(
        &self,
        http: &reqwest::Client,
        url: &url::Url,
        timeout: std::time::Duration,
    ) -> Result<(), GradioError> {
        let password = self.password()?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", &self.username)
            .append_pair("password", &password)
            .finish();
        drop(password);
        let response = http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| GradioError::transport(url.as_str(), &e))?;
        match response.status().as_u16() {
            200..=299 => {
                tracing::info!(user = %self.username, "logged in to the app");
                Ok(())
            }
            400 | 401 | 403 => Err(GradioError::LoginRefused {
                user: self.username.clone(),
            }),
            status => Err(GradioError::Http {
                what: "the app's login".into(),
                status,
                detail: String::new(),
                retry_after: None,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_comes_from_a_file_or_the_environment_and_never_shows() {
        let dir = std::env::temp_dir().join(format!("spaces-mcp-login-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("password");
        std::fs::write(&file, "s3cret\n").unwrap();
        let login = Login {
            username: "alice".into(),
            password: PasswordSource::File(file.clone()),
        };
        assert_eq!(login.password().unwrap(), "s3cret");
        let missing = Login {
            username: "alice".into(),
            password: PasswordSource::Env("SPACES_MCP_TEST_NO_SUCH_VARIABLE".into()),
        };
        let err = missing.password().unwrap_err().to_string();
        assert!(
            err.contains("SPACES_MCP_TEST_NO_SUCH_VARIABLE") && err.contains("not set"),
            "{err}"
        );
        assert!(!format!("{login:?}").contains("s3cret"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
