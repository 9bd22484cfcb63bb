using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Vehicles.Api.Security;
using Vehicles.Api.Services;

namespace Vehicles.Silo;

/// <summary>
/// Metrics with OpenTelemetry: Orleans' meters, ASP.NET Core's and Kestrel's, the .NET runtime's and ours
/// (<see cref="ApiMetrics"/>), served at <c>/metrics</c> in Prometheus' text format to admin tokens, and exported by OTLP
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>Telemetry:OtlpEndpoint</c>) names a collector. With a collector, traces
/// too: a gRPC call (ASP.NET Core's activity), the grain calls it makes (Orleans' activity propagation, on in every
/// silo) and their state writes, in one trace. Without one no activity is recorded, so tracing costs nothing.
/// </summary>
internal static class SiloTelemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>Orleans' activity sources: grain calls (runtime and application) and grain storage.</summary>
    public static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Microsoft.Orleans.Storage"];

    public static IServiceCollection AddVehiclesTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = configuration["Telemetry:OtlpEndpoint"] ?? configuration["OTEL_EXPORTER_OTLP_ENDPOINT"];
        var telemetry = services.AddOpenTelemetry();
        if (!string.IsNullOrWhiteSpace(otlp))
        {
            telemetry.WithTracing(tracing => tracing
                .AddSource(OrleansSources)
                .AddAspNetCoreInstrumentation()
                .AddOtlpExporter(options => options.Endpoint = new Uri(otlp)));
        }

        telemetry.WithMetrics(metrics =>
        {
            metrics
                .AddMeter("Microsoft.Orleans")
                .AddMeter(ApiMetrics.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddRuntimeInstrumentation()
                .AddPrometheusExporter();
            if (!string.IsNullOrWhiteSpace(otlp))
            {
                metrics.AddOtlpExporter(options => options.Endpoint = new Uri(otlp));
            }
        });
        return services;
    }

    /// <summary>Maps <see cref="MetricsPath"/> for admin tokens (a scraper sends <c>authorization: Bearer</c>).</summary>
    public static WebApplication MapVehiclesMetrics(this WebApplication app)
    {
        app.MapPrometheusScrapingEndpoint(MetricsPath).RequireAuthorization(VehiclesPolicies.Admin);
        return app;
    }
}
