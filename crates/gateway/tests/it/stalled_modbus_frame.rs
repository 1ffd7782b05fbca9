//! CR 7.1 (issue 14): a Modbus frame that stalls, or arrives one byte at a time, cannot hold
//! its connection. Every byte is activity, so the idle timeout (300 s) never fires; the
//! frame deadline (`limits.frame_timeout`, counted from a frame's first byte) does, and the
//! cut-off is in the audit trail. Clients that send whole frames, or a frame in a few quick
//! pieces, are unaffected however long they pause between frames.

use std::time::{Duration, Instant};

use rampart_modbus::{AddressRange, Request, RequestPdu};
use tokio::io::AsyncReadExt as _;

use crate::util::{TestGateway, TlsClient, loopback_config};

const FRAME_TIMEOUT: Duration = Duration::from_millis(600);
/// The earliest a cut-off may come, allowing for timer granularity.
const EARLIEST: Duration = Duration::from_millis(550);

/// A read of one holding register: 12 bytes.
fn read_request(tid: u16) -> Vec<u8> {
    let mut bytes = Vec::new();
    Request::new(
        tid,
        1,
        RequestPdu::ReadHoldingRegisters(AddressRange::new(0, 1).unwrap()),
    )
    .encode(&mut bytes)
    .unwrap();
    bytes
}

/// Sends `bytes` one at a time, `gap` apart, watching for the gateway to close the
/// connection; returns how long after the first byte it did, or `None` if it never did
/// (then the frame was answered).
async fn trickle(client: &mut TlsClient, bytes: &[u8], gap: Duration) -> Option<Duration> {
    let start = Instant::now();
    for byte in bytes {
        if client.send_raw(&[*byte]).await.is_err() {
            return Some(start.elapsed());
        }
        let mut buf = [0u8; 64];
        match tokio::time::timeout(gap, client.stream.read(&mut buf)).await {
            Err(_) => {}
            Ok(Ok(0) | Err(_)) => return Some(start.elapsed()),
            Ok(Ok(_)) => return None,
        }
    }
    None
}

async fn gateway() -> TestGateway {
    let mut config = loopback_config();
    config.limits.frame_timeout = FRAME_TIMEOUT;
    TestGateway::with_config(config).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_sent_byte_by_byte_is_cut_off_at_the_frame_deadline() {
    let gw = gateway().await;
    let mut slow = gw.client("engineer").await.unwrap();
    let mut normal = gw.client("viewer").await.unwrap();
    // 12 bytes, 100 ms apart: the frame would take 1.1 s, the deadline is 600 ms.
    let frame = read_request(1);
    let (cut, reads) = tokio::join!(
        trickle(&mut slow, &frame, Duration::from_millis(100)),
        async {
            // Meanwhile a normal client pauses longer than the deadline between its frames.
            let mut served = 0;
            for _ in 0..3 {
                if matches!(normal.read_holding(0, 1).await, Ok(Ok(_))) {
                    served += 1;
                }
                tokio::time::sleep(FRAME_TIMEOUT + Duration::from_millis(100)).await;
            }
            served
        }
    );
    let cut = cut.expect("the trickled frame must not be answered");
    println!("byte-by-byte frame cut off after {cut:?} (frame_timeout {FRAME_TIMEOUT:?})");
    assert!(cut >= EARLIEST, "cut off early: {cut:?}");
    assert!(cut < Duration::from_millis(1050), "cut off late: {cut:?}");
    assert_eq!(reads, 3, "the normal client is unaffected");
    gw.wait_for_events("modbus.frame_timeout", 1).await;
    assert_eq!(gw.events("modbus.frame_timeout"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_frame_is_cut_off_and_a_quickly_split_one_is_served() {
    let gw = gateway().await;
    // Half a frame, then nothing.
    let mut stalled = gw.client("viewer").await.unwrap();
    let frame = read_request(7);
    let start = Instant::now();
    stalled.send_raw(&frame[..5]).await.unwrap();
    assert!(stalled.is_closed_by_server().await);
    let cut = start.elapsed();
    assert!(cut >= EARLIEST && cut < FRAME_TIMEOUT * 3, "{cut:?}");
    gw.wait_for_events("modbus.frame_timeout", 1).await;
    // A frame in three pieces well within the deadline is answered, again and again.
    let mut split = gw.client("viewer").await.unwrap();
    for tid in 1..=3u16 {
        let frame = read_request(tid);
        for piece in [&frame[..3], &frame[3..8], &frame[8..]] {
            split.send_raw(piece).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let response = split.receive().await.unwrap();
        assert_eq!(u16::from_be_bytes([response[0], response[1]]), tid);
    }
    assert_eq!(gw.events("modbus.frame_timeout"), 1);
}
