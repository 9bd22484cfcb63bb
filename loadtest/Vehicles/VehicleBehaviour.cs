using Vehicles.Api.V1;

namespace Vehicles.LoadTest;

/// <summary>How simulated vehicles carry out commands.</summary>
public sealed record VehicleBehaviour
{
    /// <summary>How long a vehicle takes to carry out a command before it answers.</summary>
    public LatencyDistribution CommandDelay { get; init; } = LatencyDistribution.Parse("fixed:1ms");

    /// <summary>Share of commands the vehicle answers with FAILED (it cannot do them).</summary>
    public double FailRate { get; init; }

    /// <summary>
    /// Share of commands about which the vehicle lies: it records one outcome and tells the server another. Only for
    /// proving that the correctness check catches a disagreement; 0 in real runs.
    /// </summary>
    public double LieRate { get; init; }
}

/// <summary>What a simulated vehicle knows about one command it received.</summary>
/// <param name="CommandId">The command's identifier.</param>
/// <param name="Name">Its catalogue name.</param>
/// <param name="DeliveredTimestamp">When it arrived (<see cref="TimeProvider.GetTimestamp"/>).</param>
public sealed record CommandRecord(string CommandId, string Name, long DeliveredTimestamp)
{
    /// <summary>The outcome the vehicle believes it reached; <see cref="CommandOutcome.Unspecified"/> until it has answered.</summary>
    public CommandOutcome Outcome { get; set; }

    /// <summary>Whether the server withdrew it before the vehicle started it.</summary>
    public bool Canceled { get; set; }

    /// <summary>When the vehicle sent its result (<see cref="TimeProvider.GetTimestamp"/>); 0 until then.</summary>
    public long AnsweredTimestamp { get; set; }
}
