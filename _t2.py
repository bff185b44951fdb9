import json
from tools.stack_runner import run_stack
run = run_stack("eu-central-1")
seen=set()
for r in run.resources:
    if r.type in seen or not r.custom: continue
    seen.add(r.type)
    p = dict(r.props)
    for k in ("code","environment"):
        if k in p: p[k]="..."
    print(r.type, r.name, "prov=", r.provider.props.get("region") if r.provider else None, json.dumps(p)[:700])
g = run_stack("global")
for r in g.resources:
    if r.type in ("aws:cloudfront/distribution:Distribution","aws:lambda/function:Function") or (r.type=="aws:route53/record:Record" and r.props.get("latencyRoutingPolicies")):
        p=dict(r.props); p.pop("code",None)
        print(r.type, r.name, json.dumps(p)[:1500]); 
