using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Vehicles.Grpc.Health;
using Vehicles.Grpc.Reflection;
using Vehicles.Grpc.Server;
using Vehicles.Testing.V1;

namespace Vehicles.Grpc.Testing;

/// <summary>How <see cref="TestServer"/> is set up.</summary>
public sealed class TestServerOptions
{
    /// <summary>gRPC options: limits, compression, detailed errors, interceptors.</summary>
    public Action<GrpcServiceOptions>? ConfigureGrpc { get; set; }

    /// <summary>Extra services (interceptor dependencies, service implementations).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>Maps extra gRPC services or endpoints.</summary>
    public Action<IEndpointRouteBuilder>? MapEndpoints { get; set; }

    /// <summary>Further Kestrel settings (limits, HTTP/2 settings).</summary>
    public Action<KestrelServerOptions>? ConfigureKestrel { get; set; }

    /// <summary>When set, the server speaks TLS with ALPN h2 using this certificate; otherwise h2c.</summary>
    public X509Certificate2? Certificate { get; set; }

    /// <summary>The protocols of the endpoint: HTTP/2 only by default; HTTP/1.1 too for protocol-rejection tests.</summary>
    public HttpProtocols Protocols { get; set; } = HttpProtocols.Http2;

    /// <summary>Whether to map <c>vehicles.testing.v1.TestService</c> (default true).</summary>
    public bool MapTestService { get; set; } = true;

    /// <summary>Whether to map the health service (default true).</summary>
    public bool MapHealth { get; set; } = true;

    /// <summary>Whether to map server reflection v1 and v1alpha (default true).</summary>
    public bool MapReflection { get; set; } = true;

    /// <summary>The server's clock (deadlines, TestService delays); the system clock by default.</summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>How long a stop waits for in-flight calls (default 10 s).</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// A real Kestrel server on 127.0.0.1 with a free port, serving TestService, health and reflection by
/// default. Start it with <see cref="StartAsync"/>, call <see cref="Address"/>, dispose it at the end.
/// </summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _stopped;

    private TestServer(WebApplication app, Uri address, LogSink logs)
    {
        _app = app;
        Address = address;
        Logs = logs;
    }

    /// <summary>The base address, such as <c>http://127.0.0.1:41234</c> (<c>https</c> with a certificate).</summary>
    public Uri Address { get; }

    /// <summary>The port the server listens on.</summary>
    public int Port => Address.Port;

    /// <summary>The server's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>The health service; set statuses on it.</summary>
    public HealthServiceImpl Health => _app.Services.GetRequiredService<HealthServiceImpl>();

    /// <summary>Everything the server logged at Debug and above.</summary>
    public LogSink Logs { get; }

    /// <summary>The full method names of TestService, for raw requests.</summary>
    public static class Methods
    {
        /// <summary>The unary Echo method.</summary>
        public const string Echo = "/vehicles.testing.v1.TestService/Echo";

        /// <summary>The server-streaming method.</summary>
        public const string ServerStream = "/vehicles.testing.v1.TestService/ServerStream";

        /// <summary>The client-streaming method.</summary>
        public const string ClientStream = "/vehicles.testing.v1.TestService/ClientStream";

        /// <summary>The bidirectional-streaming method.</summary>
        public const string Duplex = "/vehicles.testing.v1.TestService/Duplex";
    }

    /// <summary>The message TestService throws for <c>throw_exception</c>; a client must never see it.</summary>
    public const string SecretExceptionMessage = TestServiceImpl.SecretExceptionMessage;

    /// <summary>Request headers starting with this prefix come back as response trailers.</summary>
    public const string EchoTrailerPrefix = TestServiceImpl.EchoTrailerPrefix;

    /// <summary>Starts a server and waits until it accepts connections.</summary>
    public static async Task<TestServer> StartAsync(Action<TestServerOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var options = new TestServerOptions();
        configure?.Invoke(options);

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseKestrelHttpsConfiguration();
        var logs = new LogSink();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(logs);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = options.ShutdownTimeout);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = options.Protocols;
                if (options.Certificate is not null)
                {
                    listen.UseHttps(options.Certificate);
                }
            });
            options.ConfigureKestrel?.Invoke(kestrel);
        });
        if (options.TimeProvider is not null)
        {
            builder.Services.AddSingleton(options.TimeProvider);
        }

        builder.Services.AddGrpc(options.ConfigureGrpc);
        builder.Services.AddSingleton<TestServiceImpl>();
        options.ConfigureServices?.Invoke(builder.Services);

        var app = builder.Build();
        if (options.MapTestService)
        {
            app.MapGrpcService<TestServiceImpl>(TestServiceReflection.Descriptor.Services[0]);
        }

        if (options.MapHealth)
        {
            app.MapGrpcHealthChecks();
        }

        if (options.MapReflection)
        {
            app.MapGrpcReflectionService();
        }

        options.MapEndpoints?.Invoke(app);

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestServer(app, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), logs);
    }

    /// <summary>
    /// Stops the server gracefully: streaming calls end with UNAVAILABLE, unary calls in flight may finish
    /// within the shutdown timeout.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 0)
        {
            await _app.StopAsync(cancellationToken);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        await _app.DisposeAsync();
    }
}
