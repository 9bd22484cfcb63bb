using Microsoft.Extensions.DependencyInjection;
using Vehicles.Persistence;

namespace Vehicles.Actors.Tests;

/// <summary>A runtime over its own container, fake clock and in-memory stores, as a test needs it.</summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private TestSilo(ServiceProvider services)
    {
        _services = services;
        Runtime = services.GetRequiredService<ActorRuntime>();
    }

    public ActorRuntime Runtime { get; }

    public IGrainFactory Grains => Runtime;

    public Probe Probe => _services.GetRequiredService<Probe>();

    public FakeTimeProvider Time => (FakeTimeProvider)_services.GetRequiredService<TimeProvider>();

    public InMemoryGrainStorage Storage => (InMemoryGrainStorage)_services.GetRequiredService<IGrainStorage>();

    public IServiceProvider Services => _services;

    public static async Task<TestSilo> StartAsync(
        Action<ActorsOptions>? configure = null,
        FakeTimeProvider? time = null,
        InMemoryGrainStorage? storage = null,
        InMemoryReminderTable? reminders = null,
        Probe? probe = null,
        Action<IServiceCollection>? services = null)
    {
        var collection = new ServiceCollection();
        collection.AddSingleton<TimeProvider>(time ?? new FakeTimeProvider());
        collection.AddSingleton<IGrainStorage>(storage ?? new InMemoryGrainStorage());
        collection.AddSingleton<IReminderTable>(reminders ?? new InMemoryReminderTable());
        collection.AddSingleton(probe ?? new Probe());
        collection.AddActors(configure);
        services?.Invoke(collection);
        var silo = new TestSilo(collection.BuildServiceProvider());
        await silo.Runtime.StartAsync(CancellationToken.None);
        return silo;
    }

    public async Task StopAsync() => await Runtime.StopAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        await _services.DisposeAsync();
    }
}

/// <summary>Shared between a test and its grains (injected): named signals and a concurrency gauge.</summary>
public sealed class Probe
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _signals = new();
    private int _active;
    private int _maxActive;
    private int _count;

    public int MaxActive => Volatile.Read(ref _maxActive);

    public int Count => Volatile.Read(ref _count);

    public System.Collections.Concurrent.ConcurrentQueue<string> Events { get; } = new();

    public TaskCompletionSource Signal(string name)
        => _signals.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void Enter()
    {
        Interlocked.Increment(ref _count);
        var active = Interlocked.Increment(ref _active);
        int max;
        while (active > (max = Volatile.Read(ref _maxActive)) && Interlocked.CompareExchange(ref _maxActive, active, max) != max)
        {
        }
    }

    public void Exit() => Interlocked.Decrement(ref _active);
}

/// <summary>Polls a condition until a deadline: no fixed sleeps.</summary>
public static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, string because, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail("Timed out waiting: " + because);
            }

            await Task.Delay(5);
        }
    }

    public static async Task<T> Within<T>(Task<T> task, int timeoutMs = 10_000) => await task.WaitAsync(TimeSpan.FromMilliseconds(timeoutMs));

    public static async Task Within(Task task, int timeoutMs = 10_000) => await task.WaitAsync(TimeSpan.FromMilliseconds(timeoutMs));
}
