"""One local region ("cell"): the API adapter (API Gateway HTTP API, payload 2.0) on its own
port, the worker polling the region's SQS queue, and the stream reader that feeds the stream
function and the replicator from the region's DynamoDB streams."""

from __future__ import annotations

import json
import logging
import threading
import time
import traceback
from collections import defaultdict

from components.config import STREAM_MAX_RETRY_ATTEMPTS
from tools.local import apigw, aws, functions
from tools.local.server import HttpEndpoint, exchange_handler
from tools.local.topology import ACCOUNT_ID, Topology

log = logging.getLogger("appx.local")

STREAM_BATCH = 100
STREAM_RECORD_LIFETIME_S = 24 * 3600  # DynamoDB Streams keeps records 24 hours


class FaultState:
    def __init__(self) -> None:
        self.down = False
        self.slow_ms = 0
        self.replication_cut = False
        self.storage_down = False
        self.breaker_forced = False
        self.duplicate_delivery = False
        self.stream_failing = False  # every stream invocation errors (a bad deploy, a poison record)
        self.worker_paused = False  # the queue's event source mapping is disabled: messages wait
        self.since: float | None = None

    def as_dict(self) -> dict:
        return {"down": self.down, "slowMs": self.slow_ms, "replicationCut": self.replication_cut,
                "storageDown": self.storage_down, "breakerForced": self.breaker_forced,
                "duplicateDelivery": self.duplicate_delivery, "streamFailing": self.stream_failing,
                "workerPaused": self.worker_paused, "since": self.since}


class Cell(HttpEndpoint):
    def __init__(self, runtime, region: str, env: dict[str, str], handlers: dict, port: int = 0):
        self.runtime, self.region, self.env, self.handlers = runtime, region, env, handlers
        self.topology: Topology = runtime.topology
        self.faults = FaultState()
        self.stats = defaultdict(int)
        self._stop = threading.Event()
        self._listen(port, exchange_handler(self._exchange, "appx-local-apigw", accept=lambda: not self.faults.down))
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name=f"cell-{region}", daemon=True),
            threading.Thread(target=self._worker_loop, name=f"worker-{region}", daemon=True),
            threading.Thread(target=self._stream_loop, name=f"stream-{region}", daemon=True),
            threading.Thread(target=self._sweep_loop, name=f"erasure-sweep-{region}", daemon=True),
        ]
        self.stream_cursor: dict[str, int] = {}  # table -> next index handed to the replicator
        self.fn_cursor: dict[str, int] = {}  # table -> next index for the stream function
        self.fn_retries: dict[tuple[str, int], int] = defaultdict(int)
        self.stream_failures: list[dict] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        oldest = time.time() - STREAM_RECORD_LIFETIME_S
        for table in [t.name for t in self.topology.tables_in(self.region)]:
            items = aws.stream_items(self.region, table)
            self.stream_cursor[table] = len(items)
            # The stream mapping starts at TRIM_HORIZON: the oldest record the stream still keeps.
            self.fn_cursor[table] = next((i for i, r in enumerate(items) if _created(r) >= oldest), len(items))
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def data_plane_up(self) -> bool:
        return not self.faults.down

    @property
    def storage_up(self) -> bool:
        return not (self.faults.down or self.faults.storage_down)

    # ------------------------------------------------------------------ API adapter
    def _exchange(self, method, path, query, headers, body, source_ip):
        if self.faults.down:  # unreachable: no answer on a connection opened before the fault
            return None, [], b""
        if self.faults.slow_ms:
            time.sleep(self.faults.slow_ms / 1000.0)
        if not self.serves_host(next((v for k, v in headers if k.lower() == "host"), "")):
            # API Gateway answers a Host that is none of its custom domain names with 403.
            return 403, [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ForbiddenException")], b'{"message":"Forbidden"}'
        status, out_headers, out = self.invoke_api(method, path, query, headers, body, source_ip)
        return status, out_headers + [("x-appx-region", self.region)], out

    def serves_host(self, host: str) -> bool:
        """Names under the application's domain must be one of this cell's custom domain names
        (the public origin, its zones' origins); anything else stands for the execute-api
        endpoint, which the local tools and health checks call directly."""
        topology = self.runtime.topology
        name = host.split(":")[0].lower()
        if name != topology.domain and not name.endswith("." + topology.domain):
            return True
        return self.region in topology.origin_hosts.get(name, ())

    def invoke_api(self, method, path, query, headers, body, source_ip) -> tuple[int, list, bytes]:
        host = next((v for k, v in headers if k.lower() == "host"), f"api.{self.region}.local")
        event = apigw.http_api_event(method, path, query, headers, body, source_ip, host.split(":")[0], self.region)
        self.stats["requests"] += 1
        try:
            with functions.running(self.region, "api"):
                result = self.handlers["api"](event, functions.LambdaContext("appx-api", self.region))
            status, hdrs, out = apigw.http_api_response(result)
        except functions.Throttled:
            self.stats["throttles"] += 1
            return 503, [("Content-Type", "application/json"), ("Retry-After", "1")], b'{"message":"Service Unavailable"}'
        except Exception:  # a crashed Lambda: API Gateway answers 500 Internal Server Error
            self.stats["errors"] += 1
            with functions.running(self.region, "api"):
                traceback.print_exc()
            return 500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}'
        if status >= 500:
            self.stats["5xx"] += 1
        return status, hdrs, out

    # ------------------------------------------------------------------ worker (SQS)
    def _worker_loop(self) -> None:
        if "worker" not in self.handlers:
            return
        sqs = aws.client("sqs", self.region, self.runtime.moto.url)
        queue = self.runtime.queues[self.region]["queueUrl"]
        arn = f"arn:aws:sqs:{self.region}:{ACCOUNT_ID}:{queue.rsplit('/', 1)[1]}"
        while not self._stop.is_set():
            if not self.data_plane_up or self.faults.worker_paused:
                self._stop.wait(0.2)
                continue
            try:
                self._worker_round(sqs, queue, arn)
            except Exception:  # never let the poller die
                traceback.print_exc()
                self._stop.wait(0.5)

    def _worker_round(self, sqs, queue, arn) -> None:
        try:
            msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                       AttributeNames=["All"], MessageAttributeNames=["All"]).get("Messages", [])
        except Exception:
            self._stop.wait(0.5)
            return
        if not msgs:
            return
        if self.faults.worker_paused:  # disabled while this receive waited: nothing was delivered
            sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0} for i, m in enumerate(msgs)])
            return
        event = {"Records": [_sqs_record(m, arn, self.region) for m in msgs]}
        failed: set[str] = {m["MessageId"] for m in msgs}
        try:
            with functions.running(self.region, "worker"):
                result = self.handlers["worker"](event, functions.LambdaContext("appx-worker", self.region))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            with functions.running(self.region, "worker"):
                traceback.print_exc()
        done = [m for m in msgs if m["MessageId"] not in failed]
        self.stats["worker_messages"] += len(done)
        self.stats["worker_failures"] += len(failed)
        self.stats["worker_redeliveries"] += sum(_receive_count(m) > 1 for m in msgs)
        if self.faults.duplicate_delivery:  # the first delete is lost: SQS delivers the message again
            done = [m for m in done if _receive_count(m) > 1]
        if done:
            try:
                sqs.delete_message_batch(QueueUrl=queue, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
            except Exception:
                pass  # visibility timeout expires; the worker must be idempotent anyway

    # ------------------------------------------------------------------ erasure sweeper (EventBridge schedule)
    def _sweep_loop(self) -> None:
        if "erasure-sweep" not in self.handlers:
            return
        while not self._stop.wait(self.runtime.erasure_sweep_s):
            if not self.storage_up:
                continue
            try:
                with functions.running(self.region, "worker"):
                    self.handlers["erasure-sweep"]({"appx": "erasure-sweep"}, functions.LambdaContext("appx-worker", self.region))
                self.stats["erasure_sweeps"] += 1
            except Exception:  # a failed scheduled invocation: the next one retries
                with functions.running(self.region, "worker"):
                    traceback.print_exc()

    # ------------------------------------------------------------------ streams
    def _stream_loop(self) -> None:
        tables = self.topology.tables_in(self.region)
        while not self._stop.wait(self.runtime.stream_poll_s):
            if not self.storage_up:
                continue
            try:
                self._stream_round(tables)
            except Exception:  # never let the poller die
                traceback.print_exc()

    def _stream_round(self, tables) -> None:
        for spec in tables:
            start = self.stream_cursor.get(spec.name, 0)
            new = aws.stream_items(self.region, spec.name, start)
            if new:
                now = time.time()
                for rec in new:
                    self.runtime.replicator.observe(self.region, spec, rec, now)
                self.stream_cursor[spec.name] = start + len(new)
            if spec.stream_to_function and "stream" in self.handlers:
                self._deliver(spec.name)

    def _deliver(self, table: str) -> None:
        start = self.fn_cursor.get(table, 0)
        records = aws.stream_items(self.region, table, start, start + STREAM_BATCH)
        if not records:
            return
        end = start + len(records)
        batch = [aws.stream_record_event(r, self.region, table) for r in records]
        failed_seq: list[str] = []
        try:
            if self.faults.stream_failing:
                raise RuntimeError("local fault: the stream function fails")
            with functions.running(self.region, "stream"):
                result = self.handlers["stream"]({"Records": batch}, functions.LambdaContext("appx-stream", self.region))
            failed_seq = [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]
        except Exception:
            with functions.running(self.region, "stream"):
                traceback.print_exc()
            failed_seq = [batch[0]["dynamodb"]["SequenceNumber"]]
        if not failed_seq:
            self.fn_cursor[table] = end
            self.stats["stream_records"] += len(batch)
            return
        # ReportBatchItemFailures: resume from the lowest failed sequence number.
        seqs = [r["dynamodb"]["SequenceNumber"] for r in batch]
        first = min((seqs.index(s) for s in failed_seq if s in seqs), default=0)
        self.stats["stream_records"] += first
        idx = start + first
        self.fn_retries[(table, idx)] += 1
        if self.fn_retries[(table, idx)] > STREAM_MAX_RETRY_ATTEMPTS:
            # Retries exhausted: as with bisection, the batch is down to the failing record; its
            # invocation record goes to the on-failure queue and the mapping moves on.
            self._send_to_on_failure_queue(table, batch[first])
            idx += 1
        self.fn_cursor[table] = idx

    def _send_to_on_failure_queue(self, table: str, record: dict) -> None:
        """Lambda's on-failure invocation record for a DynamoDB stream batch (pointers, no content)."""
        sequence = record["dynamodb"]["SequenceNumber"]
        self.stream_failures.append({"table": table, "sequenceNumber": sequence, "at": time.time()})
        body = {
            "requestContext": {"requestId": f"local-{table}-{sequence}", "condition": "RetryAttemptsExhausted",
                               "functionArn": f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:appx-stream",
                               "approximateInvokeCount": STREAM_MAX_RETRY_ATTEMPTS + 1},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "DDBStreamBatchInfo": {
                "shardId": aws.stream_shard_id(self.region, table), "startSequenceNumber": sequence, "endSequenceNumber": sequence,
                "approximateArrivalOfFirstRecord": record["dynamodb"].get("ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": record["dynamodb"].get("ApproximateCreationDateTime"),
                "batchSize": 1, "streamArn": record["eventSourceARN"],
            },
        }
        sqs = aws.client("sqs", self.region, self.runtime.moto.url)
        sqs.send_message(QueueUrl=self.runtime.queues[self.region]["streamFailureQueueUrl"], MessageBody=json.dumps(body))

    def stream_backlog(self) -> int:
        n = 0
        if "stream" not in self.handlers:
            return 0
        for spec in self.topology.tables_in(self.region):
            if spec.stream_to_function:
                n += aws.stream_length(self.region, spec.name) - self.fn_cursor.get(spec.name, 0)
        return n


def _sqs_record(m: dict, arn: str, region: str) -> dict:
    attrs = {}
    for k, v in (m.get("MessageAttributes") or {}).items():
        attrs[k] = {"stringValue": v.get("StringValue"), "binaryValue": v.get("BinaryValue"), "stringListValues": [],
                    "binaryListValues": [], "dataType": v.get("DataType")}
    return {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": attrs, "md5OfBody": m.get("MD5OfBody"),
            "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": region}


def _created(record) -> float:
    created = record.record["dynamodb"].get("ApproximateCreationDateTime")
    return created.timestamp() if hasattr(created, "timestamp") else float(created or 0)


def _receive_count(m: dict) -> int:
    return int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
