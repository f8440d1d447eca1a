//! Running an event on a Space, through the queue API when the app has it
//! (progress, queue place, cancellation) and the call API otherwise; and
//! Gradio's cancel, sent when a call goes away before its event ended.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use super::body::{MAX_ANSWER_BYTES, check_status, read_json};
use super::client::{HF_AUTH_HEADER, Run, SpaceMeta};
use super::pool::CancelsInFlight;
use super::queue;
use super::retry::{Request, retrying};
use super::{GradioError, HfToken, Observer, SpaceClient, follow};

#[derive(Deserialize)]
struct EventId {
    event_id: String,
}

impl SpaceClient {
    /// The call API: `POST <prefix>/call/<api>`, then its event stream.
    pub(super) async fn run_call_api(
        &self,
        run: Run<'_>,
        meta: &SpaceMeta,
        api: &str,
        data: Vec<Value>,
    ) -> Result<Vec<Value>, GradioError> {
        let Run {
            slot, token, idle, ..
        } = run;
        let name = api.trim_start_matches('/');
        let submit_url = self.join(&meta.api_base, &format!("call/{name}"))?;
        let body = json!({ "data": data }).to_string();
        slot.0.wait_turn().await;
        let submitted = self
            .submit(
                &submit_url,
                &body,
                token,
                idle,
                &format!("the call to {api}"),
                &|_| {},
            )
            .await;
        slot.0.submitted();
        let event_id = submitted?;
        tracing::debug!(space = %self.space(), api, event_id, "event submitted (call API)");
        let stream_url = self.join(&meta.api_base, &format!("call/{name}/{event_id}"))?;
        let response = self
            .send(self.http.get(stream_url.clone()), token, &stream_url, idle)
            .await?;
        let response = check_status(response, &format!("the result stream of {api}")).await?;
        follow(response.bytes_stream(), idle, run.observe).await
    }

    /// The queue API: join, follow the session's data stream for our event, and
    /// cancel the event on the Space if this call is dropped before it ends
    /// (the client cancelled, the timeout struck).
    pub(super) async fn run_queued(
        &self,
        run: Run<'_>,
        meta: &SpaceMeta,
        fn_index: u64,
        data: Vec<Value>,
    ) -> Result<Vec<Value>, GradioError> {
        let Run {
            slot,
            token,
            idle,
            observe,
        } = run;
        let session_hash = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
        let join_url = self.join(&meta.api_base, "queue/join")?;
        let body = json!({
            "data": data,
            "fn_index": fn_index,
            "session_hash": session_hash,
            "trigger_id": null,
            "event_data": null,
        })
        .to_string();
        slot.0.wait_turn().await;
        let submitted = self
            .submit(&join_url, &body, token, idle, "joining the queue", observe)
            .await;
        slot.0.submitted();
        let event_id = submitted?;
        tracing::debug!(space = %self.space(), fn_index, event_id, "event submitted (queue API)");
        let mut cancel_on_drop = CancelOnDrop {
            http: self.http.clone(),
            url: self.join(&meta.api_base, "cancel")?,
            body:
                json!({ "event_id": event_id, "session_hash": session_hash, "fn_index": fn_index })
                    .to_string(),
            token: self.token_header(token),
            armed: true,
            cancels: self.cancels.clone(),
        };
        let mut stream_url = self.join(&meta.api_base, "queue/data")?;
        stream_url
            .query_pairs_mut()
            .append_pair("session_hash", &session_hash);
        let response = self
            .send(self.http.get(stream_url.clone()), token, &stream_url, idle)
            .await?;
        let response = check_status(response, "the queue's data stream").await?;
        let outcome =
            queue::follow_queue(response.bytes_stream(), &event_id, idle, observe).await?;
        // The Space ended the event itself: nothing to cancel.
        cancel_on_drop.armed = false;
        outcome
    }

    /// POSTs an event and reads its event id, retrying what may pass: a refused
    /// or reset connection (a few times), 502/503/504 (a Space that sleeps,
    /// builds or restarts) and 429 (after its Retry-After), until the call's
    /// own timeout ends it. Once the Space has given an event id, the event is
    /// accepted and is never sent again.
    async fn submit(
        &self,
        url: &Url,
        body: &str,
        token: Option<&HfToken>,
        idle: Duration,
        what: &str,
        observe: Observer<'_>,
    ) -> Result<String, GradioError> {
        let submitted = retrying(observe, Request::Event, || async {
            let request = self
                .http
                .post(url.clone())
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
            let response = self.send(request, token, url, idle).await?;
            let response = check_status(response, what).await?;
            read_json::<EventId>(response, what, MAX_ANSWER_BYTES, idle).await
        })
        .await;
        let EventId { event_id } = match submitted {
            // An unknown endpoint or fn_index: the Space may have been redeployed.
            Err(GradioError::Http {
                status: status @ (404 | 500),
                detail,
                ..
            }) => return Err(GradioError::EventRefused { status, detail }),
            other => other?,
        };
        let valid = !event_id.is_empty()
            && event_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(GradioError::Protocol {
                what: "the Space's answer to an event",
                reason: format!("{event_id:?} is not an event id"),
            });
        }
        Ok(event_id)
    }
}

/// Sends Gradio's cancel for an event when the call that made it goes away
/// before the event ended, so the Space stops working (and billing GPU time)
/// for nobody.
struct CancelOnDrop {
    http: reqwest::Client,
    url: Url,
    body: String,
    token: Option<reqwest::header::HeaderValue>,
    armed: bool,
    cancels: Arc<CancelsInFlight>,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(std::mem::take(&mut self.body))
            .timeout(CANCEL_TIMEOUT);
        if let Some(value) = self.token.take() {
            request = request.header(HF_AUTH_HEADER, value);
        }
        let url = self.url.clone();
        let in_flight = self.cancels.start();
        runtime.spawn(async move {
            let _in_flight = in_flight;
            match request.send().await {
                Ok(response) => tracing::info!(%url, status = response.status().as_u16(), "cancelled the event on the Space"),
                Err(e) => tracing::warn!(%url, "could not cancel the event on the Space: {e}"),
            }
        });
    }
}

/// How long a cancel request may take.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);
