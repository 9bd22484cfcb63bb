using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Vehicles.Testing.V1;

namespace Vehicles.LoadTest;

/// <summary>
/// The echo half of <c>vehicles.testing.v1.TestService</c> (Echo and Duplex, without the test knobs; the other methods
/// answer UNIMPLEMENTED), hosted next to the Vehicles API by the embedded silo: the raw gRPC baseline the telemetry
/// rate is compared with. The silo's interceptors run once when a stream opens and do no work for it (authentication
/// covers <c>/vehicles.v1.*</c> only; the membership lease is one check); each message is read and echoed with
/// nothing in between. Duplex streams end with UNAVAILABLE when the host begins to stop, as the API's watches do, so
/// that a stream its client left open does not hold the shutdown for the host's whole timeout.
/// </summary>
internal sealed class EchoService(IHostApplicationLifetime lifetime) : TestService.TestServiceBase
{
    private readonly CancellationToken _stopping = lifetime.ApplicationStopping;

    public override Task<EchoReply> Echo(EchoRequest request, ServerCallContext context) =>
        Task.FromResult(new EchoReply { Message = request.Message, Payload = request.Payload });

    public override async Task Duplex(IAsyncStreamReader<EchoRequest> requestStream, IServerStreamWriter<EchoReply> responseStream, ServerCallContext context)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopping);
        try
        {
            while (await requestStream.MoveNext(stop.Token))
            {
                var request = requestStream.Current;
                await responseStream.WriteAsync(new EchoReply { Message = request.Message, Payload = request.Payload }, stop.Token);
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "Server shutting down."));
        }
    }
}
