using System.Threading.Channels;
using Vehicles.Api.V1;

namespace Vehicles.Grains.Tests;

/// <summary>
/// A vehicle stream as its grain sees it: records what the grain pushes, the end of the session and requests to
/// reattach. Orleans holds an observer object only weakly: the test keeps this object referenced while it uses it.
/// </summary>
public sealed class TestSession(string sessionId) : IVehicleSessionObserver
{
    private readonly Channel<ServerMessage> _pushes = Channel.CreateUnbounded<ServerMessage>();
    private readonly TaskCompletionSource<SessionEndReason> _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _reattach = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reattachRequests;

    public string SessionId { get; } = sessionId;

    /// <summary>The reference handed to the grain.</summary>
    public IVehicleSessionObserver? Reference { get; set; }

    /// <summary>What the grain pushed, in order.</summary>
    public ChannelReader<ServerMessage> Pushes => _pushes.Reader;

    /// <summary>Completes with the first end the grain announced.</summary>
    public Task<SessionEndReason> Ended => _ended.Task;

    /// <summary>Completes when the grain first asks the stream to announce itself again.</summary>
    public Task ReattachRequested => _reattach.Task;

    public int ReattachRequests => Volatile.Read(ref _reattachRequests);

    public Task PushAsync(ServerMessage message)
    {
        _pushes.Writer.TryWrite(message);
        return Task.CompletedTask;
    }

    public Task EndAsync(SessionEndReason reason)
    {
        _ended.TrySetResult(reason);
        return Task.CompletedTask;
    }

    public Task ReattachAsync()
    {
        Interlocked.Increment(ref _reattachRequests);
        _reattach.TrySetResult();
        return Task.CompletedTask;
    }

    /// <summary>Waits for the next push, with a deadline.</summary>
    public Task<ServerMessage> NextPushAsync() => Eventually.ReadAsync(_pushes.Reader);

    /// <summary>Waits for the end of the session, with a deadline.</summary>
    public Task<SessionEndReason> WaitEndedAsync() => _ended.Task.WaitAsync(TimeSpan.FromSeconds(15));
}
