namespace Vehicles.Grpc;

/// <summary>
/// Options of one client call, like <c>Grpc.Core.CallOptions</c>: request headers, a deadline and a
/// cancellation token.
/// </summary>
public readonly struct CallOptions : IEquatable<CallOptions>
{
    /// <summary>Creates call options.</summary>
    /// <param name="headers">Request metadata, sent as HTTP/2 headers.</param>
    /// <param name="deadline">
    /// When the call must end, in UTC (a local time is converted); <see langword="null"/> or
    /// <see cref="DateTime.MaxValue"/> means no deadline.
    /// </param>
    /// <param name="cancellationToken">Cancels the call: the client sees CANCELLED and the server's handler is told.</param>
    public CallOptions(Metadata? headers = null, DateTime? deadline = null, CancellationToken cancellationToken = default)
    {
        Headers = headers;
        Deadline = deadline;
        CancellationToken = cancellationToken;
    }

    /// <summary>Request metadata, or <see langword="null"/>.</summary>
    public Metadata? Headers { get; }

    /// <summary>The deadline of the call, or <see langword="null"/> for none.</summary>
    public DateTime? Deadline { get; }

    /// <summary>The token that cancels the call.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>A copy with other headers.</summary>
    public CallOptions WithHeaders(Metadata? headers) => new(headers, Deadline, CancellationToken);

    /// <summary>A copy with another deadline.</summary>
    public CallOptions WithDeadline(DateTime? deadline) => new(Headers, deadline, CancellationToken);

    /// <summary>A copy with another cancellation token.</summary>
    public CallOptions WithCancellationToken(CancellationToken cancellationToken) => new(Headers, Deadline, cancellationToken);

    /// <inheritdoc />
    public bool Equals(CallOptions other) =>
        ReferenceEquals(Headers, other.Headers) && Deadline == other.Deadline && CancellationToken == other.CancellationToken;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is CallOptions other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Headers, Deadline, CancellationToken);

    /// <summary>Whether two options are the same.</summary>
    public static bool operator ==(CallOptions left, CallOptions right) => left.Equals(right);

    /// <summary>Whether two options differ.</summary>
    public static bool operator !=(CallOptions left, CallOptions right) => !left.Equals(right);
}
