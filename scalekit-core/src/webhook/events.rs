//! Webhook events: the envelope ([`WebhookEvent`]) and its type
//! ([`EventType`]).

use serde::{Deserialize, Deserializer, Serialize};

/// A webhook event type: the known ones, and any other as `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventType {
    /// `organization.sso_enabled`.
    OrganizationSsoEnabled,
    /// `organization.sso_disabled`.
    OrganizationSsoDisabled,
    /// `organization.directory_enabled`.
    OrganizationDirectoryEnabled,
    /// `organization.directory_disabled`.
    OrganizationDirectoryDisabled,
    /// `organization.directory.user_created`.
    DirectoryUserCreated,
    /// `organization.directory.user_updated`.
    DirectoryUserUpdated,
    /// `organization.directory.user_deleted`.
    DirectoryUserDeleted,
    /// `organization.directory.group_created`.
    DirectoryGroupCreated,
    /// `organization.directory.group_updated`.
    DirectoryGroupUpdated,
    /// `organization.directory.group_deleted`.
    DirectoryGroupDeleted,
    /// Any other type (`user.*`, `membership.*`, `session.*`, …), as sent.
    Other(String),
}

const KNOWN_EVENTS: [(&str, EventType); 10] = [
    (
        "organization.sso_enabled",
        EventType::OrganizationSsoEnabled,
    ),
    (
        "organization.sso_disabled",
        EventType::OrganizationSsoDisabled,
    ),
    (
        "organization.directory_enabled",
        EventType::OrganizationDirectoryEnabled,
    ),
    (
        "organization.directory_disabled",
        EventType::OrganizationDirectoryDisabled,
    ),
    (
        "organization.directory.user_created",
        EventType::DirectoryUserCreated,
    ),
    (
        "organization.directory.user_updated",
        EventType::DirectoryUserUpdated,
    ),
    (
        "organization.directory.user_deleted",
        EventType::DirectoryUserDeleted,
    ),
    (
        "organization.directory.group_created",
        EventType::DirectoryGroupCreated,
    ),
    (
        "organization.directory.group_updated",
        EventType::DirectoryGroupUpdated,
    ),
    (
        "organization.directory.group_deleted",
        EventType::DirectoryGroupDeleted,
    ),
];

impl EventType {
    /// The wire name (`organization.directory.user_created`, …).
    pub fn as_str(&self) -> &str {
        match self {
            EventType::Other(s) => s,
            known => KNOWN_EVENTS
                .iter()
                .find(|(_, t)| t == known)
                .map(|(n, _)| *n)
                .unwrap_or(""),
        }
    }

    /// The part before the first dot (`organization`, `user`, …).
    pub fn category(&self) -> &str {
        let name = self.as_str();
        name.split('.').next().unwrap_or(name)
    }
}

impl From<&str> for EventType {
    fn from(name: &str) -> Self {
        KNOWN_EVENTS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| EventType::Other(name.to_owned()))
    }
}

impl<'de> Deserialize<'de> for EventType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(EventType::from(&*name))
    }
}

impl Serialize for EventType {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The envelope of a webhook event.
///
/// ```
/// use scalekit_core::webhook::{EventType, WebhookEvent};
///
/// let event: WebhookEvent = serde_json::from_str(r#"{"id":"evt_1","type":"user.signup","data":{"x":1}}"#).unwrap();
/// assert_eq!(event.event_type, EventType::Other("user.signup".into()));
/// assert_eq!(event.event_type.category(), "user");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// Envelope version.
    #[serde(default)]
    pub spec_version: Option<String>,
    /// Event id (`evt_…`).
    pub id: String,
    /// The kind of object in `data`.
    #[serde(default)]
    pub object: Option<String>,
    /// The environment.
    #[serde(default)]
    pub environment_id: Option<String>,
    /// When it happened.
    #[serde(default)]
    pub occurred_at: Option<String>,
    /// The organization concerned.
    #[serde(default)]
    pub organization_id: Option<String>,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// The event payload.
    #[serde(default)]
    pub data: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for (name, _) in KNOWN_EVENTS.iter() {
            assert_eq!(EventType::from(*name).as_str(), *name);
        }
        assert_eq!(
            EventType::from("membership.created").category(),
            "membership"
        );
    }
}
