"""Understanding questions. Pure: no database, no Slack, no clock.

`parse_question(text, today=..., vocabulary=...)` turns "what did my team spend on openai last
week?" into a `Question`: an intent (spend, ranking, breakdown, kpi, compare, drivers, budget,
learning, alerts, savings, help), a period [start, end) (and the period to compare with),
teams, providers, models, a dimension (team, model, provider, application), a KPI and the cost
column. The grammar is a list of phrase patterns per intent (INTENT_PATTERNS), KPI
(KPI_PATTERNS) and dimension (DIMENSION_WORDS), applied in a fixed order; no model calls.
Everything the parser did not understand is kept (`unknown`, `problems`); the bot then says
what it understood and offers real questions of the same class (`suggestions`), never a
question where an unknown word was swapped for a similar-looking known one.

Conventions: weeks start on Monday; `today` is the asker's local date (their team's time zone);
"last N days" ends today (inclusive); "last month" / "last week" are the previous calendar
month / week; a named month or quarter without a year is the most recent one that has started
(the current one counts, to date). Periods are half-open: `end` is the day after the last day.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Literal

from metrics.ledger.providers import words as provider_words

CostColumn = Literal["effective_cost", "billed_cost"]
Intent = Literal[
    "spend",
    "ranking",
    "breakdown",
    "kpi",
    "compare",
    "drivers",
    "budget",
    "learning",
    "alerts",
    "savings",
    "help",
]
Dimension = Literal["team", "model", "provider", "application"]
KPIS: dict[str, str] = {
    "cost_per_inference": "cost per inference",
    "cost_per_1k_tokens": "cost per 1k tokens",
    "token_density": "token density",
    "cache_hit_ratio": "cache hit rate",
    "gpu_hours": "GPU hours",
    "cost_per_gpu_hour": "cost per GPU hour",
    "cold_start": "GPU cold-start cost",
    "carbon": "carbon",
}
LEARNING_TOPICS = ("status", "modules_left", "expiry", "next")

MAX_DAYS = 3660  # ten years: anything longer is a typo


@dataclass(frozen=True)
class TeamName:
    slug: str
    name: str

    def aliases(self) -> set[str]:
        slug, name = self.slug.lower(), " ".join(self.name.lower().split())
        return {slug, slug.replace("-", " "), name, name.replace(" ", "-")}


@dataclass(frozen=True)
class Vocabulary:
    """What the ledger knows about: team names, provider keys and model names."""

    teams: tuple[TeamName, ...] = ()
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # exclusive
    label: str  # for people: "last week", "October 2026 (to date)"
    phrase: str  # for the parser: a phrase that parses back to this period

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def dates(self) -> str:
        if self.days == 1:
            return self.start.isoformat()
        return f"{self.start.isoformat()} to {self.last_day.isoformat()}"

    def describe(self) -> str:
        return f"{self.label} ({self.dates()})"


@dataclass(frozen=True)
class Question:
    text: str
    intent: Intent
    period: Period
    period_given: bool
    teams: tuple[str, ...] = ()  # slugs, in the order asked
    my_team: bool = False
    team_words: bool = False  # "my team", "our team": a team, never the organization
    whole_org: bool = False
    providers: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    cost: CostColumn = "effective_cost"
    unknown: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    suggestion: str = ""
    team_names: dict[str, str] = field(default_factory=dict, compare=False)
    dimension: str = ""  # ranking / breakdown: team, model, provider, application
    top: int = 0  # ranking: how many (0: all)
    ascending: bool = False  # ranking: cheapest first
    kpi: str = ""  # a key of KPIS
    previous: Period | None = None  # compare / drivers: the other period (None: the one before)
    unallocated: bool = False  # the spend no team was allocated
    topic: str = ""  # learning: status, modules_left, expiry, next
    suggestions: tuple[str, ...] = ()

    def compare_with(self) -> tuple[date, date] | None:
        """The period to compare with, when not the default `previous_window`: the one asked
        for, or for a week to date the same weekdays of last week."""
        if self.previous is not None:
            return self.previous.start, self.previous.end
        p = self.period
        if p.start.weekday() == 0 and p.days < 7 and p.label.startswith("this week"):
            return p.start - timedelta(days=7), p.end - timedelta(days=7)
        return None

    @property
    def is_clear(self) -> bool:
        return not self.unknown and not self.problems

    def understood(self) -> list[str]:
        """What the parser understood, one phrase each, for people."""
        parts: list[str] = []
        what = {
            "ranking": "a ranking" + (f" of {self.dimension}s" if self.dimension else ""),
            "breakdown": f"a breakdown by {self.dimension}" if self.dimension else "",
            "kpi": KPIS.get(self.kpi, "a KPI"),
            "compare": "a comparison",
            "drivers": "what drove a change in spend",
            "budget": "budget and forecast",
            "learning": "your learning",
            "alerts": "open alerts",
            "savings": "how to save",
        }.get(self.intent, "")
        if what:
            parts.append(what + (f" (top {self.top})" if self.top > 1 else ""))
        if self.unallocated:
            parts.append("unallocated spend")
        if self.teams:
            names = [self.team_names.get(s, s) for s in self.teams]
            parts.append(("teams " if len(names) > 1 else "team ") + ", ".join(names))
        elif self.whole_org:
            parts.append("the whole organization")
        elif self.my_team:
            parts.append("your team")
        if self.period_given:
            parts.append(f"period {self.period.describe()}")
        if self.providers:
            parts.append("provider " + ", ".join(self.providers))
        if self.models:
            parts.append("model " + ", ".join(self.models))
        if self.cost == "billed_cost":
            parts.append("billed cost")
        return parts

    def canonical(self) -> str:
        """The question in the one form the parser always understands."""
        words = ["billed spend" if self.cost == "billed_cost" else "spend"]
        if self.teams:
            words.append("for " + " and ".join(self.teams))
        elif self.whole_org:
            words.append("for the whole org")
        elif self.my_team:
            words.append("for my team")
        words.append(self.period.phrase)
        filters = [*self.providers, *self.models]
        if filters:
            words.append("on " + " and ".join(filters))
        return " ".join(words)


# --- Words ---------------------------------------------------------------------------------

MONTHS: dict[str, int] = {}
for _number in range(1, 13):
    MONTHS[calendar.month_name[_number].lower()] = _number
    MONTHS[calendar.month_abbr[_number].lower()] = _number
MONTHS["sept"] = 9

# Model families people name without a version; the query layer matches "<family>-*".
MODEL_FAMILIES = {
    "gpt",
    "claude",
    "gemini",
    "llama",
    "mistral",
    "mixtral",
    "titan",
    "nova",
    "deepseek",
    "o1",
    "o3",
    "o4",
}

ORG_PHRASES = [
    "the whole organization",
    "the whole organisation",
    "whole organization",
    "whole organisation",
    "the whole org",
    "whole org",
    "whole company",
    "all teams",
    "every team",
    "organization",
    "organisation",
    "company",
    "org",
    "everyone",
]
# "we", "our": the asker's teams, or the organization for a FinOps admin in no team.
MY_TEAM_PHRASES = ["we", "us", "our", "ours", "my", "mine"]
BILLED_WORDS = ["billed", "invoiced", "invoice", "invoices"]
EFFECTIVE_WORDS = ["effective", "amortized", "amortised"]
SPEND_WORDS = {
    "spend",
    "spent",
    "spends",
    "spending",
    "cost",
    "costs",
    "costing",
    "pay",
    "paid",
    "paying",
    "bill",
    "burn",
    "burned",
    "burnt",
    "money",
    "expenses",
    "billing",
}


def _words(text: str) -> list[str]:
    return text.split()


HELP_WORDS = {"help", "usage", "commands", "examples"}
STOPWORDS = frozenset(
    _words(
        """
        a about across ai all altogether am amount an and any are as at be been bot breakdown
        by can could current currently did do does during far finops for from get give had has
        have hello hey hi how how's i in into is it it's its just know let like many me much
        now number numbers of on our over overall per please report right see should show since
        so spend-wise summary team teams tell thank thanks that the their them there these they
        this those through till to total until up use used using was were what what's whats
        which with would you your
        """
    )
)

_DATE = r"(?<![\w-])(\d{4}-\d{2}-\d{2})(?![\w-])"
_RANGE_SEP = "(?:to|until|till|through|thru|and|-|\u2013|\u2014|\\.\\.)"


def _boundary(alias: str) -> str:
    """A phrase as a whole word: no letter, digit, hyphen or dotted suffix around it."""
    return r"(?<![\w.-])" + re.escape(alias) + r"(?![\w-]|\.\w)"


# --- Periods -------------------------------------------------------------------------------


def _month_end(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1)


def _iso(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _to_date(full_end: date, today: date) -> date:
    """End of a calendar period that may not be over yet: tomorrow when it is running."""
    return min(full_end, today + timedelta(days=1))


class _Periods:
    """Finds every period phrase in the text; several different ones make the question
    ambiguous, so all are collected rather than the first taken."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.found: list[Period] = []
        self.problems: list[str] = []

    def add(self, period: Period) -> None:
        if period.start > self.today:
            self.problems.append(f"{period.label} has not started yet")
        elif period.days > MAX_DAYS:
            self.problems.append(f"{period.label} is longer than ten years")
        elif all((p.start, p.end) != (period.start, period.end) for p in self.found):
            self.found.append(period)

    def scan(self, text: str) -> str:
        text = _consume(
            text,
            rf"(?:\b(?:from|between)\s+)?{_DATE}\s*{_RANGE_SEP}\s*{_DATE}",
            lambda m: self._range(m.group(1), m.group(2)),
        )
        text = _consume(text, rf"\bsince\s+{_DATE}", lambda m: self._since(m.group(1)))
        text = _consume(text, rf"(?:\bon\s+)?{_DATE}", lambda m: self._range(m[1], m[1]))
        text = _consume(
            text, r"(?<![\w-])(\d{4})-(\d{2})(?![\w-])", lambda m: self._month(int(m[2]), m[1])
        )
        text = _consume(
            text,
            r"\b(?:last|past|previous|trailing)\s+(\d+)\s+(days?|weeks?|months?)\b",
            lambda m: self._last_n(int(m.group(1)), m.group(2)),
        )
        text = _consume(
            text,
            r"\b(?:last|past|previous|trailing)\s+(day|week|month|quarter|year)\b"
            r"|\b(?:this|current)\s+(week|month|quarter|year)(?:\s+so\s+far|\s+to\s+date)?\b"
            r"|\bso\s+far\s+this\s+(week|month|quarter|year)\b"
            r"|\b(week|month|quarter|year)\s+to\s+date\b"
            r"|\b(wtd|mtd|qtd|ytd|today|yesterday)\b",
            self._keyword,
        )
        text = _consume(
            text,
            r"\b(?:(?:the\s+)?(first|second|third|fourth)\s+quarter|q([1-4]))"
            r"(?:\s+(?:of\s+)?|[-/])?(\d{4})?\b"
            r"|\b(\d{4})[-/\s]q([1-4])\b",
            self._quarter,
        )
        month_names = "|".join(sorted((m for m in MONTHS if m != "may"), key=len, reverse=True))
        text = _consume(
            text,
            rf"\b({month_names})\.?(?:\s+(\d{{4}}))?\b"
            r"|\b(?:in|for|during|of|since)\s+(may)(?:\s+(\d{4}))?\b|\b(may)\s+(\d{4})\b",
            self._named_month,
        )
        return text

    def _range(self, first: str, second: str) -> None:
        start, last = _iso(first), _iso(second)
        if start is None or last is None:
            bad = first if start is None else second
            self.problems.append(f"{bad} is not a date (YYYY-MM-DD)")
            return
        if last < start:
            self.problems.append(f"the range {first} to {second} ends before it starts")
            return
        if start == last:
            self.add(Period(start, start + timedelta(days=1), start.isoformat(), f"on {first}"))
            return
        label = f"{start.isoformat()} to {last.isoformat()}"
        self.add(Period(start, last + timedelta(days=1), label, f"from {first} to {second}"))

    def _since(self, first: str) -> None:
        start = _iso(first)
        if start is None:
            self.problems.append(f"{first} is not a date (YYYY-MM-DD)")
            return
        end = self.today + timedelta(days=1)
        self.add(Period(start, end, f"since {first}", f"since {first}"))

    def _last_n(self, n: int, unit: str) -> None:
        if n < 1:
            self.problems.append(f"the last {n} {unit} is an empty period")
            return
        t = self.today
        if unit.startswith("month"):
            first_of_this = t.replace(day=1)
            start = first_of_this
            for _ in range(n):
                start = (start - timedelta(days=1)).replace(day=1)
                if start.year < 1900:
                    break
            months = "month" if n == 1 else f"{n} months"
            self.add(Period(start, first_of_this, f"the last {months}", f"last {n} months"))
            return
        days = n * 7 if unit.startswith("week") else n
        if days > MAX_DAYS:
            self.problems.append(f"the last {n} {unit} is longer than ten years")
            return
        label = f"last {n} {unit}"
        self.add(Period(t - timedelta(days=days - 1), t + timedelta(days=1), label, label))

    def _keyword(self, m: re.Match[str]) -> None:
        t = self.today
        tomorrow = t + timedelta(days=1)
        last, this, so_far, to_date, short = m.groups()
        word = short or ""
        if last:
            word = {"day": "yesterday", "week": "lw", "month": "lm", "quarter": "lq", "year": "ly"}[
                last
            ]
        elif this or so_far or to_date:
            word = {"week": "wtd", "month": "mtd", "quarter": "qtd", "year": "ytd"}[
                this or so_far or to_date
            ]
        monday = t - timedelta(days=t.weekday())
        q_start = date(t.year, 3 * ((t.month - 1) // 3) + 1, 1)
        periods = {
            "today": lambda: Period(t, tomorrow, "today", "today"),
            "yesterday": lambda: Period(t - timedelta(days=1), t, "yesterday", "yesterday"),
            "wtd": lambda: Period(monday, tomorrow, "this week (to date)", "this week"),
            "lw": lambda: Period(monday - timedelta(days=7), monday, "last week", "last week"),
            "mtd": lambda: Period(t.replace(day=1), tomorrow, "this month (to date)", "this month"),
            "lm": lambda: Period(
                (t.replace(day=1) - timedelta(days=1)).replace(day=1),
                t.replace(day=1),
                "last month",
                "last month",
            ),
            "qtd": lambda: Period(q_start, tomorrow, "this quarter (to date)", "this quarter"),
            "lq": lambda: Period(
                date(q_start.year - (q_start.month == 1), (q_start.month - 4) % 12 + 1, 1),
                q_start,
                "last quarter",
                "last quarter",
            ),
            "ytd": lambda: Period(date(t.year, 1, 1), tomorrow, "this year (to date)", "this year"),
            "ly": lambda: Period(
                date(t.year - 1, 1, 1), date(t.year, 1, 1), "last year", "last year"
            ),
        }
        self.add(periods[word]())

    def _quarter(self, m: re.Match[str]) -> None:
        ordinal, q, year, year2, q2 = m.groups()
        number = (
            int(q or q2) if (q or q2) else ["first", "second", "third", "fourth"].index(ordinal) + 1
        )
        t = self.today
        explicit = year or year2
        if explicit:
            y = int(explicit)
        else:
            current = (t.month - 1) // 3 + 1
            y = t.year if number <= current else t.year - 1
        start = date(y, 3 * (number - 1) + 1, 1)
        full_end = _month_end(y, 3 * number)
        end = _to_date(full_end, t)
        running = end < full_end and start <= t
        label = f"Q{number} {y}" + (" (to date)" if running else "")
        self.add(Period(start, end if end > start else full_end, label, f"q{number} {y}"))

    def _named_month(self, m: re.Match[str]) -> None:
        name = m.group(1) or m.group(3) or m.group(5)
        year = m.group(2) or m.group(4) or m.group(6)
        self._month(MONTHS[name], year)

    def _month(self, month: int, year: str | None) -> None:
        t = self.today
        if not 1 <= month <= 12:
            self.problems.append(f"{year}-{month:02d} is not a month")
            return
        y = int(year) if year else (t.year if month <= t.month else t.year - 1)
        start = date(y, month, 1)
        full_end = _month_end(y, month)
        end = _to_date(full_end, t)
        running = end < full_end and start <= t
        name = f"{calendar.month_name[month]} {y}"
        label = name + (" (to date)" if running else "")
        self.add(Period(start, end if end > start else full_end, label, f"in {name.lower()}"))


def _consume(text: str, pattern: str, found: Callable[[re.Match[str]], None]) -> str:
    """Call `found` for every match and blank the match out of the text."""

    def blank(m: re.Match[str]) -> str:
        found(m)
        return " "

    return re.sub(pattern, blank, text)


# --- The parser ----------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Lower-case text with Slack markup, possessives and punctuation removed."""
    text = re.sub(r"<[@!][^>]*>", " ", text)  # user mentions, <!here>
    text = re.sub(r"<[#][A-Z0-9]+\|([^>]*)>", r"\1", text)  # channel links keep their name
    text = re.sub(r"<[^>|]*\|([^>]*)>", r"\1", text)  # links keep their label
    text = re.sub(r"<[^>]*>", " ", text)
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    text = re.sub(r"(?<=\w)'s\b", "", text)
    text = re.sub(r"[?!,;()\[\]{}\"*_`~“”]", " ", text)
    return " ".join(text.split())


def default_period(today: date) -> Period:
    return Period(
        today.replace(day=1), today + timedelta(days=1), "this month (to date)", "this month"
    )


def parse_question(text: str, *, today: date, vocabulary: Vocabulary) -> Question:
    """Understand a question. Never guesses: what it cannot place is reported, with real
    questions of the class it recognized as suggestions."""
    question = _parse(text, today, vocabulary)
    if question.is_clear:
        return question
    return replace(question, suggestions=suggestions_for(question), suggestion="")


# --- The grammar: intents, KPIs, dimensions ------------------------------------------------

NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_N = r"(\d{1,3}|" + "|".join(NUMBERS) + r")"

DIMENSION_WORDS: dict[str, Dimension] = {
    "teams": "team",
    "team": "team",
    "models": "model",
    "model": "model",
    "llms": "model",
    "llm": "model",
    "providers": "provider",
    "provider": "provider",
    "vendors": "provider",
    "vendor": "provider",
    "applications": "application",
    "application": "application",
    "apps": "application",
    "app": "application",
    "projects": "application",
    "project": "application",
    "workloads": "application",
    "workload": "application",
}
_DIM = r"(" + "|".join(sorted(DIMENSION_WORDS, key=len, reverse=True)) + r")"

# KPI phrases, most specific first; each consumed from the text when found. Carbon comes
# first: "carbon per 1k tokens" asks for carbon, not for the cost the bare "per 1k tokens" names.
KPI_PATTERNS: list[tuple[str, str]] = [
    (
        "carbon",
        r"\bcarbon(?:\s+(?:footprint|emissions?|intensity|density))?\b|\bco2e?\b"
        r"|\bemissions?\b|\bfootprint\b|\bghg\b",
    ),
    ("cost_per_gpu_hour", r"\b(?:cost|price|spend) per gpu[- ]?hours?\b"),
    ("cold_start", r"\b(?:gpu\s+)?cold[- ]?starts?(?:\s+(?:cost|costs|spend|waste))?\b"),
    ("gpu_hours", r"\bgpu[- ]?(?:hours?|hrs?|time|usage)\b|\bhours? of gpu\b"),
    (
        "cost_per_1k_tokens",
        r"\b(?:cost|price|spend)s?\s+(?:per|a|for each|/)\s*(?:1k|1,000|1000|thousand|k)\s+"
        r"tokens?\b|\b(?:cost|price)\s+per\s+tokens?\b|\bper\s+(?:1k|1000|thousand)\s+tokens?\b",
    ),
    (
        "cost_per_inference",
        r"\b(?:cost|price|spend)s?\s+(?:per|a|for each|/)\s*(?:inferences?|requests?|calls?|"
        r"queries|query|predictions?|completions?|api calls?)\b|\bunit costs?\b"
        r"|\bper[- ](?:request|inference)\s+costs?\b",
    ),
    ("token_density", r"\btoken density\b|\btokens? per (?:output|response) tokens?\b"),
    (
        "cache_hit_ratio",
        r"\b(?:prompt\s+)?cache\s+hit\s+(?:rate|ratio|percentage|share)s?\b|\bcache hits?\b"
        r"|\bcache (?:rate|ratio|usage)\b|\bcaching (?:rate|ratio)\b",
    ),
]

# Intent cues, checked in this order: the first intent whose cue is present wins.
INTENT_PATTERNS: list[tuple[Intent, str]] = [
    (
        "learning",
        r"\bcertif\w*|\bcredentials?\b|\bbadges?\b|\bmodules?\b|\blearn\w*|\bcourses?\b"
        r"|\bexams?\b|\bquiz\w*|\bcurriculum\b|\bstudy\w*",
    ),
    ("alerts", r"\balerts?\b|\banomal\w*|\bincidents?\b|\balarms?\b"),
    (
        "savings",
        r"\bsav(?:e|es|ed|ing|ings)\b|\breduce\b|\bcut\b|\bcutting\b|\blower\b|\boptimi[sz]\w*"
        r"|\brecommendations?\b|\bopportunit\w*|\bwaste\w*|\bcheaper\b",
    ),
    (
        "budget",
        r"\bbudgets?\b|\bforecast\w*|\bprojected\b|\bprojections?\b|\bmonth[- ]end\b"
        r"|\bend of (?:the )?month\b|\bon track\b|\boverspend\w*|\brun[- ]rate\b",
    ),
    (
        "drivers",
        r"\bwhy\b|\bdr[oi]ven?\b|\bdrives\b|\bdrivers?\b|\bcaus\w*|\bexplain\w*"
        r"|\bwhat changed\b|\bcontribut\w*|\bbehind\b|\bresponsible\b",
    ),
    (
        "compare",
        r"\bcompar\w*|\bvs\b|\bv\b|\bversus\b|\bagainst\b|\bover (?:the )?(?:previous|prior)\b"
        r"|\b(?:week|month|quarter|year)[- ]over[- ](?:week|month|quarter|year)\b"
        r"|\b(?:wow|mom|qoq|yoy)\b|\bup or down\b|\bdifference\b|\bchanged?\b"
        r"|\bthe (?:week|month|quarter|year) before\b|\bprevious period\b",
    ),
]
RANKING_CUE = (
    r"\btop\b|\bmost\b|\bbiggest\b|\blargest\b|\bhighest\b|\bpriciest\b|\bcostliest\b"
    r"|\bcheapest\b|\bleast\b|\blowest\b|\bsmallest\b|\bmax\w*\b|\bmin\b"
)
ASCENDING_CUE = r"\bcheapest\b|\bleast\b|\blowest\b|\bsmallest\b|\bmin\b"
BREAKDOWN = (
    r"\b(?:split|broken|break|breaking|grouped)?\s*(?:down\s+)?(?:by|per|for each|for every|each"
    r"|across|across all)\s+" + _DIM + r"\b"
)
UNALLOCATED_PHRASES = [
    "unallocated",
    "un-allocated",
    "unassigned",
    "unattributed",
    "not allocated",
    "without a team",
    "with no team",
    "no team",
]
# Words that carry no meaning of their own in these questions (cues are consumed first).
FILLER = frozenset(
    _words(
        """
        ai up down go goes going gone went did do does doing done was were be been being has
        have had having is are am will would shall should could can may might must
        increase increased increases decrease decreased decreases rise rose jump jumped jumps
        spike spiked drop dropped grow grew growth higher lower more less fewer change
        expensive expense costly pricey biggest spender spenders spending spends
        left remaining remain remains still available over under stand where status
        now currently far yet ever most least which who whom whose when
        show list give tell find get got see look view check display me please quick quickly
        each every all per vs next last this previous prior same period periods
        much many number amount total totals overall sum altogether
        than then versus one ones do i my me mine myself open wide break breakdown split
        broken grouped looking look progress take taking doing
        """
    )
)


def _count_word(word: str) -> int:
    return int(word) if word.isdigit() else NUMBERS[word]


def _parse(text: str, today: date, vocabulary: Vocabulary) -> Question:
    s = f" {normalize(text)} "
    problems: list[str] = []

    # Teams, providers and models first (model names may hold dates), longest phrase first,
    # so "azure openai" is a provider and "gpt-4o-mini" is not read as "gpt-4o".
    entities: dict[str, tuple[str, str]] = {}
    for model in vocabulary.models:
        entities.setdefault(model.lower(), ("model", model))
    for alias, key in provider_words().items():
        entities[alias] = ("provider", key)
    for key in vocabulary.providers:
        entities.setdefault(key.lower(), ("provider", key))
    for team in vocabulary.teams:
        for alias in team.aliases():
            entities[alias] = ("team", team.slug)
    # KPI phrases that name GPUs must not be read as the "gpu cluster" provider alias.
    kpi = ""
    for name, pattern in KPI_PATTERNS:
        if re.search(pattern, s):
            kpi = kpi or name
            s = re.sub(pattern, " ", s)
    hits: list[tuple[int, str, str]] = []
    for alias in sorted(entities, key=len, reverse=True):
        pattern = _boundary(alias)
        for m in re.finditer(pattern, s):
            kind, key = entities[alias]
            hits.append((m.start(), kind, key))
        s = re.sub(pattern, " ", s)
    hits.sort()
    teams = _unique(k for _, kind, k in hits if kind == "team")
    providers = _unique(k for _, kind, k in hits if kind == "provider")
    models = _unique(k for _, kind, k in hits if kind == "model")

    # "no team" (unallocated) and "my team" before the dimension words take "team".
    unallocated_words = False
    for phrase in sorted(UNALLOCATED_PHRASES, key=len, reverse=True):
        if re.search(_boundary(phrase), s):
            unallocated_words = True
            s = re.sub(_boundary(phrase), " ", s)

    team_words = bool(re.search(r"\b(?:my|our) teams?\b", s))
    s = re.sub(r"\b(?:my|our) teams?\b", " ", s)

    # "vs last month", "the week before", "week over week": which side is which.
    versus_unit = ""
    versus = re.search(
        r"\b(?:vs|versus|against|compared (?:to|with)|than|to|with)\s+(?:last|previous)\s+"
        r"(week|month|quarter|year)\b",
        s,
    )
    if versus:
        versus_unit = versus.group(1)
    over = re.search(r"\b(week|month|quarter|year)[- ]over[- ]\1\b|\b(wow|mom|qoq|yoy)\b", s)
    over_unit = ""
    if over:
        over_unit = over.group(1) or {"wow": "week", "mom": "month", "qoq": "quarter"}.get(
            over.group(2), "year"
        )
    before_unit = ""
    before = re.search(r"\bthe (week|month|quarter|year) before\b|\bprevious period\b", s)
    if before:
        before_unit = before.group(1) or "period"

    intent: Intent | None = None
    for name, pattern in INTENT_PATTERNS:
        if re.search(pattern, s):
            intent = name
            break

    # Learning topics (before the period words: "expire next month" is not a spend period).
    topic = ""
    if intent == "learning":
        if re.search(r"\bexpir\w*|\bvalid until\b|\brenew\w*|\blapse\w*", s):
            topic = "expiry"
        elif re.search(
            r"\bleft\b|\bremaining\b|\bto go\b|\bto do\b|\boutstanding\b|\bunfinished"
            r"|\bhave i not\b|\bnot (?:yet )?(?:done|finished|completed)\b",
            s,
        ):
            topic = "modules_left"
        elif re.search(r"\bnext\b|\bshould i\b|\brecommend\w*|\bsuggest\w*|\bstart with\b", s):
            topic = "next"
        else:
            topic = "status"
        s = re.sub(
            r"\bexpir\w*|\bvalid until\b|\brenew\w*|\blapse\w*|\bto go\b|\bto do\b"
            r"|\boutstanding\b|\bunfinished\b|\bnot (?:yet )?(?:done|finished|completed)\b"
            r"|\brecommend\w*|\bsuggest\w*|\bstart with\b",
            " ",
            s,
        )

    dimension = ""
    top = 0
    ascending = False
    breakdown = re.search(BREAKDOWN, s)
    ranking_cue = re.search(RANKING_CUE, s)
    dim_word = re.search(r"\b" + _DIM + r"\b", s)
    if intent is None and ranking_cue and dim_word:
        intent = "ranking"
        dimension = DIMENSION_WORDS[dim_word.group(1)]
        n = re.search(
            r"\btop\s+" + _N + r"\b|\b" + _N + r"\s+(?:most|biggest|largest|"
            r"highest|cheapest|least|lowest|smallest|priciest|costliest)\b",
            s,
        )
        if n:
            top = _count_word(n.group(1) or n.group(2))
        elif dim_word.group(1).endswith("s"):
            top = 5  # "top teams", "which models cost the most"
        else:
            top = 1
        ascending = bool(re.search(ASCENDING_CUE, s))
    elif intent is None and breakdown:
        intent = "breakdown"
        dimension = DIMENSION_WORDS[breakdown.group(1)]
    elif intent is None and ranking_cue and not dim_word and re.search(r"\btop\b", s):
        intent = "ranking"  # "top 3 frobnicators": a ranking of something unknown
        n = re.search(r"\btop\s+" + _N + r"\b", s)
        top = _count_word(n.group(1)) if n else 5
    elif intent is None and kpi:
        intent = "kpi"
    elif intent in ("drivers", "compare") and breakdown:
        dimension = DIMENSION_WORDS[breakdown.group(1)]
    if kpi and intent in (None, "compare"):
        intent = "kpi" if intent is None else intent

    # Blank the cue words of every grammar pattern so they are not "unknown".
    for _, pattern in INTENT_PATTERNS:
        s = re.sub(pattern, " ", s)
    s = re.sub(BREAKDOWN, " ", s)
    s = re.sub(
        r"\btop\s+" + _N + r"\b|\b" + _N + r"\s+(?=most|biggest|largest|highest|"
        r"cheapest|least|lowest|smallest|priciest|costliest)",
        " ",
        s,
    )
    s = re.sub(RANKING_CUE, " ", s)
    s = re.sub(r"\b" + _DIM + r"\b", " ", s)
    s = re.sub(r"\b(?:week|month|quarter|year)[- ]over[- ](?:week|month|quarter|year)\b", " ", s)
    s = re.sub(r"\bthe (?:week|month|quarter|year) before\b|\bprevious period\b", " ", s)

    periods = _Periods(today)
    s = periods.scan(s)
    s = re.sub(r"\b(?:to|with|over|than|and|or)\b", " ", s)
    problems.extend(periods.problems)
    found = sorted(periods.found, key=lambda p: p.start)
    period: Period | None = None
    previous: Period | None = None
    if intent in ("compare", "drivers"):
        if len(found) == 2:
            previous, period = found[0], found[1]
        elif len(found) > 2:
            problems.append(
                "more than two periods were named ("
                + "; ".join(p.describe() for p in found)
                + "): compare two"
            )
        elif len(found) == 1 and versus_unit and found[0].label == f"last {versus_unit}":
            previous, period = found[0], _current(versus_unit, today)
        elif len(found) == 1:
            period = found[0]
        elif over_unit:
            period = _last_complete(over_unit, today)
        elif before_unit in ("week", "month", "quarter", "year"):
            period = _last_complete(before_unit, today)
    elif len(found) > 1:
        problems.append(
            "several periods were named ("
            + "; ".join(p.describe() for p in found)
            + "): ask about one"
        )
    else:
        period = found[0] if found else None
    if intent == "compare" and len(teams) == 2 and previous is None:
        pass  # two teams over one period
    period_given = period is not None

    flags: dict[str, bool] = {}

    def flag(name: str, phrases: Iterable[str], text: str) -> str:
        for phrase in sorted(phrases, key=len, reverse=True):
            pattern = _boundary(phrase)
            if re.search(pattern, text):
                flags[name] = True
                text = re.sub(pattern, " ", text)
        return text

    s = flag("billed", BILLED_WORDS, s)
    s = flag("effective", EFFECTIVE_WORDS, s)
    if flags.get("billed") and flags.get("effective"):
        problems.append("both billed and effective cost were asked for: pick one")
    s = flag("org", ORG_PHRASES, s)
    s = flag("mine", MY_TEAM_PHRASES, s)

    leftovers: list[str] = []
    asks_spend = False
    help_word = False
    known_models = [m.lower() for m in vocabulary.models]
    for raw in s.split():
        word = raw.strip(".'-/:")
        if not word:
            continue
        if word in SPEND_WORDS:
            asks_spend = True
        elif word in HELP_WORDS:
            help_word = True
        elif word in STOPWORDS or word in FILLER or word == "may":
            continue
        elif word in MODEL_FAMILIES or any(_in_family(m, word) for m in known_models):
            models = _unique([*models, word])
        else:
            leftovers.append(word)

    whole_org = flags.get("org", False)
    unallocated = unallocated_words
    if whole_org and teams:
        problems.append("both the whole organization and a team were named: ask about one")
    if unallocated and teams:
        problems.append("both unallocated spend and a team were named: ask about one")
    if intent == "ranking" and not dimension:
        problems.append("a ranking needs what to rank: teams, models, providers or applications")
    if intent == "compare" and len(teams) > 2:
        problems.append("compare two teams at a time")

    understood_anything = bool(
        found
        or team_words
        or unallocated_words
        or teams
        or providers
        or models
        or whole_org
        or flags
        or intent
        or kpi
    )
    says_nothing = not (leftovers or problems or asks_spend)
    if not understood_anything and (says_nothing or (help_word and not leftovers)):
        intent = "help"
    final: Intent = intent or "spend"
    return Question(
        text=text,
        intent=final,
        period=period or default_period(today),
        period_given=period_given,
        teams=teams,
        my_team=(flags.get("mine", False) or team_words) and not teams,
        team_words=team_words,
        whole_org=whole_org,
        providers=providers,
        models=models,
        cost="billed_cost" if flags.get("billed") else "effective_cost",
        unknown=tuple(leftovers),
        problems=tuple(problems),
        team_names={t.slug: t.name for t in vocabulary.teams},
        dimension=dimension,
        top=top,
        ascending=ascending,
        kpi=kpi if final == "kpi" or kpi else "",
        previous=previous,
        unallocated=unallocated,
        topic=topic,
    )


def _current(unit: str, today: date) -> Period:
    """This week / month / quarter / year to date."""
    periods = _Periods(today)
    periods.scan(f" this {unit} ")
    return periods.found[0]


def _last_complete(unit: str, today: date) -> Period:
    """The last complete week / month / quarter / year."""
    periods = _Periods(today)
    periods.scan(f" last {unit} ")
    return periods.found[0]


def _in_family(model: str, family: str) -> bool:
    """'claude-sonnet-4-5' and 'Claude 3.5 Sonnet' are both of the family 'claude'."""
    return model.startswith(family + "-") or model.startswith(family + " ")


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


# Real questions of each class, offered when a question is not understood. Never built by
# replacing an unknown word with a similar-looking known one: "GPU" is not "gpt".
EXAMPLES: dict[str, list[str]] = {
    "spend": ["what did my team spend last week?", "spend on openai this month"],
    "ranking": ["top 3 models last month", "which team spent the most last month?"],
    "breakdown": ["spend by model this month", "spend by provider last week"],
    "kpi": ["cost per inference last week", "GPU hours last month", "cache hit rate this month"],
    "compare": ["compare this month to last month", "week over week"],
    "drivers": ["why did our spend go up last week?", "what drove the change last month?"],
    "budget": ["how much budget is left?", "forecast for this month"],
    "learning": ["how many modules do I have left?", "when does my credential expire?"],
    "alerts": ["any open alerts?"],
    "savings": ["how can we save?"],
}


def suggestions_for(question: Question) -> tuple[str, ...]:
    """Real questions to offer: of the class recognized (else one of each main class)."""
    if question.intent in EXAMPLES and question.intent != "spend":
        return tuple(EXAMPLES[question.intent][:3])
    return (
        EXAMPLES["spend"][0],
        EXAMPLES["ranking"][0],
        EXAMPLES["kpi"][0],
        EXAMPLES["compare"][0],
        EXAMPLES["budget"][1],
    )


def model_filter(models: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """The model names to query for what the asker named. The query layer matches a name and
    its snapshots ("gpt-4o" -> "gpt-4o-2024-08-06", never "gpt-4o-mini"). A name the ledger
    knows (or knows dated snapshots of) is passed as is; a family word ("claude",
    "claude-sonnet") is expanded here to every known model of the family."""
    known_lower = {k.lower(): k for k in known}
    out: list[str] = []
    for name in models:
        lower = name.lower()
        dated = re.compile(rf"^{re.escape(lower)}-(\d{{4}}-\d{{2}}-\d{{2}}|\d{{8}})$")
        if lower in known_lower or any(dated.match(k) for k in known_lower):
            out.append(name)
            continue
        family = sorted(v for k, v in known_lower.items() if _in_family(k, lower))
        out.extend(family or [name])
    return _unique(out)


HELP_EXAMPLES = [
    "what did my team spend last week?",
    "spend for ml-platform in October on openai",
    "billed spend for my team last month",
    "spend for search from 2026-10-01 to 2026-10-15",
    "what did we spend on claude in the last 30 days?",
]
