using System.Net;

namespace Vehicles.Grpc;

/// <summary>The body of a call with one request message: its frame, written in one go.</summary>
internal sealed class UnaryRequestContent : HttpContent
{
    private readonly byte[] _frame;
    private readonly int _length;

    public UnaryRequestContent(byte[] frame, int length)
    {
        _frame = frame;
        _length = length;
        Headers.ContentType = GrpcChannel.GrpcContentType;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
        stream.WriteAsync(_frame.AsMemory(0, _length), cancellationToken).AsTask();

    protected override bool TryComputeLength(out long length)
    {
        length = _length;
        return true;
    }
}

/// <summary>
/// The body of a call with a request stream. HttpClient hands over the HTTP/2 request stream when it calls
/// <see cref="SerializeToStreamAsync(Stream, TransportContext?, CancellationToken)"/>, right after sending the
/// request headers; the call's writer then writes frames to it until the request is half-closed. The length is
/// unknown, and <c>SendAsync</c> does not wait for the body: a duplex call can write before the server answers.
/// </summary>
internal sealed class StreamingRequestContent : HttpContent
{
    private readonly TaskCompletionSource<Stream> _stream = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public StreamingRequestContent()
    {
        Headers.ContentType = GrpcChannel.GrpcContentType;
    }

    /// <summary>Completes with the request stream once HttpClient is ready for the body.</summary>
    public Task<Stream> StreamTask => _stream.Task;

    /// <summary>Ends the body: HttpClient then sends END_STREAM.</summary>
    public void Complete() => _completed.TrySetResult();

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        _stream.TrySetResult(stream);
        await _completed.Task.WaitAsync(cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = -1;
        return false;
    }
}
