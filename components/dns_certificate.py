"""An ACM certificate validated through DNS records in the project's hosted zone.

ACM gives every certificate of an account for the same name the same validation CNAME, so when
several stacks certify a name (every cell answers `origin.<domain>`), exactly one of them owns
the record: `records_for` names the hosts whose records this certificate creates; for the others
it waits on the record by name, created by the owning stack (deployed first, destroyed last)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class DnsCertificateArgs:
    host_names: list[str]  # the first is the certificate's domain name
    hosted_zone_id: pulumi.Input[str]
    records_for: list[str] | None = None  # None: this certificate owns every validation record


class DnsValidatedCertificate(pulumi.ComponentResource):
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: DnsCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("appx:dns:DnsValidatedCertificate", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        certificate = aws.acm.Certificate(
            name,
            domain_name=args.host_names[0],
            subject_alternative_names=args.host_names[1:],
            validation_method="DNS",
            tags={"app": "appx"},
            opts=child,
        )
        owned = args.host_names if args.records_for is None else args.records_for

        def option(host: str, field: str) -> pulumi.Output[str]:
            # Options come back in ACM's order, not ours: match them by domain name.
            return certificate.domain_validation_options.apply(
                lambda options: next(getattr(o, field) for o in options if o.domain_name == host))

        fqdns = []
        for index, host in enumerate(args.host_names):
            if host not in owned:
                fqdns.append(option(host, "resource_record_name").apply(lambda record: record.rstrip(".")))
                continue
            record = aws.route53.Record(
                f"{name}-validation-{index}",
                zone_id=args.hosted_zone_id,
                name=option(host, "resource_record_name"),
                type=option(host, "resource_record_type"),
                records=[option(host, "resource_record_value")],
                ttl=300,
                opts=child,
            )
            fqdns.append(record.fqdn)
        validation = aws.acm.CertificateValidation(
            name, certificate_arn=certificate.arn, validation_record_fqdns=fqdns, opts=child
        )
        self.arn = validation.certificate_arn
        self.register_outputs({"arn": self.arn})
