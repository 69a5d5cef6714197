"""The bot's locks are the project's one lock helper (metrics.ledger.locks): a periodic job's
lock is released only by the run that holds it, and nudge decisions lock per team and person
for their transaction."""

from django.core.cache import cache
from django.utils import timezone

from bot import nudges, tasks


def test_a_periodic_lock_that_ran_out_and_was_taken_over_is_not_released(db):
    key = "metrics:lock:bot:weekly_summaries"
    first = tasks.exclusive("weekly_summaries", seconds=60)
    assert first.__enter__()
    cache.delete(key)  # the first run outlived its lock (a slow Slack): the entry expired
    second = tasks.exclusive("weekly_summaries", seconds=60)
    assert second.__enter__()  # the next beat tick takes it
    taken = cache.get(key)
    first.__exit__(None, None, None)
    assert cache.get(key) == taken  # the first run did not free the second run's lock
    with tasks.exclusive("weekly_summaries") as third:
        assert not third
    second.__exit__(None, None, None)
    assert cache.get(key) is None


def test_periodic_job_skips_while_another_run_holds_its_lock(db):
    ran = []
    with tasks.exclusive("job") as mine:
        assert mine
        tasks._periodic("job", lambda: ran.append(1))
    assert ran == []
    tasks._periodic("job", lambda: ran.append(1))
    assert ran == [1]


def test_a_nudge_decision_locks_its_team_and_person(db, monkeypatch, teams):
    taken = []
    monkeypatch.setattr(nudges, "xact_lock", taken.append)
    monkeypatch.setattr(nudges, "decide", lambda **kwargs: "quiet hours")

    class Run:
        def skip(self, reason):
            self.reason = reason

    team = next(iter(teams.values()))
    run = Run()
    assert (
        nudges.reserve(
            kind="waste",
            subject="s",
            print_="p",
            team=team,
            slack_user_id="U1",
            now=timezone.now(),
            local=timezone.now(),
            policy=None,
            run=run,
        )
        is None
    )
    assert taken == [f"nudge:team:{team.pk}", "nudge:person:U1"] and run.reason == "quiet hours"
