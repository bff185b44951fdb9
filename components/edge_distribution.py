"""The CloudFront distribution: HTTPS only on TLSv1.2_2021, HTTP/2 and 3, geo restriction from
the residency map, cached public GETs with origin-group failover, and uncached personal and
restricted routes that run the origin-request Lambda@Edge (with the body) to encrypt fields
and pick the user's residency zone. Every viewer response carries the security headers of a
response headers policy; personal routes are never cacheable downstream, errors included.

The module-level constants are the distribution's behaviour as data: the local edge
(tools/local/edge.py) applies the same ones."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# AWS managed cache policy "CachingDisabled".
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
# AWS managed origin request policy "AllViewerExceptHostHeader": every viewer header (so also
# Authorization and Idempotency-Key), cookie and query string except Host, plus CloudFront's
# viewer location headers (CloudFront-Viewer-Country). Without the viewer's Host, CloudFront
# sends the origin's domain name, which is the API Gateway custom domain of the behaviour's
# origin: the requests the edge function passes through untouched (OPTIONS, public GET/HEAD)
# reach API Gateway with a Host it serves. When the function moves a request to a zone origin
# it sets Host to that origin itself (Host is writable in origin-request events).
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
# Routes that carry personal or restricted data: never cached, always through Lambda@Edge.
PERSONAL_PATHS = ("/v1/users*", "/v1/me*", "/v1/posts")
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
READ_METHODS = ["GET", "HEAD", "OPTIONS"]
# The public cache policy (default behaviour, no origin request policy): its key, and so also
# everything CloudFront forwards of the viewer's request to the public origin, is the path, the
# query string and these headers. The CORS request headers are in it because the API's answer
# depends on them (``Vary: Origin``), and CloudFront caches by its cache key, never by ``Vary``:
# without them the public origin would never see an Origin, and one viewer's grant (or its
# absence) would be served from the cache to every other origin.
PUBLIC_CACHE_KEY_HEADERS = ("Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers")
# Its TTL bounds (seconds): CloudFront clamps the origin's s-maxage/max-age into [min, max] and
# uses the default when the origin sends neither.
PUBLIC_MIN_TTL_S, PUBLIC_DEFAULT_TTL_S, PUBLIC_MAX_TTL_S = 0, 0, 300
ORIGIN_VERIFY_HEADER = "x-appx-origin-verify"
# Custom origins: HTTPS on 443 with TLS 1.2, 10 s to answer, connections kept 5 s.
ORIGIN_SSL_PROTOCOLS = ["TLSv1.2"]
ORIGIN_READ_TIMEOUT_S = 10
ORIGIN_KEEPALIVE_TIMEOUT_S = 5
# The public origin group fails over to its secondary on these origin answers (and on
# connection failures and timeouts), for GET, HEAD and OPTIONS only.
FAILOVER_STATUS_CODES = [500, 502, 503, 504]
UNAVAILABLE_PAGE = "/errors/unavailable"  # served by the API (docs/api/openapi.yaml)
# Custom error responses: CloudFront's 502/504 become a 503 with the API's problem page.
ERROR_PAGE_FOR = (502, 504)
ERROR_PAGE_STATUS = 503
# How long CloudFront keeps an error response per URL. 0: an error is never cached. CloudFront
# caches errors by URL, and the personal behaviours' URLs (/v1/me) are the same for every user:
# a cached 503 of a down single-region zone would be served to users of healthy zones.
ERROR_CACHING_MIN_TTL_S = 0
# Response headers policies (override: yes) on every behaviour.
HSTS_MAX_AGE_S = 2 * 365 * 24 * 3600
FRAME_OPTION = "DENY"
REFERRER_POLICY = "no-referrer"
SECURITY_HEADERS = {
    "Strict-Transport-Security": f"max-age={HSTS_MAX_AGE_S}; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": FRAME_OPTION,
    "Referrer-Policy": REFERRER_POLICY,
}
# Personal routes only: whatever the response (the API's, a generated one, the error page,
# which is itself a public cacheable object), the viewer and any proxy may not store it.
PERSONAL_RESPONSE_HEADERS = {"Cache-Control": "no-store"}


def viewer_response_headers(personal: bool) -> dict[str, str]:
    """The headers the behaviour's response headers policy sets on every viewer response."""
    return {**SECURITY_HEADERS, **(PERSONAL_RESPONSE_HEADERS if personal else {})}


@dataclass
class EdgeDistributionArgs:
    aliases: list[str]
    certificate_arn: pulumi.Input[str]
    web_acl_arn: pulumi.Input[str]
    edge_function_arn: pulumi.Input[str]  # qualified (published version)
    public_origin_host: str  # latency-routed over every cell
    fallback_origin_host: str  # one cell directly: the origin group's secondary
    personal_origin_host: str  # placeholder; Lambda@Edge rewrites to the user's zone origin
    allowed_countries: tuple[str, ...] | None  # None: no geo restriction
    price_class: str
    origin_secret: pulumi.Input[str] | None = None


class EdgeDistribution(pulumi.ComponentResource):
    id: pulumi.Output[str]
    domain_name: pulumi.Output[str]
    hosted_zone_id: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeDistributionArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:edge:EdgeDistribution", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        public_cache = aws.cloudfront.CachePolicy(
            f"{name}-public",
            comment="Public GETs: honour the origin's Cache-Control, key on the query string and the CORS request headers",
            min_ttl=PUBLIC_MIN_TTL_S,
            default_ttl=PUBLIC_DEFAULT_TTL_S,
            max_ttl=PUBLIC_MAX_TTL_S,
            parameters_in_cache_key_and_forwarded_to_origin=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                cookies_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(cookie_behavior="none"),
                headers_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                    header_behavior="whitelist",
                    headers=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigHeadersArgs(
                        items=list(PUBLIC_CACHE_KEY_HEADERS)),
                ),
                query_strings_config=aws.cloudfront.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(query_string_behavior="all"),
                enable_accept_encoding_gzip=True,
                enable_accept_encoding_brotli=True,
            ),
            opts=child,
        )
        def response_headers(suffix: str, personal: bool) -> aws.cloudfront.ResponseHeadersPolicy:
            extra = PERSONAL_RESPONSE_HEADERS if personal else {}
            return aws.cloudfront.ResponseHeadersPolicy(
                f"{name}-{suffix}",
                comment=f"Security headers{' and no-store' if personal else ''} on every viewer response",
                security_headers_config=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(
                    strict_transport_security=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigStrictTransportSecurityArgs(
                        access_control_max_age_sec=HSTS_MAX_AGE_S, include_subdomains=True, preload=False, override=True
                    ),
                    content_type_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigContentTypeOptionsArgs(override=True),
                    frame_options=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigFrameOptionsArgs(frame_option=FRAME_OPTION, override=True),
                    referrer_policy=aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigReferrerPolicyArgs(
                        referrer_policy=REFERRER_POLICY, override=True
                    ),
                ),
                custom_headers_config=aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs(
                    items=[aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(header=h, value=v, override=True) for h, v in extra.items()]
                )
                if extra
                else None,
                opts=child,
            )

        public_headers = response_headers("public-headers", personal=False)
        personal_headers = response_headers("personal-headers", personal=True)

        def origin(origin_id: str, host: str) -> aws.cloudfront.DistributionOriginArgs:
            return aws.cloudfront.DistributionOriginArgs(
                origin_id=origin_id,
                domain_name=host,
                connection_attempts=2,
                connection_timeout=3,
                custom_headers=[aws.cloudfront.DistributionOriginCustomHeaderArgs(name=ORIGIN_VERIFY_HEADER, value=args.origin_secret)]
                if args.origin_secret is not None
                else None,
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80, https_port=443, origin_protocol_policy="https-only", origin_ssl_protocols=ORIGIN_SSL_PROTOCOLS,
                    origin_read_timeout=ORIGIN_READ_TIMEOUT_S, origin_keepalive_timeout=ORIGIN_KEEPALIVE_TIMEOUT_S,
                ),
            )

        edge_association = aws.cloudfront.DistributionOrderedCacheBehaviorLambdaFunctionAssociationArgs(
            event_type="origin-request", lambda_arn=args.edge_function_arn, include_body=True
        )
        distribution = aws.cloudfront.Distribution(
            name,
            enabled=True,
            comment="Application X",
            aliases=args.aliases,
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=args.price_class,
            web_acl_id=args.web_acl_arn,
            origins=[
                origin("public", args.public_origin_host),
                origin("fallback", args.fallback_origin_host),
                origin("personal", args.personal_origin_host),
            ],
            origin_groups=[
                aws.cloudfront.DistributionOriginGroupArgs(
                    origin_id="public-failover",
                    failover_criteria=aws.cloudfront.DistributionOriginGroupFailoverCriteriaArgs(status_codes=FAILOVER_STATUS_CODES),
                    members=[
                        aws.cloudfront.DistributionOriginGroupMemberArgs(origin_id="public"),
                        aws.cloudfront.DistributionOriginGroupMemberArgs(origin_id="fallback"),
                    ],
                )
            ],
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id="public-failover",
                viewer_protocol_policy="https-only",
                allowed_methods=READ_METHODS,
                cached_methods=["GET", "HEAD"],
                cache_policy_id=public_cache.id,
                response_headers_policy_id=public_headers.id,
                compress=True,
            ),
            ordered_cache_behaviors=[
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=path,
                    target_origin_id="personal",
                    viewer_protocol_policy="https-only",
                    allowed_methods=ALL_METHODS,
                    cached_methods=["GET", "HEAD"],
                    cache_policy_id=CACHING_DISABLED,
                    origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_HEADER,
                    response_headers_policy_id=personal_headers.id,
                    lambda_function_associations=[edge_association],
                    compress=True,
                )
                for path in PERSONAL_PATHS
            ],
            # An unreachable zone origin (a single-region zone whose region is down) must read as
            # a retryable 503 problem document, not a bare 502/504: the page comes from any
            # healthy cell through the public origin group.
            custom_error_responses=[
                aws.cloudfront.DistributionCustomErrorResponseArgs(
                    error_code=code, response_code=ERROR_PAGE_STATUS, response_page_path=UNAVAILABLE_PAGE,
                    error_caching_min_ttl=ERROR_CACHING_MIN_TTL_S,
                )
                for code in ERROR_PAGE_FOR
            ],
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="whitelist" if args.allowed_countries else "none",
                    locations=sorted(args.allowed_countries or []),
                )
            ),
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=args.certificate_arn, ssl_support_method="sni-only", minimum_protocol_version="TLSv1.2_2021"
            ),
            tags={"app": "appx"},
            opts=child,
        )
        self.id, self.domain_name, self.hosted_zone_id = distribution.id, distribution.domain_name, distribution.hosted_zone_id
        self.register_outputs({"id": self.id, "domainName": self.domain_name})
