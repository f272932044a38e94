#!/usr/bin/env python3
"""A stand-in `oc` for running the `render -o oc` scripts: the subset of oc they use, on a JSON state file.

State: $FAKE_OC_STATE (a JSON file). Every call is appended to $FAKE_OC_STATE.log. $FAKE_OC_FAIL names a
fragment of a command line that fails (exit 1), to test what a script does after a failure. It behaves as
oc does where the scripts depend on it: `replace` of a missing object fails, `create` of an existing one
fails, `rollout pause` of a paused DeploymentConfig fails, and so does `rollout resume` of a running one;
`apply` of a claim whose access modes or class differ from the live one's fails (the spec is immutable), and
`get pvc NAME --ignore-not-found -o jsonpath=...` answers the scripts' one query (modes|class|phase|volume).
"""

from __future__ import annotations

import base64
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml


def main(argv: list[str]) -> int:
    state_path = Path(os.environ["FAKE_OC_STATE"])
    state: dict[str, Any] = json.loads(state_path.read_text()) if state_path.exists() else {}
    with open(f"{state_path}.log", "a") as log:
        log.write(" ".join(argv) + "\n")
    if os.environ.get("FAKE_OC_FAIL") and os.environ["FAKE_OC_FAIL"] in " ".join(argv):
        print("error: injected failure", file=sys.stderr)
        return 1
    args = list(argv)
    ns = "default"
    if args[:1] == ["-n"]:
        ns, args = args[1], args[2:]
    code = run(state, ns, args)
    state_path.write_text(json.dumps(state, sort_keys=True, indent=1))
    return code


def opt(args: list[str], name: str) -> str | None:
    for i, a in enumerate(args):
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
        if a == name and i + 1 < len(args):
            return args[i + 1]
    return None


def run(state: dict[str, Any], ns: str, args: list[str]) -> int:
    objects: dict[str, Any] = state.setdefault("objects", {})
    dc = state.setdefault("dc", {"paused": False, "volumes": {}, "env": {}, "spec": {}})
    verb = args[0]
    if verb == "create" and args[1:3] == ["secret", "generic"]:
        assert "--dry-run" in args or "--dry-run=client" in args, args
        data: dict[str, str] = {}
        for a in args:
            if a.startswith("--from-literal="):
                k, v = a.split("=", 2)[1:]
                data[k] = base64.b64encode(v.encode()).decode()
            elif a.startswith("--from-file="):
                k, path = a.split("=", 2)[1:]
                raw = sys.stdin.buffer.read() if path == "/dev/stdin" else Path(path).read_bytes()
                data[k] = base64.b64encode(raw).decode()
        meta = {"name": args[3], "namespace": ns}
        print(yaml.safe_dump({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "data": data}))
        return 0
    if verb in ("create", "replace", "apply") and opt(args, "-f") == "-":
        obj = yaml.safe_load(sys.stdin.read())
        key = f"{obj['kind']}/{ns}/{obj['metadata']['name']}"
        if verb == "replace" and key not in objects:
            print(f"Error from server (NotFound): {key} not found", file=sys.stderr)
            return 1
        if verb == "create" and key in objects:
            print(f"Error from server (AlreadyExists): {key} already exists", file=sys.stderr)
            return 1
        live = objects.get(key)
        if obj["kind"] == "PersistentVolumeClaim" and live is not None:
            fields = ("accessModes", "storageClassName")
            if any(live["spec"].get(f) != obj["spec"].get(f) for f in fields):
                print(f"The PersistentVolumeClaim {key} is invalid: spec: Forbidden: spec is immutable after "
                      "creation except resources.requests", file=sys.stderr)  # fmt: skip
                return 1
            if "status" in live:
                obj = {**obj, "status": live["status"]}
        objects[key] = obj
        return 0
    if verb == "get" and args[1] == "pvc":
        claim = objects.get(f"PersistentVolumeClaim/{ns}/{args[2]}")
        assert "--ignore-not-found" in args, args
        if claim is not None:
            spec, status = claim["spec"], claim.get("status") or {}
            modes = "".join(f"{m} " for m in spec.get("accessModes") or [])
            print(f"{modes}|{spec.get('storageClassName') or ''}|{status.get('phase', 'Pending')}|"
                  f"{spec.get('volumeName') or ''}", end="")  # fmt: skip
        return 0
    if verb == "delete" and args[1] == "pvc":
        if objects.pop(f"PersistentVolumeClaim/{ns}/{args[2]}", None) is None:
            print(f"Error from server (NotFound): {args[2]} not found", file=sys.stderr)
            return 1
        return 0
    if verb == "patch" and args[1].startswith("configs.imageregistry"):
        merge(state.setdefault("config", {}), json.loads(opt(args, "-p") or "{}"))
        return 0
    if verb == "patch" and args[1] == "dc/docker-registry":
        for op in json.loads(opt(args, "-p") or "[]"):
            assert op["op"] == "replace", op
            dc["spec"][op["path"].rsplit("/", 1)[1]] = op["value"]
        return 0
    if verb == "get" and args[1] == "dc/docker-registry":
        print("true" if dc["paused"] else "", end="")
        return 0
    if verb == "rollout" and args[1] in ("pause", "resume"):
        want = args[1] == "pause"
        if dc["paused"] == want:
            print(f"error: dc/docker-registry is {'already' if want else 'not'} paused", file=sys.stderr)
            return 1
        dc["paused"] = want
        return 0
    if verb == "set" and args[1] == "volume":
        dc["volumes"][opt(args, "--name") or ""] = {
            "type": opt(args, "-t"), "claim": opt(args, "--claim-name"), "secret": opt(args, "--secret-name"),
            "mount": opt(args, "-m"),
        }  # fmt: skip
        return 0
    if verb == "set" and args[1] == "env":
        for a in args[3:]:
            if a.endswith("-") and "=" not in a:
                dc["env"].pop(a[:-1], None)
            else:
                k, v = a.split("=", 1)
                dc["env"][k] = v
        return 0
    print(f"fake oc: unsupported: {' '.join(args)}", file=sys.stderr)
    return 2


def merge(into: dict[str, Any], patch: dict[str, Any]) -> None:
    for k, v in patch.items():
        if v is None:
            into.pop(k, None)
        elif isinstance(v, dict):  # RFC 7386: a map merges into a map (a new one when absent)
            if not isinstance(into.get(k), dict):
                into[k] = {}
            merge(into[k], v)
        else:
            into[k] = v


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
