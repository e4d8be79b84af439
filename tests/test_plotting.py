import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from statlesson import histplots, plotting


def test_presentation_mode_enlarges_fonts_and_can_be_switched_off():
    plotting.use_style()
    normal = plt.rcParams["font.size"]
    plotting.presentation_mode()
    assert plt.rcParams["font.size"] > normal
    plotting.presentation_mode(False)
    assert plt.rcParams["font.size"] == normal


def test_cms_label_is_honest_about_simulation_and_data():
    plotting.use_style()
    for data, word in [(False, "Simulation"), (True, "Open Data (toy)")]:
        fig, ax = plt.subplots()
        assert plotting.cms_label(ax, data=data) is ax
        texts = " ".join(t.get_text() for t in ax.texts)
        assert word in texts and "CMS" in texts
        plt.close(fig)


def test_plot_variation_returns_main_and_ratio_axes_and_checks_binning():
    import hist
    import pytest

    def make(values, n=3):
        h = hist.Hist.new.Reg(n, 0, n, label="x [GeV]").Weight()
        h.view().value[:] = values[:n]
        h.view().variance[:] = values[:n]
        return h

    nominal, up, down = make([10, 20, 30]), make([11, 22, 33]), make([9, 18, 27])
    main, ratio = histplots.plot_variation(nominal, up, down, label="JES")
    assert main.get_legend() is not None and ratio.get_ylabel() == "Var. / nom."
    assert ratio.get_xlabel() == "x [GeV]"
    plt.close(main.figure)
    with pytest.raises(ValueError, match="binning"):
        histplots.plot_variation(nominal, make([1, 2, 3, 4], n=4), label="bad")


def test_xsec_comparison_draws_one_row_per_value_and_rejects_negative_errors():
    import pytest

    refs = {"theory": (832.0, 40.0, 45.0), "CMS": (888.0, 33.0, 35.0)}
    ax = histplots.plot_xsec_comparison((890.0, 50.0, 50.0), refs)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["CMS", "theory", "This lesson (pseudo-data)"]
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="positive"):
        histplots.plot_xsec_comparison((890.0, -5.0, 5.0), refs)
