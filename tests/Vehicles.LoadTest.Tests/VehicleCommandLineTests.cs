namespace Vehicles.LoadTest.Tests;

public sealed class VehicleCommandLineTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vehicles-loadtest-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    [Fact]
    public void Parse_ApiOptions_FillApiSettings()
    {
        var options = CommandLine.Parse(
            ["--target", "http://127.0.0.1:5000", "--operator-token", "op", "--signing-key", "a2V5", "--share-connections", "10", "--echo-target", "http://127.0.0.1:6000"],
            _ => null);

        Assert.Equal(new ApiSettings { OperatorToken = "op", SigningKey = "a2V5", ShareConnections = 10, EchoTarget = new Uri("http://127.0.0.1:6000") }, options.Api);
        Assert.False(options.Embedded);
    }

    [Fact]
    public void Parse_WithoutApiOptions_ReadsTokensAndKeyFromTheEnvironment()
    {
        var environment = new Dictionary<string, string>
        {
            ["VEHICLES_LOADTEST_TOKEN"] = "vehicle",
            ["VEHICLES_LOADTEST_OPERATOR_TOKEN"] = "operator",
            ["VEHICLES_LOADTEST_SIGNING_KEY"] = "key",
        };

        var options = CommandLine.Parse(["--embedded"], environment.GetValueOrDefault);

        Assert.True(options.Embedded);
        Assert.Equal("vehicle", options.Token);
        Assert.Equal("operator", options.Api.OperatorToken);
        Assert.Equal("key", options.Api.SigningKey);
        Assert.Equal(1, options.Api.ShareConnections);
    }

    [Fact]
    public void Parse_EmbeddedWithTarget_IsAUsageError()
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(["--embedded", "--target", "http://127.0.0.1:5000"], _ => null));

        Assert.Contains("--embedded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_EmbeddedTelemetryAndCommands_PassesWithZeroDiscrepanciesAndWritesTheReport()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await LoadTestApp.RunAsync(
            ["--embedded", "-s", "telemetry,commands", "-r", "50", "-d", "1s", "-O", "vehicles=5", "-O", "silo:VehicleLink:MaxReportsPerSecond=1000",
             "-o", _folder, "--live", "off", "-t", "discrepancies==0", "-t", "telemetry:ok==50", "-t", "commands:ok==50"],
            output,
            error,
            CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(90));

        Assert.True(exit == LoadTestApp.ExitPassed, output + "\n" + error);
        var report = await ReportWriter.ReadJsonAsync(Path.Combine(_folder, "report.json"));
        var commands = Assert.Single(report.Scenarios, s => s.Name == "commands");
        Assert.Equal(50, commands.Metrics["send_to_delivery"].Count);
        Assert.Equal(50, commands.FinalGauges["commands_agreed"]);
        Assert.Contains("send_to_delivery", await File.ReadAllTextAsync(Path.Combine(_folder, "report.md")), StringComparison.Ordinal);
    }
}
