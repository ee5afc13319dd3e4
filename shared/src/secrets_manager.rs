//! Secrets Manager: read once at cold start, by the id (name or ARN) an environment variable
//! gives; written by the migrator alone (the first admin's initial password).

use crate::config::ConfigError;
use crate::error::ApiError;

/// The secret's string value: its current version (`AWSCURRENT`, named: a rotation moves that
/// label, and moto's unnamed default does not follow it).
pub async fn fetch(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<String, ConfigError> {
    let read = client.get_secret_value().secret_id(secret_id).version_stage("AWSCURRENT");
    let output = read.send().await.map_err(|e| ConfigError::Invalid {
        name: "secret",
        // The id is not secret; the SDK's message says why (not found, access denied), never the value.
        reason: format!("{secret_id} could not be read: {}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)),
    })?;
    output
        .secret_string()
        .map(str::to_owned)
        .ok_or(ConfigError::Invalid { name: "secret", reason: format!("{secret_id} has no string value") })
}

/// Replaces the secret's value (a new version). The error names the secret and why, never the value.
pub async fn put(client: &aws_sdk_secretsmanager::Client, secret_id: &str, value: &str) -> Result<(), ApiError> {
    client.put_secret_value().secret_id(secret_id).secret_string(value).send().await.map_err(|e| {
        ApiError::internal(format!(
            "{secret_id} could not be written: {}",
            aws_sdk_secretsmanager::error::DisplayErrorContext(e)
        ))
    })?;
    Ok(())
}

/// Against the Secrets Manager that `scripts/test` starts (moto).
#[cfg(test)]
mod tests {
    use super::*;

    async fn client() -> aws_sdk_secretsmanager::Client {
        assert!(
            std::env::var("AWS_ENDPOINT_URL").is_ok(),
            "run through scripts/test, which starts moto and sets AWS_ENDPOINT_URL"
        );
        aws_sdk_secretsmanager::Client::new(&crate::aws::sdk_config().await)
    }

    #[tokio::test]
    async fn a_secret_is_read_by_name_and_a_missing_one_is_a_clear_error() {
        let client = client().await;
        let name = format!("nexus/jwt-{}", uuid::Uuid::new_v4());
        client.create_secret().name(&name).secret_string("a-signing-key-of-at-least-32-bytes!!").send().await.unwrap();
        assert_eq!(fetch(&client, &name).await.unwrap(), "a-signing-key-of-at-least-32-bytes!!");
        let missing = fetch(&client, "nexus/does-not-exist").await.unwrap_err().to_string();
        assert!(missing.contains("nexus/does-not-exist"), "{missing}");
    }

    #[tokio::test]
    async fn an_rds_secret_becomes_the_database_url() {
        let client = client().await;
        let name = format!("nexus/db-{}", uuid::Uuid::new_v4());
        let secret = r#"{"username": "nexus", "password": "s3cr3t/+", "host": "proxy.internal", "port": 5432, "dbname": "nexus"}"#;
        client.create_secret().name(&name).secret_string(secret).send().await.unwrap();
        let url = crate::config::database_url(&fetch(&client, &name).await.unwrap(), None).unwrap();
        assert_eq!(url, "postgres://nexus:s3cr3t%2F%2B@proxy.internal:5432/nexus");
    }
}
