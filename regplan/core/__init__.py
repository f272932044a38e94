"""Values to manifests, with no cluster in sight: profiles, values files and ``--set`` (``values``), the
schema and the domain rules as tables (``rules``), and the one Jinja2 user (``render``). Independent of
``regplan.cluster``: rendering never talks to an apiserver."""
