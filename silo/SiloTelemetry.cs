using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Vehicles.Api.Security;
using Vehicles.Api.Services;

namespace Vehicles.Silo;

/// <summary>
/// Metrics with OpenTelemetry: Orleans' meters, ASP.NET Core's and Kestrel's, the .NET runtime's and ours
/// (<see cref="ApiMetrics"/>), served at <c>/metrics</c> in Prometheus' text format to admin tokens, and exported by OTLP
/// when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or <c>Telemetry:OtlpEndpoint</c>) names a collector. With a collector, traces
/// too: a gRPC call (ASP.NET Core's activity), the grain calls it makes (Orleans' activity propagation) and their state
/// writes, in one trace. Without one (and without <c>Telemetry:Traces</c>) grain calls carry no trace context.
/// </summary>
internal static class SiloTelemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>Orleans' activity sources: grain calls (runtime and application) and grain storage.</summary>
    public static readonly string[] OrleansSources = ["Microsoft.Orleans.Runtime", "Microsoft.Orleans.Application", "Microsoft.Orleans.Storage"];

    /// <summary>The OTLP collector, if one is configured.</summary>
    public static string? OtlpEndpoint(IConfiguration configuration) =>
        configuration["Telemetry:OtlpEndpoint"] is { Length: > 0 } endpoint ? endpoint : configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 } standard ? standard : null;

    /// <summary>
    /// Whether grain calls carry trace context (Orleans' activity propagation): <c>Telemetry:Traces</c>, by default on
    /// exactly when a collector is configured. Off, a silo pays nothing for tracing.
    /// </summary>
    public static bool TracesEnabled(IConfiguration configuration) =>
        configuration.GetValue<bool?>("Telemetry:Traces") ?? OtlpEndpoint(configuration) is not null;

    public static IServiceCollection AddVehiclesTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        var otlp = OtlpEndpoint(configuration);
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
