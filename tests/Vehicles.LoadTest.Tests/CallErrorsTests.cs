using Grpc.Core;

namespace Vehicles.LoadTest.Tests;

public sealed class CallErrorsTests
{
    [Theory]
    [InlineData(StatusCode.Unavailable, "UNAVAILABLE")]
    [InlineData(StatusCode.DeadlineExceeded, "DEADLINE_EXCEEDED")]
    [InlineData(StatusCode.InvalidArgument, "INVALID_ARGUMENT")]
    [InlineData(StatusCode.FailedPrecondition, "FAILED_PRECONDITION")]
    [InlineData(StatusCode.PermissionDenied, "PERMISSION_DENIED")]
    [InlineData(StatusCode.Unauthenticated, "UNAUTHENTICATED")]
    [InlineData(StatusCode.ResourceExhausted, "RESOURCE_EXHAUSTED")]
    [InlineData(StatusCode.NotFound, "NOT_FOUND")]
    [InlineData(StatusCode.Cancelled, "CANCELLED")]
    [InlineData(StatusCode.Unknown, "UNKNOWN")]
    [InlineData(StatusCode.DataLoss, "DATA_LOSS")]
    public void StatusName_RpcException_IsTheProtocolsNameOfItsCode(StatusCode code, string expected)
    {
        var name = CallErrors.StatusName(new RpcException(new Status(code, "detail")));

        Assert.Equal(expected, name);
    }

    [Fact]
    public void StatusName_ThrottleNotice_IsCountedAsThrottledNotResourceExhausted()
    {
        var name = CallErrors.StatusName(new RpcException(new Status(StatusCode.ResourceExhausted, "THROTTLED: slow down")));

        Assert.Equal("THROTTLED", name);
    }

    [Fact]
    public void StatusName_HarnessGivingUp_IsCancelledOrTimeout()
    {
        Assert.Equal("CANCELLED", CallErrors.StatusName(new TaskCanceledException()));
        Assert.Equal("TIMEOUT", CallErrors.StatusName(new TimeoutException()));
    }

    [Fact]
    public void StatusName_OtherException_IsItsTypeName()
    {
        var name = CallErrors.StatusName(new InvalidOperationException("write after complete"));

        Assert.Equal("InvalidOperationException", name);
    }
}
