import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from statlesson import histplots, plotting


def test_presentation_mode_enlarges_fonts_and_can_be_switched_off():
    plotting.use_style()
    normal = plt.rcParams["font.size"]
    plotting.presentation_mode()
    assert plt.rcParams["font.size"] > normal
    plotting.presentation_mode(False)
    assert plt.rcParams["font.size"] == normal


def test_toy_label_is_honest_about_simulation_and_pseudo_data():
    plotting.use_style()
    for data, word in [(False, "simulation"), (True, "pseudo-data")]:
        fig, ax = plt.subplots()
        assert plotting.toy_label(ax, data=data) is ax
        texts = " ".join(t.get_text() for t in ax.texts)
        assert "Toy" in texts and word in texts
        # no experiment's name, and no "Open Data", on generated samples
        assert "CMS" not in texts and "Open Data" not in texts
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


def test_slider_figure_embeds_one_frame_per_value_and_nothing_from_elsewhere():
    import json
    import re

    from statlesson import interactive

    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    drawn = []

    def draw(i):
        drawn.append(i)
        line.set_ydata([0, i])

    page = interactive.slider_figure(fig, draw, ["a", "b", "c"], alt='x < "y"', label="L",
                                     start=1)  # fmt: skip
    assert drawn == [0, 1, 2]
    frames = json.loads(re.search(r"const frames = (\[.*?\]);", page, flags=re.S).group(1))
    assert all(f.startswith("data:image/png;base64,") for f in frames)
    assert len(frames) == 3 and len(set(frames)) == 3  # one distinct image per frame
    assert re.search(r'<img id="[^"]+" src="([^"]+)"', page).group(1) == frames[1]  # start
    assert 'alt="x &lt; &quot;y&quot;"' in page  # escaped
    assert 'max="2"' in page and 'value="1"' in page and 'aria-valuetext="b"' in page
    assert "http" not in page
    assert not plt.fignum_exists(fig.number)  # closed: not shown twice in the notebook
    # the same figure gives the same page (no random ids): builds are reproducible
    fig2, ax2 = plt.subplots()
    (line,) = ax2.plot([0, 1], [0, 0])
    assert interactive.slider_figure(fig2, draw, ["a", "b", "c"], alt='x < "y"', label="L",
                                     start=1) == page  # fmt: skip


def test_slider_figure_rejects_bad_input():
    from statlesson import interactive

    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="at least two frames"):
        interactive.slider_figure(fig, lambda i: None, ["only"], alt="a", label="b")
    with pytest.raises(ValueError, match="start must be a frame number from 0 to 1"):
        interactive.slider_figure(fig, lambda i: None, ["a", "b"], alt="a", label="b", start=2)
    with pytest.raises(ValueError, match="alt"):
        interactive.slider_figure(fig, lambda i: None, ["a", "b"], alt=" ", label="b")
    plt.close("all")


def test_room_for_legend_raises_the_top_of_the_axes_only():
    fig, ax = plt.subplots()
    ax.set_ylim(-1.0, 100.0)
    assert plotting.room_for_legend(ax) is ax
    assert ax.get_ylim() == (-1.0, pytest.approx(100.0 * plotting.LEGEND_ROOM))
    with pytest.raises(ValueError, match="at least 1"):
        plotting.room_for_legend(ax, 0.5)
    plt.close(fig)
