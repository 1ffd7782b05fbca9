use super::*;

fn job(client: u64, tid: u16, queued: Instant) -> (Job, mpsc::UnboundedReceiver<Completion>) {
    let [hi, lo] = tid.to_be_bytes();
    let bytes = [hi, lo, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
    let (reply, rx) = mpsc::unbounded_channel();
    let request = rampart_modbus::decode_request(&bytes).unwrap();
    let job = Job {
        client,
        request: PendingRequest::new(&request).unwrap(),
        reply,
        queued,
    };
    (job, rx)
}

#[test]
fn the_scheduler_serves_clients_in_turn() {
    let now = Instant::now();
    let mut scheduler = Scheduler::default();
    let mut receivers = Vec::new();
    for tid in 0..5 {
        let (j, rx) = job(1, tid, now);
        scheduler.push(j);
        receivers.push(rx);
    }
    let (j, rx) = job(2, 100, now);
    scheduler.push(j);
    receivers.push(rx);
    let order: Vec<(u64, u16)> = std::iter::from_fn(|| scheduler.pop())
        .map(|j| (j.client, j.request.transaction_id()))
        .collect();
    assert_eq!(order, [(1, 0), (2, 100), (1, 1), (1, 2), (1, 3), (1, 4)]);
    assert_eq!(scheduler.len, 0);
}

#[test]
fn expiry_takes_only_old_jobs_and_keeps_the_ring_consistent() {
    let old = Instant::now();
    let new = old + Duration::from_secs(5);
    let mut scheduler = Scheduler::default();
    let mut receivers = Vec::new();
    for (client, tid, at) in [(1, 1, old), (1, 2, new), (2, 3, old), (3, 4, new)] {
        let (j, rx) = job(client, tid, at);
        scheduler.push(j);
        receivers.push(rx);
    }
    let expired = scheduler.expire(Some(old + Duration::from_secs(1)));
    let mut tids: Vec<u16> = expired.iter().map(|j| j.request.transaction_id()).collect();
    tids.sort_unstable();
    assert_eq!(tids, [1, 3]);
    assert_eq!(scheduler.len, 2);
    let rest: Vec<u16> = std::iter::from_fn(|| scheduler.pop())
        .map(|j| j.request.transaction_id())
        .collect();
    assert_eq!(rest, [2, 4]);
}

#[test]
fn frames_rewrite_their_transaction_id() {
    let bytes = [0x12, 0x34, 0, 0, 0, 6, 1, 3, 0, 0, 0, 1];
    let mut frame = Frame::copy(Adu::parse(&bytes).unwrap());
    assert_eq!(frame.transaction_id(), 0x1234);
    frame.set_transaction_id(0xBEEF);
    assert_eq!(&frame.as_bytes()[..2], &[0xBE, 0xEF]);
    assert_eq!(frame.request().unwrap().transaction_id(), 0xBEEF);
    assert_eq!(frame.pdu_len(), 5);
    assert!(!frame.is_exception());
}
