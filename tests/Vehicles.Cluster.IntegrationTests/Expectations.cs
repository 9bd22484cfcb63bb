using System.Text;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>
/// Collects every violated expectation of a test and fails once with all of them, the load summary and the silo logs:
/// a cluster run is too slow to learn its failures one at a time.
/// </summary>
internal sealed class Expectations(ClusterHarness cluster, LoadDriver? load = null)
{
    private readonly List<string> _violations = [];

    /// <summary>Expects <paramref name="items"/> to be empty.</summary>
    public void None<T>(IEnumerable<T> items, string what)
    {
        var list = items.ToList();
        if (list.Count > 0)
        {
            _violations.Add(list.Count + " " + what + ":" + Environment.NewLine + string.Join(Environment.NewLine, list.Take(30).Select(i => "    " + i)));
        }
    }

    /// <summary>Expects <paramref name="condition"/> to hold.</summary>
    public void That(bool condition, string message)
    {
        if (!condition)
        {
            _violations.Add(message);
        }
    }

    /// <summary>Fails the test if any expectation was violated.</summary>
    public void Assert()
    {
        if (_violations.Count == 0)
        {
            return;
        }

        var message = new StringBuilder();
        message.AppendLine(_violations.Count + " expectations violated:");
        foreach (var violation in _violations)
        {
            message.AppendLine("  - " + violation);
        }

        if (load is not null)
        {
            message.AppendLine(load.Summary());
        }

        message.AppendLine(cluster.LogTails(25));
        Xunit.Assert.Fail(message.ToString());
    }

    /// <summary>Fails at once unless <paramref name="condition"/> holds (for preconditions of the rest of the test).</summary>
    public void Require(bool condition, string message)
    {
        That(condition, message);
        if (!condition)
        {
            Assert();
        }
    }
}
