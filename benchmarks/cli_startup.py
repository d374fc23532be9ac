"""How long ``pump-programmer plan FILE --json`` takes from a fresh process, against ``import pydantic``.

    .venv/bin/python benchmarks/cli_startup.py [--runs N] [--importtime]

Why: ``plan`` is what a script runs many times over (one program after another), and its time is nearly all
start-up: imports, pydantic models built, the drug library's signature checked. The target (issue 11) is at
most 1.5x the time of ``python -c "import pydantic"``. That import is lazy (pydantic loads ``BaseModel`` and
what building a model needs on first use), so the target sits below what any use of pydantic costs: the script
also times two floors, ``from pydantic import BaseModel`` alone and one model defined and validated (the least any
command that validates a document with a pydantic model costs), and prints plan's ratio to the second, to show how
much of the remainder is the programmer's own. The program format has one validation path, its pydantic models
(a second validator, faster to load, would be a second definition of what a valid program is), so the 1.5x target
is out of reach by construction; what is left to the programmer is its own models (the program's, the drug
library's, the signature's and the trust store's, the pump's: each one ``plan`` validates with), the library's
signature check (Ed25519, run on every command) and the command's own work.

Every command is a fresh process of this virtual environment's interpreter, run in turn with the others (one
round runs each once, so a machine that slows down slows all of them alike), ``--runs`` rounds (default 15); it
prints each one's median wall time and its ratio to ``import pydantic``:

- ``python -c pass``: the interpreter alone (with this environment's site, the editable install's finder);
- ``python -c "import pydantic"``: the baseline;
- ``python -c "from pydantic import BaseModel"``: the first floor, pydantic's model machinery loaded;
- one pydantic model defined and validated (``python -c``, plugins off as the command has them): the second floor,
  that least;
- ``pump-programmer plan FILE --json``: the console script the install made (``.venv/bin/pump-programmer``);
- ``python -m programmer.cli plan FILE --json``: the same command through the package.

``FILE`` is ``examples/baclofen-flex-week.json`` (a 7-day flex cycle) with a 15 mL reservoir, checked against
the shipped drug library (its signature verified, as every run does). Each run's exit code and output are
checked, so a command that fails fast is never timed as a fast one. The processes run without
``PYTHONDONTWRITEBYTECODE``, so that the untimed first round leaves the bytecode caches that any installed copy
has (with it set, every run would compile the programmer's sources again, and the baseline's are cached).

It also times what the signature check of the shipped library adds to every command, in a fresh process that
has already read a program document (so pydantic is imported and has built its first model): importing
``cryptography``'s Ed25519 and ``programmer.library_signing``, reading the signature and the trust store, and
verifying (``library_signing.read_approved``). The check runs on every command, uncached: a record of "this
file was verified" that the user's account can write (a cache directory) would let a changed library pass as
the shipped, approved one, and a record no user can write (one in memory) no later process sees.

``--importtime`` then runs the command once more under ``python -X importtime`` and prints the 15 modules
that took longest to import, counting what they imported (cumulative microseconds), to show what is left.
Timing never fails the run (machines differ); the exit status is non-zero only when a command failed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROGRAM = ROOT / "examples" / "baclofen-flex-week.json"
PLAN_ARGS = ["plan", str(PROGRAM), "--reservoir-ml", "15", "--start", "2026-03-04T07:30:00", "--json"]
TARGET_RATIO = 1.5
TOP_MODULES = 15

ONE_MODEL = """import os
os.environ["PYDANTIC_DISABLE_PLUGINS"] = "__all__"
from pydantic import BaseModel, Field
class Reservoir(BaseModel):
    volume_ml: float = Field(gt=0)
Reservoir.model_validate({"volume_ml": 15.0}, strict=True)
"""

BASELINE = "python -c \"import pydantic\""
ONE_MODEL_FLOOR = "python -c (one pydantic model validated)"
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    BASELINE: [sys.executable, "-c", "import pydantic"],
    "python -c \"from pydantic import BaseModel\"": [sys.executable, "-c", "from pydantic import BaseModel"],
    ONE_MODEL_FLOOR: [sys.executable, "-c", ONE_MODEL],
    "pump-programmer plan --json": [str(BIN / "pump-programmer"), *PLAN_ARGS],
    "python -m programmer.cli plan --json": [sys.executable, "-m", "programmer.cli", *PLAN_ARGS],
}
PLAN_COMMANDS = ("pump-programmer plan --json", "python -m programmer.cli plan --json")
ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


SIGNATURE_CHECK = f"""import time
from importlib import resources
from programmer.program import load_program
load_program({str(PROGRAM)!r})  # pydantic's first model build, which every command pays, is not the check's
started = time.perf_counter()
from programmer.library_signing import read_approved
data = resources.files("programmer") / "data"
read_approved(data / "drug_library.json", data / "drug_library.json.sig", "shipped", "shipped signature")
print(time.perf_counter() - started)
"""


def signature_check() -> float:
    """Seconds the signature check of the shipped library takes in a fresh process (imports included)."""
    done = subprocess.run([sys.executable, "-c", SIGNATURE_CHECK], capture_output=True, text=True, cwd=ROOT,
                          env=ENVIRONMENT, check=True)
    return float(done.stdout)


def run_once(name: str, argv: list[str]) -> float:
    """One fresh process, to its exit: the wall time in seconds. A plan that fails, or prints something other
    than its JSON object, ends the benchmark (SystemExit with the command's error)."""
    started = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=ENVIRONMENT)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} exited {done.returncode}: {done.stderr.strip()}")
    if name in PLAN_COMMANDS and "days_to_empty" not in json.loads(done.stdout):
        raise SystemExit(f"{name} printed no plan: {done.stdout[:200]}")
    return elapsed


def measure(runs: int) -> tuple[dict[str, float], float]:
    """Each command's median wall time over ``runs`` rounds, the commands alternating within a round, and the
    signature check's median. One untimed round first, so the operating system's file cache (and the bytecode
    caches) are warm for all of them alike."""
    for name, argv in COMMANDS.items():
        run_once(name, argv)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    checks = []
    for _ in range(runs):
        for name, argv in COMMANDS.items():
            times[name].append(run_once(name, argv))
        checks.append(signature_check())
    return {name: statistics.median(values) for name, values in times.items()}, statistics.median(checks)


def importtime_top(argv: list[str], count: int) -> list[tuple[int, int, str]]:
    """The ``count`` modules with the largest cumulative import time when ``argv`` runs under ``-X importtime``
    (argv without its interpreter): (cumulative us, self us, module), largest first."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, cwd=ROOT,
                          env=ENVIRONMENT)
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, module = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative), int(own), module.rstrip()))
    return sorted(rows, reverse=True)[:count]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="rounds of every command (default 15)")
    parser.add_argument("--importtime", action="store_true",
                        help=f"also show the {TOP_MODULES} slowest imports of plan --json (python -X importtime)")
    args = parser.parse_args()

    print(f"{args.runs} rounds, fresh processes, commands alternating; program {PROGRAM.relative_to(ROOT)}")
    medians, check = measure(args.runs)
    baseline = medians[BASELINE]
    for name, median in medians.items():
        print(f"  {name:42s} median {median * 1000:6.1f} ms  {median / baseline:4.2f}x import pydantic")
    print(f"  {'of which the library signature check':42s} median {check * 1000:6.1f} ms  "
          f"{check / baseline:4.2f}x import pydantic (in process, its imports included)")
    floor = medians[ONE_MODEL_FLOOR]
    print(f"the floor (one pydantic model validated) is itself {floor / baseline:.2f}x import pydantic, above the "
          f"{TARGET_RATIO}x target")
    for name in PLAN_COMMANDS:
        ratio = medians[name] / baseline
        verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
        print(f"target: {name} at most {TARGET_RATIO}x import pydantic: {ratio:.2f}x, {verdict}; "
              f"{medians[name] / floor:.2f}x the floor")

    if args.importtime:
        print(f"\n{TOP_MODULES} slowest imports of python -m programmer.cli plan --json (cumulative, self; us):")
        for cumulative, own, module in importtime_top(["-m", "programmer.cli", *PLAN_ARGS], TOP_MODULES):
            print(f"  {cumulative:8d} {own:8d} {module}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
