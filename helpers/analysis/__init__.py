"""Analyses: one ``analyse`` call per question, each returning one typed result (``results``).

``conversion`` (03), ``spend`` (04), ``purchase_styles`` (05) and ``strategy`` (06, with the
``experiment``) share ``stats``; ``helpers.runner.validate`` runs the same calls over simulated worlds.
"""
