"""The JSON Schema twin of the GBNF grammar: generated from the same spec, so what a schema
server returns passes the same validator."""

import json

from forge_tui.knowledge.decide import DECISION_ANSWER
from forge_tui.protocol.json_schema import json_schema
from forge_tui.protocol.spec import compression_model_spec
from forge_tui.protocol.validate import safe_yaml, validate


def test_decision_schema_mirrors_the_spec():
    schema = json_schema(DECISION_ANSWER)
    assert schema["required"] == ["text", "rationale", "tier", "priority"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["priority"]["enum"] == ["critical", "high", "medium", "low"]
    assert schema["properties"]["tier"] == {"type": "number", "minimum": 0.0, "maximum": 1.0,
                                            "description": DECISION_ANSWER.field("tier").doc}
    assert schema["properties"]["text"]["maxLength"] == 120


def test_compression_schema_bounds_lists_and_a_json_answer_validates():
    spec = compression_model_spec(2, 1, max_decisions=3)
    schema = json_schema(spec)
    assert schema["properties"]["decisions"]["maxItems"] == 3
    assert schema["properties"]["decisions"]["items"]["properties"]["from"] == {
        "type": "integer", "minimum": 0, "maximum": 2, "description": "candidate number, 0 = new"}
    answer = json.dumps({"decisions": [{"from": 1, "text": "Use Postgres", "rationale": "", "tier": 1.0,
                                        "priority": "high"}], "threads": [], "continuation_prompt": "Next."})
    assert validate(spec, safe_yaml(answer)) == []
