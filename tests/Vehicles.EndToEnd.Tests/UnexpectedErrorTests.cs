using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Vehicles.EndToEnd.Tests;

/// <summary>A failure no handler expects reaches the caller as UNKNOWN with grpc-dotnet's fixed message, its cause only in the silo's log.</summary>
public sealed class UnexpectedErrorTests : SiloTestBase
{
    [Fact]
    public async Task Call_WhenTheStorageFailsUnexpectedly_IsUnknownWithoutInternals_AndTheCauseIsLogged()
    {
        RpcException error;
        await using (await BrokenStorage.BreakAsync(Silo))
        {
            error = await Poll.FailsAsync(() => Operator.GetVehicleAsync(Vin(1)));
        }

        var afterRepair = await Poll.FailsAsync(() => Operator.GetVehicleAsync(Vin(1)));
        var seenByCaller = error.Status.Detail + " " + string.Join(" ", error.Trailers.Select(t => t.Key + "=" + (t.IsBinary ? "" : t.Value)));
        var logged = Silo.Logs.Entries.Where(e => e.Level == LogLevel.Error && e.Category.StartsWith("Grpc.AspNetCore.Server", StringComparison.Ordinal)).ToList();

        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.Equal("Exception was thrown by handler.", error.Status.Detail);
        Assert.DoesNotContain("grain_state", seenByCaller, StringComparison.Ordinal);
        Assert.DoesNotContain("SQLite", seenByCaller, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Orleans", seenByCaller, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(logged, e => e.Exception?.ToString().Contains("no such table: grain_state", StringComparison.Ordinal) == true);
        Assert.Equal(StatusCode.NotFound, afterRepair.StatusCode);
    }
}
