using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Vehicles.Actors;
using Vehicles.Api.V1;
using Vehicles.Cluster.V1;
using Vehicles.Grains;
using Vehicles.Grpc;

namespace Vehicles.Cluster;

/// <summary>
/// The server side of silo-to-silo traffic (<c>vehicles.cluster.v1.Silo</c>): answers probes, runs grain calls that
/// other silos forward here, and reaches the vehicle streams this silo holds. Every call must present the cluster key.
/// </summary>
public sealed partial class SiloService
{
    private readonly ClusterRuntime _cluster;
    private readonly byte[] _clusterKey;
    private readonly GrainMessageCodec _codec;
    private readonly ILogger<SiloService> _logger;
    private readonly int _maxBatch;

    /// <summary>Creates the service.</summary>
    public SiloService(ClusterRuntime cluster, ClusterKey clusterKey, GrainMessageCodec codec, IOptions<ClusterOptions> options, ILogger<SiloService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _maxBatch = options.Value.MaxBatchSize;
        ArgumentNullException.ThrowIfNull(clusterKey);
        _cluster = cluster;
        _clusterKey = Encoding.UTF8.GetBytes(clusterKey.Value);
        _codec = codec;
        _logger = logger;
    }

    /// <summary>Answers with this silo's generation.</summary>
    public Task<ProbeReply> Probe(ProbeRequest request, ServerCallContext context)
    {
        Authorize(context);
        return Task.FromResult(new ProbeReply { Generation = _cluster.LocalSilo.Generation });
    }

    /// <summary>Runs the calls another silo sends; results go back in batches, in completion order.</summary>
    public async Task Calls(IAsyncStreamReader<CallBatch> requestStream, IServerStreamWriter<ResultBatch> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        Authorize(context);
        var results = Channel.CreateUnbounded<GrainResult>(new UnboundedChannelOptions { SingleReader = true });
        var outstanding = 1;
        var writer = WriteResultsAsync(results.Reader, responseStream, _maxBatch, context.CancellationToken);
        try
        {
            while (await requestStream.MoveNext(context.CancellationToken))
            {
                foreach (var call in requestStream.Current.Calls)
                {
                    Interlocked.Increment(ref outstanding);
                    _ = RunAsync(call, results.Writer, () => Done(ref outstanding, results.Writer));
                }
            }
        }
        finally
        {
            Done(ref outstanding, results.Writer);
            await writer;
        }

        static void Done(ref int outstanding, ChannelWriter<GrainResult> writer)
        {
            if (Interlocked.Decrement(ref outstanding) == 0)
            {
                writer.TryComplete();
            }
        }
    }

    /// <summary>Pushes to, or ends, a vehicle stream held here.</summary>
    public Task<SessionOperationReply> Session(SessionOperation request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        Authorize(context);
        var sessions = _cluster.LocalSessions;
        var accepted = request.KindCase switch
        {
            SessionOperation.KindOneofCase.Push => sessions.TryPush(request.Vin, request.SessionId, ServerMessage.Parser.ParseFrom(request.Push)),
            SessionOperation.KindOneofCase.End => sessions.EndSession(request.Vin, request.SessionId, (SessionEndReason)request.End),
            SessionOperation.KindOneofCase.Reattach => Reattach(sessions, request.Vin, request.SessionId),
            _ => throw new RpcException(StatusCode.InvalidArgument, "kind: must set push or end"),
        };
        return Task.FromResult(new SessionOperationReply { Accepted = accepted });
    }

    /// <summary>Releases this silo's activation of a grain to its new owner (see <c>silo.proto</c>).</summary>
    public async Task<ReleaseReply> Release(ReleaseRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        Authorize(context);
        return new ReleaseReply { Released = await _cluster.ReleaseAsync(new GrainId(request.GrainType, request.GrainKey), request.MembershipVersion, context.CancellationToken) };
    }

    private static bool Reattach(VehicleSessionDirectory sessions, string vin, string sessionId)
    {
        if (!sessions.IsCurrent(vin, sessionId))
        {
            return false;
        }

        sessions.RequestReattach(vin, sessionId);
        return true;
    }

    private async Task RunAsync(GrainCall call, ChannelWriter<GrainResult> results, Action done)
    {
        try
        {
            byte[] response;
            GrainRequest? request = null;
            try
            {
                (var target, request) = _codec.DecodeRequest(call.Request.Memory);
                _cluster.Dispatch(target, request, call.Hops);
                var result = await request.GetResultAsync();
                response = _codec.EncodeResponse(request.Method, result, null);
            }
            catch (Exception ex) when (request is not null)
            {
                response = _codec.EncodeResponse(request.Method, null, ex);
            }
            catch (Exception ex)
            {
                LogUndecodable(_logger, ex);
                response = _codec.EncodeResponse(new GrainMethodDescriptor(typeof(object), 0, "unknown", GrainMethodOptions.None, [], typeof(void)), null, ex);
            }

            results.TryWrite(new GrainResult { Id = call.Id, Response = UnsafeByteOperations.UnsafeWrap(response) });
        }
        finally
        {
            done();
        }
    }

    private static async Task WriteResultsAsync(ChannelReader<GrainResult> results, IServerStreamWriter<ResultBatch> responseStream, int maxBatch, CancellationToken cancellationToken)
    {
        while (await results.WaitToReadAsync(cancellationToken))
        {
            var batch = new ResultBatch();
            while (batch.Results.Count < maxBatch && results.TryRead(out var result))
            {
                batch.Results.Add(result);
            }

            await responseStream.WriteAsync(batch, cancellationToken);
        }
    }

    private void Authorize(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var presented = context.RequestHeaders.GetValue(SiloConnections.KeyHeader);
        if (presented is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _clusterKey))
        {
            throw new RpcException(StatusCode.PermissionDenied, "silo-to-silo calls need the cluster key of this cluster");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A silo sent a grain call this silo cannot decode")]
    private static partial void LogUndecodable(ILogger logger, Exception exception);
}
