using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.Services;

namespace Vehicles.Api.Tests;

public sealed class ReportRateLimiterTests
{
    private readonly FakeTimeProvider _clock = new(TestTime.Start);

    [Fact]
    public void TryTake_BeyondBurst_RefusesWithTimeUntilNextToken()
    {
        var limiter = new ReportRateLimiter(_clock, perSecond: 4, burst: 3);

        var taken = Enumerable.Range(0, 3).Select(i => limiter.TryTake(out _)).ToList();
        var fourth = limiter.TryTake(out var retryAfter);

        Assert.Equal([true, true, true], taken);
        Assert.False(fourth);
        Assert.Equal(TimeSpan.FromMilliseconds(250), retryAfter);
    }

    [Fact]
    public void TryTake_AfterWaiting_RefillsAtTheRateUpToTheBurst()
    {
        var limiter = new ReportRateLimiter(_clock, perSecond: 4, burst: 3);
        for (var i = 0; i < 3; i++)
        {
            limiter.TryTake(out _);
        }

        _clock.Advance(TimeSpan.FromMilliseconds(250));
        var afterOneToken = limiter.TryTake(out _);
        var thenEmpty = limiter.TryTake(out _);
        _clock.Advance(TimeSpan.FromHours(1));
        var afterLongWait = Enumerable.Range(0, 4).Select(i => limiter.TryTake(out _)).ToList();

        Assert.True(afterOneToken);
        Assert.False(thenEmpty);
        Assert.Equal([true, true, true, false], afterLongWait);
    }
}
