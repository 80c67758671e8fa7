//! Tool execution through a connected account (the SDK's `tools`).

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::client::decode;
use crate::{ManagementClient, ManagementError};

/// A tool to run on a user's behalf.
///
/// ```
/// use scalekit_management::ExecuteToolRequest;
///
/// let request = ExecuteToolRequest::new("gmail_fetch_mails", "user_42")
///     .input("max_results", 5)
///     .connection_name("gmail");
/// assert_eq!(
///     serde_json::to_value(&request).unwrap(),
///     serde_json::json!({
///         "tool_name": "gmail_fetch_mails",
///         "identifier": "user_42",
///         "connection_name": "gmail",
///         "tool_input": {"max_results": 5}
///     })
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ExecuteToolRequest {
    /// The tool (required).
    pub tool_name: String,
    /// The connected account's identifier to act for (required).
    pub identifier: String,
    /// The connection (connector) to use, when the identifier has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connection_name: Option<String>,
    /// The tool's input.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub tool_input: Map<String, Value>,
}

impl ExecuteToolRequest {
    /// Runs `tool_name` for the connected account of `identifier`.
    pub fn new(tool_name: impl Into<String>, identifier: impl Into<String>) -> Self {
        ExecuteToolRequest {
            tool_name: tool_name.into(),
            identifier: identifier.into(),
            ..Default::default()
        }
    }

    /// Sets the connection to use.
    pub fn connection_name(mut self, name: impl Into<String>) -> Self {
        self.connection_name = Some(name.into());
        self
    }

    /// Adds an input field.
    pub fn input(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.tool_input.insert(name.into(), value.into());
        self
    }
}

/// What a tool answered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct ExecuteToolResponse {
    /// The tool's output.
    pub data: Map<String, Value>,
    /// The run's identifier.
    pub execution_id: Option<String>,
}

/// The tool operations: `client.tools()`.
#[derive(Debug, Clone, Copy)]
pub struct Tools<'a> {
    pub(crate) client: &'a ManagementClient,
}

impl Tools<'_> {
    /// Runs a tool (the SDK's `execute_tool`). Not retried after the request
    /// may have reached the platform: a tool may act (send a mail) only once.
    pub async fn execute_tool(
        &self,
        request: &ExecuteToolRequest,
    ) -> Result<ExecuteToolResponse, ManagementError> {
        let bytes = self
            .client
            .call_json(Method::POST, "/api/v1/execute_tool", &[], request)
            .await?;
        decode(&bytes)
    }
}

impl ManagementClient {
    /// The tool operations.
    pub fn tools(&self) -> Tools<'_> {
        Tools { client: self }
    }
}
