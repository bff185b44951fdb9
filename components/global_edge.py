"""The global edge over the regional cells: Lambda@Edge, WAF and CloudFront's certificate in
us-east-1 (as AWS requires), the distribution, and Route 53 latency routing with health checks.
Cell outputs arrive through StackReferences; the edge function's config is generated from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import EdgeConfig
from components.dns_certificate import DnsCertificateArgs, DnsValidatedCertificate
from components.edge_config import edge_function_config
from components.edge_distribution import EdgeDistribution, EdgeDistributionArgs
from components.edge_firewall import EdgeFirewall, EdgeFirewallArgs
from components.edge_function import EDGE_FUNCTION_NAME, EdgeFunction, EdgeFunctionArgs
from components.edge_logs import EdgeFunctionLogs, EdgeLogsArgs
from components.hosted_zone import hosted_zone_id
from components.latency_routing import CellEndpoint, LatencyRouting, LatencyRoutingArgs


@dataclass
class GlobalEdgeArgs:
    config: EdgeConfig
    cells: Mapping[str, pulumi.StackReference]  # region -> the cell stack
    edge_provider: aws.Provider  # us-east-1
    edge_region_providers: Mapping[str, aws.Provider]  # residency.yaml edgeRegions -> provider, for the edge's log groups
    account_id: pulumi.Input[str]
    # Sent by CloudFront to every origin as x-appx-origin-verify; the cells' API requires it.
    origin_secret: pulumi.Output[str] | None = None


class GlobalEdge(pulumi.ComponentResource):
    url: pulumi.Output[str]
    distribution_id: pulumi.Output[str]

    def __init__(self, name: str, args: GlobalEdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:GlobalEdge", name, None, opts)
        project = args.config.project
        settings, residency, dns = args.config.settings, project.residency, project.settings
        child = pulumi.ResourceOptions(parent=self)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.edge_provider)

        zone_keys = {
            zone.name: args.cells[zone.home_region].require_output("zones").apply(
                lambda zones, z=zone.name: {"keyId": zones[z]["fieldKeyId"], "publicKeyPem": zones[z]["publicKeyPem"]}
            )
            for zone in residency.zones.values()
        }
        config = pulumi.Output.all(**zone_keys).apply(
            lambda keys: edge_function_config(residency, dns.domain, keys, args.config.cors_origins))
        edge_function = EdgeFunction(f"{name}-function", EdgeFunctionArgs(config, residency.edge_regions), in_us_east_1)
        EdgeFunctionLogs(
            f"{name}-function-logs",
            EdgeLogsArgs(
                EDGE_FUNCTION_NAME,
                settings.log_retention_days,
                args.account_id,
                residency.edge_regions,
                {region: ref.require_output("dataKeyArn") for region, ref in args.cells.items()},
                args.edge_region_providers,
            ),
            child,
        )
        firewall = EdgeFirewall(f"{name}-waf", EdgeFirewallArgs(settings.waf_rate_limit_per_5min), in_us_east_1)
        zone_id = hosted_zone_id(project, args.cells)
        certificate = DnsValidatedCertificate(f"{name}-cert", DnsCertificateArgs([dns.app_host], zone_id), in_us_east_1)

        fallback_region = project.eu_tables_home
        distribution = EdgeDistribution(
            f"{name}-cdn",
            EdgeDistributionArgs(
                aliases=[dns.app_host],
                certificate_arn=certificate.arn,
                web_acl_arn=firewall.arn,
                edge_function_arn=edge_function.qualified_arn,
                public_origin_host=dns.public_origin_host,
                fallback_origin_host=f"{fallback_region}.cells.{dns.domain}",
                personal_origin_host=residency.default_origin_host(dns.domain),
                allowed_countries=residency.viewer_whitelist,
                price_class=settings.price_class,
                origin_secret=args.origin_secret,
            ),
            child,
        )
        cells = {
            region: CellEndpoint(region, ref.require_output("executeApiHost"), ref.require_output("domainTargets"))
            for region, ref in args.cells.items()
        }
        LatencyRouting(
            f"{name}-dns",
            LatencyRoutingArgs(
                hosted_zone_id=zone_id,
                domain=dns.domain,
                residency=residency,
                cells=cells,
                failure_threshold=settings.health_check_failure_threshold,
                app_host=dns.app_host,
                distribution_domain=distribution.domain_name,
                distribution_zone_id=distribution.hosted_zone_id,
            ),
            child,
        )
        self.url = pulumi.Output.from_input(f"https://{dns.app_host}")
        self.distribution_id = distribution.id
        self.register_outputs({"url": self.url, "distributionId": self.distribution_id})
