"""The runner: ``make report`` (``report``), run parameters (``params``), warm kernels, the benchmark."""
