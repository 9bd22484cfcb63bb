namespace Vehicles.Cluster.IntegrationTests;

/// <summary>Waits for a condition by polling with a deadline: no fixed sleeps.</summary>
internal static class Poll
{
    /// <summary>Calls <paramref name="attempt"/> until it returns true, at most <paramref name="timeout"/> and 2000 times.</summary>
    /// <returns>Whether the condition was met in time.</returns>
    public static async Task<bool> UntilAsync(Func<Task<bool>> attempt, TimeSpan timeout, TimeSpan? interval = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        for (var i = 0; i < 2000; i++)
        {
            if (await attempt())
            {
                return true;
            }

            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }

        return false;
    }
}
