using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Vehicles.Api.Services;

namespace Vehicles.Api.Tests;

/// <summary>
/// The statuses clients get for Orleans' own failures, from exceptions a real silo raises: a grain whose request queue
/// is full (<c>Actors:MailboxCapacity</c>, Orleans' MaxEnqueuedRequestsHardLimit) is RESOURCE_EXHAUSTED, and a grain
/// that does not answer within <c>Actors:CallTimeout</c> (Orleans' ResponseTimeout) is DEADLINE_EXCEEDED.
/// </summary>
public sealed class OrleansErrorMappingTests : IAsyncLifetime
{
    private IHost _host = null!;

    private IGrainFactory Grains => (IGrainFactory)_host.Services.GetService(typeof(IGrainFactory))!;

    public async Task InitializeAsync()
    {
        _host = Host.CreateDefaultBuilder()
            .UseOrleans(silo => silo
                .UseLocalhostClustering(siloPort: FreePort(), gatewayPort: 0, serviceId: "mapping-tests", clusterId: "mapping-tests")
                .Configure<SiloMessagingOptions>(options =>
                {
                    options.MaxEnqueuedRequestsHardLimit = 2;
                    options.ResponseTimeout = TimeSpan.FromSeconds(1);
                }))
            .ConfigureLogging(logging => logging.ClearProviders())
            .Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }

    [Fact]
    public async Task AFullRequestQueue_IsResourceExhausted()
    {
        var grain = Grains.GetGrain<IBlockingGrain>("full");
        var gate = Guid.NewGuid().ToString("N");
        var calls = Enumerable.Range(0, 6).Select(_ => grain.WaitAsync(gate)).ToList();
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => Task.WhenAll(calls));

            // Beyond the running call and the two queued, calls are refused at once; the queued ones time out later.
            var statuses = calls.Where(c => c.IsFaulted).Select(c => GrainErrorInterceptor.Map(c.Exception!.InnerException!)).ToList();
            Assert.All(statuses, status => Assert.NotNull(status));
            var refused = statuses.Where(status => status!.StatusCode == StatusCode.ResourceExhausted).ToList();
            Assert.True(refused.Count >= 3, $"{refused.Count} of {calls.Count} calls were refused");
            Assert.All(refused, status => Assert.Contains("MaxEnqueuedRequestsHardLimit", status!.Status.Detail, StringComparison.Ordinal));
        }
        finally
        {
            BlockingGrain.Release(gate);
            await Task.WhenAll(calls.Select(c => c.ContinueWith(_ => { }, TaskScheduler.Default)));
        }
    }

    [Fact]
    public async Task AGrainThatDoesNotAnswerInTime_IsDeadlineExceeded()
    {
        var gate = Guid.NewGuid().ToString("N");
        var error = await Assert.ThrowsAnyAsync<Exception>(() => Grains.GetGrain<IBlockingGrain>("slow").WaitAsync(gate));
        BlockingGrain.Release(gate);

        var status = GrainErrorInterceptor.Map(error);

        Assert.NotNull(status);
        Assert.Equal(StatusCode.DeadlineExceeded, status.StatusCode);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>A grain whose calls wait until the test releases them.</summary>
[Alias("tests.IBlockingGrain")]
public interface IBlockingGrain : IGrainWithStringKey
{
    [Alias("Wait")]
    Task WaitAsync(string gate);
}

/// <inheritdoc cref="IBlockingGrain" />
public sealed class BlockingGrain : Grain, IBlockingGrain
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _gates = new();

    /// <summary>Lets every call waiting on <paramref name="gate"/> finish.</summary>
    public static void Release(string gate) => Gate(gate).TrySetResult();

    /// <inheritdoc />
    public Task WaitAsync(string gate) => Gate(gate).Task.WaitAsync(TimeSpan.FromSeconds(30));

    private static TaskCompletionSource Gate(string gate) => _gates.GetOrAdd(gate, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
}
