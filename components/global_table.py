"""A DynamoDB global table as seen from one cell: the owner creates the table, every other
replica region adds a `TableReplica` encrypted with its own regional CMK."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.tables import TableSpec


@dataclass
class GlobalTableArgs:
    spec: TableSpec
    data_key_arn: pulumi.Input[str]
    pitr_recovery_period_days: int
    # None: this cell owns the table. Otherwise the owner's table ARN; this cell adds a replica.
    owner_table_arn: pulumi.Input[str] | None = None
    # The owner of a table that other regions replicate: global tables need a NEW_AND_OLD_IMAGES stream.
    replicated: bool = False


class GlobalTable(pulumi.ComponentResource):
    name: pulumi.Output[str]
    arn: pulumi.Output[str]
    stream_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: GlobalTableArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:data:GlobalTable", name, None, opts)
        spec = args.spec
        tags = {"data-class": spec.data_class, "app": "appx", **spec.tags}
        child = pulumi.ResourceOptions(parent=self)

        if args.owner_table_arn is None:
            streamed = spec.stream or args.replicated
            attributes = {spec.hash_key, *([spec.range_key] if spec.range_key else [])}
            for _, hash_key, range_key in spec.indexes:
                attributes |= {hash_key, range_key}
            table = aws.dynamodb.Table(
                name,
                name=spec.name,
                billing_mode="PAY_PER_REQUEST",
                hash_key=spec.hash_key,
                range_key=spec.range_key,
                attributes=[aws.dynamodb.TableAttributeArgs(name=a, type="S") for a in sorted(attributes)],
                global_secondary_indexes=[
                    aws.dynamodb.TableGlobalSecondaryIndexArgs(
                        name=n,
                        key_schemas=[
                            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=h, key_type="HASH"),
                            aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(attribute_name=r, key_type="RANGE"),
                        ],
                        projection_type="ALL",
                    )
                    for n, h, r in spec.indexes
                ],
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True, kms_key_arn=args.data_key_arn),
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(
                    enabled=True, recovery_period_in_days=args.pitr_recovery_period_days
                ) if spec.point_in_time_recovery else aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=False),
                deletion_protection_enabled=True,
                # Replicas need NEW_AND_OLD_IMAGES; so do the feed projection and erasure propagation.
                stream_enabled=True if streamed else None,
                stream_view_type="NEW_AND_OLD_IMAGES" if streamed else None,
                ttl=aws.dynamodb.TableTtlArgs(attribute_name=spec.ttl_attribute, enabled=True) if spec.ttl_attribute else None,
                tags=tags,
                opts=child,
            )
            self.name, self.arn = table.name, table.arn
            self.stream_arn = table.stream_arn
        else:
            replica = aws.dynamodb.TableReplica(
                name,
                global_table_arn=args.owner_table_arn,
                kms_key_arn=args.data_key_arn,
                point_in_time_recovery=spec.point_in_time_recovery,
                deletion_protection_enabled=True,
                tags=tags,
                opts=child,
            )
            self.name = pulumi.Output.from_input(spec.name)
            self.arn = replica.arn
            # A replica has its own stream in its region; the stream consumer reads it there.
            self.stream_arn = (
                aws.dynamodb.get_table_output(name=spec.name, opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[replica])).stream_arn
                if spec.stream
                else None
            )
        self.register_outputs({"name": self.name, "arn": self.arn})
