"""Recipes: a small TOML file naming a chain of steps and their parameters.

    [recipe]
    name = "restore-scan"
    description = "..."

    [[step]]
    use = "detect-scratches"
    sensitivity = 0.5

    [[step]]
    use = "export"
    format = "tiff"

Validation errors name the file and the line (``RecipeError``), e.g.
``restore.toml:7: colorize: temperature must be in (0, 2], got 5``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from neuron_desktop.core.errors import NeuronError

RECIPE_FORMAT = 1
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?")
_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")


class RecipeError(NeuronError):
    """A recipe could not be read or is invalid; the message names the file and line."""


@dataclass(frozen=True)
class Step:
    """One step of a recipe: ``use`` (a step name) and its full, validated parameters."""

    use: str
    params: dict
    line: int = 0


@dataclass(frozen=True)
class Recipe:
    """A parsed, validated recipe. ``text`` is the file's text (its hash keys a job)."""

    name: str
    steps: tuple[Step, ...]
    description: str = ""
    source: str = "<recipe>"
    text: str = field(default="", repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def export(self) -> Step:
        return self.steps[-1]

    @property
    def work_steps(self) -> tuple[Step, ...]:
        """The steps before the export."""
        return self.steps[:-1]


def shipped_recipes() -> list[str]:
    """Names of the recipes that ship with the app."""
    folder = resources.files("neuron_desktop.batch") / "recipes"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A recipe file, or the name of a shipped one (``restore-scan``)."""
    path = Path(name_or_path)
    if not path.is_file() and str(name_or_path) in shipped_recipes():
        res = resources.files("neuron_desktop.batch") / "recipes" / f"{name_or_path}.toml"
        return parse_recipe(res.read_text("utf-8"), source=f"{name_or_path}.toml")
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise RecipeError(f"recipe '{path}' not found (shipped recipes: "
                          f"{', '.join(shipped_recipes())})") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"cannot read recipe '{path}': {exc}") from exc
    return parse_recipe(text, source=str(path))


def parse_recipe(text: str, source: str = "<recipe>") -> Recipe:
    """Parse and validate recipe ``text``; every error names ``source`` and a line."""
    from neuron_desktop.batch.steps import NOT_BATCHABLE, STEPS

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        where = f"{source}:{line.group(1)}" if line else source
        raise RecipeError(f"{where}: not valid TOML: {exc}") from exc
    lines = _key_lines(text)

    def fail(message: str, *where: object) -> RecipeError:
        return RecipeError(f"{source}:{lines.get(where, lines.get(where[:1], 1))}: {message}")

    for key in data:
        if key not in ("recipe", "step"):
            raise fail(f"unknown table or key '{key}' (expected [recipe] and [[step]])", key)
    meta = data.get("recipe", {})
    if not isinstance(meta, dict):
        raise fail("'recipe' must be a table: [recipe]", "recipe")
    for key in meta:
        if key not in ("name", "description", "format"):
            raise fail(f"unknown key '{key}' in [recipe] (name, description, format)",
                       "recipe", key)
    if meta.get("format", RECIPE_FORMAT) != RECIPE_FORMAT:
        raise fail(f"recipe format {meta['format']!r} is not supported (use {RECIPE_FORMAT})",
                   "recipe", "format")
    raw_steps = data.get("step")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise RecipeError(f"{source}:1: a recipe needs at least one [[step]] table")
    steps = []
    for i, raw in enumerate(raw_steps):
        at = ("step", i)
        use = raw.get("use")
        if use is None:
            raise fail("step has no 'use = \"...\"' (the step name)", *at)
        if use in NOT_BATCHABLE:
            raise fail(f"'{use}' cannot be a batch step: {NOT_BATCHABLE[use]}", *at, "use")
        if use not in STEPS:
            raise fail(f"unknown step '{use}' (available: {', '.join(STEPS)})", *at, "use")
        params = {}
        spec = STEPS[use].params
        for key, value in raw.items():
            if key == "use":
                continue
            if key not in spec:
                raise fail(f"{use}: unknown parameter '{key}' (available: "
                           f"{', '.join(spec) or 'none'})", *at, key)
            try:
                params[key] = spec[key].check(value)
            except ValueError as exc:
                raise fail(f"{use}: {key} {exc}", *at, key) from None
        for key, p in spec.items():
            if p.required and key not in params:
                raise fail(f"{use}: '{key}' is required ({p.help})", *at)
        full = {k: p.default for k, p in spec.items()} | params
        if STEPS[use].check is not None:
            try:
                STEPS[use].check(full)
            except NeuronError as exc:
                raise fail(f"{use}: {exc}", *at) from None
        steps.append(Step(use, full, lines.get(at, 1)))
    _check_chain(steps, fail)
    name = meta.get("name") or Path(source).stem
    return Recipe(str(name), tuple(steps), str(meta.get("description", "")), source, text)


def dump_recipe(name: str, steps: list[tuple[str, dict]], description: str = "") -> str:
    """TOML text of a recipe from (step name, parameters) pairs, an ``export`` last (added
    with its defaults if missing). For the editor's "save steps as recipe"; the text is
    validated by :func:`parse_recipe` before it is returned."""
    if not steps or steps[-1][0] != "export":
        steps = [*steps, ("export", {})]
    lines = ["[recipe]", f"name = {_toml_value(name)}"]
    if description:
        lines.append(f"description = {_toml_value(description)}")
    lines.append(f"format = {RECIPE_FORMAT}")
    for use, params in steps:
        lines += ["", "[[step]]", f"use = {_toml_value(use)}"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in params.items()]
    text = "\n".join(lines) + "\n"
    parse_recipe(text, source=f"{name}.toml")
    return text


def steps_from_records(records: list[dict]) -> tuple[list[tuple[str, dict]], list[str]]:
    """Recipe steps from edit-record entries (``capability`` + ``params``, as the editor's
    history keeps them): each step with the parameters a recipe step takes; returns (steps,
    names of the entries no recipe step can repeat: brush strokes, hints, ...)."""
    from neuron_desktop.batch.steps import STEPS

    steps, skipped = [], []
    for entry in records:
        use = entry.get("capability")
        if use not in STEPS or use == "export":
            skipped.append(str(entry.get("name", use)))
            continue
        known = STEPS[use].params
        params = {k: v for k, v in (entry.get("params") or {}).items()
                  if k in known and v is not None}
        steps.append((use, params))
    return steps, skipped


def _toml_value(v: object) -> str:
    import json

    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a TOML basic string


def _check_chain(steps: list[Step], fail) -> None:
    from neuron_desktop.batch.steps import STEPS

    names = [s.use for s in steps]
    makers = [n for n, spec in STEPS.items() if spec.target == "mask"]
    if names[-1] != "export":
        raise fail("the last step must be 'export' (it writes the output file)",
                   "step", len(steps) - 1)
    if "export" in names[:-1]:
        raise fail("'export' may appear only once, as the last step",
                   "step", names.index("export"))
    for i, name in enumerate(names):
        if "mask" in STEPS[name].needs and not set(makers) & set(names[:i]):
            where = " or ".join(f"'{n}'" for n in makers)
            raise fail(f"{name} needs a mask: put a {where} step before it", "step", i)


def _key_lines(text: str) -> dict[tuple, int]:
    """1-based lines of tables and keys: ("recipe",), ("recipe", key), ("step", i),
    ("step", i, key). Enough for error messages; tomllib has already checked the syntax."""
    lines: dict[tuple, int] = {}
    table: tuple = ()
    steps = -1
    for n, line in enumerate(text.splitlines(), 1):
        head = _HEADER.match(line)
        if head:
            if head.group(1) == "[[" and head.group(2) == "step":
                steps += 1
                table = ("step", steps)
            else:
                table = (head.group(2),)
            lines.setdefault(table, n)
            continue
        key = _KEY.match(line)
        if key:
            lines.setdefault((*table, key.group(1)) if table else (key.group(1),), n)
    return lines
