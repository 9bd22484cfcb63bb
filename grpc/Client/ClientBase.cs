namespace Vehicles.Grpc;

/// <summary>
/// The base of a typed client, like <c>Grpc.Core.ClientBase</c>: a typed client declares its
/// <see cref="Method{TRequest, TResponse}"/> instances once and forwards each of its methods to
/// <see cref="CallInvoker"/>.
/// </summary>
public abstract class ClientBase
{
    /// <summary>Creates a client that sends its calls over a channel.</summary>
    protected ClientBase(GrpcChannel channel)
        : this(CreateInvoker(channel))
    {
    }

    /// <summary>Creates a client that starts its calls with an invoker.</summary>
    protected ClientBase(CallInvoker callInvoker)
    {
        ArgumentNullException.ThrowIfNull(callInvoker);
        CallInvoker = callInvoker;
    }

    /// <summary>The invoker that starts this client's calls.</summary>
    protected CallInvoker CallInvoker { get; }

    private static CallInvoker CreateInvoker(GrpcChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel.CreateCallInvoker();
    }
}
