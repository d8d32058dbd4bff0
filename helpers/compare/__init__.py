"""What changed between two runs: ``make compare A=<run> B=<run>`` writes ``reports/compare-<A>-vs-<B>/``.

Usage::

    python -m helpers.compare default tm
    from helpers.compare import comparison
    found = comparison.compare("default", "tm")        # refuses stale, failed or incompatible runs

``stats`` holds the statistics (differences with CIs, PSI), ``comparison`` gathers the two runs'
typed results into one :class:`comparison.Comparison`, ``page`` renders it, and ``__main__`` is
the command line.
"""
