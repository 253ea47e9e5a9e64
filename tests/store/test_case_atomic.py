"""A case and its action plan are created in one transaction (issue 18): all or nothing, on SQLite
and PostGIS.  The failing insert is a real database trigger, not a mock."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import text

AREA = {"type": "Polygon", "coordinates": [[[71.40, 51.10], [71.42, 51.10], [71.42, 51.12], [71.40, 51.12],
                                            [71.40, 51.10]]]}


def _refuse_boom(store) -> None:
    """A trigger that makes the database refuse any action item whose text is 'boom'."""
    with store.engine.begin() as c:
        if store.backend == "sqlite":
            c.execute(text("CREATE TRIGGER refuse_boom BEFORE INSERT ON case_actions WHEN NEW.text = 'boom' "
                           "BEGIN SELECT RAISE(ABORT, 'boom refused'); END"))
        else:
            c.execute(text("CREATE FUNCTION refuse_boom() RETURNS trigger AS $$ BEGIN "
                           "IF NEW.text = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END "
                           "$$ LANGUAGE plpgsql"))
            c.execute(text("CREATE TRIGGER refuse_boom BEFORE INSERT ON case_actions FOR EACH ROW "
                           "EXECUTE FUNCTION refuse_boom()"))


def _rows(store) -> tuple[int, int, int]:
    with store.engine.connect() as c:
        n_case = c.execute(text("SELECT count(*) FROM cases")).scalar()
        n_act = c.execute(text("SELECT count(*) FROM case_actions")).scalar()
        n_audit = c.execute(text("SELECT count(*) FROM audit_log WHERE action LIKE 'case.%'")).scalar()
    return int(n_case), int(n_act), int(n_audit)


def test_case_with_plan_is_one_transaction(store):
    plan = [{"text": "Switch on 5 cameras", "owner": "akimat", "due": "2025-06-01"},
            {"text": "Patrol the stops", "owner": "police", "due_date": "2025-05-20", "done_date": "2025-05-21"}]
    c = store.create_case("astana", "Thefts at the stops", area=AREA, categories=["theft"], actions=plan,
                          who="key:1:a", role="analyst")
    assert [a.text for a in c.actions] == ["Switch on 5 cameras", "Patrol the stops"]
    assert str(c.actions[1].done_date) == "2025-05-21" and c.start_date()[1] == "done"
    log = store.audit_log(100)
    mine = log[log["resource"] == f"cases/{c.id}"].sort_values("id")
    assert list(mine["action"]) == ["case.create", "case.action.add", "case.action.add"]
    assert [json.loads(p)["text"] for p in mine["params"].iloc[1:]] == ["Switch on 5 cameras", "Patrol the stops"]
    before = _rows(store)
    assert before == (1, 2, 3)

    _refuse_boom(store)
    bad_plan = [{"text": "Fix the lamps", "owner": "akimat"}, {"text": "boom"}, {"text": "never written"}]
    with pytest.raises(Exception, match="boom refused"):
        store.create_case("astana", "Burglaries", area=AREA, actions=bad_plan, who="key:1:a", role="analyst")
    assert _rows(store) == before  # no case, no first action, no audit row left behind

    # an invalid item is refused before anything is written, naming its place in the plan
    with pytest.raises(ValueError, match=r"actions\[1\].*due_date"):
        store.create_case("astana", "Burglaries", area=AREA,
                          actions=[{"text": "ok"}, {"text": "late", "due": "2025-13-01"}])
    with pytest.raises(ValueError, match=r"actions\[0\].*unknown field"):
        store.create_case("astana", "Burglaries", area=AREA, actions=[{"text": "ok", "budget": 5}])
    assert _rows(store) == before
    # without the refused item the same plan is stored whole
    ok = store.create_case("astana", "Burglaries", area=AREA, actions=[bad_plan[0], bad_plan[2]])
    assert [a.text for a in store.get_case(ok.id).actions] == ["Fix the lamps", "never written"]
    assert _rows(store) == (2, 4, 6)
