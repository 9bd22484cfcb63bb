using System.Diagnostics;
using System.Threading.Tasks.Sources;

namespace Vehicles.Actors;

/// <summary>How a grain method may interleave with other messages.</summary>
[Flags]
public enum GrainMethodOptions
{
    /// <summary>An ordinary turn: runs alone (unless the grain class is <see cref="ReentrantAttribute"/>).</summary>
    None = 0,

    /// <summary>The method carries <see cref="ReadOnlyAttribute"/>.</summary>
    ReadOnly = 1,

    /// <summary>The method carries <see cref="AlwaysInterleaveAttribute"/>.</summary>
    AlwaysInterleave = 2,
}

/// <summary>Describes one grain interface method: what a message names so it can be dispatched locally or on another silo.</summary>
/// <param name="interfaceType">The grain interface.</param>
/// <param name="methodId">The method's id within the interface (stable for a given interface definition).</param>
/// <param name="name">The method name.</param>
/// <param name="options">Interleaving options.</param>
/// <param name="argumentTypes">The declared parameter types.</param>
/// <param name="returnType">The result type (<c>T</c> of <c>Task&lt;T&gt;</c>), or <see cref="void"/>.</param>
public sealed class GrainMethodDescriptor(Type interfaceType, int methodId, string name, GrainMethodOptions options, Type[] argumentTypes, Type returnType)
{
    /// <summary>The grain interface.</summary>
    public Type InterfaceType { get; } = interfaceType;

    /// <summary>The method's id within the interface.</summary>
    public int MethodId { get; } = methodId;

    /// <summary>The method name.</summary>
    public string Name { get; } = name;

    /// <summary>Interleaving options.</summary>
    public GrainMethodOptions Options { get; } = options;

    /// <summary>The declared parameter types.</summary>
    public IReadOnlyList<Type> ArgumentTypes { get; } = argumentTypes;

    /// <summary>The result type, or <see cref="void"/>.</summary>
    public Type ReturnType { get; } = returnType;

    /// <inheritdoc />
    public override string ToString() => InterfaceType.Name + "." + Name;
}

/// <summary>The result type of a grain method that returns no value.</summary>
public readonly struct VoidResult;

/// <summary>
/// One call to a grain: the message. Generated code derives one sealed class per interface method, holding the arguments
/// as fields and calling the method directly, so a local call neither serializes nor reflects; a transport reads and
/// writes the arguments through <see cref="GetArgument"/> / <see cref="SetArgument"/> to carry the call to another silo.
/// </summary>
/// <remarks>A request is completed exactly once (result, exception or timeout) and awaited once.</remarks>
public abstract class GrainRequest
{
    private protected const int Pending = 0;
    private protected const int Completed = 1;

    private protected int _state;

    private protected GrainRequest()
    {
    }

    /// <summary>The method this request calls.</summary>
    public abstract GrainMethodDescriptor Method { get; }

    /// <summary>Whether the caller already has its answer (a result, an exception, or a timeout).</summary>
    public bool IsCompleted => Volatile.Read(ref _state) != Pending;

    /// <summary>Reads argument <paramref name="index"/>, boxed.</summary>
    public abstract object? GetArgument(int index);

    /// <summary>Writes argument <paramref name="index"/> (used when a request arrives from another silo).</summary>
    public abstract void SetArgument(int index, object? value);

    /// <summary>Completes the call with an exception; <see langword="false"/> if it was already completed.</summary>
    public abstract bool TrySetException(Exception exception);

    /// <summary>Completes the call with a boxed result (for transports); <see langword="false"/> if it was already completed.</summary>
    public abstract bool TrySetResult(object? result);

    /// <summary>Awaits the call's result, boxed (for transports answering a remote caller). Await at most once.</summary>
    public abstract ValueTask<object?> GetResultAsync();

    /// <summary>The activation running or holding this request.</summary>
    internal Activation? Target { get; set; }

    /// <summary>The runtime's coarse clock (Unix ms) when the call was sent; drives the call timeout.</summary>
    internal long SentAt { get; set; }

    /// <summary><see cref="Stopwatch.GetTimestamp"/> when sent, or 0 when nobody listens to the latency histogram.</summary>
    internal long SentTimestamp { get; set; }

    /// <summary>Whether this is a runtime message (timer tick, reminder) that bypasses the mailbox capacity.</summary>
    internal bool IsSystem { get; set; }

    /// <summary>Whether the message may be handed to a new activation when its target deactivates before starting it.</summary>
    internal bool IsForwardable { get; set; } = true;

    /// <summary>Runs the call on <paramref name="grain"/>; reports completion to <see cref="Target"/>.</summary>
    internal abstract void Start(object grain);
}

/// <summary>The completion half shared by valued and void requests; not derived from directly.</summary>
/// <typeparam name="TResult">The result type.</typeparam>
public abstract class GrainRequestCore<TResult> : GrainRequest, IValueTaskSource<TResult>
{
    private ManualResetValueTaskSourceCore<TResult> _core = new() { RunContinuationsAsynchronously = true };

    private protected GrainRequestCore()
    {
    }

    /// <summary>The token to build a <see cref="ValueTask{TResult}"/> over this source.</summary>
    internal short Version => _core.Version;

    /// <inheritdoc />
    public sealed override bool TrySetException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (Interlocked.CompareExchange(ref _state, Completed, Pending) != Pending)
        {
            return false;
        }

        _core.SetException(exception);
        return true;
    }

    /// <inheritdoc />
    public sealed override bool TrySetResult(object? result) => TrySetTypedResult(result is null ? default! : (TResult)result);

    /// <summary>Completes the call with a result; <see langword="false"/> if it was already completed.</summary>
    public bool TrySetTypedResult(TResult result)
    {
        if (Interlocked.CompareExchange(ref _state, Completed, Pending) != Pending)
        {
            return false;
        }

        _core.SetResult(result);
        return true;
    }

    /// <inheritdoc />
    public sealed override async ValueTask<object?> GetResultAsync()
    {
        var result = await new ValueTask<TResult>(this, _core.Version);
        return typeof(TResult) == typeof(VoidResult) ? null : result;
    }

    /// <inheritdoc />
    TResult IValueTaskSource<TResult>.GetResult(short token) => _core.GetResult(token);

    /// <inheritdoc />
    ValueTaskSourceStatus IValueTaskSource<TResult>.GetStatus(short token) => _core.GetStatus(token);

    /// <inheritdoc />
    void IValueTaskSource<TResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => _core.OnCompleted(continuation, state, token, flags);

    private protected void Finish(TResult result, Exception? error)
    {
        // The activation learns first, so that a caller reacting to the answer finds the grain free.
        Target?.OnRequestFinished(this);
        if (error is null)
        {
            TrySetTypedResult(result);
        }
        else
        {
            TrySetException(error);
        }
    }
}

/// <summary>Base of generated requests for methods returning <c>Task&lt;T&gt;</c> or <c>ValueTask&lt;T&gt;</c>.</summary>
/// <typeparam name="TResult">The result type.</typeparam>
public abstract class GrainRequest<TResult> : GrainRequestCore<TResult>
{
    private ValueTask<TResult> _pending;
    private Action? _onPendingCompleted;

    /// <summary>Creates the request.</summary>
    protected GrainRequest()
    {
    }

    /// <summary>Calls the interface method on the grain.</summary>
    protected abstract ValueTask<TResult> InvokeCore(object grain);

    internal sealed override void Start(object grain)
    {
        ValueTask<TResult> task;
        try
        {
            task = InvokeCore(grain);
        }
        catch (Exception ex)
        {
            Finish(default!, ex);
            return;
        }

        if (task.IsCompleted)
        {
            Complete(task);
            return;
        }

        _pending = task;

        // ConfigureAwait(false): completing the request runs no grain code, so it need not go back to the activation.
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onPendingCompleted ??= OnPendingCompleted);
    }

    private void OnPendingCompleted()
    {
        var task = _pending;
        _pending = default;
        Complete(task);
    }

    private void Complete(ValueTask<TResult> task)
    {
        TResult result;
        try
        {
            result = task.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            Finish(default!, ex);
            return;
        }

        Finish(result, null);
    }
}

/// <summary>Base of generated requests for methods returning <c>Task</c> or <c>ValueTask</c>.</summary>
public abstract class GrainVoidRequest : GrainRequestCore<VoidResult>, IValueTaskSource
{
    private ValueTask _pending;
    private Action? _onPendingCompleted;

    /// <summary>Creates the request.</summary>
    protected GrainVoidRequest()
    {
    }

    /// <summary>Calls the interface method on the grain.</summary>
    protected abstract ValueTask InvokeCore(object grain);

    /// <inheritdoc />
    void IValueTaskSource.GetResult(short token) => ((IValueTaskSource<VoidResult>)this).GetResult(token);

    /// <inheritdoc />
    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => ((IValueTaskSource<VoidResult>)this).GetStatus(token);

    /// <inheritdoc />
    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags)
        => ((IValueTaskSource<VoidResult>)this).OnCompleted(continuation, state, token, flags);

    internal sealed override void Start(object grain)
    {
        ValueTask task;
        try
        {
            task = InvokeCore(grain);
        }
        catch (Exception ex)
        {
            Finish(default, ex);
            return;
        }

        if (task.IsCompleted)
        {
            Complete(task);
            return;
        }

        _pending = task;
        task.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_onPendingCompleted ??= OnPendingCompleted);
    }

    private void OnPendingCompleted()
    {
        var task = _pending;
        _pending = default;
        Complete(task);
    }

    private void Complete(ValueTask task)
    {
        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (Exception ex)
        {
            Finish(default, ex);
            return;
        }

        Finish(default, null);
    }
}
