using Microsoft.Extensions.Logging;

namespace Vehicles.Grains;

/// <summary>
/// Checkpointing: changes mark the grain dirty and arm a one-shot timer, so a stream of reports costs one write per
/// <see cref="VehicleGrainOptions.CheckpointInterval"/>; commands force a write before they answer.
/// </summary>
public sealed partial class VehicleGrain
{
    private void MarkDirty()
    {
        _dirty = true;
        if (_checkpointArmed)
        {
            return;
        }

        _checkpointArmed = true;
        if (_checkpointTimer is null)
        {
            _checkpointTimer = RegisterGrainTimer(OnCheckpointTimerAsync, _options.CheckpointInterval, Timeout.InfiniteTimeSpan);
        }
        else
        {
            _checkpointTimer.Change(_options.CheckpointInterval, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task OnCheckpointTimerAsync(CancellationToken cancellationToken)
    {
        _checkpointArmed = false;
        if (!_dirty)
        {
            return;
        }

        try
        {
            await CheckpointAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.LogWarning(ex, "Checkpoint of {Vin} failed; retrying after the checkpoint interval", Vin);
            MarkDirty();
        }
    }

    /// <summary>Writes the whole state; afterwards every report up to the applied sequence is durable.</summary>
    private async Task CheckpointAsync(CancellationToken cancellationToken = default)
    {
        var applied = _state.State.AppliedSequence;
        _dirty = false;
        try
        {
            await _state.WriteStateAsync(cancellationToken);
        }
        catch
        {
            _dirty = true;
            throw;
        }

        // Shown only once committed; the stored copy is derived from applied_sequence when the grain activates.
        _durableSequence = applied;
        if (_state.State.Vehicle is { } vehicle)
        {
            vehicle.DurableSequence = applied;
        }
    }
}
