using System.Net;
using System.Net.Sockets;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class ClientProtocolTests
{
    [Theory]
    [InlineData(HttpStatusCode.BadRequest, StatusCode.Internal)]
    [InlineData(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated)]
    [InlineData(HttpStatusCode.Forbidden, StatusCode.PermissionDenied)]
    [InlineData(HttpStatusCode.NotFound, StatusCode.Unimplemented)]
    [InlineData(HttpStatusCode.TooManyRequests, StatusCode.Unavailable)]
    [InlineData(HttpStatusCode.BadGateway, StatusCode.Unavailable)]
    [InlineData(HttpStatusCode.ServiceUnavailable, StatusCode.Unavailable)]
    [InlineData(HttpStatusCode.GatewayTimeout, StatusCode.Unavailable)]
    [InlineData(HttpStatusCode.InternalServerError, StatusCode.Unknown)]
    public void FromHttpStatus_FollowsTheSpecTable(HttpStatusCode httpStatus, StatusCode expected)
    {
        var code = GrpcClientProtocol.FromHttpStatus(httpStatus);

        Assert.Equal(expected, code);
    }

    [Theory]
    [InlineData(0x8L, StatusCode.Cancelled)]
    [InlineData(0x7L, StatusCode.Unavailable)]
    [InlineData(0xbL, StatusCode.ResourceExhausted)]
    [InlineData(0xcL, StatusCode.PermissionDenied)]
    [InlineData(0x2L, StatusCode.Internal)]
    public void FromException_OfRstStream_MapsTheHttp2ErrorCode(long errorCode, StatusCode expected)
    {
        var exception = new IOException("stream reset", new HttpProtocolException(errorCode, "reset", null));

        var status = GrpcClientProtocol.FromException("Error.", exception);

        Assert.Equal(expected, status.StatusCode);
        Assert.Same(exception, status.DebugException);
    }

    [Fact]
    public void FromException_OfConnectionFailure_IsUnavailable()
    {
        var exception = new HttpRequestException("connect failed", new SocketException((int)SocketError.ConnectionRefused));

        var status = GrpcClientProtocol.FromException("Error starting gRPC call.", exception);

        Assert.Equal(StatusCode.Unavailable, status.StatusCode);
        Assert.StartsWith("Error starting gRPC call. HttpRequestException: connect failed", status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void FromException_OfUnexpectedFailure_IsInternal()
    {
        var status = GrpcClientProtocol.FromException("Error.", new InvalidOperationException("bug"));

        Assert.Equal(StatusCode.Internal, status.StatusCode);
    }

    [Fact]
    public void TryGetStatus_DecodesCodeAndPercentEncodedMessage()
    {
        using var response = new HttpResponseMessage();
        response.TrailingHeaders.TryAddWithoutValidation("grpc-status", "5");
        response.TrailingHeaders.TryAddWithoutValidation("grpc-message", "Fahrzeug %E2%80%94 nicht gefunden %25");

        var found = GrpcClientProtocol.TryGetStatus(response.TrailingHeaders, out var status);

        Assert.True(found);
        Assert.Equal(new Status(StatusCode.NotFound, "Fahrzeug — nicht gefunden %"), status);
    }

    [Fact]
    public void TryGetStatus_WithGarbageCode_IsUnknown()
    {
        using var response = new HttpResponseMessage();
        response.TrailingHeaders.TryAddWithoutValidation("grpc-status", "abc");

        GrpcClientProtocol.TryGetStatus(response.TrailingHeaders, out var status);

        Assert.Equal(StatusCode.Unknown, status.StatusCode);
    }

    [Fact]
    public void ToMetadata_DecodesUnpaddedBinaryValuesAndSkipsProtocolHeaders()
    {
        using var response = new HttpResponseMessage();
        response.TrailingHeaders.TryAddWithoutValidation("grpc-status", "0");
        response.TrailingHeaders.TryAddWithoutValidation("x-data-bin", "AAH+/w");
        response.TrailingHeaders.TryAddWithoutValidation("x-name", "value");

        var metadata = GrpcClientProtocol.ToMetadata(response.TrailingHeaders);

        Assert.Equal(2, metadata.Count);
        Assert.Equal(new byte[] { 0, 1, 254, 255 }, metadata.GetValueBytes("x-data-bin"));
        Assert.Equal("value", metadata.GetValue("x-name"));
    }
}
