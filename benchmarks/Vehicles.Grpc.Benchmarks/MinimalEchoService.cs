using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Benchmarks;

/// <summary>
/// Echo with nothing but the reply: run with <c>--service minimal</c> to separate the cost of the gRPC layer
/// from that of the tests' TestService handler (its knobs, metadata copy and trailer echo).
/// </summary>
internal sealed class MinimalEchoService
{
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "The server binds handlers as instance methods.")]
    public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Message = request.Message, Payload = request.Payload });
}
