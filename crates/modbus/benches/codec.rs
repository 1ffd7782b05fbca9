//! Codec throughput: framing and decoding realistic Modbus/TCP streams.
//!
//! The workload is a SCADA polling mix (mostly FC 3/4 reads of varied sizes, some coil reads,
//! register writes and single writes), framed from 1460-byte TCP segments so that ADUs
//! straddle chunk boundaries as they do on the wire.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rampart_modbus::{
    AddressRange, Bits, Deframer, Registers, Request, RequestPdu, Response, ResponsePdu,
    validate_response,
};

/// A TCP maximum segment size on Ethernet.
const SEGMENT: usize = 1460;
const TRANSACTIONS: u16 = 4000;

/// A small deterministic generator (xorshift), so every run measures the same stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u16 {
        u16::try_from(self.next() % n).unwrap()
    }
}

/// The client's and the server's byte streams of a polling session.
fn polling_session() -> (Vec<u8>, Vec<u8>) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let data = vec![0x5A_u8; 256];
    let (mut requests, mut responses) = (Vec::new(), Vec::new());
    for id in 0..TRANSACTIONS {
        let start = rng.below(60_000);
        let kind = rng.below(100);
        let (request, response) = match kind {
            0..60 => {
                let n = 1 + rng.below(125);
                let range = AddressRange::new(start, n).unwrap();
                let values = Registers::new(&data[..2 * usize::from(n)]).unwrap();
                (
                    RequestPdu::ReadHoldingRegisters(range),
                    ResponsePdu::ReadHoldingRegisters(values),
                )
            }
            60..75 => {
                let n = 1 + rng.below(125);
                let range = AddressRange::new(start, n).unwrap();
                let values = Registers::new(&data[..2 * usize::from(n)]).unwrap();
                (
                    RequestPdu::ReadInputRegisters(range),
                    ResponsePdu::ReadInputRegisters(values),
                )
            }
            75..85 => {
                let n = 1 + rng.below(2000);
                let range = AddressRange::new(start, n).unwrap();
                let bits = Bits::packed(&data[..usize::from(n.div_ceil(8))]).unwrap();
                (RequestPdu::ReadCoils(range), ResponsePdu::ReadCoils(bits))
            }
            85..95 => {
                let n = 1 + rng.below(123);
                let range = AddressRange::new(start, n).unwrap();
                let values = Registers::new(&data[..2 * usize::from(n)]).unwrap();
                (
                    RequestPdu::WriteMultipleRegisters { range, values },
                    ResponsePdu::WriteMultipleRegisters(range),
                )
            }
            _ => {
                let value = rng.below(0x1_0000);
                (
                    RequestPdu::WriteSingleRegister {
                        address: start,
                        value,
                    },
                    ResponsePdu::WriteSingleRegister {
                        address: start,
                        value,
                    },
                )
            }
        };
        Request::new(id, 1, request).encode(&mut requests).unwrap();
        Response::new(id, 1, response)
            .encode(&mut responses)
            .unwrap();
    }
    (requests, responses)
}

/// Frames `stream` in segments and hands every ADU to `each`; returns the ADU count.
fn frame(stream: &[u8], mut each: impl FnMut(rampart_modbus::Adu<'_>)) -> usize {
    let mut deframer = Deframer::new();
    let mut count = 0;
    for segment in stream.chunks(SEGMENT) {
        let mut input = segment;
        while let Some(adu) = deframer.next_adu(&mut input).unwrap() {
            each(adu);
            count += 1;
        }
    }
    count
}

fn codec(c: &mut Criterion) {
    let (requests, responses) = polling_session();

    let mut group = c.benchmark_group("framer");
    group.throughput(Throughput::Bytes(responses.len() as u64));
    group.bench_function("responses", |b| {
        b.iter(|| {
            frame(black_box(&responses), |adu| {
                black_box(adu);
            })
        });
    });
    group.finish();

    let mut group = c.benchmark_group("framer+decode");
    group.throughput(Throughput::Bytes(requests.len() as u64));
    group.bench_function("requests", |b| {
        b.iter(|| {
            frame(black_box(&requests), |adu| {
                let request = adu.decode_request().unwrap();
                black_box(request.access());
            })
        });
    });
    group.throughput(Throughput::Bytes(responses.len() as u64));
    group.bench_function("responses", |b| {
        b.iter(|| {
            frame(black_box(&responses), |adu| {
                black_box(adu.decode_response().unwrap());
            })
        });
    });
    group.throughput(Throughput::Bytes((requests.len() + responses.len()) as u64));
    group.bench_function("mixed", |b| {
        b.iter(|| {
            frame(black_box(&requests), |adu| {
                black_box(adu.decode_request().unwrap().access());
            }) + frame(black_box(&responses), |adu| {
                black_box(adu.decode_response().unwrap());
            })
        });
    });
    group.finish();

    // The gateway's full per-transaction work on the response path: frame, decode, and
    // validate against the pending request.
    let pending: Vec<Vec<u8>> = {
        let mut out = Vec::new();
        frame(&requests, |adu| out.push(adu.as_bytes().to_vec()));
        out
    };
    let mut group = c.benchmark_group("transaction");
    group.throughput(Throughput::Bytes((requests.len() + responses.len()) as u64));
    group.bench_function("frame+decode+validate", |b| {
        b.iter(|| {
            let mut index = 0;
            frame(black_box(&responses), |adu| {
                let request = rampart_modbus::decode_request(&pending[index]).unwrap();
                let response = adu.decode_response().unwrap();
                black_box(validate_response(&request, &response)).unwrap();
                index += 1;
            })
        });
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
