"""Issue 25's closing figures: the whole fuzz corpus (tests/fuzz_corpus.py) through every
`neuron` command and the editor's open paths, counted.

    PYTHONPATH=. nice -n 10 python scripts/fuzz_report.py [--out docs/eval/fuzz.json]
        [--jobs 2] [--commands metrics,refine,...] [--no-editor]

Runs the same subprocesses as tests/test_fuzz_cli.py (`-m slow`, NEURON_FUZZ_FULL=1) and
tests/qt/test_open_fuzz.py (NEURON_FUZZ_FULL=1) — same commands, time limits and RLIMIT_AS —
but instead of stopping at the first failure it classifies every run and prints the figures:
inputs tried, CLI runs, clear errors, crashes (a traceback, "internal error" or exit 70),
hangs (over the time limit), memory kills (ended by a signal), wrong outcomes (a valid image
refused or a bad one accepted), data losses (an input changed) and leftovers (temp files,
or an output written for a refused file). Writes them as JSON with every problem listed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from neuron_desktop.core.imageio import SUPPORTED_EXTENSIONS  # noqa: E402
from tests.fuzz_corpus import make_corpus  # noqa: E402
from tests.test_fuzz_cli import (  # noqa: E402
    FILE_TIMEOUT,
    FOLDER_COMMANDS,
    FOLDER_TIMEOUT,
    SINGLE_COMMANDS,
    SPECIAL,
    _limits,
    leftovers,
    snapshot,
)


def run_cli(args: list[str], cwd: Path, timeout: float) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), NEURON_DEVICE="cpu", OMP_NUM_THREADS="1",
               PYTHONWARNINGS="ignore")
    env.pop("NEURON_DEBUG", None)
    t0 = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "neuron_desktop.cli", *args], cwd=cwd,
                              env=env, preexec_fn=_limits, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        err = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else ""
        return {"rc": None, "hang": True, "stderr": err or "", "stdout": "",
                "seconds": round(time.monotonic() - t0, 1)}
    return {"rc": proc.returncode, "hang": False, "stderr": proc.stderr,
            "stdout": proc.stdout, "seconds": round(time.monotonic() - t0, 1)}


def crashed(res: dict) -> bool:
    return ("Traceback" in res["stderr"] or "internal error" in res["stderr"]
            or res["rc"] == 70)


class Tally:
    def __init__(self) -> None:
        self.runs = 0
        self.counts = dict(ok=0, clear_errors=0, crashes=0, hangs=0, memory_kills=0,
                           wrong_outcomes=0, data_losses=0, leftovers=0)
        self.problems: list[str] = []
        self.seconds = 0.0
        self.before: dict[str, str] = {}

    def add(self, key: str, what: str | None = None, n: int = 1) -> None:
        self.counts[key] += n
        if what:
            self.problems.append(f"{key}: {what}")


def ended_abnormally(res: dict, label: str, tally: Tally) -> bool:
    """Count the run; True when it hung or was killed (nothing more to judge)."""
    tally.runs += 1
    tally.seconds += res["seconds"]
    if res["hang"]:
        tally.add("hangs", label)
    elif res["rc"] < 0:
        tally.add("memory_kills", f"{label}: signal {-res['rc']}")
    else:
        return False
    return True


def run_folder(command: str, folder: Path, cases, before, tmp: Path, tally: Tally) -> None:
    out = tmp / f"folder-{command}"
    res = run_cli([*FOLDER_COMMANDS[command](folder), "-o", str(out), "-q"], tmp,
                  FOLDER_TIMEOUT)
    label = f"{command} FOLDER"
    if ended_abnormally(res, label, tally):
        return
    if crashed(res):
        tally.add("crashes", f"{label}: {res['stderr'][-800:]}")
    listed = [c for c in cases if c.name.endswith(SUPPORTED_EXTENSIONS)]
    errors = [ln for ln in res["stderr"].splitlines() if ln.startswith("neuron: error: ")]
    for c in listed:
        line = next((ln for ln in errors if f"/{c.name}'" in ln), "")
        if line:
            tally.add("clear_errors")
            dark_mask = command == "inpaint" and "mask is empty" in line
            if c.expect == "ok" and not dark_mask:
                tally.add("wrong_outcomes", f"{label}: {c.name} refused: {line}")
        else:
            tally.add("ok")
            if c.expect == "error":
                tally.add("wrong_outcomes", f"{label}: {c.name} not refused")
    wrote = sum(ln.startswith("wrote ") for ln in res["stdout"].splitlines())
    if out.exists() and wrote != len(list(out.iterdir())):
        tally.add("leftovers", f"{label}: {wrote} written, {len(list(out.iterdir()))} files")
    if snapshot(folder) != before:
        tally.add("data_losses", f"{label}: an input changed")
    if leftovers(out if out.exists() else tmp) or leftovers(folder):
        tally.add("leftovers", f"{label}: temp files")


def run_single(command: str, c, folder: Path, tmp: Path) -> tuple[str, object, dict, Path]:
    work = tmp / f"single-{command}-{c.name.encode().hex()[:40]}"
    work.mkdir()
    out = work / "o.png"
    args = SINGLE_COMMANDS[command](str(folder / c.name), str(out))
    if command != "metrics":
        args.append("-q")
    return command, c, run_cli(args, work, FILE_TIMEOUT), work


def judge_single(command: str, c, res: dict, work: Path, tally: Tally) -> None:
    label = f"{command} {c.name}"
    if ended_abnormally(res, label, tally):
        return
    if crashed(res):
        return tally.add("crashes", f"{label}: {res['stderr'][-800:]}")
    if res["rc"] == 0:
        tally.add("ok")
        if c.expect == "error":
            tally.add("wrong_outcomes", f"{label}: not refused")
    else:
        lines = [ln for ln in res["stderr"].splitlines() if ln.startswith("neuron: error")]
        if lines and c.name in res["stderr"]:
            tally.add("clear_errors")
        else:
            tally.add("wrong_outcomes", f"{label}: unclear: {res['stderr'][-300:]!r}")
        if c.expect == "ok":
            tally.add("wrong_outcomes", f"{label}: a valid image refused: "
                                        f"{res['stderr'].strip()[-300:]}")
        if (work / "o.png").exists():
            tally.add("leftovers", f"{label}: an output written for a refused file")
    if leftovers(work):
        tally.add("leftovers", f"{label}: temp files {leftovers(work)}")


def run_editor(folder: Path, cases, tmp: Path, tally: Tally) -> dict:
    """The editor's open paths (File ▸ Open, drop, command line FILE): every case."""
    from tests.qt.test_open_fuzz import DRIVER, _check

    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen",
           "NEURON_RECOVERY_DIR": str(tmp / "recovery"), "NEURON_SETTINGS_DIR": str(tmp / "s"),
           "XDG_DATA_HOME": str(tmp / "data"), "XDG_CACHE_HOME": str(tmp / "cache"),
           "XDG_CONFIG_HOME": str(tmp / "config"), "NEURON_DEVICE": "cpu",
           "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    names = sorted(c.name for c in cases)
    expect = {c.name: c.expect for c in cases}
    bad = sorted(n for n in names if expect[n] == "error")
    figures = {"processes": 0, "opens": 0, "opened": 0, "clear_errors": 0, "escaped": 0,
               "hangs": 0, "processes_crashed": 0, "problems": []}
    for mode, args, n in (("fuzz", [str(folder), str(tmp / "fuzz.json"), *names], len(names)),
                          ("cli", [str(tmp / "cli.json"), *(str(folder / m) for m in bad)],
                           len(bad))):
        figures["processes"] += 1
        try:
            proc = subprocess.run([sys.executable, str(DRIVER), mode, *args], env=env,
                                  cwd=tmp, preexec_fn=_limits, capture_output=True,
                                  text=True, timeout=120 + 30 * n, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
            figures["hangs"] += 1
            figures["problems"].append(f"editor {mode}: the process ran over {exc.timeout} s; "
                                       f"its last output: {out[-300:]!r}")
            continue
        if proc.returncode != 0 or "Traceback" in proc.stderr or "DRIVER-ERROR" in proc.stdout:
            figures["processes_crashed"] += 1
            figures["problems"].append(f"editor {mode}: exit {proc.returncode} "
                                       f"{(proc.stdout + proc.stderr)[-800:]}")
            continue
        results = json.loads((tmp / f"{mode}.json").read_text())
        escaped = results.pop("_escaped", [])
        results.pop("_close_seconds", None)
        for name, res in results.items():
            escaped += res.get("escaped", [])
            figures["opens"] += 1
            figures["opened" if res["opened"] else "clear_errors"] += 1
            figures["hangs"] += bool(res["hang"])
            figures["problems"] += _check(name, expect[name], res)
        figures["escaped"] += len(escaped)
    if snapshot(folder) != tally.before:
        tally.add("data_losses", "the editor changed an input")
    return figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=REPO / "docs" / "eval" / "fuzz.json")
    ap.add_argument("--jobs", type=int, default=2, help="CLI runs at a time (default 2)")
    ap.add_argument("--commands", default=",".join(SINGLE_COMMANDS),
                    help="file-by-file commands (default: all of them)")
    ap.add_argument("--no-folders", action="store_true")
    ap.add_argument("--no-editor", action="store_true")
    args = ap.parse_args(argv)
    commands = [c for c in args.commands.split(",") if c]
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="neuron-fuzz-") as td:
        tmp = Path(td)
        folder = tmp / "corpus"
        folder.mkdir()
        cases = make_corpus(folder)
        tally = Tally()
        tally.before = snapshot(folder)
        if not args.no_folders:
            for command in FOLDER_COMMANDS:
                print(f"folder: {command}", flush=True)
                run_folder(command, folder, cases, tally.before, tmp, tally)
            res = run_cli(["detect-scratches", *(str(folder / n) for n in [*SPECIAL, "plain.png"]),
                           "-o", str(tmp / "special"), "-q", "--method", "classical"], tmp,
                          FILE_TIMEOUT)
            tally.runs += 1
            if res["hang"] or res["rc"] is None or res["rc"] < 0 or crashed(res):
                tally.add("crashes", f"special files: {res}")
            else:
                tally.add("clear_errors", n=sum(ln.startswith("neuron: error: ")
                                                for ln in res["stderr"].splitlines()))
        for command in commands:
            print(f"file by file: {command} ({len(cases)} inputs)", flush=True)
            with ThreadPoolExecutor(max(1, args.jobs)) as pool:
                for cmd, c, res, work in pool.map(
                        lambda c, command=command: run_single(command, c, folder, tmp), cases):
                    judge_single(cmd, c, res, work, tally)
            if snapshot(folder) != tally.before:
                tally.add("data_losses", f"{command}: an input changed")
        editor = None if args.no_editor else run_editor(folder, cases, tmp, tally)
        if snapshot(folder) != tally.before:
            tally.add("data_losses", "an input changed")
        report = {
            "issue": 25,
            "date": time.strftime("%Y-%m-%d %H:%M"),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, shared",
            "inputs_tried": len(cases),
            "inputs_by_expectation": {k: sum(c.expect == k for c in cases)
                                      for k in ("ok", "either", "error")},
            "cli_commands_file_by_file": commands,
            "cli_folder_commands": [] if args.no_folders else list(FOLDER_COMMANDS),
            "cli_runs": tally.runs,
            "cli_outcomes": {"processed": tally.counts["ok"],
                             "clear_errors": tally.counts["clear_errors"]},
            "crashes": tally.counts["crashes"],
            "hangs": tally.counts["hangs"] + (editor["hangs"] if editor else 0),
            "memory_kills": tally.counts["memory_kills"],
            "data_losses": tally.counts["data_losses"],
            "leftovers": tally.counts["leftovers"],
            "wrong_outcomes": tally.counts["wrong_outcomes"],
            "editor": editor,
            "problems": tally.problems,
            "cli_seconds": round(tally.seconds),
            "wall_seconds": round(time.monotonic() - t_start),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = args.out.with_name(f".{args.out.name}.tmp")
    tmp_out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    os.replace(tmp_out, args.out)
    summary = {k: v for k, v in report.items() if k not in ("problems", "editor")}
    if editor:
        summary["editor"] = {k: v for k, v in editor.items() if k != "problems"}
    print(json.dumps(summary, indent=1, ensure_ascii=False))
    for p in report["problems"] + (editor["problems"] if editor else []):
        print("PROBLEM", p[:400])
    bad = (report["crashes"] + report["hangs"] + report["memory_kills"] + report["data_losses"]
           + report["leftovers"] + (editor["escaped"] + editor["processes_crashed"]
                                    + len(editor["problems"]) if editor else 0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
