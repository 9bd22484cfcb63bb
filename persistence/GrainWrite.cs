using System.Globalization;
using System.Runtime.InteropServices;

namespace Vehicles.Persistence;

/// <summary>One queued write or clear of one grain's record, and its outcome once its batch committed.</summary>
internal sealed class GrainWrite
{
    private readonly TaskCompletionSource<string?> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _newVersion;
    private long? _storedVersion;
    private Outcome _outcome;

    private GrainWrite(string grainType, string grainKey, byte[]? data, string? expectedEtag, CancellationToken cancellationToken)
    {
        GrainType = grainType;
        GrainKey = grainKey;
        Data = data;
        ExpectedEtag = expectedEtag;
        ExpectedVersion = ParseEtag(expectedEtag);
        CancellationToken = cancellationToken;
    }

    public string GrainType { get; }

    public string GrainKey { get; }

    /// <summary>The new state, or <see langword="null"/> for a clear.</summary>
    public byte[]? Data { get; }

    public bool IsClear => Data is null;

    /// <summary>Roughly the bytes this operation adds to a batch statement.</summary>
    public int Size => (Data?.Length ?? 0) + ((GrainType.Length + GrainKey.Length) * sizeof(char)) + 16;

    public string? ExpectedEtag { get; }

    /// <summary>
    /// The version the caller expects, or <see langword="null"/> when it expects no record. An ETag that is not
    /// one of ours maps to 0, which no record has (versions start at 1), so it fails the check like a stale one.
    /// </summary>
    public long? ExpectedVersion { get; }

    public CancellationToken CancellationToken { get; }

    public (string GrainType, string GrainKey) Key => (GrainType, GrainKey);

    public Task<string?> Task => _completion.Task;

    public static GrainWrite Write(string grainType, string grainKey, ReadOnlyMemory<byte> data, string? expectedEtag, CancellationToken cancellationToken)
    {
        // The caller's buffer is not copied when it is a whole array: the caller awaits the write and does not
        // touch the buffer meanwhile, as with any async I/O.
        var bytes = MemoryMarshal.TryGetArray(data, out var segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : data.ToArray();
        return new GrainWrite(grainType, grainKey, bytes, expectedEtag, cancellationToken);
    }

    public static GrainWrite Clear(string grainType, string grainKey, string? expectedEtag, CancellationToken cancellationToken)
        => new(grainType, grainKey, null, expectedEtag, cancellationToken);

    public static string FormatEtag(long version) => version.ToString(CultureInfo.InvariantCulture);

    public bool HasOutcome => _outcome != Outcome.Unknown;

    /// <summary>Forgets an outcome recorded by an attempt that was rolled back.</summary>
    public void ResetOutcome() => _outcome = Outcome.Unknown;

    /// <summary>Records that the operation took effect; <paramref name="newVersion"/> is the record's version now.</summary>
    public void Succeeded(long newVersion)
    {
        _newVersion = newVersion;
        _outcome = Outcome.Succeeded;
    }

    /// <summary>Records that the ETag check failed; <paramref name="storedVersion"/> is the live record's version, if any.</summary>
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
                $"ETag mismatch on {(IsClear ? "clear" : "write")} of {GrainType}/{GrainKey}: stored '{stored ?? "<none>"}', expected '{ExpectedEtag ?? "<none>"}'. Nothing was changed.",
                stored,
                ExpectedEtag));
        }
        else if (_outcome == Outcome.Succeeded)
        {
            _completion.TrySetResult(IsClear ? null : FormatEtag(_newVersion));
        }
        else
        {
            _completion.TrySetException(new InvalidOperationException($"The batch committed without an outcome for {GrainType}/{GrainKey}."));
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
