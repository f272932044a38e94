"""Many clusters: the workspace file ``regplan.yaml`` (``workspace``, with kubectl label ``selector``),
running the engine's actions for each selected cluster (``runs``), and the files kept in git for them
(``files``: the rendered tree, plan directories)."""
