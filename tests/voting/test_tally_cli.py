"""`assembly tally FILE` end to end: the spec's example, malformed files, refused ballots."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assembly.cli import app

from .builders import ballot, election, motion, owners_roll, unit

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "spec" / "tally-format.md"
MOTION_KEYS = ["total", "participating", "quorum", "agree", "oppose", "abstain", "passed", "rejected"]
ELECTION_KEYS = ["total", "participating", "quorum", "candidates", "tie", "rejected"]


def spec_example(section: str) -> dict:
    """The first JSON block under `## <section>` in tally-format.md."""
    text = SPEC.read_text(encoding="utf-8")
    after = text[text.index(f"## {section}") :]
    return json.loads(re.search(r"```json\n(.*?)```", after, re.S).group(1))


def as_numbers(value):
    """Areas compare as numbers ("0" equals "0.00"), everything else as is."""
    if isinstance(value, dict):
        return {key: Decimal(v) if key == "area" else as_numbers(v) for key, v in value.items()}
    if isinstance(value, list):
        return [as_numbers(v) for v in value]
    return value


def run(path: Path):
    return CliRunner().invoke(app, ["tally", str(path)])


def write(tmp_path: Path, document: dict | str) -> Path:
    path = tmp_path / "tally.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document), encoding="utf-8")
    return path


def test_spec_example_gives_the_spec_output(tmp_path):
    result = run(write(tmp_path, spec_example("Input")))
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    output = json.loads(result.stdout)
    assert list(output) == MOTION_KEYS
    assert as_numbers(output) == as_numbers(spec_example("Output"))


def test_spec_example_through_python_m(tmp_path):
    path = write(tmp_path, spec_example("Input"))
    finished = subprocess.run(
        [sys.executable, "-m", "assembly.cli", "tally", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert finished.returncode == 0, finished.stderr
    assert as_numbers(json.loads(finished.stdout)) == as_numbers(spec_example("Output"))


def test_malformed_file_through_python_m(tmp_path):
    path = write(tmp_path, "{")
    finished = subprocess.run(
        [sys.executable, "-m", "assembly.cli", "tally", str(path)], capture_output=True, text=True, cwd=ROOT
    )
    assert (finished.returncode, finished.stdout) == (2, "")
    assert finished.stderr.startswith("tally: not valid JSON") and finished.stderr.count("\n") == 1


def test_refused_ballots_are_listed_with_the_spec_reasons(tmp_path):
    document = motion(
        owners_roll(4),
        [
            ballot("u1", "agree"),
            ballot("nowhere", "agree"),  # 1 unknown unit
            ballot("u2", "yes"),  # 2 invalid choice
            ballot("u1", "oppose"),  # 3 duplicate under revote: first
            ballot("u1", "oppose", by="proxy"),  # 4 owner voted
            ballot("u3", "oppose", by="proxy"),  # replaced by the owner below: not listed
            ballot("u3", "agree", by="paper"),
        ],
        revote="first",
    )
    output = json.loads(run(write(tmp_path, document)).stdout)
    assert output["rejected"] == [
        {"index": 1, "reason": "unknown unit"},
        {"index": 2, "reason": "invalid choice"},
        {"index": 3, "reason": "duplicate"},
        {"index": 4, "reason": "owner voted"},
    ]
    assert output["agree"] == {"area": "200", "heads": 2}


def test_election_output(tmp_path):
    document = election(
        owners_roll(3),
        [ballot("u1", choices=["b"]), ballot("u2", choices=["b", "a"]), ballot("u3", choices=["a", "a"])],
        seats=2,
        candidates=["a", "b"],
    )
    result = run(write(tmp_path, document))
    output = json.loads(result.stdout)
    assert list(output) == ELECTION_KEYS
    assert output["candidates"] == [
        {"id": "a", "area": "100", "heads": 1, "passed": False, "elected": False},
        {"id": "b", "area": "200", "heads": 2, "passed": True, "elected": True},
    ]
    assert output["tie"] == []
    assert output["rejected"] == [{"index": 2, "reason": "invalid choices"}]


def test_empty_roll_has_no_quorum(tmp_path):
    output = json.loads(run(write(tmp_path, motion([], [ballot("u1", "agree")]))).stdout)
    assert output["total"] == {"area": "0", "heads": 0}
    assert (output["quorum"], output["passed"]) == (False, False)


def test_areas_are_written_without_exponent(tmp_path):
    document = motion([unit("u1", "p1", area="100"), unit("u2", "p2", area="0.0001")], [ballot("u1", "agree")])
    output = json.loads(run(write(tmp_path, document)).stdout)
    assert output["total"]["area"] == "100.0001"
    assert output["agree"]["area"] == "100"


def good() -> dict:
    return motion([unit("u1", "p1"), unit("u2", "p2")], [ballot("u1", "agree")])


def changed(edit) -> dict:
    document = good()
    edit(document)
    return document


def first_unit(**fields) -> dict:
    return changed(lambda d: d["units"][0].update(fields))


def first_ballot(**fields) -> dict:
    return changed(lambda d: d["ballots"][0].update(fields))


def as_election(**fields) -> dict:
    document = election(owners_roll(2), [ballot("u1", choices=["a"])], seats=1, candidates=["a"])
    document.update(fields)
    return document


MALFORMED = [
    pytest.param("{", "tally: not valid JSON", id="bad-json"),
    pytest.param("[]", "tally: not a JSON object", id="not-an-object"),
    pytest.param('{"format": "assembly-tally/1", "format": "x"}', 'key "format" given twice', id="duplicate-key"),
    pytest.param(json.dumps(good()).replace('"100"', "NaN", 1), "NaN", id="nan"),
    pytest.param(changed(lambda d: d.pop("format")), 'tally: missing field "format"', id="missing-format"),
    pytest.param(changed(lambda d: d.update(format="assembly-tally/2")), "tally: format:", id="wrong-format"),
    pytest.param(changed(lambda d: d.pop("units")), 'missing field "units"', id="missing-units"),
    pytest.param(changed(lambda d: d.update(colour="red")), 'unknown field "colour"', id="unknown-top-field"),
    pytest.param(changed(lambda d: d.update(item=10)), "tally: item: unknown item", id="item-out-of-range"),
    pytest.param(changed(lambda d: d.update(item=True)), "tally: item: unknown item", id="item-bool"),
    pytest.param(changed(lambda d: d.update(item="4")), "tally: item: unknown item", id="item-string"),
    pytest.param(changed(lambda d: d.update(kind="poll")), "tally: kind: unknown kind", id="unknown-kind"),
    pytest.param(changed(lambda d: d.update(revote="never")), "tally: revote: unknown revote", id="unknown-revote"),
    pytest.param(changed(lambda d: d.update(seats=1)), 'unknown field "seats"', id="seats-on-a-motion"),
    pytest.param(changed(lambda d: d.update(units={})), "tally: units: not a list", id="units-not-a-list"),
    pytest.param(first_unit(area={"registry": "-1"}),
                 'tally: units[0].area.registry: not a positive decimal string with at most 4 places: "-1"',
                 id="negative-area"),
    pytest.param(first_unit(area={"registry": "0.0000"}), "units[0].area.registry: not a positive", id="zero-area"),
    pytest.param(first_unit(area={"survey": "1.23456"}), "units[0].area.survey: not a positive", id="five-places"),
    pytest.param(first_unit(area={"registry": "1e2"}), "units[0].area.registry: not a positive", id="exponent-area"),
    pytest.param(first_unit(area={"registry": " 89.5"}), "units[0].area.registry: not a positive", id="spaced-area"),
    pytest.param(json.dumps(good()).replace('"100"', "89.5", 1), "units[0].area.registry: not a positive decimal "
                 "string with at most 4 places: 89.5", id="area-as-json-number"),
    pytest.param(first_unit(area={"registry": "1", "contract": "x"}), "units[0].area.contract: not a positive",
                 id="unused-area-malformed"),
    pytest.param(first_unit(area={}), "units[0].area: no registry, survey or contract area", id="no-area"),
    pytest.param(first_unit(area={"estimate": "1"}), 'units[0].area: unknown field "estimate"', id="unknown-area-source"),
    pytest.param(changed(lambda d: d["units"][0].pop("owners")), "units[0]: a unit with neither owners nor developer",
                 id="neither-owners-nor-developer"),
    pytest.param(first_unit(developer=False, owners=[]), "units[0].owners: an empty list of owners", id="empty-owners"),
    pytest.param(first_unit(owners=["p1", "p1"]), "units[0].owners: an owner listed twice", id="owner-twice"),
    pytest.param(first_unit(owners=["p1+p2"]), 'units[0].owners[0]: an owner id with "+"', id="plus-in-owner-id"),
    pytest.param(first_unit(developer="yes"), "units[0].developer: not true or false", id="developer-not-bool"),
    pytest.param(first_unit(floor=3), 'units[0]: unknown field "floor"', id="unknown-unit-field"),
    pytest.param(first_unit(id="u2"), 'units[1].id: duplicate unit id "u2"', id="duplicate-unit-id"),
    pytest.param(first_unit(id=7), "units[0].id: not a non-empty string", id="unit-id-not-string"),
    pytest.param(first_ballot(by="robot"), "ballots[0].by: unknown by", id="unknown-by"),
    pytest.param(first_ballot(unit=3), "ballots[0].unit: not a unit id string", id="ballot-unit-not-string"),
    pytest.param(first_ballot(choice=None), "ballots[0].choice: not a string", id="choice-not-string"),
    pytest.param(first_ballot(choices=["a"]), 'ballots[0]: unknown field "choices"', id="choices-on-motion-ballot"),
    pytest.param(changed(lambda d: d["ballots"][0].pop("choice")), 'ballots[0]: missing field "choice"',
                 id="motion-ballot-without-choice"),
    pytest.param(changed(lambda d: d["ballots"].append(1)), "ballots[1]: not an object", id="ballot-not-object"),
    pytest.param(as_election(seats=0), "tally: seats: not a whole number of seats", id="zero-seats"),
    pytest.param(as_election(seats=1.0), "tally: seats: not a whole number of seats", id="float-seats"),
    pytest.param(changed(lambda d: d.update(kind="election", candidates=["a"])), 'missing field "seats"',
                 id="election-without-seats"),
    pytest.param(changed(lambda d: d.update(kind="election", seats=1)), 'missing field "candidates"',
                 id="election-without-candidates"),
    pytest.param(as_election(candidates=[]), "candidates: an election needs at least one candidate",
                 id="election-with-no-candidates"),
    pytest.param(as_election(candidates=["a", "b", "a"]), 'candidates: candidate "a" listed twice',
                 id="duplicate-candidate"),
    pytest.param(as_election(ballots=[ballot("u1", "agree")]), 'ballots[0]: unknown field "choice"',
                 id="choice-on-election-ballot"),
    pytest.param(as_election(ballots=[ballot("u1", choices="a")]), "ballots[0].choices: not a list",
                 id="choices-not-a-list"),
]


@pytest.mark.parametrize(("content", "problem"), MALFORMED)
def test_malformed_file_exits_2_with_one_line(tmp_path, content, problem):
    result = run(write(tmp_path, content))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("tally: ")
    assert problem in result.stderr


def test_missing_file_exits_2(tmp_path):
    result = run(tmp_path / "absent.json")
    assert (result.exit_code, result.stdout) == (2, "")
    assert "cannot read the file" in result.stderr
