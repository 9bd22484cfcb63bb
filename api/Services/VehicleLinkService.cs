using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Api.Security;
using Vehicles.Api.Sessions;
using Vehicles.Api.V1;
using Vehicles.Api.Validation;
using Vehicles.Grains;

namespace Vehicles.Api.Services;

/// <summary>
/// The vehicles.v1.VehicleLink service: one Connect stream per vehicle (Hello, Welcome, then reports, results and
/// heartbeats in, acks, commands and cancellations out) and the unary Report. Thin: it checks, validates and hands
/// everything to the vehicle's grain. Whatever one vehicle sends ends at most its own stream.
/// </summary>
[Authorize(Policy = VehiclesPolicies.Vehicle)]
public sealed partial class VehicleLinkService : VehicleLink.VehicleLinkBase
{
    private readonly IGrainFactory _grains;
    private readonly VehicleSessions _sessions;
    private readonly RequestValidator _validator;
    private readonly TimeProvider _time;
    private readonly VehicleLinkOptions _options;
    private readonly SessionLimits _limits;
    private readonly ILogger<VehicleLinkService> _logger;
    private readonly ApiMetrics? _metrics;

    /// <summary>Creates the service.</summary>
    public VehicleLinkService(
        IGrainFactory grains,
        VehicleSessions sessions,
        RequestValidator validator,
        TimeProvider time,
        IOptions<VehicleLinkOptions> options,
        IOptions<GrpcServiceOptions> grpcOptions,
        ILogger<VehicleLinkService> logger,
        ApiMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(grpcOptions);
        _grains = grains;
        _sessions = sessions;
        _validator = validator;
        _time = time;
        _options = options.Value;
        _options.EnsureValid();
        _logger = logger;
        _metrics = metrics;
        _limits = new SessionLimits
        {
            MaxReportsPerSecond = (uint)Math.Max(1, Math.Floor(_options.MaxReportsPerSecond)),
            MaxExtraSignals = (uint)validator.Options.MaxExtraSignals,
            MaxMessageBytes = (uint)(grpcOptions.Value.MaxReceiveMessageSize ?? int.MaxValue),
            MaxUnackedReports = (uint)_options.MaxUnackedReports,
        };
    }

    /// <summary>The vehicle's stream. See vehicle_link.proto for the protocol.</summary>
    public override async Task Connect(IAsyncStreamReader<VehicleMessage> requestStream, IServerStreamWriter<ServerMessage> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var vehicle = RequireVehicle(context);
        var hello = await ReadHelloAsync(requestStream, context);
        if (hello is null)
        {
            return;
        }

        if (!vehicle.CanActAsVehicle(hello.Vin))
        {
            throw ApiErrors.Denied("hello.vin: the token is for another vehicle");
        }

        var vin = hello.Vin;
        var sessionId = Guid.NewGuid().ToString("N");
        var grain = _grains.GetGrain<IVehicleGrain>(vin);
        using var session = _sessions.Open(vin, sessionId);
        _metrics?.Connected();
        using var counted = new Disconnection(_metrics);
        var writeLock = new SemaphoreSlim(1, 1);
        var endReason = SessionEndReason.None;
        var sessionOpened = false;

        // Armed before Welcome, so the token's expiry covers everything the vehicle can observe.
        using var tokenExpiry = TokenExpiry.Watch(vehicle, _time);
        try
        {
            var request = new SessionRequest(sessionId, vehicle.FleetId, hello.FirmwareVersion, hello.SoftwareVersion, hello.Resume);
            var grant = await GrainRetry.IdempotentAsync(() => grain.OpenSessionAsync(request, session.Reference!, context.CancellationToken), _time, context.CancellationToken);
            sessionOpened = true;
            LogConnected(_logger, vin, sessionId);
            await responseStream.WriteAsync(
                new ServerMessage
                {
                    Welcome = new Welcome
                    {
                        SessionId = sessionId,
                        HeartbeatInterval = Duration.FromTimeSpan(_options.HeartbeatInterval),
                        DurableSequence = grant.DurableSequence,
                        Limits = _limits,
                        ServerTime = grant.ServerTime,
                    },
                },
                context.CancellationToken);
            foreach (var command in grant.Commands)
            {
                await responseStream.WriteAsync(new ServerMessage { Command = command }, context.CancellationToken);
            }

            // The stream ends with the call, the session (replaced, timed out, overflowing) or the token's expiry.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, session.Ended, tokenExpiry.Token);
            var writer = WriteOutboundAsync(session, responseStream, writeLock, stop.Token);
            var reattacher = ReattachAsync(grain, session, new SessionRequest(
                sessionId, vehicle.FleetId, hello.FirmwareVersion, hello.SoftwareVersion, hello.Resume, Reattach: true), responseStream, writeLock, stop.Token);
            try
            {
                await new ConnectionReader(this, grain, vehicle, session, responseStream, writeLock).RunAsync(requestStream, stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
            {
                // Ended by the session or the token; the status is decided below.
            }
            finally
            {
                await stop.CancelAsync();
                await writer;
                await reattacher;
            }

            endReason = session.EndReason;
            if (endReason == SessionEndReason.None && tokenExpiry.IsCancellationRequested)
            {
                throw TokenExpiry.Expired();
            }
        }
        finally
        {
            if (sessionOpened)
            {
                // Not the call's token: the session must close even when the client went away.
                try
                {
                    await grain.CloseSessionAsync(sessionId, CancellationToken.None);
                }
                catch (Exception ex) when (GrainErrorInterceptor.Map(ex) is not null)
                {
                    // The grain's silo is gone: its next activation marks the vehicle offline by itself.
                }

                LogDisconnected(_logger, vin, sessionId);
            }
        }

        switch (endReason)
        {
            case SessionEndReason.Replaced:
                throw new RpcException(new Status(StatusCode.Aborted, "a newer connection of this vehicle replaced this stream"));
            case SessionEndReason.HeartbeatTimeout:
                throw new RpcException(new Status(StatusCode.Unavailable, "no message within the heartbeat timeout"));
            case SessionEndReason.SiloShuttingDown:
                throw new RpcException(new Status(StatusCode.Unavailable, "this server is leaving the cluster; reconnect (to any server)"));
            case SessionEndReason.OutboundQueueFull:
                throw new RpcException(new Status(StatusCode.ResourceExhausted, "the vehicle fell too far behind the commands sent to it; reconnect"));
        }
    }

    /// <summary>A single status report, for clients that hold no stream.</summary>
    public override async Task<ReportResponse> Report(ReportRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var vehicle = RequireVehicle(context);
        _metrics?.Received();
        if (_validator.Validate(request) is { } error)
        {
            _metrics?.Rejected("invalid");
            throw ApiErrors.Invalid(error);
        }

        if (!vehicle.CanActAsVehicle(request.Vin))
        {
            throw ApiErrors.Denied("vin: the token is for another vehicle");
        }

        var grain = _grains.GetGrain<IVehicleGrain>(request.Vin);
        var receipt = await GrainRetry.IdempotentAsync(() => grain.ReportAsync(request.Status, FleetOrNull(vehicle), null, context.CancellationToken), _time, context.CancellationToken);
        _metrics?.Applied();
        return new ReportResponse { Ack = receipt.Ack };
    }

    private static VehicleIdentity RequireVehicle(ServerCallContext context) =>
        context.GetCaller() as VehicleIdentity ?? throw ApiErrors.Denied("only vehicle tokens may use VehicleLink");

    private static string? FleetOrNull(VehicleIdentity vehicle) => vehicle.FleetId.Length == 0 ? null : vehicle.FleetId;

    private async Task<Hello?> ReadHelloAsync(IAsyncStreamReader<VehicleMessage> requestStream, ServerCallContext context)
    {
        using var helloTimeout = new CancellationTokenSource(_options.HelloTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, helloTimeout.Token);
        bool read;
        try
        {
            read = await requestStream.MoveNext(linked.Token);
        }
        catch (OperationCanceledException) when (helloTimeout.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, "hello: not received within " + _options.HelloTimeout));
        }

        if (!read)
        {
            return null;
        }

        var first = requestStream.Current;
        if (first.KindCase != VehicleMessage.KindOneofCase.Hello)
        {
            throw ApiErrors.Invalid("hello", "the first message must be hello");
        }

        if (_validator.Validate(first.Hello) is { } error)
        {
            throw ApiErrors.Invalid(error);
        }

        return first.Hello;
    }

    private static async Task WriteOutboundAsync(
        VehicleSession session, IServerStreamWriter<ServerMessage> responseStream, SemaphoreSlim writeLock, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in session.Outbound.ReadAllAsync(cancellationToken))
            {
                await writeLock.WaitAsync(cancellationToken);
                try
                {
                    await responseStream.WriteAsync(message, cancellationToken);
                }
                finally
                {
                    writeLock.Release();
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or InvalidOperationException)
        {
            // The stream is ending; commands not written stay DELIVERED in the grain and go out again on reconnect.
        }
    }

    // The vehicle's grain moved to another silo (a membership change): announce the open stream to the new activation so
    // that commands reach it, and send what the grant holds. Until it succeeds, commands wait in the grain (DELIVERED or
    // PENDING) exactly as for a vehicle that is reconnecting.
    private async Task ReattachAsync(
        IVehicleGrain grain, VehicleSession session, SessionRequest request, IServerStreamWriter<ServerMessage> responseStream, SemaphoreSlim writeLock, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var _ in session.ReattachRequests.ReadAllAsync(cancellationToken))
            {
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        var grant = await grain.OpenSessionAsync(request, session.Reference!, cancellationToken);
                        if (!grant.Accepted)
                        {
                            session.End(SessionEndReason.Replaced);
                            return;
                        }

                        LogReattached(_logger, session.Vin, session.SessionId, grant.Commands.Length);
                        foreach (var command in grant.Commands)
                        {
                            await writeLock.WaitAsync(cancellationToken);
                            try
                            {
                                await responseStream.WriteAsync(new ServerMessage { Command = command }, cancellationToken);
                            }
                            finally
                            {
                                writeLock.Release();
                            }
                        }

                        break;
                    }
                    catch (Exception ex) when (attempt < MaxReattachAttempts && GrainErrorInterceptor.Map(ex) is { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded })
                    {
                        // The cluster is still settling (the new owner not yet known everywhere, or a write fenced).
                        await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(1000, 200 * attempt)), _time, cancellationToken);
                    }
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or RpcException or IOException or InvalidOperationException)
        {
            // The stream is ending.
        }
        catch (Exception ex)
        {
            LogReattachFailed(_logger, ex, session.Vin, session.SessionId);
            session.End(SessionEndReason.SiloShuttingDown);
        }
    }

    private const int MaxReattachAttempts = 30;

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Vin} session {SessionId} re-announced to the grain's new owner; {Count} commands to send")]
    private static partial void LogReattached(ILogger logger, string vin, string sessionId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Vin} session {SessionId} could not be re-announced to the grain's new owner; ending the stream so the vehicle reconnects")]
    private static partial void LogReattachFailed(ILogger logger, Exception exception, string vin, string sessionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Vin} connected, session {SessionId}")]
    private static partial void LogConnected(ILogger logger, string vin, string sessionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Vin} disconnected, session {SessionId}")]
    private static partial void LogDisconnected(ILogger logger, string vin, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Vin} ignored {Count} throttle notices; ending its stream")]
    private static partial void LogThrottleIgnored(ILogger logger, string vin, int count);

    /// <summary>The reader loop of one stream: everything after Hello.</summary>
    private sealed class ConnectionReader(
        VehicleLinkService service,
        IVehicleGrain grain,
        VehicleIdentity vehicle,
        VehicleSession session,
        IServerStreamWriter<ServerMessage> responseStream,
        SemaphoreSlim writeLock)
    {
        private readonly ReportRateLimiter _limiter = new(service._time, service._options.MaxReportsPerSecond, service._options.ReportBurst);
        private long _throttledUntil;
        private int _ignoredThrottles;

        public async Task RunAsync(IAsyncStreamReader<VehicleMessage> requestStream, CancellationToken cancellationToken)
        {
            while (await requestStream.MoveNext(cancellationToken))
            {
                var message = requestStream.Current;
                ServerMessage? reply;
                try
                {
                    reply = message.KindCase switch
                    {
                        VehicleMessage.KindOneofCase.Status => await OnStatusAsync(message.Status),
                        VehicleMessage.KindOneofCase.CommandResult => await OnCommandResultAsync(message.CommandResult),
                        VehicleMessage.KindOneofCase.Heartbeat => await OnHeartbeatAsync(message.Heartbeat),
                        VehicleMessage.KindOneofCase.Hello => Error(new ValidationError("hello", "already received on this stream")),
                        _ => Error(new ValidationError("kind", "must set one of status, command_result, heartbeat")),
                    };
                }
                catch (Exception ex) when (GrainErrorInterceptor.Map(ex) is { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded } status)
                {
                    // The grain's silo is unreachable or the grain is moving (a cluster change): the stream stays open,
                    // the vehicle learns that this message was not applied, and the session is re-announced once the
                    // cluster settles. A report is resent by the usual rule (everything above durable_sequence).
                    session.RequestReattach();
                    reply = message.KindCase == VehicleMessage.KindOneofCase.Heartbeat
                        ? null
                        : Notice(status.StatusCode == StatusCode.Unavailable ? "UNAVAILABLE" : "DEADLINE_EXCEEDED", status.Status.Detail + "; not applied, send it again", message.CommandResult?.CommandId ?? "", message.Status?.Sequence ?? 0);
                }

                if (reply is not null)
                {
                    await WriteAsync(reply, cancellationToken);
                }
            }
        }

        private async Task<ServerMessage?> OnStatusAsync(StatusReport status)
        {
            service._metrics?.Received();
            if (service._validator.Validate(status) is { } error)
            {
                service._metrics?.Rejected("invalid");
                return Error(error, sequence: status.Sequence);
            }

            if (!_limiter.TryTake(out var retryAfter))
            {
                var now = service._time.GetTimestamp();
                if (now < _throttledUntil && ++_ignoredThrottles > service._options.MaxIgnoredThrottles)
                {
                    LogThrottleIgnored(service._logger, vehicle.Vin, _ignoredThrottles);
                    throw new RpcException(new Status(StatusCode.ResourceExhausted, "status reports kept coming faster than allowed after throttle notices"));
                }

                _throttledUntil = now + (long)(retryAfter.TotalSeconds * service._time.TimestampFrequency);
                service._metrics?.Rejected("throttled");
                return new ServerMessage
                {
                    Throttle = new ThrottleNotice
                    {
                        RetryAfter = Duration.FromTimeSpan(retryAfter),
                        Message = "at most " + service._limits.MaxReportsPerSecond + " status reports per second; report " + status.Sequence + " was not applied",
                    },
                };
            }

            _ignoredThrottles = 0;
            var receipt = await GrainRetry.IdempotentAsync(() => grain.ReportAsync(status, FleetOrNull(vehicle), session.SessionId), service._time);
            service._metrics?.Applied();
            FollowUp(receipt.Session);
            return new ServerMessage { Ack = receipt.Ack };
        }

        private async Task<ServerMessage?> OnCommandResultAsync(CommandResult result)
        {
            if (service._validator.Validate(result) is { } error)
            {
                return Error(error, commandId: result.CommandId);
            }

            // Run again only when the silo went away with the call on its way; if the first attempt did apply, the
            // command is final with this very outcome, which is no error for the vehicle.
            var attempts = 0;
            var outcome = await GrainRetry.IdempotentAsync(
                () =>
                {
                    attempts++;
                    return grain.CompleteCommandAsync(result);
                },
                service._time);
            if (attempts > 1 && outcome is { Status: CompleteCommandStatus.AlreadyFinal, Command: { } final } && final.State == FinalState(result.Outcome))
            {
                return null;
            }

            return outcome.Status switch
            {
                CompleteCommandStatus.UnknownCommand => Notice("NOT_FOUND", "command_result.command_id: no such command", result.CommandId),
                CompleteCommandStatus.AlreadyFinal => Notice(
                    "FAILED_PRECONDITION", "command_result.command_id: the command is already " + outcome.Command?.State, result.CommandId),
                _ => null,
            };
        }

        private static CommandState FinalState(CommandOutcome outcome) => outcome switch
        {
            CommandOutcome.Succeeded => CommandState.Succeeded,
            CommandOutcome.Rejected => CommandState.Rejected,
            _ => CommandState.Failed,
        };

        private async Task<ServerMessage?> OnHeartbeatAsync(Heartbeat heartbeat)
        {
            if (service._validator.Validate(heartbeat) is { } error)
            {
                return Error(error);
            }

            FollowUp(await GrainRetry.IdempotentAsync(() => grain.HeartbeatAsync(session.SessionId), service._time));
            return null;
        }

        // Unknown: the grain's activation (it moved, or its silo died) has not heard of this stream yet; Replaced:
        // another stream of the vehicle is current, whose Connect normally ends this one first.
        private void FollowUp(SessionStatus status)
        {
            if (status == SessionStatus.Unknown)
            {
                session.RequestReattach();
            }
            else if (status == SessionStatus.Replaced)
            {
                throw new RpcException(new Status(StatusCode.Aborted, "this session is no longer current; reconnect"));
            }
        }

        private async Task WriteAsync(ServerMessage message, CancellationToken cancellationToken)
        {
            await writeLock.WaitAsync(cancellationToken);
            try
            {
                await responseStream.WriteAsync(message, cancellationToken);
            }
            finally
            {
                writeLock.Release();
            }
        }

        private static ServerMessage Error(ValidationError error, ulong sequence = 0, string commandId = "") =>
            Notice("INVALID_ARGUMENT", error.ToString(), commandId, sequence);

        private static ServerMessage Notice(string code, string message, string commandId = "", ulong sequence = 0) => new()
        {
            Error = new ErrorNotice { Code = code, Message = message, Sequence = sequence, CommandId = commandId ?? "" },
        };
    }

    private readonly struct Disconnection(ApiMetrics? metrics) : IDisposable
    {
        public void Dispose() => metrics?.Disconnected();
    }
}
