"""Findings in words: the one place where verdicts become sentences, titles, badges and advice.

Usage::

    from helpers import findings
    findings.conversion_lines(record)          # 03's findings, one Markdown bullet each
    findings.summary(results.load_all(run))    # the front page's answers with their badges
    findings.recommendations(results.load_all(run), segments)

Every function reads the verdicts and numbers the notebooks record (``data/<run>/results``), so a
sentence can only say what its verdict says. Direction words come from the sign of a CI, never
from a typed phrase; each branch (positive, negative, none or negligible, unclear) is unit-tested.
Observational findings say "is associated with", never "drives" or "causes".
"""

from __future__ import annotations

import math

SUPPORTED, WITHDRAWN, NOT_ESTIMATED = "supported", "withdrawn", "not estimated"
HIGHER_LOWER = {"positive": "higher", "negative": "lower"}
FEATURE_WORDS = {
    "engagement": "a higher count of events before checkout",
    "time": "a longer time before checkout",
    "idle": "a longer idle gap before checkout",
}


# --------------------------------------------------------------------------------------------
# Formatting pieces
# --------------------------------------------------------------------------------------------


def ci(lo: float, hi: float, fmt: str = ".2f") -> str:
    """A CI as '[lo, hi]'."""
    return f"[{lo:{fmt}}, {hi:{fmt}}]"


def times(value: float, lo: float, hi: float) -> str:
    """An odds ratio with its CI: '×1.52 [1.40, 1.65]'."""
    return f"×{value:.2f} {ci(lo, hi)}"


def pct(value: float, lo: float, hi: float) -> str:
    """A % change with its CI: '+4.1 % [+1.0 %, +7.3 %]'."""
    return f"{value:+.1f} % [{lo:+.1f} %, {hi:+.1f} %]"


def p_value(p: float) -> str:
    """'p < 0.001' or 'p = 0.012'."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def badge(decisive: bool | None, checks: dict[str, bool | None]) -> dict:
    """A confidence badge from stated rules: 'high' only when the answer is decisive and every rule holds.

    ``decisive`` None means not estimated ('none'); False gives 'low'; a failed rule gives
    'medium'. Rules whose value is None do not apply (for example a truth check on real data).
    """
    if decisive is None:
        return {"level": "none", "passed": [], "failed": ["not estimated on these data"]}
    applicable = {name: ok for name, ok in checks.items() if ok is not None}
    passed = [name for name, ok in applicable.items() if ok]
    failed = [name for name, ok in applicable.items() if not ok]
    level = "low" if not decisive else ("high" if not failed else "medium")
    return {"level": level, "passed": passed, "failed": failed}


def badge_line(b: dict) -> str:
    """A badge as one Markdown line with the rules it passed and failed."""
    text = f"**Confidence: {b['level']}.**"
    if b["passed"]:
        text += " Rules met: " + "; ".join(b["passed"]) + "."
    if b["failed"]:
        text += " Not met: " + "; ".join(b["failed"]) + "."
    return text


def health_note(health: dict) -> str:
    """One line on the health of a page's fits, shown beside their table."""
    models = health.get("models", {})
    if health["ok"]:
        epp = [h["events_per_parameter"] for h in models.values() if h.get("events_per_parameter") is not None]
        cond = max((h["condition_number"] or 0) for h in models.values()) if models else 0
        text = (
            f"Fit health: all {len(models)} models converged with no sign of separation; largest condition "
            f"number {cond:,.0f}" + (f"; at least {min(epp):,.0f} outcome events per parameter." if epp else ".")
        )
    else:
        text = "**Fit health: problems, so no verdict rests on these fits.** " + "; ".join(health["reasons"]) + "."
    if health.get("warnings"):
        text += " Warnings raised: " + "; ".join(health["warnings"][:5]) + "."
    return text


# --------------------------------------------------------------------------------------------
# 03 · Who purchases?
# --------------------------------------------------------------------------------------------


def effect_phrase(feature: str, cls: str, outcome: str = "purchase odds") -> str:
    """One feature's association in words, from its class ('positive', 'negative', 'negligible', 'unclear')."""
    words = FEATURE_WORDS[feature]
    if cls in HIGHER_LOWER:
        return f"{words} is associated with {HIGHER_LOWER[cls]} {outcome}"
    if cls == "negligible":
        return f"{words} has no material association with {outcome}"
    return f"the data cannot tell whether {words} goes with higher or lower {outcome}"


def time_adds_phrase(v: dict) -> str:
    """Whether time adds to engagement, with the direction of time's association."""
    if v["time_adds"] == "yes":
        return (
            f"time adds to engagement: holding engagement fixed, longer time before checkout is associated "
            f"with {HIGHER_LOWER[v['time_sign']]} purchase odds"
        )
    if v["time_adds"] == "no":
        return "time adds nothing material once engagement is known"
    return "whether time adds to engagement is unclear"


def conversion_answer(v: dict) -> str:
    """03's one-sentence answer for the front page and the summary."""
    if not v.get("healthy", True):
        return "Not answered: " + "; ".join(v["health_reasons"]) + "."
    if v["answer"] in ("engagement", "time"):
        lead = f"{_cap(v['answer'])} is the clearly stronger of the two: {effect_phrase(v['answer'], v[v['answer']])}"
    elif v["answer"] == "neither":
        lead = "Neither engagement nor time before checkout is materially associated with purchase"
    else:
        lead = "The data cannot tell whether engagement or time goes more with purchase"
    if v["answer"] == "time" and v["time_adds"] == "yes":
        return f"{lead}, and it adds to what engagement explains."
    return f"{lead}; {time_adds_phrase(v)}."


def conversion_lines(rec: dict) -> list[str]:
    """03's findings as Markdown bullets, from its recorded verdicts and effects."""
    v, eff = rec["verdicts"], {e["feature"]: e for e in rec["effects"]}
    e, t = eff["engagement"], eff["time"]
    band = f"[{1 / rec['negligible_or']:.2f}, {rec['negligible_or']:.2f}]"
    lines = [
        f"- **{conversion_answer(v)}**",
        f"- Per SD, holding the other fixed, the purchase odds change {times(e['or_per_sd'], e['or_lo'], e['or_hi'])} "
        f"with engagement and {times(t['or_per_sd'], t['or_lo'], t['or_hi'])} with time (95 % CIs; an odds ratio "
        f"inside {band} counts as no material association). In words: {effect_phrase('engagement', v['engagement'])}; "
        f"{effect_phrase('time', v['time'])}.",
    ]
    if v["time_adds"] == "yes":
        lines.append(
            f"- Adding time to engagement: likelihood-ratio {p_value(v['p_time_given_engagement'])}, "
            f"cross-validated AUC {v['auc_gain_from_time']:+.3f}."
        )
    lines.append(
        f"- On its own, engagement reaches a cross-validated AUC of {v['auc_engagement_only']:.3f} and time "
        f"{v['auc_time_only']:.3f} (0.5 is chance)."
    )
    if rec.get("leakage"):
        leak = rec["leakage"]
        lines.append(
            f"- Counting the funnel's own events would inflate the AUC to {leak[1]['cv_auc']:.3f} "
            f"(leakage-free: {leak[0]['cv_auc']:.3f})."
        )
    if not v["stable"]:
        lines.append("- The answer changes when the controls are dropped: read it with care.")
    if rec.get("truth"):
        covered = sum(r["covered"] for r in rec["truth"])
        lines.append(f"- Truth check: {covered} of {len(rec['truth'])} true effects lie inside their 95 % CI.")
    return lines


def conversion_badge(rec: dict) -> dict:
    """03's confidence badge with the rules it passed and failed."""
    if rec.get("status") != "ok":
        return badge(None, {})
    v = rec["verdicts"]
    return badge(
        v["answer"] != "unclear" and v["time_adds"] != "unclear",
        {
            "CI clear of the negligible band": v["answer"] != "unclear" and v["time_adds"] != "unclear",
            "models healthy (converged, no separation, enough buyers per parameter)": v["healthy"],
            "same answer with and without controls": v["stable"],
            "true effects inside the 95 % CIs": _truth_ok(rec),
        },
    )


def forest_title(effects: dict) -> str:
    """Title of 03's effect plot: what is shown, with the numbers."""
    return (
        f"Purchase odds per SD: engagement ×{effects['engagement']['or_per_sd']:.2f}, "
        f"time ×{effects['time']['or_per_sd']:.2f}"
    )


def calibration_title(skill: float) -> str:
    """Title of 03's calibration plot, with the Brier skill it shows."""
    return f"Out-of-fold predicted against observed purchase rates (Brier skill {skill:.1%})"


# --------------------------------------------------------------------------------------------
# 04 · Who spends more?
# --------------------------------------------------------------------------------------------


def spend_phrase(feature: str, call: str, pct_value: float, lo: float, hi: float, detectable: float) -> str:
    """One feature's association with spend given a purchase, from its call."""
    words = FEATURE_WORDS[feature]
    if call == "not available":
        return f"{words} is not available for session-level input (no event timing)"
    if call in HIGHER_LOWER:
        return f"{words} is associated with {HIGHER_LOWER[call]} spend: {pct(pct_value, lo, hi)} per SD"
    if call == "none":
        return (
            f"{words} shows no detectable association with spend ({pct(pct_value, lo, hi)} per SD; these data "
            f"would detect about ±{abs(detectable):.1f} % per SD with 80 % power)"
        )
    return f"the data cannot say how {words} relates to spend ({pct(pct_value, lo, hi)} per SD, not interpreted)"


def spend_answer(v: dict) -> str:
    """04's one-sentence answer."""
    time = spend_phrase(
        "time", v["time_given_engagement"], v["time_pct"], v["time_lo"], v["time_hi"], v["time_detectable"]
    )
    idle = spend_phrase(
        "idle", v["idle_given_engagement_time"], v["idle_pct"], v["idle_lo"], v["idle_hi"], v["idle_detectable"]
    )
    if v["idle_given_engagement_time"] == "not available":
        text = f"Holding engagement fixed, {time}. Idle gaps are not available for session-level input."
    else:
        text = f"Holding engagement fixed, {time}; holding engagement and time fixed, {idle}."
    if v["explains_little"]:
        text += f" Behaviour explains little of spend (adjusted R² {v['best_adj_r2']:.3f})."
    return _cap(text)


def spend_lines(rec: dict) -> list[str]:
    """04's findings as Markdown bullets."""
    v = rec["verdicts"]
    better = {
        "engagement": "Engagement explains spend better than time",
        "time": "Time explains spend better than engagement",
        "neither clearly": "Neither engagement nor time explains spend clearly better",
    }[v["explains_better"]]
    lines = [
        f"- **{spend_answer(v)}**",
        f"- {better}: cross-validated RMSE {v['rmse_engagement_only']:.4f} (engagement) against "
        f"{v['rmse_time_only']:.4f} (time), in log points; adjusted R² {v['adj_r2_engagement_only']:.3f} against "
        f"{v['adj_r2_time_only']:.3f}.",
    ]
    for reason in v["reasons"]:
        lines.append(f"- Not interpreted: {reason}.")
    if rec.get("truth"):
        covered = sum(r["covered"] for r in rec["truth"])
        lines.append(f"- Truth check: {covered} of {len(rec['truth'])} true effects lie inside their 95 % CI.")
    return lines


def spend_badge(rec: dict) -> dict:
    """04's confidence badge."""
    if rec.get("status") != "ok":
        return badge(None, {})
    v = rec["verdicts"]
    decisive = "unclear" not in (v["time_given_engagement"], v["idle_given_engagement_time"])
    return badge(
        decisive,
        {
            "fits healthy": v["healthy"],
            "purchase styles browse alike (no confounding by product choice)": not v["confounded"],
            "behaviour explains a material share of spend": not v["explains_little"],
            "true effects inside the 95 % CIs": _truth_ok(rec),
        },
    )


# --------------------------------------------------------------------------------------------
# 05 · How do purchase styles arise?
# --------------------------------------------------------------------------------------------


def styles_answer(v: dict, margin: float) -> str:
    """05's one-sentence answer."""
    return {
        "similar": f"Cheap-many and expensive-few buyers browse alike (every duration and volume difference is "
        f"within ±{margin} SD); they differ in the prices they choose.",
        "different": "Cheap-many and expensive-few buyers browse differently: at least one duration or volume "
        f"measure differs by more than {margin} SD.",
        "inconclusive": f"The data cannot tell whether the two styles browse alike (margin ±{margin} SD).",
    }[v["browsing"]]


def styles_lines(rec: dict) -> list[str]:
    """05's findings as Markdown bullets."""
    v = rec["verdicts"]
    lines = [f"- **{styles_answer(v, rec['equivalence_margin'])}**"]
    chance = "better than chance" if v["behaviour_above_chance"] else "no better than chance can be shown"
    lines.append(
        f"- Behaviour alone tells the styles apart with out-of-fold AUC {v['behaviour_auc']:.3f} "
        f"{ci(v['behaviour_auc_lo'], v['behaviour_auc_hi'], '.3f')}: {chance}."
    )
    richer = v.get("higher_margin_style")
    if richer:
        lines.append(f"- {_cap(richer)} buyers earn more gross margin per buyer (95 % CIs do not overlap).")
    elif v.get("margin_known"):
        lines.append("- Gross margin per buyer does not differ clearly between the styles (95 % CIs overlap).")
    if rec.get("truth"):
        lines.append(
            f"- Truth check: the simulator's answer is '{rec['truth']['expected_browsing']}'; "
            f"this page found '{v['browsing']}'."
        )
    return lines


def styles_badge(rec: dict) -> dict:
    """05's confidence badge."""
    if rec.get("status") != "ok":
        return badge(None, {})
    v = rec["verdicts"]
    agree = {"similar": not v["behaviour_above_chance"], "different": v["behaviour_above_chance"]}.get(v["browsing"])
    truth = rec.get("truth")
    return badge(
        v["browsing"] != "inconclusive",
        {
            "behaviour-only classifier agrees": agree,
            "simulator's truth agrees": None if not truth else truth["expected_browsing"] == v["browsing"],
        },
    )


# --------------------------------------------------------------------------------------------
# The front page and 06
# --------------------------------------------------------------------------------------------

QUESTIONS = {
    "03_conversion": "Who purchases: engagement or time on site?",
    "04_spend": "Who spends more among buyers?",
    "05_purchase_style": "How do purchase styles arise?",
}


def summary(res: dict) -> list[dict]:
    """One row per question: answer, key evidence with CI, badge with its rules, and where to read more."""
    rows = []
    for page, question in QUESTIONS.items():
        rec = res.get(page, {})
        row = {"question": question, "page": page, "link": f"{page}.html#Findings"}
        if rec.get("status") != "ok":
            reason = rec.get("reason") or "too few buyers"
            rows.append({**row, "answer": f"Not estimable here: {reason}.", "evidence": "", "badge": badge(None, {})})
            continue
        v = rec["verdicts"]
        if page == "03_conversion":
            eff = {e["feature"]: e for e in rec["effects"]}
            e, t = eff["engagement"], eff["time"]
            answer, evidence = (
                conversion_answer(v),
                (
                    f"odds per SD: engagement {times(e['or_per_sd'], e['or_lo'], e['or_hi'])}, "
                    f"time {times(t['or_per_sd'], t['or_lo'], t['or_hi'])}"
                ),
            )
            b = conversion_badge(rec)
        elif page == "04_spend":
            answer = spend_answer(v)
            evidence = f"spend per SD: time {pct(v['time_pct'], v['time_lo'], v['time_hi'])}"
            if v["idle_pct"] is not None:
                evidence += f", idle {pct(v['idle_pct'], v['idle_lo'], v['idle_hi'])}"
            b = spend_badge(rec)
        else:
            answer = styles_answer(v, rec["equivalence_margin"])
            dur = next(c for c in rec["comparison"] if c["column"] == "session_seconds")
            evidence = (
                f"duration SMD {dur['smd']:+.2f} {ci(dur['smd_lo'], dur['smd_hi'], '+.2f')}; behaviour-only "
                f"AUC {v['behaviour_auc']:.3f} {ci(v['behaviour_auc_lo'], v['behaviour_auc_hi'], '.3f')}"
            )
            b = styles_badge(rec)
        rows.append({**row, "answer": answer, "evidence": evidence, "badge": b})
    return rows


def _rec(title: str, status: str, text: str, evidence: str) -> dict:
    return {"title": title, "status": status, "text": text, "evidence": evidence}


def recommendations(res: dict, seg: list[dict] | None = None, cuts: dict | None = None) -> list[dict]:
    """Each recommendation, its status (supported, withdrawn with the reason, not estimated) and its evidence."""
    conv, sp, st = (res.get(k, {}) for k in ("03_conversion", "04_spend", "05_purchase_style"))
    recs = [_engagement_rec(conv), _idle_rec(sp)]
    if seg and len(seg) >= 2:
        recs.append(_segment_rec(seg[0], seg[-1], cuts or {}))
    recs += _style_recs(st)
    return recs


def _engagement_rec(conv: dict) -> dict:
    title = "Optimise for engagement, not time on site"
    if conv.get("status") != "ok":
        return _rec(title, NOT_ESTIMATED, "", "03 could not fit its models")
    v = conv["verdicts"]
    evidence = f"03: engagement {v['engagement']}, time {v['time']}, time adds: {v['time_adds']}"
    if (
        v["answer"] == "engagement"
        and v["engagement"] == "positive"
        and not (v["time_adds"] == "yes" and v["time_sign"] == "positive")
    ):
        return _rec(
            title,
            SUPPORTED,
            "Build features that invite meaningful actions (compare, save, add to cart) rather "
            "than ones that only keep visitors longer.",
            evidence,
        )
    if not v["healthy"]:
        why = "the conversion models are in poor health"
    elif v["time_adds"] == "yes" and v["time_sign"] == "positive":
        why = "longer time before checkout is associated with higher purchase odds by itself"
    elif v["engagement"] != "positive":
        why = effect_phrase("engagement", v["engagement"])
    else:
        why = "engagement is not clearly the stronger of the two"
    return _rec(title, WITHDRAWN, f"Withdrawn: {why}.", evidence)


def _idle_rec(sp: dict) -> dict:
    title = "Turn idle time into interaction"
    if sp.get("status") != "ok":
        return _rec(title, NOT_ESTIMATED, "", "04 could not fit its models")
    v = sp["verdicts"]
    call = v["idle_given_engagement_time"]
    if call == "not available":
        return _rec(title, NOT_ESTIMATED, "", "04: idle gaps are not available for session-level input")
    evidence = f"04: idle gaps and spend {pct(v['idle_pct'], v['idle_lo'], v['idle_hi'])} per SD"
    if call == "negative":
        return _rec(
            title,
            SUPPORTED,
            "After a long pause, offer a low-effort next step (compare, see details, save "
            "for later); longer idle gaps are associated with smaller baskets.",
            evidence,
        )
    why = (
        "; ".join(v["reasons"])
        if call == "unclear"
        else spend_phrase("idle", call, v["idle_pct"], v["idle_lo"], v["idle_hi"], v["idle_detectable"])
    )
    return _rec(title, WITHDRAWN, f"Withdrawn: {why}.", evidence)


def _segment_rec(low: dict, high: dict, cuts: dict) -> dict:
    title = "Segment the experience by engagement level"
    lo_txt = f"{low['conversion']:.2%} [{low['conv_lo']:.2%}, {low['conv_hi']:.2%}]"
    hi_txt = f"{high['conversion']:.2%} [{high['conv_lo']:.2%}, {high['conv_hi']:.2%}]"
    evidence = f"conversion: low engagement {lo_txt}, high engagement {hi_txt}"
    few, many = _events(cuts.get("low_max_events", math.nan)), _events(cuts.get("high_min_events", math.nan))
    if high["conv_lo"] > low["conv_hi"]:
        return _rec(
            title,
            SUPPORTED,
            f"Sessions with at least {many} before checkout convert more: keep their path to "
            f"checkout short. Sessions with at most {few} convert less: guide them with fewer, clearer choices.",
            evidence,
        )
    if low["conv_lo"] > high["conv_hi"]:
        return _rec(
            title,
            SUPPORTED,
            f"Sessions with at most {few} before checkout convert more: quick deciders "
            f"should reach checkout without extra steps. Sessions with at least {many} convert less: find "
            "where they get stuck.",
            evidence,
        )
    return _rec(
        title, WITHDRAWN, "Withdrawn: the conversion CIs of low- and high-engagement sessions overlap.", evidence
    )


def _style_recs(st: dict) -> list[dict]:
    title = "Sell expensive items through price framing, not browsing mechanics"
    if st.get("status") != "ok":
        return [_rec(title, NOT_ESTIMATED, "", "05 could not compare the styles")]
    v = st["verdicts"]
    evidence = f"05: browsing {v['browsing']}, behaviour-only AUC {v['behaviour_auc']:.3f}"
    if v["browsing"] == "similar":
        recs = [
            _rec(
                title,
                SUPPORTED,
                "The styles browse alike, so value framing (bundles, comparisons, guarantees) is "
                "the lever for expensive items.",
                evidence,
            )
        ]
    else:
        why = {
            "different": "the styles browse differently, so browsing mechanics may shape what is bought",
            "inconclusive": "the data cannot tell whether the styles browse alike",
        }[v["browsing"]]
        recs = [_rec(title, WITHDRAWN, f"Withdrawn: {why}.", evidence)]
    richer = v.get("higher_margin_style")
    margin_title = "Protect the margin of the style that earns more per buyer"
    if richer:
        recs.append(
            _rec(
                margin_title,
                SUPPORTED,
                f"{_cap(richer)} buyers earn more gross margin per buyer; test discounts on them with care.",
                "05: margin per buyer by style, 95 % CIs apart",
            )
        )
    else:
        why = "the styles' margin-per-buyer CIs overlap" if v.get("margin_known") else "product costs are unknown"
        recs.append(_rec(margin_title, WITHDRAWN, f"Withdrawn: {why}.", "05: margin per buyer by style"))
    return recs


def experiment_plan(res: dict) -> dict:
    """The experiment the evidence points to: lever, hypothesis, intervention, metrics, and whether it is simulated."""
    conv = res.get("03_conversion", {})
    v = conv.get("verdicts") if conv.get("status") == "ok" else None
    base = {
        "primary": "session conversion",
        "unit": "user where users are identified, else session",
        "guardrail": "mean session duration",
    }
    if v and v["answer"] == "time" and v["time"] == "positive":
        return {
            **base,
            "lever": "time before checkout",
            "simulate": False,
            "hypothesis": "Content that holds attention before checkout (reviews, guides, richer product pages) "
            "raises conversion.",
            "intervention": "Show richer product content on the pages visitors read before checkout.",
            "guardrail": "checkout completion rate",
            "basis": "03 finds time before checkout the clearly stronger, positive correlate of purchase.",
        }
    supported = bool(v and v["engagement"] == "positive")
    return {
        **base,
        "lever": "interaction density",
        "simulate": True,
        "hypothesis": "Raising interactions per minute raises conversion without lengthening sessions.",
        "intervention": "Detect idle gaps between interactions and offer a low-effort next step (compare, expand "
        "details, save for later).",
        "basis": (
            "03 finds more events before checkout associated with higher purchase odds."
            if supported
            else "Exploratory: 03 supports no behavioural lever clearly, so the experiment tests the most "
            "plausible one."
        ),
    }


def experiment_lines(
    plan: dict, n_needed: int | None, days: float | None, relative_mde: float, span_hours: float | None = None
) -> list[str]:
    """The experiment proposal as Markdown bullets (three lines on the front page use the first three)."""
    size = (
        f"{n_needed:,} sessions per arm, about {days:.1f} days of traffic, to detect a {relative_mde:.0%} relative lift"
        if n_needed and days is not None
        else "cannot be sized: the baseline conversion or the traffic rate is unknown"
    )
    if n_needed and days is not None and span_hours is not None and span_hours < 24:
        size += (
            f" (the traffic rate comes from data spanning only {span_hours * 60:,.0f} minutes, so the runtime is a "
            "rough extrapolation)"
        )
    return [
        f"- **Lever:** {plan['lever']}. {plan['hypothesis']} ({plan['basis']})",
        f"- **Primary metric:** {plan['primary']}; guardrail: {plan['guardrail']}.",
        f"- **Size:** {size}.",
        f"- **Intervention:** {plan['intervention']}",
        f"- **Unit of randomisation:** {plan['unit']}.",
    ]


def limitations(res: dict) -> list[str]:
    """What a reader must keep in mind, computed from what ran and what could not."""
    simulated = res.get("01_simulate", {}).get("source") == "simulator"
    out = [
        "Observational data: every association here may reflect something not measured (intent, promotions, "
        "prices seen); only the experiment can show cause and effect."
    ]
    if simulated:
        out.append(
            "The data are simulated, so the simulator's known truth is compared with each estimate; a real "
            "shop's data can hold patterns the simulator lacks."
        )
    out.append("Spend is modelled among buyers only: it describes spend given a purchase, not spend per visitor.")
    for page, rec in res.items():
        if page in QUESTIONS and rec.get("status") != "ok":
            out.append(f"{QUESTIONS[page]} Not estimable here: {rec.get('reason') or 'too few buyers'}.")
    if res.get("04_spend", {}).get("verdicts", {}).get("confounded"):
        out.append(
            "The purchase styles browse differently, so 04's behaviour and spend associations are not interpreted."
        )
    if res.get("03_conversion", {}).get("sampled"):
        out.append("The conversion models were fitted on a uniform random sample of sessions.")
    return out


def simulation_lines(rec: dict, truth: dict | None) -> list[str]:
    """01's findings: what the data hold, how realistic they look, and (simulated) the truth to check against."""
    counts, prof = rec["counts"], rec["profile"]
    misses = ", ".join(row["metric"] for row in rec["benchmark_table"] if row["in range"] == "no") or "none"
    lines = [
        f"- The run holds **{counts['sessions']:,} sessions** with **{counts['events']:,} events** "
        f"({prof['mean_events']:.2f} per session) and **{counts['orders']:,} orders**.",
        f"- **{rec['benchmarks_in_range']} of {rec['benchmarks_checked']}** realism checks land in their published "
        f"range; outside: {misses}.",
    ]
    cart = f"- Session conversion is **{prof['conversion']:.2%}**; {prof['cart_share']:.1%} of sessions add to cart"
    if prof.get("cart_abandonment") is not None:
        cart += (
            f", and {prof['cart_abandonment']:.0%} of cart sessions end without a purchase (cart abandonment = "
            "cart sessions without a purchase / cart sessions)"
        )
    lines.append(cart + ".")
    if truth:
        lines.append(
            f"- The simulator's truth for later checks: direct time effect **{truth['time_effect']:+.2f}**, "
            f"engagement effect **{truth['engagement_effect']:+.2f}** (log-odds per log1p unit), idle-time "
            f"effect on log spend **{truth['implied_idle_on_log_spend']:+.3f}** per log1p second."
        )
    else:
        lines.append("- These are your data: there is no known truth, so later notebooks skip their truth checks.")
    return lines


def gold_lines(rec: dict, checks: int) -> list[str]:
    """02's findings: size, buyers, revenue, reconciliation, the funnel's share of events, what is missing."""
    rows, buyers = rec["rows"], rec["buyers"]
    share = f" ({buyers / rows:.2%})" if rows else ""
    lines = [
        f"- **{rows:,} sessions**, of which **{buyers:,}** bought{share}, for **{rec['revenue_usd']:,.0f} USD** of "
        f"revenue; all {checks} reconciliation checks agree."
    ]
    if buyers:
        lines.append(
            f"- Buyers average {rec['mean_events_buyers']:.1f} events in all but {rec['mean_pre_events_buyers']:.1f} "
            "before their first checkout: the difference is the funnel itself, which is why the models use "
            "the pre-conversion counts."
        )
    else:
        lines.append("- No session bought anything.")
    missing = [c for c, ok in rec["known_columns"].items() if not ok] + ([] if rec["has_cost"] else ["product cost"])
    lines.append(
        f"- Not in these data: {', '.join(missing)}; later notebooks skip what needs them."
        if missing
        else "- Device, traffic source and product cost are all present."
    )
    return lines


def experiment_result_lines(exp: dict, aa: dict, n_arm: int, alpha: float) -> list[str]:
    """06's simulated experiment in words: lift against the truth, secondary metrics, the decision, the A/A test."""
    pp = lambda x: f"{100 * x:+.3f} pp"  # noqa: E731
    inside = "inside" if exp["true_covered"] else "outside"
    return [
        f"**{n_arm:,} sessions per arm.** Conversion {exp['control_rate']:.3%} (control) against "
        f"{exp['treatment_rate']:.3%} (treatment): difference **{pp(exp['diff'])}** (95 % CI {pp(exp['diff_lo'])} to "
        f"{pp(exp['diff_hi'])}, {p_value(exp['p_value'])}); the simulator's true difference is {pp(exp['true_diff'])} "
        f"({inside} the CI).",
        f"Events per minute (all events over all minutes) {exp['epm_control']:.2f} against {exp['epm_treatment']:.2f}: "
        f"{exp['epm_diff']:+.2f} ({exp['epm_lo']:+.2f} to {exp['epm_hi']:+.2f}); spend per session "
        f"{exp['spend_diff']:+.3f} USD ({exp['spend_lo']:+.3f} to {exp['spend_hi']:+.3f} USD); session duration "
        f"{exp['duration_rel']:+.1%} (upper bound {exp['duration_rel_hi']:+.1%} against a margin of "
        f"+{exp['guardrail_margin']:.0%}).",
        f"**Decision: {exp['decision']}.**",
        f"A/A test: difference {pp(aa['diff'])} ({p_value(aa['p_value'])}): "
        + (
            "no rejection, as expected."
            if aa["p_value"] >= alpha
            else "rejected: a false alarm at the rate α allows, or a flaw."
        ),
    ]


def strategy_lines(recs: list[dict], exp: dict | None) -> list[str]:
    """06's findings: how many recommendations stand, and what the simulated experiment decided."""
    supported = [r["title"] for r in recs if r["status"] == SUPPORTED]
    withdrawn = [r["title"] for r in recs if r["status"] == WITHDRAWN]
    lines = [
        f"- **{len(supported)} of {len(recs)} recommendations are supported** by this data"
        + (f"; withdrawn: {', '.join(withdrawn)}." if withdrawn else ".")
    ]
    if exp:
        lines.append(
            f"- Simulated, the experiment gives: {exp['decision']}; the measured lift's CI "
            f"{'covers' if exp['true_covered'] else 'misses'} the true lift."
        )
    return lines


def _truth_ok(rec: dict) -> bool | None:
    truth = rec.get("truth")
    return None if not truth else all(r["covered"] for r in truth)


def _events(n: float) -> str:
    if isinstance(n, float) and math.isnan(n):
        return "a few events"
    return f"{n:g} event" + ("" if n == 1 else "s")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]
