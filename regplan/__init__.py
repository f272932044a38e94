"""regplan: plan and apply OpenShift image-registry storage changes declaratively.

The pipeline (see docs/ARCHITECTURE.md): values -> render -> validate -> diff -> plan -> view / apply.
"""

__version__ = "0.1.0"
