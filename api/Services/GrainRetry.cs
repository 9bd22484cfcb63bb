namespace Vehicles.Api.Services;

/// <summary>
/// Runs an idempotent grain call again when the silo that held the grain went away while the call was on its way
/// (a graceful leave or a crash: Orleans answers <see cref="SiloUnavailableException"/>, or rejects the message with
/// <see cref="OrleansMessageRejectionException"/> "Silo stopping", until its directory moves on, about a second). Only for calls that may safely run twice: reads, and the vehicle calls the grain deduplicates
/// (reports by sequence, heartbeats, opening the same session, a vehicle's result for a command).
/// </summary>
internal static class GrainRetry
{
    private const int MaxAttempts = 4;

    public static async Task<T> IdempotentAsync<T>(Func<Task<T>> call, TimeProvider time, CancellationToken cancellationToken = default)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (Exception ex) when (attempt < MaxAttempts && ex is SiloUnavailableException or OrleansMessageRejectionException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), time, cancellationToken);
            }
        }
    }
}
