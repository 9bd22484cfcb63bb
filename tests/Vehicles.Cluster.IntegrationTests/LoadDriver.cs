using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Grpc.Core;
using Vehicles.Api.V1;

namespace Vehicles.Cluster.IntegrationTests;

/// <summary>Size and pace of the load; every loop is bounded by these counts and by <see cref="MaxDuration"/>.</summary>
public sealed record LoadOptions
{
    /// <summary>Vehicles, each with its own Connect stream.</summary>
    public int Vehicles { get; init; } = 60;

    /// <summary>Pause between an ack and the next report (the API allows 10 reports per second).</summary>
    public TimeSpan ReportInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Concurrent operator loops.</summary>
    public int Operators { get; init; } = 2;

    /// <summary>Pause between two calls of one operator loop.</summary>
    public TimeSpan OperatorInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Calls each operator loop makes at most.</summary>
    public int MaxOperatorCalls { get; init; } = 5_000;

    /// <summary>The load stops by itself after this long.</summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromSeconds(120);
}

/// <summary>A SendCommand the cluster answered OK: it must never be lost.</summary>
public sealed record AcceptedCommand(string Vin, string CommandId, string Silo, TimeSpan At);

/// <summary>A unary call that failed.</summary>
public sealed record CallFailure(string Method, string Vin, string Silo, SiloState SiloState, StatusCode Status, string Detail, TimeSpan At);

/// <summary>
/// Bounded load on a cluster: <see cref="LoadOptions.Vehicles"/> vehicles on Connect streams spread round-robin over
/// the silos, plus operator loops alternating SendCommand and GetVehicle through round-robin silos. It records every
/// ack, stream end, accepted command and failed call for the test to assert on.
/// </summary>
public sealed class LoadDriver : IAsyncDisposable
{
    private readonly ClusterHarness _harness;
    private readonly LoadOptions _options;
    private readonly CancellationTokenSource _stop;
    private readonly long _started = Stopwatch.GetTimestamp();
    private readonly DateTime _startedUtc = DateTime.UtcNow;
    private readonly ConcurrentQueue<AcceptedCommand> _accepted = new();
    private readonly ConcurrentQueue<CallFailure> _failures = new();
    private readonly ConcurrentDictionary<string, long> _callsBySilo = new(StringComparer.Ordinal);
    private readonly List<Task> _tasks = [];
    private long _calls;

    /// <summary>Creates the driver; nothing runs before <see cref="StartAsync"/>.</summary>
    public LoadDriver(ClusterHarness harness, SiloRotation rotation, LoadOptions? options = null)
    {
        _harness = harness;
        Rotation = rotation;
        _options = options ?? new LoadOptions();
        _stop = new CancellationTokenSource(_options.MaxDuration);
        Vehicles = [.. Enumerable.Range(1, _options.Vehicles).Select(n =>
        {
            var vin = harness.Vin(n);
            return new DrivenVehicle(vin, harness.VehicleToken(vin), _started);
        })];
    }

    /// <summary>Where vehicles reconnect and operators call.</summary>
    public SiloRotation Rotation { get; }

    /// <summary>The vehicles.</summary>
    public IReadOnlyList<DrivenVehicle> Vehicles { get; }

    /// <summary>Time since the driver was created.</summary>
    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_started);

    /// <summary>Commands the cluster accepted.</summary>
    public IReadOnlyList<AcceptedCommand> AcceptedCommands => [.. _accepted];

    /// <summary>Unary calls that failed.</summary>
    public IReadOnlyList<CallFailure> Failures => [.. _failures];

    /// <summary>Unary calls made.</summary>
    public long Calls => Interlocked.Read(ref _calls);

    /// <summary>Unary calls per entry silo.</summary>
    public IReadOnlyDictionary<string, long> CallsBySilo => new Dictionary<string, long>(_callsBySilo, StringComparer.Ordinal);

    /// <summary>Connects every vehicle, waits until each has had a report acked, then starts the operators.</summary>
    public async Task StartAsync(TimeSpan timeout)
    {
        for (var i = 0; i < Vehicles.Count; i++)
        {
            var vehicle = Vehicles[i];
            var first = Rotation.At(i);
            _tasks.Add(Task.Run(() => vehicle.RunAsync(Rotation, first, _options.ReportInterval, _stop.Token)));
        }

        var reporting = await Poll.UntilAsync(() => Task.FromResult(Vehicles.All(v => v.ReportsAcked > 0)), timeout);
        if (!reporting)
        {
            var silent = Vehicles.Where(v => v.ReportsAcked == 0).ToList();
            throw new TimeoutException(silent.Count + " vehicles had no report acked within " + timeout + ", for example " + silent[0].Vin
                + " on " + silent[0].Silo + ": " + string.Join("; ", silent[0].StreamEnds.Select(e => e.Status + " " + e.Detail).Concat(silent[0].Problems))
                + Environment.NewLine + _harness.LogTails());
        }

        for (var i = 0; i < _options.Operators; i++)
        {
            var loop = i;
            _tasks.Add(Task.Run(() => OperateAsync(loop, _stop.Token)));
        }
    }

    /// <summary>Waits until the operators have made <paramref name="more"/> further calls: load runs for a count, not a sleep.</summary>
    public async Task WaitForCallsAsync(int more, TimeSpan? timeout = null)
    {
        var target = Calls + more;
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        if (!await Poll.UntilAsync(() => Task.FromResult(Calls >= target), limit))
        {
            throw new TimeoutException("the operators made " + (Calls - target + more) + " of " + more + " calls within " + limit + Environment.NewLine + Summary());
        }
    }

    /// <summary>
    /// Polls until every one of <paramref name="commands"/> reached its vehicle's stream, at most <paramref name="timeout"/>.
    /// A command whose grain moved (a crash, a leave) reaches the vehicle only once its stream announced itself to the new
    /// activation, or once the vehicle reconnected.
    /// </summary>
    /// <returns>The commands still not delivered, each with the silo its vehicle's stream is on.</returns>
    public async Task<IReadOnlyList<string>> UndeliveredAsync(IReadOnlyList<AcceptedCommand> commands, TimeSpan timeout)
    {
        var byVin = Vehicles.ToDictionary(v => v.Vin, StringComparer.Ordinal);
        await Poll.UntilAsync(() => Task.FromResult(commands.All(c => byVin[c.Vin].HasReceived(c.CommandId))), timeout);
        return [.. commands.Where(c => !byVin[c.Vin].HasReceived(c.CommandId)).Select(c => c + ", stream on " + byVin[c.Vin].Silo)];
    }

    /// <summary>Marks an event (a kill): each vehicle remembers when its first report sent after it is acked.</summary>
    /// <returns>The event's Stopwatch timestamp.</returns>
    public long Mark()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var vehicle in Vehicles)
        {
            vehicle.Mark(now);
        }

        return now;
    }

    /// <summary>Stops the load: operators finish their call, vehicles hang up. Bounded.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        var all = Task.WhenAll(_tasks);
        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(30))) != all)
        {
            throw new TimeoutException("the load did not stop within 30 s");
        }

        await all;
    }

    /// <summary>What happened, for the test output.</summary>
    public string Summary()
    {
        var text = new StringBuilder();
        var ends = Vehicles.SelectMany(v => v.StreamEnds).Where(e => !e.WhileStopping).ToList();
        text.AppendLine(CultureInfo.InvariantCulture, $"load started {_startedUtc:HH:mm:ss.fff} UTC (+0 s), ran {Elapsed.TotalSeconds:F1} s: {Vehicles.Count} vehicles, {Vehicles.Sum(v => v.ReportsAcked)} reports acked, {Vehicles.Sum(v => v.Connects)} streams opened, {ends.Count} ended under load, {Vehicles.Sum(v => v.Throttles)} throttles, {Vehicles.Sum(v => v.ReportsRefused)} reports refused (UNAVAILABLE notice), {Vehicles.Sum(v => v.CommandsReceived)} commands delivered ({Vehicles.Sum(v => v.DuplicateDeliveries)} of them again after the vehicle had answered)");
        foreach (var group in ends.GroupBy(e => e.Silo + " [" + e.SiloState + "] " + e.Status))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  stream ends on {group.Key}: {group.Count()} between +{group.Min(e => e.At).TotalSeconds:F1} s and +{group.Max(e => e.At).TotalSeconds:F1} s (e.g. \"{group.First().Detail}\")");
        }

        var bySilo = string.Join(", ", CallsBySilo.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => p.Key + "=" + p.Value));
        text.AppendLine(CultureInfo.InvariantCulture, $"operators: {Calls} unary calls, {_accepted.Count} commands accepted, {_failures.Count} failed; by entry silo: {bySilo}");
        foreach (var failure in _failures.Take(20))
        {
            text.AppendLine("  failed: " + failure);
        }

        var problems = Vehicles.Sum(v => v.Problems.Count);
        if (problems > 0)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"vehicle problems: {problems} in {Vehicles.Count(v => v.Problems.Count > 0)} vehicles; the first two of up to ten vehicles:");
            foreach (var problem in Vehicles.Where(v => v.Problems.Count > 0).Take(10).SelectMany(v => v.Problems.Take(2).Select(p => v.Vin + " " + p)))
            {
                text.AppendLine("  " + problem);
            }
        }

        return text.ToString();
    }

    /// <summary>Stops the load if the test did not.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            try
            {
                await StopAsync();
            }
            catch (TimeoutException)
            {
                // Disposing after a failure: the silos are killed next, which ends whatever still runs.
            }
        }

        _stop.Dispose();
    }

    private async Task OperateAsync(int loop, CancellationToken stop)
    {
        var client = _harness.OperatorToken();
        for (var i = 0; i < _options.MaxOperatorCalls && !stop.IsCancellationRequested; i++)
        {
            var lease = Rotation.Lease();
            var silo = lease.Silo;
            var vin = Vehicles[(i * 7 + loop * 13) % Vehicles.Count].Vin;
            var api = new ApiClient(silo.Invoker, client);
            var sendCommand = (i + loop) % 2 == 0;
            Interlocked.Increment(ref _calls);
            _callsBySilo.AddOrUpdate(silo.Name, 1, (_, n) => n + 1);
            try
            {
                if (sendCommand)
                {
                    // Not the stop token: a call in flight when the load stops finishes, so its outcome is known. With an
                    // idempotency key, as an operator sends it, the silo may run the call again across a leave.
                    var request = new SendCommandRequest { Vin = vin, Name = "flash_lights", IdempotencyKey = Guid.NewGuid().ToString("N") };
                    var response = await api.SendCommandAsync(request, CancellationToken.None);
                    _accepted.Enqueue(new AcceptedCommand(vin, response.Command.CommandId, silo.Name, Elapsed));
                }
                else
                {
                    await api.GetVehicleAsync(vin);
                }
            }
            catch (RpcException ex)
            {
                _failures.Enqueue(new CallFailure(sendCommand ? "SendCommand" : "GetVehicle", vin, silo.Name, silo.State, ex.StatusCode, ex.Status.Detail, Elapsed));
            }
            finally
            {
                lease.Dispose();
            }

            try
            {
                await Task.Delay(_options.OperatorInterval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
