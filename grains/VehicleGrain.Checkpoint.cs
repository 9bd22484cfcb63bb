namespace Vehicles.Grains;

/// <summary>
/// Checkpointing: changes mark the grain dirty and arm a one-shot timer, so a stream of reports costs one write per
/// <see cref="VehicleGrainOptions.CheckpointInterval"/>; commands force a write before they answer.
/// </summary>
public sealed partial class VehicleGrain
{
    /// <summary>Writes the whole state now; afterwards every report up to the applied sequence is durable.</summary>
    private Task CheckpointAsync(CancellationToken cancellationToken = default) => _checkpoint.WriteAsync(cancellationToken);

    private async Task WriteCheckpointAsync(CancellationToken cancellationToken)
    {
        var applied = _state.State.AppliedSequence;
        await _state.WriteStateAsync(cancellationToken);

        // Shown only once committed; the stored copy is derived from applied_sequence when the grain activates.
        _durableSequence = applied;
        if (_state.State.Vehicle is { } vehicle)
        {
            vehicle.DurableSequence = applied;
        }
    }
}
