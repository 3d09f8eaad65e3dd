"""The offline export verifier: a clean export passes; every kind of tampering is caught and
the report names the failing check and, where the log allows, the first bad entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assembly.audit.checkpoint import Checkpoint, sign_checkpoint
from assembly.audit.entries import make_entry
from assembly.audit.export import write_export
from assembly.audit.verify import verify_export

from .builders import ORIGIN, SYSTEM, Estate, build_history, mini_tally


def make(tmp_path: Path, signer, **history) -> tuple[Estate, dict, Path]:
    estate = Estate(signer)
    marks = build_history(estate, **history)
    return estate, marks, estate.export(tmp_path / "export")


def verify(directory: Path, **options):
    return verify_export(directory, recount=mini_tally, **options)


def lines(directory: Path) -> list[bytes]:
    return (directory / "entries.jsonl").read_bytes().splitlines(keepends=True)


def rewrite(directory: Path, new_lines: list[bytes]) -> None:
    (directory / "entries.jsonl").write_bytes(b"".join(new_lines))


# --- the clean export ------------------------------------------------------------------------


def test_clean_export_passes(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer)
    report = verify(directory)
    assert report.ok, report.render_text("en")
    assert report.first_bad_entry is None
    assert report.entries == report.size == 13
    names = [check.name for check in report.checks]
    assert {"checkpoint.signature", "tree.root", "ballots.openings", "results.recount"} <= set(names)
    assert "since.consistency" not in names  # only run when asked


def test_clean_export_passes_with_the_platform_tally(tmp_path, log_signer):
    pytest.importorskip("assembly.law.tally")
    _, _, directory = make(tmp_path, log_signer, objection_voids=True)
    report = verify_export(directory)  # the default recount: assembly.law.tally.tally
    assert report.ok, report.render_text("en")


def test_report_in_words_and_json(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer)
    report = verify(directory)
    assert "通过" in report.render_text("zh") and "默克尔根" in report.render_text("zh")
    assert "PASSED" in report.render_text("en")
    document = json.loads(report.to_json())
    assert document["ok"] is True and document["first_bad_entry"] is None
    assert all(check["ok"] and check["detail"] and check["detail_zh"] for check in document["checks"])


def test_upheld_objection_voids_a_ballot_and_final_result_is_the_recount(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer, objection_voids=True)
    assert verify(directory).ok


def test_witness_cosignature_is_reported(tmp_path, log_signer, cosigner):
    estate = Estate(log_signer)
    build_history(estate)
    note = cosigner.cosign(estate.checkpoint(), 1700000000)
    directory = estate.export(tmp_path / "e", keys=[log_signer.verifier.vkey, cosigner.verifier.vkey], note=note)
    report = verify(directory)
    assert report.ok
    assert cosigner.name in report.check("checkpoint.witnesses").detail.en


# --- tampering with the entries --------------------------------------------------------------


def test_changed_byte_inside_a_value_breaks_the_root(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer)
    entries = lines(directory)
    entries[marks["register"]] = entries[marks["register"]].replace(b'"abab', b'"abac', 1)
    rewrite(directory, entries)
    report = verify(directory)
    assert not report.ok
    assert report.failed() == ["tree.root"]  # still canonical and meaningful: only the hash tells
    assert "changed" in report.check("tree.root").detail.en


def test_changed_choice_in_an_opening_names_the_entry(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer)
    entries = lines(directory)
    opened = marks["opened"]
    entries[opened] = entries[opened].replace(b'"choice":"oppose"', b'"choice":"agree"', 1)
    rewrite(directory, entries)
    report = verify(directory)
    assert {"ballots.openings", "tally.files", "tree.root"} <= set(report.failed())
    assert report.first_bad_entry == opened
    assert f"entry {marks['ballots'][0]}" in report.check("ballots.openings").detail.en


def test_changed_spacing_is_not_canonical(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer)
    entries = lines(directory)
    entries[5] = entries[5].replace(b'","', b'", "', 1)
    rewrite(directory, entries)
    report = verify(directory)
    assert "entries.format" in report.failed()
    assert report.first_bad_entry == 5


def test_deleted_entry_is_named(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer)
    entries = lines(directory)
    del entries[4]
    rewrite(directory, entries)
    report = verify(directory)
    assert {"entries.index", "tree.size", "tree.root"} <= set(report.failed())
    assert report.first_bad_entry == 4
    assert "says it is entry 5" in report.check("entries.index").detail.en


def test_swapped_entries_are_named(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer)
    entries = lines(directory)
    entries[3], entries[4] = entries[4], entries[3]
    rewrite(directory, entries)
    report = verify(directory)
    assert {"entries.index", "entries.time", "tree.root"} <= set(report.failed())
    assert report.first_bad_entry == 3


def test_truncated_tail_is_named(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer)
    rewrite(directory, lines(directory)[:10])
    report = verify(directory)
    assert "tree.size" in report.failed()
    assert report.first_bad_entry == 10


def test_last_line_without_newline(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer)
    entries = lines(directory)
    entries[-1] = entries[-1].rstrip(b"\n")
    rewrite(directory, entries)
    report = verify(directory)
    assert report.failed() == ["entries.format"]  # the bytes hashed are still the entries
    assert report.first_bad_entry == len(entries) - 1


def rewritten_tail(log_signer, impostor) -> tuple[Estate, str]:
    """The same first 9 entries, then another history, signed by `impostor`."""
    honest = Estate(log_signer)
    build_history(honest)
    forged = Estate(log_signer)
    build_history(forged, override={"announced": {"passed": False}, "final": {"passed": False}})
    return forged, forged.checkpoint(signer=impostor)


def test_rewritten_tail_resigned_with_another_key(tmp_path, log_signer, other_signer):
    forged, note = rewritten_tail(log_signer, other_signer)
    directory = forged.export(tmp_path / "forged", note=note)  # keys file still the real log key
    report = verify(directory)
    assert "checkpoint.signature" in report.failed()
    assert "results.recount" in report.failed()  # and the forged result does not recount
    assert report.first_bad_entry == 9


def test_rewritten_tail_with_replaced_keys_file(tmp_path, log_signer, other_signer):
    forged, note = rewritten_tail(log_signer, other_signer)
    forged.export(tmp_path / "forged", note=note, keys=[other_signer.verifier.vkey])
    real_key = [log_signer.verifier.vkey]
    report = verify(tmp_path / "forged", trusted_keys=real_key)
    assert {"keys", "checkpoint.signature"} <= set(report.failed())
    # An observer's old checkpoint, signed by the real key, does not verify with the export's keys.
    honest = Estate(log_signer)
    build_history(honest)
    report = verify(tmp_path / "forged", since=honest.checkpoint(size=6))
    assert "since.consistency" in report.failed()


# --- consistency with an older checkpoint ----------------------------------------------------


def test_since_an_older_checkpoint_of_the_same_log(tmp_path, log_signer):
    estate, _, directory = make(tmp_path, log_signer)
    for size in (0, 1, 6, 13):
        report = verify(directory, since=estate.checkpoint(size=size))
        assert report.ok, (size, report.render_text("en"))
        assert report.check("since.consistency").ok
    (tmp_path / "old.checkpoint").write_text(estate.checkpoint(size=7))
    assert verify(directory, since=tmp_path / "old.checkpoint").ok
    assert verify(directory, since=str(tmp_path / "old.checkpoint")).ok  # as the CLI passes it


def test_since_a_fork_is_detected(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer)
    fork = Estate(log_signer)
    build_history(fork, votes=[("m-p1", "1-101", "agree"), ("m-p2p3", "1-201", "agree"),
                               ("m-p4", "1-202", "agree"), ("m-p1", "1-102", "agree")])
    report = verify(directory, since=fork.checkpoint(size=6))  # signed by the real key, other history
    assert report.failed() == ["since.consistency"]
    assert "rewritten" in report.check("since.consistency").detail.en


def test_since_a_checkpoint_newer_than_the_export(tmp_path, log_signer):
    estate, _, _ = make(tmp_path, log_signer)
    old_export = tmp_path / "old"
    write_export(old_export, entries=estate.entries[:8], checkpoint_note=estate.checkpoint(size=8),
                 keys=[log_signer.verifier.vkey], tally_files={})
    report = verify(old_export, since=estate.checkpoint())
    assert "since.consistency" in report.failed()
    assert "went back" in report.check("since.consistency").detail.en


# --- the meaning of the entries --------------------------------------------------------------


def test_ballot_from_someone_not_on_the_roll(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer, votes=[("m-p1", "1-101", "agree"), ("m-stranger", "1-201", "agree"),
                                                       ("m-p4", "1-202", "agree")])
    report = verify(directory)
    assert "ballots.roll" in report.failed()
    assert report.first_bad_entry == marks["ballots"][1]


def test_ballot_outside_the_voting_window(tmp_path, log_signer):
    estate = Estate(log_signer)
    build_history(estate)
    late = estate.log("ballot.cast", {"id": "m-p1", "role": "owner"}, motion="mo-2", member="m-p1", by="owner",
                      commitment="00" * 32, time="2025-03-21T00:00:00Z")
    report = verify(estate.export(tmp_path / "e"))
    assert report.failed() == ["ballots.window"]
    assert report.first_bad_entry == late


def test_ballot_logged_before_it_was_cast(tmp_path, log_signer):
    estate = Estate(log_signer)
    build_history(estate)
    backdated = estate.log("ballot.cast", {"id": "m-p1", "role": "owner"}, at="2025-03-17T10:00:00Z", motion="mo-2",
                           member="m-p1", by="owner", commitment="00" * 32, time="2025-03-17T11:00:00Z")
    report = verify(estate.export(tmp_path / "e"))
    assert report.failed() == ["ballots.window"] and report.first_bad_entry == backdated


def test_unopened_ballot_of_a_closed_motion(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer, drop_opening=1)
    report = verify(directory)
    assert "ballots.openings" in report.failed()
    assert report.first_bad_entry == marks["opened"]
    assert f"entry {marks['ballots'][1]}" in report.check("ballots.openings").detail.en


@pytest.mark.parametrize("which", ["announced", "final"])
def test_published_result_differs_from_the_recount(tmp_path, log_signer, which):
    _, marks, directory = make(tmp_path, log_signer, override={which: {"agree": {"area": "999", "heads": 3}}})
    report = verify(directory)
    assert report.failed() == ["results.recount"]
    assert report.first_bad_entry == marks[which]
    assert "agree" in report.check("results.recount").detail.en


def test_changed_tally_file(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer)
    path = directory / "tally" / "mo-1.json"
    path.write_bytes(path.read_bytes().replace(b'"oppose"', b'"agree"'))
    report = verify(directory)
    assert "tally.files" in report.failed()
    assert report.first_bad_entry == marks["closed"]


def test_missing_tally_file(tmp_path, log_signer):
    _, marks, directory = make(tmp_path, log_signer)
    (directory / "tally" / "mo-1.json").unlink()
    report = verify(directory)
    assert "tally.files" in report.failed() and report.first_bad_entry == marks["closed"]


def test_register_versions_must_not_skip(tmp_path, log_signer):
    estate = Estate(log_signer)
    estate.log("register.version", version=1, register_sha256="cd" * 32, units=3)
    skipped = estate.log("register.version", version=3, register_sha256="ef" * 32, units=3)
    report = verify(estate.export(tmp_path / "e"))
    assert report.failed() == ["register.versions"] and report.first_bad_entry == skipped


def test_motion_id_cannot_reach_outside_the_export(tmp_path, log_signer):
    estate = Estate(log_signer)
    estate.log("register.version", version=1, register_sha256="cd" * 32, units=1)
    estate.log("roll.frozen", meeting="m", motions=["../../etc/x"], register_version=1, revote="last",
               opens_at="2025-03-16T00:00:00Z", closes_at="2025-03-17T00:00:00Z",
               members=[{"member": "a", "units": ["u"], "area": "1", "heads": 1}], totals={"area": "1", "heads": 1})
    estate.log("ballots.opened", motion="../../etc/x", openings=[])
    bad = estate.log("motion.closed", motion="../../etc/x", tally_sha256="00" * 32)
    report = verify(estate.export(tmp_path / "e"))
    assert report.failed() == ["tally.files"] and report.first_bad_entry == bad


def test_entry_missing_a_field_the_verifier_needs(tmp_path, log_signer):
    estate = Estate(log_signer)
    estate.log("notice.posted", title="AGM")  # types the verifier does not know are free
    line = b'{"actor":{"id":"system","role":"system"},"at":"2025-03-16T09:00:00Z","index":1,"motion":"x","type":"ballot.cast"}'
    estate.entries.append(line)
    estate.store.append(line)
    report = verify(estate.export(tmp_path / "e"))
    assert report.failed() == ["entries.fields"] and report.first_bad_entry == 1


def test_a_large_export_streams(tmp_path, log_signer):
    entries = [make_entry("notice.posted", f"2025-03-16T10:{i // 600:02d}:{i // 10 % 60:02d}Z", SYSTEM, index=i, n=i)
               for i in range(5000)]
    estate = Estate(log_signer)
    for entry in entries:
        estate.store.append(entry)
    estate.entries = entries
    report = verify(estate.export(tmp_path / "e"))
    assert report.ok and report.entries == 5000


# --- missing or odd files --------------------------------------------------------------------


def test_missing_files_fail_plainly(tmp_path, log_signer):
    _, _, directory = make(tmp_path, log_signer)
    (directory / "checkpoint").unlink()
    report = verify(directory)
    assert {"checkpoint.signature", "tree.root"} <= set(report.failed())
    (directory / "entries.jsonl").unlink()
    (directory / "keys").write_text("")
    assert "keys" in verify(directory).failed()


def test_witness_key_first_is_refused(tmp_path, log_signer, cosigner):
    _, _, directory = make(tmp_path, log_signer)
    (directory / "keys").write_text(cosigner.verifier.vkey + "\n" + log_signer.verifier.vkey + "\n")
    report = verify(directory)
    assert "keys" in report.failed()
    assert "没有" in report.render_text("zh") or "不是" in report.render_text("zh")


def test_checkpoint_of_an_empty_log(tmp_path, log_signer):
    from assembly.audit.merkle import EMPTY_ROOT

    note = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), log_signer)
    write_export(tmp_path / "e", entries=[], checkpoint_note=note, keys=[log_signer.verifier.vkey])
    assert verify(tmp_path / "e").ok
