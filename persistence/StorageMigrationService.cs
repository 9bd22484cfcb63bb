using Microsoft.Extensions.Hosting;

namespace Vehicles.Persistence;

/// <summary>
/// Creates and migrates the storage schema when the host starts, so that a silo with an unreachable or
/// incompatible database fails at start rather than at its first grain activation.
/// </summary>
internal sealed class StorageMigrationService(IGrainStorage storage, IReminderTable reminders) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (storage is IStorageInitializer storageInitializer)
        {
            await storageInitializer.InitializeAsync(cancellationToken);
        }

        if (reminders is IStorageInitializer reminderInitializer)
        {
            await reminderInitializer.InitializeAsync(cancellationToken);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
