using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;
using Orleans.Storage;
using Vehicles.Grains.State;

namespace Vehicles.Grains;

/// <summary>
/// A fleet's members and their presence. Updates arrive from vehicle grains and are written on a short checkpoint
/// timer (and on deactivation), so a burst of connects costs one write. Listing walks a VIN-sorted index, rebuilt only
/// when membership changes.
/// </summary>
/// <remarks>Immovable for the reason given on <see cref="VehicleGrain"/>: vehicle activations call it.</remarks>
[Immovable]
public sealed class FleetGrain : Grain, IFleetGrain
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1000;

    private readonly IPersistentState<FleetGrainState> _state;
    private readonly VehicleGrainOptions _options;
    private readonly ILogger<FleetGrain> _logger;
    private readonly string _fleetId;
    private string[]? _sortedVins;
    private readonly DeferredCheckpoint _checkpoint;
    private bool _stale;

    /// <summary>Creates the grain (Orleans does).</summary>
    public FleetGrain(
        [PersistentState("fleet", GrainsServiceCollectionExtensions.StorageName)] IPersistentState<FleetGrainState> state,
        IOptions<VehicleGrainOptions> options,
        ILogger<FleetGrain> logger)
    {
        _state = state;
        _options = options.Value;
        _logger = logger;
        _fleetId = this.GetPrimaryKeyString();
        _checkpoint = new DeferredCheckpoint(
            _options.FleetCheckpointInterval,
            (callback, due, period) => this.RegisterGrainTimer(callback, due, period),
            WriteAsync,
            ex => _logger.LogWarning(ex, "Checkpoint of fleet {FleetId} failed; retrying after the checkpoint interval", _fleetId));
    }

    /// <inheritdoc />
    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_checkpoint.IsDirty && !_stale)
        {
            await _checkpoint.WriteAsync(cancellationToken);
        }
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _state.WriteStateAsync(cancellationToken);
        }
        catch (InconsistentStateException)
        {
            // Another activation wrote the record since this one read it: leave, so that the next call reads it (the
            // timed checkpoint has no caller for Orleans to deactivate this activation on).
            _stale = true;
            DeactivateOnIdle();
            throw;
        }
    }

    /// <inheritdoc />
    public Task UpdateMemberAsync(FleetMemberUpdate update, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(update);
        var lastSeen = Timestamp.FromDateTimeOffset(update.LastSeen);
        if (_state.State.Members.TryGetValue(update.Vin, out var member))
        {
            if (member.LastSeenTime is not null && lastSeen < member.LastSeenTime)
            {
                return Task.CompletedTask;
            }
        }
        else
        {
            member = new FleetMemberState();
            _state.State.Members[update.Vin] = member;
            _sortedVins = null;
        }

        member.Online = update.Online;
        member.LastSeenTime = lastSeen;
        _checkpoint.MarkDirty();
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task RemoveMemberAsync(string vin, CancellationToken cancellationToken = default)
    {
        if (_state.State.Members.Remove(vin))
        {
            _sortedVins = null;
            _checkpoint.MarkDirty();
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<FleetVehiclePage> ListVehiclesAsync(int pageSize, string? pageToken, bool? online, CancellationToken cancellationToken = default)
    {
        var size = pageSize <= 0 ? DefaultPageSize : Math.Min(pageSize, MaxPageSize);
        var vins = _sortedVins ??= SortedVins(_state.State);
        var index = 0;
        if (!string.IsNullOrEmpty(pageToken))
        {
            // The token is the last VIN of the previous page: start after it, wherever it now sits.
            index = Array.BinarySearch(vins, pageToken, StringComparer.Ordinal);
            index = index >= 0 ? index + 1 : ~index;
        }

        var page = new List<FleetMember>(Math.Min(size, vins.Length));
        var hasMore = false;
        for (; index < vins.Length; index++)
        {
            var member = _state.State.Members[vins[index]];
            if (online is { } wanted && member.Online != wanted)
            {
                continue;
            }

            if (page.Count == size)
            {
                hasMore = true;
                break;
            }

            page.Add(new FleetMember(vins[index], member.Online, member.LastSeenTime?.ToDateTimeOffset() ?? default));
        }

        return Task.FromResult(new FleetVehiclePage([.. page], hasMore ? page[^1].Vin : string.Empty));
    }

    private static string[] SortedVins(FleetGrainState state)
    {
        var vins = state.Members.Keys.ToArray();
        Array.Sort(vins, StringComparer.Ordinal);
        return vins;
    }
}
