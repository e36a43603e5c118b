"""The local stack: moto server, the stack's resources, the environment, the gateway, services.

    with LocalStack("config/local.json") as stack:      # free ports
        requests.post(f"{stack.url}/webhooks/extend-dev", ...)

The handlers run in this process and read the same environment variables they read in AWS;
``AWS_ENDPOINT_URL`` sends their boto3 clients to moto.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from eventhub.local.faults import StoreFaults
from eventhub.local.gateway import Gateway, GatewayServer
from eventhub.local.lambda_runtime import REGION, LambdaRuntime
from eventhub.local.resources import ResourceNames, artifact_limits, create_all, schedule_target
from eventhub.local.services import LocalService, discover
from eventhub.registry.apply import apply_config
from eventhub.registry.schedules import Schedules
from functions.adapters.registry.table import RegistryTable
from functions.models.config import HubConfig, load_config

SLOW_STOP_SECONDS = 5.0  # a service slower than this to stop is named in the log

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


class LocalStack:
    """Start on ``start()`` (or ``with``), stop on ``stop()``; ports 0 mean "any free port"."""

    def __init__(
        self,
        config_path: str | Path = "config/local.json",
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        store_fault_rate: float = 0.0,
        fault_seed: int | None = None,
        services: Iterable[LocalService] | None = None,
        aws_endpoint_url: str | None = None,
        names: ResourceNames | None = None,
        access_log: bool = False,
    ) -> None:
        self.config_path = Path(config_path).resolve()
        self.host = host
        self.requested_port = port
        self.store_fault_rate = store_fault_rate
        self.fault_seed = fault_seed
        self.names = names or ResourceNames()
        self.access_log = access_log
        self._services_given = None if services is None else list(services)
        self._external_endpoint = aws_endpoint_url
        self.endpoint_url: str = aws_endpoint_url or ""
        self.config: HubConfig | None = None
        self.resources: dict[str, str] = {}
        self.environment: dict[str, str] = {}
        self.services: list[LocalService] = []
        self.faults: StoreFaults | None = None
        self._faulted_client: Any = None
        self.runtime = LambdaRuntime()
        self.gateway = Gateway(self.runtime.invoke)
        self._moto: Any = None
        self._server: GatewayServer | None = None
        self._server_thread: threading.Thread | None = None
        self._saved_env: dict[str, str | None] = {}
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        self._started_services: list[LocalService] = []
        self._created = False

    # -- what tests, benchmarks and services use -----------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the local stack is not running")
        return self._server.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS (separate from the handlers' own clients)."""
        with self._clients_lock:
            if service not in self._clients:
                import boto3

                self._clients[service] = boto3.session.Session().client(
                    service,
                    endpoint_url=self.endpoint_url,
                    region_name=REGION,
                    aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
                )
            return self._clients[service]

    def invoke(self, handler_path: str, event: dict[str, Any], *, timeout_seconds: float = 29.0) -> Any:
        """Run a function in-process, one invocation at a time per function, as the gateway does."""
        return self.runtime.invoke(handler_path, event, timeout_seconds=timeout_seconds)

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> LocalStack:
        try:
            self.config = load_config(self.config_path)
            self._bind_gateway()  # first: a port in use fails fast, before moto starts
            self._start_aws()
            self.resources = self._create_resources()
            self._apply_config()
            self._set_environment()
            self._install_faults()
            self._serve_gateway()
            services = discover(self) if self._services_given is None else self._services_given
            for service in services:
                service.start(self)
                self._started_services.append(service)
            self.services = list(self._started_services)
            self.gateway.ready.set()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self.gateway.ready.clear()
        while self._started_services:
            service = self._started_services.pop()
            began = time.monotonic()
            try:
                service.stop()
            except Exception as error:  # keep stopping the rest
                logging.getLogger(__name__).warning("service %r failed to stop: %s", service, error)
            if (took := time.monotonic() - began) > SLOW_STOP_SECONDS:
                name = type(service).__name__
                logging.getLogger(__name__).warning("service %s took %.1f s to stop", name, took)
        if self._server is not None:
            if self._server_thread is not None:
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._server_thread is not None:
            self._server_thread.join(timeout=5)
            self._server_thread = None
        if self.faults is not None:
            self._uninstall_faults()
        self._restore_environment()
        if self._moto is not None:
            self._reset_moto()
            self._moto.stop()
            self._moto = None
        self._clients.clear()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # -- steps -------------------------------------------------------------------------------------

    def _start_aws(self) -> None:
        if self._external_endpoint:
            return
        from moto.server import ThreadedMotoServer

        from eventhub.local import moto_speedups

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        moto_speedups.install()  # simple updates without moto's ten walks of the expression
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        self._reset_moto()  # moto's state lives in this process: start from nothing

    def _reset_moto(self) -> None:
        import urllib.request

        reset_url = f"{self.endpoint_url}/moto-api/reset"
        request = urllib.request.Request(reset_url, method="POST")  # noqa: S310 - our loopback server
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass

    def _create_resources(self) -> dict[str, str]:
        clients = {name: self.client(name) for name in ("dynamodb", "s3", "sqs", "scheduler", "events")}
        existing = clients["dynamodb"].list_tables().get("TableNames", [])
        if self.names.table in existing:  # an external endpoint that already has them
            self._created = False
            queue = clients["sqs"].create_queue(QueueName=self.names.spill_queue)["QueueUrl"]
            return {
                "table": self.names.table,
                "registry": self.names.registry,
                "bucket": self.names.bucket,
                "spill_queue_url": queue,
                "schedule_group": self.names.schedule_group,
                "event_bus": self.names.event_bus,
            }
        self._created = True
        return create_all(clients, self.names)

    # -- the registry ------------------------------------------------------------------------------

    def registry_table(self) -> RegistryTable:
        return RegistryTable(self.resources["registry"], self.client("dynamodb"))

    def schedules(self) -> Schedules:
        return Schedules(self.client("scheduler"), schedule_target(self.names))

    def _apply_config(self) -> None:
        """The config file into the registry just created, as ``eventhub config apply`` does (a
        running stack's registry, reached through its endpoint, is left as it is)."""
        if not self._created or self.config is None:
            return
        _, report = apply_config(self.config, self.registry_table(), self.schedules())
        if not report.ok:
            raise RuntimeError(f"applying {self.config_path} failed at {report.failed}: {report.error}")

    def _set_environment(self) -> None:
        self.environment = {
            **FAKE_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "TABLE_NAME": self.resources["table"],
            "REGISTRY_TABLE_NAME": self.resources["registry"],
            "BUCKET_NAME": self.resources["bucket"],
            "SPILL_QUEUE_URL": self.resources["spill_queue_url"],
            "EVENT_BUS_NAME": self.resources["event_bus"],
            **artifact_limits(self.config),
            "POWERTOOLS_TRACE_DISABLED": "1",
            "POWERTOOLS_METRICS_NAMESPACE": os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "EventHub"),
        }
        self._apply_environment(self.environment, unset=("AWS_PROFILE",))

    def _apply_environment(self, values: Mapping[str, str], unset: Iterable[str] = ()) -> None:
        for name in [*values, *unset]:
            self._saved_env.setdefault(name, os.environ.get(name))
        for name in unset:
            os.environ.pop(name, None)
        os.environ.update(values)
        from functions.adapters import factory

        factory.reset()

    def _restore_environment(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()
        from functions.adapters import factory

        factory.reset()

    def _install_faults(self) -> None:
        if self.store_fault_rate > 0:
            self.set_store_fault_rate(self.store_fault_rate)

    def set_store_fault_rate(self, rate: float) -> StoreFaults:
        """Make this fraction of the handlers' DynamoDB writes fail as throttled from now on."""
        from functions.adapters import factory

        if self.faults is None:
            self.faults = StoreFaults(rate, seed=self.fault_seed)
            self._faulted_client = factory.client("dynamodb")
            self.faults.install(self._faulted_client)
        else:
            self.faults.set_rate(rate)
        self.store_fault_rate = rate
        return self.faults

    def _uninstall_faults(self) -> None:
        if self.faults is not None and self._faulted_client is not None:
            self.faults.uninstall(self._faulted_client)
        self._faulted_client = None
        self.faults = None

    def _bind_gateway(self) -> None:
        address = (self.host, self.requested_port)
        self._server = GatewayServer(address, self.gateway, access_log=self.access_log)

    def _serve_gateway(self) -> None:
        assert self._server is not None
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="eventhub-gateway", daemon=True
        )
        self._server_thread.start()
