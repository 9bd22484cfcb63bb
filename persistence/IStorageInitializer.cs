namespace Vehicles.Persistence;

/// <summary>A store whose schema is created and migrated by <see cref="InitializeAsync"/>; idempotent.</summary>
internal interface IStorageInitializer
{
    Task InitializeAsync(CancellationToken cancellationToken);
}
