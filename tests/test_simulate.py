"""The simulator: internal consistency, determinism, realism and the knobs' direction."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from helpers.data import simulate as sim
from helpers.data.data_profile import benchmark_table, raw_profile
from helpers.data.gold import build_gold, read_gold
from helpers.data.simulate import SimConfig, simulate_frames, simulate_to_parquet
from helpers.errors import ParameterError
from helpers.presentation import findings


@pytest.fixture(scope="module")
def frames():
    return simulate_frames(SimConfig(n_sessions=40_000, seed=3))


def test_every_purchase_event_has_its_order_and_back(frames):
    ev, orders = frames["events"], frames["orders"]
    buying = set(ev.loc[ev.event_type == "purchase", "session_id"])
    assert buying == set(orders.session_id)
    assert orders.session_id.is_unique


def test_order_totals_are_their_items_times_the_known_spend_factor(tmp_path):
    """log(total / items) is exactly the simulator's shift: a straight line in log1p(events) and log1p(idle)."""
    config = SimConfig(n_sessions=20_000, seed=3, idle_spend_effect=-0.2, engagement_spend_effect=0.3)
    simulate_to_parquet(config, tmp_path / "raw")
    build_gold(tmp_path / "raw", tmp_path / "gold")
    buyers = read_gold(tmp_path / "gold", buyers_only=True)
    items = pd.read_parquet(tmp_path / "raw" / "order_items.parquet")
    assert (items.quantity >= 1).all() and (items.unit_price_usd > 0).all()
    ratio = np.log(buyers.amount_usd / (buyers.avg_item_price_usd * buyers.n_items))
    shift = -0.2 * (np.log1p(buyers.pre_conversion_max_idle_seconds) - sim.IDLE_CENTRE) + 0.3 * (
        np.log1p(buyers.pre_conversion_event_count) - sim.ENGAGEMENT_CENTRE
    )
    assert np.abs(ratio - shift).max() < 0.01  # cents rounding only
    none = simulate_frames(SimConfig(n_sessions=5_000, seed=3, idle_spend_effect=0.0, engagement_spend_effect=0.0))
    lines = none["order_items"]
    by_order = (lines.quantity * lines.unit_price_usd).groupby(lines.order_id).sum()
    totals = none["orders"].set_index("order_id").total_usd
    assert np.allclose(by_order.reindex(totals.index), totals, atol=0.005)  # no shift: totals are their items


def test_no_gap_inside_a_session_reaches_the_inactivity_that_ends_it(frames):
    ev = frames["events"].sort_values("event_id")
    gaps = ev.groupby("session_id").ts.diff().dropna().dt.total_seconds()
    assert gaps.max() <= sim.MAX_GAP_SECONDS + 0.001 < 30 * 60
    assert (gaps > 10 * 60).any()  # long pauses still happen


def test_timestamps_ordered_and_not_before_start(frames):
    ev = frames["events"].merge(frames["sessions"][["session_id", "started_at"]], on="session_id")
    assert (ev.ts >= ev.started_at).all()
    ordered = ev.sort_values("event_id")
    assert (ordered.groupby("session_id").ts.diff().dropna() >= pd.Timedelta(0)).all()


def test_checkout_only_after_a_cart(frames):
    ev = frames["events"].sort_values("event_id")
    first = ev.groupby(["session_id", "event_type"]).event_id.min().unstack()
    with_checkout = first[first.checkout.notna()]
    assert (with_checkout.add_to_cart < with_checkout.checkout).all()
    bought = first[first.purchase.notna()]
    assert (bought.checkout < bought.purchase).all()


def test_products_cost_between_quarter_and_three_quarters_of_price(frames):
    p = frames["products"]
    share = p.cost_usd / p.price_usd
    assert share.between(0.24, 0.76).all()


def _digest(folder):
    h = hashlib.sha256()
    for name in ("sessions", "events", "orders", "order_items", "products"):
        df = pq.read_table(folder / f"{name}.parquet").to_pandas()
        h.update(pd.util.hash_pandas_object(df.sort_values(list(df.columns[:1])), index=False).values.tobytes())
    return h.hexdigest()


def test_same_seed_same_tables_other_seed_other_tables(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    simulate_to_parquet(SimConfig(n_sessions=3_000, seed=5), a)
    simulate_to_parquet(SimConfig(n_sessions=3_000, seed=5), b)
    simulate_to_parquet(SimConfig(n_sessions=3_000, seed=6), c)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_chunked_writing_gives_complete_consistent_tables(tmp_path, monkeypatch):
    import helpers.data.simulate as sim

    monkeypatch.setattr(sim, "CHUNK_SESSIONS", 1_000)
    simulate_to_parquet(SimConfig(n_sessions=3_500, seed=9), tmp_path)
    sessions = pq.read_table(tmp_path / "sessions.parquet").to_pandas()
    events = pq.read_table(tmp_path / "events.parquet").to_pandas()
    orders = pq.read_table(tmp_path / "orders.parquet").to_pandas()
    assert len(sessions) == 3_500 and sessions.session_id.is_unique
    assert events.event_id.is_unique and set(events.session_id) <= set(sessions.session_id)
    assert orders.order_id.is_unique and set(orders.session_id) <= set(sessions.session_id)
    buyers = set(events.loc[events.event_type == "purchase", "session_id"])
    assert buyers == set(orders.session_id)  # one purchase event per order, across chunk boundaries


def test_default_run_lands_in_published_ranges(tmp_path):
    simulate_to_parquet(SimConfig(n_sessions=100_000, seed=42), tmp_path)
    table = findings.benchmark_frame(benchmark_table(raw_profile(tmp_path)))
    assert (table["in range"] == "yes").all(), table[["metric", "this data", "published range"]]


def _pre_events_of_buyers_minus_others(frames, types=("page_view",)) -> float:
    """Mean events before the first checkout, buyers minus others (browsing only by default)."""
    ev = frames["events"]
    first_conv = ev[ev.event_type.isin(["checkout", "purchase"])].groupby("session_id")["ts"].min()
    ev = ev.join(first_conv.rename("conv"), on="session_id")
    pre = ev[(ev.conv.isna() | (ev.ts < ev.conv)) & ev.event_type.isin(types)].groupby("session_id").size()
    buyers = set(frames["orders"].session_id)
    return float(pre[pre.index.isin(buyers)].mean() - pre[~pre.index.isin(buyers)].mean())


def test_conversion_follows_target_engagement_and_density_knobs():
    base = simulate_frames(SimConfig(n_sessions=60_000, seed=1))
    assert abs(len(base["orders"]) / 60_000 - 0.025) < 0.004
    flat = simulate_frames(SimConfig(n_sessions=60_000, seed=1, engagement_effect=0.0))
    gap_base, gap_flat = _pre_events_of_buyers_minus_others(base), _pre_events_of_buyers_minus_others(flat)
    assert gap_base > 1.0 and abs(gap_flat) < 0.3  # engagement knob on: buyers browse more; off: no difference
    # counting the cart steps too, buyers 'browse more' even when browsing has no effect
    assert _pre_events_of_buyers_minus_others(flat, ("page_view", "add_to_cart")) > 1.0
    dense = simulate_frames(SimConfig(n_sessions=60_000, seed=1, density_lift=0.5))
    assert len(dense["orders"]) > 1.1 * len(base["orders"])  # more interactions per minute, more buyers


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"n_sessions": 0}, "n_sessions"),
        ({"target_conversion": 1.5}, "target_conversion"),
        ({"idle_share": -0.1}, "idle_share"),
        ({"start_date": "yesterday"}, "start_date"),
    ],
)
def test_impossible_knobs_are_named(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        SimConfig(**kwargs)


def test_users_repeat_and_the_population_averaged_purchase_model_is_unchanged():
    """With a user effect (bridge distribution) the share of buyers at each engagement level stays the
    truth's logit averaged over users; with user traits a user's sessions resemble each other."""
    from helpers.data.simulate import Users

    cfg = SimConfig(n_sessions=200_000, seed=3, sessions_per_user=4, user_effect_sd=1.5, user_trait_share=0.6)
    frames = simulate_frames(cfg)
    sessions = frames["sessions"]
    per_user = sessions.groupby("user_id").size()
    assert abs(per_user.mean() - 4) < 0.2 and per_user.max() > 8
    buy = frames["_truth"]["buy"]
    p_marginal = frames["_truth"]["p_buy"]
    assert abs(buy.mean() - p_marginal.mean()) < 0.002  # the marginal model holds
    # buyers cluster by user: a buyer's other sessions buy far more often than average
    sessions["buy"] = buy
    by_user = sessions.groupby("user_id")["buy"].agg(["sum", "size"])
    others = (by_user["sum"] - 1).clip(lower=0)[by_user["sum"] > 0].sum() / (by_user["size"] - 1)[
        by_user["sum"] > 0
    ].sum()
    assert others > 2 * buy.mean()
    # with no user knobs, sessions of a user are independent: no such clustering
    plain = simulate_frames(SimConfig(n_sessions=200_000, seed=3, sessions_per_user=4))
    s2 = plain["sessions"].assign(buy=plain["_truth"]["buy"])
    b2 = s2.groupby("user_id")["buy"].agg(["sum", "size"])
    o2 = (b2["sum"] - 1).clip(lower=0)[b2["sum"] > 0].sum() / (b2["size"] - 1)[b2["sum"] > 0].sum()
    assert o2 < 1.5 * s2["buy"].mean()
    assert Users(cfg).n == 50_000


def test_the_realism_table_writes_bands_and_values_as_percentages_without_rounding_the_band():
    from helpers.data.data_profile import benchmark_table

    rows = benchmark_table({"conversion": 0.0241, "cost_share_range": (0.3, 0.7)})
    assert [r["id"] for r in rows[:1]] == ["conversion"] and rows[0]["value"] == 0.0241
    table = findings.benchmark_frame(rows).set_index("metric")
    assert table.loc["session conversion rate", "published range"] == "1.5% - 4%"
    assert table.loc["session conversion rate", "this data"] == "2.4%"
    cost = table.loc["cost as share of price (lowest, highest)"]
    assert (cost["this data"], cost["published range"], cost["in range"]) == ("30% - 70%", "25% - 75%", "yes")
