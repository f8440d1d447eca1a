//! An MCP client that speaks the tasks extension, for the integration tests:
//! rmcp's own client over Streamable HTTP, declaring
//! `io.modelcontextprotocol/tasks`. The official Python SDK has no tasks yet,
//! so tests/test_jobs.py drives this one.
//!
//! Usage: tasks_client URL [--header "Name: value"]... COMMAND
//!   call TOOL JSON_ARGUMENTS   the answer: a result, or a task
//!   get TASK_ID                tasks/get
//!   cancel TASK_ID             tasks/cancel
//!   poll TASK_ID SECONDS       tasks/get until the task ends (or SECONDS pass)
//!
//! Prints one JSON object on stdout: {"ok": <the result>} or {"error":
//! {"code": …, "message": …}}.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, ClientCapabilities, ClientConfig,
    GetTaskParams, Implementation, JsonObject,
};
use rmcp::service::ServiceError;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return Err("usage: tasks_client URL [--header 'Name: value']... COMMAND ...".into());
    }
    let url = args.remove(0);
    let mut headers = HashMap::new();
    while args.first().is_some_and(|a| a == "--header") {
        args.remove(0);
        let header = args.remove(0);
        let (name, value) = header
            .split_once(':')
            .ok_or("a header is \"Name: value\"")?;
        headers.insert(name.trim().parse()?, value.trim().parse()?);
    }
    let mut config = StreamableHttpClientTransportConfig::with_uri(url);
    config.custom_headers = headers;
    let transport = StreamableHttpClientTransport::from_config(config);
    let client = ClientConfig::new(
        ClientCapabilities::builder().enable_tasks().build(),
        Implementation::new("spaces-mcp-tasks-test-client", "0"),
    )
    .serve(transport)
    .await?;

    let command: Vec<&str> = args.iter().map(String::as_str).collect();
    let answer = match command.as_slice() {
        ["call", tool, arguments] => {
            let arguments: JsonObject = serde_json::from_str(arguments)?;
            let params = CallToolRequestParams::new(tool.to_string()).with_arguments(arguments);
            client.call_tool_once(params).await.map(|r| match r {
                CallToolResponse::Complete(result) => json!(result),
                CallToolResponse::Task(task) => json!(task),
                CallToolResponse::InputRequired(input) => json!(input),
                _ => json!({ "unexpected": true }),
            })
        }
        ["get", id] => client
            .get_task(GetTaskParams::new(id.to_string()))
            .await
            .map(|r| json!(r)),
        ["cancel", id] => client
            .cancel_task(CancelTaskParams::new(id.to_string()))
            .await
            .map(|()| json!({})),
        ["poll", id, seconds] => {
            let deadline = Instant::now() + Duration::from_secs_f64(seconds.parse()?);
            loop {
                let task = client.get_task(GetTaskParams::new(id.to_string())).await;
                let done = match &task {
                    Ok(t) => !matches!(json!(t)["status"].as_str(), Some("working")),
                    Err(_) => true,
                };
                if done || Instant::now() > deadline {
                    break task.map(|r| json!(r));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        _ => return Err(format!("unknown command {command:?}").into()),
    };
    let out = match answer {
        Ok(value) => json!({ "ok": value }),
        Err(ServiceError::McpError(e)) => {
            json!({ "error": { "code": e.code.0, "message": e.message, "data": e.data } })
        }
        Err(e) => json!({ "error": { "code": Value::Null, "message": e.to_string() } }),
    };
    println!("{out}");
    client.cancel().await?;
    Ok(())
}
