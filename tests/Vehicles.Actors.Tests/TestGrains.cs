using Vehicles.Persistence;

namespace Vehicles.Actors.Tests;

public interface ITurnGrain : IGrainWithStringKey
{
    /// <summary>Enters, awaits several times (each await goes back through the scheduler), leaves.</summary>
    Task<int> YieldingAsync(int yields);

    /// <summary>Enters, signals "entered:{key}:{tag}", waits for "release:{key}:{tag}".</summary>
    Task<string> GatedAsync(string tag);

    [ReadOnly]
    Task<string> GatedReadAsync(string tag);

    [AlwaysInterleave]
    Task<string> PingAsync();

    Task<string> EchoAsync(string text);

    /// <summary>Blocks its thread until "entered:{other}" is signalled (proves grains run in parallel).</summary>
    Task<bool> BlockUntilOtherEntersAsync(string other);

    Task ThrowAsync(string message);

    ValueTask<int> ThrowSynchronously();

    Task CallOtherAsync(string otherKey, string text);

    Task DeactivateAsync();

    Task KeepAliveAsync(TimeSpan span);
}

public class TurnGrain(Probe probe) : Grain, ITurnGrain
{
    private int _writers;
    private int _readers;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.Events.Enqueue("activate:" + GrainKey);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        probe.Events.Enqueue("deactivate:" + GrainKey + ":" + reason.ReasonCode);
        return Task.CompletedTask;
    }

    public async Task<int> YieldingAsync(int yields)
    {
        probe.Enter();
        try
        {
            for (var i = 0; i < yields; i++)
            {
                // Alternates a continuation posted at once with one that comes back from another thread later: the
                // activation is idle in between, which is when a faulty scheduler would start the next message.
                if (i % 2 == 0)
                {
                    await Task.Yield();
                }
                else
                {
                    await Task.Run(static () => Thread.SpinWait(20));
                }
            }

            return yields;
        }
        finally
        {
            probe.Exit();
        }
    }

    public async Task<string> GatedAsync(string tag)
    {
        _writers++;
        if (_readers > 0)
        {
            probe.Events.Enqueue("writer-saw-reader");
        }

        probe.Enter();
        probe.Signal($"entered:{GrainKey}:{tag}").TrySetResult();
        await probe.Signal($"release:{GrainKey}:{tag}").Task;
        probe.Exit();
        _writers--;
        return tag;
    }

    public async Task<string> GatedReadAsync(string tag)
    {
        _readers++;
        if (_writers > 0)
        {
            probe.Events.Enqueue("reader-saw-writer");
        }

        probe.Signal($"entered:{GrainKey}:{tag}").TrySetResult();
        await probe.Signal($"release:{GrainKey}:{tag}").Task;
        _readers--;
        return tag;
    }

    public Task<string> PingAsync() => Task.FromResult("pong");

    public Task<string> EchoAsync(string text) => Task.FromResult(text);

    public Task<bool> BlockUntilOtherEntersAsync(string other)
    {
        probe.Signal("entered:" + GrainKey).TrySetResult();
        return Task.FromResult(probe.Signal("entered:" + other).Task.Wait(TimeSpan.FromSeconds(10)));
    }

    public async Task ThrowAsync(string message)
    {
        await Task.Yield();
        throw new ArgumentException(message, nameof(message));
    }

    public ValueTask<int> ThrowSynchronously() => throw new NotSupportedException("sync failure");

    public Task CallOtherAsync(string otherKey, string text) => GrainFactory.GetGrain<IEchoGrain>(otherKey).RecordAsync(text + " from " + GrainKey);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task KeepAliveAsync(TimeSpan span)
    {
        DelayDeactivation(span);
        return Task.CompletedTask;
    }
}

public interface IEchoGrain : IGrainWithStringKey
{
    Task RecordAsync(string text);

    Task<IReadOnlyList<string>> GetRecordedAsync();

    Task<string> RoundTripThroughAsync(string otherKey);
}

public sealed class EchoGrain : Grain, IEchoGrain
{
    private readonly List<string> _recorded = [];

    public Task RecordAsync(string text)
    {
        _recorded.Add(text);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> GetRecordedAsync() => Task.FromResult<IReadOnlyList<string>>([.. _recorded]);

    public async Task<string> RoundTripThroughAsync(string otherKey)
    {
        var self = this.AsReference<IEchoGrain>();
        await GrainFactory.GetGrain<IEchoGrain>(otherKey).RecordAsync("hello from " + self.GetHashCode().ToString(System.Globalization.CultureInfo.InvariantCulture));
        var recorded = await GrainFactory.GetGrain<IEchoGrain>(otherKey).GetRecordedAsync();
        return recorded[^1];
    }
}

public interface IReentrantGrain : IGrainWithStringKey
{
    Task<string> GatedAsync(string tag);
}

[Reentrant]
public sealed class ReentrantGrain(Probe probe) : Grain, IReentrantGrain
{
    public async Task<string> GatedAsync(string tag)
    {
        probe.Enter();
        probe.Signal($"entered:{GrainKey}:{tag}").TrySetResult();
        await probe.Signal($"release:{GrainKey}:{tag}").Task;
        probe.Exit();
        return tag;
    }
}

public sealed class Profile
{
    public string Name { get; set; } = string.Empty;

    public int Visits { get; set; }
}

public interface IProfileGrain : IGrainWithStringKey
{
    Task<string> GetNameSeenAtActivationAsync();

    Task SetNameAsync(string name, bool write);

    Task<Profile> GetAsync();

    Task<string?> GetEtagAsync();

    Task ClearAsync();
}

public sealed class ProfileGrain([PersistentState("profile", "Default")] IPersistentState<Profile> state) : Grain, IProfileGrain
{
    private string _nameAtActivation = string.Empty;

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _nameAtActivation = state.State.Name;
        return Task.CompletedTask;
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        // Unsaved changes are written here: the runtime never writes state by itself.
        await state.WriteStateAsync(cancellationToken);
    }

    public Task<string> GetNameSeenAtActivationAsync() => Task.FromResult(_nameAtActivation);

    public async Task SetNameAsync(string name, bool write)
    {
        state.State.Name = name;
        state.State.Visits++;
        if (write)
        {
            await state.WriteStateAsync();
        }
    }

    public Task<Profile> GetAsync() => Task.FromResult(state.State);

    public Task<string?> GetEtagAsync() => Task.FromResult(state.Etag);

    public Task ClearAsync() => state.ClearStateAsync();
}

public interface ITimerGrain : IGrainWithStringKey
{
    Task StartAsync(TimeSpan period);

    Task<int> GetTicksAsync();
}

public sealed class TimerGrain(Probe probe) : Grain, ITimerGrain
{
    private int _ticks;

    public Task StartAsync(TimeSpan period)
    {
        RegisterGrainTimer(async ct =>
        {
            var tick = ++_ticks;
            probe.Enter();
            probe.Signal($"tick:{GrainKey}:{tick}").TrySetResult();
            await probe.Signal($"release-tick:{GrainKey}:{tick}").Task;
            probe.Exit();
        }, period, period);
        return Task.CompletedTask;
    }

    public Task<int> GetTicksAsync() => Task.FromResult(_ticks);
}

public interface IReminderGrain : IGrainWithStringKey, IRemindable
{
    Task RegisterAsync(string name, TimeSpan due, TimeSpan period);

    Task UnregisterAsync(string name);
}

public sealed class ReminderGrain(Probe probe) : Grain, IReminderGrain
{
    public Task RegisterAsync(string name, TimeSpan due, TimeSpan period) => RegisterOrUpdateReminder(name, due, period);

    public async Task UnregisterAsync(string name)
    {
        var reminder = await GetReminder(name) ?? throw new InvalidOperationException("no reminder " + name);
        await UnregisterReminder(reminder);
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        probe.Events.Enqueue($"reminder:{GrainKey}:{reminderName}:{status.CurrentTickTime:HH:mm}");
        probe.Signal($"reminder:{GrainKey}:{reminderName}:{probe.Events.Count(e => e.StartsWith("reminder:" + GrainKey + ":" + reminderName + ":", StringComparison.Ordinal))}").TrySetResult();
        return Task.CompletedTask;
    }
}

/// <summary>Exposes an exception type of its own, to check that callers see exactly it.</summary>
public sealed class VehicleOfflineException(string vin) : Exception("Vehicle " + vin + " is offline");

public interface IFailingGrain : IGrainWithStringKey
{
    Task<int> FailAsync();
}

public sealed class FailingGrain : Grain, IFailingGrain
{
    public async Task<int> FailAsync()
    {
        await Task.Yield();
        throw new VehicleOfflineException(GrainKey);
    }
}

public interface IActivationFailsGrain : IGrainWithStringKey
{
    Task<int> GetAsync();
}

public sealed class ActivationFailsGrain : Grain, IActivationFailsGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken) => throw new InconsistentStateException("activation failed", null, null);

    public Task<int> GetAsync() => Task.FromResult(1);
}
