using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Vehicles.Redis;

/// <summary>
/// The Redis subscriptions of one <see cref="RedisVehicleEventBus"/>, one per channel name, each an ordered
/// <see cref="ChannelMessageQueue"/> (handler subscriptions run their handlers concurrently, which would reorder one
/// vehicle's events). Every subscribe and unsubscribe goes through one loop, so those of one channel reach the
/// multiplexer in order.
/// <para>
/// The multiplexer restores the subscriptions it holds after a reconnect. One asked for while Redis is down (or that
/// failed) is held here instead and made when the connection is restored: a failed queue subscription would stay
/// registered in the multiplexer with nobody reading it, so a failure is followed by an unsubscribe of that channel.
/// This assumes that nothing else subscribes to this bus's channels on the same multiplexer (one bus per key prefix).
/// </para>
/// </summary>
internal sealed partial class RedisChannelSubscriptions : IAsyncDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly ISubscriber _subscriber;
    private readonly ILogger _logger;
    private readonly TimeSpan _timeout;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Subscription> _subscriptions = new(StringComparer.Ordinal);
    private readonly Channel<Operation> _operations = Channel.CreateUnbounded<Operation>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;

    public RedisChannelSubscriptions(IConnectionMultiplexer redis, TimeSpan timeout, ILogger logger)
    {
        _redis = redis;
        _subscriber = redis.GetSubscriber();
        _timeout = timeout;
        _logger = logger;
        _redis.ConnectionRestored += OnConnectionRestored;
        _loop = RunAsync();
    }

    /// <summary>
    /// Subscribes to <paramref name="channel"/> under <paramref name="name"/> unless already subscribed. The task
    /// completes once Redis has confirmed the subscription, or it failed or timed out (then only local events flow until
    /// it is made after a reconnect); it never faults.
    /// </summary>
    public Task EnsureAsync(string name, RedisChannel channel, Action<RedisValue> handler)
    {
        lock (_gate)
        {
            if (_subscriptions.TryGetValue(name, out var existing))
            {
                return existing.Ready;
            }

            // While Redis is reachable a slow answer (a loaded machine) is worth waiting for: watchers wait for it
            // before reading their first state.
            var subscription = new Subscription(name, channel, handler);
            subscription.Ready = WaitAsync(subscription.Attempted.Task, _redis.IsConnected ? _timeout * 5 : _timeout);
            _subscriptions.Add(name, subscription);
            _operations.Writer.TryWrite(new Operation(OperationKind.Subscribe, subscription));
            return subscription.Ready;
        }
    }

    /// <summary>Ends the subscription <paramref name="name"/> unless <paramref name="wanted"/> (checked under the lock that <see cref="EnsureAsync"/> takes).</summary>
    public void ReleaseUnless(string name, Func<bool> wanted)
    {
        lock (_gate)
        {
            if (wanted() || !_subscriptions.Remove(name, out var subscription))
            {
                return;
            }

            subscription.Released = true;
            _operations.Writer.TryWrite(new Operation(OperationKind.Unsubscribe, subscription));
        }
    }

    /// <summary>Completes once every subscription asked for so far was confirmed, or failed.</summary>
    public Task WhenAllReadyAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_subscriptions.Values.Select(s => s.Ready));
        }
    }

    /// <summary>Ends every subscription; the connection stays open.</summary>
    public async ValueTask DisposeAsync()
    {
        _redis.ConnectionRestored -= OnConnectionRestored;
        lock (_gate)
        {
            foreach (var subscription in _subscriptions.Values)
            {
                subscription.Released = true;
                _operations.Writer.TryWrite(new Operation(OperationKind.Unsubscribe, subscription));
            }

            _subscriptions.Clear();
            _operations.Writer.TryComplete();
        }

        await _loop;
    }

    private static async Task WaitAsync(Task attempted, TimeSpan timeout)
    {
        try
        {
            await attempted.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
        => _operations.Writer.TryWrite(new Operation(OperationKind.Restored, null));

    private async Task RunAsync()
    {
        await foreach (var operation in _operations.Reader.ReadAllAsync())
        {
            switch (operation.Kind)
            {
                case OperationKind.Subscribe:
                    await SubscribeAsync(operation.Subscription!);
                    break;
                case OperationKind.Unsubscribe:
                    await UnsubscribeAsync(operation.Subscription!);
                    break;
                case OperationKind.Restored:
                    Subscription[] waiting;
                    lock (_gate)
                    {
                        waiting = [.. _subscriptions.Values.Where(s => s.Queue is null)];
                    }

                    foreach (var subscription in waiting)
                    {
                        await SubscribeAsync(subscription);
                    }

                    break;
            }
        }
    }

    private async Task SubscribeAsync(Subscription subscription)
    {
        try
        {
            if (subscription.Released || subscription.Queue is not null)
            {
                return;
            }

            if (!_redis.IsConnected)
            {
                LogDeferred(_logger, subscription.Name);
                return;
            }

            // Bounded by the multiplexer's own async timeout; with the fail-fast backlog it fails at once while disconnected.
            var queue = await _subscriber.SubscribeAsync(subscription.Channel);
            subscription.Queue = queue;
            queue.OnMessage(message => subscription.Handler(message.Message));
            if (subscription.Released)
            {
                await UnsubscribeAsync(subscription);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogSubscribeFailed(_logger, ex, subscription.Name);

            // The failed call left its queue registered in the multiplexer, which would restore it with nobody reading it.
            await TryAsync(_subscriber.UnsubscribeAsync(subscription.Channel), subscription.Name);
        }
        finally
        {
            subscription.Attempted.TrySetResult();
        }
    }

    private async Task UnsubscribeAsync(Subscription subscription)
    {
        if (subscription.Queue is { } queue)
        {
            subscription.Queue = null;
            await TryAsync(queue.UnsubscribeAsync(), subscription.Name);
        }
    }

    private async Task TryAsync(Task call, string name)
    {
        try
        {
            await call.WaitAsync(_timeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            LogUnsubscribeFailed(_logger, ex, name);
        }
    }

    private enum OperationKind
    {
        Subscribe,
        Unsubscribe,
        Restored,
    }

    private readonly record struct Operation(OperationKind Kind, Subscription? Subscription);

    private sealed class Subscription(string name, RedisChannel channel, Action<RedisValue> handler)
    {
        public string Name { get; } = name;

        public RedisChannel Channel { get; } = channel;

        public Action<RedisValue> Handler { get; } = handler;

        public TaskCompletionSource Attempted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Ready { get; set; } = Task.CompletedTask;

        private int _released;

        // Set under the lock; read by the loop.
        public bool Released
        {
            get => Volatile.Read(ref _released) != 0;
            set => Volatile.Write(ref _released, value ? 1 : 0);
        }

        // Only the loop touches it (and reads it under the lock for the restore snapshot).
        public ChannelMessageQueue? Queue { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Redis is not connected: the subscription to {Channel} is made when it is")]
    private static partial void LogDeferred(ILogger logger, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis subscription to {Channel} failed; it is retried when Redis reconnects")]
    private static partial void LogSubscribeFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ending the Redis subscription to {Channel} failed")]
    private static partial void LogUnsubscribeFailed(ILogger logger, Exception exception, string channel);
}
