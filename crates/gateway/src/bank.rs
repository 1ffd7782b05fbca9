//! A plain, fast Modbus/TCP register bank: every address 0-65535 of every table, all public
//! read and write functions (1-6, 15, 16, 22, 23), any unit id. Benchmark and test equipment:
//! one upstream server for the gateway, a TLS proxy and direct plain Modbus alike.
//!
//! Initial contents: input register `n` holds `n`, discrete input `n` is `n` odd, holding
//! registers and coils start at zero.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rampart_modbus::{ADDRESS_SPACE, AddressRange, ExceptionCode, Table};

use crate::server::{self, DataModel, ServerHandle, check_span};

/// Addresses per table.
const SIZE: usize = ADDRESS_SPACE as usize;

struct Bank {
    coils: Vec<bool>,
    discrete: Vec<bool>,
    holding: Vec<u16>,
    input: Vec<u16>,
}

impl Bank {
    fn new() -> Bank {
        Bank {
            coils: vec![false; SIZE],
            discrete: (0..SIZE).map(|n| n % 2 == 1).collect(),
            holding: vec![0; SIZE],
            // The index is below 65536, so it fits.
            input: (0..SIZE)
                .map(|n| u16::try_from(n).unwrap_or(u16::MAX))
                .collect(),
        }
    }
}

impl DataModel for Bank {
    fn serves_unit(&self, _unit: u8) -> bool {
        true
    }

    fn read_bits(
        &self,
        table: Table,
        range: AddressRange,
        out: &mut [bool],
    ) -> Result<(), ExceptionCode> {
        let source = match table {
            Table::Coils => &self.coils,
            Table::DiscreteInputs => &self.discrete,
            _ => return Err(ExceptionCode::ILLEGAL_FUNCTION),
        };
        let start = check_span(range.start(), out.len(), SIZE)?;
        out.copy_from_slice(&source[start..start + out.len()]);
        Ok(())
    }

    fn read_registers(
        &self,
        table: Table,
        range: AddressRange,
        out: &mut [u16],
    ) -> Result<(), ExceptionCode> {
        let source = match table {
            Table::HoldingRegisters => &self.holding,
            Table::InputRegisters => &self.input,
            _ => return Err(ExceptionCode::ILLEGAL_FUNCTION),
        };
        let start = check_span(range.start(), out.len(), SIZE)?;
        out.copy_from_slice(&source[start..start + out.len()]);
        Ok(())
    }

    fn write_coils(&mut self, start: u16, values: &[bool]) -> Result<(), ExceptionCode> {
        let start = check_span(start, values.len(), SIZE)?;
        self.coils[start..start + values.len()].copy_from_slice(values);
        Ok(())
    }

    fn write_registers(&mut self, start: u16, values: &[u16]) -> Result<(), ExceptionCode> {
        let start = check_span(start, values.len(), SIZE)?;
        self.holding[start..start + values.len()].copy_from_slice(values);
        Ok(())
    }
}

/// The register bank server.
#[derive(Debug)]
pub struct RegisterBank {
    server: ServerHandle,
}

impl RegisterBank {
    /// Binds `addr` (port 0 picks a free port) and starts serving.
    ///
    /// # Errors
    /// The bind error.
    pub async fn start(addr: SocketAddr) -> io::Result<RegisterBank> {
        let bank = Arc::new(Mutex::new(Bank::new()));
        let server = server::start(addr, bank, "register-bank").await?;
        Ok(RegisterBank { server })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}
