using Grpc.Core;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Vehicles.EndToEnd.Tests;

/// <summary>grpc.health.v1.Health as a load balancer or orchestrator sees it (Grpc.AspNetCore.HealthChecks on the silo's checks).</summary>
public sealed class HealthTests : SiloTestBase
{
    private Health.HealthClient Health => new(Silo.Invoker);

    [Fact]
    public async Task Check_OnARunningSilo_IsServingForTheServerEachServiceAndEachComponent()
    {
        string[] services = ["", "vehicles.v1.VehicleLink", "vehicles.v1.FleetOperator", "vehicles.v1.ClusterAdmin", "vehicles.silo", "vehicles.storage", "vehicles.redis"];

        var statuses = new Dictionary<string, ServingStatus>();
        foreach (var service in services)
        {
            statuses[service] = await CheckAsync(service);
        }

        Assert.Equal(services.ToDictionary(s => s, _ => ServingStatus.Serving), statuses);
    }

    [Fact]
    public async Task Check_ForAServiceTheSiloDoesNotHave_IsNotFound()
    {
        var error = await Poll.FailsAsync(() => CheckAsync("vehicles.v1.NoSuchService"));

        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task Check_WhenTheStorageCannotBeRead_StorageAndServerAreNotServing_UntilItCanAgain()
    {
        await using (await BrokenStorage.BreakAsync(Silo))
        {
            var server = await Poll.UntilAsync(() => CheckAsync(""), s => s == ServingStatus.NotServing, "\"\" NOT_SERVING");
            var storage = await CheckAsync("vehicles.storage");
            var fleetOperator = await CheckAsync("vehicles.v1.FleetOperator");
            var membership = await CheckAsync("vehicles.silo");

            Assert.Equal(ServingStatus.NotServing, server);
            Assert.Equal(ServingStatus.NotServing, storage);
            Assert.Equal(ServingStatus.NotServing, fleetOperator);
            Assert.Equal(ServingStatus.Serving, membership);
        }

        var repaired = await Poll.UntilAsync(() => CheckAsync(""), s => s == ServingStatus.Serving, "\"\" SERVING again");
        Assert.Equal(ServingStatus.Serving, repaired);
    }

    [Fact]
    public async Task Health_OnceTheHostBeginsStopping_CheckAndWatchSayNotServing()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = Health.Watch(new HealthCheckRequest { Service = "" }, cancellationToken: stop.Token);
        Assert.True(await watch.ResponseStream.MoveNext(stop.Token));
        var watchedFirst = watch.ResponseStream.Current.Status;

        Silo.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var checkedAfter = await Poll.UntilAsync(() => CheckAsync(""), s => s != ServingStatus.Serving, "\"\" no longer SERVING");
        var watchedAfter = new List<ServingStatus>();
        for (var i = 0; i < 10 && await watch.ResponseStream.MoveNext(stop.Token); i++)
        {
            watchedAfter.Add(watch.ResponseStream.Current.Status);
        }

        Assert.Equal(ServingStatus.Serving, watchedFirst);
        Assert.Equal(ServingStatus.NotServing, checkedAfter);
        Assert.Equal(ServingStatus.NotServing, watchedAfter.LastOrDefault());
        Assert.Equal(StatusCode.OK, watch.GetStatus().StatusCode);
    }

    private async Task<ServingStatus> CheckAsync(string service)
    {
        var response = await Health.CheckAsync(new HealthCheckRequest { Service = service }, TestSilo.With(null));
        return response.Status;
    }
}
