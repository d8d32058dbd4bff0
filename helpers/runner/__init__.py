"""The runner: ``make report`` (``report``), run parameters (``params``), warm kernels, the benchmark."""

import sys

# nbformat validates notebooks with jsonschema, which loads an optional IRI format checker
# (rfc3987_syntax) that compiles its grammars for 2-3 s at import. Notebook validation never checks
# that format, so the runner's processes go without it (an absent module is what jsonschema expects).
sys.modules.setdefault("rfc3987_syntax", None)
