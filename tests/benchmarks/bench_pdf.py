"""Benchmark: compiling the verrijkte opinie (DESIGN §8).

Not a test (pytest does not collect it): run it by hand,

    .venv/bin/python tests/benchmarks/bench_pdf.py            # 100 … 100,000
    .venv/bin/python tests/benchmarks/bench_pdf.py --sizes 100 1000 --no-write

Each size compiles in a fresh subprocess, so that its peak memory
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is its own. The data are made
on the fly by generators, like the database rows the service streams: names
in several scripts (one in twenty Arabic, Greek, Cyrillic or Ge'ez), one
motivating paragraph of about 700 characters per five signatories (so 20,000
at 100,000), one in twenty of those Arabic. The table is printed and written
into the "PDF" section of BENCHMARKS.md at the root of the repository.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIZES = (100, 1_000, 10_000, 100_000)
TARGET_SECONDS = 30
TARGET_MB = 300

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from datetime import datetime
from signatory.pdf.build import compile_document
from signatory.pdf.contract import Contribution, DocumentData, Signatory

signatories = {size}
paragraphs = signatories // 5
FIRST = ["Ayşe", "Jan", "Marie", "Łukasz", "Søren", "Åsa", "Ioana", "Mehmet", "Chloë", "Nikolaj", "Els",
         "Koen", "Fatima", "Pieter", "Sofie", "Youssef", "Lotte", "Bram", "Nadia", "Wout"]
LAST = ["Aerts", "Bakker", "Claes", "De Smet", "Dubois", "Goossens", "Janssens", "Kowalski", "Maes",
        "Mertens", "Peeters", "Van den Broeck", "Willems", "Wouters", "Yılmaz", "Ørsted"]
FOREIGN = [("محمد", "علي"), ("Άννα", "Παπαδοπούλου"), ("Иван", "Петров"), ("አበበ", "ቢቂላ")]
FUNCTIONS = ["", "lerares", "voorzitter", "arts", "", "student", "gepensioneerd", ""]
PLACES = ["Gent", "Antwerpen", "", "Brussel", "Leuven", "Hasselt", "Brugge", "Mechelen"]
PROSE = ("Wij geloven dat integratie geen eenrichtingsverkeer is, en dat wie hier woont, werkt en leeft "
         "evenveel recht heeft op een stem in het debat over onze gemeenschappelijke toekomst. Scholen, "
         "verenigingen en buurten tonen elke dag dat samenleven lukt, ook als het moeilijk is. ") * 3
ARABIC = "نحن نؤمن بأن الاندماج ليس طريقا في اتجاه واحد، وأن من يعيش ويعمل هنا له الحق في صوت في النقاش. " * 5

def persons():
    for number in range(signatories):
        if number % 20 == 7:
            first, last = FOREIGN[number % len(FOREIGN)]
        else:
            first, last = FIRST[number % len(FIRST)], LAST[number * len(LAST) // max(signatories, 1)]
        yield Signatory(name=f"{{first}} {{last}}", function=FUNCTIONS[number % 8], place=PLACES[number % 8],
                        index=last[:1].upper())

def contributions():
    for number in range(paragraphs):
        text = ARABIC[:600] if number % 20 == 3 else f"{{number}}. " + PROSE[number % 50:number % 50 + 700]
        yield Contribution(text=text, name="" if number % 3 == 0 else "Ayşe Yılmaz",
                           place=PLACES[number % 8])

data = DocumentData(
    title="Integratie: hoezo mislukt?", subtitle="Een open brief", organiser="Minderhedenforum vzw",
    place_date="Gent, 1 mei 2011", body="Wij zijn benieuwd naar de **antwoorden**.\n\n" + PROSE,
    signatory_count=signatories + signatories // 10, unnamed_count=signatories // 10,
    contribution_count=paragraphs, persons=persons(), contributions=contributions(),
    created=datetime(2011, 5, 1),
)
start, cpu_start = time.perf_counter(), time.process_time()
compiled = compile_document(data, draft=True)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"signatories": signatories, "paragraphs": paragraphs, "seconds": seconds, "cpu": cpu,
                  "peak_mb": peak, "pages": compiled.page_count, "size_mb": len(compiled.pdf) / 2**20}}))
"""


def measure(size: int) -> dict:
    script = CHILD.format(root=str(ROOT), size=size)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import reportlab

    try:
        from reportlab.lib.rl_accel import _c_funcs

        accel = "with rl-accel" if _c_funcs else "without rl-accel"
    except ImportError:
        accel = "without rl-accel"
    try:
        import uharfbuzz

        shaping = f", HarfBuzz {uharfbuzz.version_string()} (uharfbuzz {uharfbuzz.__version__})"
    except ImportError:
        shaping = ", no HarfBuzz"
    return (f"{os.cpu_count()} cores (`nproc`), {cpu}, Python {platform.python_version()}, "
            f"ReportLab {reportlab.Version} {accel}{shaping}")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def table(rows: list[dict]) -> str:
    lines = [
        "| signatories | paragraphs | pages | PDF size | time (wall) | CPU time | peak memory "
        "| CPU s per 1,000 signatories | CPU time × when the size grows ×10 |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    previous = None
    for row in rows:
        per_thousand = row["cpu"] / row["signatories"] * 1000
        ratio = f"{row['cpu'] / previous['cpu']:.1f}" if previous else "–"
        lines.append(
            f"| {row['signatories']:,} | {row['paragraphs']:,} | {row['pages']:,} | {row['size_mb']:.1f} MB | "
            f"{row['seconds']:.2f} s | {row['cpu']:.2f} s | {row['peak_mb']:.0f} MB | {per_thousand:.3f} | {ratio} |"
        )
        previous = row
    return "\n".join(lines)


def write_section(rows: list[dict], loads: tuple[str, str]) -> None:
    top = rows[-1]
    verdict = (
        f"At {top['signatories']:,} signatories and {top['paragraphs']:,} paragraphs: "
        f"{top['seconds']:.1f} s wall, {top['cpu']:.1f} s CPU "
        f"(target < {TARGET_SECONDS} s, {top['seconds'] / TARGET_SECONDS:.0%} of it) "
        f"and {top['peak_mb']:.0f} MB peak (target < {TARGET_MB} MB, {top['peak_mb'] / TARGET_MB:.0%} of it)."
    )
    section = f"""## PDF

The verrijkte opinie compiled by `signatory.pdf.build.compile_document`, from
generated data (names in several scripts, one paragraph of about 700
characters per five signatories, one in twenty of them Arabic), each size in
its own process; peak memory is that process's `ru_maxrss` (the interpreter
and the fonts included). Arabic names and paragraphs are shaped by HarfBuzz
(joined, marks placed), like every text that needs it. The compile is
single-threaded: on a shared machine the wall time includes waiting for a
core, the CPU time does not. Load average before / after the run:
{loads[0]} / {loads[1]}.

Reproduce: `.venv/bin/python tests/benchmarks/bench_pdf.py` (about a minute;
`--sizes 100 1000 --no-write` for a quick look).

Machine: {machine()}.

{table(rows)}

{verdict} Time grows linearly: ten times the signatories (and paragraphs)
costs about ten times the time once the fixed start-up cost (fonts, title
page, the letter's text) no longer dominates.
"""
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## PDF\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(section.rstrip("\n") + "\n\n", text).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    arguments = parser.parse_args()
    rows = []
    load_before = load_average()
    for size in arguments.sizes:
        row = measure(size)
        rows.append(row)
        print(f"{size:>7,} signatories: {row['seconds']:6.2f} s wall, {row['cpu']:6.2f} s CPU, {row['peak_mb']:5.0f} MB, "
              f"{row['pages']:,} pages", flush=True)
    print()
    print(table(rows))
    if not arguments.no_write:
        write_section(rows, (load_before, load_average()))
        print(f"\nwritten to {ROOT / 'BENCHMARKS.md'}")


if __name__ == "__main__":
    main()
