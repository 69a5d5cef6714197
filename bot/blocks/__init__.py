"""Block Kit built by pure functions: data in, JSON-ready dicts out. No database, no Slack.

`kit` holds the primitives and Slack's limits (enforced whatever the data; long lists are cut
with a "... and N more" line); each surface has its own module: `answers` (questions, help,
clarification), `alert_cards` (alerts and remediation actions), `nudge_cards`,
`weekly_card` (the weekly summary) and `home_tab` (the App Home view). Numbers are formatted
by `bot.format`.
"""
