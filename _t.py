import time, collections
from tools.stack_runner import run_stack
from policy.analyzer import OfflineAnalyzer, from_stack_run
a = OfflineAnalyzer()
for s in ["eu-west-1","eu-central-1","eu-west-3","global"]:
    t=time.time()
    run = run_stack(s)
    t1=time.time()-t
    e = a.evaluate(from_stack_run(run))
    print(f"== {s}: {len(run.resources)} resources run {t1:.1f}s total {time.time()-t:.1f}s; {len(e.mandatory)} mandatory {len(e.advisory)} advisory {len(e.remediations)} remediations")
    for d in e.diagnostics: print("  ", d.level, d.policy, d.message[:300])
    for r in e.remediations: print("  REM", r.policy, r.urn, r.changed())
