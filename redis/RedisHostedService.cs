using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using Vehicles.Grains;

namespace Vehicles.Redis;

/// <summary>
/// Opens the Redis connection and starts the bus and the geo index's flush timer when the host starts, rather than at
/// the first grain that needs them; logs connection losses and recoveries; writes the pending positions when the host
/// stops. The container disposes the bus, the index and the connection afterwards.
/// </summary>
internal sealed partial class RedisHostedService(IServiceProvider services, ILogger<RedisHostedService> logger) : IHostedService
{
    private IConnectionMultiplexer? _redis;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving connects (abortConnect=false: returns after the first attempt, connected or not).
        _redis = services.GetRequiredService<IConnectionMultiplexer>();
        _redis.ConnectionFailed += OnConnectionFailed;
        _redis.ConnectionRestored += OnConnectionRestored;
        _ = services.GetRequiredService<IVehicleEventBus>();
        _ = services.GetRequiredService<IVehicleGeoIndex>();
        if (!_redis.IsConnected)
        {
            LogNotConnected(logger, _redis.Configuration);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (services.GetRequiredService<IVehicleGeoIndex>() is RedisGeoIndex geo)
        {
            await geo.FlushAsync();
        }

        if (_redis is not null)
        {
            _redis.ConnectionFailed -= OnConnectionFailed;
            _redis.ConnectionRestored -= OnConnectionRestored;
        }
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
        => LogConnectionFailed(logger, e.Exception, e.EndPoint, e.FailureType);

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
        => LogConnectionRestored(logger, e.EndPoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis ({Configuration}) is not reachable at start: events stay on this silo and geo queries fail until it is")]
    private static partial void LogNotConnected(ILogger logger, string configuration);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Redis connection to {EndPoint} lost ({FailureType}): events stay on this silo and geo queries fail until it returns")]
    private static partial void LogConnectionFailed(ILogger logger, Exception? exception, System.Net.EndPoint? endPoint, ConnectionFailureType failureType);

    [LoggerMessage(Level = LogLevel.Information, Message = "Redis connection to {EndPoint} restored")]
    private static partial void LogConnectionRestored(ILogger logger, System.Net.EndPoint? endPoint);
}
