"""regplan's own development tooling, kept out of the wheel (pyproject: the wheel packages ``regplan`` only).

- ``tools.golden``: ``python -m tools.golden --check | --update`` (``make golden``): the project's golden
  tree ``golden/`` (rendered manifests of every profile x target, scenario plans, the fleet views) is what
  the code produces, byte for byte. Not to be confused with ``regplan golden``, the user command that
  checks a workspace's ``rendered/`` tree (docs/fleet.md).
- ``tools.scenarios``: the scenario folders under ``tests/scenarios/`` planned into ``golden/plan/``, and
  the fixed fake credentials (``FAKE_ENV``) fixtures use.

Run from the repository root (pytest puts it on ``sys.path``: ``pythonpath`` in pyproject).
"""
