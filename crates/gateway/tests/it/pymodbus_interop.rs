//! Interoperability with pymodbus (from `PyPI`), a Modbus implementation that is not ours:
//! as a Modbus/TCP Security client with each demo role, and as the upstream device.

use std::process::Command;

use rampart_gateway::Gateway;
use rampart_vault::DataDir;

use crate::util::loopback_config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs pymodbus: run scripts/test"]
async fn pymodbus_tls_clients_with_each_role() {
    let temp = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
    let gateway = Gateway::start(loopback_config(), &data).await.unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/pymodbus_client.py");
    let port = gateway.secure_addr().port().to_string();
    let pki = data.root().join("pki");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args(["--port", &port, "--pki"])
            .arg(&pki)
            .output()
    })
    .await
    .unwrap()
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for line in [
        "viewer read [500, 900, 100, 1]",
        "viewer write exception 1",
        "operator write ok",
        "operator read [321]",
        "engineer write ok",
        "no-certificate refused",
    ] {
        assert!(
            stdout.contains(line),
            "missing '{line}' in:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    let status = gateway.status();
    assert!(status.counters.denied >= 1);
    gateway.shutdown().await.unwrap();
}

/// Kills the pymodbus server when the test ends, however it ends.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs pymodbus: run scripts/test"]
async fn a_pymodbus_server_as_upstream() {
    use rampart_modbus::ExceptionCode;

    use crate::util::{connect, connect_plain, eventually, with_upstream};

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/pymodbus_server.py");
    let _server = Child(
        Command::new("python3")
            .arg(script)
            .arg(port.to_string())
            .spawn()
            .expect("python3 runs"),
    );
    let upstream: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    // Wait until pymodbus listens, reading directly as the reference.
    let mut direct = None;
    for _ in 0..100 {
        if let Ok(client) = connect_plain(upstream).await {
            direct = Some(client);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut direct = direct.expect("the pymodbus server listens");
    let expected = direct.read_holding(0, 4).await.unwrap().unwrap();

    let temp = tempfile::tempdir().unwrap();
    let (data, _) = DataDir::open_or_init(&temp.path().join("data")).unwrap();
    let gateway = Gateway::start(with_upstream(loopback_config(), upstream), &data)
        .await
        .unwrap();
    let pki = rampart_vault::pki::Pki::open(&data).unwrap();
    let mut viewer = connect(gateway.secure_addr(), &pki, "viewer")
        .await
        .unwrap();
    assert_eq!(viewer.read_holding(0, 4).await.unwrap(), Ok(expected));
    assert_eq!(
        viewer.write_register(3, 7).await.unwrap(),
        Err(ExceptionCode::ILLEGAL_FUNCTION)
    );
    let mut operator = connect(gateway.secure_addr(), &pki, "operator")
        .await
        .unwrap();
    assert_eq!(operator.write_register(3, 7).await.unwrap(), Ok(()));
    assert_eq!(direct.read_holding(3, 1).await.unwrap(), Ok(vec![7]));
    eventually(|| gateway.status().counters.denied == 1).await;
    gateway.shutdown().await.unwrap();
}
