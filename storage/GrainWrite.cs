using System.Globalization;
using System.Runtime.InteropServices;
using Orleans.Storage;

namespace Vehicles.Storage;

/// <summary>One queued write or clear of one grain state row, and its outcome once its batch committed.</summary>
internal sealed class GrainWrite
{
    private readonly TaskCompletionSource<string?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _newVersion;
    private long? _storedVersion;
    private Outcome _outcome;

    private GrainWrite(string stateName, string grainId, byte[]? data, string? expectedEtag, CancellationToken cancellationToken)
    {
        StateName = stateName;
        GrainId = grainId;
        Data = data;
        ExpectedEtag = expectedEtag;
        ExpectedVersion = ParseEtag(expectedEtag);
        CancellationToken = cancellationToken;
    }

    public string StateName { get; }

    /// <summary>The grain id as <see cref="Orleans.Runtime.GrainId.ToString"/> writes it (type/key).</summary>
    public string GrainId { get; }

    /// <summary>The new state, or <see langword="null"/> for a clear.</summary>
    public byte[]? Data { get; }

    public bool IsClear => Data is null;

    /// <summary>Roughly the bytes this operation adds to a batch statement.</summary>
    public int Size => (Data?.Length ?? 0) + ((StateName.Length + GrainId.Length) * sizeof(char)) + 16;

    public string? ExpectedEtag { get; }

    /// <summary>
    /// The version the caller expects, or <see langword="null"/> when it expects no row. An ETag that is not one of
    /// ours maps to 0, which no row has (versions start at 1), so it fails the check like a stale one.
    /// </summary>
    public long? ExpectedVersion { get; }

    public CancellationToken CancellationToken { get; }

    public (string StateName, string GrainId) Key => (StateName, GrainId);

    /// <summary>The new ETag once the batch committed (<see langword="null"/> for a clear of a row that never existed).</summary>
    public Task<string?> Task => _completion.Task;

    public static GrainWrite Write(string stateName, string grainId, ReadOnlyMemory<byte> data, string? expectedEtag, CancellationToken cancellationToken = default)
    {
        // A whole array is not copied: the serializer made it for this write and nobody else holds it.
        var bytes = MemoryMarshal.TryGetArray(data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : data.ToArray();
        return new GrainWrite(stateName, grainId, bytes, expectedEtag, cancellationToken);
    }

    public static GrainWrite Clear(string stateName, string grainId, string? expectedEtag, CancellationToken cancellationToken = default)
        => new(stateName, grainId, null, expectedEtag, cancellationToken);

    public static string FormatEtag(long version) => version.ToString(CultureInfo.InvariantCulture);

    public bool HasOutcome => _outcome != Outcome.Unknown;

    /// <summary>Forgets an outcome recorded by an attempt that was rolled back.</summary>
    public void ResetOutcome() => _outcome = Outcome.Unknown;

    /// <summary>
    /// Records that the operation took effect; <paramref name="newVersion"/> is the row's version now, 0 for a clear
    /// that found no row (and changed nothing).
    /// </summary>
    public void Succeeded(long newVersion)
    {
        _newVersion = newVersion;
        _outcome = Outcome.Succeeded;
    }

    /// <summary>Records that the ETag check failed; <paramref name="storedVersion"/> is the row's version, if there is a row.</summary>
    public void Conflicted(long? storedVersion)
    {
        _outcome = Outcome.Conflicted;
        _storedVersion = storedVersion;
    }

    /// <summary>Completes the caller's task with the outcome recorded by the batch, which has committed.</summary>
    public void Complete()
    {
        if (_outcome == Outcome.Conflicted)
        {
            var stored = _storedVersion is { } version ? FormatEtag(version) : null;
            _completion.TrySetException(new InconsistentStateException(
                $"ETag mismatch on {(IsClear ? "clear" : "write")} of state '{StateName}' of grain {GrainId}: stored '{stored ?? "<none>"}', expected '{ExpectedEtag ?? "<none>"}'. Nothing was changed.",
                stored,
                ExpectedEtag));
        }
        else if (_outcome == Outcome.Succeeded)
        {
            _completion.TrySetResult(_newVersion > 0 ? FormatEtag(_newVersion) : null);
        }
        else
        {
            _completion.TrySetException(new InvalidOperationException(
                $"The batch committed without an outcome for state '{StateName}' of grain {GrainId}."));
        }
    }

    public void Fail(Exception exception) => _completion.TrySetException(exception);

    public void Cancel() => _completion.TrySetCanceled(CancellationToken);

    private static long? ParseEtag(string? etag)
    {
        if (etag is null)
        {
            return null;
        }

        return long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var version) && version > 0 ? version : 0;
    }

    private enum Outcome
    {
        Unknown,
        Succeeded,
        Conflicted,
    }
}
