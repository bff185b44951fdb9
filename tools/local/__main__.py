"""`python -m tools.local [up|fault|status]`

    up                          start the local stack (default); Ctrl-C stops it
    fault down REGION           take a region down (unreachable cell, storage, workers)
    fault slow REGION [--ms N]  add N ms latency to every request of the region's API
    fault cut-replication [REGION]  stop global-table replication (of one region or all)
    fault storage-down REGION   DynamoDB of the region answers 503 (API and queue still up)
    fault breaker-open [REGION] force the write path's circuit breaker open (writes queue, 202)
    fault duplicate-delivery [REGION]  the worker's first delete of a message is lost: SQS delivers it twice
    fault worker-paused [REGION]  the queue's event source mapping is disabled: queued writes wait
    fault stream-failing [REGION]  the stream function fails every batch (records skipped after its retries)
    fault recover [REGION]      clear every fault (of one region or all)
    status                      print the running stack's state
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.request
from pathlib import Path

from tools.local.runtime import FAULT_ACTIONS, REPO_ROOT, Options, Runtime, read_state


def _post(url: str, doc: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(doc).encode(), headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def cmd_up(args) -> int:
    opts = Options(port=args.port, state_dir=args.state_dir, time_scale=args.time_scale,
                   health_interval_s=args.health_interval, dns_ttl_s=args.dns_ttl, default_country=args.default_country,
                   echo_logs=args.verbose, erasure_sweep_s=args.erasure_sweep, erasure_settle_s=args.erasure_settle,
                   cors_origins=tuple(o for o in args.cors_origins.split(",") if o) if args.cors_origins is not None else None)
    if args.cell_base_port:
        opts.cell_ports = {}
    rt = Runtime(REPO_ROOT, opts)
    if args.cell_base_port:
        rt.options.cell_ports = {r: args.cell_base_port + i for i, r in enumerate(rt.topology.cell_regions)}
    console = sys.stdout
    try:
        rt.start()
    except OSError as exc:
        print(f"could not start the local stack: {exc}", file=console)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    w = console.write
    w("\nApplication X — local multi-region stack is up\n")
    w(f"  dashboard : {rt.edge.url}/_control/\n")
    w(f"  edge (API): {rt.edge.url}/   (viewer country: header CloudFront-Viewer-Country)\n")
    for region, cell in rt.cells.items():
        zones = ", ".join(z.name for z in rt.topology.zones_in(region))
        w(f"  {region:<13} {cell.url}   zones: {zones}\n")
    w(f"  health checks every {rt.health_interval:g}s, threshold {rt.health_threshold}, record TTL {rt.dns_ttl:g}s"
      f" → detection window {rt.detection_window_s:g}s\n")
    w(f"  storage   : {rt.moto.url}   (moto: DynamoDB, SQS, KMS of every region; AWS_ENDPOINT_URL for boto3/aws cli)\n")
    w(f"  logs      : {rt.log_dir}\n")
    w("  faults    : python -m tools.local fault down eu-central-1 | recover eu-central-1\n")
    w("  demo      : .venv/bin/python -m tools.demo\n")
    w("Press Ctrl-C to stop.\n")
    console.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        w("\nstopping…\n")
        rt.stop()
    return 0


def cmd_fault(args) -> int:
    state = read_state(args.state_dir)
    region = args.region
    if args.action in ("down", "slow", "storage-down") and not region:
        print(f"fault {args.action} needs a region", file=sys.stderr)
        return 2
    out = _post(f"{state['edge']}/_control/faults", {"action": args.action, "region": region, "ms": args.ms})
    print(json.dumps(out))
    return 0


def cmd_status(args) -> int:
    state = read_state(args.state_dir)
    with urllib.request.urlopen(f"{state['edge']}/_control/state", timeout=10) as r:
        doc = json.loads(r.read())
    print(f"edge          {state['edge']}/   dashboard {state['dashboard']}")
    print(f"storage       {doc['storage']['moto']}   (moto: DynamoDB, SQS, KMS of every region)")
    for reg in doc["regions"]:
        h = "healthy" if reg["health"]["healthy"] else "UNHEALTHY"
        faults = ", ".join(k for k, v in reg["faults"].items() if v and k != "since") or "no faults"
        print(f"{reg['region']:<13} {h:<9} zones={','.join(reg['zones'])} {faults}")
    for zone in doc["zones"]:
        served = f"served by {', '.join(zone['servedBy'])}" if zone["servedBy"] else "UNAVAILABLE (no cell of the zone is up)"
        print(f"zone {zone['zone']:<8} {served}")
    for link in doc["replication"]:
        if link["pending"]:
            print(f"replication {link['table']} {link['from']}→{link['to']}: {link['pending']} pending, lag {link['lagSeconds']}s")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tools.local", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--state-dir", type=Path, default=None, help="runtime.json and logs (default .local-runtime/)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS, help="as above")
    sub = p.add_subparsers(dest="cmd")
    up = sub.add_parser("up", help="start the local stack", parents=[common])
    up.add_argument("--port", type=int, default=8080, help="edge port (0 = any free port)")
    up.add_argument("--cell-base-port", type=int, default=0, help="first cell port (default: any free ports)")
    up.add_argument("--time-scale", type=float, default=0.1, help="scale of AWS's 10 s health interval and 60 s TTL")
    up.add_argument("--health-interval", type=float, default=None, help="seconds between health checks")
    up.add_argument("--dns-ttl", type=float, default=None, help="seconds a Route 53 answer is cached")
    up.add_argument("--default-country", default="IE", help="viewer country when the request has no CloudFront-Viewer-Country")
    up.add_argument("--erasure-sweep", type=float, default=None, help="seconds between erasure sweeps (default 300 s × time scale)")
    up.add_argument("--erasure-settle", type=float, default=None, help="seconds an erasure job waits for the indexes (default 60 s × time scale)")
    up.add_argument("--cors-origins", default=None,
                    help="comma-separated browser origins for every cell, replacing appx:cell.corsOrigins of the stack files")
    up.add_argument("--verbose", action="store_true", help="echo the runtime's own log to the console")
    f = sub.add_parser("fault", help="inject or clear a fault in the running stack", parents=[common])
    f.add_argument("action", choices=FAULT_ACTIONS)
    f.add_argument("region", nargs="?")
    f.add_argument("--ms", type=int, default=1500, help="latency for `slow`")
    sub.add_parser("status", help="print the running stack's state", parents=[common])
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(a in ("up", "fault", "status", "-h", "--help") for a in argv):
        argv.append("up")
    args = p.parse_args(argv)
    if args.cmd == "up":
        return cmd_up(args)
    return {"fault": cmd_fault, "status": cmd_status}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
