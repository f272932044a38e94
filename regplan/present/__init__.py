"""What regplan shows and writes, as strings: plans and status as text, JSON and markdown (``views``,
``reasons``), the fleet's views (``fleetviews``), rendered objects as YAML / JSON / ``oc`` script / out-dir
(``output``) and as openshift-ansible inventory lines (``inventory``). Pure; never prints."""
