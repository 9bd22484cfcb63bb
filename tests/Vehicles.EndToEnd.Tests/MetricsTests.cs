using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Vehicles.Api.Security;
using Vehicles.Api.V1;

namespace Vehicles.EndToEnd.Tests;

/// <summary>/metrics: Prometheus text with our series and Orleans', for admin tokens only.</summary>
public sealed partial class MetricsTests : SiloTestBase
{
    [Fact]
    public async Task Metrics_AfterAVehicleReported_ShowOurSeriesAndOrleans()
    {
        await using var vehicle = await Silo.ConnectAsync(Vin(1), Fleet);
        await vehicle.ReportAsync(Signal.Speed(42));
        var ack = await vehicle.ReadAsync();

        var (status, body) = await ScrapeAsync(Silo.OperatorToken(Fleet, OperatorRole.Admin));

        Assert.Equal(ServerMessage.KindOneofCase.Ack, ack.KindCase);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(Value(body, "vehicles_reports_received_total") >= 1, body);
        Assert.True(Value(body, "vehicles_reports_applied_total") >= 1, body);

        // Present, but its value is not asserted: meters are matched by name in the process, and the other tests' silos
        // in this process connect and disconnect their vehicles too.
        Assert.False(double.IsNaN(Value(body, "vehicles_streams_connected")), body);
        Assert.Matches(OrleansSeries(), body);
    }

    [Fact]
    public async Task Metrics_WithoutAToken_AreUnauthorized_AndForbiddenToNonAdmins()
    {
        var (anonymous, _) = await ScrapeAsync(null);
        var (viewer, _) = await ScrapeAsync(Silo.OperatorToken(Fleet, OperatorRole.Viewer));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous);
        Assert.Equal(HttpStatusCode.Forbidden, viewer);
    }

    // The silo's port speaks HTTP/2 only (h2c without a certificate), as a Prometheus scraper configured for it does.
    private async Task<(HttpStatusCode Status, string Body)> ScrapeAsync(string? token)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Silo.Address, "/metrics"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    // The value of the first sample of a series, whatever its labels.
    private static double Value(string body, string series)
    {
        var match = Regex.Match(body, "^" + Regex.Escape(series) + @"(\{[^}]*\})? (\S+)", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : double.NaN;
    }

    [GeneratedRegex(@"^orleans_\w+", RegexOptions.Multiline)]
    private static partial Regex OrleansSeries();
}
