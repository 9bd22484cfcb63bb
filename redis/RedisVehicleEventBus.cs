using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using Vehicles.Api.V1;
using Vehicles.Grains;

namespace Vehicles.Redis;

/// <summary>
/// An <see cref="IVehicleEventBus"/> that spans silos through Redis pub/sub. Each event goes to local subscribers at
/// once, and out to Redis on two channels, <c>{prefix}:ev:vin:{vin}</c> and <c>{prefix}:ev:fleet:{fleetId}</c>; a silo
/// subscribes in Redis only to the channels its local subscribers need (all fleets through one pattern). Messages carry
/// the publishing bus's id, so a silo ignores its own events coming back and delivers each local event exactly once.
/// <para>
/// Publishing never blocks: events wait in a bounded queue drained by one task, and are dropped (and counted in
/// <see cref="DroppedCount"/>) when the queue is full or Redis is down. Subscribers already tolerate loss (every event
/// carries the whole vehicle), so an outage costs remote updates only, and they resume by themselves when Redis returns.
/// </para>
/// </summary>
public sealed partial class RedisVehicleEventBus : IVehicleEventBus, IAsyncDisposable
{
    private const int OriginLength = 16;

    // Publishes sent before waiting for their replies: enough to keep the connection's pipe full, few enough that a
    // stalled Redis holds little.
    private const int MaxInFlight = 2048;

    // Local subscribers by kind: a Redis message arrives once per matching subscription (vin channel, fleet channel,
    // all-fleets pattern), and each copy must reach only that kind of subscriber.
    private readonly InProcessVehicleEventBus _byVin;
    private readonly InProcessVehicleEventBus _byFleet;
    private readonly InProcessVehicleEventBus _allFleets;

    private readonly IConnectionMultiplexer _redis;
    private readonly ISubscriber _subscriber;
    private readonly ILogger<RedisVehicleEventBus> _logger;
    private readonly byte[] _origin = Guid.NewGuid().ToByteArray();
    private readonly string _vinChannelPrefix;
    private readonly string _fleetChannelPrefix;
    private readonly Channel<Outbound> _outbound;
    private readonly RedisChannelSubscriptions _redisSubscriptions;
    private readonly CancellationTokenSource _stop = new();
    private readonly TimeSpan _sendTimeout;
    private readonly Task _pump;
    private int _disposed;
    private long _dropped;
    private long _published;
    private long _received;

    /// <summary>Creates the bus over a shared connection (see <see cref="RedisConnector"/>).</summary>
    public RedisVehicleEventBus(
        IConnectionMultiplexer redis,
        IOptions<VehicleGrainOptions> grainOptions,
        IOptions<RedisOptions> options,
        ILogger<RedisVehicleEventBus> logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var settings = options.Value;
        settings.Validate();
        _redis = redis;
        _subscriber = redis.GetSubscriber();
        _logger = logger;
        _byVin = new InProcessVehicleEventBus(grainOptions);
        _byFleet = new InProcessVehicleEventBus(grainOptions);
        _allFleets = new InProcessVehicleEventBus(grainOptions);
        _sendTimeout = settings.OperationTimeout;
        _vinChannelPrefix = settings.KeyPrefix + ":ev:vin:";
        _fleetChannelPrefix = settings.KeyPrefix + ":ev:fleet:";
        _redisSubscriptions = new RedisChannelSubscriptions(redis, _sendTimeout, logger);
        _outbound = Channel.CreateBounded<Outbound>(new BoundedChannelOptions(settings.OutboundQueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _pump = PumpAsync(_stop.Token);
    }

    /// <summary>Events not sent to Redis because the outbound queue was full or Redis was unreachable.</summary>
    public long DroppedCount => Interlocked.Read(ref _dropped);

    /// <summary>Events sent to Redis.</summary>
    public long PublishedCount => Interlocked.Read(ref _published);

    /// <summary>Events received from other silos.</summary>
    public long ReceivedCount => Interlocked.Read(ref _received);

    /// <inheritdoc />
    public void Publish(string vin, string fleetId, VehicleEvent vehicleEvent)
    {
        ArgumentNullException.ThrowIfNull(vehicleEvent);
        _byVin.Publish(vin, "", vehicleEvent);
        if (!string.IsNullOrEmpty(fleetId))
        {
            _byFleet.Publish("", fleetId, vehicleEvent);
        }

        _allFleets.Publish("", "", vehicleEvent);

        if (!_redis.IsConnected || !_outbound.Writer.TryWrite(new Outbound(vin, fleetId ?? "", vehicleEvent)))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>
    /// Whether an event about this vehicle could reach anyone. Subscribers on other silos are not known here, so this
    /// is true whenever Redis is reachable; without Redis only local subscribers count.
    /// </summary>
    public bool HasSubscribers(string vin, string fleetId)
        => _redis.IsConnected || _byVin.HasSubscribers(vin, "") || _byFleet.HasSubscribers("", fleetId) || _allFleets.HasSubscribers("", "");

    /// <inheritdoc />
    public VehicleEventSubscription SubscribeVehicle(string vin)
    {
        var subscription = _byVin.SubscribeVehicle(vin);
        subscription.Ready = EnsureRedisSubscription(_vinChannelPrefix + vin, RedisChannel.Literal, name => message => Deliver(name, message, _byVin, vin, ""));
        return subscription;
    }

    /// <inheritdoc />
    public VehicleEventSubscription SubscribeFleet(string fleetId)
    {
        if (fleetId == IVehicleEventBus.AllFleets)
        {
            var all = _allFleets.SubscribeFleet(fleetId);
            all.Ready = EnsureRedisSubscription(_fleetChannelPrefix + "*", RedisChannel.Pattern, name => message => Deliver(name, message, _allFleets, "", ""));
            return all;
        }

        var subscription = _byFleet.SubscribeFleet(fleetId);
        subscription.Ready = EnsureRedisSubscription(_fleetChannelPrefix + fleetId, RedisChannel.Literal, name => message => Deliver(name, message, _byFleet, "", fleetId));
        return subscription;
    }

    /// <summary>Completes once Redis has confirmed (or refused) every subscription made so far: lets tests publish only after it.</summary>
    internal Task WaitForRedisSubscriptionsAsync() => _redisSubscriptions.WhenAllReadyAsync();

    /// <summary>
    /// Stops sending (events still queued are dropped) and ends this bus's Redis subscriptions; the connection stays
    /// open. Safe to call more than once (a container may own it under two service types).
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _outbound.Writer.TryComplete();
        await _stop.CancelAsync();
        await _pump;
        _stop.Dispose();
        await _redisSubscriptions.DisposeAsync();
    }

    // Returns when the Redis subscription is in place (or failed: local events still flow).
    private Task EnsureRedisSubscription(string name, Func<string, RedisChannel> channelFor, Func<string, Action<RedisValue>> handlerFor)
        => _redisSubscriptions.EnsureAsync(name, channelFor(name), handlerFor(name));

    /// <summary>
    /// Local subscriptions end without telling the bus (disposal goes to the in-process bus), so a Redis subscription is
    /// dropped lazily, on the first message that nobody here wants any more.
    /// </summary>
    private void ReleaseIfUnwanted(string name, InProcessVehicleEventBus local, string vin, string fleetId)
        => _redisSubscriptions.ReleaseUnless(name, () => local.HasSubscribers(vin, fleetId));

    private void Deliver(string name, RedisValue message, InProcessVehicleEventBus local, string vin, string fleetId)
    {
        if (!local.HasSubscribers(vin, fleetId))
        {
            ReleaseIfUnwanted(name, local, vin, fleetId);
            return;
        }

        byte[]? bytes = message;
        if (bytes is null || bytes.Length < OriginLength || bytes.AsSpan(0, OriginLength).SequenceEqual(_origin))
        {
            return;
        }

        VehicleEvent vehicleEvent;
        try
        {
            vehicleEvent = VehicleEvent.Parser.ParseFrom(bytes, OriginLength, bytes.Length - OriginLength);
        }
        catch (InvalidProtocolBufferException ex)
        {
            LogMalformed(_logger, ex);
            return;
        }

        Interlocked.Increment(ref _received);
        local.Publish(vin, fleetId, vehicleEvent);
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        var reader = _outbound.Reader;
        var inFlight = new List<Task>(capacity: MaxInFlight);
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                // Send what is queued as one pipelined burst, then wait for it: bounded in-flight work, full pipes.
                while (inFlight.Count < MaxInFlight && reader.TryRead(out var item))
                {
                    if (!_redis.IsConnected)
                    {
                        Interlocked.Increment(ref _dropped);
                        continue;
                    }

                    var payload = Serialize(item.Event);
                    inFlight.Add(SendAsync(_vinChannelPrefix + item.Vin, payload));
                    inFlight.Add(SendAsync(_fleetChannelPrefix + item.FleetId, payload));
                }

                await Task.WhenAll(inFlight);
                inFlight.Clear();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private async Task SendAsync(string channel, byte[] payload)
    {
        try
        {
            // Bounded so that a Redis that accepts connections but stalls fills the queue (and drops) instead of holding the pump.
            await _subscriber.PublishAsync(RedisChannel.Literal(channel), payload).WaitAsync(_sendTimeout);
            Interlocked.Increment(ref _published);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Interlocked.Increment(ref _dropped);
            LogPublishFailed(_logger, ex, channel);
        }
    }

    private byte[] Serialize(VehicleEvent vehicleEvent)
    {
        var size = vehicleEvent.CalculateSize();
        var payload = new byte[OriginLength + size];
        _origin.CopyTo(payload, 0);
        vehicleEvent.WriteTo(payload.AsSpan(OriginLength));
        return payload;
    }

    private readonly record struct Outbound(string Vin, string FleetId, VehicleEvent Event);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Publishing a vehicle event to {Channel} failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped a malformed vehicle event from Redis")]
    private static partial void LogMalformed(ILogger logger, Exception exception);
}
