"""AWS region facts shared by the program, the policy pack and the tools."""

# Regions in EU member states. eu-west-2 (London) and eu-central-2 (Zurich) are European but
# not EU: data placed there is a third-country transfer (GDPR Art. 44), so they are excluded.
EU_REGIONS: frozenset[str] = frozenset(
    {"eu-west-1", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2"}
)

# Every commercial AWS region, to tell a typo ("eu-west-9") from a non-EU region.
AWS_REGIONS: frozenset[str] = EU_REGIONS | frozenset(
    {
        "us-east-1", "us-east-2", "us-west-1", "us-west-2",
        "af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
        "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
        "ap-southeast-5", "ap-southeast-7", "ap-northeast-1", "ap-northeast-2",
        "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-west-2", "eu-central-2",
        "il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1",
    }
)

# CloudFront, its ACM certificate, Lambda@Edge and CLOUDFRONT-scope WAF ACLs must be created
# in us-east-1. This is the only non-EU region the project ever uses.
EDGE_CONTROL_REGION = "us-east-1"

# CloudFront runs a Lambda@Edge origin-request function in the AWS region of the Regional Edge
# Cache (REC) that serves the viewer, and the function logs there; a distribution cannot choose
# the REC and AWS does not publish which edge location uses which. What is documented: the RECs
# serving Europe have included Frankfurt, Ireland and London (FACTS.md). Viewers in a country
# hosting a REC are modelled as served by it, so their edge processing happens in its region.
REGIONAL_EDGE_CACHE_BY_COUNTRY: dict[str, str] = {
    "DE": "eu-central-1",  # Frankfurt
    "IE": "eu-west-1",  # Dublin
    "GB": "eu-west-2",  # London: not EU
}
