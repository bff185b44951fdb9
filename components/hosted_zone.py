"""Where the application's Route 53 hosted zone comes from: taken by id from config, or created
by the DNS-owning cell (the first deployed), whose output every later stack reads."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.config import Project

HOSTED_ZONE_OUTPUT = "hostedZoneId"


def hosted_zone_id(project: Project, cells: Mapping[str, pulumi.StackReference]) -> pulumi.Input[str]:
    """For every stack except the DNS owner when it creates the zone."""
    if project.settings.hosted_zone_id:
        return project.settings.hosted_zone_id
    return cells[project.dns_owner].require_output(HOSTED_ZONE_OUTPUT)
