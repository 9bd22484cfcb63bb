using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Vehicles.Persistence;

namespace Vehicles.Actors;

/// <summary>
/// Durable reminders over <see cref="IReminderTable"/>. At start every row of a locally placed grain is loaded and armed;
/// after each delivered tick the row's due time moves to the next tick, so a tick missed while the process was down
/// fires once promptly after the next start (delivery is at least once: a crash between delivery and the row update
/// repeats the tick).
/// </summary>
internal sealed class ReminderService(ActorRuntime runtime, IReminderTable? table)
{
    private readonly ActorRuntime _runtime = runtime;
    private static readonly GrainMethodDescriptor _receiveReminder = new(
        typeof(IRemindable), 0, nameof(IRemindable.ReceiveReminder), GrainMethodOptions.None, [typeof(string), typeof(TickStatus)], typeof(void));

    private readonly ConcurrentDictionary<(string Type, string Key, string Name), Registration> _reminders = new();
    private bool _stopped;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (table is null)
        {
            return;
        }

        var entries = await table.ReadAllAsync((type, key) => _runtime.IsLocal(new GrainId(type, key)), cancellationToken);
        foreach (var entry in entries)
        {
            if (_runtime.FindGrainClass(entry.GrainType) is null)
            {
                _runtime.Logger.LogWarning("Reminder {ReminderName} of {GrainType}/{GrainKey} names a grain type this runtime does not host; skipped", entry.Name, entry.GrainType, entry.GrainKey);
                continue;
            }

            Arm(entry);
        }

        if (_runtime.Logger.IsEnabled(LogLevel.Information))
        {
            _runtime.Logger.LogInformation("Loaded {ReminderCount} reminders", entries.Count);
        }
    }

    /// <summary>After a placement change: disarms reminders of grains another silo now owns and arms the ones this silo gained.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        if (table is null || _stopped)
        {
            return;
        }

        foreach (var (key, registration) in _reminders)
        {
            if (!_runtime.IsLocal(new GrainId(key.Type, key.Key)) && _reminders.TryRemove(new KeyValuePair<(string, string, string), Registration>(key, registration)))
            {
                await registration.DisarmAsync();
            }
        }

        var entries = await table.ReadAllAsync((type, key) => _runtime.IsLocal(new GrainId(type, key)), cancellationToken);
        foreach (var entry in entries)
        {
            if (!_reminders.ContainsKey((entry.GrainType, entry.GrainKey, entry.Name)) && _runtime.FindGrainClass(entry.GrainType) is not null)
            {
                Arm(entry);
            }
        }
    }

    public void Stop()
    {
        _stopped = true;
        foreach (var registration in _reminders.Values)
        {
            registration.Disarm();
        }

        _reminders.Clear();
    }

    public async Task<IGrainReminder> RegisterOrUpdateAsync(GrainClassInfo grainClass, string key, string name, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentOutOfRangeException.ThrowIfLessThan(period, TimeSpan.Zero);

        // A due time already past (computed from a clock that moved on) fires at once rather than failing.
        dueTime = dueTime < TimeSpan.Zero ? TimeSpan.Zero : dueTime;
        var reminderTable = RequireTable();
        var entry = new ReminderEntry(grainClass.GrainType, key, name, _runtime.TimeProvider.GetUtcNow() + dueTime, period);
        if (_reminders.TryGetValue((entry.GrainType, key, name), out var previous))
        {
            await previous.DisarmAsync();
        }

        await reminderTable.UpsertAsync(entry);
        return Arm(entry);
    }

    public async Task UnregisterAsync(GrainId grainId, string name)
    {
        var reminderTable = RequireTable();
        if (_reminders.TryRemove((grainId.Type, grainId.Key, name), out var registration))
        {
            await registration.DisarmAsync();
        }

        await reminderTable.RemoveAsync(grainId.Type, grainId.Key, name);
    }

    public IGrainReminder? Find(GrainId grainId, string name)
        => _reminders.TryGetValue((grainId.Type, grainId.Key, name), out var registration) ? registration : null;

    private IReminderTable RequireTable()
        => table ?? throw new InvalidOperationException("Reminders need an IReminderTable service; none is registered.");

    private Registration Arm(ReminderEntry entry)
    {
        var registration = new Registration(this, entry);
        var key = (entry.GrainType, entry.GrainKey, entry.Name);
        _reminders.AddOrUpdate(key, registration, (_, old) =>
        {
            old.Disarm();
            return registration;
        });
        if (_stopped)
        {
            registration.Disarm();
        }
        else
        {
            registration.Arm();
        }

        return registration;
    }

#pragma warning disable CA1001 // The semaphore never allocates a wait handle (WaitAsync only), so there is nothing to dispose.
    private sealed class Registration(ReminderService service, ReminderEntry entry) : IGrainReminder
    {
        // Serializes this reminder's row updates with its removal, so a late update cannot resurrect a removed row.
        private readonly SemaphoreSlim _gate = new(1, 1);
        private ReminderEntry _entry = entry;
        private ITimer? _timer;
        private volatile bool _disarmed;

        public string ReminderName => _entry.Name;

        public void Arm()
        {
            var delay = _entry.StartAt - service._runtime.TimeProvider.GetUtcNow();
            // Created unarmed and then armed, so a tick due now still finds _timer set.
            _timer = service._runtime.TimeProvider.CreateTimer(
                static s => _ = ((Registration)s!).FireAsync(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timer.Change(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
        }

        public void Disarm()
        {
            _disarmed = true;
            _timer?.Dispose();
        }

        public async Task DisarmAsync()
        {
            await _gate.WaitAsync();
            try
            {
                Disarm();
            }
            finally
            {
                _gate.Release();
            }
        }

        private async Task FireAsync()
        {
            if (_disarmed)
            {
                return;
            }

            var runtime = service._runtime;
            var entry = _entry;
            if (!runtime.IsLocal(new GrainId(entry.GrainType, entry.GrainKey)))
            {
                // Another silo owns the grain now and fires its reminders (see ReloadAsync); the row stays as it is.
                service._reminders.TryRemove(new KeyValuePair<(string, string, string), Registration>((entry.GrainType, entry.GrainKey, entry.Name), this));
                Disarm();
                return;
            }

            var grainClass = runtime.FindGrainClass(entry.GrainType);
            try
            {
                var tick = new ReminderTickRequest(entry.Name, new TickStatus(entry.StartAt, entry.Period, runtime.TimeProvider.GetUtcNow()));
                await runtime.SendSystemAsync(grainClass!, entry.GrainKey, tick);
            }
            catch (Exception ex)
            {
                runtime.Logger.LogWarning(ex, "Reminder {ReminderName} of grain {GrainType}/{GrainKey} failed", entry.Name, entry.GrainType, entry.GrainKey);
            }

            await _gate.WaitAsync();
            try
            {
                if (_disarmed)
                {
                    return;
                }

                var now = runtime.TimeProvider.GetUtcNow();
                if (entry.Period == TimeSpan.Zero)
                {
                    service._reminders.TryRemove(new KeyValuePair<(string, string, string), Registration>((entry.GrainType, entry.GrainKey, entry.Name), this));
                    _disarmed = true;
                    await service.RequireTable().RemoveAsync(entry.GrainType, entry.GrainKey, entry.Name);
                    return;
                }

                var next = entry.StartAt + entry.Period;
                if (next <= now)
                {
                    var missed = (now - entry.StartAt).Ticks / entry.Period.Ticks;
                    next = entry.StartAt + TimeSpan.FromTicks(entry.Period.Ticks * (missed + 1));
                }

                // Armed before the row is written: once the row shows the next tick, the timer is already set for it.
                _entry = entry with { StartAt = next };
                _timer?.Change(next - now, Timeout.InfiniteTimeSpan);
                await service.RequireTable().UpsertAsync(_entry);
            }
            catch (Exception ex)
            {
                // The timer is armed; the stored row still names the tick just delivered, so a restart repeats it (at least once).
                runtime.Logger.LogError(ex, "Could not store the next tick of reminder {ReminderName} of grain {GrainType}/{GrainKey}", entry.Name, entry.GrainType, entry.GrainKey);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

#pragma warning restore CA1001

    private sealed class ReminderTickRequest(string name, TickStatus status) : GrainVoidRequest
    {
        public override GrainMethodDescriptor Method => _receiveReminder;

        public override object? GetArgument(int index) => index switch
        {
            0 => name,
            1 => status,
            _ => throw new ArgumentOutOfRangeException(nameof(index)),
        };

        public override void SetArgument(int index, object? value) => throw new NotSupportedException("Reminder ticks are created by the runtime.");

        protected override ValueTask InvokeCore(object grain)
        {
            if (grain is not IRemindable remindable)
            {
                throw new InvalidOperationException($"Grain class {grain.GetType()} has a reminder '{name}' but does not implement IRemindable.");
            }

            return new ValueTask(remindable.ReceiveReminder(name, status));
        }
    }
}
