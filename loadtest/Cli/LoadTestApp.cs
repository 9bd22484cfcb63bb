using System.Globalization;
using Spectre.Console;

namespace Vehicles.LoadTest;

/// <summary>The command-line application: parse, run, show, report, check thresholds, choose the exit code.</summary>
public static class LoadTestApp
{
    /// <summary>Every threshold passed (or none was given).</summary>
    public const int ExitPassed = 0;

    /// <summary>A usage error or a crash.</summary>
    public const int ExitError = 1;

    /// <summary>A threshold failed.</summary>
    public const int ExitThresholdFailed = 2;

    /// <summary>Scenario options with this prefix configure the embedded silo instead (<c>-O silo:Key:Sub=value</c>).</summary>
    public const string SiloOptionPrefix = "silo:";

    /// <summary>Runs the application on the console: Ctrl+C stops the load early and still writes the reports.</summary>
    public static async Task<int> MainAsync(string[] args)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl+C ends the run cleanly; a second one kills the process.
            e.Cancel = !stop.IsCancellationRequested;
            stop.Cancel();
        };
        return await RunAsync(args, Console.Out, Console.Error, stop.Token, ScenarioCatalog.CreateDefault(), TimeProvider.System);
    }

    /// <summary>Runs the application with the given streams, catalog and clock (tests call this in process).</summary>
    public static async Task<int> RunAsync(
        string[] args,
        TextWriter output,
        TextWriter error,
        CancellationToken cancellationToken,
        ScenarioCatalog? catalog = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        catalog ??= ScenarioCatalog.CreateDefault();
        var time = timeProvider ?? TimeProvider.System;
        CommandLineOptions options;
        try
        {
            options = CommandLine.Parse(args, Environment.GetEnvironmentVariable);
        }
        catch (UsageException e)
        {
            await error.WriteLineAsync($"error: {e.Message}\nRun with --help for the options.");
            return ExitError;
        }

        if (options.Help)
        {
            await output.WriteAsync(CommandLine.HelpText);
            return ExitPassed;
        }

        if (options.List)
        {
            foreach (var (name, description) in catalog.Entries)
            {
                await output.WriteLineAsync($"{name,-12} {description}");
            }

            return ExitPassed;
        }

        var scenarios = new List<IScenario>();
        try
        {
            foreach (var name in options.Scenarios)
            {
                if (!catalog.TryCreate(name, out var scenario))
                {
                    await error.WriteLineAsync($"error: unknown scenario '{name}'; known: {string.Join(", ", catalog.Entries.Select(e => e.Name))}.");
                    return ExitError;
                }

                scenarios.Add(scenario!);
            }

            if (!options.Embedded)
            {
                return await RunScenariosAsync(options, scenarios, output, time, cancellationToken);
            }

            // Options named silo:<configuration key> configure the embedded silo, e.g. silo:VehicleLink:MaxReportsPerSecond=100.
            var siloSettings = options.Options
                .Where(o => o.Key.StartsWith(SiloOptionPrefix, StringComparison.Ordinal))
                .ToDictionary(o => o.Key[SiloOptionPrefix.Length..], o => (string?)o.Value, StringComparer.Ordinal);
            await using var silo = await EmbeddedSilo.StartAsync(siloSettings, cancellationToken);
            await output.WriteLineAsync($"Embedded silo on {silo.Address} (data in {silo.DataDirectory})");
            options = options with
            {
                Target = silo.Address,
                Api = options.Api with { SigningKey = silo.SigningKey, EchoTarget = options.Api.EchoTarget ?? silo.Address },
            };
            return await RunScenariosAsync(options, scenarios, output, time, cancellationToken);
        }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            // Scenario options are checked when the scenario initialises: a bad one is a usage error.
            await error.WriteLineAsync($"error: {e.Message}");
            return ExitError;
        }
        catch (Exception e)
        {
            await error.WriteLineAsync($"crash: {e}");
            return ExitError;
        }
        finally
        {
            foreach (var scenario in scenarios)
            {
                await scenario.DisposeAsync();
            }
        }
    }

    private static async Task<int> RunScenariosAsync(
        CommandLineOptions options, IReadOnlyList<IScenario> scenarios, TextWriter output, TimeProvider time, CancellationToken cancellationToken)
    {
        var settings = new RunSettings
        {
            Scheduler = options.Scheduler,
            Target = options.Target,
            Token = options.Token,
            Options = options.Options,
            Api = options.Api,
        };
        var runner = new LoadRunner(settings, time);
        var runs = scenarios.Select(s => new ScenarioRun(s, options.Model)).ToArray();
        await output.WriteLineAsync($"Running {string.Join(", ", scenarios.Select(s => s.Name))}: {options.Model}");
        var report = await ProgressView.ShowAsync(output, LiveConsole(options, output), progress => runner.RunAsync(runs, progress, cancellationToken));
        report = report with { Thresholds = [.. options.Thresholds.Select(t => t.Evaluate(report))] };

        var folder = options.Output
            ?? Path.Combine("results", time.GetUtcNow().ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture));
        var paths = await ReportWriter.WriteAllAsync(report, folder, CancellationToken.None);
        await WriteSummaryAsync(output, report, paths);
        return report.Passed ? ExitPassed : ExitThresholdFailed;
    }

    private static IAnsiConsole? LiveConsole(CommandLineOptions options, TextWriter output)
    {
        var onTerminal = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        if (options.Live == false || (options.Live is null && !onTerminal) || !ReferenceEquals(output, Console.Out))
        {
            return null;
        }

        return AnsiConsole.Console;
    }

    private static async Task WriteSummaryAsync(TextWriter output, RunReport report, IReadOnlyList<string> paths)
    {
        var rows = report.Scenarios.Select(s => (s.Name, s.Totals)).ToList();
        if (rows.Count > 1)
        {
            rows.Add((Threshold.GlobalScope, report.Global));
        }

        foreach (var (name, t) in rows)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"{name}: {t.Requests} requests, {t.Rps:0.#}/s, errors {t.ErrorRate * 100:0.###} %, p50 {t.Latency.P50:0.###} ms, p99 {t.Latency.P99:0.###} ms, max {t.Latency.Max:0.###} ms, dropped {t.Dropped}, late {t.Late}, discrepancies {t.Discrepancies}"));
        }

        foreach (var t in report.Thresholds)
        {
            var actual = t.Actual is { } a ? a.ToString("0.####", CultureInfo.InvariantCulture) : "n/a";
            await output.WriteLineAsync($"threshold {t.Expression}: {(t.Passed ? "pass" : "FAIL")} (actual {actual}){(t.Message is null ? "" : " " + t.Message)}");
        }

        await output.WriteLineAsync($"reports: {string.Join(", ", paths)}");
        await output.WriteLineAsync(report.Passed ? "PASSED" : "FAILED");
    }
}
