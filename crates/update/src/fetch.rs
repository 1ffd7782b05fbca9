//! Fetching metadata and targets: the [`Fetcher`] seam, with [`HttpFetcher`] (hyper's HTTP/1.1
//! client, `http://` and `https://` through the vault's rustls configuration) and
//! [`FileFetcher`] (`file://` URLs, for tests and mirrors on disk).
//!
//! Every fetch is bounded: at most `max_length` bytes are accepted (reading stops at
//! `max_length + 1` and fails: the endless-data defence), and an HTTP fetch has a deadline for
//! the connection and the answer's headers and an overall deadline (the slow-retrieval
//! defence). Bodies are streamed into a writer, so a large target never sits in memory.
//!
//! The fetchers are blocking: [`HttpFetcher`] runs its own current-thread tokio runtime (on a
//! thread of its own when called from inside a runtime). From async code, call them inside
//! `tokio::task::spawn_blocking`.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt as _;

/// Why a fetch failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The server answered 404 (or the file does not exist).
    #[error("{url}: not found")]
    NotFound {
        /// The URL.
        url: String,
    },
    /// The body is longer than accepted; nothing past `max + 1` bytes was read.
    #[error("{url}: longer than the {max} bytes accepted")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        max: u64,
    },
    /// Any other failure: bad URL, connection, TLS, status, deadline, write.
    #[error("{url}: {reason}")]
    Failed {
        /// The URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

impl FetchError {
    fn failed(url: &str, reason: impl Into<String>) -> FetchError {
        FetchError::Failed {
            url: url.to_owned(),
            reason: reason.into(),
        }
    }
}

/// Fetches a URL with a maximum length into a writer.
pub trait Fetcher {
    /// Writes the body at `url` into `dest` and returns its length. Fails without reading
    /// further once more than `max_length` bytes arrive.
    ///
    /// # Errors
    /// [`FetchError`]; `NotFound` for 404 or a missing file.
    fn fetch(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError>;

    /// [`Fetcher::fetch`] into memory.
    ///
    /// # Errors
    /// As [`Fetcher::fetch`].
    fn fetch_bytes(&self, url: &str, max_length: u64) -> Result<Vec<u8>, FetchError> {
        let mut out = Vec::new();
        self.fetch(url, max_length, &mut out)?;
        Ok(out)
    }
}

impl<F: Fetcher + ?Sized> Fetcher for &F {
    fn fetch(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError> {
        (**self).fetch(url, max_length, dest)
    }
}

impl<F: Fetcher + ?Sized> Fetcher for Box<F> {
    fn fetch(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError> {
        (**self).fetch(url, max_length, dest)
    }
}

/// Copies at most `max + 1` bytes, failing past `max`.
fn copy_capped(
    url: &str,
    source: &mut dyn std::io::Read,
    max: u64,
    dest: &mut (dyn Write + Send),
) -> Result<u64, FetchError> {
    let mut limited = std::io::Read::take(source, max.saturating_add(1));
    let copied = std::io::copy(&mut limited, dest)
        .map_err(|e| FetchError::failed(url, format!("reading: {e}")))?;
    if copied > max {
        return Err(FetchError::TooLarge {
            url: url.to_owned(),
            max,
        });
    }
    Ok(copied)
}

/// Reads `file://` URLs: absolute paths, `%XX` escapes decoded except `%2F`, which stays in
/// the file name (so the role `a/b` is the file `a%2Fb.json`, not `b.json` in a directory).
#[derive(Debug, Clone, Default)]
pub struct FileFetcher;

impl FileFetcher {
    fn path(url: &str) -> Result<PathBuf, FetchError> {
        let rest = url
            .strip_prefix("file://")
            .ok_or_else(|| FetchError::failed(url, "not a file:// URL"))?;
        let decoded = percent_decode(rest)
            .ok_or_else(|| FetchError::failed(url, "a bad %-escape in the path"))?;
        Ok(PathBuf::from(decoded))
    }
}

impl Fetcher for FileFetcher {
    fn fetch(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError> {
        let path = FileFetcher::path(url)?;
        let mut file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(FetchError::NotFound {
                    url: url.to_owned(),
                });
            }
            Err(e) => return Err(FetchError::failed(url, e.to_string())),
        };
        copy_capped(url, &mut file, max_length, dest)
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            if hex.eq_ignore_ascii_case("2f") {
                out.extend_from_slice(b"%2F");
                i += 3;
                continue;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `file://` URLs through [`FileFetcher`], all others through an [`HttpFetcher`]: for a
/// repository whose metadata and targets may be on different schemes.
#[derive(Debug, Clone)]
pub struct AnyFetcher {
    /// The fetcher of `http://` and `https://` URLs.
    pub http: HttpFetcher,
}

impl Fetcher for AnyFetcher {
    fn fetch(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError> {
        if url.starts_with("file://") {
            FileFetcher.fetch(url, max_length, dest)
        } else {
            self.http.fetch(url, max_length, dest)
        }
    }
}

/// Deadlines of an [`HttpFetcher`].
#[derive(Debug, Clone, Copy)]
pub struct Deadlines {
    /// From the start of the fetch to the answer's headers (connect, TLS, request).
    pub headers: Duration,
    /// From the start of the fetch to the last byte of the body.
    pub total: Duration,
}

impl Default for Deadlines {
    fn default() -> Deadlines {
        Deadlines {
            headers: Duration::from_secs(30),
            total: Duration::from_mins(10),
        }
    }
}

/// `http://` and `https://` over hyper's HTTP/1.1 client, one connection per fetch, no
/// redirects followed (a 3xx is an error).
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    tls: Option<Arc<rustls::ClientConfig>>,
    deadlines: Deadlines,
}

impl HttpFetcher {
    /// A fetcher for `http://` only.
    pub fn plain() -> HttpFetcher {
        HttpFetcher {
            tls: None,
            deadlines: Deadlines::default(),
        }
    }

    /// A fetcher for `http://` and `https://`, with this client configuration (see
    /// `rampart_vault::tls::client_config` for one that trusts a given CA).
    pub fn with_tls(tls: Arc<rustls::ClientConfig>) -> HttpFetcher {
        HttpFetcher {
            tls: Some(tls),
            deadlines: Deadlines::default(),
        }
    }

    /// The same fetcher with other deadlines.
    #[must_use]
    pub fn deadlines(mut self, deadlines: Deadlines) -> HttpFetcher {
        self.deadlines = deadlines;
        self
    }

    async fn get(
        &self,
        url: &str,
        uri: &hyper::Uri,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError> {
        let https = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(FetchError::failed(url, "only http:// and https:// URLs")),
        };
        let host = uri
            .host()
            .ok_or_else(|| FetchError::failed(url, "no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default();
        let path = uri
            .path_and_query()
            .map_or("/", hyper::http::uri::PathAndQuery::as_str)
            .to_owned();
        let tls = match (https, &self.tls) {
            (false, _) => None,
            (true, Some(config)) => Some(Arc::clone(config)),
            (true, None) => {
                return Err(FetchError::failed(
                    url,
                    "https:// needs a TLS configuration",
                ));
            }
        };
        let headers = tokio::time::timeout(self.deadlines.headers, async {
            let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
                .await
                .map_err(|e| FetchError::failed(url, format!("connecting: {e}")))?;
            if let Some(config) = tls {
                let name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| FetchError::failed(url, format!("server name: {e}")))?;
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| FetchError::failed(url, format!("TLS handshake: {e}")))?;
                request(url, hyper_util::rt::TokioIo::new(tls), &authority, &path).await
            } else {
                request(url, hyper_util::rt::TokioIo::new(tcp), &authority, &path).await
            }
        })
        .await
        .map_err(|_| {
            FetchError::failed(
                url,
                format!("no answer within {:?}", self.deadlines.headers),
            )
        })??;
        let (response, connection) = headers;
        let status = response.status();
        if status == hyper::StatusCode::NOT_FOUND {
            connection.abort();
            return Err(FetchError::NotFound {
                url: url.to_owned(),
            });
        }
        if !status.is_success() {
            connection.abort();
            return Err(FetchError::failed(url, format!("HTTP status {status}")));
        }
        if let Some(length) = response
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            && length > max_length
        {
            connection.abort();
            return Err(FetchError::TooLarge {
                url: url.to_owned(),
                max: max_length,
            });
        }
        let mut body = response.into_body();
        let mut written = 0u64;
        let result = loop {
            let Some(frame) = body.frame().await else {
                break Ok(written);
            };
            let frame = match frame {
                Ok(frame) => frame,
                Err(e) => break Err(FetchError::failed(url, format!("reading the body: {e}"))),
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            written = written.saturating_add(data.len() as u64);
            if written > max_length {
                break Err(FetchError::TooLarge {
                    url: url.to_owned(),
                    max: max_length,
                });
            }
            if let Err(e) = dest.write_all(&data) {
                break Err(FetchError::failed(url, format!("writing: {e}")));
            }
        };
        connection.abort();
        result
    }
}

type Answer = (
    hyper::Response<hyper::body::Incoming>,
    tokio::task::JoinHandle<()>,
);

async fn request<T>(url: &str, io: T, authority: &str, path: &str) -> Result<Answer, FetchError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| FetchError::failed(url, format!("HTTP handshake: {e}")))?;
    let connection = tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, authority)
        .header(
            hyper::header::USER_AGENT,
            concat!("rampart-update/", env!("CARGO_PKG_VERSION")),
        )
        .body(http_body_util::Empty::<hyper::body::Bytes>::new())
        .map_err(|e| FetchError::failed(url, format!("building the request: {e}")))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| FetchError::failed(url, format!("sending the request: {e}")))?;
    Ok((response, connection))
}

impl Fetcher for HttpFetcher {
    fn fetch(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            // Called from async code: a runtime cannot be started on this thread, so the fetch
            // runs on a thread of its own (the caller's task is blocked meanwhile; prefer
            // `spawn_blocking`).
            return std::thread::scope(|scope| {
                scope
                    .spawn(|| self.fetch_on_this_thread(url, max_length, dest))
                    .join()
                    .unwrap_or_else(|_| Err(FetchError::failed(url, "the fetch thread failed")))
            });
        }
        self.fetch_on_this_thread(url, max_length, dest)
    }
}

impl HttpFetcher {
    fn fetch_on_this_thread(
        &self,
        url: &str,
        max_length: u64,
        dest: &mut (dyn Write + Send),
    ) -> Result<u64, FetchError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e| FetchError::failed(url, format!("not a URL: {e}")))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(|e| FetchError::failed(url, format!("starting the runtime: {e}")))?;
        runtime.block_on(async {
            tokio::time::timeout(self.deadlines.total, self.get(url, &uri, max_length, dest))
                .await
                .map_err(|_| {
                    FetchError::failed(
                        url,
                        format!("not complete within {:?}", self.deadlines.total),
                    )
                })?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_fetcher_caps_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a b.json"), b"0123456789").unwrap();
        let base = format!("file://{}", dir.path().display());
        let fetcher = FileFetcher;
        assert_eq!(
            fetcher
                .fetch_bytes(&format!("{base}/a%20b.json"), 10)
                .unwrap(),
            b"0123456789"
        );
        assert!(matches!(
            fetcher.fetch_bytes(&format!("{base}/a%20b.json"), 9),
            Err(FetchError::TooLarge { max: 9, .. })
        ));
        assert!(matches!(
            fetcher.fetch_bytes(&format!("{base}/missing.json"), 9),
            Err(FetchError::NotFound { .. })
        ));
        assert!(fetcher.fetch_bytes("http://x/y", 9).is_err());
    }

    /// A one-shot loopback HTTP server answering every connection with `answer` (then, if
    /// `endless`, zeros until the client hangs up).
    fn serve(answer: &'static [u8], endless: bool, connections: usize) -> u16 {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(answer);
                if endless {
                    let zeros = [0u8; 8192];
                    // Bounded: stops when the client closes, or after 64 MiB at most.
                    for _ in 0..8192 {
                        if stream.write_all(&zeros).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        port
    }

    fn quick() -> HttpFetcher {
        HttpFetcher::plain().deadlines(Deadlines {
            headers: Duration::from_secs(5),
            total: Duration::from_secs(10),
        })
    }

    #[test]
    fn http_fetcher_reads_a_body_and_maps_404() {
        let port = serve(
            b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            false,
            2,
        );
        let url = format!("http://127.0.0.1:{port}/x.json");
        assert_eq!(quick().fetch_bytes(&url, 5).unwrap(), b"hello");
        assert!(matches!(
            quick().fetch_bytes(&url, 4),
            Err(FetchError::TooLarge { max: 4, .. })
        ));
        let port = serve(
            b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n",
            false,
            1,
        );
        assert!(matches!(
            quick().fetch_bytes(&format!("http://127.0.0.1:{port}/2.root.json"), 100),
            Err(FetchError::NotFound { .. })
        ));
        let port = serve(b"HTTP/1.0 500 Oops\r\nContent-Length: 0\r\n\r\n", false, 1);
        assert!(matches!(
            quick().fetch_bytes(&format!("http://127.0.0.1:{port}/x"), 100),
            Err(FetchError::Failed { .. })
        ));
    }

    #[test]
    fn http_fetcher_called_from_async_code_does_not_panic() {
        let port = serve(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 1);
        let url = format!("http://127.0.0.1:{port}/x");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let body = runtime.block_on(async { quick().fetch_bytes(&url, 2) });
        assert_eq!(body.unwrap(), b"ok");
    }

    #[test]
    fn http_fetcher_stops_endless_data_at_the_cap() {
        // No Content-Length, a body without end: reading stops past the cap.
        let port = serve(b"HTTP/1.0 200 OK\r\n\r\n", true, 1);
        let mut sink = Vec::new();
        let error = quick()
            .fetch(&format!("http://127.0.0.1:{port}/t"), 100_000, &mut sink)
            .unwrap_err();
        assert!(
            matches!(error, FetchError::TooLarge { max: 100_000, .. }),
            "{error}"
        );
        assert!(
            sink.len() <= 100_000 + 16 * 1024,
            "{} bytes kept",
            sink.len()
        );
    }

    #[test]
    fn http_fetcher_gives_up_on_a_silent_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let fetcher = HttpFetcher::plain().deadlines(Deadlines {
            headers: Duration::from_millis(300),
            total: Duration::from_secs(5),
        });
        let started = std::time::Instant::now();
        let error = fetcher
            .fetch_bytes(&format!("http://127.0.0.1:{port}/t"), 10)
            .unwrap_err();
        assert!(error.to_string().contains("no answer within"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(listener);
    }

    #[test]
    fn http_fetcher_refuses_other_schemes_and_unreachable_hosts() {
        let fetcher = HttpFetcher::plain().deadlines(Deadlines {
            headers: Duration::from_secs(2),
            total: Duration::from_secs(2),
        });
        assert!(fetcher.fetch_bytes("ftp://127.0.0.1/x", 10).is_err());
        assert!(fetcher.fetch_bytes("https://127.0.0.1:1/x", 10).is_err());
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        assert!(fetcher.fetch_bytes("http://127.0.0.1:1/x", 10).is_err());
    }
}
