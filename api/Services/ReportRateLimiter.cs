namespace Vehicles.Api.Services;

/// <summary>
/// A token bucket for one connection's status reports, on the injected clock. Not thread-safe: one per stream,
/// used by its reader loop only.
/// </summary>
internal sealed class ReportRateLimiter
{
    private readonly TimeProvider _time;
    private readonly double _perSecond;
    private readonly double _capacity;
    private double _tokens;
    private long _refilledAt;

    public ReportRateLimiter(TimeProvider time, double perSecond, int burst)
    {
        _time = time;
        _perSecond = perSecond;
        _capacity = burst;
        _tokens = burst;
        _refilledAt = time.GetTimestamp();
    }

    /// <summary>Takes a token, or returns how long until one is available.</summary>
    public bool TryTake(out TimeSpan retryAfter)
    {
        var now = _time.GetTimestamp();
        _tokens = Math.Min(_capacity, _tokens + (_time.GetElapsedTime(_refilledAt, now).TotalSeconds * _perSecond));
        _refilledAt = now;
        if (_tokens >= 1)
        {
            _tokens -= 1;
            retryAfter = TimeSpan.Zero;
            return true;
        }

        retryAfter = TimeSpan.FromSeconds((1 - _tokens) / _perSecond);
        return false;
    }
}
