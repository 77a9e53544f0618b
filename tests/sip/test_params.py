"""imkit.sip.params: parameter lists, their look-ups and the parse memos."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from imkit.sip.params import MEMO_LIMIT, Params, remember, unquote

names = st.sampled_from(["tag", "TAG", "Tag", "branch", "lr", "rport", "x"])
pairs = st.lists(st.tuples(names, st.one_of(st.none(), st.sampled_from(["1", '"a b"', ""]))), max_size=5)


@given(pairs, names)
def test_look_ups_compare_names_case_insensitively(items: list[tuple[str, str | None]], name: str) -> None:
    params = Params(tuple(items))
    found = [v for n, v in items if n.lower() == name.lower()]
    assert (name in params) is bool(found)
    assert params.raw(name) == (found[0] if found else None)
    assert params.get(name, "none") == (("" if found[0] is None else unquote(found[0])) if found else "none")
    changed = params.with_param(name, "9")
    assert changed.raw(name) == "9" and type(changed) is Params
    assert [n for n, _ in changed if n.lower() == name.lower()] == [name]
    assert name not in params.without(name) and type(params.without(name)) is Params
    assert str(Params.parse(str(changed)[1:])) == str(changed)


def test_a_memo_stays_bounded() -> None:
    memo: dict[int, int] = {}
    for i in range(3 * MEMO_LIMIT):
        assert remember(memo, i, -i) == -i
        assert len(memo) <= MEMO_LIMIT and memo[i] == -i
