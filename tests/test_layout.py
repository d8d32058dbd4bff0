"""The site on a phone, without a browser: tables labelled for stacking, and the key figure drawn for a narrow screen.

The browser test (tests/test_site.py) checks the rendered result at 390 px; these check the pieces on
hand-built input whose right answer is known.
"""

from __future__ import annotations

import re

import matplotlib
import pandas as pd
import pytest

from helpers.presentation import plots, website

matplotlib.use("Agg")

SEGMENTS = pd.DataFrame(
    {
        "conversion": [0.012, 0.0185, 0.0395],
        "conv_lo": [0.0109, 0.017, 0.0376],
        "conv_hi": [0.0132, 0.0202, 0.0416],
        "revenue_per_session": [1.54, 1.86, 3.78],
    },
    index=pd.Index(["low", "middle", "high"], name="segment"),
)
PHONE_CONTENT_PX = 366  # a 390 px screen less the page's padding: the width a figure is shown at
BODY_PX = 16


def labels(table: str) -> list[str]:
    return re.findall(r'<td data-label="([^"]*)"', table)


def test_a_styler_table_gets_its_headers_on_each_cell_and_the_stack_class():
    table = (
        '<table id="T_1"><thead><tr><th class="blank level0"> </th><th class="col_heading">sessions</th>'
        '<th class="col_heading">95 % CI</th><th class="col_heading">revenue &amp; spend</th></tr>'
        '<tr><th class="index_name level0">segment</th><th class="blank"> </th><th class="blank"> </th>'
        '<th class="blank"> </th></tr></thead><tbody>'
        '<tr><th class="row_heading">low</th><td class="data">1</td><td>[1, 2]</td><td>3</td></tr>'
        '<tr><th class="row_heading">high</th><td class="data">4</td><td>[5, 6]</td><td>7</td></tr></tbody></table>'
    )
    out = website.stack_tables(f"<p>before</p>{table}<p>after</p>")
    assert out.startswith('<p>before</p><table class="stack" id="T_1">') and out.endswith("<p>after</p>")
    assert labels(out) == ["sessions", "95 % CI", "revenue &amp; spend"] * 2
    assert out.count("<th") == table.count("<th")  # headers and row labels untouched


def test_multi_level_headers_join_and_existing_classes_stay():
    table = (
        '<table class="wide"><thead><tr><th></th><th colspan="2">buyers</th><th>p</th></tr>'
        "<tr><th></th><th>n</th><th>share</th><th></th></tr></thead>"
        "<tbody><tr><th>a</th><td>1</td><td>2</td><td>0.1</td></tr></tbody></table>"
    )
    out = website.stack_tables(table)
    assert out.startswith('<table class="stack wide">')
    assert labels(out) == ["buyers · n", "buyers · share", "p"]


@pytest.mark.parametrize(
    "table",
    [
        "<table><thead><tr><th>name</th><th>value</th></tr></thead><tbody><tr><td>a</td><td>1</td></tr></tbody></table>",
        "<table><tbody><tr><td>a</td><td>1</td><td>2</td></tr></tbody></table>",  # no header to label with
        '<table class="answers"><thead><tr><th>Q</th><th>A</th><th>E</th></tr></thead>'
        "<tbody><tr><td>q</td><td>a</td><td>e</td></tr></tbody></table>",  # the answers have their own layout
    ],
)
def test_narrow_unheaded_and_answer_tables_are_left_alone(table):
    assert website.stack_tables(table) == table


def test_the_smallest_text_is_measured_in_pixels_at_the_saved_resolution_and_recorded_in_the_png(tmp_path):
    from PIL import Image

    fig, ax = matplotlib.pyplot.subplots(figsize=(6.4, 4.8))  # whatever house style another test set
    ax.set_title("title", fontsize=20)
    ax.set_xlabel("label", fontsize=14)
    ax.tick_params(labelsize=9)
    plots.save(fig, tmp_path / "f.png", show=False, dpi=100)  # drawn: its tick labels now have text
    assert plots.smallest_text_px(fig, 100) == round(9 * 100 / 72, 1)
    assert plots.smallest_text_px(fig, 200) == round(9 * 200 / 72, 1)
    png = Image.open(tmp_path / "f.png")
    assert png.text[plots.TEXT_PX_KEY] == str(round(9 * 100 / 72, 1)) and png.width < 700  # 6.4 in at 100 dpi
    png.load()  # the chunk added after drawing leaves a valid PNG
    matplotlib.pyplot.close(fig)


def test_the_key_figure_is_drawn_for_a_phone_with_text_as_large_as_the_body_text(tmp_path):
    from PIL import Image

    plots.use_house_style()
    plots.key_figure(SEGMENTS, "events before checkout", tmp_path / "wide.png", tmp_path / "narrow.png")
    shown = {}
    for name in ("wide", "narrow"):
        png = Image.open(tmp_path / f"{name}.png")
        shown[name] = float(png.text[plots.TEXT_PX_KEY]) * min(1, PHONE_CONTENT_PX / png.width)
    assert shown["narrow"] >= BODY_PX, shown
    assert shown["wide"] < BODY_PX / 2, shown  # the reason for the second drawing: 6 px on a phone
    narrow = Image.open(tmp_path / "narrow.png")
    assert narrow.height > narrow.width  # one panel above the other
