using Vehicles.Api.Sessions;
using Vehicles.Grains;

namespace Vehicles.Silo;

/// <summary>
/// Ties the vehicle streams of this silo to the cluster. When the silo stops, every stream ends with UNAVAILABLE
/// ("reconnect, to any server") before Kestrel and Orleans stop, so vehicles move elsewhere at once. When another silo
/// dies or leaves, every stream here announces itself to its vehicle's grain again: the grains that lived on that silo
/// are activated afresh elsewhere and learn their streams without waiting for the next heartbeat (spread over half a
/// second, so that a silo with thousands of streams does not call all their grains at once).
/// </summary>
internal sealed partial class SessionLifetime(
    VehicleSessions sessions,
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    IHostApplicationLifetime lifetime,
    ILogger<SessionLifetime> logger) : BackgroundService
{
    /// <summary>How long a stopping silo waits for its streams to end with their own status.</summary>
    private static readonly TimeSpan _drainTimeout = TimeSpan.FromSeconds(2);

    /// <summary>Streams re-announce themselves at random moments within this, not all at once.</summary>
    private static readonly TimeSpan _reattachSpread = TimeSpan.FromMilliseconds(500);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var stopping = lifetime.ApplicationStopping.Register(EndStreams);
        try
        {
            ClusterMembershipSnapshot? previous = null;
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                if (previous is not null && snapshot.CreateUpdate(previous).Changes.Any(IsDeparture))
                {
                    LogReattaching(logger, sessions.Count);
                    sessions.ReattachAll(_reattachSpread, TimeProvider.System);
                }

                previous = snapshot;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private bool IsDeparture(ClusterMember member) =>
        !member.SiloAddress.Equals(local.SiloAddress) && member.Status is SiloStatus.Dead or SiloStatus.ShuttingDown or SiloStatus.Stopping;

    // Runs inside the host's StopAsync, before any hosted service stops: Orleans still serves the CloseSession calls
    // the ending streams make.
    private void EndStreams()
    {
        sessions.EndAll(SessionEndReason.SiloShuttingDown);
        var deadline = Environment.TickCount64 + (long)_drainTimeout.TotalMilliseconds;
        while (sessions.Count > 0 && Environment.TickCount64 < deadline)
        {
            Thread.Sleep(20);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "A silo left the cluster; re-announcing {Count} vehicle streams to their grains")]
    private static partial void LogReattaching(ILogger logger, int count);
}
