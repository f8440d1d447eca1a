//! The checks of `[settings]` and of the limits any table may set: one
//! helper per kind of check, each error naming the file, the key and what
//! was expected.

use std::time::Duration;

use indexmap::IndexMap;

use super::*;

pub(super) struct Validator<'a> {
    pub(super) origin: &'a str,
}

impl Validator<'_> {
    /// A byte count: `default` when absent, else within `range`.
    pub(super) fn bytes_within(
        &self,
        key: &str,
        value: Option<u64>,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ConfigError> {
        self.within(key, value, default, range, "bytes")
    }

    /// A count of `unit`: `default` when absent, else within `range`.
    pub(super) fn count_within(
        &self,
        key: &str,
        value: Option<u64>,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
        unit: &str,
    ) -> Result<usize, ConfigError> {
        let (start, end) = (*range.start() as u64, *range.end() as u64);
        let n = self.within(key, value, default as u64, start..=end, unit)?;
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    /// `default` when absent, else `value` within `range` (of `unit`).
    pub(super) fn within(
        &self,
        key: &str,
        value: Option<u64>,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
        unit: &str,
    ) -> Result<u64, ConfigError> {
        match value {
            None => Ok(default),
            Some(n) if range.contains(&n) => Ok(n),
            Some(n) => Err(self.invalid(
                key,
                format!(
                    "expected {} to {} {unit}, found {n}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// A duration in seconds: `default` when absent, else within `range`.
    pub(super) fn seconds_within(
        &self,
        key: &str,
        value: Option<f64>,
        default: Duration,
        range: std::ops::RangeInclusive<f64>,
    ) -> Result<Duration, ConfigError> {
        match value {
            None => Ok(default),
            Some(s) if s.is_finite() && range.contains(&s) => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(self.invalid(
                key,
                format!(
                    "expected {} to {} seconds, found {s}",
                    range.start(),
                    range.end()
                ),
            )),
        }
    }

    /// The `[hub]` table: each list entry an owner or an `owner/name`.
    pub(super) fn hub(&self, raw: RawHub) -> Result<HubSettings, ConfigError> {
        for (key, list) in [("hub.allow", &raw.allow), ("hub.deny", &raw.deny)] {
            for entry in list {
                let parts: Vec<&str> = entry.split('/').collect();
                let valid = (1..=2).contains(&parts.len())
                    && parts.iter().all(|p| {
                        !p.is_empty()
                            && p.chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                    });
                if !valid {
                    return Err(self.invalid(
                        key,
                        format!("expected owners (\"alice\") or Space ids (\"alice/painter\"), found {entry:?}"),
                    ));
                }
            }
        }
        Ok(HubSettings {
            tools: raw.tools.unwrap_or(false),
            allow: raw.allow,
            deny: raw.deny,
            max_spaces_per_hour: self.count_within(
                "hub.max_spaces_per_hour",
                raw.max_spaces_per_hour,
                DEFAULT_HUB_SPACES_PER_HOUR,
                1..=10_000,
                "Spaces",
            )?,
        })
    }

    /// A content profile by name; `auto` (choose by client) is `None`.
    pub(super) fn content(
        &self,
        key: &str,
        name: &str,
    ) -> Result<Option<ContentProfile>, ConfigError> {
        if name.trim().eq_ignore_ascii_case("auto") {
            return Ok(None);
        }
        ContentProfile::parse(name).map(Some).ok_or_else(|| {
            self.invalid(
                key,
                format!(
                    "expected {} (or \"auto\", to choose by client), found {name:?}",
                    ContentProfile::NAMES
                ),
            )
        })
    }

    pub(super) fn invalid(
        &self,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            origin: self.origin.to_string(),
            key: key.into(),
            message: message.into(),
        }
    }

    pub(super) fn settings(&self, raw: RawSettings) -> Result<Settings, ConfigError> {
        let limits = self.limits("settings", &raw.limits, &CallLimits::default())?;
        let jobs = self.jobs(&raw)?;
        let saved = self.saved(&raw)?;
        let space_concurrency = self.count_within(
            "settings.space_concurrency",
            raw.space_concurrency,
            DEFAULT_SPACE_CONCURRENCY,
            1..=1024,
            "calls per Space",
        )?;
        Ok(Settings {
            jobs,
            limits,
            store: raw.store.filter(|s| !s.trim().is_empty()),
            diagnostics: raw.diagnostics.unwrap_or(false),
            app_view: raw.app_view.unwrap_or(true),
            content: match raw.content.as_deref() {
                None => None,
                Some(name) => self.content("settings.content", name)?,
            },
            clients: IndexMap::new(),
            hub: HubSettings::default(),
            store_ca: raw.store_ca,
            store_lease: self.seconds_within(
                "settings.store_lease",
                raw.store_lease,
                DEFAULT_STORE_LEASE,
                1.0..=300.0,
            )?,
            store_prefix: self.store_prefix(raw.store_prefix)?,
            private_output_dir: raw.output_dir.is_none(),
            output_dir: raw
                .output_dir
                .unwrap_or_else(crate::dirs::default_output_dir),
            client_hf_token: raw.client_hf_token.unwrap_or(false),
            input_dirs: raw.input_dirs,
            saved,
            discovery_wait: self.seconds_within(
                "settings.discovery_wait",
                raw.discovery_wait,
                DEFAULT_DISCOVERY_WAIT,
                0.0..=600.0,
            )?,
            space_concurrency,
            slots_per_caller: self.count_within(
                "settings.slots_per_caller",
                raw.slots_per_caller,
                space_concurrency.saturating_sub(1).max(1),
                1..=space_concurrency,
                "calls per Space and caller (at most space_concurrency)",
            )?,
        })
    }

    /// `store_prefix`: what the fleet's keys start with.
    fn store_prefix(&self, raw: Option<String>) -> Result<String, ConfigError> {
        match raw {
            None => Ok("spaces-mcp".to_string()),
            Some(p)
                if !p.is_empty()
                    && p.len() <= 64
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) =>
            {
                Ok(p)
            }
            Some(p) => Err(self.invalid(
                "settings.store_prefix",
                format!("expected 1 to 64 letters, digits, '-', '_' or '.', found {p:?}"),
            )),
        }
    }

    /// The bounds on saved files and uploads.
    fn saved(&self, raw: &RawSettings) -> Result<SavedLimits, ConfigError> {
        Ok(SavedLimits {
            retention: match raw.output_retention_hours {
                None => Some(Duration::from_secs(24 * 3600)),
                Some(0.0) => None,
                Some(h) if h.is_finite() && h > 0.0 && h <= 24.0 * 365.0 => {
                    Some(Duration::from_secs_f64(h * 3600.0))
                }
                Some(h) => {
                    return Err(self.invalid(
                        "settings.output_retention_hours",
                        format!("expected 0 (keep) to 8760 hours, found {h}"),
                    ));
                }
            },
            max_bytes: self.bytes_within(
                "settings.output_max_bytes",
                raw.output_max_bytes,
                DEFAULT_OUTPUT_MAX_BYTES,
                1024 * 1024..=MAX_OUTPUT_BYTES,
            )?,
            read_max_bytes: self.bytes_within(
                "settings.resource_read_max_bytes",
                raw.resource_read_max_bytes,
                DEFAULT_RESOURCE_READ_MAX_BYTES,
                4096..=MAX_INLINE_BYTES,
            )?,
            upload_max_bytes: self.bytes_within(
                "settings.upload_max_bytes",
                raw.upload_max_bytes,
                DEFAULT_UPLOAD_MAX_BYTES,
                1024..=MAX_INLINE_BYTES,
            )?,
        })
    }

    pub(super) fn jobs(&self, raw: &RawSettings) -> Result<JobSettings, ConfigError> {
        let base = JobSettings::default();
        Ok(JobSettings {
            // Up to a week.
            ttl: self.seconds_within("settings.job_ttl", raw.job_ttl, base.ttl, 1.0..=604_800.0)?,
            max_results: self.count_within(
                "settings.job_store_max_results",
                raw.job_store_max_results,
                base.max_results,
                1..=1_000_000,
                "jobs",
            )?,
            max_bytes: self.bytes_within(
                "settings.job_store_max_bytes",
                raw.job_store_max_bytes,
                base.max_bytes,
                65_536..=MAX_JOB_STORE_BYTES,
            )?,
            max_per_owner: self.count_within(
                "settings.max_jobs_per_owner",
                raw.max_jobs_per_owner,
                base.max_per_owner,
                1..=100_000,
                "jobs",
            )?,
            max_running: self.count_within(
                "settings.max_jobs",
                raw.max_jobs,
                base.max_running,
                1..=1_000_000,
                "jobs",
            )?,
        })
    }

    pub(super) fn limits(
        &self,
        table: &str,
        raw: &RawLimits,
        base: &CallLimits,
    ) -> Result<CallLimits, ConfigError> {
        let seconds = |key: &str, value: Option<f64>, base: Duration| match value {
            None => Ok(base),
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(self.invalid(
                format!("{table}.{key}"),
                format!("expected a number of seconds above 0 and at most 86400, found {s}"),
            )),
        };
        let bytes = |key: &str, value: Option<u64>, base: u64, max: u64| match value {
            None => Ok(base),
            Some(n) if (1..=max).contains(&n) => Ok(n),
            Some(n) => Err(self.invalid(
                format!("{table}.{key}"),
                format!("expected a size in bytes from 1 to {max}, found {n}"),
            )),
        };
        Ok(CallLimits {
            timeout: seconds("timeout", raw.timeout, base.timeout)?,
            idle_timeout: seconds("idle_timeout", raw.idle_timeout, base.idle_timeout)?,
            inline_max_bytes: bytes(
                "inline_max_bytes",
                raw.inline_max_bytes,
                base.inline_max_bytes,
                MAX_INLINE_BYTES,
            )?,
            download_max_bytes: bytes(
                "download_max_bytes",
                raw.download_max_bytes,
                base.download_max_bytes,
                MAX_DOWNLOAD_BYTES,
            )?,
            max_result_bytes: self.bytes_within(
                &format!("{table}.max_result_bytes"),
                raw.max_result_bytes,
                base.max_result_bytes,
                4096..=MAX_INLINE_BYTES,
            )?,
            preview_max_side: self.within(
                &format!("{table}.preview_max_side"),
                raw.preview_max_side,
                u64::from(base.preview_max_side),
                64..=8000,
                "pixels",
            )? as u32,
            detach_after: match raw.detach_after {
                None => base.detach_after,
                Some(0.0) => None,
                Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => {
                    Some(Duration::from_secs_f64(s))
                }
                Some(s) => {
                    return Err(self.invalid(
                        format!("{table}.detach_after"),
                        format!("expected 0 (never) or seconds up to 86400, found {s}"),
                    ));
                }
            },
            task_support: raw.task_support.unwrap_or(base.task_support),
        })
    }
}
