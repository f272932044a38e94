"""Desired + live -> plan -> writes. The readers of live state (``status``, ``snapshot``, ``verify``) and the
planner (``plan``: ``diff``, ``patches``, ``livechecks``, ``planvalue``) are independent of one another; plan
files and the apply Lease (``planfile``, ``lock``), the executor (``apply``), what commands share
(``workflow``, ``prefetch``, ``recording``), and on top one action per command (``actions``), called once
for one cluster and once per cluster of a workspace. Never prints."""
