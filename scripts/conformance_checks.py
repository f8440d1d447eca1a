"""Reads the checks.json files the conformance suite wrote (-o DIR) and
compares them with tests/conformance/tasks-unsatisfiable.txt: prints each
scenario's count, every check that failed, and exits 1 if a check failed
that is not listed as one no Gradio-backed server can satisfy. A SHOULD
that is not met (the suite's WARNING) counts as a failure.

With --scenarios LIST, every scenario of LIST must have written its
checks: one that wrote none (it crashed, or the suite no longer knows it,
which --known, the output of `conformance list`, tells) fails the run, with
the tail of its output (--outputs DIR holds SCENARIO.out)."""

import argparse
import json
import pathlib
import re
import sys

parser = argparse.ArgumentParser()
parser.add_argument("out", type=pathlib.Path)
parser.add_argument("unsatisfiable", type=pathlib.Path)
parser.add_argument("--scenarios", type=pathlib.Path)
parser.add_argument("--known", type=pathlib.Path)
parser.add_argument("--outputs", type=pathlib.Path)
args = parser.parse_args()
out, listed = args.out, args.unsatisfiable
unsatisfiable = {}
for line in listed.read_text().splitlines():
    if line.strip() and not line.startswith("#"):
        check, _, why = line.partition(" ")
        unsatisfiable[check] = why.strip()

unexpected, now_passing, total, passed = [], [], 0, 0
reported = set()
for path in sorted(out.glob("*/checks.json")):
    # The folder is the scenario's name and a timestamp (2026-12-07T22-00-36-203Z).
    scenario = re.sub(r"-\d{4}-\d{2}-\d{2}T.*$", "", path.parent.name.removeprefix("server-"))
    reported.add(scenario)
    checks = [c for c in json.loads(path.read_text()) if c.get("status") in ("SUCCESS", "FAILURE", "WARNING")]
    ok = [c for c in checks if c["status"] == "SUCCESS"]
    total += len(checks)
    passed += len(ok)
    print(f"conformance 0.2, app tools, {scenario}: {len(ok)}/{len(checks)}")
    for c in checks:
        if c["status"] != "SUCCESS":
            why = unsatisfiable.get(c["id"])
            if why:
                print(f"  {c['id']}: failed, as expected ({why})")
            else:
                print(f"  {c['id']}: FAILED: {c.get('errorMessage', '')}")
                unexpected.append(c["id"])
        elif c["id"] in unsatisfiable:
            now_passing.append(c["id"])
print(f"conformance 0.2, app tools: {passed}/{total} checks passed; {len(unsatisfiable)} cannot pass with Gradio-backed tools")
if now_passing:
    print(f"  listed as unsatisfiable but passing now (update the list): {', '.join(now_passing)}")
if total == 0:
    print("  no checks were run")
silent = []
if args.scenarios:
    known = None
    if args.known and args.known.exists():
        known = set(re.findall(r"^\s*-\s*(\S+)", args.known.read_text(), flags=re.M))
    for line in args.scenarios.read_text().splitlines():
        scenario = line.strip()
        if not scenario or scenario.startswith("#"):
            continue
        # The suite names a folder `server-<scenario>-<time>`, whatever the scenario's own name.
        if scenario in reported or scenario.removeprefix("server-") in reported:
            continue
        silent.append(scenario)
        if known is not None and scenario not in known:
            print(f"  {scenario}: FAILED: the suite no longer knows this scenario (not in `conformance list`)")
        else:
            print(f"  {scenario}: FAILED: it wrote no checks (the scenario crashed); its output ends:")
            log = args.outputs / f"{scenario}.out" if args.outputs else None
            if log and log.exists():
                for tail in log.read_text(errors="replace").splitlines()[-15:]:
                    print(f"    {tail}")
sys.exit(1 if unexpected or silent or total == 0 else 0)
