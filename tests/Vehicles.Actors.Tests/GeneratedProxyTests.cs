namespace Vehicles.Actors.Tests;

public interface IParameterNamesGrain : IGrainWithStringKey
{
    // The generated proxy has locals of its own: parameters must not clash with them.
    Task<string> HandleAsync(string request, int __arg, string context);
}

public sealed class ParameterNamesGrain : Grain, IParameterNamesGrain
{
    public Task<string> HandleAsync(string request, int __arg, string context) => Task.FromResult(request + "/" + __arg + "/" + context);
}

public sealed class GeneratedProxyTests
{
    [Fact]
    public async Task Proxy_WithParametersNamedLikeItsLocals_PassesEveryArgument()
    {
        await using var silo = await TestSilo.StartAsync();

        var result = await silo.Grains.GetGrain<IParameterNamesGrain>("k").HandleAsync("r", 7, "c");

        Assert.Equal("r/7/c", result);
    }
}
