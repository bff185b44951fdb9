"""The global edge under mocks: Lambda@Edge, CloudFront, WAF, Route 53."""

from __future__ import annotations

import json

from components.config import edge_config
from components.edge_distribution import ALL_VIEWER_EXCEPT_HOST_HEADER, CACHING_DISABLED, HSTS_MAX_AGE_S, REFERRER_POLICY
from components.regions import EDGE_CONTROL_REGION

US_EAST_1_TYPES = {
    # What AWS requires in us-east-1 for CloudFront, and nothing else.
    "aws:lambda/function:Function", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
    "aws:wafv2/webAcl:WebAcl", "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation",
    "aws:route53/record:Record",
}


def only(run, type_):
    (resource,) = run.of_type(type_)
    return resource


def test_only_cloudfront_prerequisites_are_in_us_east_1(global_run):
    placed = {r.type for r in global_run.resources if r.type.startswith("aws:") and global_run.region_of(r) == EDGE_CONTROL_REGION}
    assert "aws:lambda/function:Function" in placed and "aws:wafv2/webAcl:WebAcl" in placed
    assert placed <= US_EAST_1_TYPES
    for resource in global_run.resources:
        if resource.type.startswith("aws:"):
            assert resource.provider is not None, f"{resource.name} uses a hidden default provider"


def test_edge_function_is_published_x86_in_us_east_1_and_trusts_edgelambda(global_run):
    function = only(global_run, "aws:lambda/function:Function")
    assert global_run.region_of(function) == EDGE_CONTROL_REGION
    assert function.props["publish"] is True
    assert function.props["architectures"] == ["x86_64"]
    assert "environment" not in function.props  # Lambda@Edge has no environment variables
    role = only(global_run, "aws:iam/role:Role")
    services = json.loads(role.props["assumeRolePolicy"])["Statement"][0]["Principal"]["Service"]
    assert "edgelambda.amazonaws.com" in services


def test_edge_config_is_generated_from_cell_outputs_and_bundled(project, runs, global_run):
    function = only(global_run, "aws:lambda/function:Function")
    assets = function.props["code"]["assets"]
    assert "handler.py" in assets
    config = json.loads(assets["config.json"]["text"])
    assert config["countries"] == dict(project.residency.countries)
    assert config["sensitiveFields"] == list(project.residency.sensitive_fields)
    for zone in project.residency.zones.values():
        home_outputs = runs[zone.home_region].outputs["zones"][zone.name]
        assert config["zones"][zone.name]["publicKeyPem"] == home_outputs["publicKeyPem"]
        assert config["zones"][zone.name]["keyId"] == home_outputs["fieldKeyId"]
        assert config["zones"][zone.name]["originHost"] == zone.origin_host(project.settings.domain)


def test_distribution_is_https_only_tls12_2021_http3_and_geo_restricted(project, global_run):
    distribution = only(global_run, "aws:cloudfront/distribution:Distribution")
    props = distribution.props
    assert props["viewerCertificate"]["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert props["httpVersion"] == "http2and3"
    assert props["webAclId"] == only(global_run, "aws:wafv2/webAcl:WebAcl").outputs["arn"]
    behaviors = [props["defaultCacheBehavior"], *props["orderedCacheBehaviors"]]
    assert all(b["viewerProtocolPolicy"] == "https-only" for b in behaviors)
    for origin in props["origins"]:
        assert origin["customOriginConfig"]["originProtocolPolicy"] == "https-only"
        assert origin["customOriginConfig"]["originSslProtocols"] == ["TLSv1.2"]
    geo = props["restrictions"]["geoRestriction"]
    assert geo["restrictionType"] == "whitelist" and set(geo["locations"]) == set(project.residency.countries)


def test_edge_function_runs_with_the_body_only_on_uncached_routes(global_run):
    props = only(global_run, "aws:cloudfront/distribution:Distribution").props
    function = only(global_run, "aws:lambda/function:Function")
    assert not props["defaultCacheBehavior"].get("lambdaFunctionAssociations")
    assert props["defaultCacheBehavior"]["targetOriginId"] == "public-failover"
    personal = props["orderedCacheBehaviors"]
    assert {b["pathPattern"] for b in personal} >= {"/v1/users*", "/v1/me*", "/v1/posts"}
    for behavior in personal:
        assert behavior["cachePolicyId"] == CACHING_DISABLED
        (association,) = behavior["lambdaFunctionAssociations"]
        assert association == {"eventType": "origin-request", "includeBody": True, "lambdaArn": function.outputs["qualifiedArn"]}


def test_public_gets_fail_over_through_an_origin_group(global_run):
    props = only(global_run, "aws:cloudfront/distribution:Distribution").props
    (group,) = props["originGroups"]
    assert [m["originId"] for m in group["members"]] == ["public", "fallback"]
    assert set(group["failoverCriteria"]["statusCodes"]) >= {500, 502, 503, 504}


def test_personal_behaviours_forward_every_viewer_header_but_host(global_run):
    # Defect 6: with the viewer's Host, API Gateway answers the requests the edge function passes
    # through untouched (OPTIONS, public GET/HEAD) with 403. AllViewerExceptHostHeader sends the
    # origin's own domain as Host and still forwards Authorization and CloudFront-Viewer-Country.
    assert not global_run.of_type("aws:cloudfront/originRequestPolicy:OriginRequestPolicy")
    props = only(global_run, "aws:cloudfront/distribution:Distribution").props
    for behavior in props["orderedCacheBehaviors"]:
        assert behavior["originRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST_HEADER
    assert "originRequestPolicyId" not in props["defaultCacheBehavior"]


def test_public_cache_keys_on_the_cors_request_headers(global_run):
    """The default behaviour has no origin request policy, so its cache policy decides both what
    the public origin sees of the viewer and what the cache keeps apart: the API's CORS answer
    varies by Origin, and CloudFront caches by its key, not by Vary."""
    props = only(global_run, "aws:cloudfront/distribution:Distribution").props
    policy = next(p.props for p in global_run.of_type("aws:cloudfront/cachePolicy:CachePolicy")
                  if p.id == props["defaultCacheBehavior"]["cachePolicyId"])
    headers = policy["parametersInCacheKeyAndForwardedToOrigin"]["headersConfig"]
    assert headers["headerBehavior"] == "whitelist"
    assert headers["headers"]["items"] == ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"]
    assert "Authorization" not in headers["headers"]["items"]  # public objects are the same for everyone
    assert (policy["minTtl"], policy["defaultTtl"], policy["maxTtl"]) == (0, 0, 300)


def test_every_behaviour_has_security_headers_and_personal_ones_no_store(global_run):
    policies = {p.id: p.props for p in global_run.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")}
    props = only(global_run, "aws:cloudfront/distribution:Distribution").props
    behaviors = [(False, props["defaultCacheBehavior"])] + [(True, b) for b in props["orderedCacheBehaviors"]]
    for personal, behavior in behaviors:
        policy = policies[behavior["responseHeadersPolicyId"]]
        security = policy["securityHeadersConfig"]
        assert security["strictTransportSecurity"] == {
            "accessControlMaxAgeSec": HSTS_MAX_AGE_S, "includeSubdomains": True, "preload": False, "override": True}
        assert security["contentTypeOptions"] == {"override": True}
        assert security["frameOptions"] == {"frameOption": "DENY", "override": True}
        assert security["referrerPolicy"] == {"referrerPolicy": REFERRER_POLICY, "override": True}
        custom = {i["header"]: (i["value"], i["override"]) for i in (policy.get("customHeadersConfig") or {}).get("items", [])}
        # A 503 on a personal route carries the error page, a public object cached for 60 s:
        # the personal behaviours' policy overrides its Cache-Control for the viewer.
        assert custom == ({"Cache-Control": ("no-store", True)} if personal else {})


def test_waf_one_body_limit_with_the_apis_413_problem(global_run):
    acl = only(global_run, "aws:wafv2/webAcl:WebAcl").props
    rules = {r["name"]: r for r in acl["rules"]}
    assert acl["associationConfig"]["requestBodies"][0]["cloudfront"] == {"defaultSizeInspectionLimit": "KB_64"}
    size = rules["body-size"]
    statement = size["statement"]["sizeConstraintStatement"]
    assert (statement["comparisonOperator"], statement["size"]) == ("GT", 64 * 1024)
    assert statement["fieldToMatch"] == {"body": {"oversizeHandling": "MATCH"}}
    response = size["action"]["block"]["customResponse"]
    assert response["responseCode"] == 413
    (body,) = [b for b in acl["customResponseBodies"] if b["key"] == response["customResponseBodyKey"]]
    problem = json.loads(body["content"])
    assert body["contentType"] == "APPLICATION_JSON"
    assert problem["status"] == 413 and problem["type"].endswith("/body-too-large") and "65536" in problem["detail"]
    # The common rule set's 8 KB body rule would contradict it: it only counts.
    common = rules["aws-common"]["statement"]["managedRuleGroupStatement"]
    assert common["name"] == "AWSManagedRulesCommonRuleSet"
    assert common["ruleActionOverrides"] == [{"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}}]
    assert size["priority"] < rules["aws-common"]["priority"]


def test_waf_blocks_known_bad_inputs_next_to_the_rate_limit(global_run):
    rules = {r["name"]: r for r in only(global_run, "aws:wafv2/webAcl:WebAcl").props["rules"]}
    bad = rules["aws-known-bad-inputs"]
    assert bad["statement"]["managedRuleGroupStatement"] == {"vendorName": "AWS", "name": "AWSManagedRulesKnownBadInputsRuleSet"}
    assert bad["overrideAction"] == {"none": {}}
    assert sorted(r["priority"] for r in rules.values()) == list(range(len(rules)))


def test_one_fast_health_check_per_cell_on_deep_health(project, cell_runs, global_run):
    threshold = edge_config(project, project.stacks["global"]).settings.health_check_failure_threshold
    checks = global_run.of_type("aws:route53/healthCheck:HealthCheck")
    assert sorted(c.props["fqdn"] for c in checks) == sorted(r.outputs["executeApiHost"] for r in cell_runs.values())
    for check in checks:
        assert (check.props["type"], check.props["resourcePath"], check.props["requestInterval"]) == ("HTTPS", "/health", 10)
        assert check.props["failureThreshold"] == threshold


def _latency_records(global_run, host):
    return [r for r in global_run.of_type("aws:route53/record:Record") if r.props["name"] == host and r.props.get("setIdentifier")]


def test_zone_origin_records_point_only_at_the_zone_cells(project, cell_runs, global_run):
    checks = {c.props["fqdn"]: c.outputs["id"] for c in global_run.of_type("aws:route53/healthCheck:HealthCheck")}
    for zone in project.residency.zones.values():
        host = zone.origin_host(project.settings.domain)
        records = _latency_records(global_run, host)
        assert sorted(r.props["setIdentifier"] for r in records) == sorted(zone.regions)
        for record in records:
            region = record.props["setIdentifier"]
            assert record.props["latencyRoutingPolicies"] == [{"region": region}]
            target = cell_runs[region].outputs["domainTargets"][host]
            assert record.props["aliases"][0]["name"] == target["targetDomainName"]
            assert record.props["healthCheckId"] == checks[cell_runs[region].outputs["executeApiHost"]]


def test_public_origin_is_latency_routed_over_every_cell(project, global_run):
    records = _latency_records(global_run, f"origin.{project.settings.domain}")
    assert sorted(r.props["setIdentifier"] for r in records) == project.cell_regions
    assert all(r.props.get("healthCheckId") for r in records)


def test_application_alias_points_at_cloudfront_and_stack_exports_url(project, global_run):
    distribution = only(global_run, "aws:cloudfront/distribution:Distribution")
    aliases = [r for r in global_run.of_type("aws:route53/record:Record") if r.props["name"] == project.settings.app_host]
    assert sorted(r.props["type"] for r in aliases) == ["A", "AAAA"]
    assert all(r.props["aliases"][0]["name"] == distribution.outputs["domainName"] for r in aliases)
    assert global_run.outputs == {"url": f"https://{project.settings.app_host}", "distributionId": distribution.id}


def test_origin_secret_reaches_every_origin_and_every_api(project_copy):
    import yaml

    from offline.stack_runner import run_stack

    for name in ("eu-west-1", "eu-central-1", "eu-west-3", "global"):
        path = project_copy / f"Pulumi.{name}.yaml"
        document = yaml.safe_load(path.read_text())
        document["config"]["appx:originVerifySecret"] = "not-a-real-secret"
        path.write_text(yaml.safe_dump(document))
    edge = run_stack("global", project_copy)
    for origin in only(edge, "aws:cloudfront/distribution:Distribution").props["origins"]:
        assert origin["customHeaders"] == [{"name": "x-appx-origin-verify", "value": "not-a-real-secret"}]
    cell = run_stack("eu-west-3", project_copy)
    api = next(f for f in cell.of_type("aws:lambda/function:Function") if f.props["name"] == "appx-api")
    assert api.props["environment"]["variables"]["APPX_ORIGIN_SECRET"] == "not-a-real-secret"


def test_edge_log_groups_are_precreated_in_every_edge_region_with_retention_and_a_cmk_of_that_region(project, cell_runs, global_run):
    retention = edge_config(project, project.stacks["global"]).settings.log_retention_days
    groups = {global_run.region_of(g): g for g in global_run.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert set(groups) == set(project.residency.edge_regions)
    assert set(groups) - set(project.cell_regions), "the shipped edge regions include regions without a cell"
    keys = {k.outputs["arn"]: k for k in global_run.of_type("aws:kms/key:Key")}
    for region, group in groups.items():
        assert group.props["name"] == "/aws/lambda/us-east-1.appx-edge"
        assert group.props["retentionInDays"] == retention
        if region in cell_runs:
            assert group.props["kmsKeyId"] == cell_runs[region].outputs["dataKeyArn"]
            continue
        # No cell there: a key of the global stack, created in that region, for this log group only.
        key = keys[group.props["kmsKeyId"]]
        assert global_run.region_of(key) == region and key.props["enableKeyRotation"] is True
        statements = {st["Sid"]: st for st in json.loads(key.props["policy"])["Statement"]}
        logs = statements["CloudWatchLogsEncrypt"]
        assert logs["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
        assert logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"] == (
            f"arn:aws:logs:{region}:123456789012:log-group:/aws/lambda/us-east-1.appx-edge")
    assert len(keys) == len(set(groups) - set(cell_runs))


def test_edge_function_may_log_only_into_the_precreated_groups(project, global_run):
    policy = next(p for p in global_run.of_type("aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-logs"))
    (statement,) = json.loads(policy.props["policy"])["Statement"]
    assert "logs:CreateLogGroup" not in statement["Action"]
    assert sorted(statement["Resource"]) == sorted(
        f"arn:aws:logs:{region}:*:log-group:/aws/lambda/us-east-1.appx-edge:*" for region in project.residency.edge_regions)


def test_edge_regions_are_eu_and_cover_the_whitelisted_countries_edge_caches(project, global_run):
    from components.regions import EU_REGIONS, REGIONAL_EDGE_CACHE_BY_COUNTRY

    assert set(project.residency.edge_regions) <= EU_REGIONS
    geo = only(global_run, "aws:cloudfront/distribution:Distribution").props["restrictions"]["geoRestriction"]
    for country in geo["locations"]:
        cache = REGIONAL_EDGE_CACHE_BY_COUNTRY.get(country)
        assert cache is None or cache in project.residency.edge_regions, country
    assert "GB" not in geo["locations"]  # London's edge cache is outside the EU


def test_unreachable_origins_answer_a_503_problem_page(global_run):
    props = only(global_run, "aws:cloudfront/distribution:Distribution").props
    responses = {r["errorCode"]: r for r in props["customErrorResponses"]}
    assert set(responses) == {502, 504}
    for response in responses.values():
        assert (response["responseCode"], response["responsePagePath"]) == (503, "/errors/unavailable")
        # Errors are cached per URL, and /v1/me is one URL for every user: never cache them.
        assert response["errorCachingMinTtl"] == 0
