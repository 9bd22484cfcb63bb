using Grpc.Core;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>Checks of what the cluster stored after a run.</summary>
internal static class Verify
{
    /// <summary>Accepted commands that GetCommand, through the given silos in turn, cannot find.</summary>
    public static async Task<IReadOnlyList<string>> MissingCommandsAsync(ClusterHarness cluster, IReadOnlyList<SiloProcess> silos, IReadOnlyList<AcceptedCommand> accepted)
    {
        var token = cluster.OperatorToken();
        var missing = new List<string>();
        var next = 0;
        foreach (var chunk in accepted.Chunk(16))
        {
            var checks = chunk.Select(async command =>
            {
                var silo = silos[Interlocked.Increment(ref next) % silos.Count];
                try
                {
                    var stored = await new ApiClient(silo.Invoker, token).GetCommandAsync(command.Vin, command.CommandId);
                    return stored.CommandId == command.CommandId ? null : command + ": GetCommand returned " + stored.CommandId;
                }
                catch (RpcException ex)
                {
                    return command + ": GetCommand through " + silo.Name + " failed with " + ex.StatusCode + " " + ex.Status.Detail;
                }
            });
            missing.AddRange((await Task.WhenAll(checks)).OfType<string>());
        }

        return missing;
    }

    /// <summary>Vehicles whose stored durable_sequence is below what was acknowledged durable to them.</summary>
    public static async Task<IReadOnlyList<string>> DurableRegressionsAsync(
        ClusterHarness cluster, IReadOnlyList<SiloProcess> silos, IReadOnlyDictionary<string, ulong> acknowledged)
    {
        var token = cluster.OperatorToken();
        var regressions = new List<string>();
        var next = 0;
        foreach (var chunk in acknowledged.Chunk(16))
        {
            var checks = chunk.Select(async pair =>
            {
                var silo = silos[Interlocked.Increment(ref next) % silos.Count];
                try
                {
                    var stored = await new ApiClient(silo.Invoker, token).GetVehicleAsync(pair.Key);
                    return stored.DurableSequence >= pair.Value
                        ? null
                        : pair.Key + ": stored durable_sequence " + stored.DurableSequence + " < " + pair.Value + " acknowledged durable";
                }
                catch (RpcException ex)
                {
                    return pair.Key + ": GetVehicle through " + silo.Name + " failed with " + ex.StatusCode + " " + ex.Status.Detail;
                }
            });
            regressions.AddRange((await Task.WhenAll(checks)).OfType<string>());
        }

        return regressions;
    }

    /// <summary>
    /// Vehicles whose state no longer shows their last acknowledged report. Each report carries its sequence number as
    /// traveled_distance and a vehicle has one report in flight, so the state must show at least the highest acked one:
    /// less means an activation that acknowledged it was dropped without flushing it.
    /// </summary>
    public static async Task<IReadOnlyList<string>> LostReportsAsync(
        ClusterHarness cluster, IReadOnlyList<SiloProcess> silos, IReadOnlyDictionary<string, ulong> highestAcked)
    {
        var token = cluster.OperatorToken();
        var lost = new List<string>();
        var next = 0;
        foreach (var chunk in highestAcked.Chunk(16))
        {
            var checks = chunk.Select(async pair =>
            {
                var silo = silos[Interlocked.Increment(ref next) % silos.Count];
                try
                {
                    var stored = await new ApiClient(silo.Invoker, token).GetVehicleAsync(pair.Key);
                    return stored.Signals.TraveledDistance >= pair.Value
                        ? null
                        : pair.Key + ": state shows report " + stored.Signals.TraveledDistance + " but report " + pair.Value + " was acked";
                }
                catch (RpcException ex)
                {
                    return pair.Key + ": GetVehicle through " + silo.Name + " failed with " + ex.StatusCode + " " + ex.Status.Detail;
                }
            });
            lost.AddRange((await Task.WhenAll(checks)).OfType<string>());
        }

        return lost;
    }
}
