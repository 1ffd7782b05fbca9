//! Shared helpers: a gateway on loopback with its own data directory, and Modbus clients
//! over TLS (with the generated certificates) and plain TCP.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rampart_gateway::config::{AllowList, UpstreamTarget};
use rampart_gateway::{Gateway, GatewayConfig, MemoryAuditSink, RunningGateway};
use rampart_modbus::{
    AddressRange, ExceptionCode, Registers, RequestPdu, Response, ResponsePdu, decode_response,
};
use rampart_vault::DataDir;
use rampart_vault::pki::Pki;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

/// Every network wait in the tests is bounded by this.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A configuration on loopback with ephemeral ports.
pub(crate) fn loopback_config() -> GatewayConfig {
    let mut config = GatewayConfig::default();
    config.secure.listen = "127.0.0.1:0".parse().unwrap();
    config.plain.listen = "127.0.0.1:0".parse().unwrap();
    config.management.listen = "127.0.0.1:0".parse().unwrap();
    config.secure.allow = AllowList::loopback();
    config
}

/// A gateway under test, with its data directory and in-memory audit sink.
pub(crate) struct TestGateway {
    pub(crate) temp: tempfile::TempDir,
    pub(crate) data: DataDir,
    pub(crate) gateway: RunningGateway,
    pub(crate) audit: Arc<MemoryAuditSink>,
}

impl TestGateway {
    /// Starts a gateway with the default configuration on loopback.
    pub(crate) async fn start() -> TestGateway {
        TestGateway::with_config(loopback_config()).await
    }

    /// Starts a gateway with `config` in a new data directory.
    pub(crate) async fn with_config(config: GatewayConfig) -> TestGateway {
        let temp = tempfile::tempdir().unwrap();
        let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
        let audit = Arc::new(MemoryAuditSink::new());
        let gateway = Gateway::start_with_audit(config, &data, audit.clone())
            .await
            .unwrap();
        TestGateway {
            temp,
            data,
            gateway,
            audit,
        }
    }

    pub(crate) fn addr(&self) -> SocketAddr {
        self.gateway.secure_addr()
    }

    pub(crate) fn pki(&self) -> Pki {
        Pki::open(&self.data).unwrap()
    }

    /// Connects with the client certificate `name` of the gateway's PKI.
    pub(crate) async fn client(&self, name: &str) -> io::Result<TlsClient> {
        connect(self.addr(), &self.pki(), name).await
    }

    /// Events recorded with `action`.
    pub(crate) fn events(&self, action: &str) -> usize {
        self.audit.actions().iter().filter(|a| *a == action).count()
    }

    /// Waits until `action` has been recorded `count` times.
    pub(crate) async fn wait_for_events(&self, action: &str, count: usize) {
        eventually(|| self.events(action) >= count).await;
    }
}

/// Waits up to [`WAIT`] for `condition`.
pub(crate) async fn eventually(mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A Modbus/TCP client over TLS.
pub(crate) type TlsClient = ModbusClient<tokio_rustls::client::TlsStream<TcpStream>>;

/// Connects to `addr` with the certificate and key of client `name` of `pki`, trusting
/// `pki`'s CA.
pub(crate) async fn connect(addr: SocketAddr, pki: &Pki, name: &str) -> io::Result<TlsClient> {
    let config = rampart_vault::tls::client_config(
        &pki.ca_cert_path(),
        Some((
            &pki.client_cert_path(name).unwrap(),
            &pki.client_key_path(name).unwrap(),
        )),
    )
    .unwrap();
    connect_with(addr, config).await
}

/// Connects with a prepared client configuration.
pub(crate) async fn connect_with(
    addr: SocketAddr,
    config: Arc<tokio_rustls::rustls::ClientConfig>,
) -> io::Result<TlsClient> {
    let tcp = tokio::time::timeout(WAIT, TcpStream::connect(addr)).await??;
    tls_over(tcp, config).await
}

/// A TCP connection to `addr` from the loopback address `source` (any of 127.0.0.0/8), so
/// that one test can play several source addresses.
pub(crate) async fn tcp_from(source: IpAddr, addr: SocketAddr) -> io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    tokio::time::timeout(WAIT, socket.connect(addr)).await?
}

/// The client configuration of client `name` of `pki`, trusting `pki`'s CA.
pub(crate) fn client_config(pki: &Pki, name: &str) -> Arc<tokio_rustls::rustls::ClientConfig> {
    rampart_vault::tls::client_config(
        &pki.ca_cert_path(),
        Some((
            &pki.client_cert_path(name).unwrap(),
            &pki.client_key_path(name).unwrap(),
        )),
    )
    .unwrap()
}

/// As [`connect_with`], from the loopback address `source`.
pub(crate) async fn connect_from(
    source: IpAddr,
    addr: SocketAddr,
    config: Arc<tokio_rustls::rustls::ClientConfig>,
) -> io::Result<TlsClient> {
    tls_over(tcp_from(source, addr).await?, config).await
}

async fn tls_over(
    tcp: TcpStream,
    config: Arc<tokio_rustls::rustls::ClientConfig>,
) -> io::Result<TlsClient> {
    tcp.set_nodelay(true)?;
    let server = ServerName::try_from("localhost").unwrap();
    let tls = tokio::time::timeout(WAIT, TlsConnector::from(config).connect(server, tcp)).await??;
    Ok(ModbusClient::new(tls))
}

/// Connects without TLS.
pub(crate) async fn connect_plain(addr: SocketAddr) -> io::Result<ModbusClient<TcpStream>> {
    let tcp = tokio::time::timeout(WAIT, TcpStream::connect(addr)).await??;
    tcp.set_nodelay(true)?;
    Ok(ModbusClient::new(tcp))
}

/// A minimal Modbus/TCP client: one request at a time, or raw bytes.
pub(crate) struct ModbusClient<S> {
    pub(crate) stream: S,
    tid: u16,
}

impl<S: AsyncRead + AsyncWrite + Unpin> ModbusClient<S> {
    pub(crate) fn new(stream: S) -> ModbusClient<S> {
        ModbusClient { stream, tid: 0 }
    }

    /// Sends `pdu` to unit 1 and returns the response ADU.
    pub(crate) async fn call(&mut self, pdu: RequestPdu<'_>) -> io::Result<Vec<u8>> {
        self.call_unit(1, pdu).await
    }

    /// Sends `pdu` to `unit` and returns the response ADU.
    pub(crate) async fn call_unit(&mut self, unit: u8, pdu: RequestPdu<'_>) -> io::Result<Vec<u8>> {
        self.tid = self.tid.wrapping_add(1);
        let mut bytes = Vec::new();
        rampart_modbus::Request::new(self.tid, unit, pdu)
            .encode(&mut bytes)
            .unwrap();
        self.send_raw(&bytes).await?;
        let response = self.receive().await?;
        let decoded = decode_response(&response)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        assert_eq!(decoded.transaction_id(), self.tid, "transaction id echoed");
        Ok(response)
    }

    pub(crate) async fn send_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        tokio::time::timeout(WAIT, async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        })
        .await?
    }

    /// Reads one response ADU.
    pub(crate) async fn receive(&mut self) -> io::Result<Vec<u8>> {
        tokio::time::timeout(WAIT, async {
            let mut header = [0u8; 7];
            self.stream.read_exact(&mut header).await?;
            let length = usize::from(u16::from_be_bytes([header[4], header[5]]));
            let mut adu = header.to_vec();
            adu.resize(6 + length, 0);
            self.stream.read_exact(&mut adu[7..]).await?;
            Ok(adu)
        })
        .await?
    }

    /// Reads holding registers; `Err` is the exception code.
    pub(crate) async fn read_holding(
        &mut self,
        start: u16,
        count: u16,
    ) -> io::Result<Result<Vec<u16>, ExceptionCode>> {
        let response = self
            .call(RequestPdu::ReadHoldingRegisters(
                AddressRange::new(start, count).unwrap(),
            ))
            .await?;
        Ok(registers(&response))
    }

    /// Reads input registers; `Err` is the exception code.
    pub(crate) async fn read_input(
        &mut self,
        start: u16,
        count: u16,
    ) -> io::Result<Result<Vec<u16>, ExceptionCode>> {
        let response = self
            .call(RequestPdu::ReadInputRegisters(
                AddressRange::new(start, count).unwrap(),
            ))
            .await?;
        Ok(registers(&response))
    }

    /// Writes one holding register; `Err` is the exception code.
    pub(crate) async fn write_register(
        &mut self,
        address: u16,
        value: u16,
    ) -> io::Result<Result<(), ExceptionCode>> {
        let response = self
            .call(RequestPdu::WriteSingleRegister { address, value })
            .await?;
        Ok(exception(&response).map_or(Ok(()), Err))
    }

    /// Whether the server closes the connection (EOF or error) within [`WAIT`].
    pub(crate) async fn is_closed_by_server(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(WAIT, self.stream.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        )
    }
}

/// The exception code of a response ADU, if it is an exception.
pub(crate) fn exception(adu: &[u8]) -> Option<ExceptionCode> {
    match decode_response(adu).ok()?.pdu() {
        ResponsePdu::Exception { code, .. } => Some(*code),
        _ => None,
    }
}

/// The registers of a read response, or its exception code.
pub(crate) fn registers(adu: &[u8]) -> Result<Vec<u16>, ExceptionCode> {
    let response: Response<'_> = decode_response(adu).unwrap();
    match response.pdu() {
        ResponsePdu::ReadHoldingRegisters(r) | ResponsePdu::ReadInputRegisters(r) => {
            Ok(Registers::iter(*r).collect())
        }
        ResponsePdu::Exception { code, .. } => Err(*code),
        other => panic!("unexpected response {other:?}"),
    }
}

/// Asserts that a TLS client was refused: at the handshake, or (TLS 1.3, where the client
/// finishes before the server has checked its certificate) with the first request.
pub(crate) async fn assert_refused(client: io::Result<TlsClient>) {
    match client {
        Err(_) => {}
        Ok(mut client) => {
            let result = client.read_holding(0, 1).await;
            assert!(result.is_err(), "the request got an answer: {result:?}");
        }
    }
}

/// A configuration whose upstream is `addr`.
pub(crate) fn with_upstream(mut config: GatewayConfig, addr: SocketAddr) -> GatewayConfig {
    config.upstream.target = UpstreamTarget::Remote(addr.to_string());
    config
}

/// A policy file in `dir` with `text`.
pub(crate) fn write_policy(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}
