using Microsoft.Extensions.DependencyInjection;
using Vehicles.Grpc.Testing;

namespace Vehicles.Grpc.InteropTests;

/// <summary>
/// The in-process TestServer (127.0.0.1, free port, h2c) with TestService, health and reflection, plus a
/// <see cref="CallProbe"/> interceptor, shared by the interop test classes.
/// </summary>
public sealed class InteropServerFixture : IAsyncLifetime
{
    private TestServer? _server;

    internal TestServer Server => _server ?? throw new InvalidOperationException("The server has not started.");

    internal CallProbe Probe => Server.Services.GetRequiredService<CallProbe>();

    internal PythonGrpcClient Python => new(Server.Address);

    public async Task InitializeAsync() => _server = await StartServerAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>Starts a server like the shared one, with extra gRPC options (for tests that need other settings).</summary>
    internal static Task<TestServer> StartServerAsync(Action<Server.GrpcServiceOptions>? configureGrpc = null) =>
        TestServer.StartAsync(options =>
        {
            options.ConfigureServices = services => services.AddSingleton<CallProbe>();
            options.ConfigureGrpc = grpc =>
            {
                grpc.Interceptors.Add<CallProbe>();
                configureGrpc?.Invoke(grpc);
            };
        });
}

/// <summary>The test classes that share one <see cref="InteropServerFixture"/>.</summary>
[CollectionDefinition(Name)]
public sealed class InteropTestGroup : ICollectionFixture<InteropServerFixture>
{
    public const string Name = "python3-grpcio interop";
}
