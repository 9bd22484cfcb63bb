using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Vehicles.Storage;

/// <summary>
/// Runs <see cref="VehicleSchema.EnsureAsync"/> in the silo lifecycle at <see cref="Stage"/>, before
/// <see cref="ServiceLifecycleStage.RuntimeInitialize"/>: membership (at RuntimeInitialize), grain storage (at
/// ApplicationServices) and reminders all read <c>OrleansQuery</c> later. A failure stops the silo's start.
/// </summary>
internal sealed class SchemaMigrationParticipant(IOptions<VehicleStorageOptions> options, ILogger<SchemaMigrationParticipant> logger)
    : ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The lifecycle stage the migration runs at.</summary>
    public const int Stage = ServiceLifecycleStage.RuntimeInitialize - 100;

    public void Participate(ISiloLifecycle lifecycle)
    {
        ArgumentNullException.ThrowIfNull(lifecycle);
        lifecycle.Subscribe(nameof(SchemaMigrationParticipant), Stage, async cancellationToken =>
        {
            await VehicleSchema.EnsureAsync(options.Value, logger, cancellationToken);
        });
    }
}
