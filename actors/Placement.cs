namespace Vehicles.Actors;

/// <summary>
/// Decides which silo owns a grain. The runtime asks on every call; a grain that is not local goes through
/// <see cref="IGrainCallTransport"/>. The default places every grain locally.
/// </summary>
public interface IPlacementDirector
{
    /// <summary>Whether this silo owns (activates) the grain.</summary>
    bool IsLocal(GrainId grainId);
}

/// <summary>Places every grain on this silo (a single-silo deployment).</summary>
public sealed class LocalPlacementDirector : IPlacementDirector
{
    /// <inheritdoc />
    public bool IsLocal(GrainId grainId) => true;
}

/// <summary>
/// Carries a call to the silo that owns the grain. The transport serializes the request (interface, method id and
/// arguments through <see cref="GrainRequest.GetArgument"/>; see <see cref="GrainMessageCodec"/>), and completes it with
/// <see cref="GrainRequest.TrySetResult"/> or <see cref="GrainRequest.TrySetException"/> when the answer arrives. On the
/// owning silo it recreates the request (<see cref="GrainInterfaceDescriptor.CreateRequest"/>) and hands it to
/// <see cref="ActorRuntime.DispatchLocal"/>.
/// </summary>
public interface IGrainCallTransport
{
    /// <summary>Sends the call; must not throw (failures complete the request).</summary>
    void Send(GrainId target, GrainRequest request);
}

/// <summary>
/// Consulted before a new activation reads its state. A cluster uses it to make the grain's previous owner write and
/// drop its activation first, so that a grain moving between silos is never read from state older than its last write.
/// </summary>
public interface IGrainActivationGate
{
    /// <summary>Returns when the grain may activate here; must not throw (except for cancellation).</summary>
    ValueTask BeforeActivateAsync(GrainId grainId, CancellationToken cancellationToken);
}

/// <summary>
/// The silo that owns the grain could not be reached, or no silo owns it at the moment (the cluster is changing). The
/// call may not have run; callers that need it may retry once the cluster settles (gRPC: UNAVAILABLE).
/// </summary>
public sealed class GrainUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GrainUnavailableException()
        : base("The grain's silo is unavailable.")
    {
    }

    /// <summary>Creates the exception.</summary>
    public GrainUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GrainUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
