//! The built-in simulated PLC: a water tank whose level a controller keeps at a setpoint,
//! served over plain Modbus/TCP on loopback as unit 1.
//!
//! `rampart up` starts it in-process as the default upstream, so that the gateway can be tried
//! with nothing else installed. The values change over time: every request first advances
//! the process model by the time elapsed since the previous one.
//!
//! # Register map (unit 1)
//! | table | address | meaning | unit | default |
//! |---|---|---|---|---|
//! | holding | 0 | level setpoint | 0.1 % | 500 |
//! | holding | 1 | high level alarm limit | 0.1 % | 900 |
//! | holding | 2 | low level alarm limit | 0.1 % | 100 |
//! | holding | 3 | mode: 0 manual, 1 auto | | 1 |
//! | holding | 4 | inflow valve position in manual mode | 0.1 % | 0 |
//! | holding | 5 | outflow valve position (the demand) | 0.1 % | 300 |
//! | holding | 6 | pump speed setpoint | 0.1 % | 800 |
//! | holding | 7 | controller gain | 0.01 | 400 |
//! | holding | 8-19 | spare | | 0 |
//! | coil | 0 | inflow valve enabled | | on |
//! | coil | 1 | outflow valve enabled | | on |
//! | coil | 2 | pump run | | on |
//! | coil | 3 | alarm acknowledge (write on; reads off once handled) | | off |
//! | coil | 4-15 | spare | | off |
//! | input | 0 | level | 0.1 % | |
//! | input | 1 | inflow | 0.1 l/s | |
//! | input | 2 | outflow | 0.1 l/s | |
//! | input | 3 | inflow valve actual position | 0.1 % | |
//! | input | 4 | pump actual speed | 0.1 % | |
//! | input | 5 | water temperature | 0.1 °C | |
//! | input | 6 | seconds since start (modulo 65536) | s | |
//! | input | 7 | alarms raised since start | | |
//! | input | 8-15 | spare | | 0 |
//! | discrete | 0 | high level alarm | | |
//! | discrete | 1 | low level alarm | | |
//! | discrete | 2 | pump running | | |
//! | discrete | 3 | inflow valve open | | |
//! | discrete | 4 | outflow valve open | | |
//! | discrete | 5 | auto mode | | |
//! | discrete | 6 | overflow (level at least 99.5 %) | | |
//! | discrete | 7 | alarm not acknowledged | | |
//! | discrete | 8-15 | spare | | off |
//!
//! Addresses past these give exception 0x02 (illegal data address); values out of range
//! (a percentage above 1000, a mode other than 0 or 1) give 0x03 (illegal data value);
//! functions other than 1-6, 15, 16, 22 and 23 give 0x01 (illegal function); any unit but 1
//! gives 0x0B.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rampart_modbus::{AddressRange, ExceptionCode, Table};

use crate::server::{self, DataModel, ServerHandle, check_span};

/// The unit id the simulated PLC answers.
pub const SIM_UNIT: u8 = 1;

/// Holding registers (setpoints).
pub const HOLDING_REGISTERS: usize = 20;
/// Coils (valves, pump, acknowledge).
pub const COILS: usize = 16;
/// Input registers (process values).
pub const INPUT_REGISTERS: usize = 16;
/// Discrete inputs (switches and alarms).
pub const DISCRETE_INPUTS: usize = 16;

/// Holding register: level setpoint, 0.1 %.
pub const HR_LEVEL_SETPOINT: u16 = 0;
/// Holding register: high alarm limit, 0.1 %.
pub const HR_HIGH_LIMIT: u16 = 1;
/// Holding register: low alarm limit, 0.1 %.
pub const HR_LOW_LIMIT: u16 = 2;
/// Holding register: mode, 0 manual, 1 auto.
pub const HR_MODE: u16 = 3;
/// Holding register: inflow valve position in manual mode, 0.1 %.
pub const HR_INFLOW_MANUAL: u16 = 4;
/// Holding register: outflow valve position, 0.1 %.
pub const HR_OUTFLOW_VALVE: u16 = 5;
/// Holding register: pump speed setpoint, 0.1 %.
pub const HR_PUMP_SPEED: u16 = 6;
/// Holding register: controller gain, 0.01.
pub const HR_GAIN: u16 = 7;
/// Input register: level, 0.1 %.
pub const IR_LEVEL: u16 = 0;

/// Tank volume, litres.
const CAPACITY_L: f64 = 1000.0;
/// Inflow at a fully open valve and full pump speed, litres per second.
const MAX_INFLOW_L_S: f64 = 40.0;
/// Outflow at a fully open valve and a full tank, litres per second.
const MAX_OUTFLOW_L_S: f64 = 30.0;
/// Valve travel, fraction per second.
const VALVE_RATE: f64 = 0.25;
/// Pump ramp, fraction per second.
const PUMP_RATE: f64 = 0.5;
/// Integration step.
const STEP: Duration = Duration::from_millis(100);
/// The longest stretch integrated at once; a longer pause is skipped rather than replayed.
const MAX_CATCH_UP: Duration = Duration::from_mins(1);

/// The tank process model and its Modbus data tables.
#[derive(Debug, Clone)]
pub struct Tank {
    holding: [u16; HOLDING_REGISTERS],
    coils: [bool; COILS],
    level: f64,
    inflow_valve: f64,
    pump: f64,
    inflow_l_s: f64,
    outflow_l_s: f64,
    elapsed: Duration,
    alarms: u16,
    high_alarm: bool,
    low_alarm: bool,
    unacknowledged: bool,
    last_tick: Option<Instant>,
}

impl Default for Tank {
    fn default() -> Tank {
        Tank::new()
    }
}

impl Tank {
    /// A tank at 40 % with the defaults of the register map, in auto mode.
    pub fn new() -> Tank {
        let mut holding = [0; HOLDING_REGISTERS];
        holding[usize::from(HR_LEVEL_SETPOINT)] = 500;
        holding[usize::from(HR_HIGH_LIMIT)] = 900;
        holding[usize::from(HR_LOW_LIMIT)] = 100;
        holding[usize::from(HR_MODE)] = 1;
        holding[usize::from(HR_OUTFLOW_VALVE)] = 300;
        holding[usize::from(HR_PUMP_SPEED)] = 800;
        holding[usize::from(HR_GAIN)] = 400;
        let mut coils = [false; COILS];
        coils[0] = true;
        coils[1] = true;
        coils[2] = true;
        Tank {
            holding,
            coils,
            level: 0.4 * CAPACITY_L,
            inflow_valve: 0.0,
            pump: 0.0,
            inflow_l_s: 0.0,
            outflow_l_s: 0.0,
            elapsed: Duration::ZERO,
            alarms: 0,
            high_alarm: false,
            low_alarm: false,
            unacknowledged: false,
            last_tick: None,
        }
    }

    /// Advances the process by `dt` (at most one minute is integrated; longer pauses are
    /// skipped).
    pub fn tick(&mut self, dt: Duration) {
        let mut left = dt.min(MAX_CATCH_UP);
        self.elapsed += dt;
        while !left.is_zero() {
            let step = left.min(STEP);
            self.step(step.as_secs_f64());
            left -= step;
        }
        self.alarms_check();
    }

    /// The level, 0.1 % (0-1000).
    pub fn level_permille(&self) -> u16 {
        permille(self.level / CAPACITY_L)
    }

    /// The holding registers.
    pub fn holding_registers(&self) -> [u16; HOLDING_REGISTERS] {
        self.holding
    }

    /// The input registers, as a read returns them.
    pub fn input_registers(&self) -> [u16; INPUT_REGISTERS] {
        let mut out = [0; INPUT_REGISTERS];
        out[0] = self.level_permille();
        out[1] = tenths(self.inflow_l_s);
        out[2] = tenths(self.outflow_l_s);
        out[3] = permille(self.inflow_valve);
        out[4] = permille(self.pump);
        let t = self.elapsed.as_secs_f64();
        out[5] = tenths(18.0 + 1.5 * (t / 300.0).sin() + 2.0 * self.level / CAPACITY_L);
        // Seconds modulo 65536, as documented; the remainder always fits.
        out[6] = u16::try_from(self.elapsed.as_secs() % 65_536).unwrap_or_default();
        out[7] = self.alarms;
        out
    }

    /// The discrete inputs, as a read returns them.
    pub fn discrete_inputs(&self) -> [bool; DISCRETE_INPUTS] {
        let mut out = [false; DISCRETE_INPUTS];
        out[0] = self.high_alarm;
        out[1] = self.low_alarm;
        out[2] = self.pump > 0.01;
        out[3] = self.inflow_valve > 0.01;
        out[4] = self.coils[1] && self.fraction(HR_OUTFLOW_VALVE) > 0.01;
        out[5] = self.auto();
        out[6] = self.level >= 0.995 * CAPACITY_L;
        out[7] = self.unacknowledged;
        out
    }

    /// The coils.
    pub fn coils(&self) -> [bool; COILS] {
        self.coils
    }

    fn fraction(&self, register: u16) -> f64 {
        f64::from(self.holding[usize::from(register)]) / 1000.0
    }

    fn auto(&self) -> bool {
        self.holding[usize::from(HR_MODE)] == 1
    }

    fn step(&mut self, dt: f64) {
        let level = self.level / CAPACITY_L;
        let pump_target = if self.coils[2] {
            self.fraction(HR_PUMP_SPEED)
        } else {
            0.0
        };
        self.pump = approach(self.pump, pump_target, PUMP_RATE * dt);
        let outflow_valve = if self.coils[1] {
            self.fraction(HR_OUTFLOW_VALVE)
        } else {
            0.0
        };
        self.outflow_l_s = MAX_OUTFLOW_L_S * outflow_valve * level.max(0.0).sqrt();
        let valve_target = if !self.coils[0] {
            0.0
        } else if self.auto() {
            // Proportional control with feed-forward of the current outflow.
            let error = self.fraction(HR_LEVEL_SETPOINT) - level;
            let gain = f64::from(self.holding[usize::from(HR_GAIN)]) / 100.0;
            let capacity = MAX_INFLOW_L_S * self.pump.max(0.05);
            (self.outflow_l_s / capacity + gain * error).clamp(0.0, 1.0)
        } else {
            self.fraction(HR_INFLOW_MANUAL)
        };
        self.inflow_valve = approach(self.inflow_valve, valve_target, VALVE_RATE * dt);
        self.inflow_l_s = MAX_INFLOW_L_S * self.inflow_valve * self.pump;
        self.level =
            (self.level + (self.inflow_l_s - self.outflow_l_s) * dt).clamp(0.0, CAPACITY_L);
    }

    fn alarms_check(&mut self) {
        let level = self.level_permille();
        let high = level > self.holding[usize::from(HR_HIGH_LIMIT)];
        let low = level < self.holding[usize::from(HR_LOW_LIMIT)];
        if (high && !self.high_alarm) || (low && !self.low_alarm) {
            self.alarms = self.alarms.wrapping_add(1);
            self.unacknowledged = true;
        }
        self.high_alarm = high;
        self.low_alarm = low;
        if self.coils[3] {
            self.unacknowledged = false;
            self.coils[3] = false;
        }
    }
}

fn approach(current: f64, target: f64, max_change: f64) -> f64 {
    current + (target - current).clamp(-max_change, max_change)
}

/// A fraction as 0.1 % (0-1000).
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to 0..=1000 first"
)]
fn permille(fraction: f64) -> u16 {
    // Clamped to 0..=1000 first, so the cast cannot truncate.
    (fraction.clamp(0.0, 1.0) * 1000.0).round() as u16
}

/// A non-negative value in tenths, saturating at 65535.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "clamped to the u16 range first"
)]
fn tenths(value: f64) -> u16 {
    // Clamped to the u16 range first, so the cast cannot truncate.
    (value * 10.0).round().clamp(0.0, 65_535.0) as u16
}

impl DataModel for Tank {
    fn before_request(&mut self) {
        let now = Instant::now();
        if let Some(last) = self.last_tick {
            self.tick(now.saturating_duration_since(last));
        }
        self.last_tick = Some(now);
    }

    fn serves_unit(&self, unit: u8) -> bool {
        unit == SIM_UNIT
    }

    fn read_bits(
        &self,
        table: Table,
        range: AddressRange,
        out: &mut [bool],
    ) -> Result<(), ExceptionCode> {
        let source = match table {
            Table::Coils => self.coils,
            Table::DiscreteInputs => self.discrete_inputs(),
            _ => return Err(ExceptionCode::ILLEGAL_FUNCTION),
        };
        let start = check_span(range.start(), out.len(), source.len())?;
        out.copy_from_slice(&source[start..start + out.len()]);
        Ok(())
    }

    fn read_registers(
        &self,
        table: Table,
        range: AddressRange,
        out: &mut [u16],
    ) -> Result<(), ExceptionCode> {
        let input;
        let source: &[u16] = match table {
            Table::HoldingRegisters => &self.holding,
            Table::InputRegisters => {
                input = self.input_registers();
                &input
            }
            _ => return Err(ExceptionCode::ILLEGAL_FUNCTION),
        };
        let start = check_span(range.start(), out.len(), source.len())?;
        out.copy_from_slice(&source[start..start + out.len()]);
        Ok(())
    }

    fn write_coils(&mut self, start: u16, values: &[bool]) -> Result<(), ExceptionCode> {
        let start = check_span(start, values.len(), COILS)?;
        self.coils[start..start + values.len()].copy_from_slice(values);
        Ok(())
    }

    fn write_registers(&mut self, start: u16, values: &[u16]) -> Result<(), ExceptionCode> {
        let first = check_span(start, values.len(), HOLDING_REGISTERS)?;
        for (offset, value) in values.iter().enumerate() {
            let valid = match first + offset {
                0..=2 | 4..=6 => *value <= 1000,
                3 => *value <= 1,
                _ => true,
            };
            if !valid {
                return Err(ExceptionCode::ILLEGAL_DATA_VALUE);
            }
        }
        self.holding[first..first + values.len()].copy_from_slice(values);
        Ok(())
    }
}

/// The simulated PLC, serving a [`Tank`] over plain Modbus/TCP.
#[derive(Debug)]
pub struct SimulatedPlc {
    server: ServerHandle,
    tank: Arc<Mutex<Tank>>,
}

impl SimulatedPlc {
    /// Binds `addr` (use a loopback address; port 0 picks a free port) and starts serving.
    ///
    /// # Errors
    /// The bind error.
    pub async fn start(addr: SocketAddr) -> io::Result<SimulatedPlc> {
        let tank = Arc::new(Mutex::new(Tank::new()));
        let server = server::start(addr, Arc::clone(&tank), "simulated-plc").await?;
        Ok(SimulatedPlc { server, tank })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.server.local_addr()
    }

    /// A copy of the tank as it is now.
    pub fn tank(&self) -> Tank {
        self.tank
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Stops the server.
    pub async fn shutdown(self) {
        self.server.shutdown().await;
    }
}

#[cfg(test)]
mod tests;
