using Grpc.Core;
using Vehicles.Api.Security;

namespace Vehicles.Api.Services;

/// <summary>Ends long-lived streams when the caller's token expires, on the injected clock.</summary>
internal static class TokenExpiry
{
    // Timers take at most about 49 days; no stream is expected to live that long, so a longer token never cuts one.
    private static readonly TimeSpan _maxTimer = TimeSpan.FromDays(40);

    /// <summary>A source cancelled when <paramref name="caller"/>'s token expires.</summary>
    public static CancellationTokenSource Watch(CallerIdentity caller, TimeProvider time)
    {
        var left = caller.ExpiresAt - time.GetUtcNow();
        return new CancellationTokenSource(left <= TimeSpan.Zero ? TimeSpan.Zero : left > _maxTimer ? Timeout.InfiniteTimeSpan : left, time);
    }

    public static RpcException Expired() => new(new Status(StatusCode.Unauthenticated, "the token has expired"));
}
