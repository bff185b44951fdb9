"""Run a stack of this project in-process under Pulumi mocks, from its real YAML files.

This is how the tests, the offline preview and the record of processing see the program
without a Pulumi CLI or an AWS account: the real `__main__.py` runs against a mock monitor
that records every registration (type, inputs in wire names, provider, parent,
dependencies, property dependencies). Cell stacks run first when the global stack asks for them
through StackReference, so the global stack is wired from the cells' real outputs.

Modes (`run_stack(stack, mode=...)`):
* `update`: what `pulumi up` registers, with plausible computed outputs (every value known).
* `preview`: what a first `pulumi preview` of the stack sees: the program runs with
  `is_dry_run()` true, and every resource of this stack is about to be created, so the mock
  monitor answers as the engine does for a create: inputs come back as they went in, every
  computed output (ids, ARNs, URLs, nested computed attributes) is the engine's UNKNOWN
  sentinel, the id is empty. Anything the program derives from such an output (`apply`,
  `Output.concat`, `json.dumps` inside an apply) is unknown too, and is registered as unknown
  (`rpc.UNKNOWN`), exactly what the engine forwards to pulumi-policy. Referenced stacks exist:
  their outputs are known. Resource dependencies and property dependencies are recorded as the
  SDK sends them, in every mode.
* `refresh`: the same registrations, plus the state `pulumi refresh` would read back from AWS
  (`RegisteredResource.refreshed`) and the changes the next `pulumi up` would plan from it
  (`StackRun.planned_diffs`), honouring each resource's `ignoreChanges`. What other stacks add
  to this stack's resources is derived from the project files: an owner table's refreshed
  `replicas` lists the regions whose cells add a `TableReplica` of it.
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
from pulumi.output import Unknown  # noqa: E402
from pulumi.runtime import mocks as pulumi_mocks  # noqa: E402
from pulumi.runtime import rpc, settings  # noqa: E402
from pulumi.runtime.stack import run_in_stack  # noqa: E402
from pulumi.runtime.proto import resource_pb2  # noqa: E402
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await  # noqa: E402

from components.config import PROJECT, Project, load_project, read_project_settings, read_stack_files  # noqa: E402
from components import packaging  # noqa: E402
from components.errors import ConfigError  # noqa: E402
from components.tables import placements  # noqa: E402

ACCOUNT_ID = "123456789012"
PROVIDER_TYPE = "pulumi:providers:aws"
OFFLINE_ENV = packaging.OFFLINE_ENV
MODES = ("update", "preview", "refresh")
UNKNOWN = rpc.UNKNOWN  # the engine's sentinel for a value not known before the update


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
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    ignore_changes: list[str] = field(default_factory=list)
    # refresh mode: the state `pulumi refresh` reads back, and the top-level properties that
    # changed outside this stack (set by another stack or by hand).
    refreshed: dict | None = None
    drifted: tuple[str, ...] = ()

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
    mode: str = "update"

    def of_type(self, type_: str) -> list[RegisteredResource]:
        return [r for r in self.resources if r.type == type_]

    def region_of(self, resource: RegisteredResource) -> str:
        return resource.region or self.config["aws:region"]

    @property
    def planned_diffs(self) -> dict[str, list[str]]:
        """refresh mode: resource name -> property paths the next `pulumi up` would change."""
        plans = {r.name: planned_diff(r) for r in self.resources if r.refreshed is not None}
        return {name: paths for name, paths in plans.items() if paths}


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

    def __init__(self, stack: str, config: Mapping, stack_outputs: Mapping[str, dict], preview: bool = False):
        self.stack, self.config, self.stack_outputs, self.preview = stack, config, stack_outputs, preview
        self.provider_regions: dict[str, str] = {}

    def _region(self, args) -> str:
        if args.inputs.get("region"):
            return args.inputs["region"]
        if args.provider:
            return self.provider_regions.get(_provider_urn(args.provider), "")
        return str(self.config.get("aws:region", ""))

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        resource_id, state = self._created(args)
        if not self.preview or args.typ in (PROVIDER_TYPE, "pulumi:pulumi:StackReference") or not args.custom:
            return resource_id, state
        # A first preview plans a create: the engine returns the inputs, computed outputs unknown, no id.
        return "", _planned_state(args.inputs, state)

    def _created(self, args: pulumi_mocks.MockResourceArgs):
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
        if args.typ == "aws:dynamodb/tableReplica:TableReplica":
            # The replica is the global table's namesake in this region.
            table = str(state.get("globalTableArn", "")).rsplit("/", 1)[-1]
            extra["arn"] = _ARN_FORMATS["aws:dynamodb/table:Table"].format(region=region, account=ACCOUNT_ID, name=table)
            state.pop("arn", None)
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


# pulumi-aws accepts `string | PolicyDocument` for these properties and JSON-encodes an object in its
# Check (tfbridge.TransformJSONDocument); an object holding an unknown becomes one unknown string.
# The engine hands the policy pack the inputs after Check, so the pack never sees the object.
JSON_DOCUMENTS = {
    "aws:iam/policy:Policy": ("policy",),
    "aws:iam/rolePolicy:RolePolicy": ("policy",),
    "aws:iam/userPolicy:UserPolicy": ("policy",),
    "aws:iam/groupPolicy:GroupPolicy": ("policy",),
    "aws:iam/role:Role": ("assumeRolePolicy",),
    "aws:kms/key:Key": ("policy",),
    "aws:kms/keyPolicy:KeyPolicy": ("policy",),
    "aws:sqs/queuePolicy:QueuePolicy": ("policy",),
}


def provider_checked(type_: str, inputs: dict) -> dict:
    """Inputs as the provider's Check returns them: policy-document objects JSON-encoded, or unknown."""
    checked = dict(inputs)
    for key in JSON_DOCUMENTS.get(type_, ()):
        value = checked.get(key)
        if isinstance(value, (dict, list)):
            text = json.dumps(value)
            checked[key] = UNKNOWN if UNKNOWN in text else text
    return checked


def _planned_state(inputs, created):
    """What the engine answers for a create during preview: every input as given (unknowns stay
    unknown), every attribute only the create would compute replaced by the UNKNOWN sentinel
    (recursively, so computed attributes inside an input block are unknown too)."""
    if not isinstance(created, dict) or not isinstance(inputs, dict):
        return inputs
    planned = {key: UNKNOWN for key in created if key not in inputs}
    for key, value in inputs.items():
        planned[key] = _planned_state(value, created[key]) if key in created else value
    return planned


class _RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps what the policy engine sees: parent, provider, dependencies,
    property dependencies, and unknown inputs as the engine's UNKNOWN sentinel."""

    def __init__(self, mocks: _Mocks):
        super().__init__(mocks)
        self.registrations: list[tuple[object, dict]] = []
        self.stack_outputs: dict = {}

    def RegisterResource(self, request):
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        # As MockMonitor.RegisterResource, but unknown inputs reach the mocks (and the record) as
        # the UNKNOWN sentinel the engine keeps, not as None.
        _ensure_event_loop()
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        inputs = provider_checked(request.type, _sentinels(inputs))
        resource_id, state = self.mocks.new_resource(pulumi_mocks.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False))
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        if request.type == PROVIDER_TYPE:
            self.mocks.provider_regions[urn] = inputs.get("region", "")
        self.registrations.append((request, {"urn": urn, "inputs": inputs}))
        state_proto = _sync_await(rpc.serialize_properties(state, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=resource_id or "", object=state_proto)

    def RegisterResourceOutputs(self, request):
        if request.urn.split("::")[-2].endswith("pulumi:pulumi:Stack"):
            self.stack_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)


def _sentinels(value):
    """`deserialize_properties(keep_unknowns=True)` yields `pulumi.output.Unknown` objects; keep the wire sentinel."""
    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _sentinels(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sentinels(v) for v in value]
    return value


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
            id=(state.id or None) if state else None,
            property_dependencies={key: list(deps.urns) for key, deps in request.propertyDependencies.items()},
            ignore_changes=list(request.ignoreChanges),
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


def run_stack(stack: str, root: Path = REPO_ROOT, *, mode: str = "update", _cells: dict | None = None) -> StackRun:
    """Run `__main__.py` for `stack` under mocks as `mode` sees it (see the module docstring).
    Raises ConfigError on a configuration error."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    root = Path(root).resolve()
    config = stack_config(stack, root)
    cell_outputs: dict[str, dict] = {} if _cells is None else _cells
    if _cells is None:
        # Cells deployed before this stack are what its StackReferences read: they exist, so their
        # outputs are known whatever the mode of this stack.
        project = load_project(root)
        for name in project.deploy_order():
            if name == stack:
                break
            cell_outputs[name] = run_stack(name, root, _cells=cell_outputs).outputs

    preview = mode == "preview"
    mocks = _Mocks(stack, config, cell_outputs, preview=preview)
    monitor = _RecordingMonitor(mocks)
    loop = asyncio.new_event_loop()  # one loop per run (pulumi/pulumi#24338)
    asyncio.set_event_loop(loop)
    try:
        settings.ROOT.set(None)
        pulumi_mocks.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
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
    run = StackRun(stack, _resources(monitor), _to_plain(monitor.stack_outputs), config, mode)
    if mode == "refresh":
        _refresh(run, load_project(root))
    return run


# --------------------------------------------------------------------------------------------
# refresh mode


def _refresh(run: StackRun, project: Project) -> None:
    """Give every custom resource the state a refresh reads back: its last outputs, plus what
    other stacks changed on it."""
    added_replicas = {(p.owner, p.spec.name): p.replica_regions for p in placements(project)}
    for resource in run.resources:
        if not resource.custom or resource.type == PROVIDER_TYPE:
            continue
        resource.refreshed = dict(resource.outputs)
        if resource.type == "aws:dynamodb/table:Table":
            regions = added_replicas.get((run.region_of(resource), resource.props.get("name")), ())
            if regions:
                # What `TableReplica` in each other cell adds to the owner's `replicas`.
                resource.refreshed["replicas"] = [_replica_state(resource, region) for region in regions]
                resource.drifted = ("replicas",)


def _replica_state(table: RegisteredResource, region: str) -> dict:
    name = table.props["name"]
    return {
        "regionName": region,
        "arn": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}",
        "kmsKeyArn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/replica-{name}",
        "pointInTimeRecovery": True,
        "propagateTags": False,
        "streamArn": f"arn:aws:dynamodb:{region}:{ACCOUNT_ID}:table/{name}/stream/2026-01-01T00:00:00.000",
    }


def planned_diff(resource: RegisteredResource, ignore_changes: list[str] | None = None) -> list[str]:
    """Property paths the provider's Diff would report between the resource's inputs and its
    refreshed state, as the engine applies `ignoreChanges` (`ignore_changes` overrides the
    registered ones). Properties the inputs set are compared where the inputs set them (nested
    values the inputs leave out are computed); a drifted property the inputs do not set is
    planned for removal, as the provider does for an optional, non-computed property."""
    if resource.refreshed is None:
        raise ValueError(f"{resource.name}: no refreshed state (run the stack with mode='refresh')")
    ignored = resource.ignore_changes if ignore_changes is None else ignore_changes
    paths: list[str] = []
    for key, value in resource.props.items():
        paths += _differences(key, value, resource.refreshed.get(key))
    paths += [key for key in resource.drifted if key not in resource.props]
    return sorted(p for p in paths if not any(p == i or p.startswith((f"{i}.", f"{i}[")) for i in ignored))


def _differences(path: str, wanted, actual) -> list[str]:
    if isinstance(wanted, dict) and isinstance(actual, dict):
        return [d for k, v in wanted.items() for d in _differences(f"{path}.{k}", v, actual.get(k))]
    if isinstance(wanted, list) and isinstance(actual, list) and len(wanted) == len(actual):
        return [d for i, (w, a) in enumerate(zip(wanted, actual)) for d in _differences(f"{path}[{i}]", w, a)]
    return [] if wanted == actual else [path]
