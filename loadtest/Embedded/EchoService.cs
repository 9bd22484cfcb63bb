using Vehicles.Grpc;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// The echo half of <c>vehicles.testing.v1.TestService</c> (Echo and Duplex, without the test knobs), hosted next to
/// the Vehicles API by the embedded silo: the raw gRPC baseline the telemetry rate is compared with.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822:Mark members as static", Justification = "The gRPC service binder serves instance methods.")]
internal sealed class EchoService
{
    public Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Message = request.Message, Payload = request.Payload });

    public async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            await responseStream.WriteAsync(new EchoReply { Message = request.Message, Payload = request.Payload }, context.CancellationToken);
        }
    }
}
