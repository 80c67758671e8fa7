//! An organization's domains: create, get, list, delete (the SDK's
//! `client.domain`).

use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{decode_wrapped, segment};
use crate::pagination::decode_page;
use crate::{ManagementClient, ManagementError};

/// A domain of an organization.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Domain {
    /// The platform's identifier.
    pub id: String,
    /// The domain name (`acme.com`).
    pub domain: String,
    /// The organization it belongs to.
    pub organization_id: String,
    /// What it is used for.
    pub domain_type: DomainType,
    /// Whether its ownership is proven.
    pub verification_status: VerificationStatus,
    /// When it was created (RFC 3339).
    pub create_time: Option<String>,
    /// When it was last changed (RFC 3339).
    pub update_time: Option<String>,
}

/// What a domain is used for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum DomainType {
    /// Users with an address of the domain may join the organization.
    AllowedEmailDomain,
    /// Sign-ins with an address of the domain go to the organization's SSO.
    OrganizationDomain,
    /// A type this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// Whether a domain's ownership is proven.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum VerificationStatus {
    /// Not yet.
    Pending,
    /// Proven.
    Verified,
    /// The proof failed.
    Failed,
    /// Proven without a DNS record.
    AutoVerified,
    /// A status this client does not know (or none was sent).
    #[default]
    #[serde(other)]
    Unknown,
}

/// A new domain.
///
/// ```
/// use scalekit_management::{CreateDomainRequest, DomainType};
///
/// let request = CreateDomainRequest::new("acme.com").domain_type(DomainType::OrganizationDomain);
/// assert_eq!(
///     serde_json::to_value(&request).unwrap(),
///     serde_json::json!({"domain": "acme.com", "domain_type": "ORGANIZATION_DOMAIN"})
/// );
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CreateDomainRequest {
    /// The domain name (required).
    pub domain: String,
    /// What it is used for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain_type: Option<DomainType>,
}

impl CreateDomainRequest {
    /// The domain `name`.
    pub fn new(name: impl Into<String>) -> Self {
        CreateDomainRequest {
            domain: name.into(),
            domain_type: None,
        }
    }

    /// Sets what it is used for.
    pub fn domain_type(mut self, domain_type: DomainType) -> Self {
        self.domain_type = Some(domain_type);
        self
    }
}

/// The domain operations: `client.domains()`.
#[derive(Debug, Clone, Copy)]
pub struct Domains<'a> {
    pub(crate) client: &'a ManagementClient,
}

fn domains_path(organization_id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "/api/v1/organizations/{}/domains",
        segment(organization_id, "organization id")?
    ))
}

fn domain_path(organization_id: &str, id: &str) -> Result<String, ManagementError> {
    Ok(format!(
        "{}/{}",
        domains_path(organization_id)?,
        segment(id, "domain id")?
    ))
}

impl Domains<'_> {
    /// Adds a domain to an organization (the SDK's `createDomain`).
    pub async fn create_domain(
        &self,
        organization_id: &str,
        request: &CreateDomainRequest,
    ) -> Result<Domain, ManagementError> {
        let path = domains_path(organization_id)?;
        let bytes = self
            .client
            .call_json(Method::POST, &path, &[], request)
            .await?;
        decode_wrapped(&bytes, "domain")
    }

    /// A domain of an organization (the SDK's `getDomain`).
    pub async fn get_domain(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<Domain, ManagementError> {
        let path = domain_path(organization_id, id)?;
        let bytes = self.client.call(Method::GET, &path, &[], None).await?;
        decode_wrapped(&bytes, "domain")
    }

    /// An organization's domains, optionally of one type (the SDK's
    /// `listDomains`).
    pub async fn list_domains(
        &self,
        organization_id: &str,
        domain_type: Option<DomainType>,
    ) -> Result<Vec<Domain>, ManagementError> {
        let path = domains_path(organization_id)?;
        let mut query = Vec::new();
        match domain_type {
            Some(DomainType::AllowedEmailDomain) => {
                query.push(("domain_type", "ALLOWED_EMAIL_DOMAIN".to_owned()));
            }
            Some(DomainType::OrganizationDomain) => {
                query.push(("domain_type", "ORGANIZATION_DOMAIN".to_owned()));
            }
            _ => {}
        }
        let bytes = self.client.call(Method::GET, &path, &query, None).await?;
        let mut domains: Vec<Domain> = decode_page(&bytes, "domains")?.items;
        // Also filtered here, for a platform that ignores the parameter.
        if let Some(wanted) = domain_type.filter(|t| *t != DomainType::Unknown) {
            domains.retain(|d| d.domain_type == wanted);
        }
        Ok(domains)
    }

    /// Removes a domain from an organization (the SDK's `deleteDomain`).
    pub async fn delete_domain(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<(), ManagementError> {
        let path = domain_path(organization_id, id)?;
        self.client.call(Method::DELETE, &path, &[], None).await?;
        Ok(())
    }

    /// Asks the platform to verify a domain's ownership (its DNS record);
    /// whether it is verified.
    pub async fn verify_domain(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<bool, ManagementError> {
        let path = format!("{}:verify", domain_path(organization_id, id)?);
        let bytes = self.client.call(Method::PATCH, &path, &[], None).await?;
        let answer: serde_json::Value = crate::client::decode(&bytes)?;
        Ok(answer
            .get("verified")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false))
    }

    /// Updates a domain (the platform's `UpdateDomain` carries no field
    /// yet): the domain as it is now.
    pub async fn update_domain(
        &self,
        organization_id: &str,
        id: &str,
    ) -> Result<Domain, ManagementError> {
        let path = domain_path(organization_id, id)?;
        let bytes = self
            .client
            .call_json(Method::PATCH, &path, &[], &serde_json::json!({}))
            .await?;
        decode_wrapped(&bytes, "domain")
    }
}

impl ManagementClient {
    /// The domain operations.
    pub fn domains(&self) -> Domains<'_> {
        Domains { client: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_answer_is_told_from_its_own_domain_field() {
        let bare: Domain = decode_wrapped(
            br#"{"id":"dom_1","domain":"acme.com","domain_type":"ORGANIZATION_DOMAIN","verification_status":"VERIFIED"}"#,
            "domain",
        )
        .unwrap();
        assert_eq!(bare.domain, "acme.com");
        assert_eq!(bare.domain_type, DomainType::OrganizationDomain);
        assert_eq!(bare.verification_status, VerificationStatus::Verified);
        let wrapped: Domain = decode_wrapped(
            br#"{"domain":{"id":"dom_2","domain":"b.com","verification_status":"NEW"}}"#,
            "domain",
        )
        .unwrap();
        assert_eq!(
            (wrapped.id.as_str(), wrapped.domain.as_str()),
            ("dom_2", "b.com")
        );
        assert_eq!(wrapped.verification_status, VerificationStatus::Unknown);
    }
}
