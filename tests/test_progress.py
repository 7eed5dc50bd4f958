"""Tests of hpo_notebook/progress.py: the text progress bar, driven through ask/tell."""

from __future__ import annotations

import io
import re

import hpo_notebook as hn
from hpo_notebook.events import StatusChanged
from hpo_notebook.progress import TextProgress

LINE = re.compile(
    r"^\[(?P<bar>[#.]{24})\] (?P<done>\d+)/(?P<total>\d+) \| "
    r"complete (?P<complete>\d+) failed (?P<failed>\d+) running (?P<running>\d+) \| "
    r"\d+:\d\d$"
)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _study() -> hn.Study:
    return hn.Study(
        None, hn.Space(x=hn.Float(0.0, 1.0)), objectives={"y": "min"}, seed=0, optimizer="sobol"
    )


def _parsed(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        assert m is not None, line
        out.append(m.groupdict())
    return out


def _fields(line, *names):
    return tuple(int(line[n]) for n in names)


def test_one_line_per_finished_trial():
    study = _study()
    out = io.StringIO()
    TextProgress(study, total=4, stream=out).attach()

    a, b, c = study.ask(3)
    assert out.getvalue() == ""  # asking finishes nothing

    study.tell(a, 0.5)
    study.tell(b, RuntimeError("boom"))
    study.tell(c, hn.Pruned("early"))
    d = study.ask()
    study.tell(d, {"y": 0.1})

    lines = _parsed(out.getvalue())
    assert len(lines) == 4
    keys = ("done", "total", "complete", "failed", "running")
    assert [_fields(line, *keys) for line in lines] == [
        (1, 4, 1, 0, 2),
        (2, 4, 1, 1, 1),
        (3, 4, 1, 1, 0),  # pruned counts as done, in none of the three columns
        (4, 4, 2, 1, 0),
    ]
    assert [line["bar"].count("#") for line in lines] == [6, 12, 18, 24]
    assert out.getvalue().endswith("\n") and "\r" not in out.getvalue()


def test_bar_is_capped_when_more_finish_than_planned():
    study = _study()
    out = io.StringIO()
    TextProgress(study, total=1, stream=out).attach()
    for _ in range(3):
        study.tell(study.ask(), 0.5)
    lines = _parsed(out.getvalue())
    assert [line["done"] for line in lines] == ["1", "2", "3"]
    assert all(line["bar"] == "#" * 24 for line in lines)


def test_total_below_one_is_one():
    study = _study()
    out = io.StringIO()
    bar = TextProgress(study, total=0, stream=out).attach()
    assert bar.total == 1
    study.tell(study.ask(), 0.5)
    assert _fields(_parsed(out.getvalue())[0], "done", "total") == (1, 1)


def test_counts_only_trials_finished_after_it_started():
    study = _study()
    study.tell(study.ask(), 0.5)
    study.tell(study.ask(), 0.6)
    running = study.ask()
    out = io.StringIO()
    TextProgress(study, total=2, stream=out).attach()
    study.tell(running, 0.7)
    (line,) = _parsed(out.getvalue())
    assert _fields(line, "done", "total", "complete", "running") == (1, 2, 3, 0)


def test_failed_result_is_drawn_as_failed():
    study = _study()
    out = io.StringIO()
    TextProgress(study, total=2, stream=out).attach()
    study.tell(study.ask(), {"wrong": 1.0})  # a bad result marks the trial FAILED
    (line,) = _parsed(out.getvalue())
    assert _fields(line, "done", "complete", "failed") == (1, 0, 1)
    assert study.trials[0].state is hn.TrialState.FAILED


def test_terminal_redraws_one_line_and_ends_it_when_idle():
    study = _study()
    out = _Tty()
    TextProgress(study, total=2, stream=out).attach()
    study.tell(study.ask(), 0.5)
    study.tell(study.ask(), 0.5)
    text = out.getvalue()
    assert text.count("\r") == 2 and "\n" not in text
    assert _fields(_parsed(text.split("\r")[-1])[0], "done", "total") == (2, 2)

    study._ledger.publish(StatusChanged("idle"))  # what the runner sends at the end
    assert out.getvalue() == text + "\n"
    study.tell(study.ask(), 0.5)  # unsubscribed: nothing more is drawn
    assert out.getvalue() == text + "\n"


def test_idle_unsubscribes_without_newline_off_terminal():
    study = _study()
    out = io.StringIO()
    TextProgress(study, total=3, stream=out).attach()
    study.tell(study.ask(), 0.5)
    before = out.getvalue()
    study._ledger.publish(StatusChanged("idle"))
    study.tell(study.ask(), 0.5)
    assert out.getvalue() == before
    assert len(before.splitlines()) == 1


def test_not_attached_draws_nothing():
    study = _study()
    out = io.StringIO()
    bar = TextProgress(study, total=2, stream=out)
    study.tell(study.ask(), 0.5)
    assert out.getvalue() == ""
    assert _fields(_parsed(bar.line())[0], "done", "complete") == (1, 1)
