using System.Globalization;

namespace Vehicles.LoadTest;

/// <summary>A command-line mistake; the message tells the user what to fix.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>The parsed command line.</summary>
public sealed record CommandLineOptions
{
    /// <summary>Scenarios to run concurrently, each under <see cref="Model"/>.</summary>
    public IReadOnlyList<string> Scenarios { get; init; } = [SelfTestScenario.ScenarioName];

    /// <summary>The load model.</summary>
    public required LoadModel Model { get; init; }

    /// <summary>Scheduler limits.</summary>
    public SchedulerOptions Scheduler { get; init; } = new();

    /// <summary>Scenario options.</summary>
    public IReadOnlyDictionary<string, string> Options { get; init; } = new Dictionary<string, string>();

    /// <summary>The system under test.</summary>
    public Uri? Target { get; init; }

    /// <summary>Its bearer token.</summary>
    public string? Token { get; init; }

    /// <summary>Operator token, signing key, connection sharing and echo target.</summary>
    public ApiSettings Api { get; init; } = new();

    /// <summary>Start a silo in this process and run against it instead of <see cref="Target"/>.</summary>
    public bool Embedded { get; init; }

    /// <summary>Where reports go; <see langword="null"/> for <c>results/&lt;UTC time&gt;</c>.</summary>
    public string? Output { get; init; }

    /// <summary>Thresholds to check.</summary>
    public IReadOnlyList<Threshold> Thresholds { get; init; } = [];

    /// <summary>Live view: <see langword="null"/> for automatic (only on a terminal).</summary>
    public bool? Live { get; init; }

    /// <summary>Show the help and exit.</summary>
    public bool Help { get; init; }

    /// <summary>List the scenarios and exit.</summary>
    public bool List { get; init; }
}

/// <summary>
/// A small hand-written parser for the harness's options (<c>--name value</c>, <c>--name=value</c>, short aliases):
/// few options, and exit codes and messages fully under our control.
/// </summary>
public static class CommandLine
{
    /// <summary>The text of <c>--help</c>.</summary>
    public const string HelpText = """
        Vehicles load test harness: drives a scenario with an open or closed load model, shows live progress,
        writes reports and checks thresholds.

        Usage: Vehicles.LoadTest [options]

        Scenario
          -s, --scenario <name>       Scenario to run (default selftest). Repeat or comma-separate to run several
                                      at once, each under the same load model.
              --list                  List the scenarios and exit.
          -O, --option <key=value>    Scenario option, repeatable (selftest: latency=exp:2ms, errors=0.01, ...).

        Load model (default: --rate 100)
          -r, --rate <n>              Open model: calls started per second, whatever the response time.
              --ramp-to <n>           Open model: ramp the rate linearly from --rate to <n> over the duration.
          -c, --concurrency <n>       Closed model: calls kept in flight.
              --stages <list>         A sequence of stages instead, comma-separated:
                                        rate:<n>:<time>  ramp:<from>-<to>:<time>  concurrency:<n>:<time>
          -d, --duration <time>       Measured duration (default 30s). Times: 500us, 20ms, 1.5s, 2m, 1h.
          -w, --warmup <time>         Load run first and not recorded (default 0s).
              --max-in-flight <n>     Open model: arrivals finding <n> calls in flight are dropped (default 10000).
              --max-calls <n>         Start at most <n> calls in all (default: no limit).
              --late-after <time>     Open model: a call starting this long after its intended time is late
                                      (default 10ms). Latency is always measured from the intended time.
              --drain <time>          After the last stage, time left to calls in flight before they are
                                      cancelled (default 10s).

        Target
              --target <url>[,<url>]  Address of the system under test, e.g. http://127.0.0.1:5000. Several
                                      (the silos of one cluster), comma-separated: vehicles' connections and
                                      operator calls are spread round-robin over them.
              --token <jwt>           Bearer token (default: environment variable VEHICLES_LOADTEST_TOKEN); for
                                      the Vehicles scenarios a vehicle token, used by every simulated vehicle.
              --operator-token <jwt>  FleetOperator token (default: VEHICLES_LOADTEST_OPERATOR_TOKEN).
              --signing-key <base64>  The API's token signing key (default: VEHICLES_LOADTEST_SIGNING_KEY): mint a
                                      token per vehicle and an admin operator token locally.
              --embedded              Start a silo (with TestService for echo) in this process on 127.0.0.1, with
                                      a temporary data folder, and run against it. Options -O silo:<key>=<value>
                                      configure it (e.g. silo:VehicleLink:MaxReportsPerSecond=100).
              --share-connections <n> Vehicles per TCP connection (default 1: one connection per vehicle).
              --echo-target <url>     Server hosting vehicles.testing.v1.TestService for the echo scenario
                                      (default: --target).

        Results
          -o, --output <folder>       Where report.md, report.html, timeseries.csv and report.json go
                                      (default results/<UTC time>).
          -t, --threshold <expr>      Pass/fail condition, repeatable: [scenario:]metric<op>value, e.g. p99<20ms,
                                      p50<=5ms, error_rate<0.1%, rps>=1000, telemetry:discrepancies==0.
                                      Metrics: p50 p75 p90 p95 p99 p99.9 min mean max (ms; us, ms, s accepted),
                                      error_rate (fraction or %), rps, requests, ok, failed, dropped, late,
                                      abandoned, discrepancies. Without a scenario: all scenarios together.
              --live <auto|on|off>    Live table in the terminal (auto: only when output is a terminal).
          -h, --help                  Show this help.

        Exit codes: 0 every threshold passed, 2 a threshold failed, 1 usage error or crash.
        """;

    private static readonly Dictionary<string, string> _aliases = new(StringComparer.Ordinal)
    {
        ["-s"] = "--scenario", ["-O"] = "--option", ["-r"] = "--rate", ["-c"] = "--concurrency",
        ["-d"] = "--duration", ["-w"] = "--warmup", ["-o"] = "--output", ["-t"] = "--threshold", ["-h"] = "--help",
        ["-?"] = "--help",
    };

    private static readonly HashSet<string> _flags = new(StringComparer.Ordinal) { "--help", "--list", "--embedded" };

    private static readonly HashSet<string> _valued = new(StringComparer.Ordinal)
    {
        "--scenario", "--option", "--rate", "--ramp-to", "--concurrency", "--stages", "--duration", "--warmup",
        "--max-in-flight", "--max-calls", "--late-after", "--drain", "--target", "--token", "--output", "--threshold",
        "--live", "--operator-token", "--signing-key", "--share-connections", "--echo-target",
    };

    private static readonly HashSet<string> _repeatable = new(StringComparer.Ordinal) { "--scenario", "--option", "--threshold" };

    /// <summary>Parses the arguments.</summary>
    /// <param name="args">The command-line arguments.</param>
    /// <param name="environmentToken">The token to use when <c>--token</c> is absent.</param>
    /// <exception cref="UsageException">The arguments are wrong.</exception>
    public static CommandLineOptions Parse(IReadOnlyList<string> args, string? environmentToken = null) =>
        Parse(args, name => name == "VEHICLES_LOADTEST_TOKEN" ? environmentToken : null);

    /// <summary>Parses the arguments, reading defaults (tokens, signing key) through <paramref name="environment"/>.</summary>
    /// <exception cref="UsageException">The arguments are wrong.</exception>
    public static CommandLineOptions Parse(IReadOnlyList<string> args, Func<string, string?> environment)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(args);
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var flags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inline = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                inline = arg[(equals + 1)..];
                arg = arg[..equals];
            }

            var name = _aliases.GetValueOrDefault(arg, arg);
            if (_flags.Contains(name) && inline is null)
            {
                flags.Add(name);
                continue;
            }

            if (!_valued.Contains(name))
            {
                throw new UsageException($"Unknown option '{args[i]}'.");
            }

            var value = inline ?? (i + 1 < args.Count ? args[++i] : throw new UsageException($"Option '{name}' needs a value."));
            if (!values.TryGetValue(name, out var list))
            {
                values[name] = list = [];
            }
            else if (!_repeatable.Contains(name))
            {
                throw new UsageException($"Option '{name}' is given twice.");
            }

            list.Add(value);
        }

        if (flags.Contains("--help") || flags.Contains("--list"))
        {
            return new CommandLineOptions { Model = LoadModel.Rate(1, TimeSpan.FromSeconds(1)), Help = flags.Contains("--help"), List = flags.Contains("--list") };
        }

        string? Single(string name) => values.TryGetValue(name, out var list) ? list[0] : null;
        IEnumerable<string> Many(string name) => values.TryGetValue(name, out var list) ? list : [];

        var scenarios = Many("--scenario")
            .SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToArray();
        if (scenarios.Length == 0)
        {
            scenarios = [SelfTestScenario.ScenarioName];
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var option in Many("--option"))
        {
            var equals = option.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new UsageException($"--option '{option}' must be key=value.");
            }

            options[option[..equals].Trim()] = option[(equals + 1)..].Trim();
        }

        var thresholds = new List<Threshold>();
        foreach (var text in Many("--threshold"))
        {
            Threshold threshold;
            try
            {
                threshold = Threshold.Parse(text);
            }
            catch (FormatException e)
            {
                throw new UsageException(e.Message);
            }

            if (threshold.Scope != Threshold.GlobalScope && !scenarios.Contains(threshold.Scope, StringComparer.OrdinalIgnoreCase))
            {
                throw new UsageException($"Threshold '{text}' names scenario '{threshold.Scope}', which is not being run.");
            }

            thresholds.Add(threshold);
        }

        var targets = ParseTargets(Single("--target"));
        var target = targets.Count > 0 ? targets[0] : null;

        Uri? echoTarget = null;
        if (Single("--echo-target") is { } echoText && !Uri.TryCreate(echoText, UriKind.Absolute, out echoTarget))
        {
            throw new UsageException($"--echo-target '{echoText}' is not an absolute URL.");
        }

        if (flags.Contains("--embedded") && target is not null)
        {
            throw new UsageException("--embedded starts its own silo; it cannot be combined with --target.");
        }

        var live = Single("--live") switch
        {
            null or "auto" => (bool?)null,
            "on" => true,
            "off" => false,
            var other => throw new UsageException($"--live takes auto, on or off, not '{other}'."),
        };

        var scheduler = new SchedulerOptions
        {
            MaxInFlight = (int)Number(Single("--max-in-flight"), "--max-in-flight", 10_000, 1, int.MaxValue),
            MaxCalls = Single("--max-calls") is { } maxCalls ? (long)Number(maxCalls, "--max-calls", 0, 1, long.MaxValue) : null,
            LateAfter = Time(Single("--late-after"), "--late-after", TimeSpan.FromMilliseconds(10)),
            DrainTimeout = Time(Single("--drain"), "--drain", TimeSpan.FromSeconds(10)),
        };

        return new CommandLineOptions
        {
            Scenarios = scenarios,
            Model = BuildModel(Single),
            Scheduler = scheduler,
            Options = options,
            Target = target,
            Token = Single("--token") ?? environment("VEHICLES_LOADTEST_TOKEN"),
            Api = new ApiSettings
            {
                OperatorToken = Single("--operator-token") ?? environment("VEHICLES_LOADTEST_OPERATOR_TOKEN"),
                SigningKey = Single("--signing-key") ?? environment("VEHICLES_LOADTEST_SIGNING_KEY"),
                ShareConnections = (int)Number(Single("--share-connections"), "--share-connections", 1, 1, 100_000),
                EchoTarget = echoTarget,
                Targets = targets.Count > 1 ? targets : null,
            },
            Embedded = flags.Contains("--embedded"),
            Output = Single("--output"),
            Thresholds = thresholds,
            Live = live,
        };
    }

    private static LoadModel BuildModel(Func<string, string?> single)
    {
        var duration = Time(single("--duration"), "--duration", TimeSpan.FromSeconds(30));
        var warmUp = Time(single("--warmup"), "--warmup", TimeSpan.Zero);
        var rate = single("--rate");
        var rampTo = single("--ramp-to");
        var concurrency = single("--concurrency");
        var stages = single("--stages");
        if (stages is not null && (rate ?? rampTo ?? concurrency ?? single("--duration")) is not null)
        {
            throw new UsageException("--stages replaces --rate, --ramp-to, --concurrency and --duration; give one or the other.");
        }

        if (concurrency is not null && (rate ?? rampTo) is not null)
        {
            throw new UsageException("--concurrency (closed model) cannot be combined with --rate or --ramp-to (open model).");
        }

        if (duration <= TimeSpan.Zero)
        {
            throw new UsageException("--duration must be longer than zero.");
        }

        try
        {
            if (stages is not null)
            {
                return new LoadModel([.. stages.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseStage)], warmUp);
            }

            if (concurrency is not null)
            {
                return LoadModel.Concurrency((int)Number(concurrency, "--concurrency", 0, 1, 1_000_000), duration, warmUp);
            }

            var from = Number(rate, "--rate", 100, 0, 10_000_000);
            return rampTo is null
                ? LoadModel.Rate(from, duration, warmUp)
                : new LoadModel([new RampingRate(from, Number(rampTo, "--ramp-to", 0, 0, 10_000_000), duration)], warmUp);
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message);
        }
    }

    private static List<Uri> ParseTargets(string? text)
    {
        var targets = new List<Uri>();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var target))
            {
                throw new UsageException($"--target '{part}' is not an absolute URL.");
            }

            targets.Add(target);
        }

        if (text is not null && targets.Count == 0)
        {
            throw new UsageException("--target needs at least one URL.");
        }

        return targets;
    }

    private static LoadStage ParseStage(string text)
    {
        var parts = text.Split(':');
        if (parts.Length != 3)
        {
            throw new UsageException($"Stage '{text}' must be kind:value:duration (rate:100:10s, ramp:10-100:30s, concurrency:8:10s).");
        }

        var duration = Time(parts[2], "--stages", TimeSpan.Zero);
        switch (parts[0].ToUpperInvariant())
        {
            case "RATE":
                return new ConstantRate(Number(parts[1], "--stages rate", 0, 0, 10_000_000), duration);
            case "RAMP":
                var range = parts[1].Split('-');
                return range.Length == 2
                    ? new RampingRate(Number(range[0], "--stages ramp", 0, 0, 10_000_000), Number(range[1], "--stages ramp", 0, 0, 10_000_000), duration)
                    : throw new UsageException($"Stage '{text}': a ramp is written ramp:<from>-<to>:<duration>.");
            case "CONCURRENCY":
                return new ConstantConcurrency((int)Number(parts[1], "--stages concurrency", 0, 1, 1_000_000), duration);
            default:
                throw new UsageException($"Stage '{text}': kind must be rate, ramp or concurrency.");
        }
    }

    private static double Number(string? text, string option, double defaultValue, double min, double max)
    {
        if (text is null)
        {
            return defaultValue;
        }

        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max
            ? value
            : throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{option} '{text}' must be a number from {min} to {max}."));
    }

    private static TimeSpan Time(string? text, string option, TimeSpan defaultValue)
    {
        if (text is null)
        {
            return defaultValue;
        }

        return DurationText.TryParse(text, out var value)
            ? value
            : throw new UsageException($"{option} '{text}' is not a duration (e.g. 500ms, 30s, 2m).");
    }
}
