"""config/quality.toml: the FCR windows and the proactive-contact rhythms are settings, checked when read."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.quality.fcr import FcrConfig
from domain.quality.proactive import ProactiveConfig, Rhythm
from services.adapters.config import CONFIG_DIR, ConfigError, load_quality_config


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "quality.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_the_shipped_file_states_the_documented_defaults() -> None:
    fcr, proactive = load_quality_config(CONFIG_DIR)
    assert fcr == FcrConfig(window_days=7, resolve_within_hours=24)
    assert proactive.rhythms == (("key_account", Rhythm(multiple=3.0, min_days=30, min_gaps=2)),)
    assert proactive.last_contacts == 3


def test_a_missing_file_means_the_defaults(tmp_path: Path) -> None:
    assert load_quality_config(tmp_path) == (FcrConfig(), ProactiveConfig())


def test_windows_and_rhythms_per_segment_are_read(tmp_path: Path) -> None:
    fcr, proactive = load_quality_config(write(tmp_path, """
[fcr]
window_days = 3
[proactive]
last_contacts = 5
[[proactive.segments]]
name = "key_account"
multiple = 2.5
min_days = 14
[[proactive.segments]]
name = "gold"
multiple = 4
min_days = 60
min_gaps = 3
"""))
    assert fcr == FcrConfig(window_days=3, resolve_within_hours=24)
    assert proactive.last_contacts == 5
    assert proactive.rhythm_for("key_account") == Rhythm(2.5, 14, 2)
    assert proactive.rhythm_for("gold") == Rhythm(4, 60, 3)
    assert proactive.rhythm_for("regular") is None


def test_an_empty_segment_list_watches_nobody(tmp_path: Path) -> None:
    _, proactive = load_quality_config(write(tmp_path, "[proactive]\nsegments = []\n"))
    assert proactive.rhythms == () and proactive.rhythm_for("key_account") is None


@pytest.mark.parametrize(("text", "says"), [
    ("[fcr]\nwindow_days = -1\n", "fcr.window_days must be a whole number of at least 0"),
    ("[fcr]\nwindow_days = true\n", "fcr.window_days must be a whole number"),
    ("[fcr]\nwindow = 7\n", "[fcr] has unknown settings: window"),
    ("[proactive]\nlast_contacts = 0\n", "proactive.last_contacts must be a whole number of at least 1"),
    ("[[proactive.segments]]\nmultiple = 2\n", "every [[proactive.segments]] needs a name"),
    ("[[proactive.segments]]\nname = 'vip'\nmultiple = 0\n", "a rhythm needs multiple > 0"),
    ("[[proactive.segments]]\nname = 'vip'\nmin_days = 'soon'\n", "proactive.segments.vip.min_days must be"),
    ("fcr = 7\n", "[fcr] must be a table"),
])
def test_a_bad_setting_names_the_file_and_the_setting(tmp_path: Path, text: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_quality_config(write(tmp_path, text))
    assert str(tmp_path / "quality.toml") in str(caught.value) and says in str(caught.value)
