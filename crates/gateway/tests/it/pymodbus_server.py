#!/usr/bin/env python3
"""A pymodbus 3.x Modbus/TCP server on loopback: an upstream device that is not ours.

Usage: pymodbus_server.py PORT. Serves until killed; holding and input registers hold
100, 101, 102... from address 0 (pymodbus blocks start at 1 and map to 0), coils and discrete inputs are off.
"""

import asyncio
import logging
import sys

from pymodbus.datastore import (
    ModbusDeviceContext,
    ModbusSequentialDataBlock,
    ModbusServerContext,
)
from pymodbus.server import StartAsyncTcpServer


def main() -> None:
    port = int(sys.argv[1])
    logging.basicConfig(level=logging.CRITICAL)
    device = ModbusDeviceContext(
        di=ModbusSequentialDataBlock(1, [0] * 200),
        co=ModbusSequentialDataBlock(1, [0] * 200),
        hr=ModbusSequentialDataBlock(1, list(range(100, 300))),
        ir=ModbusSequentialDataBlock(1, list(range(100, 300))),
    )
    context = ModbusServerContext(devices=device, single=True)
    asyncio.run(StartAsyncTcpServer(context=context, address=("127.0.0.1", port)))


if __name__ == "__main__":
    main()
