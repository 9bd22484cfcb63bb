using System.Threading.Channels;
using Grpc.Health.V1;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Vehicles.Grpc.Health;

/// <summary>
/// The standard <c>grpc.health.v1.Health</c> service. The application sets statuses with
/// <see cref="SetStatus"/>; the empty service name stands for the server as a whole. Check answers
/// NOT_FOUND for a service never set; Watch streams the current status and every change after it
/// (SERVICE_UNKNOWN for a service never set), keeping only the latest status for a slow watcher.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "The name grpc-dotnet users know.")]
public sealed class HealthServiceImpl
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ServingStatus> _statuses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Channel<ServingStatus>>> _watchers = new(StringComparer.Ordinal);

    /// <summary>Creates the service with the overall status ("") SERVING, as grpc-dotnet does.</summary>
    public HealthServiceImpl()
    {
        _statuses[string.Empty] = ServingStatus.Serving;
    }

    /// <summary>Sets the status of a service ("" for the whole server) and notifies its watchers.</summary>
    public void SetStatus(string service, ServingStatus status)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_lock)
        {
            _statuses[service] = status;
            Notify(service, status);
        }
    }

    /// <summary>Forgets a service: Check answers NOT_FOUND again and watchers see SERVICE_UNKNOWN.</summary>
    public void ClearStatus(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        lock (_lock)
        {
            if (_statuses.Remove(service))
            {
                Notify(service, ServingStatus.ServiceUnknown);
            }
        }
    }

    /// <summary>Sets every service NOT_SERVING, for example when the server begins to shut down.</summary>
    public void SetAllNotServing()
    {
        lock (_lock)
        {
            foreach (var service in _statuses.Keys.ToList())
            {
                _statuses[service] = ServingStatus.NotServing;
                Notify(service, ServingStatus.NotServing);
            }
        }
    }

    /// <summary>The Check method.</summary>
    public Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        lock (_lock)
        {
            if (_statuses.TryGetValue(request.Service, out var status))
            {
                return Task.FromResult(new HealthCheckResponse { Status = status });
            }
        }

        throw new RpcException(StatusCode.NotFound, $"Service '{request.Service}' is unknown.");
    }

    /// <summary>The Watch method: streams until the client cancels or the server shuts down.</summary>
    public async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var channel = Channel.CreateBounded<ServingStatus>(new BoundedChannelOptions(1)
        {
            FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true,
            SingleWriter = false,
        });
        ServingStatus initial;
        lock (_lock)
        {
            initial = _statuses.TryGetValue(request.Service, out var status) ? status : ServingStatus.ServiceUnknown;
            if (!_watchers.TryGetValue(request.Service, out var list))
            {
                list = [];
                _watchers[request.Service] = list;
            }

            list.Add(channel);
        }

        try
        {
            var last = initial;
            await responseStream.WriteAsync(new HealthCheckResponse { Status = initial }, context.CancellationToken);
            while (!context.CancellationToken.IsCancellationRequested)
            {
                var next = await channel.Reader.ReadAsync(context.CancellationToken);
                if (next != last)
                {
                    last = next;
                    await responseStream.WriteAsync(new HealthCheckResponse { Status = next }, context.CancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The client went away or the server is stopping; the call's status says which.
        }
        finally
        {
            lock (_lock)
            {
                if (_watchers.TryGetValue(request.Service, out var list))
                {
                    list.Remove(channel);
                    if (list.Count == 0)
                    {
                        _watchers.Remove(request.Service);
                    }
                }
            }
        }
    }

    private void Notify(string service, ServingStatus status)
    {
        if (_watchers.TryGetValue(service, out var list))
        {
            foreach (var channel in list)
            {
                channel.Writer.TryWrite(status);
            }
        }
    }
}
