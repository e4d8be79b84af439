import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from statlesson import plotting  # noqa: E402


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
