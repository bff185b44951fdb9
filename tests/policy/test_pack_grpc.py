"""The pack as the CLI runs it: `python -u __main__.py` with cwd=policy/, serving the analyzer over
gRPC. One real round trip proves the entry point, the sys.path set-up and the wire format."""

import json
import subprocess
import sys
from pathlib import Path

import grpc
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc

from policy.rules import POLICIES

POLICY_DIR = Path(__file__).resolve().parents[2] / "policy"


def test_pack_serves_over_grpc_from_the_policy_directory():
    process = subprocess.Popen([sys.executable, "-u", "__main__.py"], cwd=POLICY_DIR, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.isdigit(), f"no port printed: {line!r} {process.stderr.read() if process.poll() is not None else ''}"
        with grpc.insecure_channel(f"127.0.0.1:{line}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=10)
            assert info.name == "appx-gdpr"
            assert [p.name for p in info.policies] == [p.name for p in POLICIES]
            assert all(p.framework.name == "GDPR" for p in info.policies)
            props = struct_pb2.Struct()
            props.update({"tags": {"data-class": "personal"}, "retentionInDays": 30, "region": "us-east-1"})
            response = stub.Analyze(proto.AnalyzeRequest(
                type="aws:cloudwatch/logGroup:LogGroup", properties=props, name="logs",
                urn="urn:pulumi:s::appx::aws:cloudwatch/logGroup:LogGroup::logs"), timeout=10)
            names = sorted({d.policyName for d in response.diagnostics})
            assert names == ["eu-regions"], json.dumps(names)
            # The CMK rules are stack policies (they read property dependencies, docs/policy.md#preview).
            stack = stub.AnalyzeStack(proto.AnalyzeStackRequest(resources=[proto.AnalyzerResource(
                type="aws:cloudwatch/logGroup:LogGroup", properties=props, name="logs",
                urn="urn:pulumi:s::appx::aws:cloudwatch/logGroup:LogGroup::logs")]), timeout=10)
            names = sorted({d.policyName for d in stack.diagnostics})
            assert names == ["log-group-cmk-encryption"], json.dumps(names)
    finally:
        process.kill()
        process.wait()


def test_rules_import_without_pulumi_aws_or_starting_the_pack():
    """policy/venv has only pulumi-policy, pulumi and PyYAML: the rules must not need pulumi_aws."""
    code = ("import sys; sys.path.insert(0, '..'); import policy.rules as r; "
            "assert 'pulumi_aws' not in sys.modules, 'pulumi_aws imported'; print(len(r.POLICIES))")
    out = subprocess.run([sys.executable, "-c", code], cwd=POLICY_DIR, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == len(POLICIES)
