namespace Vehicles.LoadTest.Tests;

public sealed class MultiTargetTests
{
    private static readonly Uri _a = new("http://127.0.0.1:50061");
    private static readonly Uri _b = new("http://127.0.0.1:50062");
    private static readonly Uri _c = new("http://127.0.0.1:50063");

    [Fact]
    public void Parse_CommaSeparatedTargets_FirstIsTargetAndAllAreSpreadOver()
    {
        var options = CommandLine.Parse(["--target", "http://127.0.0.1:50061, http://127.0.0.1:50062,http://127.0.0.1:50063"], _ => null);

        Assert.Equal(_a, options.Target);
        Assert.Equal([_a, _b, _c], options.Api.Targets);
    }

    [Fact]
    public void Parse_SingleTarget_LeavesTargetsUnset()
    {
        var options = CommandLine.Parse(["--target", "http://127.0.0.1:50061"], _ => null);

        Assert.Equal(_a, options.Target);
        Assert.Null(options.Api.Targets);
    }

    [Fact]
    public void Parse_TargetListWithABadUrl_IsAUsageError()
    {
        var error = Assert.Throws<UsageException>(() => CommandLine.Parse(["--target", "http://127.0.0.1:50061,nonsense"], _ => null));

        Assert.Contains("'nonsense'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TargetOfVehicle_ThreeTargets_SpreadsVehiclesRoundRobin()
    {
        using var api = new ApiConnection(_a, "token", new ApiSettings { Targets = [_a, _b, _c] });

        var targets = Enumerable.Range(0, 7).Select(api.TargetOfVehicle).ToArray();

        Assert.Equal([_a, _b, _c, _a, _b, _c, _a], targets);
    }

    [Fact]
    public void TargetOfVehicle_SharedConnections_KeepsAConnectionGroupOnOneTarget()
    {
        using var api = new ApiConnection(_a, "token", new ApiSettings { Targets = [_a, _b], ShareConnections = 2 });

        var targets = Enumerable.Range(0, 6).Select(api.TargetOfVehicle).ToArray();

        Assert.Equal([_a, _a, _b, _b, _a, _a], targets);
    }

    [Fact]
    public void NextOperatorTarget_ThreeTargets_TakesThemInTurn()
    {
        using var api = new ApiConnection(_a, "token", new ApiSettings { Targets = [_a, _b, _c] });

        var targets = Enumerable.Range(0, 6).Select(_ => api.NextOperatorTarget()).ToArray();

        Assert.Equal([_a, _b, _c, _a, _b, _c], targets);
    }

    [Fact]
    public void TargetOfVehicle_SingleTarget_AlwaysThatTarget()
    {
        using var api = new ApiConnection(_b, "token", new ApiSettings());

        var targets = Enumerable.Range(0, 4).Select(api.TargetOfVehicle).Append(api.NextOperatorTarget()).Distinct().ToArray();

        Assert.Equal([_b], targets);
        Assert.Equal([_b], api.Targets);
    }
}
