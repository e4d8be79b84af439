"""The expected CLs limits of :func:`statlesson.limits.expected_limits` against pyhf.

At each of the five values (−2σ … +2σ), ``pyhf.infer.hypotest(..., test_stat="qtilde")``
on the background-only Asimov data must give the expected CLs of that band = 0.05
(±0.002): on the lesson's model and on two small models built here, on which the values
must also agree within 0.5 % with the expected limits of
``pyhf.infer.intervals.upper_limits.upper_limit`` (its root-finding mode). On the built
models σ_A(μ) = μ / √q_μ,A changes fast with μ (few events, a large signal
uncertainty), so an interpolation of σ_A between a few fits misses the +2σ limit by
4-9 %.
"""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

from statlesson import limits

CLS_TOLERANCE = 0.002
RELATIVE_TOLERANCE = 0.005


def few_events_model() -> pyhf.pdf.Model:
    """Three bins with few background events: 4 parameters, POI bounds [0, 10]."""
    return pyhf.simplemodels.uncorrelated_background(
        signal=[1.0, 2.0, 1.5], bkg=[5.0, 1.0, 0.2], bkg_uncertainty=[2.0, 0.5, 0.15]
    )


def systematics_model(upper: float = 10.0) -> pyhf.pdf.Model:
    """A signal region with normsys, histosys and staterror modifiers and a control
    region: 8 parameters, POI bounds [0, ``upper``], median expected limit about 1.9."""
    xsec1 = {"name": "xsec1", "type": "normsys", "data": {"hi": 1.1, "lo": 0.88}}
    signal = {
        "name": "signal",
        "data": [1.5, 3.0, 2.0],
        "modifiers": [
            {"name": "mu", "type": "normfactor", "data": None},
            {"name": "theory", "type": "normsys", "data": {"hi": 1.3, "lo": 0.7}},
        ],
    }
    background_1 = {
        "name": "bkg1",
        "data": [8.0, 5.0, 2.0],
        "modifiers": [
            xsec1,
            {"name": "shape", "type": "histosys",
             "data": {"hi_data": [9.0, 5.0, 1.5], "lo_data": [7.2, 5.0, 2.6]}},
            {"name": "staterror_SR", "type": "staterror", "data": [0.8, 0.6, 0.4]},
        ],
    }
    background_2 = {
        "name": "bkg2",
        "data": [2.0, 2.0, 1.0],
        "modifiers": [
            {"name": "xsec2", "type": "normsys", "data": {"hi": 1.5, "lo": 0.6}}
        ],
    }
    spec = {
        "channels": [
            {"name": "SR", "samples": [signal, background_1, background_2]},
            {"name": "CR", "samples": [{"name": "bkg1", "data": [100.0],
                                        "modifiers": [xsec1]}]},
        ],
        "parameters": [{"name": "mu", "bounds": [[0.0, upper]]}],
    }
    return pyhf.Model(spec, poi_name="mu")


MODELS = {"few_events": few_events_model, "systematics": systematics_model}


def background_point(model: pyhf.pdf.Model) -> np.ndarray:
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    pars[model.config.poi_index] = 0.0
    return pars


def expected_cls(model, background, values) -> np.ndarray:
    """pyhf's expected CLs of band k at the k-th value (its expected set: −2σ … +2σ)."""
    asimov = model.expected_data(background).tolist()
    out = []
    for band, mu in enumerate(values):
        _, expected_set = pyhf.infer.hypotest(
            float(mu), asimov, model, init_pars=background.tolist(),
            test_stat="qtilde", return_expected_set=True,
        )
        out.append(float(expected_set[band]))
    return np.asarray(out)


@pytest.fixture(autouse=True)
def scipy_optimizer():
    """pyhf's own calls here with its default optimizer; the previous one restored
    after."""
    before = pyhf.get_backend()
    pyhf.set_backend("numpy", "scipy")
    yield
    pyhf.set_backend(*before)


@pytest.fixture(scope="module", params=sorted(MODELS))
def built(request):
    """A built model, its background-only point and its expected limits."""
    model = MODELS[request.param]()
    background = background_point(model)
    return model, background, limits.expected_limits(model, background)


def test_expected_limits_give_cls_005_on_the_lessons_model(likelihood):
    pdf, _ = likelihood
    background = background_point(pdf)
    expected = limits.expected_limits(pdf, background)
    assert np.all(np.diff(expected) > 0)
    np.testing.assert_allclose(
        expected_cls(pdf, background, expected), 0.05, atol=CLS_TOLERANCE
    )


def test_expected_limits_give_cls_005_on_built_models(built):
    model, background, expected = built
    assert np.all(np.diff(expected) > 0)
    np.testing.assert_allclose(
        expected_cls(model, background, expected), 0.05, atol=CLS_TOLERANCE
    )


def test_expected_limits_match_pyhf_upper_limit(built):
    model, background, expected = built
    asimov = pyhf.tensorlib.astensor(model.expected_data(background))
    _, standard = pyhf.infer.intervals.upper_limits.upper_limit(
        asimov, model, None, level=0.05, init_pars=background.tolist(),
        test_stat="qtilde",
    )  # scan=None: pyhf's root finding (toms748), to 1e-4 relative
    np.testing.assert_allclose(
        expected, [float(x) for x in standard], rtol=RELATIVE_TOLERANCE
    )


def test_expected_limit_above_the_poi_bound_is_an_error():
    model = systematics_model(upper=3.0)  # the +2σ limit is about 5.4
    with pytest.raises(ValueError, match=r"\+2σ band lies above the upper bound 3"):
        limits.expected_limits(model, background_point(model))
