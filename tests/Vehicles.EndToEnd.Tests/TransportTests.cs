using Grpc.Core;
using Grpc.Net.Client;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

/// <summary>The transport settings under <c>Grpc:Service</c> (grpc-dotnet's GrpcServiceOptions) as a client sees them.</summary>
public sealed class TransportTests : SiloTestBase
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Grpc:Service:MaxReceiveMessageSize"] = "2048",
        ["Grpc:Service:ResponseCompressionAlgorithm"] = "gzip",
    };

    [Fact]
    public async Task Request_LargerThanMaxReceiveMessageSize_IsResourceExhausted_ASmallerOneIsServed()
    {
        var small = await Operator.ListVehiclesAsync(new ListVehiclesRequest { PageSize = 5 });
        var error = await Poll.FailsAsync(() => Operator.ListVehiclesAsync(new ListVehiclesRequest { PageToken = new string('a', 4096) }));

        Assert.Empty(small.Vehicles);
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Equal("Received message exceeds the maximum configured message size.", error.Status.Detail);
    }

    [Fact]
    public async Task Responses_AreGzipCompressed_AndAGzipCompressedRequestIsServed()
    {
        // Grpc.Net.Client hides grpc-encoding from the call's headers: the HTTP handler under it sees the real ones.
        var encodings = new EncodingRecorder { InnerHandler = new SocketsHttpHandler() };
        using var channel = GrpcChannel.ForAddress(Silo.Address, new GrpcChannelOptions { HttpHandler = encodings });
        var options = Operator.Options();
        options.Headers!.Add("grpc-internal-encoding-request", "gzip");

        var response = await new FleetOperator.FleetOperatorClient(channel).ListVehiclesAsync(new ListVehiclesRequest { PageSize = 5 }, options);

        Assert.Empty(response.Vehicles);
        Assert.Equal(("gzip", "gzip"), (encodings.Request, encodings.Response));
    }

    /// <summary>Records the grpc-encoding of the last request and response.</summary>
    private sealed class EncodingRecorder : DelegatingHandler
    {
        public string? Request { get; private set; }

        public string? Response { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Request = request.Headers.TryGetValues("grpc-encoding", out var sent) ? string.Join(",", sent) : null;
            var response = await base.SendAsync(request, cancellationToken);
            Response = response.Headers.TryGetValues("grpc-encoding", out var received) ? string.Join(",", received) : null;
            return response;
        }
    }
}
