using Grpc.Core;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Benchmarks;

/// <summary>
/// Echo with nothing but the reply: run with <c>--service minimal</c> to separate the cost of gRPC itself from that
/// of the test handler's knobs (<see cref="TestEchoService"/>).
/// </summary>
internal sealed class MinimalEchoService : TestService.TestServiceBase
{
    public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Message = request.Message, Payload = request.Payload });
}
