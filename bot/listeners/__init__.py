"""Bolt listeners, one module per Slack surface, each with `register(app)`."""

from slack_bolt import App

from bot.listeners import actions, commands, events, home, middleware


def register(app: App) -> None:
    middleware.register(app)
    commands.register(app)
    events.register(app)
    home.register(app)
    actions.register(app)
