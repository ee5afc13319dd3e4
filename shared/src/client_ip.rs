//! The caller's IP address, as API Gateway saw it: the per-address login throttle keys on it.
//!
//! In Lambda it is `requestContext.http.sourceIp` of the HTTP API event, which API Gateway sets
//! from the TCP connection (a client cannot forge it, unlike `X-Forwarded-For`, which is not
//! read). Without an HTTP API event (the local runner, a test's `oneshot`) the address is the
//! socket's when axum was given it (`ConnectInfo`), else none, and only the per-e-mail throttle
//! applies.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use lambda_http::request::RequestContext;

/// The caller's address, if the request carries one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl ClientIp {
    pub fn of(parts: &Parts) -> ClientIp {
        if let Some(RequestContext::ApiGatewayV2(context)) = parts.extensions.get::<RequestContext>() {
            return ClientIp(context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok()));
        }
        ClientIp(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| addr.ip()))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp::of(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(event: serde_json::Value) -> Parts {
        let request = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway v2 event");
        request.into_parts().0
    }

    #[test]
    fn the_source_ip_of_an_http_api_event_and_nothing_else() {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../infra/events/health.json")).expect("fixture");
        event["requestContext"]["http"]["sourceIp"] = "203.0.113.7".into();
        event["headers"]["x-forwarded-for"] = "198.51.100.1".into();
        assert_eq!(ClientIp::of(&parts(event.clone())), ClientIp(Some("203.0.113.7".parse().unwrap())));
        event["requestContext"]["http"]["sourceIp"] = "not an address".into();
        assert_eq!(ClientIp::of(&parts(event)), ClientIp(None), "a forwarded header is not trusted instead");
        let plain = axum::http::Request::new(()).into_parts().0;
        assert_eq!(ClientIp::of(&plain), ClientIp(None));
    }
}
