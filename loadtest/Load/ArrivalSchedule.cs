namespace Vehicles.LoadTest;

/// <summary>The intended start times of an open stage's arrivals.</summary>
public static class ArrivalSchedule
{
    /// <summary>
    /// The start time, in seconds from the stage's start, of arrival number <paramref name="index"/> (from 0) when
    /// the rate moves linearly from <paramref name="fromRate"/> to <paramref name="toRate"/> over
    /// <paramref name="durationSeconds"/>; <see langword="null"/> when that arrival falls at or after the stage's end.
    /// Arrival k is placed where the expected number of arrivals so far reaches k, so a stage has
    /// ⌈(from + to) / 2 × duration⌉ arrivals.
    /// </summary>
    public static double? ArrivalTime(double fromRate, double toRate, double durationSeconds, long index)
    {
        var expected = (fromRate + toRate) / 2 * durationSeconds;
        if (index >= expected)
        {
            return null;
        }

        double t;
        if (fromRate == toRate)
        {
            t = index / fromRate;
        }
        else
        {
            // Solve from·t + slope·t²/2 = index for the smallest t ≥ 0.
            var slope = (toRate - fromRate) / durationSeconds;
            var discriminant = Math.Max(0, (fromRate * fromRate) + (2 * slope * index));
            t = (Math.Sqrt(discriminant) - fromRate) / slope;
        }

        return t < durationSeconds ? Math.Max(0, t) : null;
    }

    /// <summary>The number of arrivals in a stage: the count of indices for which <see cref="ArrivalTime"/> has a value.</summary>
    public static long Count(double fromRate, double toRate, double durationSeconds)
    {
        long count = 0;
        while (ArrivalTime(fromRate, toRate, durationSeconds, count) is not null)
        {
            count++;
        }

        return count;
    }
}
