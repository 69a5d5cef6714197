"""Slack's Block Kit limits, checked on every message the tests see."""

import json


def assert_within_slack_limits(blocks, *, max_blocks=50):
    assert 0 < len(blocks) <= max_blocks, len(blocks)
    json.dumps(blocks)  # JSON-ready
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif kind == "section":
            assert len(block["text"]["text"]) <= 3000
            fields = block.get("fields", [])
            assert len(fields) <= 10 and all(len(f["text"]) <= 2000 for f in fields)
        elif kind == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        elif kind == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for b in block["elements"]:
                assert len(b["text"]["text"]) <= 75 and len(b["action_id"]) <= 255
                assert len(b.get("value", "")) <= 2000 and len(b.get("url", "")) <= 3000
            assert len(block.get("block_id", "")) <= 255
        else:
            assert kind == "divider", kind
