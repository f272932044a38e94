"""Rendered objects -> text: multi-document YAML, a JSON ``List``, ``oc`` commands, or an out-dir for GitOps.

Everything here returns strings (or writes the out-dir files it is asked for); the CLI prints. Output is
byte-stable: objects in ``model.sort_key`` order, keys in canonical order (``yamlio``).

``-o oc`` is the same change as the commands a person would type. Secret values are never printed there:
the script names the SOURCES (``env:AWS_ACCESS_KEY_ID``, ``file:PATH``) and reads them at run time the way
render does (one line ending stripped, anything else refused) into files of a private temporary
directory, never onto a command line (``ps`` would show it), so the text can be pasted into a ticket. To
build the ocp3 ``config.yml`` without the secrets, the profile is rendered again with placeholder secrets
that are then replaced by the script's YAML-escaped copies of the key files.

A claim's access modes and class cannot change once it exists, and render has no cluster to look at: the
script checks the live claim before it writes anything and stops (exit 6, nothing changed) when the claim
would have to be replaced, unless ``REGPLAN_ALLOW_REPLACE=1`` (the script's ``--allow-replace``) is set; it
says whether data is lost (a bound claim) or none exists (one that never bound).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from regplan.base import escape, lazyre, userfiles, yamlio
from regplan.base.errors import InvalidInput
from regplan.base.model import REGISTRY_NAMESPACE, Obj, Target
from regplan.core.render import CONFIG_MOUNT, CONFIG_SECRET, Rendered
from regplan.core.values import SecretValue, Values

FORMATS = ("yaml", "json", "oc")
OCP4_CONFIG = "configs.imageregistry.operator.openshift.io/cluster"
OCP3_DC = "dc/docker-registry"
# Secret key in the ocp4 user secret <- value key of the secret input.
OCP4_SECRET_KEYS: dict[str, str] = {
    "s3.accessKey": "REGISTRY_STORAGE_S3_ACCESSKEY",
    "s3.secretKey": "REGISTRY_STORAGE_S3_SECRETKEY",
}
_OUT_FILE = lazyre.Pattern(r"^[0-9]{2}-[a-z]+-[a-z0-9.-]+\.yaml$")


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
        raise InvalidInput(f"--output {escape.quoted(fmt)}: valid for render: {', '.join(FORMATS)}")


def format_rendered(rendered: Rendered, fmt: str, *, inputs: Sequence[str] = ()) -> str:
    """The rendered objects as ``yaml`` (multi-document), ``json`` (a List) or ``oc`` (commands; its
    header names the ``inputs``, the ``-f``/``--set`` words from ``normalize.input_words``)."""
    if fmt == "yaml":
        return _dc_note(rendered.objects) + yamlio.dump_all(rendered.objects)
    if fmt == "json":
        doc = {"apiVersion": "v1", "kind": "List", "items": rendered.objects}
        return json.dumps(doc, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    check_format(fmt)
    return oc_commands(rendered, inputs=inputs)


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
    form); None when the file is absent, cut short, or was written by someone else (then nothing there is
    regplan's to remove). This is regplan's record of what it wrote: no other file is ever removed."""
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
    # cut after the bound: a larger file is not regplan's record (owned_files compares it whole)
    before = owned_files(changes.root.read(f"{rel_dir}/{KUSTOMIZATION}", what=KUSTOMIZATION, larger="cut"))
    names = {name for name, _, _ in files}
    ours = {*(before or []), *([KUSTOMIZATION] if before is not None else [])}
    for name, text, secret in files:
        _check_overwrite(changes.root, f"{rel_dir}/{name}", text, ours=name in ours)
        changes.write(f"{rel_dir}/{name}", text, secret=secret)
    for name in before or []:
        if name not in names:
            changes.remove(f"{rel_dir}/{name}")


def _check_overwrite(root: userfiles.Root, rel: str, text: str, *, ours: bool) -> None:
    """Refuse to replace a file regplan did not write: one its own ``kustomization.yaml`` there does not
    record (a hand-written ``kustomization.yaml`` of an overlay, a file of the same name), unless it
    already holds exactly what regplan writes. Raised while staging: nothing is written."""
    if ours:
        return
    existing = root.read(rel, what="file", larger="cut")
    if existing is not None and existing != text.encode("utf-8"):
        raise userfiles.FileRefused(
            f"{root.show(rel)}: not written by regplan (its {KUSTOMIZATION} there does not list it, or was "
            "edited), and regplan replaces only its own files: move it away or render into another directory"
        )


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
#
# Every value spliced into a script goes through escape.shell_word (one printable shell word) or
# escape.shell_name (a variable name), and every comment through escape.comment: no value can add a
# command or a line. Secret values never appear: the script reads them from their sources at run time.


# `oc create --dry-run`: 3.11's oc takes a boolean flag, 4.x's oc (kubectl >= 1.18) wants =client.
DRY_RUN_FLAG: dict[Target, str] = {Target.OCP4: "--dry-run=client", Target.OCP3: "--dry-run"}
KEY_DIR = "keydir"  # the script's variable holding its private temporary directory for the keys
ALLOW_REPLACE = "REGPLAN_ALLOW_REPLACE"  # the script's --allow-replace


def _source_path(ref: str) -> str:
    """A ``file:`` source as an absolute path: the script may run in another directory than render did."""
    return str(Path(ref).expanduser().resolve())


def _key_file(secret: SecretValue) -> str:
    """The file (in the script's key directory) that holds one key: its value key's last part."""
    return secret.key.rsplit(".", 1)[-1]


def _source_word(secret: SecretValue) -> str:
    """The source as the script's ``regplan_key`` takes it: ``env:NAME`` or ``file:/absolute/path``."""
    kind, _, ref = secret.source.partition(":")
    if kind == "env":
        return escape.shell_word("env:" + escape.shell_name(ref, what=f"{secret.key}From"))
    return escape.shell_word("file:" + _source_path(ref))


def header(rendered: Rendered, fmt: str, inputs: Sequence[str]) -> str:
    """The command line the text was rendered from, as one comment line (``inputs``: the ``-f``/``--set``
    words, secret-looking ``--set`` values already hidden by ``normalize.input_words``)."""
    words = ["regplan", "render", "-p", rendered.profile, "--target", rendered.target.value, "-o", fmt]
    return "# " + escape.comment(escape.shell_words([*words, *inputs]))


def _heredoc(text: str, *, expand: bool) -> str:
    """A here-document; ``expand``: the text was escaped by the caller and holds expansions to run. Its
    delimiter is no line of ``text`` (else that line would end the document and the rest run as commands)."""
    lines = set(text.splitlines())
    delimiter = next(d for d in ("EOF", *(f"EOF_{i}" for i in range(1, len(lines) + 2))) if d not in lines)
    return f"<<{delimiter}\n{text}{delimiter}" if expand else f"<<'{delimiter}'\n{text}{delimiter}"


def _secret_lines(
    ns: str, name: str, create_args: list[str], *, target: Target, stdin: str = ""
) -> list[str]:
    """Create or replace a Secret, runnable twice: render it with ``create --dry-run -o yaml`` into a shell
    variable, then ``replace`` it (or ``create`` it the first time). Not ``oc apply``: that would keep the
    Secret's values in its last-applied-configuration annotation."""
    nsq = escape.shell_word(ns)
    args = " \\\n  ".join(create_args)
    create = (
        f"secret_yaml=$(oc -n {nsq} create secret generic {escape.shell_word(name)} "
        f"{DRY_RUN_FLAG[target]} -o yaml \\"
    )
    body = [f"  {args} {stdin}", ")"] if stdin else [f"  {args})"]
    return [
        create,
        *body,
        f"printf '%s\\n' \"$secret_yaml\" | oc -n {nsq} replace -f - 2>/dev/null \\",
        f"  || printf '%s\\n' \"$secret_yaml\" | oc -n {nsq} create -f -",
        "unset secret_yaml",
    ]


# The shell functions a script uses, each defined only when needed. They print regplan's errors and exit
# with its codes: 3 (invalid input: a key source), 4 (the cluster: a claim unreadable or held), 6 (a
# replace not allowed).
FAIL_FN = [
    'regplan_fail() { local code=$1; shift; printf \'regplan script: %s\\n\' "$*" >&2; exit "$code"; }',
]
# Reads a key as `regplan render` does (docs/values.md, "Secret inputs"): a file may end with ONE line
# ending (\n or \r\n), which is not part of the key; anything else that is not printable text on one line
# (a second line, a carriage return, a tab, NUL, DEL, C1, U+2028/U+2029), blanks around it, an empty key
# or a file over 64 KiB is refused. The key goes into a file of the private key directory (0600 under
# umask 077), never onto a command line: `ps` shows command lines, a builtin's arguments never reach it.
KEY_FN = [
    "regplan_key() {  # FILE SOURCE: the key from SOURCE (env:NAME or file:PATH) into $keydir/FILE",
    '  local LC_ALL=C out="$keydir/$1" kind=${2%%:*} ref=${2#*:} key size',
    '  if [ "$kind" = env ]; then',
    '    [ -n "${!ref+set}" ] || regplan_fail 3 "$2: the environment variable is not set"',
    "    key=${!ref}",
    "  else",
    '    { [ -f "$ref" ] && [ -r "$ref" ]; } || regplan_fail 3 "$2: not a readable file"',
    '    size=$(( $(wc -c < "$ref") ))',
    '    [ "$size" -le 65536 ] || regplan_fail 3 "$2: larger than 64 KiB: not a key"',
    '    { key=$(cat -- "$ref"; printf x); } 2>/dev/null && key=${key%x}  # a NUL: bash warns, checked next',
    '    [ "${#key}" -eq "$size" ] || regplan_fail 3 "the key in $2 contains a NUL character"',
    "    case $key in *$'\\r\\n') key=${key%$'\\r\\n'} ;; *$'\\n') key=${key%$'\\n'} ;; esac",
    "  fi",
    '  [ -n "$key" ] || regplan_fail 3 "$2 is empty: it must hold the key"',
    "  local ctl=$'[\\001-\\037\\177]' c1=$'\\302[\\200-\\237]' sep=$'\\342\\200[\\250\\251]'",
    "  case $key in",
    "    *$ctl* | *$c1* | *$sep*)",
    '      regplan_fail 3 "the key in $2 contains a line break or control character" ;;',
    '    [[:space:]]* | *[[:space:]]) regplan_fail 3 "the key in $2 has blanks before or after the key" ;;',
    "  esac",
    '  printf \'%s\' "$key" > "$out"',
    "}",
]
# A key file's content as a YAML double-quoted string's inside: `\` and `"` escaped (the key is checked
# printable one-line text, so nothing else needs it); sed reads the file, the key is on no command line.
YAML_KEY_FN = ['regplan_yaml_key() { sed -e \'s/[\\\\"]/\\\\&/g\' "$keydir/$1"; }']
# The live claim's immutable fields, before anything is written (render has no cluster access): "create"
# (no claim), "keep" (the same access modes and class), or "replace" when REGPLAN_ALLOW_REPLACE=1 allows
# it; else the script stops with exit 6 and says why, having changed nothing. It runs in a command
# substitution, where `set -e` does not reach: every failure exits explicitly (4: the claim unreadable).
CLAIM_FN = [
    "regplan_claim() {  # NAMESPACE NAME MODES CLASS: create | keep | replace (stops with 6 unless allowed)",
    "  local live modes class phase volume",
    '  live=$(oc -n "$1" get pvc "$2" --ignore-not-found \\',
    '    -o jsonpath=\'{range .spec.accessModes[*]}{@}{" "}{end}|{.spec.storageClassName}|{.status.phase}|'
    "{.spec.volumeName}') || regplan_fail 4 \"cannot read claim $1/$2 (see oc's message above)\"",
    '  if [ -z "$live" ]; then echo create; return; fi',
    "  IFS='|' read -r modes class phase volume <<<\"$live\"",
    "  modes=${modes% }",
    '  if [ "$modes" = "$3" ] && { [ "$4" = \'-\' ] || [ "$class" = "$4" ]; }; then echo keep; return; fi',
    '  local what="claim $1/$2 is $modes${class:+ of class $class}; this profile wants $3"',
    '  [ "$4" = \'-\' ] || what="$what of class ${4:-(none)}"',
    '  what="$what: access modes and class cannot change on a claim, it must be deleted and created again"',
    "  local data",
    '  if [ "$phase" = Pending ] && [ -z "$volume" ]; then',
    "    data='it never bound (Pending, no volume): no data exists on it'",
    "  else",
    '    data="DESTRUCTIVE: it is $phase${volume:+ on volume $volume}: the images on it are lost unless \\',
    'copied first (docs/migrating-data.md)"',
    "  fi",
    f'  if [ "${{{ALLOW_REPLACE}:-}}" != 1 ]; then',
    '    regplan_fail 6 "$what; $data. Nothing was changed. To replace it, run again with \\',
    f'{ALLOW_REPLACE}=1"',
    "  fi",
    f'  printf \'regplan script: %s; %s. Replacing it (%s=1).\\n\' "$what" "$data" {ALLOW_REPLACE} >&2',
    "  echo replace",
    "}",
]


def oc_commands(rendered: Rendered, *, inputs: Sequence[str] = ()) -> str:
    """The ``oc`` script of ``rendered``; ``inputs``: the ``-f``/``--set`` words shown in its header."""
    ns = REGISTRY_NAMESPACE[rendered.target]
    secrets = _script_secrets(rendered)
    claims = _by_kind(rendered, "PersistentVolumeClaim")
    ocp3 = rendered.target is Target.OCP3
    lines = [
        "#!/usr/bin/env bash",
        header(rendered, "oc", inputs),
        "# The same change as oc commands, in order; safe to run again. Secret values come from their",
        "# sources, never this text. Needs oc logged in to the cluster"
        + (" (oc 3.11 or later)." if ocp3 else " (oc 4.x)."),
        "set -euo pipefail",
        "",
    ]
    functions = FAIL_FN if (secrets or claims) else []
    if secrets:
        functions = [*functions, *KEY_FN, *(YAML_KEY_FN if ocp3 else [])]
    if claims:
        functions = [*functions, *CLAIM_FN]
    lines += functions + ([""] if functions else [])
    lines += _cleanup_lines(ns, secrets=bool(secrets), ocp3=ocp3)
    if secrets:
        lines += [
            "# The S3 keys, read from their sources into files only this user can read (removed on exit)",
            *[f"regplan_key {_key_file(s)} {_source_word(s)}" for s in secrets],
            "",
        ]
    for index, pvc in enumerate(claims):
        lines += _claim_check_lines(pvc, ns, index)
    if rendered.target is Target.OCP4:
        lines += _ocp4(rendered, ns, secrets)
    else:
        lines += _ocp3(rendered, ns)
    return "\n".join(lines).rstrip("\n") + "\n"


def _script_secrets(rendered: Rendered) -> list[SecretValue]:
    """The secret sources the script reads: those of a rendered Secret that holds them."""
    secrets = rendered.values.secrets
    if not secrets:
        return []
    if rendered.target is Target.OCP4 and not _by_kind(rendered, "Secret"):
        return []
    return [secrets[k] for k in sorted(secrets)]


def _cleanup_lines(ns: str, *, secrets: bool, ocp3: bool) -> list[str]:
    """One EXIT trap: remove the key directory, resume a rollout this script paused (3.x)."""
    if not secrets and not ocp3:
        return []
    nsq = escape.shell_word(ns)
    body = []
    out = []
    if secrets:
        out += ["umask 077", f"{KEY_DIR}=$(mktemp -d)"]
        body.append(f'rm -rf -- "${KEY_DIR}"')
    if ocp3:
        out += ["paused_here="]
        body.append(f'if [ -n "$paused_here" ]; then oc -n {nsq} rollout resume {OCP3_DC}; fi')
    note = {
        (True, False): "# On exit, however the script ends: the key files are removed.",
        (
            False,
            True,
        ): "# On exit, however the script ends: a rollout this script paused is resumed (a failure\n"
        "# part-way must not leave the registry paused).",
        (
            True,
            True,
        ): "# On exit, however the script ends: the key files are removed and a rollout this script\n"
        "# paused is resumed (a failure part-way must not leave the registry paused).",
    }[(secrets, ocp3)]
    return [note, *out, "cleanup() {", *(f"  {b}" for b in body), "}", "trap cleanup EXIT", ""]


def _by_kind(rendered: Rendered, kind: str) -> list[Obj]:
    return [o for o in rendered.objects if o["kind"] == kind]


def _claim_var(index: int) -> str:
    return f"claim_{index}"


def _claim_check_lines(pvc: Obj, ns: str, index: int) -> list[str]:
    spec = pvc.get("spec") or {}
    modes = " ".join(str(m) for m in spec.get("accessModes") or [])
    cls = spec.get("storageClassName")
    name = str(pvc["metadata"]["name"])
    return [
        f"# Claim {escape.comment(name)}: its access modes and class cannot change once it exists; checked "
        "before anything",
        "# is written (a claim to replace stops the script here unless REGPLAN_ALLOW_REPLACE=1).",
        f"{_claim_var(index)}=$(regplan_claim {escape.shell_word(ns)} {escape.shell_word(name)} "
        f"{escape.shell_word(modes)} {escape.shell_word('-' if cls is None else str(cls))})",
        "",
    ]


def _pvc_lines(rendered: Rendered, ns: str) -> list[str]:
    out = []
    nsq = escape.shell_word(ns)
    configs = [_config_patch(cfg) for cfg in _by_kind(rendered, "Config")]
    for index, pvc in enumerate(_by_kind(rendered, "PersistentVolumeClaim")):
        name = str(pvc["metadata"]["name"])
        first = (
            [
                '  # the Config first: while it names no claim ("") the operator recreates a deleted one',
                *(f"  {c}" for c in configs),
            ]
            if configs
            else []
        )
        out += [
            f"# PersistentVolumeClaim {escape.comment(name)} (a replace allowed above: delete, wait, create)",
            f'if [ "${_claim_var(index)}" = replace ]; then',
            *first,
            f"  oc -n {nsq} delete pvc {escape.shell_word(name)} --wait=true --timeout=300s \\",
            "    || regplan_fail 4 'the old claim is still there (a pod using it keeps it Terminating): stop "
            "the registry or wait, then run this script again'",
            "fi",
            f"oc -n {nsq} apply -f - {_heredoc(yamlio.dump(pvc), expand=False)}",
            "",
        ]
    return out


def _config_patch(cfg: Obj) -> str:
    patch = {"spec": cfg["spec"]}
    return f"oc patch {OCP4_CONFIG} --type=merge -p " + escape.shell_word(
        json.dumps(patch, sort_keys=True, separators=(",", ":"))
    )


def _ocp4(rendered: Rendered, ns: str, secrets: list[SecretValue]) -> list[str]:
    out: list[str] = []
    if secrets:
        by_key = {s.key: s for s in secrets}
        args = [
            f'--from-file={data_key}="${KEY_DIR}/{_key_file(by_key[key])}"'
            for key, data_key in OCP4_SECRET_KEYS.items()
        ]
        out += [
            "# S3 credentials for the operator (both keys or none: docs/domain.md)",
            *_secret_lines(ns, "image-registry-private-configuration-user", args, target=Target.OCP4),
            "",
        ]
    out += _pvc_lines(rendered, ns)
    for cfg in _by_kind(rendered, "Config"):
        out += [
            "# The operator config: the new backend, every other backend removed (null)",
            _config_patch(cfg),
            "",
        ]
    return out


def _ocp3(rendered: Rendered, ns: str) -> list[str]:
    out: list[str] = []
    nsq = escape.shell_word(ns)
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
        "# Pause rollouts so the volume and env changes roll out once (the EXIT trap above resumes them);",
        "# a DC that was already paused is left as it was found.",
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
            kind_args = "-t pvc " + escape.shell_word(
                "--claim-name=" + str(vol["persistentVolumeClaim"]["claimName"])
            )
        else:
            kind_args = "-t secret " + escape.shell_word("--secret-name=" + str(vol["secret"]["secretName"]))
        out.append(
            f"oc -n {nsq} set volume {OCP3_DC} --add {escape.shell_word('--name=' + name)} {kind_args} "
            f"-m {escape.shell_word(str(mounts[name]))} --overwrite"
        )
    env = [f"{e['name']}={e['value']}" for e in container.get("env", [])]
    set_names = {e["name"] for e in container.get("env", [])}
    removals = [
        f"{n}-" for n in ("REGISTRY_STORAGE", "REGISTRY_STORAGE_FILESYSTEM_MAXTHREADS") if n not in set_names
    ]
    out += [
        "",
        "# Env: point the registry at the mounted config; drop overrides of its storage section",
        f"oc -n {nsq} set env {OCP3_DC} " + escape.shell_words(env + removals),
        f"# Check no other REGISTRY_STORAGE_* override is left: oc -n {ns} set env {OCP3_DC} --list",
        "",
        "# Replicas and strategy (replacing the strategy drops the old one's parameters)",
        f"oc -n {nsq} patch {OCP3_DC} --type=json -p "
        + escape.shell_word(
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
    """config.yml with each secret replaced by the script's YAML-escaped copy of its key file;
    (text, needs expansion). The key never sits between YAML quotes unescaped: a `"` or `\\` in it stays
    part of the key."""
    import base64

    from regplan.core import render as render_mod

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
            if tok not in text:
                raise AssertionError("a secret placeholder did not survive rendering")
            text = text.replace(tok, f'"$(regplan_yaml_key {_key_file(s)})"')
    return text, expand
