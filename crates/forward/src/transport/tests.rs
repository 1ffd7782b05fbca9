use super::*;

#[test]
fn collector_addresses_parse_strictly() {
    for (text, host, port) in [
        ("siem.example.org:6514", "siem.example.org", 6514),
        ("192.0.2.10:514", "192.0.2.10", 514),
        ("[2001:db8::1]:6514", "2001:db8::1", 6514),
        ("localhost:1", "localhost", 1),
    ] {
        let address: CollectorAddress = text.parse().unwrap();
        assert_eq!((address.host(), address.port()), (host, port), "{text}");
        assert_eq!(address.to_string(), text);
    }
    for (text, reason) in [
        ("siem.example.org", "no port"),
        (":6514", "no host"),
        ("siem:0", "port"),
        ("siem:65536", "port"),
        ("siem:x", "port"),
        ("2001:db8::1:6514", "brackets"),
        ("[2001:db8::1]6514", "]:PORT"),
        ("[siem]:6514", "IPv6"),
        ("si em:6514", "not a DNS name"),
        ("siem/../x:6514", "not a DNS name"),
    ] {
        let err = text.parse::<CollectorAddress>().unwrap_err();
        assert!(err.to_string().contains(reason), "{text}: {err}");
    }
}

#[test]
fn server_names_are_dns_names_or_ip_addresses() {
    assert!(parse_server_name("siem.example.org").is_ok());
    assert!(parse_server_name("192.0.2.10").is_ok());
    assert!(parse_server_name("::1").is_ok());
    assert!(matches!(
        parse_server_name("not a name"),
        Err(ConfigError::ServerName(_))
    ));
}
