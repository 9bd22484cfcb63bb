using Grpc.Core;

namespace Vehicles.LoadTest.Tests;

public sealed class ErrorNoticeTests
{
    [Theory]
    [InlineData("UNAVAILABLE", StatusCode.Unavailable)]
    [InlineData("DEADLINE_EXCEEDED", StatusCode.DeadlineExceeded)]
    [InlineData("INVALID_ARGUMENT", StatusCode.InvalidArgument)]
    [InlineData("NOT_A_CODE", StatusCode.Unknown)]
    [InlineData("", StatusCode.Unknown)]
    public void NoticeStatus_NoticeCode_IsCountedUnderItsOwnStatus(string code, StatusCode expected)
    {
        var status = SimulatedVehicle.NoticeStatus(code);

        Assert.Equal(expected, status);
    }
}
