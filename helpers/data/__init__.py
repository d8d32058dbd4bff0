"""Data: raw tables (simulated or imported), their contract, and the session-level gold table.

``schema`` defines the raw tables; ``simulate`` writes them with a known truth; ``ingest`` and
``presets`` import a store's own export; ``contract`` checks them; ``gold`` builds the gold table
from ``sql/gold_table.sql``; ``data_profile`` profiles the raw tables against benchmarks.
"""
