"""Feedback flood, filters kept with a vote, torn writes. The floods run in their own process
under 60 s and 2 GB; the votes go through FeedbackStore.record as the chat's thumbs do."""
import io
import json
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path

from bounded import run_bounded
from conftest import ROOT

from assistant.evaluation.evaluate import load_gold
from assistant.limits import Limits
from assistant.state.feedback import FeedbackStore, TooManyVotes

QUOTE = {"document": "aalborg-byraad-adfaerdskodeks", "text": "Vi taler ordentligt til hinanden.", "start": 0, "end": 33}
FLOOD = textwrap.dedent("""
    import json, sys, uuid
    from assistant.state.feedback import FeedbackStore, TooManyVotes
    store = FeedbackStore(sys.argv[1])
    huge_question = "hvad siger kodekset om sociale medier? " * 250_000        # 10 MB
    huge_quote = {"document": "d", "text": "x" * 2_000_000, "start": 0, "end": 2_000_000}
    accepted = refused = 0
    for i in range(10_000):
        session = "one-client" if sys.argv[2] == "one-session" else uuid.uuid4().hex
        try:
            store.record(huge_question, i % 2 == 0, False, [huge_quote], "v-1", session=session)
            accepted += 1
        except TooManyVotes:
            refused += 1
    print(json.dumps({"accepted": accepted, "refused": refused}))
""")


def flood(tmp_path, mode, env=None):
    run = run_bounded([sys.executable, "-c", FLOOD, str(tmp_path), mode], cwd=ROOT, env=env)
    run.check_bounded()
    assert run.returncode == 0, run.stderr
    print(f"{mode}: {run.seconds:.1f} s, peak {run.peak_mb:.0f} MB")
    return json.loads(run.stdout)


def test_10000_votes_from_one_session_stay_within_the_limits(tmp_path):
    result = flood(tmp_path, "one-session")
    lim = Limits()
    assert result == {"accepted": lim.votes_per_minute, "refused": 10_000 - lim.votes_per_minute}
    lines = (tmp_path / "feedback.jsonl").read_bytes().splitlines(keepends=True)
    assert len(lines) == lim.votes_per_minute
    assert all(len(x) <= lim.feedback_record_bytes for x in lines)
    assert all(len(json.loads(x)["question"]) == 1000 for x in lines)        # stored as used, not 10 MB
    assert (tmp_path / "feedback.jsonl").stat().st_size <= lim.feedback_file_bytes


def test_10000_votes_from_new_sessions_rotate_within_the_total_limit(tmp_path):
    # 10 000 accepted votes are 10 000 fsyncs (about 5 ms each on this disk): on tmpfs when there is one,
    # so the bound measures the code, not the disk
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        tmp_path = Path(tempfile.mkdtemp(prefix="feedback-flood-", dir="/dev/shm"))
    env = {"ASSISTANT_FEEDBACK_FILE_BYTES": "1000000", "ASSISTANT_FEEDBACK_FILES": "2"}
    result = flood(tmp_path, "new-sessions", env)
    assert result["accepted"] == 10_000
    files = sorted(tmp_path.glob("feedback*.jsonl"))
    assert [f.name for f in files] == ["feedback.1.jsonl", "feedback.2.jsonl", "feedback.jsonl"]
    assert all(f.stat().st_size <= 1_000_000 for f in files)
    store = FeedbackStore(tmp_path)
    assert sum(1 for _ in store.entries()) == sum(len(f.read_bytes().splitlines()) for f in files)
    if str(tmp_path).startswith("/dev/shm"):
        shutil.rmtree(tmp_path)


def test_a_filtered_vote_is_exported_with_its_filter_and_does_not_override_the_unfiltered_ones(tmp_path):
    store = FeedbackStore(tmp_path)
    q = "hvad siger kodekset om sociale medier?"
    for _ in range(300):
        store.record(q, True, False, [QUOTE], "v-1", filters={"organisation": None, "doc_type": None})
    store.record(q, True, True, [], "v-1", filters={"organisation": "Aarhus Byråd", "doc_type": None})
    out = io.StringIO()
    assert store.export(out).written == 2
    gold = [json.loads(x) for x in out.getvalue().splitlines()]
    plain = [g for g in gold if "filters" not in g]
    filtered = [g for g in gold if "filters" in g]
    assert plain[0]["relevant"] == [{"document": QUOTE["document"], "text": QUOTE["text"]}]
    assert filtered[0]["filters"] == {"organisation": "Aarhus Byråd"} and filtered[0]["relevant"] == []
    path = tmp_path / "gold.jsonl"
    path.write_text(out.getvalue(), encoding="utf-8")
    by_filters = {g.filters: g for g in load_gold([path])}
    assert by_filters[()].answerable and not by_filters[(("organisation", "Aarhus Byråd"),)].answerable
    assert by_filters[(("organisation", "Aarhus Byråd"),)].search_filters().organisation == "Aarhus Byråd"


def test_a_crash_torn_line_loses_nothing_else(tmp_path):
    store = FeedbackStore(tmp_path)
    for i in range(5):
        store.record(f"spørgsmål {i}", True, False, [QUOTE])
    with open(store.path, "ab") as f:                      # a crash in the middle of a line
        f.write(b'{"time": "2026-01-01", "question": "halv')
    store.record("efter nedbruddet", True, False, [QUOTE])
    questions = [e["question"] for e in store.entries()]
    assert questions == [f"spørgsmål {i}" for i in range(5)] + ["efter nedbruddet"]


FULL_DISK = textwrap.dedent("""
    import json, os, resource, signal, sys
    from assistant.state.feedback import FeedbackStore
    store = FeedbackStore(sys.argv[1])
    quote = {"document": "d", "text": "Vi taler ordentligt til hinanden.", "start": 0, "end": 33}
    for i in range(5):
        store.record(f"spørgsmål {i}", True, False, [quote])
    size = store.path.stat().st_size
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 50, resource.RLIM_INFINITY))   # the disk fills up mid-line
    try:
        store.record("fylder disken " * 20, True, False, [quote])
        print("no error")
    except OSError as exc:
        print("failed:", exc.strerror, file=sys.stderr)
    resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # space again
    assert store.path.stat().st_size == size, "the torn part was not cut off"
    store.record("efter den fulde disk", True, False, [quote])
    print(json.dumps([e["question"] for e in store.entries()]))
""")


def test_a_write_failing_half_way_is_cut_off_and_the_next_vote_is_whole(tmp_path):
    run = run_bounded([sys.executable, "-c", FULL_DISK, str(tmp_path)], cwd=ROOT)
    run.check_bounded()
    assert run.returncode == 0, run.stderr
    assert "failed: File too large" in run.stderr
    assert json.loads(run.stdout) == [f"spørgsmål {i}" for i in range(5)] + ["efter den fulde disk"]


def test_rate_limit_is_per_session_and_per_minute(tmp_path):
    now = [0.0]
    store = FeedbackStore(tmp_path, Limits(votes_per_minute=3), clock=lambda: now[0])
    for _ in range(3):
        store.record("q", True, False, [], session="a")
    try:
        store.record("q", True, False, [], session="a")
        raise AssertionError("fourth vote in a minute was accepted")
    except TooManyVotes:
        pass
    store.record("q", True, False, [], session="b")          # another session is not affected
    now[0] = 61.0
    store.record("q", True, False, [], session="a")          # a minute later
    assert sum(1 for _ in store.entries()) == 5


def test_export_streams_without_reading_the_whole_file(tmp_path, monkeypatch):
    store = FeedbackStore(tmp_path)
    store.record("q", True, False, [QUOTE])
    monkeypatch.setattr("pathlib.Path.read_text", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read whole")))
    monkeypatch.setattr("pathlib.Path.read_bytes", lambda *a, **k: (_ for _ in ()).throw(AssertionError("read whole")))
    assert store.export(io.StringIO()).written == 1
    assert os.path.getsize(store.path) > 0
