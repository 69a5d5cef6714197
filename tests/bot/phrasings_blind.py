"""Phrasings written BEFORE the new question grammar's vocabulary existed (issue #10).

Written as people would type them, from the issue's list of question classes, before
bot/question.py got its intents, dimension and measure words. They are kept verbatim in this
separate list (never edited to suit the parser); tests/bot/test_conversation_classes.py
attaches to each one the independent computation of its expected answer. Askers: "alice"
(engineer, ml-platform), "fiona" (FinOps admin, no team), "lead" (ml-platform team lead).
"""

BLIND: dict[str, list[tuple[str, str]]] = {
    "rankings": [
        ("which model costs the most?", "alice"),
        ("top 3 teams by AI spend last month", "fiona"),
        ("biggest application last week", "alice"),
        ("what is our most expensive provider this month", "alice"),
        ("cheapest model last month", "alice"),
        ("top 2 models for ml-platform in september", "lead"),
        ("which team spent the most in Q3?", "fiona"),
    ],
    "kpis": [
        ("what is our cost per inference last week?", "alice"),
        ("cost per 1k tokens for gpt-4o last month", "alice"),
        ("token density this month", "alice"),
        ("what's the cache hit rate for my team?", "alice"),
        ("how many GPU hours did we use last month", "alice"),
        ("carbon footprint of ml-platform in september", "lead"),
        ("cost per request on openai last week", "alice"),
    ],
    "breakdowns": [
        ("spend by team last month", "fiona"),
        ("spend by model this month", "alice"),
        ("break down our spend by provider last week", "alice"),
        ("costs per application in september", "alice"),
        ("spend by team for the whole org this quarter", "fiona"),
        ("show me spend by model for search last month", "fiona"),
    ],
    "comparisons": [
        ("compare this month to last month", "alice"),
        ("september vs august", "alice"),
        ("week over week spend", "alice"),
        ("how does last week compare with the week before?", "alice"),
        ("compare ml-platform and search last month", "fiona"),
        ("month over month change", "alice"),
        ("is our spend up or down vs last month?", "alice"),
    ],
    "drivers": [
        ("why did our spend go up last week?", "alice"),
        ("what drove the increase in september", "alice"),
        ("what changed in our costs this month?", "alice"),
        ("why is spend higher this month", "fiona"),
        ("what caused the change in ml-platform spend last month?", "lead"),
        ("explain the spend change last week", "alice"),
    ],
    "budgets": [
        ("will we go over budget this month?", "alice"),
        ("how much budget is left?", "alice"),
        ("forecast for this month", "alice"),
        ("what's our budget?", "alice"),
        ("are we on track with the budget", "lead"),
        ("month end forecast for ml-platform", "lead"),
    ],
    "org": [
        ("what did we spend last week?", "fiona"),
        ("how much did our org spend last month", "fiona"),
        ("our total AI spend this month", "fiona"),
        ("unallocated spend last month", "fiona"),
        ("how much spend is unallocated this month?", "fiona"),
        ("company wide spend yesterday", "fiona"),
    ],
    "learning": [
        ("am I certified?", "alice"),
        ("how many modules do I have left?", "alice"),
        ("when does my credential expire?", "alice"),
        ("what should I learn next?", "alice"),
        ("what's my certification status", "alice"),
        ("which modules are left for me", "alice"),
    ],
    "alerts": [
        ("any open alerts?", "alice"),
        ("how can we save money?", "alice"),
        ("show me our alerts", "lead"),
        ("what are the savings opportunities?", "fiona"),
        ("how can we reduce our AI costs", "alice"),
        ("are there any anomalies?", "alice"),
    ],
    "unknown": [
        ("what is the weather in paris", "alice"),
        ("how many GPUs do we have in the basement", "alice"),
        ("tell me a joke", "alice"),
        ("spend on blorgflux last week", "alice"),
        ("top 3 frobnicators", "alice"),
        ("budgte forcast", "alice"),
    ],
}
