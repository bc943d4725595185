"""`resolve_preprocess`: the one rule that turns what an operator states (dialog or CLI flags)
into the `Preprocess` recorded in an imported encoder."""

from __future__ import annotations

import pytest

from reid_desktop.core.encoders.contract import IMAGENET_MEAN, IMAGENET_STD, ContractError, Preprocess
from reid_desktop.core.encoders.preprocess_options import (
    PreprocessOptions,
    default_stats,
    describe,
    parse_size,
    parse_triple,
    resolve_preprocess,
)


def test_nothing_stated_takes_the_models_size_and_imagenet_stats():
    p, warnings = resolve_preprocess(None, (64, 32))
    assert p == Preprocess(height=64, width=32) and warnings == []


def test_stated_mean_alone_keeps_the_models_own_size():
    p, _ = resolve_preprocess(PreprocessOptions(mean=(0.5, 0.4, 0.3)), (64, 32))
    assert (p.height, p.width, p.mean, p.std) == (64, 32, (0.5, 0.4, 0.3), IMAGENET_STD)


def test_stated_values_are_kept_exactly():
    o = PreprocessOptions(
        rgb=False, scale=1.0, mean=(104.0, 117.0, 123.0), std=(1.0, 1.0, 1.0), size=(64, 32)
    )
    p, warnings = resolve_preprocess(o, (64, 32))
    assert p == Preprocess(64, 32, rgb=False, scale=1.0, mean=(104.0, 117.0, 123.0), std=(1.0, 1.0, 1.0))
    assert warnings == []


def test_a_complete_preprocess_is_taken_as_stated():
    given = Preprocess(64, 32, rgb=False, scale=1.0, mean=(1.0, 2.0, 3.0), std=(4.0, 5.0, 6.0))
    assert resolve_preprocess(given, (64, 32))[0] == given


def test_unset_stats_follow_the_chosen_scale_and_channel_order():
    p, _ = resolve_preprocess(PreprocessOptions(rgb=False, scale=1.0), (64, 32))
    assert p.mean == pytest.approx(tuple(m * 255 for m in IMAGENET_MEAN[::-1]))
    assert p.std == pytest.approx(tuple(s * 255 for s in IMAGENET_STD[::-1]))
    assert default_stats(True, 255.0) == (IMAGENET_MEAN, IMAGENET_STD)


def test_a_size_the_model_does_not_fix_is_assumed_with_a_warning():
    p, warnings = resolve_preprocess(PreprocessOptions(), (0, 0))
    assert (p.height, p.width) == (256, 128) and "does not fix its input size" in warnings[0]
    p, warnings = resolve_preprocess(PreprocessOptions(size=(128, 64)), (0, 0))
    assert (p.height, p.width) == (128, 64) and warnings == []
    p, warnings = resolve_preprocess(PreprocessOptions(), (96, 0))  # only the height is fixed
    assert (p.height, p.width) == (96, 128) and warnings


def test_a_stated_size_that_contradicts_the_model_is_refused():
    with pytest.raises(ContractError, match="fixed at 64×32"):
        resolve_preprocess(PreprocessOptions(size=(256, 128)), (64, 32))


@pytest.mark.parametrize(
    "options",
    [PreprocessOptions(std=(1.0, 0.0, 1.0)), PreprocessOptions(scale=0.0), PreprocessOptions(size=(4, 4))],
)
def test_implausible_values_are_refused(options):
    with pytest.raises(ContractError):
        resolve_preprocess(options, (0, 0))


def test_parsing_the_form_fields():
    assert parse_size("") is None and parse_size(" 256x128 ") == (256, 128)
    assert parse_size("256×128") == parse_size("256 X 128") == (256, 128)
    with pytest.raises(ValueError, match="HEIGHTxWIDTH"):
        parse_size("256")
    assert parse_triple("  ", "Mean") is None
    assert parse_triple("104, 117 123", "Mean") == (104.0, 117.0, 123.0)
    with pytest.raises(ValueError, match="Mean needs three numbers"):
        parse_triple("1 2", "Mean")
    with pytest.raises(ValueError, match="Std: 'a b c' is not three numbers"):
        parse_triple("a b c", "Std")


def test_describe_names_every_field():
    text = describe(Preprocess(64, 32, rgb=False, scale=1.0, mean=(104.0, 117.0, 123.0), std=(1.0, 1.0, 1.0)))
    assert text == "BGR 64×32, raw 0–255 pixels, mean 104 117 123, std 1 1 1"
    assert (
        describe(Preprocess()) == "RGB 256×128, pixels ÷ 255, mean 0.485 0.456 0.406, std 0.229 0.224 0.225"
    )
