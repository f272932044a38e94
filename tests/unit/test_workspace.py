"""The workspace file: merging defaults, finding it, selecting clusters, and every problem at once with
file:line (a table of broken workspaces)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from regplan import workspace
from regplan.errors import ExitCode, InvalidInput

PROFILES = ("aws-s3", "cephfs-rwx", "ebs-gp2-rwo", "glusterfs")


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
            "F:6: cluster Prod_EU: set, item 1: expected KEY=VALUE, e.g. replicas=1 (no '=' found; the text is"
            " not shown: it may be a secret)",
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


def test_missing_contexts_are_reported_at_their_lines(tmp_path: Path) -> None:
    (tmp_path / "kube").mkdir()
    (tmp_path / "kube" / "prod.yaml").write_text(
        "apiVersion: v1\nkind: Config\ncontexts:\n- name: admin@prod-e\n  context: {cluster: c, user: u}\n"
    )
    default = tmp_path / "default-kubeconfig"
    default.write_text("contexts:\n- name: dev-1\n")
    ws = workspace.load(write(tmp_path, GOOD), profile_names=names)
    workspace.check_contexts(ws, ws.clusters[:1], kubeconfig=None, environ={"KUBECONFIG": str(default)})
    with pytest.raises(workspace.WorkspaceInvalid) as info:
        workspace.check_contexts(ws, ws.clusters, kubeconfig=None, environ={"KUBECONFIG": str(default)})
    (problem,) = info.value.problems
    assert problem.startswith(
        f"{ws.path}:9: cluster prod-eu: context 'admin@prod-eu' is not in the kubeconfig"
    )
    assert problem.endswith("did you mean 'admin@prod-e'?")


def test_a_few_hundred_clusters_fit_the_bounds(tmp_path: Path) -> None:
    lines = ["defaults: {profile: ebs-gp2-rwo, target: ocp4}", "clusters:"]
    lines += [f"  - {{name: c{i}, labels: {{n: '{i}', env: prod}}, set: [replicas=1]}}" for i in range(500)]
    (tmp_path / "regplan.yaml").write_text("\n".join(lines) + "\n")
    ws = workspace.load(tmp_path / "regplan.yaml", profile_names=names)
    assert len(ws.clusters) == 500 and ws.clusters[-1].line == 502
