using Grpc.Core;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// The echo half of <c>vehicles.testing.v1.TestService</c> (Echo and Duplex, without the test knobs; the other methods
/// answer UNIMPLEMENTED), hosted next to the Vehicles API by the embedded silo: the raw gRPC baseline the telemetry
/// rate is compared with. The silo's interceptors run once when a stream opens and do no work for it (authentication
/// covers <c>/vehicles.v1.*</c> only; the membership lease is one check); each message is read and echoed with
/// nothing in between.
/// </summary>
internal sealed class EchoService : TestService.TestServiceBase
{
    public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Message = request.Message, Payload = request.Payload });

    public override async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        while (await requestStream.MoveNext(context.CancellationToken))
        {
            var request = requestStream.Current;
            await responseStream.WriteAsync(new EchoReply { Message = request.Message, Payload = request.Payload }, context.CancellationToken);
        }
    }
}
