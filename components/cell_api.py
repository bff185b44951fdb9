"""The cell's HTTP API: Lambda proxy routes, a deep /health route, a stage with access logging
and throttling, and regional custom domains on TLS 1.2 with their own ACM certificate."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import ApiThrottle
from components.dns_certificate import DnsCertificateArgs, DnsValidatedCertificate

# Access logs carry no personal data: no query strings, no headers, no bodies.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "integrationError": "$context.integrationErrorMessage",
        "domain": "$context.domainName",
    }
)


@dataclass
class CellApiArgs:
    function: aws.lambda_.Function
    host_names: list[str]  # every name this cell answers to; the first is the certificate's
    hosted_zone_id: pulumi.Input[str]
    data_key_arn: pulumi.Input[str]
    log_retention_days: int
    throttle: ApiThrottle
    # Host names whose shared ACM validation record this cell creates (Project.validation_record_owner).
    validation_records_for: list[str] | None = None


class CellApi(pulumi.ComponentResource):
    api_id: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    execute_api_host: pulumi.Output[str]
    domain_targets: pulumi.Output[dict]

    def __init__(self, name: str, args: CellApiArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:api:CellApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api = aws.apigatewayv2.Api(name, name="appx-api", protocol_type="HTTP", tags={"app": "appx"}, opts=child)
        integration = aws.apigatewayv2.Integration(
            name,
            api_id=api.id,
            integration_type="AWS_PROXY",
            integration_uri=args.function.invoke_arn,
            payload_format_version="2.0",
            timeout_milliseconds=10_000,
            opts=child,
        )
        target = integration.id.apply(lambda i: f"integrations/{i}")
        # /health is its own route so Route 53's checks show up separately in metrics and logs.
        for slug, route_key in (("health", "GET /health"), ("proxy", "ANY /{proxy+}")):
            aws.apigatewayv2.Route(f"{name}-{slug}", api_id=api.id, route_key=route_key, target=target, opts=child)
        access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access",
            name="/appx/api/access",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.data_key_arn,
            tags={"app": "appx", "data-class": "personal"},
            opts=child,
        )
        stage = aws.apigatewayv2.Stage(
            name,
            api_id=api.id,
            name="$default",
            auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(destination_arn=access_logs.arn, format=ACCESS_LOG_FORMAT),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_burst_limit=args.throttle.burst_limit, throttling_rate_limit=args.throttle.rate_limit
            ),
            opts=child,
        )
        aws.lambda_.Permission(
            f"{name}-invoke",
            action="lambda:InvokeFunction",
            function=args.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=api.execution_arn.apply(lambda arn: f"{arn}/*/*"),
            opts=child,
        )
        certificate = DnsValidatedCertificate(f"{name}-cert", DnsCertificateArgs(args.host_names, args.hosted_zone_id, args.validation_records_for), child).arn
        targets = {}
        for host in args.host_names:
            slug = host.replace(".", "-")
            domain = aws.apigatewayv2.DomainName(
                f"{name}-{slug}",
                domain_name=host,
                domain_name_configuration=aws.apigatewayv2.DomainNameDomainNameConfigurationArgs(
                    certificate_arn=certificate, endpoint_type="REGIONAL", security_policy="TLS_1_2"
                ),
                tags={"app": "appx"},
                opts=child,
            )
            aws.apigatewayv2.ApiMapping(f"{name}-{slug}", api_id=api.id, domain_name=domain.id, stage=stage.id, opts=child)
            targets[host] = domain.domain_name_configuration.apply(
                lambda c: {"targetDomainName": c.target_domain_name, "hostedZoneId": c.hosted_zone_id}
            )
        self.api_id = api.id
        self.endpoint = api.api_endpoint
        self.execute_api_host = api.api_endpoint.apply(lambda url: url.removeprefix("https://"))
        self.domain_targets = pulumi.Output.all(**targets)
        self.register_outputs({"endpoint": self.endpoint, "domainTargets": self.domain_targets})
