"""Route 53: a health check per cell on its deep /health, latency records for the public
origin over every cell and for each zone's origin over that zone's cells only, a direct name
per cell, and the application's alias to CloudFront."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.residency import Residency

HEALTH_CHECK_INTERVAL_SECONDS = 10  # fast checks: detection = 10 s x threshold


@dataclass
class CellEndpoint:
    region: str
    execute_api_host: pulumi.Input[str]
    domain_targets: pulumi.Input[dict]  # host -> {targetDomainName, hostedZoneId}


@dataclass
class LatencyRoutingArgs:
    hosted_zone_id: pulumi.Input[str]
    domain: str
    residency: Residency
    cells: Mapping[str, CellEndpoint]
    failure_threshold: int
    app_host: str
    distribution_domain: pulumi.Input[str]
    distribution_zone_id: pulumi.Input[str]


class LatencyRouting(pulumi.ComponentResource):
    def __init__(self, name: str, args: LatencyRoutingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:dns:LatencyRouting", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        checks = {
            region: aws.route53.HealthCheck(
                f"{name}-{region}",
                type="HTTPS",
                fqdn=cell.execute_api_host,
                port=443,
                resource_path="/health",
                request_interval=HEALTH_CHECK_INTERVAL_SECONDS,
                failure_threshold=args.failure_threshold,
                measure_latency=True,
                tags={"app": "appx", "Name": f"appx-{region}"},
                opts=child,
            )
            for region, cell in args.cells.items()
        }

        def alias(target_host: str, cell: CellEndpoint) -> aws.route53.RecordAliasArgs:
            target = pulumi.Output.from_input(cell.domain_targets).apply(lambda t: t[target_host])
            return aws.route53.RecordAliasArgs(
                name=target.apply(lambda t: t["targetDomainName"]),
                zone_id=target.apply(lambda t: t["hostedZoneId"]),
                # The health check decides; the alias target's own health is not evaluated.
                evaluate_target_health=False,
            )

        def latency_records(host: str, regions: list[str]) -> None:
            for region in regions:
                aws.route53.Record(
                    f"{name}-{host}-{region}",
                    zone_id=args.hosted_zone_id,
                    name=host,
                    type="A",
                    set_identifier=region,
                    latency_routing_policies=[aws.route53.RecordLatencyRoutingPolicyArgs(region=region)],
                    health_check_id=checks[region].id,
                    aliases=[alias(host, args.cells[region])],
                    opts=child,
                )

        latency_records(f"origin.{args.domain}", sorted(args.cells))
        for zone in args.residency.zones.values():
            latency_records(zone.origin_host(args.domain), list(zone.regions))
        for region, cell in args.cells.items():
            host = f"{region}.cells.{args.domain}"
            aws.route53.Record(f"{name}-{host}", zone_id=args.hosted_zone_id, name=host, type="A",
                               aliases=[alias(host, cell)], opts=child)
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{name}-app-{record_type.lower()}",
                zone_id=args.hosted_zone_id,
                name=args.app_host,
                type=record_type,
                aliases=[aws.route53.RecordAliasArgs(name=args.distribution_domain, zone_id=args.distribution_zone_id, evaluate_target_health=False)],
                opts=child,
            )
        self.health_check_ids = {region: check.id for region, check in checks.items()}
        self.register_outputs({"healthChecks": self.health_check_ids})
