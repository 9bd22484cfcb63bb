using Vehicles.Testing.V1;
using Xunit;

namespace Vehicles.Grpc.Tests.Client;

public sealed class InterceptorTests(TestServiceFixture fixture) : IClassFixture<TestServiceFixture>
{
    [Fact]
    public async Task Intercept_RunsInterceptorsOutermostFirstAndTheirHeadersReachTheServer()
    {
        using var channel = GrpcChannel.ForAddress(fixture.Address);
        var order = new List<string>();
        var client = new TestServiceClient(channel.Intercept(new HeaderInterceptor("x-first", order), new HeaderInterceptor("x-second", order)));

        var reply = await client.EchoAsync(new EchoRequest { EchoMetadata = true });
        using var stream = client.Duplex();
        await stream.RequestStream.CompleteAsync();
        await stream.ResponseStream.ReadAllAsync().CountAsync();

        Assert.Equal(["x-first", "x-second", "x-first", "x-second"], order);
        Assert.Equal(["x-first=on", "x-second=on"], reply.Metadata.Order(StringComparer.Ordinal));
    }

    private sealed class HeaderInterceptor(string header, List<string> order) : Interceptor
    {
        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
            TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            order.Add(header);
            return continuation(request, WithHeader(context));
        }

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, AsyncDuplexStreamingCallContinuation<TRequest, TResponse> continuation)
        {
            order.Add(header);
            return continuation(WithHeader(context));
        }

        private ClientInterceptorContext<TRequest, TResponse> WithHeader<TRequest, TResponse>(ClientInterceptorContext<TRequest, TResponse> context)
            where TRequest : class
            where TResponse : class
        {
            var headers = new Metadata();
            foreach (var entry in context.Options.Headers ?? [])
            {
                headers.Add(entry);
            }

            headers.Add(header, "on");
            return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
        }
    }
}
