#!/usr/bin/env python3
"""Talks to a Rampart gateway with pymodbus 3.x as a Modbus/TCP Security client.

Used by tests/it/pymodbus_interop.rs; also a copy-paste example of a client that uses the
demo certificates in DATA/pki. Prints one line per check; exits non-zero on a surprise.
"""

import argparse
import logging
import ssl
import sys
from pathlib import Path

from pymodbus.client import ModbusTlsClient
from pymodbus.exceptions import ModbusException


def context(pki: Path, role: str | None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile=pki / "ca.crt")
    # pymodbus does not pass a server name to the TLS layer, so the name cannot be checked;
    # the chain still must lead to the gateway's CA (verify_mode stays CERT_REQUIRED).
    ctx.check_hostname = False
    if role is not None:
        ctx.load_cert_chain(pki / "clients" / f"{role}.crt", pki / "clients" / f"{role}.key")
    return ctx


def client(args, role: str | None) -> ModbusTlsClient:
    c = ModbusTlsClient(
        args.host, port=args.port, sslctx=context(args.pki, role), timeout=3, retries=0
    )
    if not c.connect():
        raise ConnectionError(f"cannot connect as {role}")
    return c


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8020)
    parser.add_argument("--pki", type=Path, default=Path("rampart-data/pki"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)

    viewer = client(args, "viewer")
    rr = viewer.read_holding_registers(0, count=4, device_id=1)
    assert not rr.isError(), rr
    print(f"viewer read {list(rr.registers)}")
    wr = viewer.write_register(0, 321, device_id=1)
    assert wr.isError(), wr
    print(f"viewer write exception {wr.exception_code}")
    viewer.close()

    operator = client(args, "operator")
    wr = operator.write_register(0, 321, device_id=1)
    assert not wr.isError(), wr
    print("operator write ok")
    rr = operator.read_holding_registers(0, count=1, device_id=1)
    print(f"operator read {list(rr.registers)}")
    operator.close()

    engineer = client(args, "engineer")
    wr = engineer.write_registers(8, [1, 2], device_id=1)
    assert not wr.isError(), wr
    print("engineer write ok")
    engineer.close()

    try:
        anonymous = client(args, None)
        rr = anonymous.read_holding_registers(0, count=1, device_id=1)
        anonymous.close()
        if rr.isError():
            print("no-certificate refused")
        else:
            print(f"no-certificate ANSWERED {rr}")
            return 1
    except (ConnectionError, ModbusException, OSError, ssl.SSLError) as e:
        print(f"no-certificate refused ({type(e).__name__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
