"""DynamoDB Streams consumer (ReportBatchItemFailures) for ``appx-posts`` and the zones'
restricted tables.

* posts INSERT/MODIFY → upsert the public feed entry (postId, text, createdAt; never the
  author id); posts REMOVE → delete the feed entry.
* restricted ERASURE-JOB INSERT, in the region that started the erasure → run the erasure job
  once (appx_common.erasure): it marks the pseudonymous author id erased and deletes tokens,
  idempotency records, posts and feed entries. A job this attempt does not finish, or whose
  stream batch is discarded after its retries, is resumed by the sweeper (worker on a schedule).
* A post whose INSERT arrives after its author was marked erased (the index lagged behind a post
  written in the same instant) is deleted instead of projected.
All steps are idempotent, so replicated records arriving in several regions are harmless.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from appx_common import aws
from appx_common.config import RegionConfig
from appx_common.entry import expose, lazy_handler
from appx_common.erasure import ErasureJobs, is_job_key
from appx_common.logs import AppLogger
from appx_common.store import Store
from appx_common.subjects import subject_refs_from_spec


def table_of(arn: str | None) -> str:
    # arn:aws:dynamodb:<region>:<acct>:table/<name>/stream/<label>
    parts = (arn or "").split("/")
    return parts[1] if len(parts) > 1 else ""


class StreamApp:
    def __init__(self, env: Mapping[str, str], **overrides: Any):
        self.cfg = RegionConfig.from_env(env, "appx-stream")
        kms = overrides.get("kms")
        refs = subject_refs_from_spec(self.cfg.key_provider, self.cfg.zones, lambda: kms or aws.client("kms", self.cfg))
        self.store = Store(self.cfg, overrides.get("dynamodb") or aws.resource("dynamodb", self.cfg), refs, overrides.get("clock", time.time),
                           overrides.get("zone_dynamodb"))
        self.jobs = ErasureJobs(self.store)
        self.restricted_tables = {z["table"] for z in self.cfg.zones.values()}
        self.log = AppLogger(self.cfg.service, self.cfg.region)

    def record(self, record: DynamoDBRecord) -> None:
        table = table_of(record.event_source_arn)
        name = record.event_name.name if record.event_name else ""
        ddb = record.dynamodb
        if table == self.cfg.posts_table:
            if name == "REMOVE":
                old = ddb.old_image if ddb else {}
                if old.get("postId"):
                    self.store.delete_feed_entry(old)
            else:
                new = ddb.new_image if ddb else {}
                if new.get("postId") and new.get("text") is not None:
                    if self.store.author_erased(new.get("authorId", "")):
                        # Written as its author was erased, after the byAuthor sweep: erase it too.
                        self.store.posts.delete_item(Key={"pk": new["pk"], "sk": new["sk"]})
                        self.log.info("post of an erased author removed")
                    else:
                        self.store.put_feed_entry(new)
        elif table in self.restricted_tables:
            new = (ddb.new_image if ddb else None) or {}
            # Replicas of the job reach every region of the zone: the region that wrote it runs it
            # now, the sweepers of all of them resume it if this run does not complete it.
            if name == "INSERT" and is_job_key(new) and new.get("region") == self.cfg.region:
                outcome = self.jobs.run(new)
                self.log.info("erasure job attempt", job=str(new["sk"])[:12], complete=outcome["complete"], remaining=outcome["remaining"])
        else:
            self.log.warning("record from an unknown table ignored", table=table)

    def __call__(self, event: dict, context: object = None) -> dict:
        processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
        return process_partial_response(event=event, record_handler=self.record, processor=processor, context=context)


def make_handler(env: Mapping[str, str], **overrides: Any) -> Callable[[dict, object], dict]:
    return expose(StreamApp(env, **overrides))


handler = lazy_handler(lambda: make_handler(os.environ))
