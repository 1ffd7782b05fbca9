//! The management API of a running gateway, from the command line: hyper's HTTP/1.1 client
//! over the vault's rustls client configuration (TLS 1.2/1.3 to a server whose certificate
//! chains to the given CA and names the URL's host), a bearer token, every call within a
//! deadline and its answer capped. `rampart assess --live` and `rampart ids live` use it.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::BadInput;

/// Everything of one call: connection, handshake, request and answer.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Where `--live` points: `https://HOST[:PORT][/BASE]`.
pub(crate) struct LiveTarget {
    authority: hyper::http::uri::Authority,
    base: String,
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl LiveTarget {
    pub(crate) fn parse(url: &str) -> anyhow::Result<LiveTarget> {
        let bad_url = || {
            BadInput(format!(
                "--live '{url}': expected https://HOST:PORT (the gateway's management address)"
            ))
        };
        let uri: hyper::Uri = url.parse().map_err(|_| bad_url())?;
        if uri.scheme_str() != Some("https") || uri.query().is_some() {
            return Err(bad_url().into());
        }
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .filter(|h| !h.is_empty())
            .ok_or_else(bad_url)?;
        // `Uri::port` hides a port that is not a u16; read the authority's own text.
        let authority_text = uri.authority().map_or("", |a| a.as_str());
        let port = match authority_text.rsplit_once(':') {
            Some((_, port)) if !port.ends_with(']') => {
                port.parse::<u16>().map_err(|_| bad_url())?
            }
            _ => 443,
        };
        let base = uri.path().trim_matches('/');
        let base = if base.is_empty() {
            String::new()
        } else {
            format!("/{base}")
        };
        let authority = uri.authority().ok_or_else(bad_url)?.clone();
        Ok(LiveTarget {
            authority,
            base,
            host,
            port,
        })
    }

    /// The URI of `path` (`/api/v1/…`) under the base.
    fn uri(&self, path: &str) -> anyhow::Result<hyper::Uri> {
        hyper::Uri::builder()
            .scheme("https")
            .authority(self.authority.clone())
            .path_and_query(format!("{}{path}", self.base))
            .build()
            .map_err(|e| BadInput(format!("{path}: {e}")).into())
    }
}

/// A client of one gateway's management API.
pub(crate) struct ApiClient {
    target: LiveTarget,
    token: String,
    config: Arc<rustls::ClientConfig>,
}

impl ApiClient {
    /// A client for `url`, with `token` (`@FILE` reads it from a file, which keeps it out of
    /// the process list) and the CA certificate file `ca`.
    pub(crate) fn new(url: &str, token: &str, ca: &Path) -> anyhow::Result<ApiClient> {
        let target = LiveTarget::parse(url)?;
        let token = match token.strip_prefix('@') {
            Some(file) => rampart_vault::read_capped_text(Path::new(file), 64 << 10)
                .map_err(|e| BadInput(format!("--token @{file}: {e}")))?
                .trim()
                .to_owned(),
            None => token.to_owned(),
        };
        let config = rampart_vault::tls::client_config(ca, None)
            .map_err(|e| BadInput(format!("--ca {}: {e}", ca.display())))?;
        Ok(ApiClient {
            target,
            token,
            config,
        })
    }

    /// The full URL of `path`, for messages.
    pub(crate) fn url(&self, path: &str) -> String {
        self.target
            .uri(path)
            .map_or_else(|_| path.to_owned(), |u| u.to_string())
    }

    /// One call: `method path` with an optional JSON body; the status and at most `limit`
    /// bytes of the answer.
    pub(crate) fn call(
        &self,
        method: &hyper::Method,
        path: &str,
        body: Option<&serde_json::Value>,
        limit: u64,
    ) -> anyhow::Result<(hyper::StatusCode, Vec<u8>)> {
        let uri = self.target.uri(path)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let body = body.map(serde_json::Value::to_string);
        runtime
            // The deadline's timer needs the runtime: make it inside.
            .block_on(async {
                tokio::time::timeout(CALL_TIMEOUT, self.send(method.clone(), &uri, body, limit))
                    .await
            })
            .map_err(|_| anyhow::anyhow!("no complete answer within {} s", CALL_TIMEOUT.as_secs()))
            .and_then(|answer| answer)
            .with_context(|| format!("{method} {uri}"))
    }

    async fn send(
        &self,
        method: hyper::Method,
        uri: &hyper::Uri,
        body: Option<String>,
        limit: u64,
    ) -> anyhow::Result<(hyper::StatusCode, Vec<u8>)> {
        use http_body_util::BodyExt as _;
        let target = &self.target;
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
            .await
            .with_context(|| format!("connecting to {}:{}", target.host, target.port))?;
        let _ = tcp.set_nodelay(true);
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|_| BadInput(format!("--live: '{}' is not a host name", target.host)))?;
        let tls = tokio_rustls::TlsConnector::from(Arc::clone(&self.config))
            .connect(name, tcp)
            .await
            .context("TLS handshake")?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .context("starting HTTP/1.1")?;
        let connection = tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(uri.path())
            .header(hyper::header::HOST, target.authority.as_str())
            .header(
                hyper::header::AUTHORIZATION,
                format!("Bearer {}", self.token),
            )
            .header(hyper::header::ACCEPT, "application/json")
            .header(
                hyper::header::USER_AGENT,
                concat!("rampart/", env!("CARGO_PKG_VERSION")),
            );
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(http_body_util::Full::new(hyper::body::Bytes::from(
                body.unwrap_or_default(),
            )))
            .context("building the request")?;
        let response = sender
            .send_request(request)
            .await
            .context("sending the request")?;
        let status = response.status();
        let cap = usize::try_from(limit).unwrap_or(usize::MAX);
        let limited = http_body_util::Limited::new(response.into_body(), cap);
        let answer = limited
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("reading the answer: {e} (at most {limit} bytes)"))?
            .to_bytes()
            .to_vec();
        connection.abort();
        Ok((status, answer))
    }
}

/// The text of an answer, which must be 200; a refused token is bad input (`needs` says
/// which permission the call takes).
pub(crate) fn response_text(
    status: hyper::StatusCode,
    body: Vec<u8>,
    needs: &str,
) -> anyhow::Result<String> {
    let text = String::from_utf8(body).context("the answer is not UTF-8")?;
    match status.as_u16() {
        200 => Ok(text),
        401 | 403 => Err(BadInput(format!(
            "the gateway refused the token (HTTP {}); it needs the permission {needs}",
            status.as_u16()
        ))
        .into()),
        other => Err(anyhow::anyhow!(
            "HTTP {other}: {}",
            text.chars().take(200).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_targets_are_https_urls_with_an_optional_base_path() {
        let t = LiveTarget::parse("https://127.0.0.1:8443").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 8443));
        assert_eq!(
            t.uri("/api/v1/config-report").unwrap().to_string(),
            "https://127.0.0.1:8443/api/v1/config-report"
        );
        let t = LiveTarget::parse("https://[::1]:9/gw/").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 9));
        assert_eq!(
            t.uri("/api/v1/config-report").unwrap().to_string(),
            "https://[::1]:9/gw/api/v1/config-report"
        );
        assert_eq!(LiveTarget::parse("https://gw.example").unwrap().port, 443);
        for bad in [
            "http://127.0.0.1:8443",
            "127.0.0.1:8443",
            "https://",
            "https://h:99999",
            "https://h/?q",
        ] {
            let error = LiveTarget::parse(bad)
                .err()
                .unwrap_or_else(|| panic!("{bad}"));
            assert!(error.is::<BadInput>(), "{bad}: {error}");
        }
    }

    #[test]
    fn only_a_200_answer_is_a_report_and_a_refused_token_is_bad_input() {
        assert_eq!(
            response_text(hyper::StatusCode::OK, b"{}".to_vec(), "x").unwrap(),
            "{}"
        );
        for status in [
            hyper::StatusCode::UNAUTHORIZED,
            hyper::StatusCode::FORBIDDEN,
        ] {
            let error = response_text(status, Vec::new(), "x").unwrap_err();
            assert!(error.chain().any(<dyn std::error::Error>::is::<BadInput>));
        }
        let error = response_text(
            hyper::StatusCode::INTERNAL_SERVER_ERROR,
            b"boom".to_vec(),
            "x",
        )
        .unwrap_err();
        assert!(error.to_string().contains("HTTP 500: boom"), "{error}");
        assert!(response_text(hyper::StatusCode::OK, vec![0xff, 0xfe], "x").is_err());
    }
}
