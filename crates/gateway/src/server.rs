//! A plain Modbus/TCP server over a [`DataModel`]: the engine of the simulated PLC and of the
//! benchmark register bank.
//!
//! Loopback test equipment, not a hardened device: it frames strictly (a framing error
//! closes the connection), answers malformed PDUs with exception 0x03 and unknown functions
//! with 0x01, and answers pipelined requests in order.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use rampart_modbus::{
    AddressRange, Bits, Deframer, ExceptionCode, FunctionCode, Registers, Request, RequestPdu,
    Response, ResponsePdu, Table,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::Instrument as _;

/// The most registers any request reads (FC 3, 4, 23).
const MAX_REGISTERS: usize = 125;
/// The most bytes of packed bits any read returns (FC 1, 2: 2000 bits).
const MAX_BIT_BYTES: usize = 250;

/// The four tables of a Modbus device, as a server sees them.
pub(crate) trait DataModel: Send + 'static {
    /// Called once before each request is served (the process model advances its clock).
    fn before_request(&mut self) {}

    /// Whether the device answers for `unit`.
    fn serves_unit(&self, unit: u8) -> bool;

    /// Reads bits of `table` (coils or discrete inputs) into `out`, one `bool` per address.
    fn read_bits(
        &self,
        table: Table,
        range: AddressRange,
        out: &mut [bool],
    ) -> Result<(), ExceptionCode>;

    /// Reads registers of `table` (holding or input) into `out`.
    fn read_registers(
        &self,
        table: Table,
        range: AddressRange,
        out: &mut [u16],
    ) -> Result<(), ExceptionCode>;

    /// Writes coils from `start`; all or nothing.
    fn write_coils(&mut self, start: u16, values: &[bool]) -> Result<(), ExceptionCode>;

    /// Writes holding registers from `start`; all or nothing.
    fn write_registers(&mut self, start: u16, values: &[u16]) -> Result<(), ExceptionCode>;
}

/// A running server: its address and the means to stop it.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes every connection and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Binds `addr` and serves `model` on it until [`ServerHandle::shutdown`].
pub(crate) async fn start<M: DataModel>(
    addr: SocketAddr,
    model: Arc<Mutex<M>>,
    name: &'static str,
) -> io::Result<ServerHandle> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(
        accept_loop(listener, model, stopped)
            .instrument(tracing::info_span!("modbus_server", server = name, listen = %addr)),
    );
    Ok(ServerHandle { addr, stop, task })
}

async fn accept_loop<M: DataModel>(
    listener: TcpListener,
    model: Arc<Mutex<M>>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        // Reap finished connections so the set stays small.
        while connections.try_join_next().is_some() {}
        tokio::select! {
            _ = stopped.changed() => {
                // Close every connection before the shutdown returns.
                connections.shutdown().await;
                return;
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let model = Arc::clone(&model);
                    let stopped = stopped.clone();
                    connections.spawn(
                        serve_connection(stream, model, stopped)
                            .instrument(tracing::debug_span!("connection", peer = %peer)),
                    );
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
        }
    }
}

async fn serve_connection<M: DataModel>(
    mut stream: TcpStream,
    model: Arc<Mutex<M>>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let mut deframer = Deframer::new();
    let mut input = vec![0u8; 8192];
    let mut output = Vec::with_capacity(8192);
    loop {
        let n = tokio::select! {
            _ = stopped.changed() => return,
            read = stream.read(&mut input) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            },
        };
        let mut chunk = input.get(..n).unwrap_or_default();
        loop {
            match deframer.next_adu(&mut chunk) {
                Ok(Some(adu)) => {
                    let header = adu.header();
                    match adu.decode_request() {
                        Ok(request) => {
                            let mut model = model.lock().unwrap_or_else(PoisonError::into_inner);
                            model.before_request();
                            if !model.serves_unit(request.unit_id()) {
                                exception(
                                    &request,
                                    ExceptionCode::GATEWAY_TARGET_FAILED_TO_RESPOND,
                                    &mut output,
                                );
                                continue;
                            }
                            respond(&mut *model, &request, &mut output);
                        }
                        Err(error) => {
                            // The frame is sound, so the stream stays in step; the PDU is not.
                            let function = adu.pdu().first().copied().unwrap_or_default();
                            tracing::debug!(%error, "malformed request");
                            let Ok(function) = FunctionCode::new(function) else {
                                return;
                            };
                            let response = Response::new(
                                header.transaction_id(),
                                header.unit_id(),
                                ResponsePdu::Exception {
                                    function,
                                    code: ExceptionCode::ILLEGAL_DATA_VALUE,
                                },
                            );
                            let _ = response.encode(&mut output);
                        }
                    }
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::debug!(%error, "framing error; closing");
                    let _ = stream.write_all(&output).await;
                    return;
                }
            }
        }
        if !output.is_empty() {
            if stream.write_all(&output).await.is_err() {
                return;
            }
            output.clear();
        }
    }
}

/// Appends the exception response to `request`.
fn exception(request: &Request<'_>, code: ExceptionCode, out: &mut Vec<u8>) {
    // An exception response always encodes: function and code are valid by construction.
    let _ = Response::exception(request, code).encode(out);
}

/// Serves one request against `model`, appending the response ADU to `out`.
pub(crate) fn respond<M: DataModel + ?Sized>(
    model: &mut M,
    request: &Request<'_>,
    out: &mut Vec<u8>,
) {
    let mut words = [0u16; MAX_REGISTERS];
    let mut bytes = [0u8; 2 * MAX_REGISTERS];
    let mut bits = [false; 8 * MAX_BIT_BYTES];
    let tid = request.transaction_id();
    let unit = request.unit_id();
    let result: Result<usize, ExceptionCode> = match *request.pdu() {
        RequestPdu::ReadCoils(range) | RequestPdu::ReadDiscreteInputs(range) => {
            let table = if matches!(request.pdu(), RequestPdu::ReadCoils(_)) {
                Table::Coils
            } else {
                Table::DiscreteInputs
            };
            read_bits(model, table, range, &mut bits, &mut bytes).and_then(|len| {
                let packed = bytes.get(..len).unwrap_or_default();
                let bits =
                    Bits::packed(packed).map_err(|_| ExceptionCode::SERVER_DEVICE_FAILURE)?;
                let pdu = if table == Table::Coils {
                    ResponsePdu::ReadCoils(bits)
                } else {
                    ResponsePdu::ReadDiscreteInputs(bits)
                };
                encode(Response::new(tid, unit, pdu), out)
            })
        }
        RequestPdu::ReadHoldingRegisters(range) | RequestPdu::ReadInputRegisters(range) => {
            let table = if matches!(request.pdu(), RequestPdu::ReadHoldingRegisters(_)) {
                Table::HoldingRegisters
            } else {
                Table::InputRegisters
            };
            read_registers(model, table, range, &mut words, &mut bytes).and_then(|len| {
                let registers = Registers::new(bytes.get(..len).unwrap_or_default())
                    .map_err(|_| ExceptionCode::SERVER_DEVICE_FAILURE)?;
                let pdu = if table == Table::HoldingRegisters {
                    ResponsePdu::ReadHoldingRegisters(registers)
                } else {
                    ResponsePdu::ReadInputRegisters(registers)
                };
                encode(Response::new(tid, unit, pdu), out)
            })
        }
        RequestPdu::WriteSingleCoil { address, value } => {
            model.write_coils(address, &[value]).and_then(|()| {
                encode(
                    Response::new(tid, unit, ResponsePdu::WriteSingleCoil { address, value }),
                    out,
                )
            })
        }
        RequestPdu::WriteSingleRegister { address, value } => {
            model.write_registers(address, &[value]).and_then(|()| {
                encode(
                    Response::new(
                        tid,
                        unit,
                        ResponsePdu::WriteSingleRegister { address, value },
                    ),
                    out,
                )
            })
        }
        RequestPdu::WriteMultipleCoils { range, values } => {
            let count = values.iter().len().min(bits.len());
            for (slot, bit) in bits.iter_mut().zip(values.iter()) {
                *slot = bit;
            }
            model
                .write_coils(range.start(), bits.get(..count).unwrap_or_default())
                .and_then(|()| {
                    encode(
                        Response::new(tid, unit, ResponsePdu::WriteMultipleCoils(range)),
                        out,
                    )
                })
        }
        RequestPdu::WriteMultipleRegisters { range, values } => {
            let count = values.len().min(words.len());
            for (slot, word) in words.iter_mut().zip(values.iter()) {
                *slot = word;
            }
            model
                .write_registers(range.start(), words.get(..count).unwrap_or_default())
                .and_then(|()| {
                    encode(
                        Response::new(tid, unit, ResponsePdu::WriteMultipleRegisters(range)),
                        out,
                    )
                })
        }
        RequestPdu::MaskWriteRegister {
            address,
            and_mask,
            or_mask,
        } => {
            let mut current = [0u16];
            model
                .read_registers(
                    Table::HoldingRegisters,
                    AddressRange::from_single(address),
                    &mut current,
                )
                .and_then(|()| {
                    let value = (current[0] & and_mask) | (or_mask & !and_mask);
                    model.write_registers(address, &[value])
                })
                .and_then(|()| {
                    encode(
                        Response::new(
                            tid,
                            unit,
                            ResponsePdu::MaskWriteRegister {
                                address,
                                and_mask,
                                or_mask,
                            },
                        ),
                        out,
                    )
                })
        }
        RequestPdu::ReadWriteMultipleRegisters {
            read,
            write,
            values,
        } => {
            let count = values.len().min(words.len());
            for (slot, word) in words.iter_mut().zip(values.iter()) {
                *slot = word;
            }
            model
                .write_registers(write.start(), words.get(..count).unwrap_or_default())
                .and_then(|()| {
                    read_registers(model, Table::HoldingRegisters, read, &mut words, &mut bytes)
                })
                .and_then(|len| {
                    let registers = Registers::new(bytes.get(..len).unwrap_or_default())
                        .map_err(|_| ExceptionCode::SERVER_DEVICE_FAILURE)?;
                    encode(
                        Response::new(
                            tid,
                            unit,
                            ResponsePdu::ReadWriteMultipleRegisters(registers),
                        ),
                        out,
                    )
                })
        }
        _ => Err(ExceptionCode::ILLEGAL_FUNCTION),
    };
    if let Err(code) = result {
        exception(request, code, out);
    }
}

fn encode(response: Response<'_>, out: &mut Vec<u8>) -> Result<usize, ExceptionCode> {
    response
        .encode(out)
        .map_err(|_| ExceptionCode::SERVER_DEVICE_FAILURE)
}

/// Reads bits and packs them into `bytes`; returns the number of bytes.
fn read_bits<M: DataModel + ?Sized>(
    model: &M,
    table: Table,
    range: AddressRange,
    bits: &mut [bool],
    bytes: &mut [u8],
) -> Result<usize, ExceptionCode> {
    let count = usize::try_from(range.count()).unwrap_or(usize::MAX);
    let bits = bits
        .get_mut(..count)
        .ok_or(ExceptionCode::ILLEGAL_DATA_VALUE)?;
    model.read_bits(table, range, bits)?;
    let len = count.div_ceil(8);
    let bytes = bytes
        .get_mut(..len)
        .ok_or(ExceptionCode::ILLEGAL_DATA_VALUE)?;
    bytes.fill(0);
    for (i, bit) in bits.iter().enumerate() {
        if *bit && let Some(byte) = bytes.get_mut(i / 8) {
            *byte |= 1 << (i % 8);
        }
    }
    Ok(len)
}

/// Reads registers and encodes them big-endian into `bytes`; returns the number of bytes.
fn read_registers<M: DataModel + ?Sized>(
    model: &M,
    table: Table,
    range: AddressRange,
    words: &mut [u16],
    bytes: &mut [u8],
) -> Result<usize, ExceptionCode> {
    let count = usize::try_from(range.count()).unwrap_or(usize::MAX);
    let words = words
        .get_mut(..count)
        .ok_or(ExceptionCode::ILLEGAL_DATA_VALUE)?;
    model.read_registers(table, range, words)?;
    for (chunk, word) in bytes.chunks_exact_mut(2).zip(words.iter()) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    Ok(2 * count)
}

/// Checks that `count` addresses from `start` fit in a table of `size` addresses.
pub(crate) fn check_span(start: u16, count: usize, size: usize) -> Result<usize, ExceptionCode> {
    let start = usize::from(start);
    if start + count > size {
        Err(ExceptionCode::ILLEGAL_DATA_ADDRESS)
    } else {
        Ok(start)
    }
}
