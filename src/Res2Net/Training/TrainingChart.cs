using Res2Net.IO;
using ScottPlot;

namespace Res2Net.Training;

/// <summary>The PNG at the end of a run: losses (left axis) and test accuracy (right axis) per epoch, drawn by ScottPlot.</summary>
internal static class TrainingChart
{
    public const string FileName = "chart.png";

    public static void Save(string path, IReadOnlyList<EpochMetrics> epochs, string title)
    {
        if (epochs.Count == 0)
        {
            return;
        }

        var plot = new Plot();
        double[] x = [.. epochs.Select(e => (double)e.Epoch)];
        var train = plot.Add.Scatter(x, epochs.Select(e => e.TrainLoss).ToArray());
        train.LegendText = "train loss";
        var val = plot.Add.Scatter(x, epochs.Select(e => e.ValLoss).ToArray());
        val.LegendText = "test loss";
        var acc = plot.Add.Scatter(x, epochs.Select(e => e.ValTop1).ToArray());
        acc.LegendText = "test top-1 %";
        acc.Axes.YAxis = plot.Axes.Right;
        plot.Axes.Right.Label.Text = "top-1 accuracy (%)";
        plot.Axes.Left.Label.Text = "loss";
        plot.Axes.Bottom.Label.Text = "epoch";
        plot.Title(title);
        plot.ShowLegend(Alignment.MiddleRight);
        AtomicFile.WriteVia(path, tmp => plot.SavePng(tmp, 800, 500));
    }
}
