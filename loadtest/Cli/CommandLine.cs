using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
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
/// The harness's command line, parsed by System.CommandLine: options, short aliases, <c>--name value</c> and
/// <c>--name=value</c>, repeatable options, unknown and duplicate options are the library's; value rules (numbers,
/// durations, URLs) and rules across options (one load model) are ours, with our messages.
/// </summary>
public static class CommandLine
{
    private const string About = """
        Vehicles load test harness: drives a scenario with an open or closed load model, shows live progress,
        writes reports and checks thresholds.
        """;

    private const string Notes = """
        Times: 500us, 20ms, 1.5s, 2m, 1h (a bare number is seconds). Load model by default: --rate 100.
        Exit codes: 0 every threshold passed, 2 a threshold failed, 1 usage error or crash.
        """;

    /// <summary>The text of <c>--help</c>: the options with their descriptions, then times and exit codes.</summary>
    public static string HelpText
    {
        get
        {
            using var text = new StringWriter(CultureInfo.InvariantCulture);
            new Definition().Root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = text });
            text.WriteLine(Notes);
            return text.ToString();
        }
    }

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
        var cli = new Definition();
        // No response files: an argument starting with @ is a value like any other, as it always was here.
        var result = cli.Root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (result.Action is HelpAction || (result.Errors.Count == 0 && result.GetValue(cli.ListScenarios)))
        {
            return new CommandLineOptions { Model = LoadModel.Rate(1, TimeSpan.FromSeconds(1)), Help = result.Action is HelpAction, List = result.Action is not HelpAction };
        }

        if (result.Errors.Count > 0)
        {
            throw new UsageException(result.Errors[0].Message);
        }

        var scenarios = (result.GetValue(cli.Scenario) ?? [])
            .SelectMany(s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.OrdinalIgnoreCase)
            .ToArray();
        if (scenarios.Length == 0)
        {
            scenarios = [SelfTestScenario.ScenarioName];
        }

        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var option in result.GetValue(cli.ScenarioOption) ?? [])
        {
            var equals = option.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new UsageException($"--option '{option}' must be key=value.");
            }

            options[option[..equals].Trim()] = option[(equals + 1)..].Trim();
        }

        var thresholds = new List<Threshold>();
        foreach (var text in result.GetValue(cli.Threshold) ?? [])
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

        var targets = ParseTargets(result.GetValue(cli.Target));
        var target = targets.Count > 0 ? targets[0] : null;
        var embedded = result.GetValue(cli.Embedded);
        if (embedded && target is not null)
        {
            throw new UsageException("--embedded starts its own silo; it cannot be combined with --target.");
        }

        var scheduler = new SchedulerOptions
        {
            MaxInFlight = (int)(result.GetValue(cli.MaxInFlight) ?? 10_000),
            MaxCalls = result.GetValue(cli.MaxCalls) is { } maxCalls ? (long)maxCalls : null,
            LateAfter = result.GetValue(cli.LateAfter) ?? TimeSpan.FromMilliseconds(10),
            DrainTimeout = result.GetValue(cli.Drain) ?? TimeSpan.FromSeconds(10),
        };

        return new CommandLineOptions
        {
            Scenarios = scenarios,
            Model = BuildModel(result, cli),
            Scheduler = scheduler,
            Options = options,
            Target = target,
            Token = result.GetValue(cli.Token) ?? environment("VEHICLES_LOADTEST_TOKEN"),
            Api = new ApiSettings
            {
                OperatorToken = result.GetValue(cli.OperatorToken) ?? environment("VEHICLES_LOADTEST_OPERATOR_TOKEN"),
                SigningKey = result.GetValue(cli.SigningKey) ?? environment("VEHICLES_LOADTEST_SIGNING_KEY"),
                ShareConnections = (int)(result.GetValue(cli.ShareConnections) ?? 1),
                EchoTarget = result.GetValue(cli.EchoTarget),
                Targets = targets.Count > 1 ? targets : null,
            },
            Embedded = embedded,
            Output = result.GetValue(cli.Output),
            Thresholds = thresholds,
            Live = result.GetValue(cli.Live) switch
            {
                "on" => true,
                "off" => false,
                _ => null,
            },
        };
    }

    private static LoadModel BuildModel(ParseResult result, Definition cli)
    {
        var duration = result.GetValue(cli.Duration) ?? TimeSpan.FromSeconds(30);
        var warmUp = result.GetValue(cli.WarmUp) ?? TimeSpan.Zero;
        var rate = result.GetValue(cli.Rate);
        var rampTo = result.GetValue(cli.RampTo);
        var concurrency = result.GetValue(cli.Concurrency);
        var stages = result.GetValue(cli.Stages);
        if (stages is not null && (rate is not null || rampTo is not null || concurrency is not null || result.GetResult(cli.Duration) is not null))
        {
            throw new UsageException("--stages replaces --rate, --ramp-to, --concurrency and --duration; give one or the other.");
        }

        if (concurrency is not null && (rate is not null || rampTo is not null))
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

            if (concurrency is { } calls)
            {
                return LoadModel.Concurrency((int)calls, duration, warmUp);
            }

            var from = rate ?? 100;
            return rampTo is { } to
                ? new LoadModel([new RampingRate(from, to, duration)], warmUp)
                : LoadModel.Rate(from, duration, warmUp);
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

        var duration = DurationText.TryParse(parts[2], out var time)
            ? time
            : throw new UsageException($"--stages '{parts[2]}' is not a duration (e.g. 500ms, 30s, 2m).");
        switch (parts[0].ToUpperInvariant())
        {
            case "RATE":
                return new ConstantRate(StageNumber(parts[1], "--stages rate", 0, 10_000_000), duration);
            case "RAMP":
                var range = parts[1].Split('-');
                return range.Length == 2
                    ? new RampingRate(StageNumber(range[0], "--stages ramp", 0, 10_000_000), StageNumber(range[1], "--stages ramp", 0, 10_000_000), duration)
                    : throw new UsageException($"Stage '{text}': a ramp is written ramp:<from>-<to>:<duration>.");
            case "CONCURRENCY":
                return new ConstantConcurrency((int)StageNumber(parts[1], "--stages concurrency", 1, 1_000_000), duration);
            default:
                throw new UsageException($"Stage '{text}': kind must be rate, ramp or concurrency.");
        }
    }

    private static double StageNumber(string text, string what, double min, double max) =>
        TryNumber(text, min, max, out var value) ? value : throw new UsageException(NumberError(what, text, min, max));

    private static bool TryNumber(string text, double min, double max, out double value) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    private static string NumberError(string what, string text, double min, double max) =>
        string.Create(CultureInfo.InvariantCulture, $"{what} '{text}' must be a number from {min} to {max}.");

    /// <summary>The options, built anew for each parse (System.CommandLine symbols belong to one command).</summary>
    private sealed class Definition
    {
        public Option<string[]> Scenario { get; } = Repeatable(
            "--scenario", "-s", "name", "Scenario to run (default selftest). Repeat or comma-separate to run several at once, each under the same load model.");

        public Option<bool> ListScenarios { get; } = new("--list") { Description = "List the scenarios and exit." };

        public Option<string[]> ScenarioOption { get; } = Repeatable(
            "--option", "-O", "key=value", "Scenario option, repeatable (selftest: latency=exp:2ms, errors=0.01, ...).");

        public Option<double?> Rate { get; } = Number(
            "--rate", "-r", "Open model: calls started per second, whatever the response time.", 0, 10_000_000);

        public Option<double?> RampTo { get; } = Number(
            "--ramp-to", null, "Open model: ramp the rate linearly from --rate to <n> over the duration.", 0, 10_000_000);

        public Option<double?> Concurrency { get; } = Number("--concurrency", "-c", "Closed model: calls kept in flight.", 1, 1_000_000);

        public Option<string> Stages { get; } = Text(
            "--stages", null, "list", "A sequence of stages instead, comma-separated: rate:<n>:<time>  ramp:<from>-<to>:<time>  concurrency:<n>:<time>");

        public Option<TimeSpan?> Duration { get; } = Time("--duration", "-d", "Measured duration (default 30s).");

        public Option<TimeSpan?> WarmUp { get; } = Time("--warmup", "-w", "Load run first and not recorded (default 0s).");

        public Option<double?> MaxInFlight { get; } = Number(
            "--max-in-flight", null, "Open model: arrivals finding <n> calls in flight are dropped (default 10000).", 1, int.MaxValue);

        public Option<double?> MaxCalls { get; } = Number("--max-calls", null, "Start at most <n> calls in all (default: no limit).", 1, long.MaxValue);

        public Option<TimeSpan?> LateAfter { get; } = Time(
            "--late-after", null, "Open model: a call starting this long after its intended time is late (default 10ms). Latency is always measured from the intended time.");

        public Option<TimeSpan?> Drain { get; } = Time(
            "--drain", null, "After the last stage, time left to calls in flight before they are cancelled (default 10s).");

        public Option<string> Target { get; } = Text(
            "--target", null, "url[,url]", "Address of the system under test, e.g. http://127.0.0.1:5000. Several (the silos of one cluster), comma-separated: vehicles' connections and operator calls are spread round-robin over them.");

        public Option<string> Token { get; } = Text(
            "--token", null, "jwt", "Bearer token (default: environment variable VEHICLES_LOADTEST_TOKEN); for the Vehicles scenarios a vehicle token, used by every simulated vehicle.");

        public Option<string> OperatorToken { get; } = Text(
            "--operator-token", null, "jwt", "FleetOperator token (default: VEHICLES_LOADTEST_OPERATOR_TOKEN).");

        public Option<string> SigningKey { get; } = Text(
            "--signing-key", null, "base64", "The API's token signing key (default: VEHICLES_LOADTEST_SIGNING_KEY): mint a token per vehicle and an admin operator token locally.");

        public Option<bool> Embedded { get; } = new("--embedded")
        {
            Description = "Start a silo (with TestService for echo) in this process on 127.0.0.1, with a temporary data folder, and run against it. Options -O silo:<key>=<value> configure it (e.g. silo:VehicleLink:MaxReportsPerSecond=100).",
        };

        public Option<double?> ShareConnections { get; } = Number(
            "--share-connections", null, "Vehicles per TCP connection (default 1: one connection per vehicle).", 1, 100_000);

        public Option<Uri?> EchoTarget { get; } = new("--echo-target")
        {
            Description = "Server hosting vehicles.testing.v1.TestService for the echo scenario (default: --target).",
            HelpName = "url",
            CustomParser = result => Uri.TryCreate(Value(result), UriKind.Absolute, out var uri)
                ? uri
                : Fail<Uri>(result, $"--echo-target '{Value(result)}' is not an absolute URL."),
        };

        public Option<string> Output { get; } = Text(
            "--output", "-o", "folder", "Where report.md, report.html, timeseries.csv and report.json go (default results/<UTC time>).");

        public Option<string[]> Threshold { get; } = Repeatable(
            "--threshold", "-t", "expr", "Pass/fail condition, repeatable: [scenario:]metric<op>value, e.g. p99<20ms, p50<=5ms, error_rate<0.1%, rps>=1000, telemetry:discrepancies==0. Metrics: p50 p75 p90 p95 p99 p99.9 min mean max (ms; us, ms, s accepted), error_rate (fraction or %), rps, requests, ok, failed, dropped, late, abandoned, discrepancies. Without a scenario: all scenarios together.");

        public Option<string> Live { get; } = LiveOption();

        public Definition()
        {
            // A plain command rather than RootCommand: the harness has no --version, and its name does not depend on
            // how it was started.
            Root = new Command("Vehicles.LoadTest", About.ReplaceLineEndings(" ").Trim())
            {
                Scenario, ListScenarios, ScenarioOption, Rate, RampTo, Concurrency, Stages, Duration, WarmUp, MaxInFlight, MaxCalls,
                LateAfter, Drain, Target, Token, OperatorToken, SigningKey, Embedded, ShareConnections, EchoTarget,
                Output, Threshold, Live, new HelpOption { Action = new HelpAction { MaxWidth = 120 } },
            };
        }

        public Command Root { get; }

        private static Option<string[]> Repeatable(string name, string alias, string helpName, string description) =>
            new(name, alias) { Description = description, HelpName = helpName, Arity = ArgumentArity.OneOrMore };

        private static Option<string> Text(string name, string? alias, string helpName, string description) =>
            new(name, alias is null ? [] : [alias]) { Description = description, HelpName = helpName };

        private static Option<double?> Number(string name, string? alias, string description, double min, double max) =>
            new(name, alias is null ? [] : [alias])
            {
                Description = description,
                HelpName = "n",
                CustomParser = result => TryNumber(Value(result), min, max, out var value)
                    ? value
                    : Fail<double?>(result, NumberError(name, Value(result), min, max)),
            };

        private static Option<TimeSpan?> Time(string name, string? alias, string description) =>
            new(name, alias is null ? [] : [alias])
            {
                Description = description,
                HelpName = "time",
                CustomParser = result => DurationText.TryParse(Value(result), out var value)
                    ? value
                    : Fail<TimeSpan?>(result, $"{name} '{Value(result)}' is not a duration (e.g. 500ms, 30s, 2m)."),
            };

        private static Option<string> LiveOption()
        {
            var live = new Option<string>("--live")
            {
                Description = "Live table in the terminal (auto: only when output is a terminal).",
                HelpName = "auto|on|off",
            };
            live.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<string>() is var value and not ("auto" or "on" or "off"))
                {
                    result.AddError($"--live takes auto, on or off, not '{value}'.");
                }
            });
            return live;
        }

        private static string Value(ArgumentResult result) => result.Tokens.Count > 0 ? result.Tokens[0].Value : "";

        private static T? Fail<T>(ArgumentResult result, string message)
        {
            result.AddError(message);
            return default;
        }
    }
}
