"""The helpers that fit with SciPy (:func:`statlesson.fitting.refit` and what is built
on it) leave pyhf's global optimizer as the learner set it: after them
``counting.fit_poi``, which needs MINUIT, still works."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

from statlesson import fitting, counting, limits, toys


@pytest.fixture
def model() -> pyhf.pdf.Model:
    return pyhf.simplemodels.uncorrelated_background(
        signal=[5.0, 10.0], bkg=[50.0, 60.0], bkg_uncertainty=[5.0, 6.0]
    )


@pytest.fixture
def data(model) -> list[float]:
    return [53.0, 65.0, *model.config.auxdata]


@pytest.fixture
def minuit():
    """MINUIT set as pyhf's optimizer, as a learner does; the previous backend restored
    after."""
    before = pyhf.get_backend()
    optimizer = pyhf.optimize.minuit_optimizer(strategy=1, tolerance=0.01)
    pyhf.set_backend("numpy", optimizer)
    yield optimizer
    pyhf.set_backend(*before)


def assert_still(optimizer, model, data) -> None:
    assert pyhf.get_backend()[1] is optimizer
    mu, sigma = counting.fit_poi(model, data)  # raises unless the optimizer is MINUIT
    assert np.isfinite(mu) and sigma > 0


class FailingScipy(pyhf.optimize.scipy_optimizer):
    """Stands in for ``pyhf.optimize.scipy_optimizer`` (a subclass, as
    ``pyhf.set_backend`` checks): SLSQP allowed one iteration, so every fit fails."""

    made = 0  # how many were made

    def __init__(self, **options):
        type(self).made += 1
        super().__init__(**{**options, "maxiter": 1})


def test_refit_leaves_the_optimizer(minuit, model, data):
    i = model.config.poi_index
    pars, _ = fitting.refit(model, data, model.config.suggested_init(), [i])
    assert pars[i] == 1.0  # the POI was held fixed
    assert_still(minuit, model, data)


def test_refit_falling_back_to_minuit_leaves_the_optimizer(
    minuit, model, data, monkeypatch, caplog
):
    import logging

    expected = pyhf.infer.mle.fit(data, model)  # with MINUIT
    monkeypatch.setattr(pyhf.optimize, "scipy_optimizer", FailingScipy)
    monkeypatch.setattr(FailingScipy, "made", 0)
    # (a notebook routes the package's messages to stdout; here they go to pytest's capture)
    monkeypatch.setattr(logging.getLogger("statlesson"), "propagate", True)
    with caplog.at_level(logging.WARNING, logger="statlesson"):
        pars, _ = fitting.refit(model, data, model.config.suggested_init())
    assert FailingScipy.made == 1  # SLSQP was tried (and failed)
    assert "did not converge" in caplog.text and "MINUIT" in caplog.text  # and said so
    monkeypatch.undo()
    np.testing.assert_allclose(pars, expected, atol=0.01)  # found by the fallback
    assert_still(minuit, model, data)


def test_refit_failing_leaves_the_optimizer(minuit, model, data, monkeypatch):
    monkeypatch.setattr(pyhf.optimize, "scipy_optimizer", FailingScipy)
    monkeypatch.setattr(fitting, "_CAREFUL", FailingScipy())  # the fallback fails too
    with pytest.raises(RuntimeError, match="did not converge"):
        fitting.refit(model, data, model.config.suggested_init())
    monkeypatch.undo()
    assert_still(minuit, model, data)


def test_fit_toys_and_limits_leave_the_optimizer(minuit, model, data):
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    sample = toys.sample_toys(model, pars, 2, seed=3)
    fitted = toys.fit_toys(model, sample, pars, max_steps=0)  # no shared steps: refits
    assert np.all(np.isfinite(fitted))
    assert_still(minuit, model, data)
    pars[model.config.poi_index] = 0.0
    limits.expected_limits(model, pars)
    assert_still(minuit, model, data)
