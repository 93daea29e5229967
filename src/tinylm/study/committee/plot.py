"""The committee study's plot: accuracy against latency and against FLOPs, per task, with
the Pareto fronts outlined."""

from pathlib import Path

from tinylm.study.committee.analysis import summarise
from tinylm.study.tables import plot_style, save_figure

PAPERS = "the paper's committee"  # the members' full committee, drawn apart from the others
STYLES = {  # arm: marker, colour, size
    "reference": ("s", "C3", 60),
    "member": ("o", "C0", 40),
    "candidate": ("D", "C2", 40),
    "committee": (".", "0.5", 25),
    PAPERS: ("*", "C4", 110),
}


def plot(rows: list[dict], path: Path, caption: str) -> None:
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    summary = summarise(rows)
    with plot_style():
        fig, axes = plt.subplots(len(summary), 2, figsize=(9.5, 3.4 * len(summary)), squeeze=False)
        for (task, data), (by_latency, by_flops) in zip(summary.items(), axes, strict=True):
            for ax, cost, name, front, label in (
                (
                    by_latency,
                    "latency_ms",
                    "latency",
                    data["front"],
                    "ms per text, batch 1 (parallel)",
                ),
                (by_flops, "flops_per_example", "FLOPs", data["front_flops"], "FLOPs per text"),
            ):
                for e in data["entries"].values():
                    if e[cost] is None:
                        continue
                    style = STYLES[PAPERS if e is data["papers"] else e["arm"]]
                    ax.scatter(
                        e[cost],
                        e["accuracy"].mean,
                        marker=style[0],
                        color=style[1],
                        s=style[2],
                        edgecolors="k" if e["name"] in front else "none",
                        linewidths=1.2,
                    )
                on_front = sorted(
                    (e[cost], e["accuracy"].mean)
                    for e in data["entries"].values()
                    if e["name"] in front
                )
                if on_front:
                    ax.step(*zip(*on_front, strict=True), where="post", color="k", lw=0.8)
                ax.set_xscale("log")
                # ticks at 1, 2, 5 per decade, written plainly (10, 20, 50 ms; 100M FLOPs):
                # the default labels only some minor ticks, as overlapping powers of ten
                ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1, 2, 5)))
                ax.xaxis.set_major_formatter(
                    ticker.EngFormatter(sep="") if cost == "flops_per_example" else "{x:g}"
                )
                ax.xaxis.set_minor_formatter(ticker.NullFormatter())
                ax.set_xlabel(label)
                ax.set_ylabel("test accuracy")
                # short titles: the two panels of a row share the figure's width
                ax.set_title(f"{task}, against {name}")
        # one legend above the panels: inside an axes it hid the reference's marker, which
        # sits wherever the deep model lands
        top = axes[0][0]
        for arm, (marker, color, _) in STYLES.items():
            top.scatter([], [], marker=marker, color=color, label=arm)
        top.plot([], [], color="k", lw=0.8, label="Pareto front (its points outlined)")
        top.legend(fontsize=8, ncol=3, loc="lower left", bbox_to_anchor=(0, 1.1))
        save_figure(fig, path, caption)
