//! Differential test against tshark's Modbus/TCP dissector: for every Modbus frame of every
//! reference capture, the fields we decode equal tshark's, and every frame tshark decodes
//! that we do not is one we report as malformed, with a reason.

use std::collections::BTreeMap;
use std::process::Command;

use rampart_inspect::{Direction, FrameRecord, Options};

use crate::util::{ALL, inspect, pcap};

/// tshark's view of one packet: one entry per Modbus PDU in it.
#[derive(Debug, Default)]
struct TsharkPacket {
    transaction_ids: Vec<u16>,
    unit_ids: Vec<u8>,
    function_codes: Vec<u8>,
    reference: Vec<u16>,
    word_count: Vec<u32>,
    bit_count: Vec<u32>,
    byte_count: Vec<u16>,
    exception_code: Vec<u8>,
    malformed: bool,
}

fn numbers<T: std::str::FromStr>(field: &str) -> Vec<T> {
    field
        .split(',')
        .filter(|s| !s.is_empty())
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn tshark(name: &str) -> BTreeMap<u64, TsharkPacket> {
    let fields = [
        "frame.number",
        "mbtcp.trans_id",
        "mbtcp.unit_id",
        "modbus.func_code",
        "modbus.reference_num",
        "modbus.word_cnt",
        "modbus.bit_cnt",
        "modbus.byte_cnt",
        "modbus.exception_code",
        "_ws.malformed",
    ];
    let mut command = Command::new("tshark");
    command.args(["-n", "-r"]).arg(pcap(name)).args([
        "-Y",
        "mbtcp",
        "-T",
        "fields",
        "-E",
        "separator=|",
        "-E",
        "occurrence=a",
    ]);
    for field in fields {
        command.args(["-e", field]);
    }
    let output = command.output().expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed on {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut packets = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let f: Vec<&str> = line.split('|').collect();
        if f.len() < fields.len() {
            continue;
        }
        packets.insert(
            f[0].parse().unwrap(),
            TsharkPacket {
                transaction_ids: numbers(f[1]),
                unit_ids: numbers(f[2]),
                function_codes: numbers(f[3]),
                reference: numbers(f[4]),
                word_count: numbers(f[5]),
                bit_count: numbers(f[6]),
                byte_count: numbers(f[7]),
                exception_code: numbers(f[8]),
                malformed: !f[9].is_empty(),
            },
        );
    }
    packets
}

#[derive(Default)]
struct Tally {
    compared_pdus: usize,
    rejected_by_us: Vec<String>,
    mismatches: Vec<String>,
}

fn compare(name: &str, tally: &mut Tally) {
    let theirs = tshark(name);
    let report = inspect(
        name,
        Options {
            collect_frames: true,
            ..Options::default()
        },
    );
    let mut ours: BTreeMap<u64, Vec<&FrameRecord>> = BTreeMap::new();
    for record in &report.frames {
        ours.entry(record.packet).or_default().push(record);
    }
    for (packet, t) in &theirs {
        let records = ours.get(packet).cloned().unwrap_or_default();
        let decoded: Vec<&FrameRecord> = records
            .iter()
            .copied()
            .filter(|r| {
                !r.reason
                    .as_deref()
                    .is_some_and(|x| x.starts_with("malformed"))
            })
            .collect();
        let malformed: Vec<&FrameRecord> = records
            .iter()
            .copied()
            .filter(|r| {
                r.reason
                    .as_deref()
                    .is_some_and(|x| x.starts_with("malformed"))
            })
            .collect();
        if decoded.len() != t.function_codes.len() {
            // tshark decoded more PDUs here than we did: we must have said why.
            if malformed.is_empty() {
                tally.mismatches.push(format!(
                    "{name} packet {packet}: tshark decodes {} PDUs, rampart {} and reports nothing malformed",
                    t.function_codes.len(),
                    decoded.len()
                ));
            } else {
                tally.rejected_by_us.push(format!(
                    "{name} packet {packet}: {}{}",
                    malformed[0].reason.as_deref().unwrap_or_default(),
                    if t.malformed {
                        " (tshark: malformed too)"
                    } else {
                        ""
                    }
                ));
            }
            continue;
        }
        let field = |what: &str, ours: Vec<Option<u32>>, theirs: Vec<u32>, tally: &mut Tally| {
            let ours: Vec<u32> = ours.into_iter().flatten().collect();
            if !theirs.is_empty() && ours != theirs {
                tally.mismatches.push(format!(
                    "{name} packet {packet}: {what}: rampart {ours:?}, tshark {theirs:?}"
                ));
            }
        };
        field(
            "transaction id",
            decoded
                .iter()
                .map(|r| r.transaction_id.map(u32::from))
                .collect(),
            t.transaction_ids.iter().map(|&v| u32::from(v)).collect(),
            tally,
        );
        field(
            "unit id",
            decoded.iter().map(|r| r.unit_id.map(u32::from)).collect(),
            t.unit_ids.iter().map(|&v| u32::from(v)).collect(),
            tally,
        );
        field(
            "function code",
            decoded
                .iter()
                .map(|r| r.function_code.map(u32::from))
                .collect(),
            t.function_codes.iter().map(|&v| u32::from(v)).collect(),
            tally,
        );
        field(
            "exception code",
            decoded
                .iter()
                .map(|r| r.exception_code.map(u32::from))
                .collect(),
            t.exception_code.iter().map(|&v| u32::from(v)).collect(),
            tally,
        );
        if decoded.len() == 1 {
            let r = decoded[0];
            // tshark shows the start address of requests and of write responses (their echo).
            field(
                "start address",
                vec![r.start_address.map(u32::from)],
                t.reference.iter().map(|&v| u32::from(v)).collect(),
                tally,
            );
            let quantity = if r.direction == Direction::Request || r.start_address.is_some() {
                r.quantity
            } else {
                None
            };
            let counts: Vec<u32> = t.word_count.iter().chain(&t.bit_count).copied().collect();
            // FC 23 requests carry a read and a write count; tshark lists both.
            let ours_counts = match (quantity, r.write_quantity) {
                (Some(q), Some(w)) => vec![Some(q), Some(w)],
                (q, _) => vec![q],
            };
            field("quantity", ours_counts, counts, tally);
            field(
                "byte count",
                vec![r.byte_count.map(u32::from)],
                t.byte_count.iter().map(|&v| u32::from(v)).collect(),
                tally,
            );
        }
        tally.compared_pdus += decoded.len();
    }
}

#[test]
#[ignore = "needs tshark: run scripts/test"]
fn decoded_fields_equal_tsharks_modbus_dissector() {
    let mut tally = Tally::default();
    for name in ALL {
        compare(name, &mut tally);
    }
    println!("compared {} PDUs field by field", tally.compared_pdus);
    println!(
        "{} frames tshark decodes that rampart reports as malformed:",
        tally.rejected_by_us.len()
    );
    for line in &tally.rejected_by_us {
        println!("  {line}");
    }
    assert!(
        tally.mismatches.is_empty(),
        "{} mismatches:\n{}",
        tally.mismatches.len(),
        tally.mismatches.join("\n")
    );
    assert!(
        tally.compared_pdus > 8_000,
        "only {} PDUs compared",
        tally.compared_pdus
    );
}
