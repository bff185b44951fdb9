"""Evaluate the appx-gdpr pack offline through pulumi-policy's own analyzer servicer.

`pulumi preview --policy-pack policy` starts `policy/__main__.py`, which constructs a `PolicyPack`;
the pack serves `_PolicyAnalyzerServicer` over gRPC and the engine calls it: GetAnalyzerInfo,
Configure (every policy's enforcement level and config, schema defaults filled in), ConfigureStack,
then per resource Remediate followed by Analyze on the remediated inputs, then AnalyzeStack over
the whole stack. This module makes the same calls on the same servicer class in-process, with the
same protobuf messages, so enforcement levels (advisory / mandatory / remediate / disabled),
remediations, config and "not applicable" results behave as they do under the CLI. Property
values travel as `google.protobuf.Struct`, exactly like on the wire (numbers become floats).

The pack's arguments are taken from `policy/__main__.py` itself: it is executed with
`pulumi_policy.PolicyPack` swapped for a recorder, so there is no second copy of them.
"""

from __future__ import annotations

import json
import re
import runpy
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pulumi_policy  # noqa: E402
import yaml  # noqa: E402
from google.protobuf import json_format, struct_pb2  # noqa: E402
from pulumi.runtime import proto  # noqa: E402
from pulumi_policy.policy import EnforcementLevel, _PolicyAnalyzerServicer  # noqa: E402

PACK_MAIN = ROOT / "policy" / "__main__.py"
PACK_YAML = ROOT / "policy" / "PulumiPolicy.yaml"
DEFAULT_PROVIDER_NAME = "default"

_LEVELS = {proto.ADVISORY: "advisory", proto.MANDATORY: "mandatory", proto.REMEDIATE: "remediate",
           proto.DISABLED: "disabled"}
_LEVEL_CODES = {v: k for k, v in _LEVELS.items()}
_SEVERITIES = {proto.POLICY_SEVERITY_UNSPECIFIED: "", proto.POLICY_SEVERITY_LOW: "low",
               proto.POLICY_SEVERITY_MEDIUM: "medium", proto.POLICY_SEVERITY_HIGH: "high",
               proto.POLICY_SEVERITY_CRITICAL: "critical"}


# --------------------------------------------------------------------------------------------
# Input model (what the engine knows about a registered resource)


@dataclass
class Provider:
    urn: str
    type: str
    name: str
    props: dict


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    props: dict
    provider: Provider | None = None
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    custom: bool = True
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Diagnostic:
    policy: str
    level: str  # advisory | mandatory (a remediate policy still violated reports as mandatory)
    severity: str
    urn: str
    message: str  # the violation text (policy description stripped)
    description: str
    stack_policy: bool = False

    @property
    def resource_name(self) -> str:
        return self.urn.split("::")[-1] if self.urn else "<stack>"

    @property
    def resource_type(self) -> str:
        return self.urn.split("::")[-2].split("$")[-1] if self.urn.count("::") >= 2 else ""


@dataclass
class Remediation:
    policy: str
    urn: str
    description: str
    before: dict
    after: dict

    def changed(self) -> dict:
        return {k: self.after.get(k) for k in set(self.before) | set(self.after) if self.before.get(k) != self.after.get(k)}


@dataclass
class Skipped:
    """A rule x resource evaluation pulumi-policy skipped because the rule read an unknown value
    (its `UnknownValueError` answer: an advisory "can't run policy ... during preview")."""

    policy: str
    urn: str  # the resource analysed; "" for a stack policy (it was skipped for the whole stack)
    property: str  # path of the unknown value, e.g. ".serverSideEncryption.kmsKeyArn"
    value_type: str  # string | number | boolean | Array | Object | asset | archive
    message: str
    remediation: bool = False  # a remediation (not a validation) was skipped


_SKIP = re.compile(r"^can't run (policy|remediation) '([^']+)' from policy pack '[^']+' during preview: "
                   r"(\w+) value at (\S*) can't be known during preview$")


def skipped_evaluation(message: str, policy: str, urn: str) -> Skipped | None:
    """The Skipped record if `message` is pulumi-policy's unknown-value answer, else None."""
    match = _SKIP.match(message)
    if match is None:
        return None
    return Skipped(policy, urn, match.group(4), match.group(3), message,
                   remediation=match.group(1) == "remediation")


@dataclass
class Evaluation:
    diagnostics: list[Diagnostic]  # violations (skipped evaluations are in `skipped`, not here)
    remediations: list[Remediation]
    not_applicable: list[tuple[str, str, str]]  # (policy, urn, reason)
    resources: list[Resource]  # after remediation
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "mandatory"]

    @property
    def advisory(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.level == "advisory"]

    def by_policy(self, name: str) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.policy == name]


# --------------------------------------------------------------------------------------------
# Loading the pack exactly as policy/__main__.py builds it


class _Recorder:
    captured: dict | None = None

    def __init__(self, **kwargs: Any) -> None:
        type(self).captured = kwargs


def load_pack_arguments(main: Path = PACK_MAIN) -> dict:
    """Run policy/__main__.py with PolicyPack replaced by a recorder; return its keyword arguments."""
    original = pulumi_policy.PolicyPack
    pulumi_policy.PolicyPack = _Recorder  # type: ignore[misc]
    _Recorder.captured = None
    try:
        runpy.run_path(str(main), run_name="__main__")
    finally:
        pulumi_policy.PolicyPack = original  # type: ignore[misc]
    if _Recorder.captured is None:
        raise RuntimeError(f"{main} did not construct a PolicyPack")
    return dict(_Recorder.captured)


def pack_version() -> str:
    try:
        return str(yaml.safe_load(PACK_YAML.read_text()).get("version") or "0.0.1")
    except (OSError, yaml.YAMLError, AttributeError):
        return "0.0.1"


def _struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    s.update(json.loads(json.dumps(value, default=str)))
    return s


def _message_to_dict(s: struct_pb2.Struct) -> dict:
    return json_format.MessageToDict(s)


def normalize_policy_config(raw: Mapping[str, Any] | None) -> dict[str, dict]:
    """`--policy-pack-config` style: {"all": level, "<policy>": level | {"enforcementLevel": .., key: ..}}."""
    out: dict[str, dict] = {}
    for name, value in (raw or {}).items():
        if isinstance(value, str):
            out[name] = {"enforcementLevel": value}
        elif isinstance(value, Mapping):
            out[name] = dict(value)
        else:
            raise ValueError(f"policy config for {name!r} must be a level or an object")
    return out


class OfflineAnalyzer:
    """The pack's servicer, configured as the CLI configures it."""

    def __init__(self, policy_config: Mapping[str, Any] | None = None, stack_tags: Mapping[str, str] | None = None,
                 pack_arguments: Mapping[str, Any] | None = None):
        kwargs = dict(pack_arguments or load_pack_arguments())
        self.pack_name = kwargs["name"]
        self.policies = kwargs["policies"]
        self.servicer = _PolicyAnalyzerServicer(
            kwargs["name"], pack_version(), kwargs["policies"],
            kwargs.get("enforcement_level") or EnforcementLevel.ADVISORY, kwargs.get("initial_config"),
            kwargs.get("description"), kwargs.get("display_name"), kwargs.get("readme"), kwargs.get("provider"),
            kwargs.get("tags"), kwargs.get("repository"),
        )
        self.info = self.servicer.GetAnalyzerInfo(None, None)
        self.config = self._configure(normalize_policy_config(policy_config))
        self.servicer.ConfigureStack(proto.AnalyzerStackConfigureRequest(tags=dict(stack_tags or {})), None)
        self.stack_policy_names = {p.name for p in self.info.policies
                                   if p.policy_type == proto.PolicyType.POLICY_TYPE_STACK}

    def _configure(self, user: Mapping[str, dict]) -> dict[str, dict]:
        """What the CLI sends in Configure: per policy its level (pack default < initial config < user config)
        and its config properties (schema defaults < initial config < user config)."""
        known = {p.name for p in self.info.policies}
        unknown = sorted(set(user) - known - {"all"})
        if unknown:
            raise ValueError(f"policy config names unknown policies: {', '.join(unknown)}")
        request = proto.ConfigureAnalyzerRequest()
        effective: dict[str, dict] = {}
        for p in self.info.policies:
            level = _LEVELS[p.enforcementLevel]
            props = {k: v["default"] for k, v in _message_to_dict(p.configSchema.properties).items()
                     if isinstance(v, Mapping) and "default" in v}
            if p.name in self.info.initialConfig:
                initial = self.info.initialConfig[p.name]
                if initial.enforcementLevel:
                    level = _LEVELS[initial.enforcementLevel]
                props.update(_message_to_dict(initial.properties))
            if "all" in user and "enforcementLevel" in user["all"]:
                level = user["all"]["enforcementLevel"]
            mine = dict(user.get(p.name) or {})
            level = mine.pop("enforcementLevel", level)
            props.update(mine)
            if level not in _LEVEL_CODES:
                raise ValueError(f"policy {p.name}: unknown enforcement level {level!r}")
            request.policyConfig[p.name].CopyFrom(proto.PolicyConfig(enforcementLevel=_LEVEL_CODES[level],
                                                                       properties=_struct(props)))
            effective[p.name] = {"enforcementLevel": level, **props}
        self.servicer.Configure(request, None)
        return effective

    # ----------------------------------------------------------------------------------------

    @staticmethod
    def _provider_message(provider: Provider | None):
        if provider is None:
            return None
        return proto.AnalyzerProviderResource(type=provider.type, properties=_struct(provider.props),
                                              urn=provider.urn, name=provider.name)

    def _request(self, r: Resource, props: Mapping[str, Any]) -> Any:
        kwargs = dict(type=r.type, properties=_struct(props), urn=r.urn, name=r.name,
                      options=proto.AnalyzerResourceOptions(parent=r.parent or ""))
        provider = self._provider_message(r.provider)
        if provider is not None:
            kwargs["provider"] = provider
        return proto.AnalyzeRequest(**kwargs)

    def _diagnostics(self, response, urn: str, stack: bool) -> list[Diagnostic]:
        out = []
        for d in response.diagnostics:
            message = d.message
            if message.startswith(d.description + "\n"):
                message = message[len(d.description) + 1:]
            out.append(Diagnostic(policy=d.policyName, level=_LEVELS.get(d.enforcementLevel, "advisory"),
                                  severity=_SEVERITIES.get(d.severity, ""), urn=d.urn or ("" if stack else urn),
                                  message=message, description=d.description, stack_policy=stack))
        return out

    def evaluate(self, resources: Iterable[Resource]) -> Evaluation:
        diagnostics: list[Diagnostic] = []
        skipped: list[Skipped] = []
        remediations: list[Remediation] = []
        not_applicable: list[tuple[str, str, str]] = []
        final: list[Resource] = []
        for r in resources:
            props = dict(r.props)
            if r.type.startswith("pulumi:providers:") or r.type == "pulumi:pulumi:Stack":
                final.append(r)
                continue
            # 1. Remediate (the engine applies the new inputs before analysing).
            response = self.servicer.Remediate(self._request(r, props), None)
            for rem in response.remediations:
                if rem.HasField("properties"):
                    after = _message_to_dict(rem.properties)
                    remediations.append(Remediation(rem.policyName, r.urn, rem.description, props, after))
                    props = after
                elif rem.diagnostic:
                    skip = skipped_evaluation(rem.diagnostic, rem.policyName, r.urn)
                    if skip is not None:
                        skipped.append(skip)
                    else:
                        diagnostics.append(Diagnostic(rem.policyName, "advisory", "", r.urn, rem.diagnostic,
                                                      rem.description))
            # 2. Analyze the (remediated) inputs.
            response = self.servicer.Analyze(self._request(r, props), None)
            self._sort(self._diagnostics(response, r.urn, stack=False), diagnostics, skipped, r.urn)
            not_applicable.extend((n.policy_name, r.urn, n.reason) for n in response.not_applicable)
            final.append(Resource(r.urn, r.type, r.name, props, r.provider, r.parent, list(r.dependencies),
                                  r.custom, dict(r.property_dependencies)))
        # 3. AnalyzeStack over every resource of the stack.
        request = proto.AnalyzeStackRequest()
        for r in final:
            msg = proto.AnalyzerResource(type=r.type, properties=_struct(r.props), urn=r.urn, name=r.name,
                                         options=proto.AnalyzerResourceOptions(parent=r.parent or ""),
                                         parent=r.parent or "", dependencies=list(r.dependencies))
            for key, urns in r.property_dependencies.items():
                msg.propertyDependencies[key].urns.extend(urns)
            provider = self._provider_message(r.provider)
            if provider is not None:
                msg.provider.CopyFrom(provider)
            request.resources.append(msg)
        response = self.servicer.AnalyzeStack(request, None)
        self._sort(self._diagnostics(response, "", stack=True), diagnostics, skipped, "")
        not_applicable.extend((n.policy_name, "", n.reason) for n in response.not_applicable)
        return Evaluation(diagnostics, remediations, not_applicable, final, skipped)

    @staticmethod
    def _sort(found: list[Diagnostic], diagnostics: list[Diagnostic], skipped: list[Skipped], urn: str) -> None:
        """Violations to `diagnostics`; pulumi-policy's "can't run ... during preview" answers to `skipped`
        (the servicer reports those with an empty URN: the analysed resource is `urn`)."""
        for d in found:
            skip = skipped_evaluation(d.message, d.policy, urn) if d.level == "advisory" else None
            if skip is not None:
                skipped.append(skip)
            else:
                diagnostics.append(d)


# --------------------------------------------------------------------------------------------
# From the mock harness (offline.stack_runner) to analyzer resources


def default_provider(stack: str, project: str, config: Mapping[str, Any], version: str = "7_51_1") -> Provider:
    """The default aws provider the engine creates from the stack's `aws:*` config."""
    props = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("aws:")}
    props.setdefault("version", version.replace("_", "."))
    name = f"default_{version}"
    return Provider(f"urn:pulumi:{stack}::{project}::pulumi:providers:aws::{name}", "pulumi:providers:aws", name, props)


def from_stack_run(run: Any, project: str = "appx") -> list[Resource]:
    """Convert a `offline.stack_runner.StackRun` into analyzer resources (explicit providers keep their
    inputs; resources on the default provider get the synthesized default provider)."""
    default = default_provider(run.stack, project, run.config)
    out = []
    for r in run.resources:
        if r.provider is not None:
            provider = Provider(r.provider.urn, r.provider.type, r.provider.name, dict(r.provider.props))
        elif r.type.startswith("aws:") and getattr(r, "custom", True):
            provider = default
        else:
            provider = None
        out.append(Resource(r.urn, r.type, r.name, dict(r.props), provider, r.parent_urn, list(r.dependencies),
                            r.custom, {k: list(v) for k, v in r.property_dependencies.items()}))
    return out
