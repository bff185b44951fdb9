"""Application X: a regional cell per `Pulumi.<region>.yaml`, the global edge for `Pulumi.global.yaml`.

This file only reads the stack's role and builds the matching component with explicit
providers; everything else lives in `components/`.
"""

from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.config import cell_config, edge_config, load_project, parse_stack_file
from components.errors import ConfigError
from components.global_edge import GlobalEdge, GlobalEdgeArgs
from components.regional_cell import RegionalCell, RegionalCellArgs
from components.regions import EDGE_CONTROL_REGION


def main() -> None:
    appx = pulumi.Config("appx")
    project = load_project(
        Path.cwd(),
        overrides={k: appx.get(k) for k in ("domain", "hostedZoneId", "stackOrg")},
        overrides_source=f"Pulumi.{pulumi.get_stack()}.yaml",
    )
    stack = parse_stack_file(pulumi.get_stack(), {
        "aws:region": pulumi.Config("aws").get("region"),
        "appx:role": appx.get("role"),
        "appx:cell": appx.get_object("cell"),
        "appx:edge": appx.get_object("edge"),
    })
    home = aws.Provider(f"aws-{stack.region}", region=stack.region)
    # CloudFront sends it to every origin and the API requires it, so nobody can reach the
    # zone origins around the edge (which strips client-set x-appx-* headers).
    origin_secret = appx.get_secret("originVerifySecret")
    if origin_secret is None:
        pulumi.log.warn("appx:originVerifySecret is not set: the regional origins also answer requests that bypass CloudFront")

    def stack_reference(region: str) -> pulumi.StackReference:
        return pulumi.StackReference(f"cell-{region}", stack_name=project.stack_reference_name(region))

    account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(provider=home)).account_id
    if stack.role == "cell":
        config = cell_config(project, stack)
        owners = {region: stack_reference(region) for region in config.owner_regions}
        cell = RegionalCell(f"cell-{stack.region}", RegionalCellArgs(config, account_id, owners, origin_secret), pulumi.ResourceOptions(provider=home))
        for key, value in cell.outputs.items():
            pulumi.export(key, value)
    else:
        edge_region = aws.Provider(f"aws-{EDGE_CONTROL_REGION}", region=EDGE_CONTROL_REGION)
        cells = {region: stack_reference(region) for region in project.cell_regions}
        edge_regions = {
            region: aws.Provider(f"aws-{region}", region=region) if region != stack.region else home
            for region in project.residency.edge_regions
        }
        edge = GlobalEdge(
            "appx",
            GlobalEdgeArgs(edge_config(project, stack), cells, edge_region, edge_regions, account_id, origin_secret),
            pulumi.ResourceOptions(provider=home),
        )
        pulumi.export("url", edge.url)
        pulumi.export("distributionId", edge.distribution_id)


try:
    main()
except ConfigError as error:
    # A clean message naming the file and key, without a traceback.
    raise pulumi.RunError(str(error)) from error
