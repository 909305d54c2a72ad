import pytest

from backlog_bridge.cluster.prepare import is_actionable, normalise_text, split_actionable


@pytest.mark.parametrize(
    "comment",
    [
        "n/a",
        "N/A",
        "na",
        "No",
        "none.",
        "Nothing!",
        "-",
        "...",
        "good",
        "OK",
        "Great!!",
        "fine",
        "👍",
        "😀😀",
        "?!",
        "",
        "   ",
        None,
        "10",
        "ok 👍",
        "nein",
        "Rien",
        "nada",
        "très bien",
        "Thank you!",
    ],
)
def test_not_actionable(comment):
    assert not is_actionable(comment)


@pytest.mark.parametrize(
    "comment",
    [
        "The app crashes on login",
        "too expensive",
        "no dark mode",
        "slow",
        "Preis zu hoch",
        "pas de mode sombre",
        "good but the export is slow",
        "bugs",
    ],
)
def test_actionable(comment):
    assert is_actionable(comment)


def test_split_keeps_input_order():
    split = split_actionable(["n/a", "login is broken", "👍", "export to csv fails"])
    assert split.actionable == (1, 3)
    assert split.no_actionable == (0, 2)


def test_normalise_text_collapses_case_and_whitespace():
    assert normalise_text("  The  App\tCRASHES\n") == "the app crashes"
    assert normalise_text("Ｆｕｌｌｗｉｄｔｈ") == "fullwidth"
