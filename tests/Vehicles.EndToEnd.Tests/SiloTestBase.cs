using Vehicles.Api.Security;

namespace Vehicles.EndToEnd.Tests;

/// <summary>A fresh silo per test (xunit creates the class per test), so clocks and state never leak between tests.</summary>
public abstract class SiloTestBase : IAsyncLifetime
{
    protected const string Fleet = "fleet-a";
    protected const string OtherFleet = "fleet-b";

    protected TestSilo Silo { get; private set; } = null!;

    protected ApiClient Operator { get; private set; } = null!;

    protected static string Vin(int n) => "1VEHXCLE" + n.ToString("D9", System.Globalization.CultureInfo.InvariantCulture);

    protected virtual IDictionary<string, string?>? Settings => null;

    public async Task InitializeAsync()
    {
        Silo = await TestSilo.StartAsync(Settings);
        Operator = Silo.Operator(Silo.OperatorToken(Fleet, OperatorRole.Operator));
    }

    public async Task DisposeAsync()
    {
        await Silo.DisposeAsync();
        await OnSiloDisposedAsync();
    }

    /// <summary>Cleans up what the test left outside the silo (a database schema, say).</summary>
    protected virtual Task OnSiloDisposedAsync() => Task.CompletedTask;
}
