"""Rendered objects -> text: multi-document YAML, a JSON ``List``, ``oc`` commands, or an out-dir for GitOps.

Everything here returns strings (or writes the out-dir files it is asked for); the CLI prints. Output is
byte-stable: objects in ``model.sort_key`` order, keys in canonical order (``yamlio``).

``-o oc`` is the same change as the commands a person would type. Secret values are never printed there:
the commands reference the SOURCES (``"$AWS_ACCESS_KEY_ID"``, ``--from-file=PATH``), so the text can be
pasted into a ticket. To build the ocp3 ``config.yml`` without the secrets, the profile is rendered again
with placeholder secrets that are then replaced by shell expansions of their sources.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from regplan import userfiles, yamlio
from regplan.errors import InvalidInput
from regplan.model import REGISTRY_NAMESPACE, Obj, Target
from regplan.render import CONFIG_MOUNT, CONFIG_SECRET, Rendered
from regplan.values import SecretValue, Values

FORMATS = ("yaml", "json", "oc")
OCP4_CONFIG = "configs.imageregistry.operator.openshift.io/cluster"
OCP3_DC = "dc/docker-registry"
# Secret key in the ocp4 user secret <- value key of the secret input.
OCP4_SECRET_KEYS: dict[str, str] = {
    "s3.accessKey": "REGISTRY_STORAGE_S3_ACCESSKEY",
    "s3.secretKey": "REGISTRY_STORAGE_S3_SECRETKEY",
}
_OUT_FILE = re.compile(r"^[0-9]{2}-[a-z]+-[a-z0-9.-]+\.yaml$")


# The partial DeploymentConfig relies on a strategic merge (lists merged by name), which `oc apply` does for
# the DeploymentConfigs it knows; a client that does not know the type (kubectl) sends a JSON merge patch,
# which REPLACES the lists: volumes such as registry-certificates and the container's image would be lost.
# Measured with kubectl against the test control plane's DeploymentConfig CRD (docs in the README).
DC_NOTE = (
    "# The DeploymentConfig below is PARTIAL (what regplan owns): apply it with `oc apply`, which merges\n"
    "# volumes, containers and env by name; kubectl would replace those lists. Or use `regplan apply`.\n"
)


def _dc_note(objects: list[Obj]) -> str:
    return DC_NOTE if any(o.get("kind") == "DeploymentConfig" for o in objects) else ""


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(f"--output {fmt!r}: valid for render: {', '.join(FORMATS)}")


def format_rendered(rendered: Rendered, fmt: str) -> str:
    """The rendered objects as ``yaml`` (multi-document), ``json`` (a List) or ``oc`` (commands)."""
    if fmt == "yaml":
        return _dc_note(rendered.objects) + yamlio.dump_all(rendered.objects)
    if fmt == "json":
        doc = {"apiVersion": "v1", "kind": "List", "items": rendered.objects}
        return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    check_format(fmt)
    return oc_commands(rendered)


def file_name(index: int, obj: Obj) -> str:
    return f"{index:02d}-{str(obj['kind']).lower()}-{obj['metadata']['name']}.yaml"


KUSTOMIZATION = "kustomization.yaml"


def dir_files(rendered: Rendered) -> list[tuple[str, str, bool]]:
    """What ``write_dir`` writes, as (file name, text, holds a secret): one file per object, then
    ``kustomization.yaml`` listing them. Pure: the fleet's rendered tree and ``golden --check`` use it."""
    names = [file_name(i, obj) for i, obj in enumerate(rendered.objects, start=1)]
    files = [
        (name, _dc_note([obj]) + yamlio.dump(obj), obj["kind"] == "Secret")
        for name, obj in zip(names, rendered.objects, strict=True)
    ]
    files.append((KUSTOMIZATION, kustomization_text(names), False))
    return files


def kustomization_text(names: list[str]) -> str:
    doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": names}
    return yamlio.dump(doc)


def owned_files(kustomization: bytes | None) -> list[str] | None:
    """The files regplan wrote in a directory, from the ``kustomization.yaml`` there: its ``resources``
    when the file is exactly what regplan writes for them (every name of regplan's ``NN-kind-name.yaml``
    form); None when the file is absent or was written by someone else (then nothing there is regplan's
    to remove). This is regplan's record of what it wrote: no other file is ever removed."""
    if kustomization is None:
        return None
    try:
        text = kustomization.decode("utf-8")
        docs = yamlio.load_all_safe(text, KUSTOMIZATION)
    except (UnicodeDecodeError, InvalidInput):
        return None
    doc = docs[0] if len(docs) == 1 else None
    names = doc.get("resources") if isinstance(doc, dict) else None
    if not isinstance(names, list) or not all(isinstance(n, str) and _OUT_FILE.fullmatch(n) for n in names):
        return None
    return list(names) if kustomization_text(list(names)) == text else None


def stage_dir(changes: userfiles.Changes, rel_dir: str, files: list[tuple[str, str, bool]]) -> None:
    """Add one rendered directory to ``changes``: its files, and the removal of the files regplan wrote
    there before (``owned_files``) that are no longer rendered. Nothing else in the directory is touched."""
    before = owned_files(changes.root.read(f"{rel_dir}/{KUSTOMIZATION}", what=KUSTOMIZATION))
    names = {name for name, _, _ in files}
    for name, text, secret in files:
        changes.write(f"{rel_dir}/{name}", text, secret=secret)
    for name in before or []:
        if name not in names:
            changes.remove(f"{rel_dir}/{name}")


def write_dir(rendered: Rendered, out_dir: Path, *, fmt: str = "yaml") -> list[Path]:
    """One file per object plus ``kustomization.yaml`` listing them, ready for a GitOps tool.

    Only YAML: any other ``fmt`` is refused (``-o oc`` holds commands, not manifests). Files regplan
    wrote there before (listed in the ``kustomization.yaml`` it wrote) that are no longer rendered are
    removed, so regplan's files are exactly the rendered state; other files are left alone. Secret files
    are created readable by their owner only (they hold the keys).

    Through the file layer (``userfiles``): no symlink is followed at or under ``out_dir`` (nor anywhere
    in a relative path), and nothing is half-written: every file is written beside its destination first
    and renamed into place only when all were written. An error (exit 3) names the file.
    """
    if fmt != "yaml":
        raise InvalidInput(f"--out-dir writes YAML manifests; -o {fmt} cannot be combined with it")
    try:
        root, rel = userfiles.Root.for_path(out_dir)
        changes = userfiles.Changes(root)
        files = dir_files(rendered)
        stage_dir(changes, rel, files)
        changes.commit()
    except InvalidInput as err:
        raise InvalidInput(f"--out-dir: {err}") from None
    return [out_dir / name for name, _, _ in files]


STAGING_PREFIX = userfiles.TEMP_PREFIX


# --- oc commands --------------------------------------------------------------------------------------


# `oc create --dry-run`: 3.11's oc takes a boolean flag, 4.x's oc (kubectl >= 1.18) wants =client.
DRY_RUN_FLAG: dict[Target, str] = {Target.OCP4: "--dry-run=client", Target.OCP3: "--dry-run"}


def _source_path(ref: str) -> str:
    """A ``file:`` source as an absolute path: the script may run in another directory than render did."""
    return str(Path(ref).expanduser().resolve())


def _shell_ref(secret: SecretValue) -> str:
    """A shell expansion that yields the secret from its source (double-quote safe)."""
    kind, _, ref = secret.source.partition(":")
    if kind == "env":
        return "${" + ref + "}"
    return f"$(cat {shlex.quote(_source_path(ref))})"


def _heredoc(text: str, *, expand: bool) -> str:
    """A here-document; ``expand``: the text was escaped by the caller and holds expansions to run."""
    return f"<<EOF\n{text}EOF" if expand else f"<<'EOF'\n{text}EOF"


def _secret_lines(
    ns: str, name: str, create_args: list[str], *, target: Target, stdin: str = ""
) -> list[str]:
    """Create or replace a Secret, runnable twice: render it with ``create --dry-run -o yaml`` into a shell
    variable, then ``replace`` it (or ``create`` it the first time). Not ``oc apply``: that would keep the
    Secret's values in its last-applied-configuration annotation."""
    nsq = shlex.quote(ns)
    args = " \\\n  ".join(create_args)
    create = f"secret_yaml=$(oc -n {nsq} create secret generic {name} {DRY_RUN_FLAG[target]} -o yaml \\"
    body = [f"  {args} {stdin}", ")"] if stdin else [f"  {args})"]
    return [
        create,
        *body,
        f"printf '%s\\n' \"$secret_yaml\" | oc -n {nsq} replace -f - 2>/dev/null \\",
        f"  || printf '%s\\n' \"$secret_yaml\" | oc -n {nsq} create -f -",
        "unset secret_yaml",
    ]


def oc_commands(rendered: Rendered) -> str:
    ns = REGISTRY_NAMESPACE[rendered.target]
    lines = [
        "#!/usr/bin/env bash",
        f"# regplan render -p {rendered.profile} --target {rendered.target.value} -o oc",
        "# The same change as oc commands, in order; safe to run again. Secret values come from their",
        "# sources, never this text. Needs oc logged in to the cluster"
        + (" (oc 3.11 or later)." if rendered.target is Target.OCP3 else " (oc 4.x)."),
        "set -euo pipefail",
        "",
    ]
    if rendered.target is Target.OCP4:
        lines += _ocp4(rendered, ns)
    else:
        lines += _ocp3(rendered, ns)
    return "\n".join(lines).rstrip("\n") + "\n"


def _by_kind(rendered: Rendered, kind: str) -> list[Obj]:
    return [o for o in rendered.objects if o["kind"] == kind]


def _pvc_lines(rendered: Rendered, ns: str) -> list[str]:
    out = []
    for pvc in _by_kind(rendered, "PersistentVolumeClaim"):
        out += [
            f"# PersistentVolumeClaim {pvc['metadata']['name']} (its spec is immutable once bound)",
            f"oc -n {shlex.quote(ns)} apply -f - {_heredoc(yamlio.dump(pvc), expand=False)}",
            "",
        ]
    return out


def _ocp4(rendered: Rendered, ns: str) -> list[str]:
    out: list[str] = []
    secrets = rendered.values.secrets
    if _by_kind(rendered, "Secret") and secrets:
        args = []
        for key, data_key in OCP4_SECRET_KEYS.items():
            kind, _, ref = secrets[key].source.partition(":")
            if kind == "env":
                args.append(f'--from-literal={data_key}="${ref}"')
            else:
                args.append(shlex.quote(f"--from-file={data_key}={_source_path(ref)}"))
        out += [
            "# S3 credentials for the operator (both keys or none: docs/domain.md)",
            *_secret_lines(ns, "image-registry-private-configuration-user", args, target=Target.OCP4),
            "",
        ]
    out += _pvc_lines(rendered, ns)
    for cfg in _by_kind(rendered, "Config"):
        patch = {"spec": cfg["spec"]}
        out += [
            "# The operator config: the new backend, every other backend removed (null)",
            f"oc patch {OCP4_CONFIG} --type=merge -p "
            + shlex.quote(json.dumps(patch, sort_keys=True, separators=(",", ":"))),
            "",
        ]
    return out


def _ocp3(rendered: Rendered, ns: str) -> list[str]:
    out: list[str] = []
    nsq = shlex.quote(ns)
    secret_obj = next(iter(_by_kind(rendered, "Secret")), None)
    if secret_obj is not None:
        config_text, expand = _config_without_secrets(rendered)
        out += [
            f"# Secret {CONFIG_SECRET}: the registry config.yml (one storage driver, auth.openshift kept)",
            *_secret_lines(
                ns,
                CONFIG_SECRET,
                ["--from-file=config.yml=/dev/stdin"],
                target=Target.OCP3,
                stdin=_heredoc(config_text, expand=expand),
            ),
            "",
        ]
    out += _pvc_lines(rendered, ns)
    dc = next(iter(_by_kind(rendered, "DeploymentConfig")))
    pod = dc["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    container = pod["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    out += [
        "# Pause rollouts so the volume and env changes roll out once. The EXIT trap resumes them whether",
        "# the script ends well or not (a failure part-way must not leave the registry paused); a DC that",
        "# was already paused is left as it was found.",
        "paused_here=",
        f'resume() {{ if [ -n "$paused_here" ]; then oc -n {nsq} rollout resume {OCP3_DC}; fi; }}',
        "trap resume EXIT",
        f"if [ \"$(oc -n {nsq} get {OCP3_DC} -o jsonpath='{{.spec.paused}}')\" != true ]; then",
        f"  oc -n {nsq} rollout pause {OCP3_DC}",
        "  paused_here=1",
        "else",
        f"  echo 'note: {OCP3_DC} was already paused; it stays paused (oc rollout resume to roll out)' >&2",
        "fi",
        "",
    ]
    for name, vol in volumes.items():
        if "persistentVolumeClaim" in vol:
            kind_args = f"-t pvc --claim-name={shlex.quote(vol['persistentVolumeClaim']['claimName'])}"
        else:
            kind_args = f"-t secret --secret-name={shlex.quote(vol['secret']['secretName'])}"
        out.append(
            f"oc -n {nsq} set volume {OCP3_DC} --add --name={shlex.quote(name)} {kind_args} "
            f"-m {shlex.quote(mounts[name])} --overwrite"
        )
    env = [f"{e['name']}={e['value']}" for e in container.get("env", [])]
    set_names = {e["name"] for e in container.get("env", [])}
    removals = [
        f"{n}-" for n in ("REGISTRY_STORAGE", "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS") if n not in set_names
    ]
    out += [
        "",
        "# Env: point the registry at the mounted config; drop overrides of its storage section",
        f"oc -n {nsq} set env {OCP3_DC} " + " ".join(shlex.quote(a) for a in env + removals),
        f"# Check no other REGISTRY_STORAGE_* override is left: oc -n {ns} set env {OCP3_DC} --list",
        "",
        "# Replicas and strategy (replacing the strategy drops the old one's parameters)",
        f"oc -n {nsq} patch {OCP3_DC} --type=json -p "
        + shlex.quote(
            json.dumps(
                [
                    {"op": "replace", "path": "/spec/replicas", "value": dc["spec"]["replicas"]},
                    {"op": "replace", "path": "/spec/strategy", "value": dc["spec"]["strategy"]},
                ],
                separators=(",", ":"),
            )
        ),
        "",
        f"# The trap resumes the rollout (config mounted at {CONFIG_MOUNT}); watch it:",
        f"#   oc -n {ns} rollout status {OCP3_DC}",
    ]
    return out


def _config_without_secrets(rendered: Rendered) -> tuple[str, bool]:
    """config.yml with each secret replaced by a shell expansion of its source; (text, needs expansion)."""
    import base64

    from regplan import render as render_mod

    secrets = rendered.values.secrets
    tokens = {f"REGPLANSECRETPLACEHOLDER{i}": s for i, s in enumerate(secrets.values())}
    v = rendered.values
    placeholder_values = Values(
        v.profile,
        v.data,
        v.origins,
        {s.key: SecretValue(s.key, s.source, tok) for tok, s in tokens.items()},
        v.targets,
    )
    again = render_mod.render(placeholder_values, rendered.target)
    secret = next(o for o in again.objects if o["kind"] == "Secret")
    text = base64.b64decode(secret["data"]["config.yml"]).decode()
    expand = bool(tokens)
    if expand:
        # escape first (the heredoc expands), then put the references in: they must expand
        text = text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")
        for tok, s in tokens.items():
            text = text.replace(tok, '"' + _shell_ref(s) + '"')
    return text, expand
