"""Run parameters: read what each notebook declares, merge scenario and command line, check them.

Usage::

    from helpers.runner import params
    declared = params.declared(notebooks)                 # name -> type name and default
    values = params.resolve(declared, scenario="time_matters", overrides="n_sessions=5000")

Every check happens before any notebook runs, and a failure names the parameter and what is
allowed, in one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from pathlib import Path

from helpers import paths, registry
from helpers.data.files import read_yaml_mapping
from helpers.errors import ParameterError

RUN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")

RULES = registry.RULES  # the allowed values of parameters that are not simulator knobs (SimConfig checks those)


def declared(notebooks: list[Path]) -> dict[str, dict]:
    """Parameters declared in the ``parameters`` cells of ``notebooks``: name -> spec.

    A parameter shared by several notebooks must have one type and one default in all of them;
    otherwise a run would depend on which notebook read it, so this raises ParameterError.
    """
    found: dict[str, dict] = {}
    for nb in notebooks:
        for name, spec in inspect(nb).items():
            first = found.setdefault(name, {**spec, "notebooks": []})
            for key in ("default", "inferred_type_name"):
                if first[key] != spec[key]:
                    raise ParameterError(
                        f"parameter '{name}' has {key.replace('inferred_type_name', 'type')} {first[key]} in "
                        f"{first['notebooks'][0]} but {spec[key]} in {nb.stem}: shared parameters must agree"
                    )
            first["notebooks"].append(nb.stem)
    return found


def notebook_defaults(notebook: str) -> dict:
    """The defaults a numbered notebook declares (``notebooks/<notebook>.ipynb``), as Python values."""
    spec = inspect(paths.NOTEBOOKS_DIR / f"{notebook}.ipynb")
    return {name: default_value(s) for name, s in spec.items()}


def inspect(nb: Path) -> dict[str, dict]:
    """``papermill.inspect_notebook(nb)``, kept in ``data/.cache/parameters.json`` by the notebook's bytes and
    papermill's version: importing papermill alone takes half a second, most of a rerun with nothing to do."""
    from importlib.metadata import version

    from helpers.data.files import write_json

    text = Path(nb).read_bytes()
    key = hashlib.sha256(text + version("papermill").encode()).hexdigest()[:20]
    cache = paths.data_root() / ".cache" / "parameters.json"
    try:
        known = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    if key not in known:
        import papermill

        known = dict(list(known.items())[-50:]) | {key: papermill.inspect_notebook(str(nb))}  # the last 50 kept
        with contextlib.suppress(OSError):  # a read-only data folder only costs the import next time
            write_json(known, cache)
    return known[key]


def check_run_name(run: str) -> None:
    """A run name names folders: letters, digits, '_', '.' or '-', not starting with '.'."""
    if not RUN_NAME.match(str(run)):
        raise ParameterError(
            f"parameter 'run' must be letters, digits, '_', '.' or '-' (not starting with '.'), got {run!r}"
        )


def parse_overrides(text: str | None) -> dict[str, str]:
    """Parse ``"a=1 b=x"`` into strings; a token without '=' is an error."""
    out: dict[str, str] = {}
    for token in (text or "").split():
        if "=" not in token or token.startswith("="):
            raise ParameterError(f"parameter '{token}' must be written NAME=VALUE")
        name, value = token.split("=", 1)
        out[name.strip()] = value.strip()
    return out


def load_scenario(name: str | None) -> dict:
    """Parameters of ``notebooks/scenarios/<name>.yaml``."""
    if not name:
        return {}
    path = paths.SCENARIOS_DIR / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in paths.SCENARIOS_DIR.glob("*.yaml"))) or "none"
        raise ParameterError(f"scenario '{name}' does not exist; known scenarios: {known}")
    data = read_yaml_mapping(path, f"scenario '{name}'", "a mapping of parameter: value")
    return data.get("parameters", data)


def coerce(name: str, value, type_name: str):
    """Convert ``value`` to the notebook's declared type, or raise ParameterError."""
    type_name = (type_name or "None").lower()
    try:
        if type_name == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "yes"):
                return True
            if str(value).lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if type_name == "int":
            if isinstance(value, bool):
                raise ValueError
            text = str(value).replace("_", "")
            number = float(text)
            if not number.is_integer():
                raise ValueError
            return int(number)
        if type_name == "float":
            if isinstance(value, bool):
                raise ValueError
            number = float(str(value).replace("_", ""))
            if not math.isfinite(number):
                raise ValueError
            return number
        return str(value)
    except (TypeError, ValueError):
        raise ParameterError(f"parameter '{name}' must be {_article(type_name)} {type_name}, got {value!r}") from None


def _article(type_name: str) -> str:
    return "an" if type_name[:1] in "aeiou" else "a"


def resolve(declared_params: dict[str, dict], scenario: str | None = None, overrides: str | dict | None = None) -> dict:
    """Merge defaults < scenario < overrides, coerce types and check values."""
    given = dict(load_scenario(scenario))
    given.update(parse_overrides(overrides) if isinstance(overrides, str) or overrides is None else overrides)
    unknown = sorted(set(given) - set(declared_params))
    if unknown:
        allowed = ", ".join(sorted(declared_params))
        raise ParameterError(f"parameter '{unknown[0]}' is not declared by any notebook; allowed: {allowed}")
    values = {}
    for name, value in given.items():
        values[name] = coerce(name, value, declared_params[name].get("inferred_type_name"))
    check(values, declared_params)
    return values


def default_value(spec: dict):
    """The literal default of a declared parameter."""
    import ast

    return ast.literal_eval(spec["default"])


def check(values: dict, declared_params: dict[str, dict]) -> None:
    """Check value rules and the simulator's knob ranges on the merged parameters."""
    from helpers.data.simulate import SimConfig

    for name, value in values.items():
        if name in RULES:
            ok, allowed = RULES[name]
            if not ok(value):
                raise ParameterError(f"parameter '{name}' must be {allowed}, got {value!r}")
    if "run" in values:
        check_run_name(values["run"])
    for name, allowed in registry.CHOICES.items():
        if name in values and values[name] not in allowed:
            raise ParameterError(f"parameter '{name}' must be one of {', '.join(allowed)}, got {values[name]!r}")
    if values.get("data_dir"):
        folder = Path(str(values["data_dir"])).expanduser()
        if not folder.exists():
            raise ParameterError(f"parameter 'data_dir': folder {folder} does not exist")
    for name in ("event_log", "session_table", "mapping", "plan_file"):
        if values.get(name):
            file = Path(str(values[name])).expanduser()
            if not file.exists():
                raise ParameterError(f"parameter '{name}': file {file} does not exist")
    if values.get("plan_run"):  # the run that proposed the test read out: its 06 result must exist
        plan = paths.data_root() / str(values["plan_run"]) / "results" / "06_strategy.json"
        if not plan.exists():
            raise ParameterError(f"parameter 'plan_run': run '{values['plan_run']}' has no 06 result ({plan})")
    knobs = {f: values[f] for f in SimConfig.__dataclass_fields__ if f in values}
    if knobs:
        SimConfig(**knobs)
