using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Time.Testing;
using Vehicles.Api.V1;
using Vehicles.Grpc;

namespace Vehicles.EndToEnd.Tests;

/// <summary>An operator's client of FleetOperator, with its token on every call.</summary>
public sealed class FleetOperatorClient(CallInvoker invoker, string? token)
{
    public Task<Vehicle> GetVehicleAsync(string vin) => Unary(ApiMethods.GetVehicle, new GetVehicleRequest { Vin = vin });

    public Task<ListVehiclesResponse> ListVehiclesAsync(ListVehiclesRequest request) => Unary(ApiMethods.ListVehicles, request);

    public Task<SendCommandResponse> SendCommandAsync(SendCommandRequest request, TimeSpan? timeout = null) => Unary(ApiMethods.SendCommand, request, timeout);

    public Task<Command> GetCommandAsync(string vin, string commandId) => Unary(ApiMethods.GetCommand, new GetCommandRequest { Vin = vin, CommandId = commandId });

    public Task<Command> CancelCommandAsync(string vin, string commandId) => Unary(ApiMethods.CancelCommand, new CancelCommandRequest { Vin = vin, CommandId = commandId });

    public Task<ListCommandsResponse> ListCommandsAsync(ListCommandsRequest request) => Unary(ApiMethods.ListCommands, request);

    public AsyncServerStreamingCall<VehicleEvent> WatchVehicle(string vin, CancellationToken cancellationToken) =>
        invoker.AsyncServerStreamingCall(ApiMethods.WatchVehicle, null, NoDeadline(cancellationToken), new WatchVehicleRequest { Vin = vin });

    public AsyncServerStreamingCall<FleetUpdate> WatchFleet(WatchFleetRequest request, CancellationToken cancellationToken) =>
        invoker.AsyncServerStreamingCall(ApiMethods.WatchFleet, null, NoDeadline(cancellationToken), request);

    // Watches carry no deadline: the silo's fake clock would fire it when a test moves time. The caller's token bounds them.
    private CallOptions NoDeadline(CancellationToken cancellationToken) => new(TestSilo.With(token, null, cancellationToken).Headers, null, cancellationToken);

    public async Task<TResponse> Unary<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, TimeSpan? timeout = null)
        where TRequest : class
        where TResponse : class
    {
        using var call = invoker.AsyncUnaryCall(method, null, TestSilo.With(token, timeout), request);
        return await call;
    }
}

/// <summary>A vehicle on a Connect stream: sends as the vehicle would and reads what the server sends, with deadlines.</summary>
public sealed class SimulatedVehicle(CallInvoker invoker, string vin, string token, TimeProvider clock) : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private AsyncDuplexStreamingCall<VehicleMessage, ServerMessage>? _call;
    private ulong _sequence;

    public string Vin => vin;

    public Welcome Welcome { get; private set; } = null!;

    public AsyncDuplexStreamingCall<VehicleMessage, ServerMessage> Call => _call!;

    /// <summary>Opens the stream and sends Hello; <see cref="ReadWelcomeAsync"/> reads the answer (done by <c>TestSilo.ConnectAsync</c>).</summary>
    public Task ConnectAsync(ulong lastSentSequence = 0, string? helloVin = null)
    {
        Open();
        _sequence = lastSentSequence;
        return SendAndWelcomeAsync(helloVin);

        async Task SendAndWelcomeAsync(string? helloVinOverride)
        {
            await SendAsync(new VehicleMessage
            {
                Hello = new Hello
                {
                    Vin = helloVinOverride ?? vin,
                    FirmwareVersion = "fw-1.2",
                    SoftwareVersion = "sw-3.4",
                    Resume = lastSentSequence == 0 ? null : new ResumeInfo { LastSentSequence = lastSentSequence },
                },
            });
            if (helloVinOverride is null)
            {
                await ReadWelcomeAsync();
            }
        }
    }

    /// <summary>
    /// Opens the stream. No deadline, as a vehicle's stream has none (and the silo's fake clock would fire it when a
    /// test moves time); a real-time cancellation bounds it instead.
    /// </summary>
    public void Open()
    {
        _stop.CancelAfter(TimeSpan.FromSeconds(90));
        _call ??= invoker.AsyncDuplexStreamingCall(ApiMethods.Connect, null, new CallOptions(TestSilo.With(token).Headers, null, _stop.Token));
    }

    public async Task ReadWelcomeAsync()
    {
        var first = await ReadAsync();
        Assert.Equal(ServerMessage.KindOneofCase.Welcome, first.KindCase);
        Welcome = first.Welcome;
    }

    public Task SendAsync(VehicleMessage message) => _call!.RequestStream.WriteAsync(message);

    /// <summary>Sends a status report with the next sequence number, captured now on the silo's clock.</summary>
    public async Task<ulong> ReportAsync(Signals signals)
    {
        var sequence = ++_sequence;
        await SendAsync(new VehicleMessage { Status = Report(sequence, signals) });
        return sequence;
    }

    public StatusReport Report(ulong sequence, Signals signals) =>
        new() { Sequence = sequence, CaptureTime = Timestamp.FromDateTimeOffset(clock.GetUtcNow()), Signals = signals };

    public Task CompleteAsync(string commandId, CommandOutcome outcome, string message = "done") =>
        SendAsync(new VehicleMessage { CommandResult = new CommandResult { CommandId = commandId, Outcome = outcome, Message = message } });

    /// <summary>The next server message, or a failed test after the timeout.</summary>
    public async Task<ServerMessage> ReadAsync(TimeSpan? timeout = null)
    {
        using var cancel = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        Assert.True(await _call!.ResponseStream.MoveNext(cancel.Token), "the server ended the stream");
        return _call.ResponseStream.Current;
    }

    /// <summary>Reads until a message of <paramref name="kind"/>, skipping others (bounded).</summary>
    public async Task<ServerMessage> ReadUntilAsync(ServerMessage.KindOneofCase kind)
    {
        for (var i = 0; i < 100; i++)
        {
            var message = await ReadAsync();
            if (message.KindCase == kind)
            {
                return message;
            }
        }

        throw new Xunit.Sdk.XunitException("no " + kind + " within 100 messages");
    }

    /// <summary>Reads to the end of the stream and returns the status it ended with.</summary>
    public async Task<RpcException> ReadUntilEndAsync()
    {
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        for (var i = 0; i < 1000; i++)
        {
            try
            {
                if (!await _call!.ResponseStream.MoveNext(cancel.Token))
                {
                    return new RpcException(_call.GetStatus());
                }
            }
            catch (RpcException ex)
            {
                return ex;
            }
        }

        throw new Xunit.Sdk.XunitException("the stream did not end within 1000 messages");
    }

    public async Task HangUpAsync()
    {
        if (_call is { } call)
        {
            await call.RequestStream.CompleteAsync();
            await ReadUntilEndAsync();
            call.Dispose();
            _call = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _call?.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Waits for a condition by polling with a deadline: no fixed sleeps.</summary>
internal static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        var value = await read();
        for (var attempt = 0; !done(value) && attempt < 1000; attempt++)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new Xunit.Sdk.XunitException("timed out waiting for " + what + "; last value: " + value);
            }

            await Task.Delay(20);
            value = await read();
        }

        return done(value) ? value : throw new Xunit.Sdk.XunitException("gave up waiting for " + what);
    }

    public static async Task<RpcException> FailsAsync(Func<Task> call)
    {
        return await Assert.ThrowsAsync<RpcException>(call);
    }
}

internal static class Signal
{
    public static Signals Speed(double speed) => new() { Speed = speed };

    public static Signals Position(double latitude, double longitude) => new() { Latitude = latitude, Longitude = longitude };
}

internal static class ProtoExtensions
{
    public static T With<T>(this T message, Action<T> change)
        where T : IMessage<T>
    {
        var copy = message.Clone();
        change(copy);
        return copy;
    }
}

internal static class ClockExtensions
{
    public static Timestamp Now(this FakeTimeProvider clock, TimeSpan offset = default) => Timestamp.FromDateTimeOffset(clock.GetUtcNow() + offset);
}
