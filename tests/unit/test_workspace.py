"""The workspace file: merging defaults, finding it, selecting clusters, and every problem at once with
file:line (a table of broken workspaces)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from regplan.base.errors import ExitCode, InvalidInput
from regplan.fleet import workspace

ROOT = Path(__file__).resolve().parents[2]
# The built-in profiles, read from profiles/: a new profile is tested here without editing this file.
PROFILES = tuple(sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml")))


def names(_dir: Path | None) -> list[str]:
    return list(PROFILES)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "values").mkdir(exist_ok=True)
    for f in ("common.yaml", "prod.yaml"):
        (tmp_path / "values" / f).write_text("replicas: 1\n")
    path = tmp_path / "regplan.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


GOOD = """
    defaults:
      profile: ebs-gp2-rwo
      values: [values/common.yaml]
      set: [replicas=1]
      labels: {env: dev, team: infra}
    clusters:
      - name: dev-1
      - name: prod-eu
        context: admin@prod-eu
        kubeconfig: kube/prod.yaml
        target: ocp3
        profile: glusterfs
        values: [values/prod.yaml]
        set: [claim.size=200Gi]
        labels: {env: prod, region: eu}
"""


def test_defaults_merge_and_paths_resolve(tmp_path: Path) -> None:
    ws = workspace.load(write(tmp_path, GOOD), profile_names=names)
    dev, prod = ws.clusters
    assert (dev.name, dev.context, dev.target, dev.profile, dev.kubeconfig) == (
        "dev-1",
        "dev-1",
        "auto",
        "ebs-gp2-rwo",
        None,
    )
    assert dev.values == (tmp_path / "values/common.yaml",)
    assert dev.labels == {"env": "dev", "team": "infra"}
    assert prod.context == "admin@prod-eu" and prod.target == "ocp3" and prod.profile == "glusterfs"
    assert prod.kubeconfig == str(tmp_path / "kube/prod.yaml")
    assert prod.values == (tmp_path / "values/common.yaml", tmp_path / "values/prod.yaml")
    assert prod.sets == ("replicas=1", "claim.size=200Gi")
    assert prod.labels == {"env": "prod", "team": "infra", "region": "eu"}
    assert (prod.line, prod.context_line) == (8, 9)
    assert ws.render_dir == tmp_path / "rendered" and ws.snapshot_dir == tmp_path / "snapshots"


# (workspace text, expected problem lines (file name replaced by F)); every problem is reported at once.
BROKEN = [
    (
        """
        clusters:
          - name: a
            profile: ebs-gp2-rwo
            lables: {env: prod}
        """,
        ["F:4: unknown key 'lables' in clusters[0]; did you mean 'labels'?"],
    ),
    (
        """
        defaults: {profile: ebs-gp2-rwo}
        clusters:
          - name: a
          - name: b
          - name: a
        """,
        ["F:5: cluster a: duplicate name (first at line 3)"],
    ),
    (
        """
        defaults:
          profile: ebs-gp2-rwo
          values: [values/missing.yaml]
        clusters:
          - name: a
            values:
              - values/prod.yaml
              - values/nope.yaml
        """,
        [
            "F:3: defaults.values: values/missing.yaml: no such file (relative to D)",
            "F:8: cluster a: values: values/nope.yaml: no such file (relative to D)",
        ],
    ),
    (
        """
        clusters:
          - name: a
            profile: ebs-gp2-rw0
          - name: b
        """,
        [
            "F:3: cluster a: profile: unknown profile 'ebs-gp2-rw0'; did you mean 'ebs-gp2-rwo'?",
            "F:4: cluster b: profile: missing (here or in defaults)",
        ],
    ),
    (
        """
        defaults: {profile: ebs-gp2-rwo, target: ocp5, context: x}
        clusters:
          - name: Prod_EU
            target: ocp9
            labels: {env: 3, "bad key!": x}
            set: [replicas]
        clusters2: []
        """,
        [
            "F:1: unknown key 'context' in defaults"
            " (valid: kubeconfig, target, profile, values, set, setString, labels)",
            "F:7: unknown key 'clusters2' in the workspace; did you mean 'clusters'?",
            "F:1: target: 'ocp5': valid: auto, ocp4, ocp3",
            "F:3: cluster Prod_EU: name: lower-case letters, digits, '-' and '.',"
            " at most 63 (a directory name)",
            "F:4: cluster Prod_EU: target: 'ocp9': valid: auto, ocp4, ocp3",
            # the entry is not quoted: a secret pasted in place of KEY=VALUE stays out of the message
            "F:6: cluster Prod_EU: set, item 1: expected KEY=VALUE, e.g. replicas=1 (no '=' found; the text"
            " is not shown: it may be a secret)",
            "F:5: labels.env: 3 must be a string (quote it: '3')",
            "F:5: labels: 'bad key!' is not a label key",
        ],
    ),
    (
        """
        clusters:
          - profile: ebs-gp2-rwo
          - just-a-string
        """,
        ["F:2: clusters[0]: name: missing", "F:3: clusters[1]: expected a mapping with at least `name:`"],
    ),
    (
        # issue 16: a cluster written `- name:` used to vanish with exit 0
        """
        defaults: {profile: ebs-gp2-rwo}
        clusters:
          - name:
          - name: ok
          - name: ""
          - name: "dev\\n"
          - name: "dev\\u2028x"
          - name: "Dev"
        """,
        [
            "F:3: clusters[0]: name: empty",
            "F:5: name: expected a non-empty string",
            "F:6: name: a line break or control character (not shown) is not allowed",
            "F:7: name: a line break or control character (not shown) is not allowed",
            "F:8: cluster Dev: name: lower-case letters, digits, '-' and '.', at most 63 (a directory name)",
        ],
    ),
    (
        # control characters in any string of the workspace: refused at their line, never printed
        """
        defaults: {profile: ebs-gp2-rwo, kubeconfig: "k\\x1b]0;x\\x07"}
        clusters:
          - name: a
            context: "ctx\\r"
            values: ["values/common.yaml\\n"]
            set: ["claim.size=1Gi", "s3.accessKeyFrom=env:A\\n", "claim.name=\\u2028"]
            setString: ["s3.secretKey: SECRETSECRET", "claim.name=x"]
        """,
        [
            "F:1: kubeconfig: a line break or control character (not shown) is not allowed",
            "F:4: context: a line break or control character (not shown) is not allowed",
            "F:5: values: entry 1: a line break or control character (not shown) is not allowed",
            "F:6: set: entry 2: a line break or control character (not shown) is not allowed",
            "F:6: set: entry 3: a line break or control character (not shown) is not allowed",
            "F:7: cluster a: setString, item 1: expected KEY=VALUE, e.g. replicas=1 (no '=' found; the text"
            " is not shown: it may be a secret)",
        ],
    ),
    (
        """
        defaults: {profile: ebs-gp2-rwo, set: ["=x"], setString: ["a={b"]}
        clusters:
          - name: a
            values: ["-"]
            set: ["claim.sise[0=1"]
        """,
        [
            "F:1: defaults.set, item 1: expected KEY=VALUE with a dotted key: the key is empty",
            "F:1: defaults.setString, item 1 (a): the list {a,b} has no closing '}' (use \\{ for a literal"
            " brace)",
            "F:4: cluster a: values: '-' (standard input) is for `-f -` on the command line",
            "F:5: cluster a: set, item 1: expected KEY=VALUE with a dotted key: such as claim.size (each"
            " segment starts with a letter; list indexes as [N])",
        ],
    ),
    (
        # an empty scalar is a mistake, not "use the default"
        """
        defaults:
          profile: ebs-gp2-rwo
          target:
        clusters:
          - name: a
            profile:
            context:
        """,
        [
            "F:3: target: empty (remove the key to use the default)",
            "F:6: profile: empty (remove the key to use the default)",
            "F:7: context: empty (remove the key to use the default)",
        ],
    ),
    ("version: 2\nclusters: []\n", ["F:1: version: 2 is not supported (this regplan reads 1)"]),
    ("defaults: {}\n", ["F:1: clusters: missing; list the clusters of this workspace"]),
    ("- a\n- b\n", ["F:1: a workspace file is a mapping with `clusters:` (and `defaults:`)"]),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_every_problem_with_file_and_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(workspace.WorkspaceInvalid) as info:
        workspace.load(path, profile_names=names)
    got = [p.replace(str(path), "F").replace(str(tmp_path), "D") for p in info.value.problems]
    assert sorted(got) == sorted(expected)
    assert info.value.exit_code is ExitCode.INVALID


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "clusters:\n  - name: a\n   bad: [\n")
    with pytest.raises(InvalidInput, match=r"regplan.yaml:\d+(:\d+)?: not valid YAML"):
        workspace.load(path, profile_names=names)


def test_real_profile_list_and_user_profiles_dir(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "team-ebs.yaml").write_text("extends: ebs-gp2-rwo\n")
    path = write(
        tmp_path,
        """
        profilesDir: profiles
        clusters:
          - {name: a, profile: team-ebs}
          - {name: b, profile: ebs-gp2-rwo}
        """,
    )
    ws = workspace.load(path)
    assert [c.profile for c in ws.clusters] == ["team-ebs", "ebs-gp2-rwo"]
    assert ws.profiles_dir == tmp_path / "profiles"


def test_find_walks_up(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert workspace.find(deep) == path.resolve()


def test_find_none_outside(tmp_path: Path) -> None:
    assert workspace.find(tmp_path) is None


# (--cluster names, -l selector, expected names, or the phrase of the error)
SELECT = [
    ((), "", ["dev-1", "prod-eu"]),
    (("prod-eu",), "", ["prod-eu"]),
    ((), "env=prod", ["prod-eu"]),
    ((), "env!=prod", ["dev-1"]),
    ((), "team", ["dev-1", "prod-eu"]),
    (("dev-1",), "env=prod", "no cluster of"),
    (("prod-ue",), "", "did you mean 'prod-eu'?"),
    ((), "region=us", "no cluster of"),
]


@pytest.mark.parametrize(("clusters", "sel", "expected"), SELECT)
def test_select(tmp_path: Path, clusters: tuple[str, ...], sel: str, expected: list[str] | str) -> None:
    ws = workspace.load(write(tmp_path, GOOD), profile_names=names)
    if isinstance(expected, str):
        with pytest.raises(InvalidInput, match=expected.replace("?", r"\?")):
            ws.select(clusters, sel)
    else:
        assert [c.name for c in ws.select(clusters, sel)] == expected


def test_a_few_hundred_clusters_fit_the_bounds(tmp_path: Path) -> None:
    lines = ["defaults: {profile: ebs-gp2-rwo, target: ocp4}", "clusters:"]
    lines += [f"  - {{name: c{i}, labels: {{n: '{i}', env: prod}}, set: [replicas=1]}}" for i in range(500)]
    (tmp_path / "regplan.yaml").write_text("\n".join(lines) + "\n")
    ws = workspace.load(tmp_path / "regplan.yaml", profile_names=names)
    assert len(ws.clusters) == 500 and ws.clusters[-1].line == 502


# --- a cluster's value options, each remembering its line (issues 16 and 19) -----------------------------


def test_set_and_set_string_entries_carry_their_line_and_flag(tmp_path: Path) -> None:
    from regplan.base.model import Target
    from regplan.core import render, rules, values

    path = write(
        tmp_path,
        """
        defaults:
          profile: cephfs-rwx
          set: [replicas=3]
        clusters:
          - name: a
            set:
              - claim.sise=10Gi
              - rolloutStrategy=Recreate
            setString: [claim.name=02]
        """,
    )
    (spec,) = workspace.load(path, profile_names=names).clusters
    assert spec.sets == ("replicas=3", "claim.sise=10Gi", "rolloutStrategy=Recreate", "claim.name=02")
    assert [(s.origin, s.flag) for s in spec.sets if isinstance(s, values.Given)] == [
        (f"{path}:3", "--set"),
        (f"{path}:7", "--set"),
        (f"{path}:8", "--set"),
        (f"{path}:9", "--set-string"),
    ]
    vals = values.load_values(spec.profile, files=[], sets=spec.sets, profiles_dir=None, environ={})
    assert vals.get("claim.name") == "02" and "claim.name" not in vals.typed  # --set-string: a string
    normalised, found = rules.check(vals, Target.OCP4)
    # issue 19 item 15: an unknown key is reported at its regplan.yaml line, not as "(--set)"
    assert [str(d) for d in found] == [
        f"error: claim.sise ({path}:7): unknown value key; did you mean 'claim.size'?"
    ]
    assert normalised.get("replicas") == 3  # a `set:` entry is typed by the schema, like --set
    del vals.data["claim"]["sise"]
    assert render.render(vals, Target.OCP4).objects[0]["metadata"]["name"] == "02"


def test_a_relative_key_file_in_a_set_entry_is_read_from_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from regplan.core import values

    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "ak").write_text("AKIAEXAMPLE\n")
    (tmp_path / "keys" / "sk").write_text("SECRETEXAMPLE\n")
    path = write(
        tmp_path,
        """
        clusters:
          - name: a
            profile: aws-s3
            set: ["s3.accessKeyFrom=file:keys/ak,s3.secretKeyFrom=file:keys/sk"]
        """,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (spec,) = workspace.load(path, profile_names=names).clusters
    vals = values.load_values(spec.profile, files=[], sets=spec.sets, profiles_dir=None, environ={})
    assert vals.problems == [] and vals.secrets["s3.accessKey"].value == "AKIAEXAMPLE"


def test_a_pasted_secret_in_a_set_entry_is_not_echoed(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    path = write(
        tmp_path,
        f"""
        clusters:
          - name: a
            profile: aws-s3
            set: ["s3.secretKey: {secret}", "{secret}", "{secret}=1"]
        """,
    )
    with pytest.raises(workspace.WorkspaceInvalid) as info:
        workspace.load(path, profile_names=names)
    assert len(info.value.problems) == 3 and secret[:10] not in str(info.value)


def test_cluster_suggests_the_closest_few_of_ten_thousand() -> None:
    specs = tuple(
        workspace.ClusterSpec(name=f"c{i:05d}", context=f"c{i:05d}", target="auto", profile="aws-s3")
        for i in range(10_000)
    )
    ws = workspace.Workspace(path=Path("regplan.yaml"), clusters=specs)
    with pytest.raises(InvalidInput) as err:
        ws.select(["c0001x"])
    message = str(err.value)
    assert len(message) < 300 and "it lists 10000 clusters" in message
    assert re.search(r"'c0001x' \(did you mean one of 'c\d{5}', 'c\d{5}', 'c\d{5}'\?\)", message), message
    with pytest.raises(InvalidInput) as err:
        ws.select(["nope", *(f"x{i}" for i in range(50))])
    assert len(str(err.value)) < 300 and "and 48 more" in str(err.value)


def test_a_small_workspace_lists_its_clusters() -> None:
    specs = tuple(
        workspace.ClusterSpec(name=n, context=n, target="auto", profile="aws-s3") for n in ("dev", "prod")
    )
    ws = workspace.Workspace(path=Path("regplan.yaml"), clusters=specs)
    with pytest.raises(InvalidInput, match=r"'prd' \(did you mean 'prod'\?\); known: dev, prod"):
        ws.select(["prd"])


@pytest.mark.parametrize("source", ["env:A-B", "env:A}$(id)", "vault:x"])
def test_a_bad_source_in_a_set_entry_is_refused_at_its_line(tmp_path: Path, source: str) -> None:
    from regplan.base.model import Target
    from regplan.core import rules, values

    path = write(
        tmp_path,
        f"""
        clusters:
          - name: a
            profile: aws-s3
            set:
              - s3.secretKeyFrom=env:B
              - "s3.accessKeyFrom={source}"
        """,
    )
    (spec,) = workspace.load(path, profile_names=names).clusters
    vals = values.load_values(spec.profile, files=[], sets=spec.sets, profiles_dir=None, environ={"B": "b"})
    _, found = rules.check(vals, Target.OCP4)
    assert [d.key for d in found] == ["s3.accessKeyFrom"] and found[0].origin == f"{path}:6"
    assert source not in str(found[0])
