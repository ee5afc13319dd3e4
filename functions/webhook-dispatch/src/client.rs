//! One POST to a webhook receiver, on the hyper 1 + rustls (ring) stack the AWS SDK's client
//! already brings, to the address the SSRF guard checked (never resolved a second time), with
//! the public web PKI roots (webpki-roots, which sqlx's TLS already ships) and TLS for the URL's
//! own host name. HTTP/1.1, one connection per attempt, closed after the status line is read.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use nexus_shared::webhook::ssrf::Target;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

/// The TLS client configuration: ring, the public roots, TLS 1.2 and 1.3.
pub fn tls_config() -> Arc<ClientConfig> {
    let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// POSTs `body` to `target` at the first of `addrs` that accepts a connection; the response's
/// status, or why there was none (short, naming nothing secret).
pub async fn post(
    tls: &Arc<ClientConfig>,
    target: &Target,
    addrs: &[SocketAddr],
    headers: &[(&'static str, String)],
    body: Vec<u8>,
) -> Result<u16, String> {
    let mut stream = None;
    for addr in addrs {
        if let Ok(s) = TcpStream::connect(addr).await {
            stream = Some(s);
            break;
        }
    }
    let stream = stream.ok_or("connection refused or unreachable")?;
    let _ = stream.set_nodelay(true);
    if target.https {
        let name = ServerName::try_from(target.host.clone()).map_err(|_| "not a valid TLS server name")?;
        let tls = TlsConnector::from(tls.clone()).connect(name, stream).await.map_err(|_| "TLS handshake failed")?;
        send(TokioIo::new(tls), target, headers, body).await
    } else {
        send(TokioIo::new(stream), target, headers, body).await
    }
}

async fn send<IO>(io: IO, target: &Target, headers: &[(&'static str, String)], body: Vec<u8>) -> Result<u16, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Full<Bytes>>(io).await.map_err(|_| "HTTP handshake failed")?;
    let mut request = hyper::Request::post(target.path_and_query.as_str())
        .header(HOST, target.authority.as_str())
        .header(CONTENT_TYPE, "application/json")
        .header(USER_AGENT, "Nexus-Webhooks/1");
    for (name, value) in headers {
        request = request.header(*name, value.as_str());
    }
    let request = request.body(Full::new(Bytes::from(body))).map_err(|_| "invalid request")?;
    // The connection is driven here, not spawned: when the caller's timeout drops this future,
    // the socket goes with it. A receiver may close the connection right after its answer
    // (HTTP/1.0, `Connection: close`): the answer still counts, so the connection ending only
    // stops it being polled.
    let mut connection = std::pin::pin!(connection);
    let mut response = std::pin::pin!(sender.send_request(request));
    let mut connection_done = false;
    let response = loop {
        tokio::select! {
            biased;
            response = &mut response => break response.map_err(|_| "no HTTP response")?,
            _ = &mut connection, if !connection_done => connection_done = true,
        }
    };
    Ok(response.status().as_u16())
}
