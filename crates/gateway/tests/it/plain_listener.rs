//! CR 7.7 least functionality: the plain Modbus/TCP listener is off unless configured, and
//! then every client gets the one configured role.

use rampart_modbus::ExceptionCode;

use crate::util::{TestGateway, connect_plain, loopback_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plain_listener_is_off_by_default() {
    let gw = TestGateway::start().await;
    assert_eq!(gw.gateway.plain_addr(), None);
    assert_eq!(gw.gateway.status().plain_addr, None);
    assert!(
        gw.gateway
            .start_summary()
            .contains("plain Modbus/TCP     off")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_clients_get_the_configured_role() {
    let mut config = loopback_config();
    config.plain.enabled = true;
    config.plain.role = Some("viewer".into());
    let gw = TestGateway::with_config(config).await;
    let addr = gw.gateway.plain_addr().unwrap();
    let mut client = connect_plain(addr).await.unwrap();
    assert_eq!(client.read_holding(0, 1).await.unwrap(), Ok(vec![500]));
    assert_eq!(
        client.write_register(0, 1).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    assert!(gw.gateway.start_summary().contains("NOT authenticated"));
    assert_eq!(gw.events("modbus.connect"), 1);
}
