"""An ACM certificate validated through DNS records in the project's hosted zone."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass
class DnsCertificateArgs:
    host_names: list[str]  # the first is the certificate's domain name
    hosted_zone_id: pulumi.Input[str]


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
        options = certificate.domain_validation_options
        records = [
            aws.route53.Record(
                f"{name}-validation-{index}",
                zone_id=args.hosted_zone_id,
                name=options[index].resource_record_name,
                type=options[index].resource_record_type,
                records=[options[index].resource_record_value],
                ttl=300,
                # Certificates for the same name in several regions share one validation record.
                allow_overwrite=True,
                opts=child,
            )
            for index in range(len(args.host_names))
        ]
        validation = aws.acm.CertificateValidation(
            name, certificate_arn=certificate.arn, validation_record_fqdns=[r.fqdn for r in records], opts=child
        )
        self.arn = validation.certificate_arn
        self.register_outputs({"arn": self.arn})
