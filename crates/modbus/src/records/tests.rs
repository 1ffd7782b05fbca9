use super::*;

#[test]
fn file_reads_iterate() {
    let bytes = [6, 0, 4, 0, 1, 0, 2, 6, 0, 3, 0, 9, 0, 2];
    let reads = FileReads::parse(&bytes).unwrap();
    assert_eq!(reads.len(), 2);
    let all: Vec<FileRead> = reads.iter().collect();
    assert_eq!(
        all[1],
        FileRead {
            file_number: 3,
            record_number: 9,
            record_length: 2
        }
    );
}

#[test]
fn file_reads_reject_bad_fields() {
    let cases: [(&[u8], &str); 5] = [
        (&[5, 0, 4, 0, 1, 0, 2], "reference type"),
        (&[6, 0, 0, 0, 1, 0, 2], "file number"),
        (&[6, 0, 1, 0x27, 0x10, 0, 1], "record number"),
        (&[6, 0, 1, 0x27, 0x0F, 0, 2], "record length"),
        (&[6, 0, 1, 0, 1, 0], "record length"),
    ];
    for (bytes, field) in cases {
        let error = FileReads::parse(bytes).unwrap_err();
        assert!(error.to_string().contains(field), "{bytes:?}: {error}");
    }
}

#[test]
fn file_writes_carry_record_data() {
    let bytes = [6, 0, 4, 0, 7, 0, 3, 0x06, 0xAF, 0x04, 0xBE, 0x10, 0x0D];
    let writes = FileWrites::parse(&bytes).unwrap();
    let first = writes.iter().next().unwrap();
    assert_eq!(
        first.values.iter().collect::<Vec<_>>(),
        [0x06AF, 0x04BE, 0x100D]
    );
    assert!(FileWrites::parse(&bytes[..12]).is_err());
}

#[test]
fn file_read_data_needs_odd_lengths() {
    let bytes = [5, 6, 0x0D, 0xFE, 0x00, 0x20, 5, 6, 0x33, 0xCD, 0x00, 0x40];
    let blocks: Vec<_> = FileReadData::parse(&bytes).unwrap().iter().collect();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[1].get(0), Some(0x33CD));
    assert!(FileReadData::parse(&[4, 6, 0, 0, 0]).is_err());
    assert!(FileReadData::parse(&[1, 6]).is_err());
    assert!(FileReadData::parse(&[]).is_err());
}

#[test]
fn device_objects_use_up_their_bytes() {
    let bytes = [0, 2, b'A', b'B', 1, 1, b'C'];
    let objects = DeviceObjects::parse(2, &bytes).unwrap();
    let all: Vec<_> = objects.iter().collect();
    assert_eq!(all[1], DeviceObject { id: 1, value: b"C" });
    assert!(DeviceObjects::parse(1, &bytes).is_err());
    assert!(DeviceObjects::parse(3, &bytes).is_err());
}
