"""The background fault proxy that ``kafkalab kafka up --faults`` starts (and ``kafka down`` stops).

    python -m compose.faultproxy --brokers 1 --port-offset 0 --owner .kafkalab/kafka

One route per node of the local cluster, the control channel on its port, every fault event as a JSON
line on stdout (the launcher sends it to ``faultproxy.log`` in the data dir). SIGTERM or SIGINT stops it.
``--owner`` names the data dir whose cluster it serves: the launcher stops only a proxy whose command
line names its own data dir.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from compose.faultproxy.commands import FaultProxyError
from compose.faultproxy.proxy import FaultProxy
from compose.topology import fault_control_port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m compose.faultproxy", description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    parser.add_argument("--port-offset", type=int, default=0)
    parser.add_argument("--owner", required=True, help="the data dir of the cluster it serves")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

    def log(event: dict) -> None:
        print(json.dumps(event), flush=True)

    try:
        proxy = FaultProxy.for_cluster(args.brokers, args.port_offset,
                                       control_port=fault_control_port(args.port_offset), on_event=log)
        proxy.start()
    except (FaultProxyError, ValueError) as exc:
        print(f"kafkalab fault proxy: {exc}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps({"ready": proxy.bootstrap, "control": proxy.control_port, "owner": args.owner}), flush=True)
    try:
        while not stop.wait(1.0):
            if not proxy.running:
                print("kafkalab fault proxy: its loop ended unexpectedly", file=sys.stderr, flush=True)
                return 1
    finally:
        proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
