using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// gzip each way and the receive limit (<c>Grpc:Service:MaxReceiveMessageSize</c>) with python3-grpcio: the shared silo
/// has the defaults (4 MB, no response compression), <see cref="CompressingSiloFixture"/> compresses responses with gzip
/// and accepts at most 64 KiB.
/// </summary>
[Collection(InteropTestGroup.Name)]
public sealed class CompressionAndSizeInteropTests(InteropSiloFixture plain, CompressingSiloFixture compressing)
{
    private const string Fleet = "interop";

    [Fact]
    public async Task Report_WithGzipRequest_SiloInflatesItAndTheVehicleShowsTheReport()
    {
        var silo = plain.Silo;
        var vin = Vins.Next();
        var callId = Guid.NewGuid().ToString("N");
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed: 42) }, silo.VehicleToken(vin, Fleet))
            .With("gzip", true)
            .WithMetadata((CallProbe.CallIdHeader, callId));

        var reported = await silo.Python.RunAsync("call", report);
        var vehicle = await silo.Python.RunAsync("call", ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, silo.OperatorToken(OperatorRole.Viewer, Fleet)));

        Assert.Equal("OK", reported.Str("code"));
        Assert.Equal("gzip", (await silo.Probe.WaitForAsync(callId, c => c.Outcome is not null, "handler ended")).RequestEncoding);
        Assert.Equal(42, vehicle.GetProperty("reply").GetProperty("signals").GetProperty("speed").GetDouble());
    }

    [Fact]
    public async Task UnaryAndStream_FromSiloCompressingResponses_PythonInflatesThem()
    {
        var silo = compressing.Silo;
        var vin = Vins.Next();
        var report = ApiCall.For(VehicleLink.Descriptor, "Report", new { vin, status = Reports.Status(1, speed: 64) }, silo.VehicleToken(vin, Fleet));
        Assert.Equal("OK", (await silo.Python.RunAsync("call", report)).Str("code"));
        var viewer = silo.OperatorToken(OperatorRole.Viewer, Fleet);

        var unary = await silo.Python.RunAsync("call", ApiCall.For(FleetOperator.Descriptor, "GetVehicle", new { vin }, viewer));
        var stream = await silo.Python.RunAsync("stream", ApiCall.For(FleetOperator.Descriptor, "WatchVehicle", new { vin }, viewer).With("take", 1));

        Assert.Equal("OK", unary.Str("code"));
        Assert.Equal(64, unary.GetProperty("reply").GetProperty("signals").GetProperty("speed").GetDouble());
        Assert.Equal("CANCELLED", stream.Str("code"));
        Assert.Equal(64, Assert.Single(stream.GetProperty("messages").EnumerateArray()).GetProperty("vehicle").GetProperty("signals").GetProperty("speed").GetDouble());
    }

    [Fact]
    public async Task Report_AboveTheConfiguredReceiveLimit_IsResourceExhaustedWhileOneBelowReachesValidation()
    {
        var silo = compressing.Silo;
        var vin = Vins.Next();

        var tooBig = await silo.Python.RunAsync("call", PaddedReport(silo, vin, CompressingSiloFixture.MaxReceiveMessageSize + 100));
        var below = await silo.Python.RunAsync("call", PaddedReport(silo, vin, CompressingSiloFixture.MaxReceiveMessageSize - 100));

        Assert.Equal("RESOURCE_EXHAUSTED", tooBig.Str("code"));
        Assert.Equal("INVALID_ARGUMENT", below.Str("code"));
        Assert.Equal($"vin: must be exactly 17 characters, got {CompressingSiloFixture.MaxReceiveMessageSize - 100}", below.Str("details"));
    }

    [Fact]
    public async Task Report_AboveTheDefaultFourMegabytes_IsResourceExhausted()
    {
        var silo = plain.Silo;

        var result = await silo.Python.RunAsync("call", PaddedReport(silo, Vins.Next(), (4 * 1024 * 1024) + 100));

        Assert.Equal("RESOURCE_EXHAUSTED", result.Str("code"));
    }

    [Fact]
    public async Task Report_GzippedSmallButInflatingAboveTheLimit_IsResourceExhausted()
    {
        // A megabyte of one letter deflates to about a kilobyte: the wire size is far under the 64 KiB limit, the
        // message is not, and the limit applies to the message.
        var silo = compressing.Silo;
        var report = PaddedReport(silo, Vins.Next(), 1024 * 1024).With("gzip", true);
        var sizes = await silo.Python.RunAsync("gzip_size", report);
        Assert.True(sizes.GetProperty("gzip").GetInt32() < CompressingSiloFixture.MaxReceiveMessageSize / 10, sizes.ToString());

        var result = await silo.Python.RunAsync("call", report);

        Assert.Equal("RESOURCE_EXHAUSTED", result.Str("code"));
    }

    /// <summary>A Report whose vin field is <paramref name="vinLength"/> letters, so the message is a little larger than that.</summary>
    private static Dictionary<string, object?> PaddedReport(InteropSilo silo, string vin, int vinLength) =>
        ApiCall.For(VehicleLink.Descriptor, "Report", new { status = Reports.Status(1, speed: 1) }, silo.VehicleToken(vin, Fleet))
            .With("pad", new { field = "vin", size = vinLength });
}
