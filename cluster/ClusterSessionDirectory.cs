using System.Collections.Concurrent;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Vehicles.Api.V1;
using Vehicles.Cluster.V1;
using Vehicles.Grains;

namespace Vehicles.Cluster;

/// <summary>
/// The session directory of a clustered silo. Streams held here live in the local <see cref="VehicleSessionDirectory"/>;
/// a grain owned here whose vehicle is connected to another silo reaches the stream through that silo's
/// <c>Session</c> call, at the address the grain learned when the session opened (<see cref="Attach"/>). A remote push
/// answers <see langword="true"/> once sent: like a local push it only queues, and a command that never reaches the
/// vehicle stays DELIVERED and goes out again when the vehicle reconnects.
/// </summary>
public sealed partial class ClusterSessionDirectory : IVehicleSessionDirectory
{
    private readonly VehicleSessionDirectory _local;
    private readonly SiloConnections _connections;
    private readonly ILogger<ClusterSessionDirectory> _logger;
    private readonly ConcurrentDictionary<string, (string SessionId, string Address)> _remote = new(StringComparer.Ordinal);

    /// <summary>Creates the directory.</summary>
    public ClusterSessionDirectory(VehicleSessionDirectory local, SiloConnections connections, string localAddress, ILogger<ClusterSessionDirectory> logger)
    {
        _local = local;
        _connections = connections;
        LocalAddress = localAddress;
        _logger = logger;
    }

    /// <inheritdoc />
    public string LocalAddress { get; }

    /// <inheritdoc />
    public VehicleSession Register(string vin, string sessionId) => _local.Register(vin, sessionId);

    /// <inheritdoc />
    public void Attach(string vin, string sessionId, string sessionAddress)
    {
        if (string.Equals(sessionAddress, LocalAddress, StringComparison.Ordinal))
        {
            _remote.TryRemove(vin, out _);
        }
        else
        {
            _remote[vin] = (sessionId, sessionAddress);
        }
    }

    /// <inheritdoc />
    public bool TryPush(string vin, string sessionId, ServerMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_local.IsCurrent(vin, sessionId))
        {
            return _local.TryPush(vin, sessionId, message);
        }

        if (!TryGetRemote(vin, sessionId, out var address))
        {
            return false;
        }

        _ = SendAsync(vin, address, new SessionOperation { Vin = vin, SessionId = sessionId, Push = message.ToByteString() });
        return true;
    }

    /// <inheritdoc />
    public bool EndSession(string vin, string sessionId, SessionEndReason reason)
    {
        if (_local.EndSession(vin, sessionId, reason))
        {
            return true;
        }

        if (!TryGetRemote(vin, sessionId, out var address))
        {
            return false;
        }

        _remote.TryRemove(new KeyValuePair<string, (string, string)>(vin, (sessionId, address)));
        _ = SendAsync(vin, address, new SessionOperation { Vin = vin, SessionId = sessionId, End = (int)reason });
        return true;
    }

    /// <inheritdoc />
    public void RequestReattach(string vin, string sessionId)
    {
        if (_local.IsCurrent(vin, sessionId))
        {
            _local.RequestReattach(vin, sessionId);
        }
        else if (TryGetRemote(vin, sessionId, out var address))
        {
            _ = SendAsync(vin, address, new SessionOperation { Vin = vin, SessionId = sessionId, Reattach = true });
        }
    }

    /// <inheritdoc />
    public bool IsCurrent(string vin, string sessionId) => _local.IsCurrent(vin, sessionId) || TryGetRemote(vin, sessionId, out _);

    private bool TryGetRemote(string vin, string sessionId, out string address)
    {
        if (_remote.TryGetValue(vin, out var entry) && string.Equals(entry.SessionId, sessionId, StringComparison.Ordinal))
        {
            address = entry.Address;
            return true;
        }

        address = "";
        return false;
    }

    private async Task SendAsync(string vin, string address, SessionOperation operation)
    {
        if (!await _connections.SessionAsync(address, operation))
        {
            LogRemoteSessionGone(_logger, vin, address);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The session of {Vin} on silo {Address} did not take the operation (gone or unreachable)")]
    private static partial void LogRemoteSessionGone(ILogger logger, string vin, string address);
}
