"""Run a stack of this project in-process under Pulumi mocks, from its real YAML files.

This is how the tests, the offline preview and the record of processing see the program
without a Pulumi CLI or an AWS account: the real `__main__.py` runs against a mock monitor
that records every registration (type, inputs in wire names, provider, parent,
dependencies). Cell stacks run first when the global stack asks for them through
StackReference, so the global stack is wired from the cells' real outputs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import json
import os
import runpy
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import pulumi  # noqa: E402
from pulumi.runtime import mocks as pulumi_mocks  # noqa: E402
from pulumi.runtime import rpc, settings  # noqa: E402
from pulumi.runtime.stack import run_in_stack  # noqa: E402
from pulumi.runtime.sync_await import _sync_await  # noqa: E402

from components.config import PROJECT, load_project, read_project_settings, read_stack_files  # noqa: E402
from components import packaging  # noqa: E402
from components.errors import ConfigError  # noqa: E402

ACCOUNT_ID = "123456789012"
PROVIDER_TYPE = "pulumi:providers:aws"
OFFLINE_ENV = packaging.OFFLINE_ENV


@dataclass
class RegisteredResource:
    urn: str
    type: str
    name: str
    props: dict
    provider: "RegisteredResource | None"
    parent_urn: str | None
    custom: bool
    dependencies: list[str] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)
    id: str | None = None

    @property
    def region(self) -> str | None:
        """The region the resource is created in, as AWS would resolve it (own input, then provider)."""
        if self.props.get("region"):
            return self.props["region"]
        return self.provider.props.get("region") if self.provider else None


@dataclass
class StackRun:
    stack: str
    resources: list[RegisteredResource]
    outputs: dict
    config: dict

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_]

    def region_of(self, resource: RegisteredResource) -> str:
        return resource.region or self.config["aws:region"]


def stack_config(stack: str, root: Path) -> dict:
    """Flat `ns:key` config as `pulumi` would hand it to the program: project defaults, then the stack file."""
    defaults = read_project_settings(root)
    config: dict = {
        f"{PROJECT}:domain": defaults.domain,
        f"{PROJECT}:hostedZoneId": defaults.hosted_zone_id or "",
        f"{PROJECT}:stackOrg": defaults.stack_org,
    }
    stacks = read_stack_files(root)
    if stack not in stacks:
        raise ConfigError(f"Pulumi.{stack}.yaml", "<file>", f"no such stack file in {root}", stacks)
    config.update(stacks[stack].values)
    return config


# ARNs in AWS's own formats, so policies and tests can parse them as they would in AWS.
_ARN_FORMATS = {
    "aws:cloudwatch/logGroup:LogGroup": "arn:aws:logs:{region}:{account}:log-group:{name}",
    "aws:dynamodb/table:Table": "arn:aws:dynamodb:{region}:{account}:table/{name}",
    "aws:sqs/queue:Queue": "arn:aws:sqs:{region}:{account}:{name}",
    "aws:lambda/function:Function": "arn:aws:lambda:{region}:{account}:function:{name}",
    "aws:kms/key:Key": "arn:aws:kms:{region}:{account}:key/{id}",
    "aws:kms/replicaKey:ReplicaKey": "arn:aws:kms:{region}:{account}:key/{id}",
    "aws:iam/role:Role": "arn:aws:iam::{account}:role/{name}",
    "aws:sns/topic:Topic": "arn:aws:sns:{region}:{account}:{name}",
    "aws:wafv2/webAcl:WebAcl": "arn:aws:wafv2:{region}:{account}:global/webacl/{name}/{id}",
    "aws:acm/certificate:Certificate": "arn:aws:acm:{region}:{account}:certificate/{id}",
}


def _name_digest(domain: str) -> str:
    return hashlib.sha1(f"{ACCOUNT_ID}/{domain}".encode()).hexdigest()[:12]


class _Mocks(pulumi_mocks.Mocks):
    """Plausible computed outputs (ids, ARNs, URLs) so outputs flow between resources."""

    def __init__(self, stack: str, config: Mapping, stack_outputs: Mapping[str, dict]):
        self.stack, self.config, self.stack_outputs = stack, config, stack_outputs
        self.provider_regions: dict[str, str] = {}

    def _region(self, args) -> str:
        if args.inputs.get("region"):
            return args.inputs["region"]
        if args.provider:
            return self.provider_regions.get(_provider_urn(args.provider), "")
        return str(self.config.get("aws:region", ""))

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            name = args.inputs.get("name") or args.name
            short = str(name).rsplit("/", 1)[-1]
            if short not in self.stack_outputs:
                raise ConfigError(f"Pulumi.{short}.yaml", "<stack>", f"stack reference {name} has no stack file")
            return f"{name}", {"name": name, "outputs": self.stack_outputs[short], "secretOutputNames": []}
        digest = hashlib.sha1(f"{self.stack}/{args.typ}/{args.name}".encode()).hexdigest()[:12]
        resource_id = args.resource_id or f"{args.name}-{digest}"
        state = dict(args.inputs)
        if args.typ == PROVIDER_TYPE:
            return resource_id, state
        region = self._region(args)
        service = args.typ.split(":")[1].split("/")[0]
        name = state.get("name") or resource_id
        state.setdefault("arn", _ARN_FORMATS.get(args.typ, "arn:aws:{service}:{region}:{account}:{kind}/{name}").format(
            service=service, region=region, account=ACCOUNT_ID, kind=args.typ.rsplit(":", 1)[-1].lower(), name=name, id=resource_id))
        state.setdefault("name", name)
        extra = {
            "aws:kms/key:Key": {"keyId": f"mrk-{digest}" if state.get("multiRegion") else digest},
            "aws:kms/replicaKey:ReplicaKey": {"keyId": f"mrk-{digest}"},
            "aws:sqs/queue:Queue": {"url": f"https://sqs.{region}.amazonaws.com/{ACCOUNT_ID}/{name}"},
            "aws:lambda/function:Function": {"qualifiedArn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}:1", "version": "1", "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/functions/{name}/invocations"},
            "aws:apigatewayv2/api:Api": {"apiEndpoint": f"https://{digest}.execute-api.{region}.amazonaws.com", "executionArn": f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{digest}"},
            "aws:apigatewayv2/domainName:DomainName": {
                "domainNameConfiguration": {**(state.get("domainNameConfiguration") or {}), "targetDomainName": f"d-{digest}.execute-api.{region}.amazonaws.com", "hostedZoneId": "ZLY8HYME6SFDD"}
            },
            "aws:cloudfront/distribution:Distribution": {"domainName": f"d{digest}.cloudfront.net", "hostedZoneId": "Z2FDTNDATAQYW2"},
            "aws:route53/zone:Zone": {"zoneId": f"Z{digest.upper()}", "nameServers": [f"ns-{i}.awsdns-{digest[:2]}.net" for i in range(4)]},
            "aws:acm/certificate:Certificate": {
                "domainValidationOptions": [
                    # ACM gives all certificates of an account for a name the same validation record.
                    {"domainName": d, "resourceRecordName": f"_{_name_digest(d)}.{d}.", "resourceRecordType": "CNAME",
                     "resourceRecordValue": f"_{_name_digest(d)}.acm-validations.aws."}
                    for d in [state.get("domainName"), *(state.get("subjectAlternativeNames") or [])] if d
                ]
            },
            "aws:route53/record:Record": {"fqdn": str(state.get("name", "")).rstrip(".")},
            "aws:route53/healthCheck:HealthCheck": {"id": resource_id},
            "aws:dynamodb/table:Table": {"streamArn": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}/stream/2026-01-01T00:00:00.000"},
        }.get(args.typ, {})
        merged = {**extra, **state}  # inputs win over computed outputs...
        if "domainNameConfiguration" in extra:  # ...except inside a block that already merged them
            merged["domainNameConfiguration"] = extra["domainNameConfiguration"]
        return resource_id, merged

    def call(self, args: pulumi_mocks.MockCallArgs):
        if args.token == "aws:kms/getPublicKey:getPublicKey":
            key = str(args.args.get("keyId"))
            return {"keyId": key, "publicKeyPem": f"-----BEGIN PUBLIC KEY-----\nMOCK{hashlib.sha1(key.encode()).hexdigest()}\n-----END PUBLIC KEY-----\n", "keyUsage": "ENCRYPT_DECRYPT"}
        if args.token == "aws:dynamodb/getTable:getTable":
            region = self.provider_regions.get(_provider_urn(args.provider), str(self.config.get("aws:region", "")))
            name = args.args.get("name")
            return {"name": name, "streamArn": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}/stream/2026-01-01T00:00:00.000"}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:root", "userId": "mock"}
        return {}


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps what the policy engine sees: parent, provider, dependencies."""

    def __init__(self, mocks: _Mocks):
        super().__init__(mocks)
        self.registrations: list[tuple[object, dict]] = []
        self.stack_outputs: dict = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs = rpc.deserialize_properties(request.object)
            if request.type == PROVIDER_TYPE:
                self.mocks.provider_regions[response.urn] = inputs.get("region", "")
            self.registrations.append((request, {"urn": response.urn, "inputs": inputs}))
        return response

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[-2].endswith("pulumi:pulumi:Stack"):
            self.stack_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def _provider_urn(reference: str | None) -> str:
    """A provider reference is `<urn>::<id>`; URNs contain `::` themselves."""
    return reference.rsplit("::", 1)[0] if reference else ""


def _asset(value):
    if isinstance(value, pulumi.StringAsset):
        return {"text": value.text}
    if isinstance(value, (pulumi.FileAsset, pulumi.FileArchive)):
        return {"path": value.path}
    if isinstance(value, pulumi.AssetArchive):
        return {"assets": {name: _asset(asset) for name, asset in value.assets.items()}}
    return str(value)


def _unwrap_secrets(value):
    if isinstance(value, dict):
        if rpc._special_sig_key in value and value[rpc._special_sig_key] == rpc._special_secret_sig:
            return _unwrap_secrets(value["value"])
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def _to_plain(value):
    """Registered values as JSON-like data: secrets unwrapped (this is a local view), assets and
    archives reduced to their content or path."""
    return _unwrap_secrets(json.loads(json.dumps(value, default=_asset)))


def _resources(monitor: _RecordingMonitor) -> list[RegisteredResource]:
    by_urn: dict[str, RegisteredResource] = {}
    provider_of: dict[str, str] = {}
    for request, recorded in monitor.registrations:
        provider_of[recorded["urn"]] = _provider_urn(request.provider)
        state = monitor.resources.get(recorded["urn"])
        by_urn[recorded["urn"]] = RegisteredResource(
            urn=recorded["urn"],
            type=request.type,
            name=request.name,
            props=_to_plain(recorded["inputs"]),
            provider=None,
            parent_urn=request.parent or None,
            custom=bool(request.custom),
            dependencies=list(request.dependencies),
            outputs=_to_plain(state.state) if state else {},
            id=state.id if state else None,
        )
    for urn, resource in by_urn.items():
        resource.provider = by_urn.get(provider_of[urn])
    return list(by_urn.values())


_offline_build: Path | None = None


def offline_build_dir() -> Path:
    """Code-only builds of every function, made once per process in a temporary directory:
    mocks never upload code, and a developer's own `build/` is left alone."""
    global _offline_build
    if _offline_build is None:
        from components.packaging import ARCHITECTURES, build

        directory = Path(tempfile.mkdtemp(prefix="appx-offline-build-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        for function in ARCHITECTURES:
            build(function, code_only=True, build_dir=directory)
        _offline_build = directory
    return _offline_build


@contextlib.contextmanager
def _project_dir(root: Path) -> Iterator[None]:
    previous = Path.cwd()
    previous_env = os.environ.get(OFFLINE_ENV)
    previous_build = packaging.BUILD_DIR
    os.chdir(root)
    os.environ[OFFLINE_ENV] = "1"
    packaging.BUILD_DIR = offline_build_dir()
    try:
        yield
    finally:
        packaging.BUILD_DIR = previous_build
        os.chdir(previous)
        if previous_env is None:
            os.environ.pop(OFFLINE_ENV, None)


def run_stack(stack: str, root: Path = REPO_ROOT, _cells: dict | None = None) -> StackRun:
    """Run `__main__.py` for `stack` under mocks. Raises ConfigError on a configuration error."""
    root = Path(root).resolve()
    config = stack_config(stack, root)
    cell_outputs: dict[str, dict] = {} if _cells is None else _cells
    if _cells is None:
        # Cells deployed before this stack are what its StackReferences read.
        project = load_project(root)
        for name in project.deploy_order():
            if name == stack:
                break
            cell_outputs[name] = run_stack(name, root, cell_outputs).outputs

    mocks = _Mocks(stack, config, cell_outputs)
    monitor = _RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()  # one loop per run (pulumi/pulumi#24338)
    asyncio.set_event_loop(loop)
    try:
        settings.ROOT.set(None)
        pulumi_mocks.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        settings.ROOT.set(None)  # run_in_stack creates the root Stack that collects the exports
        pulumi.runtime.set_all_config({k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})
        with _project_dir(root):
            try:
                _sync_await(run_in_stack(lambda: runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="__main__")))
            except pulumi.RunError as error:
                if isinstance(error.__cause__, ConfigError):
                    raise error.__cause__ from None
                raise
    finally:
        settings.ROOT.set(None)
        # Outputs nobody awaited (e.g. after an error) still hold tasks: finish them quietly.
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)
    return StackRun(stack, _resources(monitor), _to_plain(monitor.stack_outputs), config)
