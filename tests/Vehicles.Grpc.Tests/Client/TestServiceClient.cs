using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Tests.Client;

/// <summary>A typed client of <c>vehicles.testing.v1.TestService</c>, written the way generated clients look.</summary>
internal sealed class TestServiceClient : ClientBase
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor _service = TestServiceReflection.Descriptor.Services[0];

    public static readonly Method<EchoRequest, EchoReply> EchoMethod = Method.Create<EchoRequest, EchoReply>(_service, "Echo");
    public static readonly Method<StreamRequest, EchoReply> ServerStreamMethod = Method.Create<StreamRequest, EchoReply>(_service, "ServerStream");
    public static readonly Method<EchoRequest, EchoReply> ClientStreamMethod = Method.Create<EchoRequest, EchoReply>(_service, "ClientStream");
    public static readonly Method<EchoRequest, EchoReply> DuplexMethod = Method.Create<EchoRequest, EchoReply>(_service, "Duplex");

    public TestServiceClient(GrpcChannel channel)
        : base(channel)
    {
    }

    public TestServiceClient(CallInvoker callInvoker)
        : base(callInvoker)
    {
    }

    public AsyncUnaryCall<EchoReply> EchoAsync(EchoRequest request, CallOptions options = default) =>
        CallInvoker.AsyncUnaryCall(EchoMethod, null, options, request);

    public AsyncServerStreamingCall<EchoReply> ServerStream(StreamRequest request, CallOptions options = default) =>
        CallInvoker.AsyncServerStreamingCall(ServerStreamMethod, null, options, request);

    public AsyncClientStreamingCall<EchoRequest, EchoReply> ClientStream(CallOptions options = default) =>
        CallInvoker.AsyncClientStreamingCall(ClientStreamMethod, null, options);

    public AsyncDuplexStreamingCall<EchoRequest, EchoReply> Duplex(CallOptions options = default) =>
        CallInvoker.AsyncDuplexStreamingCall(DuplexMethod, null, options);
}
