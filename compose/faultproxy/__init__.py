"""A Kafka fault proxy for kafka mode: lost acks, broker outages, latency and isolated clients, for real.

``FaultProxy`` runs in-process (a lab's Kafka world, a test); ``kafkalab kafka up --faults`` runs one in
the background and ``FaultProxyClient`` drives it over its control channel. Both take the same fault
commands, named like the simulator's story steps. docs/fault-proxy.md tells the whole story.
"""

from compose.faultproxy.background import attach
from compose.faultproxy.commands import COMMANDS, FaultCommands, FaultProxyError
from compose.faultproxy.connection import Limits
from compose.faultproxy.control import FaultProxyClient
from compose.faultproxy.proxy import FaultProxy
from compose.faultproxy.routes import Route, cluster_routes

__all__ = ["COMMANDS", "FaultCommands", "FaultProxy", "FaultProxyClient", "FaultProxyError", "Limits", "Route",
           "attach", "cluster_routes"]

