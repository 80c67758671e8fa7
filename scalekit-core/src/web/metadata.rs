//! The RFC 9728 protected-resource metadata document.

use super::{WebAuth, WebResponse};

impl WebAuth {
    /// The RFC 9728 document, when this application is a protected resource.
    pub fn resource_metadata(&self) -> Option<WebResponse> {
        let resource = self.resource.as_ref()?;
        let mut doc = serde_json::json!({
            "resource": resource.resource,
            "authorization_servers": [self
                .authorization_server
                .as_deref()
                .unwrap_or(self.scalekit.config().environment_url())],
            "bearer_methods_supported": ["header"],
            "scopes_supported": resource.scopes_supported,
        });
        if let (Some(docs), Some(map)) = (&resource.documentation, doc.as_object_mut()) {
            map.insert("resource_documentation".into(), serde_json::json!(docs));
        }
        Some(WebResponse::Json {
            status: 200,
            body: doc.to_string(),
        })
    }
}
