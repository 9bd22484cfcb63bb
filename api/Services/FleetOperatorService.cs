using System.Text;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Vehicles.Api.Security;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;
using Vehicles.Grains;

namespace Vehicles.Api.Services;

/// <summary>
/// The vehicles.v1.FleetOperator service: read vehicles, send and follow commands, watch vehicles and fleets. Thin:
/// authorize, validate, call the grain, map its result to a status. A vehicle outside the caller's fleets is
/// NOT_FOUND, exactly like one that does not exist.
/// </summary>
[Authorize(Policy = VehiclesPolicies.Viewer)]
public sealed class FleetOperatorService : FleetOperator.FleetOperatorBase
{
    private readonly IGrainFactory _grains;
    private readonly IVehicleEventBus _events;
    private readonly IVehicleGeoIndex _geo;
    private readonly RequestValidator _validator;
    private readonly TimeProvider _time;
    private readonly VehicleLinkOptions _options;
    private readonly CancellationToken _stopping;

    /// <summary>Creates the service; watches end with UNAVAILABLE when <paramref name="lifetime"/> begins to stop.</summary>
    public FleetOperatorService(
        IGrainFactory grains,
        IVehicleEventBus events,
        IVehicleGeoIndex geo,
        RequestValidator validator,
        TimeProvider time,
        IOptions<VehicleLinkOptions> options,
        IHostApplicationLifetime? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _stopping = lifetime?.ApplicationStopping ?? CancellationToken.None;
        _grains = grains;
        _events = events;
        _geo = geo;
        _validator = validator;
        _time = time;
        _options = options.Value;
    }

    /// <summary>Last known state of one vehicle.</summary>
    public override async Task<Vehicle> GetVehicle(GetVehicleRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        return await ReadableVehicleAsync(caller, request.Vin, context.CancellationToken);
    }

    /// <summary>Vehicles of the caller's fleets, paged: fleet by fleet (in fleet id order), each ordered by VIN.</summary>
    public override async Task<ListVehiclesResponse> ListVehicles(ListVehiclesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        var fleets = ReadableFleets(caller, request.FleetId);
        var (fleetIndex, fleetToken) = DecodeVehiclesPageToken(request.PageToken, fleets.Count);
        var pageSize = _validator.EffectivePageSize(request.PageSize);
        var response = new ListVehiclesResponse();
        while (fleetIndex < fleets.Count && response.Vehicles.Count < pageSize)
        {
            var fleetId = fleets[fleetIndex];
            context.CancellationToken.ThrowIfCancellationRequested();
            var page = await _grains.GetGrain<IFleetGrain>(fleetId).ListVehiclesAsync(pageSize - response.Vehicles.Count, fleetToken, request.Online, context.CancellationToken);
            var vehicles = await Task.WhenAll(page.Vehicles.Select(m => _grains.GetGrain<IVehicleGrain>(m.Vin).GetAsync(context.CancellationToken)));

            // A vehicle that moved to another fleet since the listing was taken is left to that fleet.
            response.Vehicles.AddRange(vehicles.OfType<Vehicle>().Where(v => v.FleetId == fleetId));
            if (page.NextPageToken.Length > 0)
            {
                fleetToken = page.NextPageToken;
                continue;
            }

            fleetIndex++;
            fleetToken = null;
        }

        if (fleetIndex < fleets.Count)
        {
            response.NextPageToken = EncodeVehiclesPageToken(fleetIndex, fleetToken);
        }

        return response;
    }

    /// <summary>Queues a command; with wait_for_result, answers once it is final or just before the call deadline.</summary>
    [Authorize(Policy = VehiclesPolicies.Operator)]
    public override async Task<SendCommandResponse> SendCommand(SendCommandRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        var vehicle = await ReadableVehicleAsync(caller, request.Vin, context.CancellationToken);
        _validator.Catalogue.TryGet(request.Name, out var definition);
        if (!caller.CanSendCommand(vehicle.FleetId, definition!))
        {
            throw ApiErrors.Denied("name: " + definition!.Name + " needs the " + TokenService.RoleName(definition.RequiredRole) + " role");
        }

        // Subscribed before sending, so a result that arrives at once is not missed.
        using var subscription = request.WaitForResult ? _events.SubscribeVehicle(request.Vin) : null;
        if (subscription is not null)
        {
            await subscription.Ready;
        }

        var grain = _grains.GetGrain<IVehicleGrain>(request.Vin);
        var commandRequest = new CommandRequest(
            request.Name,
            request.Parameters,
            _validator.EffectiveTtl(request),
            request.NotBefore?.ToDateTimeOffset(),
            request.IdempotencyKey.Length == 0 ? null : request.IdempotencyKey,
            caller.Subject);
        Task<SendCommandResult> Send() => grain.SendCommandAsync(commandRequest, context.CancellationToken);

        // With an idempotency key the grain answers a second attempt with the command the first created, so the call
        // is run again when the vehicle's silo left while it was on its way; without one it could create the command
        // twice, and the caller gets UNAVAILABLE instead.
        var result = commandRequest.IdempotencyKey is null ? await Send() : await GrainRetry.IdempotentAsync(Send, _time, context.CancellationToken);
        var command = result.Status switch
        {
            SendCommandStatus.Created or SendCommandStatus.Deduplicated => result.Command!,
            SendCommandStatus.IdempotencyKeyConflict => throw new RpcException(new Status(
                StatusCode.AlreadyExists,
                "idempotency_key: already used for command " + result.Command?.CommandId + " with a different request")),
            SendCommandStatus.QueueFull => throw new RpcException(new Status(StatusCode.ResourceExhausted, Or(result.Message, "the vehicle's command queue is full"))),
            SendCommandStatus.InvalidTtl => throw ApiErrors.Invalid("ttl", Or(result.Message, "out of range")),
            _ => throw new RpcException(new Status(StatusCode.Internal, "unexpected result " + result.Status)),
        };
        if (subscription is not null && !IsFinal(command.State))
        {
            command = await WaitForFinalAsync(subscription, command, context);
        }

        return new SendCommandResponse { Command = command, Deduplicated = result.Status == SendCommandStatus.Deduplicated };
    }

    /// <summary>One command of a vehicle.</summary>
    public override async Task<Command> GetCommand(GetCommandRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        await ReadableVehicleAsync(caller, request.Vin, context.CancellationToken);
        return await _grains.GetGrain<IVehicleGrain>(request.Vin).GetCommandAsync(request.CommandId, context.CancellationToken)
            ?? throw ApiErrors.CommandNotFound(request.CommandId);
    }

    /// <summary>Cancels a live command.</summary>
    [Authorize(Policy = VehiclesPolicies.Operator)]
    public override async Task<Command> CancelCommand(CancelCommandRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        await ReadableVehicleAsync(caller, request.Vin, context.CancellationToken);

        var result = await _grains.GetGrain<IVehicleGrain>(request.Vin).CancelCommandAsync(request.CommandId, context.CancellationToken);
        return result.Status switch
        {
            CancelCommandStatus.Canceled => result.Command!,
            CancelCommandStatus.NotFound => throw ApiErrors.CommandNotFound(request.CommandId),
            _ => throw new RpcException(new Status(StatusCode.FailedPrecondition, "command " + request.CommandId + " is already " + result.Command?.State)),
        };
    }

    /// <summary>Commands of one vehicle, newest first, paged.</summary>
    public override async Task<ListCommandsResponse> ListCommands(ListCommandsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        await ReadableVehicleAsync(caller, request.Vin, context.CancellationToken);
        var page = await _grains.GetGrain<IVehicleGrain>(request.Vin)
            .ListCommandsAsync(_validator.EffectivePageSize(request.PageSize), request.PageToken.Length == 0 ? null : request.PageToken, context.CancellationToken);
        if (page.InvalidPageToken)
        {
            throw ApiErrors.Invalid("page_token", "not a token this server issued for this vehicle");
        }

        var response = new ListCommandsResponse { NextPageToken = page.NextPageToken };
        response.Commands.AddRange(page.Commands);
        return response;
    }

    /// <summary>The vehicle's current state, then every change and command update until the caller ends the call.</summary>
    public override async Task WatchVehicle(WatchVehicleRequest request, IServerStreamWriter<VehicleEvent> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));

        // Subscribed before the first read, so no change falls between the snapshot and the stream; the token's expiry
        // is armed before the client sees anything, so it covers the whole stream.
        using var expiry = TokenExpiry.Watch(caller, _time);
        using var subscription = _events.SubscribeVehicle(request.Vin);
        await subscription.Ready;
        var vehicle = await ReadableVehicleAsync(caller, request.Vin, context.CancellationToken);
        await responseStream.WriteAsync(new VehicleEvent { Vehicle = vehicle }, context.CancellationToken);
        var lastVersion = vehicle.StateVersion;
        var dropped = 0L;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, expiry.Token, _stopping);
        try
        {
            await foreach (var change in subscription.Reader.ReadAllAsync(stop.Token))
            {
                var next = change;
                if (subscription.DroppedCount != dropped)
                {
                    // Events were lost: the newest state stands in for the missed changes.
                    dropped = subscription.DroppedCount;
                    next = new VehicleEvent { Vehicle = await ReadableVehicleAsync(caller, request.Vin, context.CancellationToken) };
                }

                if (next.KindCase == VehicleEvent.KindOneofCase.Vehicle)
                {
                    if (!caller.CanRead(next.Vehicle.FleetId))
                    {
                        throw ApiErrors.VehicleNotFound(request.Vin);
                    }

                    if (next.Vehicle.StateVersion <= lastVersion)
                    {
                        continue;
                    }

                    lastVersion = next.Vehicle.StateVersion;
                }

                await responseStream.WriteAsync(next, stop.Token);
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller ended the watch.
        }
        catch (OperationCanceledException) when (expiry.IsCancellationRequested)
        {
            throw TokenExpiry.Expired();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Reconnect, to any server: this one is stopping.
            throw ApiErrors.ShuttingDown();
        }
    }

    /// <summary>State changes of a fleet's vehicles, at most one per vehicle per min_interval.</summary>
    public override async Task WatchFleet(WatchFleetRequest request, IServerStreamWriter<FleetUpdate> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        var fleets = ReadableFleets(caller, request.FleetId);

        // One fleet: its own subscription. Several: every fleet, filtered here by what the caller may read.
        using var expiry = TokenExpiry.Watch(caller, _time);
        using var subscription = _events.SubscribeFleet(fleets.Count == 1 ? fleets[0] : IVehicleEventBus.AllFleets);
        await subscription.Ready;
        var readable = fleets.ToHashSet(StringComparer.Ordinal);
        var coalescer = new FleetUpdateCoalescer(_time, _validator.EffectiveWatchInterval(request), request.HasOnline ? request.Online : null);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, expiry.Token, _stopping);
        try
        {
            await coalescer.RunAsync(
                subscription.Reader,
                v => readable.Contains(v.FleetId),
                (update, ct) => responseStream.WriteAsync(update, ct),
                stop.Token);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The caller ended the watch.
        }
        catch (OperationCanceledException) when (expiry.IsCancellationRequested)
        {
            throw TokenExpiry.Expired();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Reconnect, to any server: this one is stopping.
            throw ApiErrors.ShuttingDown();
        }
    }

    /// <summary>
    /// Vehicles of one fleet within radius_km of a point, nearest first, from the geo index (in-memory in one silo,
    /// Redis in a cluster). The index is advisory: while it is unreachable only this call fails, with UNAVAILABLE.
    /// </summary>
    public override async Task<FindNearbyVehiclesResponse> FindNearbyVehicles(FindNearbyVehiclesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var caller = RequireOperator(context);
        Check(_validator.Validate(request));
        ReadableFleets(caller, request.FleetId);
        IReadOnlyList<Grains.NearbyVehicle> found;
        try
        {
            found = await _geo.NearbyAsync(
                request.FleetId,
                request.Latitude,
                request.Longitude,
                request.RadiusKm,
                FieldRules.EffectiveNearbyResults(request.MaxResults),
                context.CancellationToken);
        }
        catch (FeatureUnavailableException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "geo index unavailable: " + ex.Message + ", retry later"));
        }
        catch (ArgumentOutOfRangeException ex) when (ex.ParamName is "latitude" or "longitude")
        {
            // Valid on the globe, but beyond what this index holds: Redis geo sets stop at ±85.05112878° latitude.
            throw ApiErrors.Invalid(ex.ParamName, "is outside the area the geo index covers (in a cluster, latitude within ±85.05112878)");
        }

        var response = new FindNearbyVehiclesResponse();
        foreach (var vehicle in found)
        {
            response.Vehicles.Add(new V1.NearbyVehicle
            {
                Vin = vehicle.Vin,
                DistanceKm = vehicle.DistanceKm,
                Latitude = vehicle.Latitude,
                Longitude = vehicle.Longitude,
            });
        }

        return response;
    }

    private static OperatorIdentity RequireOperator(ServerCallContext context) =>
        context.GetCaller() as OperatorIdentity ?? throw ApiErrors.Denied("only operator tokens may use FleetOperator");

    private static void Check(ValidationError? error)
    {
        if (error is not null)
        {
            throw ApiErrors.Invalid(error);
        }
    }

    private static string Or(string message, string fallback) => string.IsNullOrEmpty(message) ? fallback : message;

    private static bool IsFinal(CommandState state) =>
        state is CommandState.Succeeded or CommandState.Failed or CommandState.Rejected or CommandState.Expired or CommandState.Canceled;

    private static List<string> ReadableFleets(OperatorIdentity caller, string fleetId)
    {
        if (fleetId.Length > 0)
        {
            return caller.CanRead(fleetId) ? [fleetId] : throw ApiErrors.Denied("fleet_id: the token does not cover fleet " + fleetId);
        }

        if (caller.AllFleets)
        {
            // There is no directory of every fleet to page through; a wildcard token names the fleet it wants.
            throw ApiErrors.Invalid("fleet_id", "is required with a token that covers every fleet");
        }

        return [.. caller.FleetIds];
    }

    private async Task<Vehicle> ReadableVehicleAsync(OperatorIdentity caller, string vin, CancellationToken cancellationToken)
    {
        var vehicle = await GrainRetry.IdempotentAsync(() => _grains.GetGrain<IVehicleGrain>(vin).GetAsync(cancellationToken), _time, cancellationToken);
        return vehicle is not null && caller.CanRead(vehicle.FleetId) ? vehicle : throw ApiErrors.VehicleNotFound(vin);
    }

    private async Task<Command> WaitForFinalAsync(VehicleEventSubscription subscription, Command command, ServerCallContext context)
    {
        // Answer a little before the deadline, so the caller gets the command rather than DEADLINE_EXCEEDED. grpc-dotnet
        // sets the deadline on the real clock when the call arrives, whatever TimeProvider this service is given.
        var remaining = context.Deadline == DateTime.MaxValue ? _options.MaxWaitForResult : context.Deadline - TimeProvider.System.GetUtcNow().UtcDateTime;
        var margin = remaining > TimeSpan.FromSeconds(2) ? TimeSpan.FromMilliseconds(250) : remaining / 8;
        var wait = remaining - margin;
        if (wait > _options.MaxWaitForResult)
        {
            wait = _options.MaxWaitForResult;
        }

        if (wait <= TimeSpan.Zero)
        {
            return command;
        }

        // The caller's deadline runs on its real clock whatever clock this server is given, so the wait does too.
        using var timeout = new CancellationTokenSource(wait);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, context.CancellationToken);
        var grain = _grains.GetGrain<IVehicleGrain>(command.Vin);
        var dropped = 0L;
        try
        {
            await foreach (var change in subscription.Reader.ReadAllAsync(stop.Token))
            {
                if (subscription.DroppedCount != dropped)
                {
                    dropped = subscription.DroppedCount;
                    command = await grain.GetCommandAsync(command.CommandId, context.CancellationToken) ?? command;
                }
                else if (change.KindCase == VehicleEvent.KindOneofCase.Command && change.Command.CommandId == command.CommandId)
                {
                    command = change.Command;
                }

                if (IsFinal(command.State))
                {
                    return command;
                }
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            // The deadline is near: answer with the command as it is now; it stays live.
        }

        return await grain.GetCommandAsync(command.CommandId, context.CancellationToken) ?? command;
    }

    private static string EncodeVehiclesPageToken(int fleetIndex, string? fleetToken) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(fleetIndex + ":" + fleetToken));

    private static (int FleetIndex, string? FleetToken) DecodeVehiclesPageToken(string pageToken, int fleetCount)
    {
        if (pageToken.Length == 0)
        {
            return (0, null);
        }

        try
        {
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(pageToken.Replace('-', '+').Replace('_', '/').PadRight((pageToken.Length + 3) / 4 * 4, '=')));
            var colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && int.TryParse(text.AsSpan(0, colon), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index)
                && index < fleetCount)
            {
                var inner = text[(colon + 1)..];
                return (index, inner.Length == 0 ? null : inner);
            }
        }
        catch (FormatException)
        {
            // Reported below.
        }

        throw ApiErrors.Invalid("page_token", "not a token this server issued for these filters");
    }
}
