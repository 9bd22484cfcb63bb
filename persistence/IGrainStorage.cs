namespace Vehicles.Persistence;

/// <summary>
/// Stores the serialized state of grains, keyed by grain type and grain key, with optimistic concurrency:
/// every stored record carries an ETag, and a write or clear must name the ETag it last saw.
/// </summary>
/// <remarks>
/// Implementations coalesce concurrent operations from many grains into batched statements; a caller
/// only sees its own operation complete or fail. The model follows Orleans' <c>IGrainStorage</c>.
/// </remarks>
public interface IGrainStorage
{
    /// <summary>Reads the stored record, or <see langword="null"/> when none exists.</summary>
    Task<StoredState?> ReadAsync(string grainType, string grainKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts or replaces the record and returns its new ETag. <paramref name="expectedEtag"/> is
    /// <see langword="null"/> when the caller believes no record exists.
    /// </summary>
    /// <exception cref="InconsistentStateException">The stored ETag differs from <paramref name="expectedEtag"/>; nothing was written.</exception>
    Task<string> WriteAsync(string grainType, string grainKey, ReadOnlyMemory<byte> data, string? expectedEtag, CancellationToken cancellationToken = default);

    /// <summary>Deletes the record.</summary>
    /// <exception cref="InconsistentStateException">The stored ETag differs from <paramref name="expectedEtag"/>; nothing was deleted.</exception>
    Task ClearAsync(string grainType, string grainKey, string? expectedEtag, CancellationToken cancellationToken = default);
}

/// <summary>A stored grain state record: the serialized bytes and the ETag that fences the next write.</summary>
public sealed record StoredState(ReadOnlyMemory<byte> Data, string Etag);

/// <summary>
/// Raised when a write or clear names an ETag that is not the stored one: another activation (or an
/// earlier incarnation of this one) wrote in between. Nothing was changed.
/// </summary>
public sealed class InconsistentStateException : Exception
{
    /// <summary>Creates the exception.</summary>
    public InconsistentStateException(string message, string? storedEtag, string? currentEtag)
        : base(message)
    {
        StoredEtag = storedEtag;
        CurrentEtag = currentEtag;
    }

    /// <summary>The ETag in storage, or <see langword="null"/> when no record exists.</summary>
    public string? StoredEtag { get; }

    /// <summary>The ETag the caller expected.</summary>
    public string? CurrentEtag { get; }
}
