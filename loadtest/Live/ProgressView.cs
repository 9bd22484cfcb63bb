using System.Globalization;
using System.Threading.Channels;
using Spectre.Console;

namespace Vehicles.LoadTest;

/// <summary>
/// Shows a run's progress: a live table refreshed each interval on a terminal, or one plain line per scenario and
/// interval when the output is redirected (CI logs, files).
/// </summary>
public static class ProgressView
{
    /// <summary>Runs <paramref name="run"/> while showing its progress.</summary>
    /// <param name="output">Where plain lines go.</param>
    /// <param name="console">The terminal for the live table; <see langword="null"/> for plain lines.</param>
    /// <param name="run">Starts the run, reporting progress to the given sink.</param>
    public static async Task<RunReport> ShowAsync(
        TextWriter output, IAnsiConsole? console, Func<IProgress<RunProgress>, Task<RunReport>> run)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(run);
        if (console is null)
        {
            return await run(new PlainProgress(output));
        }

        // Only the latest update matters: older ones are dropped rather than queued behind a slow terminal.
        var updates = Channel.CreateBounded<RunProgress>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropOldest });
        RunReport? report = null;
        await console.Live(BuildTable(null)).AutoClear(false).StartAsync(async context =>
        {
            var running = run(new Progress(updates.Writer));
            var waitForUpdate = updates.Reader.WaitToReadAsync().AsTask();
            while (!running.IsCompleted)
            {
                await Task.WhenAny(running, waitForUpdate);
                if (updates.Reader.TryRead(out var latest))
                {
                    context.UpdateTarget(BuildTable(latest));
                    context.Refresh();
                    waitForUpdate = updates.Reader.WaitToReadAsync().AsTask();
                }
            }

            if (updates.Reader.TryRead(out var last))
            {
                context.UpdateTarget(BuildTable(last));
                context.Refresh();
            }

            report = await running;
        });
        return report!;
    }

    /// <summary>One plain line per scenario, for example <c>[  3.0s] selftest rps 100.0 p50 2.1ms p99 9.7ms err 0 in-flight 1 connected=1</c>.</summary>
    public static string FormatLine(double elapsedSeconds, TimeSeriesPoint point)
    {
        ArgumentNullException.ThrowIfNull(point);
        var errors = point.Errors.Count == 0 ? "0" : string.Join(' ', point.Errors.Select(e => $"{e.Key}={e.Value}"));
        var gauges = string.Join(' ', point.Gauges.Select(g => $"{g.Key}={g.Value}"));
        var warm = point.WarmUpCalls > 0 ? string.Create(CultureInfo.InvariantCulture, $" warm-up {point.WarmUpCalls}") : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"[{elapsedSeconds,6:0.0}s] {point.Scenario} rps {point.Rps:0.0} p50 {point.Latency.P50:0.###}ms p99 {point.Latency.P99:0.###}ms err {errors} in-flight {point.InFlight}{warm}{(gauges.Length > 0 ? " " + gauges : "")}");
    }

    private static Table BuildTable(RunProgress? progress)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.Title = new TableTitle(progress is null
            ? "starting…"
            : string.Create(CultureInfo.InvariantCulture, $"{progress.ElapsedSeconds:0}s of {progress.PlannedSeconds:0}s"));
        foreach (var column in new[] { "Scenario", "RPS", "p50 ms", "p99 ms", "Max ms", "Errors", "In flight", "Warm-up", "Gauges" })
        {
            table.AddColumn(new TableColumn(column));
        }

        foreach (var p in progress?.Latest ?? [])
        {
            var errors = p.Errors.Count == 0 ? "0" : string.Join(", ", p.Errors.Select(e => $"{e.Key} {e.Value}"));
            table.AddRow(
                Markup.Escape(p.Scenario),
                p.Rps.ToString("0.0", CultureInfo.InvariantCulture),
                p.Latency.P50.ToString("0.###", CultureInfo.InvariantCulture),
                p.Latency.P99.ToString("0.###", CultureInfo.InvariantCulture),
                p.Latency.Max.ToString("0.###", CultureInfo.InvariantCulture),
                Markup.Escape(errors),
                p.InFlight.ToString(CultureInfo.InvariantCulture),
                p.WarmUpCalls.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(string.Join(", ", p.Gauges.Select(g => $"{g.Key} {g.Value}"))));
        }

        return table;
    }

    private sealed class Progress(ChannelWriter<RunProgress> writer) : IProgress<RunProgress>
    {
        public void Report(RunProgress value) => writer.TryWrite(value);
    }

    private sealed class PlainProgress(TextWriter output) : IProgress<RunProgress>
    {
        public void Report(RunProgress value)
        {
            foreach (var point in value.Latest)
            {
                output.WriteLine(FormatLine(value.ElapsedSeconds, point));
            }
        }
    }
}
