import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

from richneuron import plots


def test_saved_figures_are_byte_for_byte_reproducible(tmp_path):
    plots.theme()
    paths = []
    for i in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1, 0, 1])
        paths.append(plots.save(fig, f"f{i}", tmp_path))
        plt.close(fig)
    a, b = (p.read_bytes() for p in paths)
    assert a == b and a[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Software" not in a and b"Creation" not in a
