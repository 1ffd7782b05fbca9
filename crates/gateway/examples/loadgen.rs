//! The load generator of `bench/gateway.sh` and `bench/gateway-idle.sh`.
//!
//! ```text
//! loadgen serve --listen 127.0.0.1:15502
//!     the register bank (rampart_gateway::bank::RegisterBank): the one fast upstream
//!     Modbus/TCP server behind Rampart, stunnel and the direct runs alike
//! loadgen run --target 127.0.0.1:8020 --connections 8 [--ca CA --cert CRT --key KEY]
//!     closed loop: K connections, each sends read holding registers (FC 3, unit 1,
//!     10 registers) and waits for the answer before the next; warm-up, then a fixed
//!     measurement window; prints one line: requests/s, p50, p99 and p99.9 latency
//! loadgen idle --target 127.0.0.1:8020 --count 1000 --ca CA --cert CRT --key KEY
//!     opens COUNT TLS connections (handshake and one request each), prints `ready`,
//!     holds them open, then checks that every one still answers
//! ```
//!
//! Plain TCP without `--ca`; TLS (rustls with Rampart's Modbus/TCP Security provider,
//! `rampart_vault::tls::client_config`) with `--ca`, `--cert` and `--key`.
//!
//! Build: `cargo build --release --example loadgen -p rampart-gateway`.

use std::io::{self, Write as _};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use rampart_gateway::bank::RegisterBank;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;

/// How long one connection attempt (TCP and TLS handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one answer may take before the run fails.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Parser)]
#[command(about = "Modbus/TCP load generator and register bank for the gateway benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Runtime worker threads (default: one per core).
    #[arg(long, global = true)]
    threads: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the register bank until killed.
    Serve {
        /// Address to listen on.
        #[arg(long)]
        listen: SocketAddr,
    },
    /// Closed-loop read load; prints one result line.
    Run(RunArgs),
    /// Open many idle TLS connections and hold them.
    Idle(IdleArgs),
}

#[derive(Args)]
struct TlsArgs {
    /// CA certificate (PEM) that signed the server certificate; enables TLS.
    #[arg(long, requires_all = ["cert", "key"])]
    ca: Option<PathBuf>,
    /// Client certificate (PEM).
    #[arg(long)]
    cert: Option<PathBuf>,
    /// Client key (PEM, mode 0600).
    #[arg(long)]
    key: Option<PathBuf>,
    /// The server name to verify.
    #[arg(long, default_value = "localhost")]
    server_name: String,
}

#[derive(Args)]
struct RunArgs {
    /// HOST:PORT of the gateway, proxy or server.
    #[arg(long)]
    target: SocketAddr,
    #[command(flatten)]
    tls: TlsArgs,
    /// Connections (K), each one request outstanding at a time.
    #[arg(long, default_value_t = 1)]
    connections: usize,
    /// Seconds of warm-up (not measured).
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Seconds measured.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Registers per read.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=125))]
    registers: u16,
    /// A label printed first on the result line.
    #[arg(long, default_value = "run")]
    label: String,
}

#[derive(Args)]
struct IdleArgs {
    /// HOST:PORT of the gateway.
    #[arg(long)]
    target: SocketAddr,
    #[command(flatten)]
    tls: TlsArgs,
    /// Connections to open.
    #[arg(long, default_value_t = 1000)]
    count: usize,
    /// Source addresses 127.0.0.1 .. 127.0.0.N, used in turn (per-address limits).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=254))]
    sources: u8,
    /// Handshakes in progress at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Seconds to hold the connections after `ready` before checking them again.
    #[arg(long, default_value_t = 10.0)]
    hold: f64,
}

fn main() {
    let cli = Cli::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(threads) = cli.threads {
        builder.worker_threads(threads.max(1));
    }
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(e) => fail(&format!("runtime: {e}")),
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve { listen } => serve(listen).await,
            Command::Run(args) => run(args).await,
            Command::Idle(args) => idle(args).await,
        }
    });
    if let Err(e) = result {
        fail(&e.to_string());
    }
}

fn fail(message: &str) -> ! {
    eprintln!("loadgen: {message}");
    std::process::exit(1);
}

async fn serve(listen: SocketAddr) -> io::Result<()> {
    let bank = RegisterBank::start(listen).await?;
    println!("listening {}", bank.local_addr());
    io::stdout().flush()?;
    std::future::pending::<()>().await;
    Ok(())
}

/// A Modbus/TCP stream: plain or TLS.
trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<S: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for S {}

/// How to reach the target.
#[derive(Clone)]
struct Connector {
    target: SocketAddr,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Connector {
    fn new(target: SocketAddr, args: &TlsArgs) -> io::Result<Connector> {
        let tls = match (&args.ca, &args.cert, &args.key) {
            (Some(ca), Some(cert), Some(key)) => {
                let config: Arc<ClientConfig> =
                    rampart_vault::tls::client_config(ca, Some((cert, key)))
                        .map_err(io::Error::other)?;
                let name = ServerName::try_from(args.server_name.clone())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
                Some((TlsConnector::from(config), name))
            }
            _ => None,
        };
        Ok(Connector { target, tls })
    }

    /// Connects from `source` (any loopback address when `None`); returns the stream and
    /// the negotiated TLS version and suite.
    async fn connect(&self, source: Option<IpAddr>) -> io::Result<(Box<dyn Stream>, String)> {
        let attempt = async {
            let tcp = match source {
                Some(ip) => {
                    let socket = TcpSocket::new_v4()?;
                    socket.bind(SocketAddr::new(ip, 0))?;
                    socket.connect(self.target).await?
                }
                None => TcpStream::connect(self.target).await?,
            };
            tcp.set_nodelay(true)?;
            match &self.tls {
                None => Ok((Box::new(tcp) as Box<dyn Stream>, "plain".to_owned())),
                Some((connector, name)) => {
                    let tls = connector.connect(name.clone(), tcp).await?;
                    let (_, session) = tls.get_ref();
                    let what = format!(
                        "{}/{}",
                        session
                            .protocol_version()
                            .map(|v| format!("{v:?}"))
                            .unwrap_or_default(),
                        session
                            .negotiated_cipher_suite()
                            .map(|s| format!("{:?}", s.suite()))
                            .unwrap_or_default()
                    );
                    Ok((Box::new(tls) as Box<dyn Stream>, what))
                }
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, attempt)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))?
    }
}

/// One read-holding-registers transaction on `stream`: sends, waits for the answer and
/// checks that it answers this request (transaction id, unit, function, byte count).
async fn transact(
    stream: &mut Box<dyn Stream>,
    tid: u16,
    registers: u16,
    answer: &mut [u8; 260],
) -> io::Result<()> {
    let [t0, t1] = tid.to_be_bytes();
    let [q0, q1] = registers.to_be_bytes();
    let request = [t0, t1, 0, 0, 0, 6, 1, 3, 0, 0, q0, q1];
    stream.write_all(&request).await?;
    stream.flush().await?;
    // Read whatever has arrived (one system call for a whole answer, as a real client with
    // a buffered reader would), until the answer is complete.
    let mut filled = 0;
    let total = loop {
        if filled >= 7 {
            let len = usize::from(u16::from_be_bytes([answer[4], answer[5]]));
            if !(2..=254).contains(&len) {
                return Err(bad(&format!("length field {len}")));
            }
            if filled >= 6 + len {
                break 6 + len;
            }
        }
        let n = stream.read(&mut answer[filled..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        filled += n;
    };
    if filled != total {
        return Err(bad("more bytes than one answer"));
    }
    let (header, body) = answer[..total].split_at(7);
    if header[..2] != [t0, t1] || header[6] != 1 {
        return Err(bad("an answer to another transaction or unit"));
    }
    if body[0] != 3 {
        return Err(bad(&format!(
            "function {:#04x} (exception {:#04x}): the request was refused",
            body[0],
            body.get(1).copied().unwrap_or_default()
        )));
    }
    if usize::from(body.get(1).copied().unwrap_or_default()) != 2 * usize::from(registers) {
        return Err(bad("a byte count that does not match the request"));
    }
    Ok(())
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("bad answer: {what}"))
}

async fn run(args: RunArgs) -> io::Result<()> {
    if args.connections == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "--connections 0",
        ));
    }
    let connector = Connector::new(args.target, &args.tls)?;
    let mut streams = Vec::with_capacity(args.connections);
    let mut negotiated = String::new();
    for _ in 0..args.connections {
        let (stream, what) = connector.connect(None).await?;
        negotiated = what;
        streams.push(stream);
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let end = measure_from + Duration::from_secs_f64(args.duration);
    let registers = args.registers;
    let mut tasks = tokio::task::JoinSet::new();
    for mut stream in streams {
        tasks.spawn(async move {
            let mut samples: Vec<u64> = Vec::with_capacity(1 << 16);
            let mut answer = [0u8; 260];
            let mut tid: u16 = 0;
            loop {
                let sent = Instant::now();
                if sent >= end {
                    break;
                }
                tid = tid.wrapping_add(1);
                tokio::time::timeout(
                    ANSWER_TIMEOUT,
                    transact(&mut stream, tid, registers, &mut answer),
                )
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer in time"))??;
                let done = Instant::now();
                if done >= measure_from && done < end {
                    samples.push(u64::try_from((done - sent).as_nanos()).unwrap_or(u64::MAX));
                }
            }
            let _ = stream.shutdown().await;
            Ok::<_, io::Error>(samples)
        });
    }
    let mut samples = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        samples.extend(joined.map_err(io::Error::other)??);
    }
    samples.sort_unstable();
    let count = samples.len();
    if count == 0 {
        return Err(io::Error::other("no request completed in the window"));
    }
    let pick = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into the sorted samples"
        )]
        let index = ((count as f64 * q).ceil() as usize).clamp(1, count) - 1;
        #[allow(clippy::cast_precision_loss, reason = "microseconds for people")]
        let micros = samples[index] as f64 / 1000.0;
        micros
    };
    #[allow(clippy::cast_precision_loss, reason = "a rate for people")]
    let rate = count as f64 / args.duration;
    println!(
        "{} connections={} requests={count} seconds={:.2} rps={rate:.0} p50_us={:.1} p99_us={:.1} p999_us={:.1} mean_us={:.1} cpu_s={:.2} tls={negotiated}",
        args.label,
        args.connections,
        args.duration,
        pick(0.50),
        pick(0.99),
        pick(0.999),
        {
            #[allow(clippy::cast_precision_loss, reason = "microseconds for people")]
            let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / count as f64 / 1000.0;
            mean
        },
        own_cpu_seconds(),
    );
    Ok(())
}

/// CPU time (user and system) this process has used, from `/proc/self/stat`; 0 elsewhere.
fn own_cpu_seconds() -> f64 {
    const TICKS_PER_SECOND: f64 = 100.0;
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name, which ends with the last ')': state is field 3, utime
    // and stime are fields 14 and 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}

async fn idle(args: IdleArgs) -> io::Result<()> {
    if args.tls.ca.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "idle needs --ca, --cert and --key",
        ));
    }
    let connector = Connector::new(args.target, &args.tls)?;
    let limit = Arc::new(tokio::sync::Semaphore::new(args.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for n in 0..args.count {
        let connector = connector.clone();
        let limit = Arc::clone(&limit);
        let host = u8::try_from(n % usize::from(args.sources)).unwrap_or(0) + 1;
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, host));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(io::Error::other)?;
            let (mut stream, _) = connector.connect(Some(source)).await?;
            let mut answer = [0u8; 260];
            // One request: the gateway accepted the client and runs its session.
            tokio::time::timeout(ANSWER_TIMEOUT, transact(&mut stream, 1, 10, &mut answer))
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer in time"))??;
            Ok::<_, io::Error>(stream)
        });
    }
    let mut streams = Vec::with_capacity(args.count);
    let mut failures = 0usize;
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        match joined.map_err(io::Error::other)? {
            Ok(stream) => streams.push(stream),
            Err(e) => {
                failures += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    println!(
        "ready open={} failed={failures} seconds={:.1}{}",
        streams.len(),
        started.elapsed().as_secs_f64(),
        first_error
            .map(|e| format!(" first_error={e:?}"))
            .unwrap_or_default()
    );
    io::stdout().flush()?;
    tokio::time::sleep(Duration::from_secs_f64(args.hold)).await;
    // Every held connection must still answer.
    let mut checks = tokio::task::JoinSet::new();
    for mut stream in streams {
        checks.spawn(async move {
            let mut answer = [0u8; 260];
            tokio::time::timeout(ANSWER_TIMEOUT, transact(&mut stream, 2, 10, &mut answer))
                .await
                .is_ok_and(|r| r.is_ok())
        });
    }
    let (mut alive, mut dead) = (0usize, 0usize);
    while let Some(joined) = checks.join_next().await {
        if joined.unwrap_or(false) {
            alive += 1;
        } else {
            dead += 1;
        }
    }
    println!("checked alive={alive} dead={dead}");
    Ok(())
}
