"""Presentation: results into words (``findings``), tables (``formatting``), figures (``plots``) and pages.

``website`` renders each executed notebook into the site (its stylesheet and glossary live in
``templates/``); ``frontpage`` writes each run's ``index.html``.
"""
