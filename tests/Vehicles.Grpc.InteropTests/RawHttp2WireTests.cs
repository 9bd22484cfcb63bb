using System.IO.Compression;
using System.Net.Sockets;
using System.Text;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// The silo's wire format seen by nghttp, an HTTP/2 client that knows nothing of gRPC: frame order, trailers-only errors,
/// server-side deadlines from grpc-timeout (nghttp has no deadline of its own, so only the server can end the call),
/// compressed response frames, and HTTP/2 only.
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class RawHttp2WireTests(InteropSiloFixture fixture, CompressingSiloFixture compressing)
{
    private const string Fleet = "interop";
    private const string GetVehicle = "/vehicles.v1.FleetOperator/GetVehicle";
    private const string WatchVehicle = "/vehicles.v1.FleetOperator/WatchVehicle";
    private static readonly (string, string) _grpcContentType = ("content-type", "application/grpc");
    private static readonly (string, string) _teTrailers = ("te", "trailers");

    [Fact]
    public async Task GetVehicle_WhenSucceeding_SendsHeadersThenOneDataFrameThenStatusTrailers()
    {
        var silo = fixture.Silo;
        var vin = await ReportedVehicleAsync(silo);

        var response = await NghttpClient.PostAsync(
            silo.Address, GetVehicle, GrpcFrames.Frame(new GetVehicleRequest { Vin = vin }), _grpcContentType, _teTrailers, Bearer(silo.OperatorToken(OperatorRole.Viewer, Fleet)));

        Assert.Equal(["HEADERS", "DATA", "HEADERS END_STREAM"], response.Frames);
        Assert.Equal("200", response.Header(":status"));
        Assert.Equal("application/grpc", response.Header("content-type"));
        Assert.Equal("0", response.Trailer("grpc-status"));
        var (compressed, message) = Assert.Single(GrpcFrames.Unframe(response.Body));
        Assert.False(compressed);
        Assert.Equal(vin, Vehicle.Parser.ParseFrom(message).Vin);
    }

    [Fact]
    public async Task GetVehicle_WithoutToken_SendsTrailersOnlyWithOurMessage()
    {
        var response = await NghttpClient.PostAsync(fixture.Silo.Address, GetVehicle, GrpcFrames.Frame(new GetVehicleRequest { Vin = Vins.Next() }), _grpcContentType, _teTrailers);

        Assert.Equal(["HEADERS END_STREAM"], response.Frames);
        Assert.Equal("200", response.Header(":status"));
        Assert.Equal("16", response.Header("grpc-status"));
        Assert.Equal("missing bearer token: send 'authorization: Bearer <token>'", response.Header("grpc-message"));
        Assert.Empty(response.Body);
    }

    [Fact]
    public async Task WatchVehicle_WithGrpcTimeoutAndNoClientDeadline_SiloEndsTheStreamWithDeadlineExceeded()
    {
        var silo = fixture.Silo;
        var vin = await ReportedVehicleAsync(silo);
        var callId = Guid.NewGuid().ToString("N");

        var response = await NghttpClient.PostAsync(
            silo.Address,
            WatchVehicle,
            GrpcFrames.Frame(new WatchVehicleRequest { Vin = vin }),
            _grpcContentType,
            _teTrailers,
            Bearer(silo.OperatorToken(OperatorRole.Viewer, Fleet)),
            ("grpc-timeout", "2000m"),
            (CallProbe.CallIdHeader, callId));

        Assert.Equal("4", response.Trailer("grpc-status"));
        var (_, first) = Assert.Single(GrpcFrames.Unframe(response.Body));
        Assert.Equal(vin, VehicleEvent.Parser.ParseFrom(first).Vehicle.Vin);
        // nghttp posts twice (once for the frames, once for the body): both calls ended by the silo's deadline.
        var calls = await silo.Probe.WaitForAllAsync(callId, c => c.Count == 2 && c.All(r => r.Outcome is not null), "both handlers ended");
        Assert.All(calls, c => Assert.True(c.Cancelled));
    }

    [Fact]
    public async Task Post_WithNonGrpcContentType_Answers415()
    {
        var response = await NghttpClient.PostAsync(fixture.Silo.Address, GetVehicle, GrpcFrames.Frame(new GetVehicleRequest()), ("content-type", "application/json"));

        Assert.Equal("415", response.Header(":status"));
    }

    [Fact]
    public async Task GetVehicle_WhenSiloCompressesAndClientAcceptsGzip_SendsGzipFrameFlaggedCompressed()
    {
        var silo = compressing.Silo;
        var vin = await ReportedVehicleAsync(silo);

        var response = await NghttpClient.PostAsync(
            silo.Address, GetVehicle, GrpcFrames.Frame(new GetVehicleRequest { Vin = vin }), _grpcContentType, _teTrailers, ("grpc-accept-encoding", "identity,gzip"), Bearer(silo.OperatorToken(OperatorRole.Viewer, Fleet)));

        Assert.Equal("gzip", response.Header("grpc-encoding"));
        Assert.Equal("0", response.Trailer("grpc-status"));
        var (compressed, message) = Assert.Single(GrpcFrames.Unframe(response.Body));
        Assert.True(compressed);
        using var gzip = new GZipStream(new MemoryStream(message), CompressionMode.Decompress);
        Assert.Equal(vin, Vehicle.Parser.ParseFrom(gzip).Vin);
    }

    [Fact]
    public async Task GetVehicle_WhenSiloCompressesButClientDoesNotAcceptGzip_SendsPlainFrame()
    {
        var silo = compressing.Silo;
        var vin = await ReportedVehicleAsync(silo);

        var response = await NghttpClient.PostAsync(
            silo.Address, GetVehicle, GrpcFrames.Frame(new GetVehicleRequest { Vin = vin }), _grpcContentType, _teTrailers, ("grpc-accept-encoding", "identity"), Bearer(silo.OperatorToken(OperatorRole.Viewer, Fleet)));

        Assert.Null(response.Header("grpc-encoding"));
        var (compressed, message) = Assert.Single(GrpcFrames.Unframe(response.Body));
        Assert.False(compressed);
        Assert.Equal(vin, Vehicle.Parser.ParseFrom(message).Vin);
    }

    [Fact]
    public async Task Http11Request_IsRefusedWith400BeforeReachingGrpc()
    {
        // The endpoint speaks HTTP/2 only (h2c by prior knowledge): Kestrel answers an HTTP/1.1 request 400 and closes.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(fixture.Silo.Address.Host, fixture.Silo.Address.Port, timeout.Token);
        var stream = tcp.GetStream();
        var request = $"POST {GetVehicle} HTTP/1.1\r\nHost: {fixture.Silo.Address.Authority}\r\nContent-Type: application/grpc\r\nContent-Length: 0\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request), timeout.Token);

        using var received = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        var text = Encoding.ASCII.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 400 ", text, StringComparison.Ordinal);
        Assert.DoesNotContain("grpc-status", text, StringComparison.OrdinalIgnoreCase);
    }

    private static (string, string) Bearer(string token) => ("authorization", "Bearer " + token);

    private static async Task<string> ReportedVehicleAsync(InteropSilo silo)
    {
        var vin = Vins.Next();
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed: 9) }, silo.VehicleToken(vin, Fleet));
        Assert.Equal("OK", (await silo.Python.RunAsync("call", report)).Str("code"));
        return vin;
    }
}
