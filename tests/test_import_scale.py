"""Event logs as exports come (gzip, CRLF, byte-order mark, semicolons, Parquet, monthly files), nothing
lost without a count (malformed rows, unparsed prices, quantities and timestamps, N/A), empty and
header-only files, the import kept from the pre-check for 01, and the tiled log of ``make bench-real``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from helpers import paths
from helpers.data import duck
from helpers.data.event_log import MAX_UNPARSED_SHARE, import_event_log
from helpers.data.ingest import import_data, preflight
from helpers.data.mapping import load_mapping
from helpers.errors import ReportError
from helpers.runner import bench, report

from . import realfixtures

SHARED_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "rees46_oct_sample" / "events.csv"
TABLES = ("sessions", "events", "orders", "order_items", "products")
needs_sample = pytest.mark.skipif(
    not SHARED_SAMPLE.exists(), reason=f"the shared real sample is absent ({SHARED_SAMPLE})"
)


def _lines(n: int = 200) -> list[str]:
    """The header and the first ``n`` rows of the shared REES46 sample, as the store exported them."""
    return SHARED_SAMPLE.read_text(encoding="utf-8").splitlines()[: n + 1]


def _write(path: Path, lines: list[str], newline: str = "\n", bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + (newline.join(lines) + newline).encode())
    return path


def _import(path: Path, out: Path, mapping: Path | None = None) -> tuple[dict, dict]:
    counts = import_event_log(path, load_mapping(mapping, preset="rees46"), out)
    return counts, json.loads((out / "provenance.json").read_text())


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for t in TABLES:
        frame = pd.read_parquet(folder / f"{t}.parquet")
        out[t] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def _same_tables(a: Path, b: Path) -> None:
    left, right = _tables(a), _tables(b)
    for t in TABLES:
        pd.testing.assert_frame_equal(left[t], right[t], check_dtype=False, obj=t)


def _semicolons(lines: list[str], decimal_comma: bool) -> list[str]:
    """The rows as a European spreadsheet writes them: ';' between fields, optionally ',' before decimals."""
    out = []
    for line in lines:
        fields = line.split(",")
        if decimal_comma:
            fields[6] = fields[6].replace(".", ",")
        out.append(";".join(fields))
    return out


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    if not SHARED_SAMPLE.exists():
        pytest.skip(f"the shared real sample is absent ({SHARED_SAMPLE})")
    folder = tmp_path_factory.mktemp("plain")
    log = _write(folder / "events.csv", _lines())
    counts, prov = _import(log, folder / "raw")
    assert counts["sessions"] > 100 and counts["orders"] >= 1
    return folder / "raw", counts, prov


@needs_sample
@pytest.mark.parametrize("shape", ["gzip", "crlf_bom", "semicolons", "iso_t_z", "parquet", "folder", "glob"])
def test_export_shapes_give_the_same_tables_as_the_plain_file(plain, tmp_path, shape):
    raw, counts, prov = plain
    lines = _lines()
    if shape == "gzip":
        log = tmp_path / "events.csv.gz"
        log.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    elif shape == "crlf_bom":
        log = _write(tmp_path / "events.csv", lines, "\r\n", bom=True)
    elif shape == "semicolons":
        log = _write(tmp_path / "events.csv", _semicolons(lines, decimal_comma=False))
    elif shape == "iso_t_z":
        log = _write(
            tmp_path / "events.csv", [lines[0]] + [ln.replace(" ", "T", 1).replace(" UTC", "Z", 1) for ln in lines[1:]]
        )
    elif shape == "parquet":
        log = tmp_path / "events.parquet"
        pd.read_csv(_write(tmp_path / "plain.csv", lines), dtype=str).to_parquet(log)
    else:  # REES46 ships one file per month: two files with the same header
        months = tmp_path / "months"
        months.mkdir()
        _write(months / "2019-Oct-a.csv", lines[:100])
        _write(months / "2019-Oct-b.csv", [lines[0]] + lines[100:])
        log = months if shape == "folder" else months / "2019-Oct-*.csv"
    got, got_prov = _import(log, tmp_path / "raw")
    assert got == counts
    assert got_prov["rows_read"] == prov["rows_read"] and not any(got_prov["rows_dropped"].values())
    _same_tables(raw, tmp_path / "raw")


@needs_sample
def test_a_decimal_comma_stops_with_a_hint_and_is_read_when_the_mapping_says_so(plain, tmp_path):
    raw, counts, _ = plain
    log = _write(tmp_path / "events.csv", _semicolons(_lines(), decimal_comma=True))
    with pytest.raises(ReportError) as err:
        _import(log, tmp_path / "stopped")
    text = str(err.value)
    assert "\n" not in text and "column 'price'" in text and "events.csv" in text, text
    assert "are not numbers, above the 1% allowed" in text and "add 'decimal: \",\"' to the mapping" in text, text
    assert "3,06" in text or "197,43" in text or "," in text.split("(e.g.")[1], text
    assert not (tmp_path / "stopped").exists()
    (tmp_path / "comma.yaml").write_text('decimal: ","\n')
    got, prov = _import(log, tmp_path / "raw", tmp_path / "comma.yaml")
    assert got == counts and prov["decimal"] == "," and prov["mapping"] == "preset:rees46+file:comma.yaml"
    _same_tables(raw, tmp_path / "raw")
    orders = pd.read_parquet(tmp_path / "raw" / "orders.parquet")
    assert orders["total_usd"].sum() > 0  # revenue is read, not lost to missing prices


@needs_sample
def test_a_cut_off_last_line_is_dropped_and_counted_not_read_as_a_row(plain, tmp_path):
    raw, counts, prov = plain
    lines = _lines()
    cut = lines[-1][:30]  # '2019-10-01 02:4x:xx UTC,view,1' : a file copied by hand ends mid-row
    log = _write(tmp_path / "events.csv", [*lines, cut])
    got, got_prov = _import(log, tmp_path / "raw")
    assert got == counts  # no extra session from the broken row
    assert got_prov["rows_read"] == prov["rows_read"] + 1
    assert got_prov["rows_dropped"]["malformed"] == 1
    (example,) = got_prov["rows_dropped_examples"]["malformed"]
    assert example == f"events.csv line {len(lines) + 1}: {cut}"
    _same_tables(raw, tmp_path / "raw")


def test_many_malformed_rows_stop_the_import_naming_the_file(tmp_path):
    rows = ["sid,when,name", "a,2026-01-05T10:00:00Z,view", "a,2026-01-05T10:01:00Z,buy", "b,2026-01-05T11:00:00Z"]
    _write(tmp_path / "log.csv", rows)
    (tmp_path / "m.yaml").write_text(
        "columns: {session_id: sid, timestamp: when, event_type: name}\n"
        "event_types: {page_view: [view], purchase: [buy]}\n"
    )
    with pytest.raises(
        ReportError, match=r"1 of 3 rows \(33.3%\) are malformed rows \(wrong number of fields\)"
    ) as err:
        import_event_log(tmp_path / "log.csv", load_mapping(tmp_path / "m.yaml"), tmp_path / "raw")
    assert "log.csv line 4: b,2026-01-05T11:00:00Z" in str(err.value)


@needs_sample
@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "file events.csv is empty: no header and no rows"),
        (b"\xef\xbb\xbf\r\n", "file events.csv is empty: no header and no rows"),
        (None, "file events.csv has a header but no rows"),
    ],
)
def test_empty_and_header_only_files_say_exactly_that(tmp_path, content, message):
    path = tmp_path / "events.csv"
    path.write_bytes(content if content is not None else (_lines(0)[0] + "\n").encode())
    with pytest.raises(ReportError) as err:
        _import(path, tmp_path / "raw")
    assert str(err.value) == f"raw table 'event_log events.csv': {message}"


def test_a_header_only_parquet_file_says_so(tmp_path):
    pd.DataFrame({"event_time": pd.Series(dtype=str), "event_type": pd.Series(dtype=str)}).to_parquet(
        tmp_path / "e.parquet"
    )
    with pytest.raises(ReportError, match="file e.parquet has a header but no rows"):
        import_event_log(tmp_path / "e.parquet", load_mapping(preset="rees46"), tmp_path / "raw")


def _with_prices(lines: list[str], replace: dict[int, str]) -> list[str]:
    out = [lines[0]]
    for i, line in enumerate(lines[1:]):
        fields = line.split(",")
        fields[6] = replace.get(i, fields[6])
        out.append(",".join(fields))
    return out


@needs_sample
def test_na_and_unreadable_prices_are_counted_with_examples(plain, tmp_path):
    raw, counts, _ = plain
    lines = _lines()
    views = [i for i, ln in enumerate(lines[1:]) if ",view," in ln]
    log = _write(tmp_path / "events.csv", _with_prices(lines, {views[0]: "N/A", views[1]: "N/A", views[2]: "12.5 USD"}))
    got, prov = _import(log, tmp_path / "raw")
    assert got == counts
    (price,) = [v for v in prov["values_not_parsed"] if v["role"] == "price"]
    assert (price["missing"], price["not_parsed"], price["examples"]) == (2, 1, ["12.5 USD"])
    assert price["treated_as"] == "read_as_missing_no_revenue"
    from helpers.presentation.formatting import parse_table

    shown = parse_table(prov)
    row = shown[shown["column"] == "price"].iloc[0]
    assert row["then"] == "read as missing: no revenue from the row"
    assert (row["missing (empty or N/A)"], row["not parsed"], row["examples"]) == (2, 1, "12.5 USD")


@needs_sample
def test_unreadable_prices_above_the_share_stop_naming_column_and_values(tmp_path):
    lines = _lines()
    n_bad = int(len(lines) * MAX_UNPARSED_SHARE) + 2
    log = _write(tmp_path / "events.csv", _with_prices(lines, {i: "ask us" for i in range(n_bad)}))
    with pytest.raises(ReportError) as err:
        _import(log, tmp_path / "raw")
    text = str(err.value)
    assert text.startswith("raw table 'event_log events.csv', column 'price': ") and "(e.g. ask us)" in text, text
    assert "decimal" not in text


@needs_sample
def test_unreadable_timestamps_are_dropped_and_counted_or_stop_above_the_share(plain, tmp_path):
    _, counts, prov = plain
    lines = _lines()
    broken = [lines[0], *lines[1:], lines[1].replace("2019-10-01 02:41:42 UTC", "unknown")]
    got, got_prov = _import(_write(tmp_path / "one.csv", broken), tmp_path / "raw")
    assert got == counts
    assert got_prov["rows_dropped"]["timestamp_not_parsed"] == 1
    (ts,) = [v for v in got_prov["values_not_parsed"] if v["role"] == "timestamp"]
    assert ts["examples"] == ["unknown"] and ts["treated_as"] == "row_dropped"
    many = [lines[0]] + [
        ln.replace("2019-10-01", "01.10.2019", 1) if i % 10 == 0 else ln for i, ln in enumerate(lines[1:])
    ]
    with pytest.raises(ReportError, match=r"column 'event_time': 20 of 200 rows \(10.0%\) have a timestamp"):
        _import(_write(tmp_path / "many.csv", many), tmp_path / "raw_many")


def test_unreadable_quantities_are_read_as_one_and_counted(tmp_path):
    rows = ["sid,when,name,price,qty"] + [f"s{i},2026-01-05T10:0{i % 10}:00Z,view,5,1" for i in range(120)]
    rows += ["s1,2026-01-05T10:09:30Z,buy,5,two"]
    _write(tmp_path / "log.csv", rows)
    (tmp_path / "m.yaml").write_text(
        "columns: {session_id: sid, timestamp: when, event_type: name, price: price, quantity: qty}\n"
        "event_types: {page_view: [view], purchase: [buy]}\n"
    )
    import_event_log(tmp_path / "log.csv", load_mapping(tmp_path / "m.yaml"), tmp_path / "raw")
    prov = json.loads((tmp_path / "raw" / "provenance.json").read_text())
    (qty,) = [v for v in prov["values_not_parsed"] if v["role"] == "quantity"]
    assert (qty["not_parsed"], qty["examples"], qty["treated_as"]) == (1, ["two"], "read_as_1")
    assert pd.read_parquet(tmp_path / "raw" / "orders.parquet")["total_usd"].tolist() == [5.0]  # 5 USD x 1


@needs_sample
def test_a_decimal_comma_stops_the_run_in_one_line_before_any_notebook(roots, tmp_path):
    data, reports = roots
    log = _write(tmp_path / "events.csv", _semicolons(_lines(), decimal_comma=True))
    with pytest.raises(ReportError) as err:
        report.execute("comma", overrides={"event_log": str(log), "preset": "rees46"}, progress=False)
    assert "\n" not in str(err.value) and "decimal commas" in str(err.value)
    assert not (data / "comma").exists() and not any((data / ".imports").glob("*"))


@needs_sample
def test_the_pre_check_import_is_taken_by_01_without_reading_the_log_again(roots, tmp_path, monkeypatch):
    data, _ = roots
    log = _write(tmp_path / "events.csv", _lines())
    values = {"event_log": str(log), "preset": "rees46"}
    preflight(values)
    (kept,) = list((data / ".imports").iterdir())

    def no_second_read(*args, **kwargs):
        raise AssertionError("the log was imported twice")

    with monkeypatch.context() as patch:
        patch.setattr("helpers.data.ingest.import_event_log", no_second_read)
        counts = import_data(tmp_path / "raw", event_log=str(log), preset="rees46", session_gap_minutes=30.0)
    assert counts["sessions"] > 100 and (tmp_path / "raw" / "events.parquet").exists() and not kept.exists()
    preflight(values)
    _write(log, _lines(150))  # the file changed after the pre-check: 01 imports it afresh
    fresh = import_data(tmp_path / "raw2", **values)
    assert fresh["events"] == 150 and str(data) in str(paths.data_root())


@needs_sample
def test_the_benchmark_tiles_the_sample_with_new_session_and_user_ids(tmp_path):
    out = bench.tile_rees46(SHARED_SAMPLE, 1000, tmp_path / "tiled.csv")
    tiled = pd.read_csv(out)
    sample = pd.read_csv(SHARED_SAMPLE)
    assert len(tiled) == 1000 and list(tiled.columns) == list(sample.columns)
    assert tiled["user_session"].nunique() > sample["user_session"].nunique()
    first = tiled.iloc[: len(sample)]
    assert first["user_session"].nunique() == sample["user_session"].nunique()
    counts = import_event_log(out, load_mapping(preset="rees46"), tmp_path / "raw")
    assert counts["events"] == 1000 and counts["orders"] >= 3


def test_the_events_file_is_written_in_event_id_order_numbered_by_session_time_and_type(plain):
    events = pd.read_parquet(plain[0] / "events.parquet")
    assert events["event_id"].tolist() == list(range(1, len(events) + 1))
    keys = list(events[["session_id", "ts", "event_type"]].itertuples(index=False, name=None))
    assert keys == sorted(keys)


@pytest.mark.parametrize(
    "text",
    [
        "a,b\r\n1,2\r\n3,4\r\n",  # CRLF
        "a,b\r1,2\r3,4\r",  # CR alone
        'a,b\n"x,\ny",2\n"q""z",3\n',  # quoted delimiter, line break and quote
        "a;b\n'x;y';2\n",  # semicolons, single quotes
        "a,b\n1,2\n3,4,5\n6\n",  # rows with too many and too few fields
    ],
)
def test_a_csv_read_with_its_sniffed_dialect_written_out_reads_the_same_rows(tmp_path, text):
    log = tmp_path / "log.csv"
    log.write_text(text, encoding="utf-8", newline="")
    pinned = duck.log_source_sql([log])
    assert "auto_detect=false" in pinned  # the sniffed dialect is written out
    sniffing = (
        f"read_csv([{duck.literal(str(log))}], all_varchar = true, header = true, null_padding = false, "
        "strict_mode = true, ignore_errors = true, store_rejects = true)"
    )
    assert duck.connect().execute(f"SELECT * FROM {pinned}").fetchall() == (
        duck.connect().execute(f"SELECT * FROM {sniffing}").fetchall()
    )


@needs_sample
def test_the_provenance_table_shows_values_not_parsed_by_column(plain, tmp_path):
    from helpers.presentation.formatting import provenance_html

    lines = _lines()
    views = [i for i, ln in enumerate(lines[1:]) if ",view," in ln]
    log = _write(tmp_path / "events.csv", _with_prices(lines, {views[0]: "N/A", views[1]: "12.5 USD"}))
    _, prov = _import(log, tmp_path / "raw")
    shown = provenance_html(prov)
    assert "values not parsed" in shown
    assert "price: 1 not parsed, 1 missing (e.g. 12.5 USD), read as missing: no revenue from the row" in shown
    assert "every value read in event_time (timestamp)" in shown


def _session_table(folder: Path, change) -> tuple[Path, Path]:

    table, mapping = realfixtures.session_table(folder)
    (folder / "st.yaml").write_text(mapping)
    frame = change(pd.read_csv(table).astype(object))
    frame.to_csv(table, index=False)
    return table, folder / "st.yaml"


def test_a_session_table_drops_and_counts_rows_whose_values_do_not_parse(tmp_path):
    def spoil(frame):
        frame.loc[3, "start"] = "someday"
        frame.loc[5, "revenue"] = "N/A"
        frame.loc[7, "pages"] = "many"
        return frame

    table, mapping = _session_table(tmp_path, spoil)
    counts = import_data(tmp_path / "raw", session_table=str(table), mapping=str(mapping))
    prov = json.loads((tmp_path / "raw" / "provenance.json").read_text())
    assert counts["sessions"] == prov["rows_read"] - 3 == 2497
    assert prov["rows_dropped"] == {"value_missing_or_not_parsed": 3}
    by_role = {v["role"]: (v["missing"], v["not_parsed"], v["examples"]) for v in prov["values_not_parsed"]}
    assert by_role["started_at"] == (0, 1, ["someday"])
    assert by_role["revenue"] == (1, 0, [])
    assert by_role["events"] == (0, 1, ["many"])
    assert by_role["seconds"] == by_role["purchased"] == (0, 0, [])


def test_a_session_table_with_too_many_unreadable_values_stops_naming_the_column(tmp_path):
    def spoil(frame):
        frame.loc[: int(len(frame) * MAX_UNPARSED_SHARE) + 1, "converted"] = "yes"
        return frame

    table, mapping = _session_table(tmp_path, spoil)
    with pytest.raises(ReportError) as err:
        import_data(tmp_path / "raw", session_table=str(table), mapping=str(mapping))
    text = str(err.value)
    assert text.startswith("raw table 'session_table sessions.csv', column 'converted': ") and "(e.g. yes)" in text
    assert "not a number IN (0, 1)" in text and not (tmp_path / "raw").exists()
